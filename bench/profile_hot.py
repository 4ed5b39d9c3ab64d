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
import logging
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
    """Nanoseconds for each thing the sync driver and the core do once per poll."""
    from tarry._core import TRANSITIONS, Event, Phase, PollAfter, _clean_hint

    var: contextvars.ContextVar[float | None] = contextvars.ContextVar("budget", default=None)
    entity = Entity("PENDING", "starting")
    rng = random.Random(1)
    linear = tarry.Linear()
    log = logging.getLogger("tarry")

    class Plain:
        __slots__ = ("delay", "final", "request_timeout")

        def __init__(self, delay: float, request_timeout: float | None, final: bool) -> None:
            self.delay = delay
            self.request_timeout = request_timeout
            self.final = final

    def set_reset() -> None:
        var.reset(var.set(1.0))

    cases: dict[str, Callable[[], object]] = {
        "empty call (reference)": lambda: None,
        "ContextVar set + reset (request budget)": set_reset,
        "TRANSITIONS[(phase, event)] (two Enum.__hash__ calls)": lambda: TRANSITIONS[
            Phase.WAITING, Event.STILL_GOING
        ],
        "PollAfter(...) (frozen slots dataclass)": lambda: PollAfter(1.0, 2.0, False),
        "plain slots class, same three fields": lambda: Plain(1.0, 2.0, False),
        "Linear().delay(n, previous, rng)": lambda: linear.delay(3, 2.0, rng),
        "_clean_hint(None, cap)": lambda: _clean_hint(None, 300.0),
        "Spec.read_state (accessor + hash)": lambda: SPEC.read_state(entity),
        "Spec.judge (sets, predicates, pending)": lambda: SPEC.judge(entity, "PENDING"),
        "Spec.read_message (accessor + str)": lambda: SPEC.read_message(entity),
        "Spec.read_retry_after (none set)": lambda: SPEC.read_retry_after(entity),
        "logger.isEnabledFor(DEBUG)": lambda: log.isEnabledFor(logging.DEBUG),
        "random.Random() (per wait when rng is None)": random.Random,
    }
    out = []
    for name, fn in cases.items():
        number = 2000 if "random.Random()" in name else 200_000
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
    for name, ns in pieces():
        print(f"{ns:8.0f} ns  {name}")

    return 0


if __name__ == "__main__":
    sys.exit(main())
