"""tarry.testing's fake clocks: virtual time that only moves when told to."""

from __future__ import annotations

import math

import anyio
import pytest

import tarry
from tarry.testing import AsyncFakeClock, FakeClock


def test_fake_clock_starts_where_asked_and_records_sleeps() -> None:
    """now() starts at `start`; sleep() advances at once and is recorded in order."""
    clock = FakeClock(start=100)
    assert clock.now() == 100.0
    assert isinstance(clock.now(), float)
    clock.sleep(1.5)
    clock.sleep(0)
    clock.sleep(3)
    assert clock.now() == 104.5
    assert clock.sleeps == [1.5, 0, 3]


def test_advance_moves_time_without_recording_a_sleep() -> None:
    """advance() models time spent elsewhere (a slow request)."""
    clock = FakeClock()
    clock.advance(2.25)
    assert clock.now() == 2.25
    assert clock.sleeps == []


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, -math.inf])
def test_fake_clock_refuses_impossible_durations(bad: float) -> None:
    """Negative, NaN or infinite sleeps and advances are ValueErrors that leave time alone."""
    clock = FakeClock()
    with pytest.raises(ValueError, match="cannot sleep"):
        clock.sleep(bad)
    with pytest.raises(ValueError, match="seconds must be finite and non-negative"):
        clock.advance(bad)
    assert clock.now() == 0.0
    assert clock.sleeps == []


def test_fake_clock_repr() -> None:
    """repr shows the time and how many sleeps happened."""
    clock = FakeClock()
    clock.sleep(1)
    assert repr(clock) == "<FakeClock now=1.000 sleeps=1>"
    assert repr(AsyncFakeClock(2)) == "<AsyncFakeClock now=2.000 sleeps=0>"


def test_fake_clock_satisfies_the_clock_protocol() -> None:
    """A FakeClock is what tarry.wait's clock= expects."""
    clock: tarry.Clock = FakeClock()
    spec: tarry.Spec[str] = tarry.Spec("op", state=str, success={"OK"})
    assert tarry.wait(lambda: "OK", spec, clock=clock) == "OK"


@pytest.mark.anyio
async def test_async_fake_clock_sleeps_advance_and_yield() -> None:
    """AsyncFakeClock.sleep advances virtual time before it yields to other tasks."""
    clock = AsyncFakeClock(start=5)
    ran: list[float] = []

    async def other() -> None:
        ran.append(clock.now())

    async with anyio.create_task_group() as group:
        group.start_soon(other)
        await clock.sleep(3600)
    assert ran == [3605.0]
    assert clock.sleeps == [3600]


@pytest.mark.anyio
async def test_async_fake_clock_sleep_is_a_cancellation_point() -> None:
    """A cancelled scope stops at the fake sleep, after time has advanced."""
    clock = AsyncFakeClock()
    with anyio.CancelScope() as scope:
        scope.cancel()
        await clock.sleep(10)
        raise AssertionError("not reached")
    assert scope.cancelled_caught
    assert clock.now() == 10.0


@pytest.mark.anyio
async def test_async_fake_clock_refuses_bad_durations() -> None:
    """The async clock checks durations like the sync one."""
    with pytest.raises(ValueError, match="cannot sleep"):
        await AsyncFakeClock().sleep(-1)
