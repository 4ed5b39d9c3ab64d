"""The exceptions a wait ends with, and whose fault each one is."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

__all__ = ["OperationFailed", "OperationTimedOut", "TarryError", "UnreadableEntity", "UsageError"]


class TarryError(Exception):
    """Base class of the errors tarry itself raises."""


class OperationFailed(TarryError):
    """The operation reached a state that means it will never succeed.

    The server's fault, not ours: the entity, its state and its message are kept so
    the caller can show or inspect them.
    """

    def __init__(self, text: str, *, entity: Any, state: Any, message: str | None) -> None:
        super().__init__(text)
        self.entity = entity
        self.state = state
        self.message = message


class OperationTimedOut(TarryError, TimeoutError):
    """Time ran out before the operation finished.

    ``elapsed`` is the real time the wait took, measured on the clock that drove it;
    ``last_error`` is the poll error seen after the last entity, if any.
    """

    def __init__(
        self,
        text: str,
        *,
        timeout: timedelta,
        elapsed: timedelta,
        attempts: int,
        entity: Any,
        state: Any,
        message: str | None,
        last_error: BaseException | None,
    ) -> None:
        super().__init__(text)
        self.timeout = timeout
        self.elapsed = elapsed
        self.attempts = attempts
        self.entity = entity
        self.state = state
        self.message = message
        self.last_error = last_error


class UsageError(TarryError, RuntimeError):
    """The caller drove the core out of order (for example, a poll result after the end)."""


class UnreadableEntity(TarryError, ValueError):
    """A spec accessor could not read a polled entity: the entity is not what the spec expects."""
