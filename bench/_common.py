"""What every workload shares: the in-memory operation, counted sleeps, interleaved
timing and the markdown tables.

Machines here are shared and noisy, so no figure is trusted alone: contenders run
round-robin in one process (each round in a rotated order), each sample is the median of
its rounds, and results are reported as ratios to a floor measured in the same rounds.
"""

from __future__ import annotations

import gc
import importlib.metadata
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class ContenderMissing(Exception):
    """A contender's package is not installed (the quick mode tolerates it)."""


class BenchCheckFailed(AssertionError):
    """A contender did not poll or sleep as many times as the workload requires."""


class Entity:
    """One polled reply: a state and a human message, like a cluster's details."""

    __slots__ = ("state", "state_message")

    def __init__(self, state: Any, message: str) -> None:
        self.state = state
        self.state_message = message


def make_spec(t: Any) -> Any:
    """The cluster spec, built by the tarry package ``t`` (the installed one or a candidate)."""
    return t.Spec(
        name="cluster",
        state=lambda e: e.state,
        message=lambda e: e.state_message,
        success={"RUNNING"},
        failure={"ERROR", "TERMINATED"},
    )


class Operation:
    """An operation that is still going for ``k`` polls, then done.

    ``pending`` and ``done`` are the replies handed out (shared objects, so no contender
    pays for building them). ``begin()`` starts a new wait on the same operation.
    """

    __slots__ = ("done", "k", "pending", "polls", "total_polls")

    def __init__(self, k: int, pending: Any, done: Any) -> None:
        self.k = k
        self.pending = pending
        self.done = done
        self.polls = 0
        self.total_polls = 0

    def begin(self) -> None:
        self.total_polls += self.polls
        self.polls = 0

    def poll(self, *args: Any, **kwargs: Any) -> Any:
        self.polls += 1
        return self.pending if self.polls <= self.k else self.done

    async def apoll(self) -> Any:
        self.polls += 1
        return self.pending if self.polls <= self.k else self.done

    def finish(self) -> int:
        """Close the books and return every poll made."""
        self.begin()
        return self.total_polls


class Sleeps:
    """A sleep that returns at once and counts its calls."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def sleep(self, seconds: float) -> None:
        self.count += 1


def check_counts(name: str, waits: int, k: int, polls: int, sleeps: int) -> None:
    """Fail loudly unless every wait polled k+1 times and slept k times (k+1 for a loop
    that also sleeps 0 s before its first poll, as tarry's drivers do)."""
    if polls != waits * (k + 1):
        raise BenchCheckFailed(
            f"{name}: expected {waits * (k + 1)} polls over {waits} waits, got {polls}"
        )
    if not waits * k <= sleeps <= waits * (k + 1):
        raise BenchCheckFailed(
            f"{name}: expected {waits * k} to {waits * (k + 1)} sleeps over {waits} waits,"
            f" got {sleeps}"
        )


@contextmanager
def patched(target: Any, name: str, value: Any) -> Iterator[None]:
    """Set ``target.name`` to ``value`` for the duration, then put it back."""
    old = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, old)


# ---------------------------------------------------------------------------------------
# Interleaved timing

Sample = Callable[[int], float]
"""Runs ``n`` waits and returns the seconds per poll."""


@dataclass
class Timed:
    name: str
    per_poll: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.per_poll)


def calibrate(sample: Sample, target: float) -> int:
    """How many waits one sample needs to last about ``target`` seconds (0: one)."""
    if target <= 0:
        return 1
    n = 1
    while True:
        start = time.perf_counter()
        sample(n)
        spent = time.perf_counter() - start
        if spent >= target or n >= 1 << 20:
            return max(1, int(n * target / max(spent, 1e-9)))
        n *= 4 if spent < target / 8 else 2


def interleave(samples: dict[str, Sample], rounds: int, target: float) -> dict[str, Timed]:
    """Time every contender ``rounds`` times, round-robin, rotating the order each round."""
    sizes = {name: calibrate(sample, target) for name, sample in samples.items()}
    results = {name: Timed(name) for name in samples}
    names = list(samples)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            gc.collect()
            results[name].per_poll.append(samples[name](sizes[name]))
    return results


# ---------------------------------------------------------------------------------------
# Reporting


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def fmt_ns(seconds: float) -> str:
    return f"{seconds * 1e9:,.0f} ns"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


@dataclass
class Section:
    """One workload's result: a title, a note, a table and the goals it decides."""

    title: str
    note: str
    header: list[str]
    rows: list[list[str]]
    goals: list[tuple[str, bool, str]] = field(default_factory=list)
