"""Workload 6: how many polls each default schedule spends, and how late it notices.

Operations finish at times drawn log-uniformly from 1 s to 1 h (seeded). Every wait
polls at t=0 and then follows its schedule until a poll at or after the finish time sees
it done; no deadline cuts the schedule short, so all policies are compared on the same
operations. The share of operations whose detection falls past each library's default
time limit is reported beside them.

tarry's policies run through ``tarry.wait`` on a ``FakeClock``, so the real core decides
every delay. The SDKs' schedules are re-stated from their source:

- databricks-sdk ``wait_get_*``: sleep ``min(attempt, 10) + U(0, 1)`` s, attempt 1, 2, ...;
  20-minute default timeout.
- google-api-core ``DEFAULT_POLLING``: sleep ``U(0, d)`` with ``d`` starting at 1 s,
  multiplied by 1.5 after each sleep, capped at 20 s; 900 s default timeout.
- botocore waiters: a fixed delay, 15 s (e.g. EC2 InstanceRunning, 40 attempts = 10 min)
  or 30 s (e.g. CloudFormation StackCreateComplete, 120 attempts = 1 h).
- azure-core ``LROBasePolling``: 30 s between polls unless the reply carries Retry-After
  (not modelled here: the simulated server sends none); no limit at all.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import tarry
from tarry.testing import FakeClock

SEED = 20261203


@dataclass
class Outcome:
    polls: int
    lag: float  # seconds between the finish and the poll that saw it


Schedule = Callable[[float, random.Random], Outcome]


def _restated(next_sleep: Callable[[int, random.Random], float]) -> Schedule:
    """A schedule given as 'the n-th sleep' (n from 1), polling first at t=0."""

    def simulate(finish: float, rng: random.Random) -> Outcome:
        t, polls, n = 0.0, 0, 0
        while True:
            polls += 1
            if t >= finish:
                return Outcome(polls, t - finish)
            n += 1
            t += next_sleep(n, rng)

    return simulate


def databricks_sleep(n: int, rng: random.Random) -> float:
    return min(n, 10) + rng.random()


def google_schedule() -> Schedule:
    def simulate(finish: float, rng: random.Random) -> Outcome:
        t, polls, cap = 0.0, 0, 1.0
        while True:
            polls += 1
            if t >= finish:
                return Outcome(polls, t - finish)
            t += rng.uniform(0.0, cap)
            cap = min(cap * 1.5, 20.0)

    return simulate


def _fixed(seconds: float) -> Schedule:
    return _restated(lambda n, rng: seconds)


SPEC: tarry.Spec[bool] = tarry.Spec(name="operation", state=lambda done: done, success={True})


def tarry_schedule(backoff: tarry.Backoff) -> Schedule:
    def simulate(finish: float, rng: random.Random) -> Outcome:
        clock = FakeClock()
        polls = 0

        def poll() -> bool:
            nonlocal polls
            polls += 1
            return clock.now() >= finish

        tarry.wait(poll, SPEC, timeout=None, backoff=backoff, clock=clock, rng=rng)
        return Outcome(polls, clock.now() - finish)

    return simulate


# name -> (schedule, default time limit in seconds or None)
POLICIES: dict[str, tuple[Schedule, float | None]] = {
    "databricks-sdk: linear 1-10 s + U(0,1)": (_restated(databricks_sleep), 1200.0),
    "google-api-core: U(0,d), d 1 s x1.5 to 20 s": (google_schedule(), 900.0),
    "botocore waiter: fixed 15 s": (_fixed(15.0), 600.0),
    "botocore waiter: fixed 30 s": (_fixed(30.0), 3600.0),
    "azure-core: 30 s (no Retry-After)": (_fixed(30.0), None),
    "tarry Linear() (default)": (tarry_schedule(tarry.Linear()), 1200.0),
    "tarry Exponential(jitter='full')": (tarry_schedule(tarry.Exponential(jitter="full")), 1200.0),
    "tarry Exponential(jitter='equal')": (
        tarry_schedule(tarry.Exponential(jitter="equal")),
        1200.0,
    ),
    "tarry Exponential(jitter='decorrelated')": (
        tarry_schedule(tarry.Exponential(jitter="decorrelated")),
        1200.0,
    ),
    "tarry Exponential(jitter='none')": (tarry_schedule(tarry.Exponential(jitter="none")), 1200.0),
    "tarry Constant() (1 s)": (tarry_schedule(tarry.Constant()), 1200.0),
    "tarry Constant(15)": (tarry_schedule(tarry.Constant(15.0)), 1200.0),
}


def finish_times(n: int, seed: int = SEED) -> list[float]:
    rng = random.Random(seed)
    low, high = math.log(1.0), math.log(3600.0)
    return [math.exp(rng.uniform(low, high)) for _ in range(n)]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def run(n: int) -> list[list[str]]:
    finishes = finish_times(n)
    rows = []
    for name, (schedule, limit) in POLICIES.items():
        rng = random.Random(SEED + 1)
        outcomes = [schedule(finish, rng) for finish in finishes]
        lags = [o.lag for o in outcomes]
        if limit is None:
            past = "none"
        else:
            late = sum(1 for f, o in zip(finishes, outcomes, strict=True) if f + o.lag > limit)
            past = f"{late / n:.0%}"
        rows.append(
            [
                name,
                f"{sum(o.polls for o in outcomes) / n:.1f}",
                f"{sum(lags) / n:.2f} s",
                f"{_p95(lags):.2f} s",
                "none" if limit is None else f"{limit:.0f} s",
                past,
            ]
        )
    return rows


HEADER = [
    "policy",
    "polls per operation",
    "mean lag",
    "p95 lag",
    "default limit",
    "seen only past the limit",
]
