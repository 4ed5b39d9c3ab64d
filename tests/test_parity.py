"""One scripted operation through the sync, asyncio and trio drivers gives one trace."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import trio
import trio.testing

import tarry
from tarry.testing import AsyncFakeClock, FakeClock


@dataclass(frozen=True)
class Op:
    state: str
    message: str | None = None
    retry_after: float | None = None


class Unavailable(Exception):
    """A transient poll error carrying the server's Retry-After."""

    def __init__(self, text: str, retry_after: float | None = None) -> None:
        super().__init__(text)
        self.retry_after = retry_after


SPEC: tarry.Spec[Op] = tarry.Spec(
    "provisioning",
    state=lambda o: o.state,
    message=lambda o: o.message,
    success={"Succeeded"},
    failure={"Failed"},
    retry_after=lambda o: o.retry_after,
)

Reply = Op | Exception
Trace = list[tuple[float, float | None, str]]

SCRIPTS: dict[str, list[Reply]] = {
    "success after errors and hints": [
        Op("Accepted", retry_after=5),
        Unavailable("503", retry_after=12),
        Op("Running", "copying"),
        Unavailable("502"),
        Op("Running", "copying", retry_after=0.25),
        Op("Running", "finishing"),
        Op("Succeeded"),
    ],
    "timeout with a final poll": [
        Op("Accepted"),
        Unavailable("429", retry_after=40),
        Op("Running", "slow", retry_after=2700),
        Op("Running", "slow"),
    ],
    "failure with a message": [
        Op("Accepted"),
        Op("Running"),
        Unavailable("503"),
        Op("Failed", "quota exceeded"),
    ],
    "fatal error": [Op("Accepted"), Unavailable("503"), PermissionError("403 forbidden")],
    "storm of errors": [Unavailable("503", retry_after=9)],
}


class Scripted:
    """Answers a script, one reply per poll, repeating the last; records what each poll saw."""

    def __init__(self, replies: list[Reply], now: Callable[[], float]) -> None:
        self.replies = list(replies)
        self.now = now
        self.trace: Trace = []

    def __call__(self) -> Op:
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        self.trace.append((self.now(), tarry.request_timeout(), repr(reply)))
        if isinstance(reply, Exception):
            raise reply
        return reply


def outcome_of(run: Callable[[], Op]) -> tuple[str, object]:
    """The final result or exception as comparable data."""
    try:
        return "result", run()
    except tarry.OperationTimedOut as exc:
        data = (str(exc), exc.timeout, exc.elapsed, exc.attempts, exc.entity, repr(exc.last_error))
        return "timed out", data
    except tarry.OperationFailed as exc:
        return "failed", (str(exc), exc.entity, exc.state, exc.message)
    except PermissionError as exc:
        return "raised", repr(exc)


def options(seed: int) -> dict[str, object]:
    return {"timeout": 90, "retry_on": Unavailable, "rng": random.Random(seed)}


def via_sync(script: list[Reply], seed: int) -> tuple[Trace, tuple[str, object]]:
    clock = FakeClock()
    poll = Scripted(script, clock.now)
    outcome = outcome_of(lambda: tarry.wait(poll, SPEC, clock=clock, **options(seed)))  # type: ignore[arg-type]
    return poll.trace, outcome


def via_asyncio(script: list[Reply], seed: int) -> tuple[Trace, tuple[str, object]]:
    clock = AsyncFakeClock()
    poll = Scripted(script, clock.now)

    async def apoll() -> Op:
        await asyncio.sleep(0)
        return poll()

    def run() -> Op:
        return asyncio.run(tarry.async_wait(apoll, SPEC, clock=clock, **options(seed)))  # type: ignore[arg-type]

    return poll.trace, outcome_of(run)


def via_trio(script: list[Reply], seed: int) -> tuple[Trace, tuple[str, object]]:
    poll = Scripted(script, trio.current_time)

    async def apoll() -> Op:
        await trio.lowlevel.checkpoint()
        return poll()

    def run() -> Op:
        return trio.run(
            lambda: tarry.async_wait(apoll, SPEC, **options(seed)),  # type: ignore[arg-type]
            clock=trio.testing.MockClock(autojump_threshold=0),
        )

    return poll.trace, outcome_of(run)


@pytest.mark.parametrize("seed", [0, 1, 2024])
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_parity_sync_asyncio_trio(name: str, seed: int) -> None:
    """Poll times, request timeouts, outcomes and the final result match across drivers."""
    script = SCRIPTS[name]
    sync = via_sync(script, seed)
    assert via_asyncio(script, seed) == sync
    assert via_trio(script, seed) == sync
    trace, _ = sync
    assert trace[0][0] == 0.0
    assert len(trace) >= len(script)


def test_parity_traces_show_the_timing_rules() -> None:
    """The shared trace obeys the rules: hints respected, final poll at the deadline."""
    trace, outcome = via_sync(SCRIPTS["timeout with a final poll"], 0)
    times = [t for t, _, _ in trace]
    assert times[0] == 0.0
    assert 1.0 <= times[1] <= 2.0  # Linear: 1 s plus up to 1 s of jitter
    assert times[2] - times[1] == pytest.approx(40.0)  # the 429's Retry-After
    assert times[-1] == 90.0
    assert trace[-1][1] == 1.0
    kind, data = outcome
    assert kind == "timed out"
    assert isinstance(data, tuple)
    assert data[0] == "timed out after 0:01:30: provisioning is Running: slow"
