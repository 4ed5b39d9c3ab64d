"""What one poll produces: a ``Reply``, or the caller's own type made by ``parse``.

The core reads state, message and Retry-After through a ``Spec``. A ``Reply`` carries its
reading itself. When the caller passes ``parse=`` (``ClusterInfo.from_dict``, say), the
poll returns their object instead, and its reading travels beside it in a context
variable: the driver hands an entity to the core in the same thread or task right after
the poll returned it, so the spec finds the reading of exactly that object (checked by
identity). Nothing is attached to the caller's objects.
"""

from __future__ import annotations

import reprlib
from collections.abc import Hashable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tarry._errors import UnreadableEntity

__all__ = ["Reading", "Reply", "reading_of", "remember"]

_shown = reprlib.Repr()
_shown.maxstring = 60
_shown.maxother = 60
_shown.maxdict = 4
_shown.maxlist = 4


@dataclass(frozen=True, slots=True)
class Reading:
    """What a convention found in one response: the state, a message, and a result
    (Databricks' ``result_state``), plus the response's Retry-After in seconds."""

    state: Hashable | None
    message: str | None = None
    result: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Reply:
    """One polled HTTP response, as read by its convention: the default entity.

    ``body`` is the parsed JSON (``None`` for an empty body), ``status_code`` and
    ``headers`` (response headers, names in lower case) come from the response, ``url``
    is the redacted URL it came from. ``state``, ``message`` and ``result`` are what the
    convention read; ``retry_after`` is the response's hint in seconds, or ``None``.
    ``final`` is true for the operation's final result (after an Azure final fetch, for
    example) and false for a status still in progress.
    """

    body: Any
    status_code: int
    headers: Mapping[str, str] = field(repr=False)
    url: str
    reading: Reading = field(repr=False)
    final: bool = False

    @property
    def state(self) -> Hashable | None:
        return self.reading.state

    @property
    def message(self) -> str | None:
        return self.reading.message

    @property
    def result(self) -> str | None:
        return self.reading.result

    @property
    def retry_after(self) -> float | None:
        return self.reading.retry_after

    def __repr__(self) -> str:
        return (
            f"<Reply {self.status_code} {self.url} state={self.state!r} "
            f"body={_shown.repr(self.body)}>"
        )


_last: ContextVar[tuple[object, Reading] | None] = ContextVar("tarry_http_reading", default=None)


def remember(entity: object, reading: Reading) -> None:
    """Record the reading of ``entity``, the object a poll is about to return."""
    _last.set((entity, reading))


def reading_of(entity: object) -> Reading:
    """The reading of an entity an HTTP wait polled."""
    if isinstance(entity, Reply):
        return entity.reading
    last = _last.get()
    if last is not None and last[0] is entity:
        return last[1]
    raise UnreadableEntity(
        "an HTTP wait's spec reads only the entity its own poll just returned, "
        f"not {type(entity).__name__}"
    )
