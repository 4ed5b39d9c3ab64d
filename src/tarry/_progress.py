"""Progress lines for the command line: one live line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import json
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Writes what a wait is doing to ``stream`` (stderr for ``tarry wait``).

    On a terminal each update rewrites one line; in a pipe or a log each update is a
    line of its own, or a JSON object per line with ``as_json``.
    """

    def __init__(self, stream: TextIO, *, live: bool | None = None, as_json: bool = False) -> None:
        self.stream = stream
        self.live = _is_terminal(stream) if live is None else live
        self.as_json = as_json
        self.started = time.monotonic()
        self._open = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def update(self, text: str, **fields: Any) -> None:
        """A transient status: replaces the previous one on a terminal."""
        if self.as_json:
            self._json("progress", text, fields)
        elif self.live:
            self.stream.write(f"\r\033[K{self.elapsed():6.1f}s  {text}")
            self._open = True
        else:
            self.stream.write(f"{self.elapsed():6.1f}s  {text}\n")
        self.stream.flush()

    def line(self, text: str, **fields: Any) -> None:
        """A line that stays."""
        if self.as_json:
            self._json("event", text, fields)
        else:
            if self._open:
                self.stream.write("\n")
                self._open = False
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def _json(self, kind: str, text: str, fields: dict[str, Any]) -> None:
        record = {"t": round(self.elapsed(), 3), "kind": kind, "text": text, **fields}
        self.stream.write(json.dumps(record, default=str) + "\n")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
