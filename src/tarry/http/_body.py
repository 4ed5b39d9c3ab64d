"""Response bodies: JSON decoding with specific errors, and messages from error bodies.

Bodies are read to a bounded size by the transport; here they are only bytes. A body
that is not JSON never escapes as a ``JSONDecodeError``: it becomes a
``MalformedResponse`` naming the request and the status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import MalformedResponse

__all__ = [
    "MAX_BODY",
    "MAX_ERROR_BODY",
    "decode_json",
    "excerpt",
    "get_path",
    "server_message",
]

MAX_BODY = 16 * 1024 * 1024
"""The largest body a poll reads, in bytes; a longer one is a ``MalformedResponse``."""

MAX_ERROR_BODY = 64 * 1024
"""How much of an error response's body is read, in bytes; the rest is dropped."""

_EXCERPT = 300


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
"""Made once: ``json.loads`` with any option builds a new decoder on every call."""


def decode_json(
    content: bytes, *, method: str, url: str, status_code: int, allow_empty: bool = False
) -> Any:
    """The JSON in ``content``; ``None`` for an empty body when ``allow_empty``."""
    if not content.strip():
        if allow_empty:
            return None
        raise MalformedResponse(
            f"{method} {url} answered {status_code} with an empty body, expected JSON",
            method=method,
            url=url,
            status_code=status_code,
        )
    try:
        # What json.loads does with bytes: detect UTF-8, -16 or -32, then decode.
        return _DECODER.decode(content.decode(json.detect_encoding(content), "surrogatepass"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        kind = "truncated JSON" if _looks_truncated(exc) else "a body that is not JSON"
        raise MalformedResponse(
            f"{method} {url} answered {status_code} with {kind}: {excerpt(content)!r}",
            method=method,
            url=url,
            status_code=status_code,
            excerpt=excerpt(content),
        ) from None


def _looks_truncated(exc: BaseException) -> bool:
    """Whether the JSON broke off rather than went wrong: it ran out mid-value."""
    if isinstance(exc, json.JSONDecodeError) and exc.doc.strip():
        return exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string")
    return False


def excerpt(content: bytes, limit: int = _EXCERPT) -> str:
    """The start of a body as text, whitespace collapsed, at most ``limit`` characters."""
    text = " ".join(content[: limit * 4].decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(value: object, limit: int = 1000) -> str | None:
    if isinstance(value, str) and value.strip():
        text = " ".join(value.split())
        return text if len(text) <= limit else text[: limit - 3] + "..."
    return None


def server_message(body: object) -> str | None:
    """The human message in an error body, in the shapes cloud APIs use, or ``None``.

    Recognized: ``{"error": {"code", "message"}}`` (Google, Azure),
    ``{"error_code", "message"}`` (Databricks), ``{"error", "error_description"}``
    (OAuth), ``{"message"}``, ``{"detail"}``, ``{"title"}``.
    """
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping):
        message = _text(error.get("message"))
        code = error.get("status") or error.get("code")
        if message:
            return f"{code}: {message}" if isinstance(code, (str, int)) and code else message
    elif isinstance(error, str):
        description = _text(body.get("error_description"))
        return f"{error}: {description}" if description else _text(error)
    message = _text(body.get("message"))
    if message:
        code = body.get("error_code") or body.get("code")
        return f"{code}: {message}" if isinstance(code, (str, int)) and code else message
    return _text(body.get("detail")) or _text(body.get("title"))


Path = str | tuple[str | int, ...]


def split_path(path: Path) -> tuple[str | int, ...]:
    """``"status.phase"`` or ``("items", 0, "state")`` as a tuple of keys and indexes."""
    if isinstance(path, str):
        if not path or any(not part for part in path.split(".")):
            raise ValueError(f"a path needs non-empty parts separated by dots: {path!r}")
        return tuple(path.split("."))
    if isinstance(path, tuple) and path:
        for part in path:
            if isinstance(part, bool) or not isinstance(part, (str, int)):
                raise TypeError("a path holds strings (object keys) and integers (list indexes)")
        return path
    raise TypeError(f"a path is a dotted string or a non-empty tuple, not {path!r}")


def get_path(body: object, keys: tuple[str | int, ...]) -> Any:
    """The value at ``keys`` inside a JSON value, or ``None`` where anything is missing."""
    value: Any = body
    for key in keys:
        if isinstance(value, Mapping):
            if isinstance(key, int):
                key = str(key)
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        elif isinstance(value, list) and isinstance(key, str) and key.isdigit():
            index = int(key)
            value = value[index] if index < len(value) else None
        else:
            return None
    return value
