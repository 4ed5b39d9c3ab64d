"""Tools for testing waits in milliseconds: fake clocks (and, with the http extra, the
embedded operations server).

Sync waits take ``clock=FakeClock()``. Async waits take ``clock=AsyncFakeClock()`` under
asyncio or trio; under trio, ``trio.testing.MockClock(autojump_threshold=0)`` works too,
since the async driver uses the running library's clock by default.
"""

from __future__ import annotations

from ._clocks import AsyncFakeClock, FakeClock

__all__ = ["AsyncFakeClock", "FakeClock"]
