"""The time budget of the wait in progress, for poll functions that make requests.

Drivers set it for the length of a wait; a poll function reads it with
``request_timeout()`` and hands it to its HTTP client, so no single request outlives the
wait's deadline by more than the request floor. A context variable keeps it right per
thread and per task. It holds the machine (whose rule the budget is) and the driver's clock, so
the figure is computed by the core, at the moment the request is made.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Protocol

__all__ = ["request_timeout"]


class _Budgeted(Protocol):
    def request_timeout(self, now: float) -> float | None: ...


Budget = tuple[_Budgeted, Callable[[], float]]

_current: ContextVar[Budget | None] = ContextVar("tarry_request_timeout", default=None)
set_budget = _current.set
reset_budget = _current.reset


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
    machine, now = current
    return machine.request_timeout(now())
