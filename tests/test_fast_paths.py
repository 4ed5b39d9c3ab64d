"""The core's shortcuts for the common poll decide exactly what its general path does.

``Machine`` judges a spec of state sets alone with one dict look-up, and computes
tarry's own ``Linear`` backoff in line when there is no hint. A ``Linear`` subclass and
a spec with a predicate take the general path; fed the same facts and the same seed,
both machines must give the same actions, the same errors and leave the generator in
the same state.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tarry
from tarry import Linear, Machine, Policy


@dataclass(frozen=True)
class Entity:
    state: object
    message: object = None
    hint: object = None


class GeneralLinear(Linear):
    """The same backoff, under a type the core does not take a shortcut for."""

    __slots__ = ()


def fast_spec() -> tarry.Spec[Entity]:
    return tarry.Spec(
        "op",
        state=lambda e: e.state,
        message=lambda e: e.message,
        success={"OK"},
        failure={"BAD"},
        retry_after=lambda e: e.hint,
    )


def general_spec() -> tarry.Spec[Entity]:
    return tarry.Spec(
        "op",
        state=lambda e: e.state,
        message=lambda e: e.message,
        success=lambda e: e.state == "OK",
        goal="OK",
        failure={"BAD"},
        retry_after=lambda e: e.hint,
    )


class Transient(Exception):
    def __init__(self, hint: object = None) -> None:
        super().__init__("503")
        self.retry_after = hint


def run(
    machine: Machine[Entity], start_hint: object, steps: list[tuple[str, float, object]]
) -> list[object]:
    """Feed ``steps`` (kind, seconds after the previous, hint) and record what comes back."""
    trace: list[object] = []
    now = 1000.0
    trace.append(machine.start(now, start_hint))  # type: ignore[arg-type]
    for kind, later, hint in steps:
        now += later
        try:
            if kind in ("transient", "fatal"):
                error = Transient(hint) if kind == "transient" else ValueError("fatal")
                action = machine.poll_failed(error, now)
            else:
                action = machine.polled(Entity(kind, f"at {now}", hint), now)
        except Exception as exc:  # an error is part of the trace too
            trace.append((type(exc), str(exc)))
            break
        if isinstance(action, tarry.Fail):
            trace.append(("fail", action.text, action.message))
            break
        if isinstance(action, tarry.TimeOut):
            trace.append(("timeout", action.text, action.attempts, action.elapsed))
            break
        if isinstance(action, tarry.Raise):
            trace.append(("raise", str(action.error)))
            break
        if isinstance(action, tarry.Succeed):
            trace.append(("succeed", action.entity))
            break
        trace.append(action)
    trace.append(("attempts", machine.attempts))
    return trace


seconds = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
hints = st.one_of(st.none(), st.none(), seconds, st.just(math.inf), st.just(-1.0))
kinds = st.sampled_from(["RUN", "RUN", "RUN", None, "transient", "transient", "fatal", "OK", "BAD"])


@settings(max_examples=400, deadline=None)
@example(  # the second delay is exactly the time left: it must be the final poll
    step=1.0,
    cap=10.0,
    jitter=0.0,
    timeout=3.0,
    seed=0,
    start_hint=None,
    steps=[("RUN", 0.0, None), ("RUN", 1.0, None), ("RUN", 2.0, None)],
)
@given(
    step=st.one_of(st.just(0.0), seconds),
    cap=seconds,
    jitter=st.one_of(st.just(0.0), seconds, st.just(1e308)),
    timeout=st.one_of(st.none(), st.floats(min_value=0.0, max_value=500.0)),
    seed=st.integers(0, 2**32),
    start_hint=hints,
    steps=st.lists(st.tuples(kinds, seconds, hints), max_size=30),
)
def test_fast_and_general_paths_agree(
    step: float,
    cap: float,
    jitter: float,
    timeout: float | None,
    seed: int,
    start_hint: object,
    steps: list[tuple[str, float, object]],
) -> None:
    fast_rng, general_rng = random.Random(seed), random.Random(seed)
    fast = Machine(
        fast_spec(),
        Policy(timeout=timeout, backoff=Linear(step, cap, jitter), retry_on=Transient),
        fast_rng,
    )
    general = Machine(
        general_spec(),
        Policy(timeout=timeout, backoff=GeneralLinear(step, cap, jitter), retry_on=Transient),
        general_rng,
    )
    assert run(fast, start_hint, steps) == run(general, start_hint, steps)
    assert fast_rng.getstate() == general_rng.getstate()


def test_the_shortcuts_are_taken() -> None:
    """Guards the test above: it compares two paths only while they differ."""
    fast = Machine(fast_spec(), Policy(), random.Random(1))
    general = Machine(general_spec(), Policy(backoff=GeneralLinear()), random.Random(1))
    assert fast._linear is not None
    assert fast.spec._outcomes is not None
    assert general._linear is None
    assert general.spec._outcomes is None


class OddRandom(random.Random):
    """A generator whose draws are out of range: the core cannot trust what it yields."""

    def random(self) -> float:
        return -5.0


@pytest.mark.parametrize("rng", [OddRandom(1)])
def test_a_generator_of_another_type_has_its_delays_checked(rng: random.Random) -> None:
    m = Machine(fast_spec(), Policy(), rng)
    m.start(0.0)
    with pytest.raises(ValueError, match="backoff gave an invalid delay: -"):
        m.polled(Entity("RUN"), 1.0)
