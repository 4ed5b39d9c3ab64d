"""Backoff policies: small pure objects that say how long the n-th sleep is.

Each policy is a frozen value with one method, ``delay(n, previous, rng)``: ``n`` counts
sleeps from 1, ``previous`` is the delay actually used last time (0.0 before the first)
and ``rng`` is the ``random.Random`` the caller injected, so a seeded generator makes
every delay reproducible. Delays are finite and non-negative for every ``n``, however
large: the attempt count is clamped before any power or product is taken.
"""

from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = ["Backoff", "Constant", "Exponential", "Linear"]

Jitter = Literal["none", "full", "equal", "decorrelated"]

_LARGEST = sys.float_info.max


@runtime_checkable
class Backoff(Protocol):
    """Anything with this method can be a backoff policy."""

    def delay(self, n: int, previous: float, rng: random.Random) -> float:
        """Seconds to sleep before the next poll, for the n-th sleep (n >= 1)."""
        ...


def _check(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond any float
        finite = False
    if not finite or value < 0:
        raise ValueError(f"{name} must be finite and non-negative, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Linear:
    """The n-th sleep is ``min(n * step, cap) + U(0, jitter)``.

    The default policy, as in the Databricks SDK: 1 s, 2 s, ... up to 10 s, each plus up
    to a second of jitter, so many waiters started together drift apart.
    """

    step: float = 1.0
    cap: float = 10.0
    jitter: float = 1.0
    _capped_from: float = field(init=False, repr=False, compare=False)
    _top: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("step", "cap", "jitter"):
            object.__setattr__(self, name, _check(name, getattr(self, name)))
        # From this n on the delay is the cap (0 with no step). ``delay`` compares n with
        # it before multiplying, and it is finite, so a huge n never overflows a float.
        capped_from = min(self.cap / self.step, _LARGEST) if self.step else 0.0
        object.__setattr__(self, "_capped_from", capped_from)
        object.__setattr__(self, "_top", self.cap if self.step else 0.0)

    def delay(self, n: int, previous: float, rng: random.Random) -> float:
        base = self._top if n >= self._capped_from else n * self.step
        jitter = self.jitter
        if not jitter:
            return base
        delay = base + rng.random() * jitter
        # Two finite halves can still add up past the largest float.
        return delay if delay <= _LARGEST else _LARGEST


@dataclass(frozen=True, slots=True)
class Exponential:
    """The n-th sleep grows as ``initial * multiplier ** (n - 1)``, capped, then jittered.

    ``jitter`` picks how randomness spreads the delay ``d`` (names as in the AWS
    architecture blog's study of backoff):

    - ``"full"``: ``U(0, d)``;
    - ``"equal"``: ``d / 2 + U(0, d / 2)``;
    - ``"decorrelated"``: ``min(cap, U(initial, 3 * previous))``, growing from the
      previous delay rather than from ``n``;
    - ``"none"``: exactly ``d``.
    """

    initial: float = 1.0
    multiplier: float = 2.0
    cap: float = 60.0
    jitter: Jitter = "full"

    def __post_init__(self) -> None:
        for name in ("initial", "multiplier", "cap"):
            object.__setattr__(self, name, _check(name, getattr(self, name)))
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be at least 1, got {self.multiplier!r}")
        if self.jitter not in ("none", "full", "equal", "decorrelated"):
            raise ValueError(
                f"jitter must be 'none', 'full', 'equal' or 'decorrelated', got {self.jitter!r}"
            )

    def _grown(self, n: int) -> float:
        if self.initial == 0 or self.initial >= self.cap:
            return min(self.initial, self.cap)
        if self.multiplier == 1:
            return self.initial
        # Past this many steps the product is over the cap: never compute it. (A
        # difference of logs, since cap / initial itself may overflow to inf.)
        m = self.multiplier
        steps_to_cap = math.log(self.cap, m) - math.log(self.initial, m)
        if n - 1 >= steps_to_cap:
            return self.cap
        try:
            grown = self.initial * m ** (n - 1)
        except OverflowError:  # a tiny initial times a power beyond the float range
            grown = math.exp(math.log(self.initial) + (n - 1) * math.log(m))
        return min(grown, self.cap)

    def delay(self, n: int, previous: float, rng: random.Random) -> float:
        if self.jitter == "decorrelated":
            low = min(self.initial, self.cap)
            high = min(max(3.0 * previous, low), self.cap)
            return low + rng.random() * (high - low)
        grown = self._grown(n)
        if self.jitter == "full":
            return rng.random() * grown
        if self.jitter == "equal":
            return grown / 2 + rng.random() * (grown / 2)
        return grown


@dataclass(frozen=True, slots=True)
class Constant:
    """Every sleep is the same length: the AWS waiters' habit (15 s or 30 s)."""

    seconds: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", _check("seconds", self.seconds))

    def delay(self, n: int, previous: float, rng: random.Random) -> float:
        return self.seconds
