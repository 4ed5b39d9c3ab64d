"""tarry: wait on long-running operations, correctly, from sync code, asyncio or trio.

Describe an operation once with a ``Spec``; wait on it with ``wait``/``Wait`` or
``async_wait``/``AsyncWait``. Every timing decision lives in the sans-IO core
(``tarry.Machine``), which SDK authors may drive with their own I/O.
"""

from __future__ import annotations

from ._async import AsyncWait, async_wait
from ._backoff import Backoff, Constant, Exponential, Linear
from ._budget import request_timeout
from ._core import (
    TRANSITIONS,
    Action,
    Event,
    Fail,
    Machine,
    Phase,
    PollAfter,
    Raise,
    Succeed,
    TimeOut,
)
from ._errors import OperationFailed, OperationTimedOut, TarryError, UnreadableEntity, UsageError
from ._policy import DEFAULT_MAX_RETRY_AFTER, DEFAULT_REQUEST_FLOOR, DEFAULT_TIMEOUT, Policy
from ._spec import Spec, show_state
from ._sync import Clock, SystemClock, Wait, wait

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_REQUEST_FLOOR",
    "DEFAULT_TIMEOUT",
    "TRANSITIONS",
    "Action",
    "AsyncWait",
    "Backoff",
    "Clock",
    "Constant",
    "Event",
    "Exponential",
    "Fail",
    "Linear",
    "Machine",
    "OperationFailed",
    "OperationTimedOut",
    "Phase",
    "Policy",
    "PollAfter",
    "Raise",
    "Spec",
    "Succeed",
    "SystemClock",
    "TarryError",
    "TimeOut",
    "UnreadableEntity",
    "UsageError",
    "Wait",
    "__version__",
    "async_wait",
    "request_timeout",
    "show_state",
    "wait",
]
