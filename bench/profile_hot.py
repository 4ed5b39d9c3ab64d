"""Profile tarry's hot path: cProfile and pyinstrument over workloads 1 and 2, and the
cost of each piece of one poll, timed alone.

    python bench/profile_hot.py            # K = 1000
    python bench/profile_hot.py --k 50 --top 15

pyinstrument is optional (``nox -s bench`` installs it); without it its report is
skipped with a note.
"""

from __future__ import annotations

import argparse
import contextvars
import cProfile
import io
import pstats
import random
import sys
import timeit
from collections.abc import Callable
from typing import Any

from _common import Entity, Operation, Sleeps
from overhead_async import Yield, run_on
from overhead_async import tarry_wait as tarry_async_wait
from overhead_sync import SPEC, NoopClock

import tarry


def sync_wait(k: int) -> Callable[[], object]:
    op = Operation(k, Entity("PENDING", "starting"), Entity("RUNNING", ""))
    clock = NoopClock(Sleeps())

    def run() -> object:
        op.begin()
        return tarry.wait(op.poll, SPEC, clock=clock)

    return run


def async_wait(k: int, library: str) -> Callable[[], object]:
    op = Operation(k, Entity("PENDING", "starting"), Entity("RUNNING", ""))

    def run() -> object:
        async def main() -> object:
            op.begin()
            return await tarry_async_wait(op, Yield(library))

        return run_on(library, main)

    return run


def cprofile(title: str, job: Callable[[], object], top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    job()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n#### cProfile: {title}\n{out.getvalue()}")


def pyinstrument(title: str, job: Callable[[], object]) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print(f"\n#### pyinstrument: {title}: not installed (nox -s bench installs it)")
        return
    profiler = Profiler(interval=0.0001)
    profiler.start()
    job()
    profiler.stop()
    print(f"\n#### pyinstrument: {title}")
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def pieces() -> list[tuple[str, float]]:
    """Nanoseconds for each thing a poll may cost, timed alone (best of 5).

    The first line is the core's whole share of one poll as tarry's drivers ask for it:
    ``Machine._polled`` on a still-going entity with no deadline, which the machine
    accepts forever; the second is the public ``polled``, which also builds the
    ``PollAfter``.
    """
    from tarry import _core

    var: contextvars.ContextVar[float | None] = contextvars.ContextVar("budget", default=None)
    entity = Entity("PENDING", "starting")
    rng = random.Random(1)
    linear = tarry.Linear()
    machine = tarry.Machine(SPEC, tarry.Policy(timeout=None), rng)
    machine.start(0.0)

    class Plain:
        __slots__ = ("delay", "final", "request_timeout")

        def __init__(self, delay: float, request_timeout: float | None, final: bool) -> None:
            self.delay = delay
            self.request_timeout = request_timeout
            self.final = final

    def set_reset() -> None:
        var.reset(var.set(1.0))

    cases: dict[str, Callable[[], object]] = {
        "Machine._polled, still going (the core's share of a driver's poll)": lambda: (
            machine._polled(entity, 1.0)
        ),
        "Machine.polled, still going (the same, answered with a PollAfter)": lambda: machine.polled(
            entity, 1.0
        ),
        "empty Python call (reference)": lambda: None,
        "PollAfter(delay, budget, final)": lambda: tarry.PollAfter(1.0, 2.0, False),
        "plain slots class, same three fields": lambda: Plain(1.0, 2.0, False),
        "Linear().delay(n, previous, rng)": lambda: linear.delay(3, 2.0, rng),
        "the spec's state accessor (a lambda)": lambda: SPEC.state(entity),
        "Spec.read_message (accessor + checks; inlined in the core)": lambda: SPEC.read_message(
            entity
        ),
        "TRANSITIONS[phase, event] (start and end only)": lambda: _core.TRANSITIONS[
            tarry.Phase.WAITING, tarry.Event.STILL_GOING
        ],
        "ContextVar set + reset (the drivers set once per wait)": set_reset,
        "random.Random() (a wait's own generator)": random.Random,
    }
    poll_after = getattr(_core, "_poll_after", None)
    if poll_after is not None:
        cases["_poll_after(PollAfter, fields) (the core's fast build)"] = lambda: poll_after(
            tarry.PollAfter, (1.0, 2.0, False)
        )
    out = []
    for name, fn in cases.items():
        number = 2000 if "random.Random()" in name else 100_000
        best = min(timeit.repeat(fn, number=number, repeat=5)) / number
        out.append((name, best * 1e9))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="profile tarry's hot path")
    parser.add_argument("--k", type=int, default=1000, help="polls before the operation is done")
    parser.add_argument("--top", type=int, default=20, help="functions shown by cProfile")
    args = parser.parse_args(argv)
    k = args.k
    jobs: list[tuple[str, Callable[[], Any]]] = [
        (f"workload 1, tarry.wait, K={k}", sync_wait(k)),
        (f"workload 2, tarry.async_wait under asyncio, K={k}", async_wait(k, "asyncio")),
        (f"workload 2, tarry.async_wait under trio, K={k}", async_wait(k, "trio")),
    ]
    for title, job in jobs:
        job()  # warm up imports and caches
        cprofile(title, job, args.top)
        pyinstrument(title, job)
    print("\n#### One poll's pieces, each timed alone (best of 5)")
    timed = pieces()
    empty = dict(timed)["empty Python call (reference)"]
    for name, ns in timed:
        print(f"{ns:8.0f} ns  {ns / empty:5.1f} empty calls  {name}")

    return 0


if __name__ == "__main__":
    sys.exit(main())
