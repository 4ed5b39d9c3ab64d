"""The time budget of the poll in progress, for poll functions that make requests.

Drivers set it around each poll; a poll function reads it with ``request_timeout()``
and hands it to its HTTP client, so no single request outlives the wait's deadline by
more than the request floor. A context variable keeps it right per thread and per task.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["request_timeout"]

_current: ContextVar[float | None] = ContextVar("tarry_request_timeout", default=None)
set_budget = _current.set
reset_budget = _current.reset


def request_timeout() -> float | None:
    """Seconds the current poll's request may take, or None (no deadline, or not polling).

    It is the time left to the deadline after the sleep before this poll, but never
    less than the policy's ``request_floor``, so a final poll at the deadline can
    still complete.
    """
    return _current.get()
