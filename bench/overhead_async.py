"""Workloads 2 and 3: async waits under asyncio and trio.

Workload 2 (per-poll overhead) runs one wait at a time; workload 3 (scale) runs N waits
at once and reports the wall time and the peak traced memory per waiter. In both, every
contender sleeps through the same counted sleep, which yields once to the event loop
(the library's ``sleep(0)``), so each poll costs at least one trip through the scheduler,
as it does in real life.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar

import _candidate
from _common import (
    ContenderMissing,
    Entity,
    Operation,
    Timed,
    check_counts,
    fmt_ns,
    fmt_ratio,
    interleave,
    make_spec,
)

import tarry

TIMEOUT = 1200.0
RUNNING = "RUNNING"
SPEC: tarry.Spec[Entity] = make_spec(tarry)
LIBRARIES = ("asyncio", "trio")


class Yield:
    """A counted sleep that only yields to the running library: its ``sleep(0)``."""

    __slots__ = ("count", "now", "zero")

    def __init__(self, library: str) -> None:
        self.count = 0
        if library == "trio":
            import trio

            self.zero: Callable[[float], Awaitable[None]] = trio.sleep
            self.now: Callable[[], float] = trio.current_time
        else:
            self.zero = asyncio.sleep
            self.now = asyncio.get_running_loop().time

    async def sleep(self, seconds: float) -> None:
        self.count += 1
        await self.zero(0)


AsyncWaiter = Callable[[Operation, Yield], Awaitable[object]]


async def floor(op: Operation, clock: Yield) -> object:
    poll, sleep = op.apoll, clock.sleep
    while True:
        entity = await poll()
        if entity.state == RUNNING:
            return entity
        await sleep(1.0)


class Bound:
    """The least a decision made through a spec does per poll: a bound, not a waiter.

    It reads the state and the message through the spec's functions, judges the state
    with one look-up, counts the poll, keeps what it saw, draws ``Linear``'s delay and
    jitter and checks the deadline, as tarry's machine does on its common poll. Unlike
    the machine it checks none of its inputs and has no phase, hint, final poll,
    failure or timeout to give: what tarry costs above this row is what those cost.
    """

    __slots__ = ("attempts", "deadline", "entity", "message", "now", "state")

    OUTCOMES: ClassVar[dict[object, bool]] = {RUNNING: True, "ERROR": False, "TERMINATED": False}

    def __init__(self, now: float) -> None:
        self.now = now
        self.deadline = now + TIMEOUT
        self.attempts = 0
        self.entity: object = None
        self.state: object = None
        self.message: object = None

    def polled(self, entity: Entity, now: float) -> float | None:
        """The delay before the next poll, or None when the operation is done."""
        if not self.now <= now < self.deadline:
            raise RuntimeError("the bound does not time out")
        self.now = now
        state = SPEC.state(entity)
        outcome = Bound.OUTCOMES.get(state)
        self.attempts = n = self.attempts + 1
        self.entity = entity
        self.state = state
        if outcome:
            return None
        self.message = SPEC.message(entity)  # type: ignore[misc]
        if outcome is not None:
            raise RuntimeError(f"failed: {state}")
        delay = (10.0 if n >= 10 else n * 1.0) + _JITTER.random()
        return delay if delay < self.deadline - now else self.deadline - now


_JITTER = random.Random()


async def bound(op: Operation, clock: Yield) -> object:
    """``Bound`` driven as tarry's driver drives its machine, first sleep included."""
    poll, sleep, now = op.apoll, clock.sleep, clock.now
    decision = Bound(now())
    await sleep(0.0)
    while True:
        entity = await poll()
        delay = decision.polled(entity, now())
        if delay is None:
            return entity
        await sleep(delay)


def tarry_wait_with(t: Any) -> AsyncWaiter:
    """``t.async_wait`` on the counted clock, ``t`` being the tarry package to measure."""
    spec = make_spec(t)

    def wait(op: Operation, clock: Yield) -> Awaitable[object]:
        # No coroutine of our own around the library's: it would count as the waiter's.
        return t.async_wait(op.apoll, spec, clock=clock)  # type: ignore[no-any-return]

    return wait


tarry_wait = tarry_wait_with(tarry)


def _tenacity() -> Any:
    try:
        import tenacity
    except ImportError as exc:
        raise ContenderMissing("tenacity") from exc
    return tenacity


def tenacity_wait(op: Operation, clock: Yield) -> Awaitable[object]:
    tenacity = _tenacity()
    retrying = tenacity.AsyncRetrying(
        retry=tenacity.retry_if_result(lambda e: e.state != RUNNING),
        wait=tenacity.wait_fixed(1.0),
        stop=tenacity.stop_after_delay(TIMEOUT),
        sleep=clock.sleep,
    )
    return retrying(op.apoll)  # type: ignore[no-any-return]


FLOOR = "plain loop, sleep(0) per poll (floor)"
BOUND = "bound: the least decision through a spec (no checks)"
CONTENDERS: dict[str, AsyncWaiter] = {
    FLOOR: floor,
    BOUND: bound,
    "tarry.async_wait": tarry_wait,
    "tenacity.AsyncRetrying": tenacity_wait,
}


def available(strict: bool) -> tuple[dict[str, AsyncWaiter], list[str]]:
    found = dict(CONTENDERS)
    missing = []
    try:
        _tenacity()
    except ContenderMissing as exc:
        if strict:
            raise SystemExit(f"package {exc} is not installed (use nox -s bench)") from None
        del found["tenacity.AsyncRetrying"]
        missing.append(f"tenacity.AsyncRetrying ({exc})")
    candidate = _candidate.loaded()
    if candidate is not None:
        found["tarry.async_wait (candidate)"] = tarry_wait_with(candidate)
    return found, missing


def run_on(library: str, main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    if library == "trio":
        import trio

        return trio.run(main)
    return asyncio.run(main())


def _ops(k: int) -> Operation:
    return Operation(k, Entity("PENDING", "starting"), Entity(RUNNING, ""))


# -- workload 2 ---------------------------------------------------------------------------


def make_sample(name: str, waiter: AsyncWaiter, library: str, k: int) -> Callable[[int], float]:
    def sample(n: int) -> float:
        op = _ops(k)

        async def main() -> tuple[float, int]:
            clock = Yield(library)
            start = time.perf_counter()
            for _ in range(n):
                op.begin()
                await waiter(op, clock)
            return time.perf_counter() - start, clock.count

        spent, sleeps = run_on(library, main)
        check_counts(f"{name} ({library})", n, k, op.finish(), sleeps)
        return float(spent) / (n * (k + 1))

    return sample


def run_overhead(
    ks: list[int], rounds: int, target: float, strict: bool
) -> tuple[dict[tuple[str, int], dict[str, Timed]], list[str]]:
    contenders, missing = available(strict)
    results: dict[tuple[str, int], dict[str, Timed]] = {}
    for library in LIBRARIES:
        for k in ks:
            samples = {
                name: make_sample(name, waiter, library, k) for name, waiter in contenders.items()
            }
            results[library, k] = interleave(samples, rounds, target)
    return results, missing


def overhead_rows(results: dict[tuple[str, int], dict[str, Timed]]) -> list[list[str]]:
    out = []
    for (library, k), timed in results.items():
        floor_median = timed[FLOOR].median
        for name, t in timed.items():
            out.append(
                [library, str(k), name, fmt_ns(t.median), fmt_ratio(t.median / floor_median)]
            )
    return out


OVERHEAD_HEADER = ["library", "K", "contender", "per poll", "vs floor"]


# -- workload 3 ---------------------------------------------------------------------------


async def _many(library: str, waiter: AsyncWaiter, ops: list[Operation]) -> int:
    """Run one wait per operation, all at once; return the sleeps taken."""
    clock = Yield(library)
    if library == "trio":
        import trio

        async with trio.open_nursery() as nursery:
            for op in ops:
                nursery.start_soon(waiter, op, clock)
    else:
        await asyncio.gather(*(waiter(op, clock) for op in ops))
    return clock.count


def scale_once(name: str, waiter: AsyncWaiter, library: str, n: int, k: int, trace: bool) -> float:
    """Seconds for n concurrent waits, or, with ``trace``, peak traced bytes per waiter."""
    ops = [_ops(k) for _ in range(n)]
    gc.collect()

    async def main() -> tuple[float, int]:
        if trace:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        start = time.perf_counter()
        sleeps = await _many(library, waiter, ops)
        spent = time.perf_counter() - start
        if trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return (peak - base) / n, sleeps
        return spent, sleeps

    figure, sleeps = run_on(library, main)
    check_counts(f"{name} ({library}, {n} at once)", n, k, sum(op.finish() for op in ops), sleeps)
    return float(figure)


def run_scale(
    sizes: list[int], k: int, rounds: int, strict: bool, tenacity_max: int
) -> tuple[list[list[str]], dict[tuple[str, int, str], tuple[float, float]]]:
    """Wall time (median of ``rounds``, interleaved) and bytes per waiter (one traced run)."""
    contenders, _ = available(strict)
    figures: dict[tuple[str, int, str], tuple[float, float]] = {}
    rows = []
    for library in LIBRARIES:
        for n in sizes:
            names = [m for m in contenders if "tenacity" not in m or n <= tenacity_max]
            times: dict[str, list[float]] = {m: [] for m in names}
            for r in range(rounds if n <= 10_000 else 1):
                order = names[r % len(names) :] + names[: r % len(names)]
                for m in order:
                    times[m].append(scale_once(m, contenders[m], library, n, k, trace=False))
            floor_time = sorted(times[FLOOR])[len(times[FLOOR]) // 2]
            floor_bytes = scale_once(FLOOR, contenders[FLOOR], library, n, k, trace=True)
            for m in names:
                wall = sorted(times[m])[len(times[m]) // 2]
                per_waiter = (
                    floor_bytes
                    if m == FLOOR
                    else scale_once(m, contenders[m], library, n, k, trace=True)
                )
                figures[library, n, m] = (wall, per_waiter)
                rows.append(
                    [
                        library,
                        f"{n:,}",
                        m,
                        f"{wall:.2f} s",
                        fmt_ratio(wall / floor_time),
                        f"{per_waiter / 1024:.2f} KB",
                        fmt_ratio(per_waiter / floor_bytes),
                    ]
                )
            for m in contenders:
                if m not in names:
                    rows.append([library, f"{n:,}", m, "not run (too slow)", "", "", ""])
    return rows, figures


SCALE_HEADER = [
    "library",
    "waits at once",
    "contender",
    "wall time",
    "vs plain loop",
    "peak per waiter",
    "vs plain loop",
]
