"""What the core says when a wait ends badly or is driven wrongly: messages, errors, usage."""

from __future__ import annotations

import enum
import logging
import math
import random
from dataclasses import dataclass
from datetime import timedelta

import pytest

import tarry
from tarry import Constant, Fail, Machine, Phase, Policy, PollAfter, TimeOut, UsageError
from tarry.testing import FakeClock


@dataclass(frozen=True)
class Cluster:
    state: object
    state_message: str | None = None


SPEC: tarry.Spec[Cluster] = tarry.Spec(
    "cluster",
    state=lambda c: c.state,
    message=lambda c: c.state_message,
    success={"RUNNING"},
    failure={"ERROR", "TERMINATED"},
)


def started(timeout: float | None = 1200, **kw: object) -> Machine[Cluster]:
    m = Machine(SPEC, Policy(timeout=timeout, backoff=Constant(1.0), **kw), random.Random(0))  # type: ignore[arg-type]
    m.start(0.0)
    return m


# -- failure messages --------------------------------------------------------------------------


def test_failure_message_names_operation_goal_state_and_message() -> None:
    """The Databricks-style text: '<name> failed to reach RUNNING, got ERROR: <message>'."""
    action = started().polled(Cluster("ERROR", "Instance quota exceeded"), 3.0)
    assert isinstance(action, Fail)
    assert action.text == "cluster failed to reach RUNNING, got ERROR: Instance quota exceeded"
    error = action.exception()
    assert isinstance(error, tarry.OperationFailed)
    assert isinstance(error, tarry.TarryError)
    assert str(error) == action.text
    assert error.entity == Cluster("ERROR", "Instance quota exceeded")
    assert error.state == "ERROR"
    assert error.message == "Instance quota exceeded"


def test_failure_without_a_message_ends_at_the_state() -> None:
    """No state message means no trailing colon."""
    action = started().polled(Cluster("TERMINATED"), 3.0)
    assert isinstance(action, Fail)
    assert action.text == "cluster failed to reach RUNNING, got TERMINATED"
    assert action.message is None


def test_several_success_states_make_a_sorted_goal() -> None:
    """The goal lists every success state, in a stable order."""
    spec: tarry.Spec[str] = tarry.Spec("run", state=str, success={"b", "a"}, failure={"x"})
    m = Machine(spec, Policy(), random.Random(0))
    m.start(0.0)
    action = m.polled("x", 0.0)
    assert isinstance(action, Fail)
    assert action.text == "run failed to reach a or b, got x"


def test_goal_can_be_spelled_out() -> None:
    """A spec's goal replaces the generated one, e.g. for predicate-based success."""
    spec: tarry.Spec[str] = tarry.Spec(
        "run", state=str, success=lambda s: s == "ok", failure={"x"}, goal="a green build"
    )
    m = Machine(spec, Policy(), random.Random(0))
    m.start(0.0)
    action = m.polled("x", 0.0)
    assert isinstance(action, Fail)
    assert action.text == "run failed to reach a green build, got x"


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_enum_states_show_their_value_or_name() -> None:
    """A string-valued enum prints its value, another enum its name, never the repr."""
    spec: tarry.Spec[Cluster] = tarry.Spec(
        "light", state=lambda c: c.state, success={Color.GREEN}, failure={Color.RED, Level.LOW}
    )
    for state, shown in [(Color.RED, "red"), (Level.LOW, "LOW")]:
        m = Machine(spec, Policy(), random.Random(0))
        m.start(0.0)
        action = m.polled(Cluster(state), 0.0)
        assert isinstance(action, Fail)
        assert action.text == f"light failed to reach green, got {shown}"
        assert action.state is state
        assert "<" not in action.text


def test_enum_state_in_timeout_message() -> None:
    """Timeout texts print enum states the same readable way."""
    spec: tarry.Spec[Cluster] = tarry.Spec("light", state=lambda c: c.state, success={Color.GREEN})
    m = Machine(spec, Policy(timeout=0), random.Random(0))
    m.start(0.0)
    action = m.polled(Cluster(Level.HIGH), 0.0)
    assert isinstance(action, TimeOut)
    assert action.text == "timed out after 0:00:00: light is HIGH"


# -- timeout messages --------------------------------------------------------------------------


def test_timeout_message_and_data() -> None:
    """'timed out after 0:20:00: ...' with the last state and message, plus the numbers."""
    m = started()
    m.polled(Cluster("PENDING", "Waiting for nodes"), 0.0)
    action = m.polled(Cluster("PENDING", "Finding instances"), 1230.5)
    assert isinstance(action, TimeOut)
    assert action.text == "timed out after 0:20:00: cluster is PENDING: Finding instances"
    error = action.exception()
    assert isinstance(error, tarry.OperationTimedOut)
    assert isinstance(error, TimeoutError)
    assert str(error) == action.text
    assert error.timeout == timedelta(minutes=20)
    assert error.elapsed == timedelta(seconds=1230.5)
    assert error.attempts == 2
    assert error.entity == Cluster("PENDING", "Finding instances")
    assert error.state == "PENDING"
    assert error.message == "Finding instances"
    assert error.last_error is None


def test_timeout_message_without_a_state_message() -> None:
    """Without a message the text ends with the state."""
    m = started(timeout=90)
    action = m.polled(Cluster("PENDING"), 95.0)
    assert isinstance(action, TimeOut)
    assert action.text == "timed out after 0:01:30: cluster is PENDING"


def test_timeout_message_names_the_last_error() -> None:
    """After transient errors the timeout text and data carry the last error."""
    m = started(timeout=1.5, retry_on=OSError)
    error = ConnectionRefusedError("connection refused")
    action = m.poll_failed(error, 2.0)
    assert isinstance(action, TimeOut)
    assert action.text == "timed out after 0:00:01.500000: cluster: last error: connection refused"
    assert action.exception().last_error is error
    assert action.entity is None
    assert action.state is None


# -- usage errors ------------------------------------------------------------------------------


def test_poll_results_before_start_are_usage_errors() -> None:
    """polled and poll_failed before start say what to call first."""
    m: Machine[Cluster] = Machine(SPEC)
    with pytest.raises(UsageError, match=r"call start\(now\) before reporting a poll"):
        m.polled(Cluster("PENDING"), 0.0)
    with pytest.raises(UsageError, match=r"call start\(now\)"):
        m.poll_failed(OSError(), 0.0)
    assert m.phase is Phase.NEW
    assert m.attempts == 0


def test_start_twice_is_a_usage_error() -> None:
    """A machine starts once."""
    m = started()
    with pytest.raises(UsageError, match="cannot take 'start' in phase 'waiting'"):
        m.start(1.0)


def _end(m: Machine[Cluster], kind: str, at: float) -> Machine[Cluster]:
    """End ``m`` (started at 0 with a 10 s timeout or more) the way ``kind`` says."""
    if kind == "succeeded":
        m.polled(Cluster("RUNNING"), at)
    elif kind == "failed":
        m.polled(Cluster("ERROR"), at)
    elif kind == "timed out":
        m.polled(Cluster("PENDING"), 11.0)
    else:
        m.poll_failed(ValueError(), at)
    assert m.phase.value == kind
    return m


def _ended(kind: str) -> Machine[Cluster]:
    return _end(started(timeout=10, retry_on=KeyError), kind, 0.0)


@pytest.mark.parametrize("kind", ["succeeded", "failed", "timed out", "errored"])
def test_a_finished_machine_stays_finished(kind: str) -> None:
    """Every call after the end is a UsageError, and the phase does not change."""
    m = _ended(kind)
    attempts = m.attempts
    with pytest.raises(UsageError, match=rf"the wait is over \({kind}\); start a new Machine"):
        m.polled(Cluster("RUNNING"), 20.0)
    with pytest.raises(UsageError, match="the wait is over"):
        m.poll_failed(KeyError("k"), 20.0)
    with pytest.raises(UsageError, match=f"cannot take 'start' in phase '{kind}'"):
        m.start(20.0)
    assert m.phase.value == kind
    assert m.attempts == attempts


@pytest.mark.parametrize("kind", ["succeeded", "failed", "errored"])
def test_a_finished_machine_refuses_polls_well_before_its_deadline(kind: str) -> None:
    """The common poll's one test (tarry's Linear, a spec of state sets, a time well
    inside the deadline) lets no poll through to a finished wait either."""
    m = Machine(SPEC, Policy(timeout=1200, retry_on=KeyError), random.Random(0))
    m.start(0.0)
    assert m._linear is not None  # the common poll's test can pass while the wait goes on
    _end(m, kind, 1.0)
    with pytest.raises(UsageError, match=rf"the wait is over \({kind}\)"):
        m.polled(Cluster("PENDING"), 2.0)
    assert m.phase.value == kind


def test_spec_and_policy_are_fixed_for_a_machines_life() -> None:
    """The deadline is set from the policy at start, and whether the common poll may skip
    its checks is settled from both when the machine is made: neither can be swapped."""
    m = started()
    with pytest.raises(AttributeError):
        m.policy = Policy()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        m.spec = SPEC  # type: ignore[misc]
    assert m.policy.timeout == 1200
    assert m.spec is SPEC


def test_usage_error_is_a_runtime_error() -> None:
    """UsageError is the caller's fault and a RuntimeError, not an operation outcome."""
    assert issubclass(UsageError, RuntimeError)
    assert issubclass(UsageError, tarry.TarryError)
    assert not issubclass(UsageError, TimeoutError)


def test_machine_refuses_wrong_arguments() -> None:
    """A spec or policy of the wrong type is a TypeError naming the type."""
    with pytest.raises(TypeError, match=r"spec must be a tarry\.Spec, not dict"):
        Machine({}, Policy())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"policy must be a tarry\.Policy, not int"):
        Machine(SPEC, 5)  # type: ignore[arg-type]


# -- timeout parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [
        (timedelta(minutes=10), 600.0),
        (timedelta(milliseconds=1), 0.001),
        (45, 45.0),
        (2.5, 2.5),
        (0, 0.0),
        (0.0, 0.0),
        (None, None),
    ],
)
def test_timeout_accepts_timedelta_numbers_and_none(
    timeout: timedelta | float | None, seconds: float | None
) -> None:
    """timedelta or seconds; None means no deadline at all."""
    assert Policy(timeout=timeout).timeout_seconds == seconds
    m = Machine(SPEC, Policy(timeout=timeout))
    m.start(100.0)
    assert m.deadline == (None if seconds is None else 100.0 + seconds)


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (-1, "timeout must be non-negative"),
        (-0.001, "timeout must be non-negative"),
        (timedelta(seconds=-5), "timeout must be non-negative"),
        (math.nan, "timeout must not be NaN"),
        (math.inf, "timeout must be finite; use None to wait without a deadline"),
        (-math.inf, "timeout must be finite"),
        (10**400, "timeout must be finite"),
        (1e300, "timeout must be under 999999999 days; use None for no deadline"),
        (timedelta.max, "timeout must be under 999999999 days"),
    ],
)
def test_bad_timeout_values_are_value_errors(timeout: object, message: str) -> None:
    """Negative, NaN, infinite or unrepresentable timeouts fail early with a short message."""
    with pytest.raises(ValueError, match=f"^{message}"):
        Policy(timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"^{message}"):
        tarry.wait(lambda: Cluster("RUNNING"), SPEC, timeout=timeout, clock=FakeClock())  # type: ignore[arg-type]
    w = tarry.Wait(lambda: Cluster("RUNNING"), SPEC, clock=FakeClock())
    with pytest.raises(ValueError, match=f"^{message}"):
        w.result(timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize(("timeout", "kind"), [(True, "bool"), ("60", "str"), ([1], "list")])
def test_timeout_of_the_wrong_type_is_a_type_error(timeout: object, kind: str) -> None:
    """Booleans, strings and other objects are not timeouts."""
    message = f"timeout must be a timedelta, a number of seconds or None, not {kind}"
    with pytest.raises(TypeError, match=f"^{message}$"):
        Policy(timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"^{message}$"):
        tarry.wait(lambda: Cluster("RUNNING"), SPEC, timeout=timeout, clock=FakeClock())  # type: ignore[arg-type]


def test_default_timeout_is_twenty_minutes() -> None:
    """Without a timeout the wait gives up after exactly 20 minutes of clock time."""
    assert Policy().timeout == timedelta(minutes=20) == tarry.DEFAULT_TIMEOUT
    clock = FakeClock()
    with pytest.raises(tarry.OperationTimedOut) as caught:
        tarry.wait(lambda: Cluster("PENDING"), SPEC, clock=clock)
    assert clock.now() == 1200.0
    assert caught.value.timeout == timedelta(minutes=20)
    assert caught.value.elapsed == timedelta(minutes=20)
    assert str(caught.value) == "timed out after 0:20:00: cluster is PENDING"


@pytest.mark.parametrize("name", ["max_retry_after", "request_floor"])
def test_policy_refuses_bad_limits(name: str) -> None:
    """max_retry_after and request_floor must be finite, non-negative numbers."""
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match=f"{name} must be finite and non-negative"):
            Policy(**{name: bad})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"{name} must be a number of seconds"):
        Policy(**{name: "5"})  # type: ignore[arg-type]


def test_policy_refuses_a_bad_retry_on_and_backoff() -> None:
    """retry_on takes exception types or a predicate; backoff needs a delay method."""
    with pytest.raises(TypeError, match="retry_on must hold exception types only"):
        Policy(retry_on=(OSError, "503"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="retry_on must be exception types or a predicate"):
        Policy(retry_on=503)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="backoff must have a delay"):
        Policy(backoff=1.0)  # type: ignore[arg-type]


# -- logging -----------------------------------------------------------------------------------


def test_each_poll_logs_one_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    """One DEBUG line per poll on the 'tarry' logger with name, state, message and delay."""
    caplog.set_level(logging.DEBUG, logger="tarry")
    replies = iter([Cluster("PENDING", "Setting up"), Cluster("PENDING"), Cluster("RUNNING")])
    tarry.wait(lambda: next(replies), SPEC, clock=FakeClock(), backoff=Constant(2.0))
    records = [r for r in caplog.records if r.name == "tarry"]
    assert [r.levelno for r in records] == [logging.DEBUG] * 3
    lines = [r.getMessage() for r in records]
    assert lines == [
        "cluster: poll 1: PENDING (Setting up); next poll in 2.000 s",
        "cluster: poll 2: PENDING; next poll in 2.000 s",
        "cluster: poll 3: RUNNING; succeeded",
    ]


def test_log_lines_for_final_poll_errors_and_endings(caplog: pytest.LogCaptureFixture) -> None:
    """Errors, the final poll, a timeout, a failure and a fatal error are logged at DEBUG."""
    caplog.set_level(logging.DEBUG, logger="tarry")
    m = started(timeout=3, retry_on=KeyError)
    m.poll_failed(KeyError("blip"), 1.0)
    m.polled(Cluster("PENDING"), 2.5)
    m.polled(Cluster("PENDING"), 3.0)
    started().polled(Cluster("ERROR", "boom"), 0.0)
    started().poll_failed(ValueError("bad"), 0.0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "cluster: poll 1: error KeyError('blip'); next poll in 1.000 s",
        "cluster: poll 2: PENDING; next poll in 0.500 s, the final poll",
        "cluster: poll 3: PENDING; timed out",
        "cluster: poll 1: ERROR (boom); failed",
        "cluster: poll 1: error ValueError('bad'); not retried",
    ]
    assert {r.levelno for r in caplog.records} == {logging.DEBUG}


def test_nothing_is_logged_at_info_or_above(caplog: pytest.LogCaptureFixture) -> None:
    """Successes, failures and timeouts log nothing at INFO or higher."""
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    tarry.wait(lambda: Cluster("RUNNING"), SPEC, clock=clock)
    with pytest.raises(tarry.OperationFailed):
        tarry.wait(lambda: Cluster("ERROR"), SPEC, clock=clock)
    with pytest.raises(tarry.OperationTimedOut):
        tarry.wait(lambda: Cluster("PENDING"), SPEC, clock=clock, timeout=30)
    assert caplog.records == []


def test_quiet_logger_formats_nothing() -> None:
    """With DEBUG off the core does not build log lines (a state that cannot print is fine)."""

    class Unprintable:
        def __hash__(self) -> int:
            return 1

        def __str__(self) -> str:
            raise AssertionError("formatted although the logger is off")

    spec: tarry.Spec[object] = tarry.Spec("op", state=lambda e: e, success={"OK"})
    logging.getLogger("tarry").setLevel(logging.WARNING)
    try:
        m = Machine(spec, Policy(timeout=None), random.Random(0))
        m.start(0.0)
        assert isinstance(m.polled(Unprintable(), 0.0), PollAfter)
    finally:
        logging.getLogger("tarry").setLevel(logging.NOTSET)


def test_unprintable_errors_and_states_are_named_by_type() -> None:
    """An error or a state whose str() raises is named by its type in messages."""

    class Mute(Exception):
        def __str__(self) -> str:
            raise RuntimeError("cannot say")

    m = started(timeout=0, retry_on=Mute)
    action = m.poll_failed(Mute(), 0.0)
    assert isinstance(action, TimeOut)
    assert action.text == "timed out after 0:00:00: cluster: last error: Mute"

    class Odd:
        def __hash__(self) -> int:
            return 0

        def __str__(self) -> str:
            raise RuntimeError("cannot say")

    m = started(timeout=0)
    action = m.polled(Cluster(Odd()), 0.0)
    assert isinstance(action, TimeOut)
    assert action.text == "timed out after 0:00:00: cluster is <Odd>"
