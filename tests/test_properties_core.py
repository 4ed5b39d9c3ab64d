"""Property tests of the core: every (phase x input) pair, and a rule-based machine that
drives it on a fake clock and checks the timing rules of DESIGN.md as invariants."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

import tarry
from tarry import (
    TRANSITIONS,
    Constant,
    Event,
    Exponential,
    Fail,
    Linear,
    Machine,
    Phase,
    Policy,
    PollAfter,
    Raise,
    Succeed,
    TimeOut,
    UsageError,
)


@dataclass(frozen=True)
class Entity:
    state: str | None
    hint: object = None


class Transient(Exception):
    def __init__(self, hint: object = None) -> None:
        super().__init__("503 unavailable")
        self.retry_after = hint


class Fatal(Exception):
    pass


SPEC: tarry.Spec[Entity] = tarry.Spec(
    "op",
    state=lambda e: e.state,
    success={"OK"},
    failure={"BAD"},
    pending={"WAIT"},
    retry_after=lambda e: e.hint,  # type: ignore[arg-type,return-value]
)

ENTITIES = {
    "success": Entity("OK"),
    "failure": Entity("BAD"),
    "unexpected": Entity("ODD"),
    "still going": Entity("WAIT"),
    "unknown": Entity(None),
}
INPUTS = ["start", *ENTITIES, "transient", "fatal"]

# -- (phase x input) -------------------------------------------------------------------------


def machine_in(phase: Phase, timeout: float | None) -> Machine[Entity]:
    """A machine brought into ``phase`` by the public calls (timeout must allow it)."""
    m = Machine(SPEC, Policy(timeout=timeout, retry_on=Transient), random.Random(0))
    if phase is Phase.NEW:
        return m
    m.start(0.0)
    if phase is Phase.SUCCEEDED:
        m.polled(ENTITIES["success"], 0.0)
    elif phase is Phase.FAILED:
        m.polled(ENTITIES["failure"], 0.0)
    elif phase is Phase.ERRORED:
        m.poll_failed(Fatal(), 0.0)
    elif phase is Phase.TIMED_OUT:
        assert timeout is not None
        m.polled(ENTITIES["still going"], timeout)
    assert m.phase is phase
    return m


def expected_event(kind: str, late: bool) -> Event:
    """The event an input means, given whether the machine is out of time."""
    if kind == "start":
        return Event.START
    if kind == "fatal":
        return Event.FATAL_ERROR
    if kind in ("success",):
        return Event.SUCCESS
    if kind in ("failure", "unexpected"):
        return Event.FAILURE
    if late:
        return Event.OUT_OF_TIME
    return Event.TRANSIENT_ERROR if kind == "transient" else Event.STILL_GOING


ACTION_OF = {
    Event.START: PollAfter,
    Event.STILL_GOING: PollAfter,
    Event.TRANSIENT_ERROR: PollAfter,
    Event.SUCCESS: Succeed,
    Event.FAILURE: Fail,
    Event.OUT_OF_TIME: TimeOut,
    Event.FATAL_ERROR: Raise,
}


def feed(m: Machine[Entity], kind: str, now: float) -> tarry.Action:
    if kind == "start":
        return m.start(now)
    if kind == "transient":
        return m.poll_failed(Transient(), now)
    if kind == "fatal":
        return m.poll_failed(Fatal(), now)
    return m.polled(ENTITIES[kind], now)


def check_pair(phase: Phase, kind: str, timeout: float | None, now: float) -> None:
    m = machine_in(phase, timeout)
    attempts = m.attempts
    late = timeout is not None and (now >= timeout or timeout == 0)
    event = expected_event(kind, late)
    if (phase, event) not in TRANSITIONS:
        with pytest.raises(UsageError):
            feed(m, kind, now)
        assert m.phase is phase
        assert m.attempts == attempts
        return
    action = feed(m, kind, now)
    assert m.phase is TRANSITIONS[phase, event]
    assert type(action) is ACTION_OF[event]
    assert m.attempts == attempts + (kind != "start")


def _timeout_for(phase: Phase, timeout: float | None) -> float | None:
    return 30.0 if phase is Phase.TIMED_OUT and timeout is None else timeout


@pytest.mark.parametrize(("phase", "kind"), list(itertools.product(Phase, INPUTS)))
def test_every_phase_and_input_pair(phase: Phase, kind: str) -> None:
    """Each (phase, input) pair moves as TRANSITIONS says, or is a UsageError."""
    for timeout, now in [(30.0, 1.0), (30.0, 30.0), (None, 1e9), (0.0, 0.0)]:
        check_pair(phase, kind, _timeout_for(phase, timeout), now)


@settings(max_examples=300, deadline=None)
@given(
    phase=st.sampled_from(Phase),
    kind=st.sampled_from(INPUTS),
    timeout=st.none() | st.just(0.0) | st.floats(0, 1e6),
    now=st.floats(0, 2e6),
)
def test_every_phase_and_input_pair_at_any_time(
    phase: Phase, kind: str, timeout: float | None, now: float
) -> None:
    """The same holds for arbitrary timeouts and times of the input."""
    if phase is Phase.TIMED_OUT:
        assume(timeout is not None)
    check_pair(phase, kind, timeout, now)


# -- the rule-based machine ----------------------------------------------------------------------

hints = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 500),
    st.integers(-(10**6), 10**12),
    st.sampled_from([math.nan, -1.0, math.inf, -math.inf, 10**400, 1e308]),
)
backoffs = st.one_of(
    st.builds(
        Linear,
        step=st.floats(0, 50),
        cap=st.floats(0, 200),
        jitter=st.floats(0, 5),
    ),
    st.builds(
        Exponential,
        initial=st.floats(0, 10),
        multiplier=st.floats(1, 10),
        cap=st.floats(0, 300),
        jitter=st.sampled_from(["none", "full", "equal", "decorrelated"]),
    ),
    st.builds(Constant, st.floats(0, 100)),
)
timeouts = st.one_of(st.none(), st.just(0.0), st.floats(0, 5000), st.integers(0, 10**6))
durations = st.one_of(st.just(0.0), st.floats(0, 200))


def clean(hint: object, cap: float) -> float | None:
    """The model of a usable hint: finite-or-huge non-negative numbers, clamped to cap."""
    if hint is None or isinstance(hint, bool) or not isinstance(hint, (int, float)):
        return None
    if isinstance(hint, int):
        return (
            min(float(hint), cap) if hint >= 0 and hint < 2**1000 else (None if hint < 0 else cap)
        )
    if math.isnan(hint) or hint < 0:
        return None
    return min(hint, cap)


def ulps(x: float) -> float:
    return 1e-9 * max(1.0, abs(x))


class CoreRules(RuleBasedStateMachine):
    """Drive one Machine like a driver would: sleep as told, poll, report, repeat."""

    m: Machine[Entity]

    @initialize(
        timeout=timeouts,
        backoff=backoffs,
        max_retry_after=st.floats(0, 1000),
        floor=st.floats(0, 5),
        start=st.floats(0, 1e6),
        hint=hints,
        seed=st.integers(0, 2**32),
    )
    def begin(
        self,
        timeout: float | None,
        backoff: tarry.Backoff,
        max_retry_after: float,
        floor: float,
        start: float,
        hint: object,
        seed: int,
    ) -> None:
        policy = Policy(
            timeout=timeout,
            backoff=backoff,
            retry_on=Transient,
            max_retry_after=max_retry_after,
            request_floor=floor,
        )
        self.m = Machine(SPEC, policy, random.Random(seed))
        self.timeout = None if timeout is None else float(timeout)
        self.cap = max_retry_after
        self.floor = floor
        self.start = self.now = start
        self.deadline = None if timeout is None else start + float(timeout)
        self.attempts = 0
        self.finals = 0
        self.done = False
        self.last: tarry.Action = self.m.start(start, retry_after=hint)  # type: ignore[arg-type]
        event(f"timeout: {'none' if timeout is None else 'zero' if timeout == 0 else 'some'}")
        self.check_poll_after(self.last, hint)

    # -- helpers ----------------------------------------------------------------------------

    def check_poll_after(self, action: tarry.Action, hint: object) -> None:
        assert isinstance(action, PollAfter)
        delay, deadline = action.delay, self.deadline
        assert math.isfinite(delay)
        assert delay >= 0
        if deadline is None:
            assert action.request_timeout is None
            assert not action.final
        else:
            left = deadline - self.now
            # Rule 2: a sleep never ends past the deadline.
            assert self.now + delay <= deadline + ulps(deadline)
            assert delay <= max(left, 0.0)
            # The final poll is the one whose sleep was cut to the deadline.
            if action.final:
                assert delay == max(left, 0.0)
                self.finals += 1
                event("final poll scheduled")
            else:
                assert delay < left
            # Rule 5: the request may use the time left, but at least the floor.
            assert action.request_timeout is not None
            assert action.request_timeout >= self.floor
            expected = max(self.floor, left - delay)
            assert abs(action.request_timeout - expected) <= ulps(expected)
        # Rule 4: a usable hint raises the delay to at least its clamped value.
        cleaned = clean(hint, self.cap)
        if cleaned is not None:
            limit = cleaned if deadline is None else min(cleaned, max(deadline - self.now, 0.0))
            assert delay >= limit - ulps(limit)
        assert self.finals <= 1

    def sleep_and_poll(self, duration: float) -> tuple[PollAfter, float]:
        """Sleep as told (the poll starts), then spend ``duration`` inside the poll."""
        previous = self.last
        assert isinstance(previous, PollAfter)
        poll_start = self.now + previous.delay
        if self.deadline is not None:
            # No poll starts after the deadline.
            assert poll_start <= self.deadline + ulps(self.deadline)
        self.now = poll_start + duration
        self.attempts += 1
        return previous, poll_start

    def after_poll(self, previous: PollAfter, action: tarry.Action, hint: object) -> None:
        out_of_time = self.deadline is not None and (self.now >= self.deadline or previous.final)
        if isinstance(action, TimeOut):
            # A timeout only when time is up: at or past the deadline, or after the final poll.
            assert out_of_time
            event("timed out after the final poll" if previous.final else "timed out: slow poll")
            assert action.attempts == self.attempts
            assert action.elapsed == pytest.approx(self.now - self.start, abs=1e-6)
            assert action.timeout == self.timeout
            self.done = True
        else:
            assert not out_of_time
            self.check_poll_after(action, hint)
        self.last = action

    # -- rules while waiting ----------------------------------------------------------------

    @rule(kind=st.sampled_from(["still going", "unknown"]), duration=durations, hint=hints)
    def still_going(self, kind: str, duration: float, hint: object) -> None:
        if self.absorbed(kind, duration):
            return
        previous, _ = self.sleep_and_poll(duration)
        entity = Entity(ENTITIES[kind].state, hint)
        self.after_poll(previous, self.m.polled(entity, self.now), hint)

    @rule(duration=durations, hint=hints)
    def transient_error(self, duration: float, hint: object) -> None:
        if self.absorbed("transient", duration):
            return
        previous, _ = self.sleep_and_poll(duration)
        error = Transient(hint)
        action = self.m.poll_failed(error, self.now)
        if isinstance(action, TimeOut):
            assert action.last_error is error
            assert "last error: 503 unavailable" in action.text
        self.after_poll(previous, action, hint)

    @rule(duration=durations)
    def success(self, duration: float) -> None:
        """Success beats timeout: a successful entity wins at any time."""
        if self.absorbed("success", duration):
            return
        previous, _ = self.sleep_and_poll(duration)
        late = self.deadline is not None and (self.now >= self.deadline or previous.final)
        event("success on the final poll or late" if late else "success in time")
        entity = Entity("OK")
        assert self.m.polled(entity, self.now) == Succeed(entity)
        self.done = True

    @rule(kind=st.sampled_from(["failure", "unexpected"]), duration=durations)
    def failure(self, kind: str, duration: float) -> None:
        if self.absorbed(kind, duration):
            return
        self.sleep_and_poll(duration)
        action = self.m.polled(ENTITIES[kind], self.now)
        assert isinstance(action, Fail)
        assert action.state == ENTITIES[kind].state
        self.done = True

    @rule(duration=durations)
    def fatal_error(self, duration: float) -> None:
        if self.absorbed("fatal", duration):
            return
        self.sleep_and_poll(duration)
        error = Fatal()
        action = self.m.poll_failed(error, self.now)
        assert isinstance(action, Raise)
        assert action.error is error
        self.done = True

    @rule()
    def start_again(self) -> None:
        """Starting a machine again is a usage error that changes nothing."""
        phase = self.m.phase
        with pytest.raises(UsageError):
            self.m.start(self.now)
        assert self.m.phase is phase

    def absorbed(self, kind: str, later: float) -> bool:
        """After the end, every input is a UsageError and changes nothing (phases absorb)."""
        if not self.done:
            return False
        phase = self.m.phase
        with pytest.raises(UsageError):
            feed(self.m, kind, self.now + later)
        assert self.m.phase is phase
        return True

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def attempts_count_polls(self) -> None:
        assert self.m.attempts == self.attempts

    @invariant()
    def phase_matches(self) -> None:
        terminal = self.m.phase not in (Phase.NEW, Phase.WAITING)
        assert terminal == self.done
        assert self.m.deadline == self.deadline


CoreRules.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCoreRules = CoreRules.TestCase
