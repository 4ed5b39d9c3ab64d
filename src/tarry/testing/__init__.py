"""Tools for testing waits in milliseconds: fake clocks (and, with the http extra, the
embedded operations server).

Sync waits take ``clock=FakeClock()``. Async waits take ``clock=AsyncFakeClock()`` under
asyncio or trio; under trio, ``trio.testing.MockClock(autojump_threshold=0)`` works too,
since the async driver uses the running library's clock by default.

``OperationsServer`` is a fake cloud API on 127.0.0.1 that plays scripted long-running
operations (``Step``, ``Timeline``) with injected faults (``Fault``) over real sockets;
the ``operations_server`` pytest fixture hands one to each test. The server needs h11
(``pip install 'tarry[http]'``); it is imported only when first used, so this module
works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._clocks import AsyncFakeClock, FakeClock
from ._scenarios import (
    Action,
    AzureOperation,
    ClusterOperation,
    Fault,
    FaultKind,
    GoogleOperation,
    Operation,
    Reply,
    Request,
    ResourceOperation,
    RunOperation,
    ScenarioError,
    Scenarios,
    Step,
    Timeline,
)

if TYPE_CHECKING:
    from ._server import OperationsServer

__all__ = [
    "Action",
    "AsyncFakeClock",
    "AzureOperation",
    "ClusterOperation",
    "FakeClock",
    "Fault",
    "FaultKind",
    "GoogleOperation",
    "Operation",
    "OperationsServer",
    "Reply",
    "Request",
    "ResourceOperation",
    "RunOperation",
    "ScenarioError",
    "Scenarios",
    "Step",
    "Timeline",
]

HTTP_EXTRA_HINT = "the operations server needs h11: pip install 'tarry[http]'"


def __getattr__(name: str) -> Any:
    if name == "OperationsServer":
        try:
            from ._server import OperationsServer
        except ModuleNotFoundError as exc:
            if exc.name != "h11":
                raise
            raise ModuleNotFoundError(HTTP_EXTRA_HINT, name="h11") from exc
        return OperationsServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
