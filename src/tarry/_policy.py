"""Timeout, backoff and which poll errors are worth retrying: the knobs of a wait."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ._backoff import Backoff, Linear

__all__ = [
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_POLICY",
    "DEFAULT_REQUEST_FLOOR",
    "DEFAULT_TIMEOUT",
    "Policy",
    "RetryOn",
    "Timeout",
    "as_seconds",
    "retry_test",
]

DEFAULT_TIMEOUT = timedelta(minutes=20)
"""How long a wait lasts when the caller does not say: 20 minutes, as in the Databricks SDK."""

DEFAULT_MAX_RETRY_AFTER = 300.0
"""The longest delay a server's Retry-After may impose, in seconds."""

DEFAULT_REQUEST_FLOOR = 1.0
"""The least time a poll request is given, in seconds, even at the deadline.

A poll at the deadline with zero time left could never complete, so each request gets
at least this much; a wait can overrun its deadline by at most this floor.
"""

Timeout = timedelta | float | int | None
RetryOn = type[BaseException] | tuple[type[BaseException], ...] | Callable[[Exception], bool]


_LONGEST = timedelta.max.total_seconds()
"""Timeouts and elapsed times are reported as timedeltas, which stop short of this."""


def as_seconds(timeout: Timeout, name: str = "timeout") -> float | None:
    """Seconds from a ``timedelta`` or a number; ``None`` stays ``None`` (no deadline)."""
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"{name} must be a timedelta, a number of seconds or None, not {type(timeout).__name__}"
        )
    else:
        try:
            seconds = float(timeout)
        except OverflowError:  # an int beyond any float: as good as infinite
            seconds = math.inf
    if math.isnan(seconds):
        raise ValueError(f"{name} must not be NaN")
    if math.isinf(seconds):
        raise ValueError(f"{name} must be finite; use None to wait without a deadline")
    if seconds < 0:
        raise ValueError(f"{name} must be non-negative")
    if seconds >= _LONGEST:
        raise ValueError(f"{name} must be under 999999999 days; use None for no deadline")
    return seconds


def _never(error: Exception) -> bool:
    return False


def _never_offered(kind: type[BaseException]) -> bool:
    """Cancellation, Ctrl-C and exits are never poll errors, so never offered to retry_on."""
    return not issubclass(kind, Exception) and kind is not BaseException


def retry_test(retry_on: RetryOn | None) -> Callable[[Exception], bool]:
    """Turn exception types or a predicate into one predicate.

    Only ``Exception`` reaches it: a type such as ``KeyboardInterrupt`` or
    ``asyncio.CancelledError`` could never match, so naming one is a ``TypeError``
    rather than a promise the wait would silently break. A predicate must be a plain
    function; if it raises, the wait ends with its exception (see ``tarry.Machine``).
    """
    if retry_on is None:
        return _never
    if isinstance(retry_on, type) and issubclass(retry_on, BaseException):
        kinds: tuple[type[BaseException], ...] = (retry_on,)
    elif isinstance(retry_on, tuple):
        if not all(isinstance(k, type) and issubclass(k, BaseException) for k in retry_on):
            raise TypeError("retry_on must hold exception types only")
        kinds = retry_on
    elif isinstance(retry_on, type):
        raise TypeError(f"retry_on must be exception types or a predicate, not {retry_on.__name__}")
    elif callable(retry_on):
        if inspect.iscoroutinefunction(retry_on):
            raise TypeError("retry_on must be a plain function, not an async one")
        return retry_on
    else:
        raise TypeError("retry_on must be exception types or a predicate on the error")
    for kind in kinds:
        if _never_offered(kind):
            raise TypeError(
                f"retry_on cannot name {kind.__name__}: cancellation, interrupts and exits "
                "are never retried"
            )
    if not kinds:
        return _never

    def is_kind(error: Exception) -> bool:
        return isinstance(error, kinds)

    return is_kind


@dataclass(frozen=True)
class Policy:
    """Everything about a wait that is not the operation itself.

    ``timeout`` is a ``timedelta`` or seconds; ``None`` waits with no deadline at all
    (never a hidden default). ``retry_on`` names the poll errors that are transient:
    exception types or a predicate. Cancellation is never offered to it.
    """

    timeout: Timeout = DEFAULT_TIMEOUT
    backoff: Backoff = field(default_factory=Linear)
    retry_on: RetryOn | None = None
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    request_floor: float = DEFAULT_REQUEST_FLOOR
    # What a Machine reads of the policy, worked out once here rather than in every wait.
    _seconds: float | None = field(init=False, repr=False, compare=False)
    _is_transient: Callable[[Exception], object] = field(init=False, repr=False, compare=False)
    _max_hint: float = field(init=False, repr=False, compare=False)
    _floor: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seconds = as_seconds(self.timeout)
        if isinstance(self.backoff, type):
            raise TypeError(
                f"backoff must be an instance such as {self.backoff.__name__}(), not the class"
            )
        if not callable(getattr(self.backoff, "delay", None)):
            raise TypeError("backoff must have a delay(n, previous, rng) method")
        is_transient = retry_test(self.retry_on)
        for name in ("max_retry_after", "request_floor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number of seconds")
            try:
                finite = math.isfinite(value)
            except OverflowError:  # an int beyond any float
                finite = False
            if not finite or value < 0:
                raise ValueError(f"{name} must be finite and non-negative")
            if value >= _LONGEST:  # no request timeout or sleep can be that long
                raise ValueError(f"{name} must be under 999999999 days")
        object.__setattr__(self, "_seconds", seconds)
        object.__setattr__(self, "_is_transient", is_transient)
        object.__setattr__(self, "_max_hint", float(self.max_retry_after))
        object.__setattr__(self, "_floor", float(self.request_floor))

    def __reduce__(self) -> tuple[Any, ...]:
        # A retry_on of exception types is held as a closure, which cannot be pickled.
        fields = (self.timeout, self.backoff, self.retry_on)
        return (type(self), (*fields, self.max_retry_after, self.request_floor))

    @property
    def timeout_seconds(self) -> float | None:
        return self._seconds


DEFAULT_POLICY = Policy()
"""The policy of a wait given none; frozen, so one instance serves every wait."""
