"""The timing rules of the sans-IO core, checked by handing the machine numbers."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pytest

import tarry
from tarry import (
    TRANSITIONS,
    Constant,
    Event,
    Machine,
    Phase,
    Policy,
    PollAfter,
    Raise,
    Succeed,
    TimeOut,
)


@dataclass(frozen=True)
class Job:
    state: str | None
    message: str | None = None
    retry_after: float | None = None


SPEC: tarry.Spec[Job] = tarry.Spec(
    "cluster",
    state=lambda j: j.state,
    message=lambda j: j.message,
    success={"RUNNING"},
    failure={"ERROR"},
    retry_after=lambda j: j.retry_after,
)
PENDING = Job("PENDING", "starting")
RUNNING = Job("RUNNING")


class Flaky(Exception):
    """A transient poll error, optionally with a server hint."""

    def __init__(self, text: str = "flaky", retry_after: object = None) -> None:
        super().__init__(text)
        self.retry_after = retry_after


def machine(timeout: float | None = 60.0, step: float = 1.0, **policy: object) -> Machine[Job]:
    """A machine with a constant backoff, so every delay is predictable."""
    pol = Policy(timeout=timeout, backoff=Constant(step), **policy)  # type: ignore[arg-type]
    return Machine(SPEC, pol, random.Random(0))


def sleep_of(action: tarry.Action) -> float:
    """The delay of an action that must be a PollAfter."""
    assert isinstance(action, PollAfter), action
    return action.delay


# -- start ---------------------------------------------------------------------------------


def test_start_polls_at_once_with_the_whole_budget() -> None:
    """The first poll is immediate and its request may use all the time there is."""
    m = machine(timeout=60)
    assert m.start(100.0) == PollAfter(0.0, 60.0, False)
    assert m.deadline == 160.0
    assert m.phase is Phase.WAITING


def test_start_honours_an_initial_retry_after() -> None:
    """A hint from the reply that created the operation delays the first poll."""
    m = machine(timeout=60)
    assert m.start(0.0, retry_after=10) == PollAfter(10.0, 50.0, False)


def test_start_hint_past_the_deadline_is_cut_to_a_final_poll() -> None:
    """An initial hint longer than the timeout becomes a single final poll at the deadline."""
    m = machine(timeout=60)
    assert m.start(0.0, retry_after=2700) == PollAfter(60.0, 1.0, True)


def test_timeout_zero_means_exactly_one_poll() -> None:
    """With timeout 0 the only poll is the final one, and it is given the request floor."""
    m = machine(timeout=0)
    assert m.start(5.0) == PollAfter(0.0, 1.0, True)
    action = m.polled(PENDING, 5.0)
    assert isinstance(action, TimeOut)
    assert action.attempts == 1


def test_default_timeout_is_twenty_minutes() -> None:
    """A default Policy puts the deadline 1200 s after the start."""
    m: Machine[Job] = Machine(SPEC)
    m.start(10.0)
    assert m.deadline == 1210.0
    assert Policy().timeout_seconds == 1200.0


# -- rule 2: sleeps cut to the deadline ------------------------------------------------------


def test_sleep_is_cut_to_the_time_left_and_marked_final() -> None:
    """A 10 s backoff with 5 s left becomes a 5 s sleep to the final poll."""
    m = machine(timeout=25, step=10)
    m.start(0.0)
    assert m.polled(PENDING, 0.0) == PollAfter(10.0, 15.0, False)
    assert m.polled(PENDING, 10.0) == PollAfter(10.0, 5.0, False)
    assert m.polled(PENDING, 20.0) == PollAfter(5.0, 1.0, True)


def test_delay_equal_to_time_left_is_final() -> None:
    """A delay that lands exactly on the deadline makes that poll the final one."""
    m = machine(timeout=20, step=10)
    m.start(0.0)
    assert m.polled(PENDING, 10.0) == PollAfter(10.0, 1.0, True)


def test_slow_poll_shortens_the_next_sleep() -> None:
    """Time spent inside a poll counts: the sleep after it is cut to what is left."""
    m = machine(timeout=20, step=5)
    m.start(0.0)
    action = m.polled(PENDING, 17.5)
    assert action == PollAfter(2.5, 1.0, True)


# -- rule 3: the final poll, success beats timeout, no poll after the deadline --------------


def test_final_poll_still_going_times_out() -> None:
    """After the final poll a still-going entity ends the wait with a timeout."""
    m = machine(timeout=3, step=2)
    m.start(0.0)
    assert m.polled(PENDING, 0.0) == PollAfter(2.0, 1.0, False)
    assert m.polled(PENDING, 2.0) == PollAfter(1.0, 1.0, True)
    action = m.polled(PENDING, 3.0)
    assert isinstance(action, TimeOut)
    assert (action.elapsed, action.attempts) == (3.0, 3)
    assert m.phase is Phase.TIMED_OUT


def test_final_poll_times_out_even_if_it_returns_a_hair_early() -> None:
    """A final poll stays final when float rounding puts it a hair before the deadline."""
    m = machine(timeout=0.3, step=0.1)
    m.start(0.1)
    now = 0.1
    action = m.polled(PENDING, now)
    while isinstance(action, PollAfter) and not action.final:
        now += action.delay
        action = m.polled(PENDING, now)
    assert isinstance(action, PollAfter)
    now += action.delay
    assert isinstance(m.polled(PENDING, math.nextafter(now, 0.0)), TimeOut)


def test_success_on_the_final_poll_beats_the_timeout() -> None:
    """An operation that finished while we slept to the deadline is a success."""
    m = machine(timeout=3, step=2)
    m.start(0.0)
    m.polled(PENDING, 0.0)
    assert m.polled(PENDING, 2.0) == PollAfter(1.0, 1.0, True)
    assert m.polled(RUNNING, 3.0) == Succeed(RUNNING)
    assert m.phase is Phase.SUCCEEDED


def test_success_reported_after_the_deadline_is_a_success() -> None:
    """A poll that started before the deadline and answered RUNNING late still succeeds."""
    m = machine(timeout=10)
    m.start(0.0)
    assert m.polled(RUNNING, 500.0) == Succeed(RUNNING)


def test_failure_reported_after_the_deadline_is_a_failure() -> None:
    """A failed operation is reported as failed, with its message, even past the deadline."""
    m = machine(timeout=10)
    m.start(0.0)
    action = m.polled(Job("ERROR", "disk full"), 500.0)
    assert isinstance(action, tarry.Fail)
    assert action.message == "disk full"


def test_no_poll_starts_after_the_deadline() -> None:
    """A still-going answer that arrives after the deadline times out instead of polling."""
    m = machine(timeout=10, step=1)
    m.start(0.0)
    action = m.polled(PENDING, 10.5)
    assert isinstance(action, TimeOut)
    assert action.elapsed == 10.5
    assert action.attempts == 1


def test_answer_exactly_at_the_deadline_times_out() -> None:
    """Still going at exactly the deadline leaves no time for another poll."""
    m = machine(timeout=10, step=1)
    m.start(0.0)
    assert isinstance(m.polled(PENDING, 10.0), TimeOut)


def test_only_time_ends_a_wait() -> None:
    """Thousands of polls without a deadline never end the wait: there is no poll cap."""
    m = machine(timeout=None, step=0.0)
    m.start(0.0)
    for i in range(5000):
        assert m.polled(PENDING, float(i)) == PollAfter(0.0, None, False)
    assert m.attempts == 5000
    assert m.deadline is None


def test_no_deadline_never_cuts_a_sleep() -> None:
    """With timeout None delays are never cut and requests get no timeout."""
    m = machine(timeout=None, step=30)
    assert m.start(0.0) == PollAfter(0.0, None, False)
    assert m.polled(PENDING, 1e9) == PollAfter(30.0, None, False)


# -- rule 4: Retry-After ---------------------------------------------------------------------


def test_retry_after_raises_the_delay() -> None:
    """A hint longer than the backoff becomes the delay."""
    m = machine(timeout=600, step=1)
    m.start(0.0)
    assert m.polled(Job("PENDING", retry_after=7.5), 0.0) == PollAfter(7.5, 592.5, False)


def test_retry_after_never_lowers_the_delay() -> None:
    """A hint shorter than the backoff changes nothing: it is a lower bound."""
    m = machine(timeout=600, step=4)
    m.start(0.0)
    assert sleep_of(m.polled(Job("PENDING", retry_after=0.5), 0.0)) == 4.0


def test_retry_after_is_clamped_to_max_retry_after() -> None:
    """A hint over max_retry_after is cut to it (default 300 s)."""
    m = machine(timeout=10_000)
    m.start(0.0)
    assert m.polled(Job("PENDING", retry_after=2700), 0.0) == PollAfter(300.0, 9700.0, False)
    m = machine(timeout=10_000, max_retry_after=42.0)
    m.start(0.0)
    assert sleep_of(m.polled(Job("PENDING", retry_after=2700), 0.0)) == 42.0


def test_retry_after_is_then_clamped_to_the_time_left() -> None:
    """A clamped hint still never sleeps past the deadline: it leads to the final poll."""
    m = machine(timeout=60)
    m.start(0.0)
    assert m.polled(Job("PENDING", retry_after=2700), 0.0) == PollAfter(60.0, 1.0, True)
    assert isinstance(m.polled(PENDING, 60.0), TimeOut)


@pytest.mark.parametrize("hint", [math.nan, -5.0, -1, -math.inf, -(10**400), True, "10", None])
def test_nonsense_retry_after_is_ignored(hint: object) -> None:
    """NaN, negative, boolean and non-numeric hints leave the backoff delay alone."""
    m = machine(timeout=600, step=2)
    m.start(0.0)
    assert m.polled(PENDING, 0.0, retry_after=hint) == PollAfter(2.0, 598.0, False)  # type: ignore[arg-type]


@pytest.mark.parametrize("hint", [math.inf, 1e308, 10**400, 99999999999])
def test_huge_retry_after_is_clamped_without_overflow(hint: float) -> None:
    """Infinite and enormous hints (even ints beyond any float) are clamped, not raised."""
    m = machine(timeout=10_000)
    m.start(0.0)
    assert m.polled(PENDING, 0.0, retry_after=hint) == PollAfter(300.0, 9700.0, False)


def test_explicit_retry_after_overrides_the_spec() -> None:
    """A hint passed to polled() wins over the one the spec reads from the entity."""
    m = machine(timeout=600, step=1)
    m.start(0.0)
    action = m.polled(Job("PENDING", retry_after=50), 0.0, retry_after=9)
    assert sleep_of(action) == 9.0


def test_retry_after_of_an_error_is_read_from_its_attribute() -> None:
    """A transient error's retry_after attribute raises the next delay."""
    m = machine(timeout=600, step=1, retry_on=Flaky)
    m.start(0.0)
    assert m.poll_failed(Flaky(retry_after=12), 0.0) == PollAfter(12.0, 588.0, False)
    assert sleep_of(m.poll_failed(Flaky(retry_after=12), 12.0, retry_after=3)) == 3.0


# -- rule 5: request timeouts ------------------------------------------------------------------


def test_request_timeout_is_the_time_left_after_the_sleep() -> None:
    """Each poll's request may last until the deadline, but no longer."""
    m = machine(timeout=100, step=10)
    m.start(0.0)
    assert m.polled(PENDING, 35.0) == PollAfter(10.0, 55.0, False)


def test_request_timeout_is_floored() -> None:
    """Near the deadline the request still gets request_floor seconds."""
    m = machine(timeout=10, step=4, request_floor=2.5)
    m.start(0.0)
    assert m.polled(PENDING, 5.0) == PollAfter(4.0, 2.5, False)
    assert m.polled(PENDING, 9.0) == PollAfter(1.0, 2.5, True)


def test_request_timeout_floor_zero_allows_zero() -> None:
    """With request_floor 0 the final poll's request timeout is exactly the time left: 0."""
    m = machine(timeout=10, step=20, request_floor=0.0)
    m.start(0.0)
    assert m.polled(PENDING, 0.0) == PollAfter(10.0, 0.0, True)


# -- rule 6: transient and fatal poll errors ---------------------------------------------------


def test_transient_error_types_are_retried_with_backoff() -> None:
    """An error of a retry_on type is backed off like a still-going entity."""
    m = machine(timeout=60, step=3, retry_on=(KeyError, Flaky))
    m.start(0.0)
    assert m.poll_failed(Flaky(), 0.0) == PollAfter(3.0, 57.0, False)
    assert m.poll_failed(KeyError("k"), 3.0) == PollAfter(3.0, 54.0, False)
    assert m.phase is Phase.WAITING
    assert m.attempts == 2


def test_transient_error_predicate_decides() -> None:
    """A retry_on predicate sees each error and decides whether it is transient."""
    seen: list[Exception] = []

    def only_503(error: Exception) -> bool:
        seen.append(error)
        return "503" in str(error)

    m = machine(timeout=60, retry_on=only_503)
    m.start(0.0)
    first, second = RuntimeError("503 unavailable"), RuntimeError("404 gone")
    assert isinstance(m.poll_failed(first, 0.0), PollAfter)
    action = m.poll_failed(second, 1.0)
    assert action == Raise(second)
    assert isinstance(action, Raise)
    assert action.error is second
    assert seen == [first, second]
    assert m.phase is Phase.ERRORED


def test_fatal_error_is_raised_unchanged() -> None:
    """An error retry_on does not accept comes back as the very same object."""
    m = machine(timeout=60)
    m.start(0.0)
    error = ValueError("bad request")
    action = m.poll_failed(error, 0.0)
    assert isinstance(action, Raise)
    assert action.error is error
    assert m.attempts == 1


def test_transient_errors_time_out_naming_the_last_error() -> None:
    """Transient errors are retried only inside the deadline; the timeout names the last."""
    m = machine(timeout=5, step=2, retry_on=Flaky)
    m.start(0.0)
    m.polled(PENDING, 0.0)
    m.poll_failed(Flaky("503 first"), 2.0)
    assert m.poll_failed(Flaky("503 second"), 4.0) == PollAfter(1.0, 1.0, True)
    last = Flaky("503 Service Unavailable")
    action = m.poll_failed(last, 5.0)
    assert isinstance(action, TimeOut)
    assert action.last_error is last
    assert "503 Service Unavailable" in action.text
    assert action.entity == PENDING
    assert action.attempts == 4


def test_an_entity_after_an_error_clears_the_last_error() -> None:
    """Once a poll answers again, the timeout speaks of its state, not the old error."""
    m = machine(timeout=2, step=1, retry_on=Flaky)
    m.start(0.0)
    m.poll_failed(Flaky("503"), 0.0)
    m.polled(PENDING, 1.0)
    action = m.polled(PENDING, 2.0)
    assert isinstance(action, TimeOut)
    assert action.last_error is None
    assert "503" not in action.text


def test_transient_error_without_text_is_named_by_its_type() -> None:
    """An error whose str() is empty is named by its class in the timeout message."""
    m = machine(timeout=0, retry_on=ConnectionResetError)
    m.start(0.0)
    action = m.poll_failed(ConnectionResetError(), 0.0)
    assert isinstance(action, TimeOut)
    assert action.text.endswith("cluster: last error: ConnectionResetError")


# -- the backoff is fed as documented -----------------------------------------------------------


class Recording:
    """A backoff that records what the machine asks it."""

    def __init__(self, delay: float) -> None:
        self.calls: list[tuple[int, float]] = []
        self.value = delay

    def delay(self, n: int, previous: float, rng: random.Random) -> float:
        self.calls.append((n, previous))
        return self.value


def test_backoff_gets_the_sleep_count_and_the_delay_actually_used() -> None:
    """n counts sleeps from 1; previous is the last delay after hints and cuts."""
    backoff = Recording(2.0)
    m = Machine(SPEC, Policy(timeout=7, backoff=backoff), random.Random(0))
    m.start(0.0)
    m.polled(PENDING, 0.0)  # 2.0
    m.polled(Job("PENDING", retry_after=4), 2.0)  # raised to 4.0
    m.polled(PENDING, 6.0)  # cut to 1.0
    assert backoff.calls == [(1, 0.0), (2, 2.0), (3, 4.0)]


@pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf, 10**400, "1", True, None])
def test_an_invalid_backoff_delay_is_refused(bad: float) -> None:
    """A custom backoff returning NaN, a negative, inf or a non-number is a clear ValueError."""
    m = Machine(SPEC, Policy(backoff=Recording(bad)), random.Random(0))
    m.start(0.0)
    with pytest.raises(ValueError, match="backoff gave an invalid delay"):
        m.polled(PENDING, 0.0)


def test_the_same_seed_gives_the_same_delays() -> None:
    """Jitter comes only from the injected rng: equal seeds, equal delays."""

    def delays(seed: int) -> list[float]:
        m: Machine[Job] = Machine(SPEC, Policy(timeout=None), random.Random(seed))
        m.start(0.0)
        return [sleep_of(m.polled(PENDING, float(i))) for i in range(20)]

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


def test_default_linear_backoff_grows_by_a_second_to_ten() -> None:
    """The default delays are n s (capped at 10 s) plus up to a second of jitter."""
    m: Machine[Job] = Machine(SPEC, Policy(timeout=None), random.Random(1))
    m.start(0.0)
    for n in range(1, 15):
        delay = sleep_of(m.polled(PENDING, 0.0))
        assert min(n, 10) <= delay <= min(n, 10) + 1


# -- phases follow the table ------------------------------------------------------------------


def test_phases_follow_the_transition_table() -> None:
    """Each fact moves the machine exactly as TRANSITIONS says."""
    m = machine(timeout=60, retry_on=Flaky)
    assert m.phase is Phase.NEW
    m.start(0.0)
    assert m.phase is TRANSITIONS[Phase.NEW, Event.START]
    m.polled(PENDING, 0.0)
    assert m.phase is TRANSITIONS[Phase.WAITING, Event.STILL_GOING]
    m.poll_failed(Flaky(), 1.0)
    assert m.phase is TRANSITIONS[Phase.WAITING, Event.TRANSIENT_ERROR]
    m.polled(Job("ERROR"), 2.0)
    assert m.phase is TRANSITIONS[Phase.WAITING, Event.FAILURE]


def test_transition_table_only_leaves_waiting_for_terminal_phases() -> None:
    """Terminal phases have no way out, and only WAITING accepts poll results."""
    sources = {phase for phase, _ in TRANSITIONS}
    assert sources == {Phase.NEW, Phase.WAITING}
    terminal = set(Phase) - sources
    assert terminal == {Phase.SUCCEEDED, Phase.FAILED, Phase.TIMED_OUT, Phase.ERRORED}


def test_empty_retry_on_retries_nothing() -> None:
    """retry_on=() names no transient error: every poll error is raised."""
    m = machine(timeout=60, retry_on=())
    m.start(0.0)
    assert isinstance(m.poll_failed(Flaky(), 0.0), Raise)


def test_a_broken_retry_after_attribute_is_no_hint() -> None:
    """An error whose retry_after attribute raises is still transient, with no hint."""

    class Broken(Exception):
        @property
        def retry_after(self) -> float:
            raise RuntimeError("no header")

    m = machine(timeout=60, step=2, retry_on=Broken)
    m.start(0.0)
    assert m.poll_failed(Broken(), 0.0) == PollAfter(2.0, 58.0, False)
