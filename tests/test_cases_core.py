"""Cases C01-C05, C13 and C14 from real reports against cloud SDK waiting loops."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime as RealDatetime
from datetime import timedelta

import pytest

import tarry
from tarry import Constant, OperationFailed, OperationTimedOut
from tarry.testing import AsyncFakeClock, FakeClock


@dataclass(frozen=True)
class Cluster:
    state: str | None
    state_message: str | None = None


SPEC: tarry.Spec[Cluster] = tarry.Spec(
    "cluster",
    state=lambda c: c.state,
    message=lambda c: c.state_message,
    success={"RUNNING"},
    failure={"ERROR", "TERMINATED"},
)


def running_from(clock: FakeClock, t: float, log: list[float]) -> Callable[[], Cluster]:
    """A poll that records its time and says RUNNING from clock time t on, PENDING before."""

    def poll() -> Cluster:
        log.append(clock.now())
        return Cluster("RUNNING" if clock.now() >= t else "PENDING", "starting")

    return poll


# -- C01 late finish -------------------------------------------------------------------------


def test_case_c01_late_finish_gets_final_poll() -> None:
    """Timeout 20 s, RUNNING after t=19.5: the final poll at t=20 sees it and succeeds."""
    clock = FakeClock()
    polls: list[float] = []
    result = tarry.wait(
        running_from(clock, 19.5, polls), SPEC, timeout=20, clock=clock, rng=random.Random(1)
    )
    assert result.state == "RUNNING"
    assert polls[-1] == 20.0
    assert all(t < 19.5 for t in polls[:-1])
    assert max(clock.sleeps) <= 11.0


@pytest.mark.parametrize("step", [0.3, 0.7, 1.0, 7.0, 19.0, 25.0])
def test_case_c01_late_finish_with_any_backoff(step: float) -> None:
    """Whatever the backoff, the finish is seen by a poll no later than the deadline."""
    clock = FakeClock()
    polls: list[float] = []
    poll = running_from(clock, 19.5, polls)
    assert (
        tarry.wait(poll, SPEC, timeout=20, clock=clock, backoff=Constant(step)).state == "RUNNING"
    )
    assert 19.5 <= polls[-1] <= 20.0
    assert all(t < 19.5 for t in polls[:-1])


@pytest.mark.anyio
async def test_case_c01_late_finish_gets_final_poll_async() -> None:
    """The async driver gives the same final poll at the deadline, on virtual time."""
    clock = AsyncFakeClock()
    polls: list[float] = []
    sync_poll = running_from(clock, 19.5, polls)

    async def poll() -> Cluster:
        return sync_poll()

    result = await tarry.async_wait(poll, SPEC, timeout=20, clock=clock, rng=random.Random(1))
    assert result.state == "RUNNING"
    assert polls[-1] == 20.0


def test_case_c01_without_the_finish_times_out_at_the_deadline() -> None:
    """The same wait on an operation that never finishes times out right at t=20."""
    clock = FakeClock()
    polls: list[float] = []
    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(running_from(clock, math.inf, polls), SPEC, timeout=20, clock=clock)
    assert polls[-1] == 20.0
    assert caught.value.elapsed == timedelta(seconds=20)


# -- C02 exact finish ------------------------------------------------------------------------


def test_case_c02_exact_finish_at_the_deadline_succeeds() -> None:
    """Timeout 60 s, RUNNING from exactly t=60: the final poll at 60 is a success."""
    clock = FakeClock()
    polls: list[float] = []
    result = tarry.wait(
        running_from(clock, 60.0, polls), SPEC, timeout=60, clock=clock, rng=random.Random(2)
    )
    assert result.state == "RUNNING"
    assert polls[-1] == 60.0
    assert len(polls) == len(set(polls))


@pytest.mark.anyio
async def test_case_c02_exact_finish_async() -> None:
    """The async driver also polls at exactly t=60 and succeeds."""
    clock = AsyncFakeClock()
    polls: list[float] = []
    sync_poll = running_from(clock, 60.0, polls)

    async def poll() -> Cluster:
        return sync_poll()

    wait = tarry.AsyncWait(poll, SPEC, clock=clock, rng=random.Random(2))
    assert (await wait.result(timeout=timedelta(seconds=60))).state == "RUNNING"
    assert polls[-1] == 60.0


# -- C03 wall clock steps --------------------------------------------------------------------


class WallClock:
    """A stand-in for time.time whose reading jumps back an hour, then forward a day."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return 1_700_000_000.0 + self.offset

    def step(self, polls: int) -> None:
        if polls == 3:
            self.offset -= 3600.0
        elif polls == 6:
            self.offset += 86400.0


def _trace_with_wall_steps(
    monkeypatch: pytest.MonkeyPatch | None, finish_at: float
) -> tuple[list[float], list[float], object]:
    """Run a 20-minute wait on a FakeClock, stepping the wall clock if patched."""
    clock = FakeClock()
    wall = WallClock()
    if monkeypatch is not None:
        monkeypatch.setattr(time, "time", wall)
        monkeypatch.setattr(dt, "datetime", _jumpy_datetime(wall))
    polls: list[float] = []

    def poll() -> Cluster:
        polls.append(clock.now())
        wall.step(len(polls))
        time.time()
        dt.datetime.now()
        return Cluster("RUNNING" if clock.now() >= finish_at else "PENDING")

    try:
        outcome: object = tarry.wait(poll, SPEC, clock=clock, rng=random.Random(3))
    except OperationTimedOut as exc:
        outcome = (str(exc), exc.elapsed, exc.attempts)
    if monkeypatch is not None:
        assert wall.reads >= 2 * len(polls)
        assert wall.offset == 86400.0 - 3600.0
    return polls, clock.sleeps, outcome


def _jumpy_datetime(wall: WallClock) -> type[dt.datetime]:
    class Jumpy(RealDatetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Jumpy:
            stamp = RealDatetime.fromtimestamp(wall(), tz)
            return cls(*stamp.timetuple()[:6], tzinfo=stamp.tzinfo)

    return Jumpy


@pytest.mark.parametrize("finish_at", [600.0, math.inf])
def test_case_c03_wall_clock_steps_change_nothing(
    monkeypatch: pytest.MonkeyPatch, finish_at: float
) -> None:
    """Wall-clock jumps (back 1 h, forward 1 day) during a 20-minute wait change no decision."""
    calm = _trace_with_wall_steps(None, finish_at)
    stepped = _trace_with_wall_steps(monkeypatch, finish_at)
    assert stepped == calm
    polls, _, outcome = stepped
    if finish_at == math.inf:
        assert outcome == (
            "timed out after 0:20:00: cluster is PENDING",
            timedelta(minutes=20),
            len(polls),
        )
        assert polls[-1] == 1200.0
    else:
        assert outcome == Cluster("RUNNING")


def test_case_c03_real_clock_ignores_wall_clock_jumps(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the real clock, a time.time that leaps an hour back and a day ahead is never used."""
    wall = WallClock()
    monkeypatch.setattr(time, "time", wall)
    polls: list[int] = []

    def poll() -> Cluster:
        polls.append(1)
        wall.step(len(polls))
        return Cluster("PENDING")

    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(poll, SPEC, timeout=0.1, backoff=Constant(0.01))
    assert polls
    assert timedelta(seconds=0.1) <= caught.value.elapsed < timedelta(seconds=60)

    polls.clear()
    replies = iter([Cluster("PENDING")] * 7 + [Cluster("RUNNING")])

    def finishing() -> Cluster:
        polls.append(1)
        wall.step(len(polls))
        return next(replies)

    result = tarry.wait(finishing, SPEC, timeout=30, backoff=Constant(0.001))
    assert result == Cluster("RUNNING")


@pytest.mark.anyio
async def test_case_c03_async_running_clock_ignores_wall_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asyncio's and trio's clocks are monotonic too: wall jumps do not end the wait early."""
    wall = WallClock()
    monkeypatch.setattr(time, "time", wall)
    count: list[int] = []

    async def poll() -> Cluster:
        count.append(1)
        wall.step(len(count))
        return Cluster("RUNNING" if len(count) >= 8 else "PENDING")

    result = await tarry.async_wait(poll, SPEC, timeout=30, backoff=Constant(0.001))
    assert result == Cluster("RUNNING")
    assert wall.offset == 86400.0 - 3600.0


# -- C04 timeout 0 ---------------------------------------------------------------------------


def test_case_c04_timeout_zero_one_poll_success() -> None:
    """timeout=0 on a RUNNING operation: exactly one poll, a success, no sleep."""
    clock = FakeClock()
    calls: list[float] = []
    result = tarry.wait(running_from(clock, 0.0, calls), SPEC, timeout=0, clock=clock)
    assert result.state == "RUNNING"
    assert calls == [0.0]
    assert clock.sleeps == [0.0]


def test_case_c04_timeout_zero_pending_times_out_after_one_poll() -> None:
    """timeout=0 on a PENDING operation: one poll, then a timeout."""
    clock = FakeClock()
    calls: list[float] = []
    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(running_from(clock, 1.0, calls), SPEC, timeout=0, clock=clock)
    assert calls == [0.0]
    assert caught.value.attempts == 1
    assert str(caught.value) == "timed out after 0:00:00: cluster is PENDING: starting"


@pytest.mark.parametrize("timeout", [-1, -0.5, timedelta(seconds=-1), math.nan])
def test_case_c04_negative_or_nan_timeout_is_a_value_error(timeout: object) -> None:
    """A negative or NaN timeout is a ValueError before any poll."""
    calls: list[float] = []
    clock = FakeClock()
    with pytest.raises(ValueError, match=r"^timeout must"):
        tarry.wait(running_from(clock, 0, calls), SPEC, timeout=timeout, clock=clock)  # type: ignore[arg-type]
    assert calls == []


@pytest.mark.anyio
async def test_case_c04_timeout_zero_async() -> None:
    """The async driver also makes exactly one poll with timeout=0."""
    clock = AsyncFakeClock()
    calls: list[float] = []
    sync_poll = running_from(clock, 1.0, calls)

    async def poll() -> Cluster:
        return sync_poll()

    with pytest.raises(OperationTimedOut):
        await tarry.async_wait(poll, SPEC, timeout=0, clock=clock)
    assert calls == [0.0]


# -- C05 no timeout --------------------------------------------------------------------------


def test_case_c05_no_timeout_waits_past_twenty_minutes() -> None:
    """timeout=None never becomes the 20-minute default: success after 3 hours of fake time."""
    clock = FakeClock()
    polls: list[float] = []
    result = tarry.wait(running_from(clock, 3 * 3600, polls), SPEC, timeout=None, clock=clock)
    assert result.state == "RUNNING"
    assert polls[-1] >= 3 * 3600
    assert clock.now() >= 3 * 3600


def test_case_c05_no_timeout_through_wait_and_policy() -> None:
    """Wait.result(timeout=None) and Policy(timeout=None) mean no deadline as well."""
    clock = FakeClock()
    polls: list[float] = []
    w = tarry.Wait(running_from(clock, 5 * 3600, polls), SPEC, clock=clock)
    assert w.result(timeout=None).state == "RUNNING"
    clock2 = FakeClock()
    policy = tarry.Policy(timeout=None)
    polls2: list[float] = []
    poll = running_from(clock2, 2 * 86400, polls2)
    assert tarry.wait(poll, SPEC, policy=policy, clock=clock2).state == "RUNNING"


@pytest.mark.anyio
async def test_case_c05_no_timeout_async() -> None:
    """async_wait with timeout=None also rides past 20 minutes of virtual time."""
    clock = AsyncFakeClock()
    polls: list[float] = []
    sync_poll = running_from(clock, 3 * 3600, polls)

    async def poll() -> Cluster:
        return sync_poll()

    result = await tarry.async_wait(poll, SPEC, timeout=None, clock=clock, backoff=Constant(60))
    assert result.state == "RUNNING"
    assert clock.now() == 3 * 3600


# -- C13 unlisted dead end -------------------------------------------------------------------

PENDING_SPEC: tarry.Spec[Cluster] = tarry.Spec(
    "cluster",
    state=lambda c: c.state,
    message=lambda c: c.state_message,
    success={"RUNNING"},
    failure={"ERROR"},
    pending={"PENDING", "RESIZING"},
)


@pytest.mark.parametrize("dead_end", ["DELETED", "CANCELLED", "pending"])
def test_case_c13_unlisted_state_fails_at_once_naming_it(dead_end: str) -> None:
    """With `pending` given, any other non-terminal state fails on that poll, named."""
    clock = FakeClock()
    replies = iter([Cluster("PENDING"), Cluster("RESIZING"), Cluster(dead_end, "gone")])
    with pytest.raises(OperationFailed) as caught:
        tarry.wait(lambda: next(replies), PENDING_SPEC, clock=clock, backoff=Constant(1))
    assert str(caught.value) == (
        f"cluster failed to reach RUNNING, got {dead_end} "
        "(not a state it passes through on the way): gone"
    )
    assert caught.value.state == dead_end
    assert clock.now() == 2.0


def test_case_c13_unknown_state_still_waits_without_pending() -> None:
    """Without `pending`, an unknown state means still going (the default)."""
    replies = iter([Cluster("DELETED"), Cluster("RUNNING")])
    assert tarry.wait(lambda: next(replies), SPEC, clock=FakeClock()) == Cluster("RUNNING")


def test_case_c13_none_state_is_not_a_dead_end() -> None:
    """A None state is 'not known yet' even with `pending`: the wait goes on."""
    replies = iter([Cluster(None), Cluster("PENDING"), Cluster("RUNNING")])
    assert tarry.wait(lambda: next(replies), PENDING_SPEC, clock=FakeClock()).state == "RUNNING"


# -- C14 compound outcome ---------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    life_cycle_state: str
    result_state: str | None = None
    state_message: str = ""


RUN_SPEC: tarry.Spec[Run] = tarry.Spec(
    "job run",
    state=lambda r: r.life_cycle_state,
    message=lambda r: r.state_message,
    success=lambda r: r.life_cycle_state == "TERMINATED" and r.result_state == "SUCCESS",
    failure=lambda r: (
        r.life_cycle_state in {"TERMINATED", "INTERNAL_ERROR"} and r.result_state != "SUCCESS"
    ),
    goal="TERMINATED with SUCCESS",
)


def test_case_c14_terminated_with_failed_result_is_a_failure() -> None:
    """A run TERMINATED with result_state FAILED fails, with its message."""
    replies = iter(
        [
            Run("PENDING"),
            Run("RUNNING"),
            Run("TERMINATED", "FAILED", "Task notebook failed: division by zero"),
        ]
    )
    with pytest.raises(OperationFailed) as caught:
        tarry.wait(lambda: next(replies), RUN_SPEC, clock=FakeClock())
    assert str(caught.value) == (
        "job run failed to reach TERMINATED with SUCCESS, got TERMINATED: "
        "Task notebook failed: division by zero"
    )
    assert caught.value.entity.result_state == "FAILED"
    assert caught.value.message == "Task notebook failed: division by zero"


def test_case_c14_terminated_with_success_result_succeeds() -> None:
    """The same life-cycle state with result_state SUCCESS is a success."""
    replies = iter([Run("RUNNING"), Run("TERMINATING"), Run("TERMINATED", "SUCCESS")])
    result = tarry.wait(lambda: next(replies), RUN_SPEC, clock=FakeClock())
    assert result == Run("TERMINATED", "SUCCESS")
