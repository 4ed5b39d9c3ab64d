"""Backoff policies: the documented delays, jitter ranges and argument checks."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from tarry import Backoff, Constant, Exponential, Linear


class Fixed(random.Random):
    """A generator whose random() always returns the same value."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_linear_defaults_are_one_second_steps_to_ten_plus_a_second_of_jitter() -> None:
    """Linear(): the n-th sleep is min(n, 10) + U(0, 1)."""
    low, high = Fixed(0.0), Fixed(0.999)
    backoff = Linear()
    assert [backoff.delay(n, 0.0, low) for n in (1, 2, 3, 9, 10, 11, 500)] == [
        1.0,
        2.0,
        3.0,
        9.0,
        10.0,
        10.0,
        10.0,
    ]
    assert backoff.delay(4, 0.0, high) == pytest.approx(4.999)


def test_linear_custom_step_cap_and_no_jitter() -> None:
    """step, cap and jitter are honoured; jitter 0 draws nothing."""
    backoff = Linear(step=0.5, cap=2.0, jitter=0)
    rng = random.Random(1)
    state = rng.getstate()
    assert [backoff.delay(n, 0.0, rng) for n in range(1, 7)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert rng.getstate() == state


def test_linear_with_zero_step_is_just_jitter() -> None:
    """A zero step gives delays of U(0, jitter)."""
    assert Linear(step=0, jitter=2).delay(10**50, 0.0, Fixed(0.5)) == 1.0


def test_exponential_without_jitter_doubles_to_the_cap() -> None:
    """initial * multiplier ** (n - 1), capped."""
    backoff = Exponential(initial=1.0, multiplier=2.0, cap=60.0, jitter="none")
    got = [backoff.delay(n, 0.0, Fixed(0.3)) for n in range(1, 9)]
    assert got == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_exponential_full_and_equal_jitter_ranges() -> None:
    """full is U(0, d); equal is d/2 + U(0, d/2)."""
    full = Exponential(jitter="full")
    equal = Exponential(jitter="equal")
    assert full.delay(4, 0.0, Fixed(0.0)) == 0.0
    assert full.delay(4, 0.0, Fixed(0.5)) == 4.0
    assert equal.delay(4, 0.0, Fixed(0.0)) == 4.0
    assert equal.delay(4, 0.0, Fixed(0.5)) == 6.0


def test_exponential_decorrelated_grows_from_the_previous_delay() -> None:
    """decorrelated is min(cap, U(initial, 3 * previous))."""
    backoff = Exponential(initial=1.0, cap=20.0, jitter="decorrelated")
    assert backoff.delay(1, 0.0, Fixed(0.7)) == 1.0
    assert backoff.delay(2, 4.0, Fixed(0.5)) == 6.5
    assert backoff.delay(3, 100.0, Fixed(1.0)) == 20.0


def test_exponential_edge_shapes() -> None:
    """Multiplier 1 is constant; an initial over the cap is the cap; initial 0 stays 0."""
    assert Exponential(initial=3, multiplier=1, jitter="none").delay(10**9, 0.0, Fixed(0)) == 3.0
    assert Exponential(initial=90, cap=60, jitter="none").delay(1, 0.0, Fixed(0)) == 60.0
    assert Exponential(initial=0, jitter="none").delay(10**9, 0.0, Fixed(0)) == 0.0


@pytest.mark.parametrize(
    "backoff",
    [
        Exponential(initial=5e-324, cap=1e300, jitter="none"),
        Exponential(initial=1e-300, multiplier=1.5, cap=1e10, jitter="none"),
        Exponential(initial=1e-10, multiplier=1e300, cap=1e300, jitter="none"),
        Linear(step=5e-324, cap=1e300, jitter=0),
    ],
)
def test_extreme_parameters_do_not_overflow(backoff: Backoff) -> None:
    """Tiny initial delays, huge caps and multipliers stay finite at every attempt count."""
    previous = 0.0
    for n in (1, 2, 1000, 1800, 10**6, 10**100):
        delay = backoff.delay(n, previous, random.Random(n))
        assert math.isfinite(delay)
        assert delay >= previous
        previous = delay


def test_constant_is_constant() -> None:
    """Constant(s) sleeps s every time, whatever n."""
    assert {Constant(2.5).delay(n, 9.0, Fixed(0.9)) for n in (1, 7, 10**100)} == {2.5}
    assert Constant().seconds == 1.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Linear(step=-1), "step must be finite and non-negative, got -1"),
        (lambda: Linear(cap=math.inf), "cap must be finite and non-negative, got inf"),
        (lambda: Linear(jitter=math.nan), "jitter must be finite and non-negative, got nan"),
        (lambda: Exponential(initial=-0.1), "initial must be finite and non-negative"),
        (lambda: Exponential(multiplier=0.5), "multiplier must be at least 1, got 0.5"),
        (
            lambda: Exponential(jitter="wild"),  # type: ignore[arg-type]
            "jitter must be 'none', 'full', 'equal' or",
        ),
        (lambda: Constant(-2), "seconds must be finite and non-negative, got -2"),
    ],
)
def test_bad_parameters_are_value_errors(make: Callable[[], object], message: str) -> None:
    """Negative, infinite or NaN parameters fail at construction with a short message."""
    with pytest.raises(ValueError, match=f"^{message}"):
        make()


@pytest.mark.parametrize("bad", ["1", None, True])
def test_non_numbers_are_type_errors(bad: object) -> None:
    """Strings, None and booleans are not durations."""
    with pytest.raises(TypeError, match="must be a number, not"):
        Linear(step=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a number, not"):
        Constant(bad)  # type: ignore[arg-type]


def test_policies_are_frozen_values() -> None:
    """Backoffs compare by value, hash, and cannot be changed after construction."""
    assert Linear() == Linear(1, 10, 1)
    assert hash(Exponential()) == hash(Exponential())
    with pytest.raises(AttributeError):
        Linear().step = 2.0  # type: ignore[misc]
    assert isinstance(Constant(1), Backoff)
    assert Linear(step=2).step == 2.0
    assert isinstance(Linear(step=2).step, float)
