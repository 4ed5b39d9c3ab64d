"""Progress lines for the command line: one live line on a terminal, plain lines elsewhere.

Text shown here often comes from a server (states, messages, error bodies), so it is
cleaned before it reaches a terminal: escape sequences and other control characters
are dropped (a message cannot recolour, move or clear the screen), and a caller's
``redact`` function takes out secrets the server may have echoed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Progress", "json_text", "printable"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"[\t\n]+")


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` without control characters (newlines and tabs kept unless ``one_line``)."""
    text = _CONTROL.sub("", text)
    return _BREAKS.sub(" ", text) if one_line else text


def _same(text: str) -> str:
    return text


_DEEPEST = 100


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as valid JSON, whatever it holds.

    ``json.dumps`` alone can write ``NaN`` or ``Infinity`` (not JSON), or fail halfway
    on a key that is not a string, a cycle or a very deep value; those values are
    turned into plain JSON first: non-finite numbers and unknown objects become
    strings, keys become strings, sets and tuples become lists, a cycle or depth past
    100 becomes ``"..."``.
    """
    try:
        return json.dumps(value, indent=indent, allow_nan=False, default=_text)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(_plain(value, 0, set()), indent=indent, allow_nan=False)


def _plain(value: Any, depth: int, path: set[int]) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:  # more digits than int-to-str allows
            return f"<int of {value.bit_length()} bits>"
        return int(value)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if depth >= _DEEPEST or id(value) in path:
        return "..."
    path = path | {id(value)}
    if isinstance(value, dict):
        return {_key(k): _plain(v, depth + 1, path) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, depth + 1, path) for v in value]
    return _text(value)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else _text(key)


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


class Progress:
    """Writes what a wait is doing to ``stream`` (stderr for ``tarry wait``).

    On a terminal each update rewrites one line, cut to the terminal's width so that
    it never wraps (a wrapped line could not be rewritten); in a pipe or a log each
    update is a line of its own, or a JSON object per line with ``as_json``. ``redact``
    is applied to everything written.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool | None = None,
        as_json: bool = False,
        redact: Callable[[str], str] = _same,
    ) -> None:
        self.stream = stream
        self.live = _is_terminal(stream) if live is None else live
        self.as_json = as_json
        self.redact = redact
        self.started = time.monotonic()
        self._open = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def update(self, text: str, **fields: Any) -> None:
        """A transient status: replaces the previous one on a terminal."""
        if self.as_json:
            self._json("progress", text, fields)
        elif self.live:
            shown = printable(self.redact(f"{self.elapsed():6.1f}s  {text}"), one_line=True)
            width = max(_columns(self.stream) - 1, 20)
            if len(shown) > width:
                shown = shown[: width - 3] + "..."
            self.stream.write(f"\r\033[K{shown}")
            self._open = True
        else:
            shown = printable(self.redact(f"{self.elapsed():6.1f}s  {text}"), one_line=True)
            self.stream.write(shown + "\n")
        self.stream.flush()

    def line(self, text: str, **fields: Any) -> None:
        """A line that stays (it ends a live line first)."""
        if self.as_json:
            self._json("event", text, fields)
        else:
            self.end()
            self.stream.write(printable(self.redact(text)) + "\n")
        self.stream.flush()

    def end(self) -> None:
        """End the live line, if one is showing, so the next output starts on a new line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def _json(self, kind: str, text: str, fields: dict[str, Any]) -> None:
        record = {"t": round(self.elapsed(), 3), "kind": kind, "text": text, **fields}
        self.stream.write(printable(self.redact(json_text(record))) + "\n")


def _columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to: stderr's own, since stdout is often
    redirected (``tarry wait ... > result.json``); else ``$COLUMNS`` or 80."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return shutil.get_terminal_size().columns


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
