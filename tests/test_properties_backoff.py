"""Property tests of the backoff policies at any attempt count, up to 10**100."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tarry import Backoff, Constant, Exponential, Linear

EXAMPLES = settings(max_examples=400, deadline=None)

attempts = st.one_of(st.integers(1, 200), st.integers(1, 10**100))
seconds = st.floats(0, 1e300, allow_subnormal=True)
small = st.floats(0, 1e6)
previous = st.floats(0, 1e308)
seeds = st.integers(0, 2**64)
jitters = st.sampled_from(["none", "full", "equal", "decorrelated"])

linears = st.builds(Linear, step=seconds, cap=seconds, jitter=small)
exponentials = st.builds(
    Exponential,
    initial=seconds,
    multiplier=st.floats(1, 1e300),
    cap=seconds,
    jitter=jitters,
)
constants = st.builds(Constant, seconds)
any_backoff = st.one_of(linears, exponentials, constants)


def _ok(delay: float) -> None:
    assert isinstance(delay, float)
    assert math.isfinite(delay)
    assert delay >= 0


@EXAMPLES
@given(backoff=any_backoff, n=attempts, prev=previous, seed=seeds)
def test_any_backoff_gives_a_finite_non_negative_delay(
    backoff: Backoff, n: int, prev: float, seed: int
) -> None:
    """No overflow, NaN or negative delay for any policy, attempt count or previous delay."""
    _ok(backoff.delay(n, prev, random.Random(seed)))


@EXAMPLES
@given(backoff=linears, n=attempts, seed=seeds)
def test_linear_is_within_base_and_base_plus_jitter(backoff: Linear, n: int, seed: int) -> None:
    """Linear: min(n * step, cap) <= delay <= min(n * step, cap) + jitter."""
    base = min(n * backoff.step, backoff.cap)
    delay = backoff.delay(n, 0.0, random.Random(seed))
    assert base <= delay <= base + backoff.jitter


@EXAMPLES
@given(step=seconds, cap=seconds, n=attempts, k=st.integers(0, 10**100), seed=seeds)
def test_linear_without_jitter_is_monotone_up_to_the_cap(
    step: float, cap: float, n: int, k: int, seed: int
) -> None:
    """The non-random part of Linear never shrinks as n grows and never passes the cap."""
    backoff = Linear(step=step, cap=cap, jitter=0)
    rng = random.Random(seed)
    first, later = backoff.delay(n, 0.0, rng), backoff.delay(n + k, 0.0, rng)
    assert first <= later <= cap


@EXAMPLES
@given(backoff=exponentials, n=attempts, prev=previous, seed=seeds)
def test_exponential_jitter_ranges(backoff: Exponential, n: int, prev: float, seed: int) -> None:
    """Each jitter stays in its documented range around the un-jittered delay."""
    grown = Exponential(backoff.initial, backoff.multiplier, backoff.cap, "none").delay(
        n, prev, random.Random(0)
    )
    delay = backoff.delay(n, prev, random.Random(seed))
    low = min(backoff.initial, backoff.cap)
    if backoff.jitter == "none":
        assert low <= delay == grown <= backoff.cap
    elif backoff.jitter == "full":
        assert 0 <= delay <= grown
    elif backoff.jitter == "equal":
        assert grown / 2 <= delay <= grown
    else:
        assert low <= delay <= backoff.cap
        assert delay <= max(3 * prev, low)


@EXAMPLES
@given(
    initial=seconds,
    multiplier=st.floats(1, 1e300),
    cap=seconds,
    n=attempts,
    k=st.integers(0, 10**100),
)
def test_exponential_without_jitter_is_monotone_up_to_the_cap(
    initial: float, multiplier: float, cap: float, n: int, k: int
) -> None:
    """The non-random part of Exponential never shrinks as n grows and never passes the cap."""
    backoff = Exponential(initial, multiplier, cap, "none")
    rng = random.Random(0)
    first, later = backoff.delay(n, 0.0, rng), backoff.delay(n + k, 0.0, rng)
    assert min(initial, cap) <= first <= later <= cap


@EXAMPLES
@given(
    initial=st.floats(1e-3, 1e3),
    multiplier=st.floats(1, 4),
    cap=st.floats(0, 1e6),
    n=st.integers(1, 60),
)
def test_exponential_matches_its_formula_in_the_ordinary_range(
    initial: float, multiplier: float, cap: float, n: int
) -> None:
    """For ordinary values the delay is min(initial * multiplier ** (n - 1), cap)."""
    delay = Exponential(initial, multiplier, cap, "none").delay(n, 0.0, random.Random(0))
    expected = min(initial * multiplier ** (n - 1), cap)
    assert math.isclose(delay, expected, rel_tol=1e-9)


@EXAMPLES
@given(value=seconds, n=attempts, prev=previous, seed=seeds)
def test_constant_is_its_value(value: float, n: int, prev: float, seed: int) -> None:
    """Constant ignores n, the previous delay and the generator."""
    assert Constant(value).delay(n, prev, random.Random(seed)) == value


@EXAMPLES
@given(backoff=any_backoff, ns=st.lists(attempts, min_size=1, max_size=20), seed=seeds)
def test_seeded_generators_give_the_same_delays(backoff: Backoff, ns: list[int], seed: int) -> None:
    """Two generators with the same seed give the same delays, call after call."""
    a, b = random.Random(seed), random.Random(seed)
    prev_a = prev_b = 0.0
    for n in ns:
        prev_a, prev_b = backoff.delay(n, prev_a, a), backoff.delay(n, prev_b, b)
        assert prev_a == prev_b
