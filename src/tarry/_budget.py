"""The time budget of the wait in progress, for poll functions that make requests.

Drivers set it for the length of a wait; a poll function reads it with
``request_timeout()`` and hands it to its HTTP client, so no single request outlives the
wait's deadline by more than the request floor. A context variable keeps it right per
thread and per task. It holds the machine (whose rule the budget is), which holds the
driver's clock, so the figure is computed by the core, at the moment the request is made.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from ._core import Machine, Step

__all__ = ["request_timeout"]

T = TypeVar("T")


class DrivenMachine(Machine[T]):
    """A machine as tarry's drivers run it: the driver leaves its clock here, so that
    ``request_timeout()`` can ask the machine for the budget of a request made now (and
    the async driver its sleep, one variable fewer in each of thousands of waits).
    The core itself never reads either."""

    __slots__ = ("now", "sleep")

    now: Callable[[], float]
    sleep: Callable[[float], Any]

    def failed(self, error: Exception) -> Step:
        """``_poll_failed`` at the clock's time: a shallower stack in the async driver."""
        return self._poll_failed(error, self.now())


_current: ContextVar[DrivenMachine[Any] | None] = ContextVar("tarry_request_timeout", default=None)
# A driver sets the machine and, when its wait ends, sets back what it found, rather
# than keeping a reset token: one object fewer held by every wait in progress.
get_budget = _current.get
set_budget = _current.set


def request_timeout() -> float | None:
    """Seconds a request made now, inside a wait, may take; None outside a wait or
    when the wait has no deadline.

    It is the time left to the deadline, but never less than the policy's
    ``request_floor``, so a final poll at the deadline can still complete, and never
    more than a year: sockets refuse timeouts past the platform's ``time_t``, and a
    wait with a centuries-long deadline must not break its own requests.
    """
    current = _current.get()
    if current is None:
        return None
    return current.request_timeout(current.now())
