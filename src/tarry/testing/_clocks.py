"""Clocks on virtual time: sleeping advances them at once and is recorded."""

from __future__ import annotations

import math
import sys

__all__ = ["AsyncFakeClock", "FakeClock"]


class FakeClock:
    """A monotonic clock that only moves when told to, or when something sleeps on it.

    ``sleeps`` lists every sleep asked for, in order, so a test can check the delays a
    wait chose; ``now()`` is the virtual time in seconds, starting at ``start``.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward, as a slow poll would."""
        if not seconds >= 0 or math.isinf(seconds):
            raise ValueError("seconds must be finite and non-negative")
        self._now += seconds

    def sleep(self, seconds: float) -> None:
        if not seconds >= 0 or math.isinf(seconds):
            raise ValueError(f"cannot sleep {seconds!r} seconds")
        self.sleeps.append(seconds)
        self._now += seconds

    def __repr__(self) -> str:
        return f"<FakeClock now={self._now:.3f} sleeps={len(self.sleeps)}>"


class AsyncFakeClock(FakeClock):
    """``FakeClock`` for async waits, under asyncio or trio.

    Its sleep advances virtual time at once, then yields to the event loop once, so the
    wait stays cancellable at every sleep just as it is on a real clock.
    """

    async def sleep(self, seconds: float) -> None:  # type: ignore[override]
        FakeClock.sleep(self, seconds)
        await _checkpoint()

    def __repr__(self) -> str:
        return f"<AsyncFakeClock now={self._now:.3f} sleeps={len(self.sleeps)}>"


async def _checkpoint() -> None:
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            await trio.lowlevel.checkpoint()
            return
    import asyncio

    await asyncio.sleep(0)
