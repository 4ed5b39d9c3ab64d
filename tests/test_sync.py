"""The synchronous driver: tarry.wait and tarry.Wait on a fake clock (and briefly a real one)."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

import pytest

import tarry
from tarry import Constant, OperationFailed, OperationTimedOut, Policy
from tarry.testing import FakeClock


@dataclass(frozen=True)
class Cluster:
    state: str
    state_message: str | None = None


SPEC: tarry.Spec[Cluster] = tarry.Spec(
    "cluster",
    state=lambda c: c.state,
    message=lambda c: c.state_message,
    success={"RUNNING"},
    failure={"ERROR"},
)


def script(*replies: Cluster | Exception) -> Callable[[], Cluster]:
    """A poll function that answers with each reply in turn, then repeats the last."""
    queue = list(replies)

    def poll() -> Cluster:
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    return poll


def pending(n: int) -> Iterable[Cluster]:
    return [Cluster("PENDING", f"step {i}") for i in range(n)]


# -- tarry.wait ------------------------------------------------------------------------------


def test_wait_returns_the_successful_entity_after_the_planned_sleeps() -> None:
    """The driver sleeps exactly what the core says and returns the last entity."""
    clock = FakeClock()
    done = Cluster("RUNNING", "ready")
    result = tarry.wait(script(*pending(3), done), SPEC, clock=clock, backoff=Constant(2.5))
    assert result is done
    assert clock.sleeps == [0.0, 2.5, 2.5, 2.5]
    assert clock.now() == 7.5


def test_wait_raises_operation_failed() -> None:
    """A failure state ends the wait with OperationFailed and the message."""
    with pytest.raises(OperationFailed, match=r"^cluster failed to reach RUNNING, got ERROR: oom$"):
        tarry.wait(script(Cluster("PENDING"), Cluster("ERROR", "oom")), SPEC, clock=FakeClock())


def test_wait_times_out_at_the_deadline_with_a_final_poll() -> None:
    """The last sleep is cut to the deadline, one final poll happens there, then a timeout."""
    clock = FakeClock()
    polls: list[float] = []

    def poll() -> Cluster:
        polls.append(clock.now())
        return Cluster("PENDING")

    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(poll, SPEC, clock=clock, timeout=10, backoff=Constant(4))
    assert polls == [0.0, 4.0, 8.0, 10.0]
    assert clock.sleeps == [0.0, 4.0, 4.0, 2.0]
    assert caught.value.attempts == 4
    assert caught.value.elapsed == timedelta(seconds=10)


def test_slow_polls_count_against_the_deadline() -> None:
    """Time spent inside poll() is real elapsed time: the sleeps shrink to fit."""
    clock = FakeClock()

    def poll() -> Cluster:
        clock.advance(3.0)
        return Cluster("PENDING")

    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(poll, SPEC, clock=clock, timeout=10, backoff=Constant(2))
    assert clock.sleeps == [0.0, 2.0, 2.0]
    assert caught.value.elapsed == timedelta(seconds=13)


def test_wait_without_deadline_passes_none_to_requests() -> None:
    """timeout=None: no deadline, and tarry.request_timeout() is None inside every poll."""
    seen: list[float | None] = []
    replies = script(*pending(5), Cluster("RUNNING"))

    def poll() -> Cluster:
        seen.append(tarry.request_timeout())
        return replies()

    tarry.wait(poll, SPEC, timeout=None, clock=FakeClock())
    assert seen == [None] * 6


def test_request_timeout_inside_a_poll_is_the_time_left_floored() -> None:
    """Inside a poll, request_timeout() is the time left after the sleep, at least the floor."""
    clock = FakeClock()
    seen: list[float | None] = []

    def poll() -> Cluster:
        seen.append(tarry.request_timeout())
        return Cluster("PENDING")

    with pytest.raises(OperationTimedOut):
        tarry.wait(poll, SPEC, clock=clock, timeout=9, backoff=Constant(4), request_floor=2.0)
    assert seen == [9.0, 5.0, 2.0, 2.0]
    assert tarry.request_timeout() is None


def test_request_timeout_is_none_outside_a_poll() -> None:
    """Outside any poll there is no request budget, even after a poll raised."""
    assert tarry.request_timeout() is None
    with pytest.raises(KeyError):
        tarry.wait(script(KeyError("gone")), SPEC, clock=FakeClock())
    assert tarry.request_timeout() is None


def test_fatal_poll_error_propagates_as_the_same_object() -> None:
    """A poll error that is not transient is re-raised unchanged, after one poll."""
    error = PermissionError("403 forbidden")
    calls: list[int] = []

    def poll() -> Cluster:
        calls.append(1)
        raise error

    with pytest.raises(PermissionError) as caught:
        tarry.wait(poll, SPEC, clock=FakeClock(), retry_on=ConnectionError)
    assert caught.value is error
    assert len(calls) == 1


def test_transient_poll_errors_are_retried_until_success() -> None:
    """Errors matched by retry_on are backed off and polled again."""
    clock = FakeClock()
    poll = script(ConnectionError("reset"), Cluster("PENDING"), TimeoutError(), Cluster("RUNNING"))
    result = tarry.wait(
        poll, SPEC, clock=clock, retry_on=(ConnectionError, TimeoutError), backoff=Constant(1)
    )
    assert result == Cluster("RUNNING")
    assert clock.sleeps == [0.0, 1.0, 1.0, 1.0]


def test_transient_error_retry_after_is_honoured() -> None:
    """An error's retry_after attribute sets the next sleep."""

    class Throttled(Exception):
        retry_after = 30.0

    clock = FakeClock()
    tarry.wait(
        script(Throttled("429"), Cluster("RUNNING")),
        SPEC,
        clock=clock,
        retry_on=Throttled,
        backoff=Constant(1),
    )
    assert clock.sleeps == [0.0, 30.0]


def test_transient_errors_until_the_deadline_time_out_naming_the_error() -> None:
    """A storm of transient errors ends at the deadline; the error names the last one."""
    clock = FakeClock()
    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(
            script(ConnectionError("503 Service Unavailable")),
            SPEC,
            clock=clock,
            timeout=30,
            retry_on=ConnectionError,
        )
    assert clock.now() == 30.0
    assert "last error: 503 Service Unavailable" in str(caught.value)
    assert isinstance(caught.value.last_error, ConnectionError)


def test_keyboard_interrupt_from_a_poll_propagates_at_once() -> None:
    """Ctrl-C in a poll is never offered to retry_on and ends the wait immediately."""
    offered: list[BaseException] = []
    clock = FakeClock()

    def retry_everything(error: Exception) -> bool:
        offered.append(error)
        return True

    def poll() -> Cluster:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tarry.wait(poll, SPEC, clock=clock, retry_on=retry_everything)
    assert offered == []
    assert clock.sleeps == [0.0]
    assert tarry.request_timeout() is None


def test_a_poll_raising_system_exit_propagates() -> None:
    """Other BaseExceptions pass untouched as well."""
    with pytest.raises(SystemExit):
        tarry.wait(script(Cluster("PENDING")), SPEC, clock=FakeClock(), callback=_exit)


def _exit(entity: Cluster) -> None:
    raise SystemExit(3)


def test_unreadable_entity_propagates() -> None:
    """An entity the spec cannot read ends the wait with UnreadableEntity."""
    spec: tarry.Spec[dict[str, str]] = tarry.Spec("job", state=lambda d: d["state"], success={"OK"})
    with pytest.raises(tarry.UnreadableEntity, match=r"job: cannot read the state of \{\}"):
        tarry.wait(dict, spec, clock=FakeClock())


# -- callbacks ---------------------------------------------------------------------------------


def test_callback_sees_every_unsuccessful_entity_in_order_before_the_failure() -> None:
    """Each non-success entity reaches the callback, the failing one included, in order."""
    replies = [*pending(3), Cluster("ERROR", "boom")]
    seen: list[Cluster] = []
    with pytest.raises(OperationFailed) as caught:
        tarry.wait(script(*replies), SPEC, clock=FakeClock(), callback=seen.append)
    assert seen == replies
    assert caught.value.entity is seen[-1]


def test_callback_does_not_see_the_success_or_errors() -> None:
    """The successful entity is returned, not shown; a transient error has no entity."""
    seen: list[Cluster] = []
    result = tarry.wait(
        script(Cluster("PENDING"), OSError(), Cluster("RUNNING")),
        SPEC,
        clock=FakeClock(),
        callback=seen.append,
        retry_on=OSError,
    )
    assert seen == [Cluster("PENDING")]
    assert result == Cluster("RUNNING")


def test_callback_sees_the_entity_of_the_timed_out_poll() -> None:
    """The entity of the final poll reaches the callback before the timeout is raised."""
    seen: list[Cluster] = []
    with pytest.raises(OperationTimedOut):
        tarry.wait(script(*pending(10)), SPEC, clock=FakeClock(), timeout=3, callback=seen.append)
    assert [c.state_message for c in seen] == ["step 0", "step 1", "step 2"]


def test_raising_callback_ends_the_wait_with_its_own_exception() -> None:
    """An exception from the callback propagates as is and no further poll happens."""
    error = RuntimeError("stop")
    calls: list[int] = []

    def poll() -> Cluster:
        calls.append(1)
        return Cluster("PENDING")

    def callback(entity: Cluster) -> None:
        raise error

    with pytest.raises(RuntimeError) as caught:
        tarry.wait(poll, SPEC, clock=FakeClock(), callback=callback, retry_on=RuntimeError)
    assert caught.value is error
    assert len(calls) == 1


# -- overrides -------------------------------------------------------------------------------


def test_keyword_arguments_override_the_policy() -> None:
    """wait()'s keywords replace the matching policy fields, others are kept."""
    clock = FakeClock()
    policy = Policy(timeout=5, backoff=Constant(1), max_retry_after=2.0)
    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(script(Cluster("PENDING")), SPEC, clock=clock, policy=policy, timeout=3)
    assert caught.value.timeout == timedelta(seconds=3)
    assert clock.sleeps == [0.0, 1.0, 1.0, 1.0]


def test_policy_timeout_is_used_when_none_is_passed() -> None:
    """Without a timeout keyword the policy's timeout holds."""
    clock = FakeClock()
    with pytest.raises(OperationTimedOut):
        tarry.wait(script(Cluster("PENDING")), SPEC, clock=clock, policy=Policy(timeout=4))
    assert clock.now() == 4.0


def test_explicit_retry_on_none_turns_retries_off() -> None:
    """retry_on=None overrides a policy that retried, so the error propagates."""
    policy = Policy(retry_on=OSError)
    with pytest.raises(OSError, match="down"):
        tarry.wait(script(OSError("down")), SPEC, clock=FakeClock(), policy=policy, retry_on=None)


def test_max_retry_after_keyword_caps_hints() -> None:
    """max_retry_after passed to wait() caps a server's hint."""
    spec: tarry.Spec[Cluster] = tarry.Spec(
        "c", state=lambda c: c.state, success={"RUNNING"}, retry_after=lambda c: 1000.0
    )
    clock = FakeClock()
    tarry.wait(
        script(Cluster("PENDING"), Cluster("RUNNING")),
        spec,
        clock=clock,
        max_retry_after=7.0,
        backoff=Constant(1),
    )
    assert clock.sleeps == [0.0, 7.0]


def test_seeded_rng_makes_the_default_backoff_reproducible() -> None:
    """Two waits with equally seeded generators sleep exactly alike."""
    a, b = FakeClock(), FakeClock()
    for clock in (a, b):
        with pytest.raises(OperationTimedOut):
            tarry.wait(script(Cluster("PENDING")), SPEC, clock=clock, rng=random.Random(11))
    assert a.sleeps == b.sleeps
    assert len(a.sleeps) > 100


def test_real_clock_short_wait() -> None:
    """The default SystemClock drives a tiny real wait to its timeout."""
    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(script(Cluster("PENDING")), SPEC, timeout=0.05, backoff=Constant(0.01))
    assert caught.value.elapsed >= timedelta(seconds=0.05)
    assert caught.value.attempts >= 1


def test_wait_refuses_bad_arguments() -> None:
    """Wrong poll, spec or policy types are TypeErrors."""
    with pytest.raises(TypeError, match="spec must be a tarry"):
        tarry.wait(lambda: 1, "spec")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be a tarry"):
        tarry.wait(lambda: Cluster("RUNNING"), SPEC, policy={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="poll must be callable, not int"):
        tarry.Wait(5, SPEC)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="spec must be a tarry"):
        tarry.Wait(lambda: 1, None)  # type: ignore[arg-type]


# -- tarry.Wait --------------------------------------------------------------------------------


def make_wait(clock: FakeClock | None = None) -> tarry.Wait[Cluster]:
    return tarry.Wait(
        script(Cluster("PENDING"), Cluster("RUNNING")),
        SPEC,
        response={"cluster_id": "c-1"},
        clock=clock or FakeClock(),
        cluster_id="c-1",
        workspace="prod",
    )


def test_wait_object_keeps_the_response_and_bound_arguments() -> None:
    """response and bound keyword arguments are attributes; missing ones raise."""
    w = make_wait()
    assert w.response == {"cluster_id": "c-1"}
    assert w.cluster_id == "c-1"
    assert w.workspace == "prod"
    assert w.spec is SPEC
    with pytest.raises(AttributeError, match="Wait for cluster has no attribute 'job_id'"):
        _ = w.job_id
    assert hasattr(w, "cluster_id")
    assert not hasattr(w, "job_id")
    assert {"cluster_id", "workspace", "result", "response"} <= set(dir(w))


def test_wait_without_response_has_none() -> None:
    """response defaults to None."""
    assert tarry.Wait(lambda: Cluster("RUNNING"), SPEC).response is None


def test_wait_object_copies() -> None:
    """copy.copy gives a working, independent Wait with the same attributes."""
    w = make_wait()
    clone = copy.copy(w)
    assert type(clone) is tarry.Wait
    assert clone.cluster_id == "c-1"
    assert clone.response is w.response
    assert clone.result() == Cluster("RUNNING")
    clone._bound["cluster_id"] = "other"
    assert w.cluster_id == "c-1"


def test_wait_object_repr_is_short_and_useful() -> None:
    """repr names the class, the operation and the bound arguments, bounded in length."""
    assert repr(make_wait()) == "<Wait cluster cluster_id='c-1' workspace='prod'>"
    long = tarry.Wait(lambda: Cluster("RUNNING"), SPEC, token="x" * 10_000)
    assert len(repr(long)) < 120


def test_wait_result_runs_from_the_policy_defaults() -> None:
    """result() without arguments uses the 20-minute default."""
    clock = FakeClock()
    w = tarry.Wait(script(Cluster("PENDING")), SPEC, clock=clock)
    with pytest.raises(OperationTimedOut, match=r"^timed out after 0:20:00: "):
        w.result()
    assert clock.now() == 1200.0


def test_wait_result_with_timeout_and_callback() -> None:
    """result(timeout=, callback=) applies both to this run."""
    clock = FakeClock()
    seen: list[Cluster] = []
    w = make_wait(clock)
    assert w.result(timeout=timedelta(minutes=10), callback=seen.append) == Cluster("RUNNING")
    assert seen == [Cluster("PENDING")]


def test_wait_result_twice_runs_two_independent_waits() -> None:
    """Each result() starts from scratch: a fresh deadline, attempts and poll sequence."""
    clock = FakeClock()
    polls: list[float] = []

    def poll() -> Cluster:
        polls.append(clock.now())
        return Cluster("PENDING")

    w = tarry.Wait(poll, SPEC, clock=clock, policy=Policy(timeout=5, backoff=Constant(2)))
    with pytest.raises(OperationTimedOut) as first:
        w.result()
    with pytest.raises(OperationTimedOut) as second:
        w.result()
    assert polls == [0.0, 2.0, 4.0, 5.0, 5.0, 7.0, 9.0, 10.0]
    assert first.value.attempts == second.value.attempts == 4
    assert first.value.elapsed == second.value.elapsed == timedelta(seconds=5)


def test_wait_initial_retry_after_delays_the_first_poll() -> None:
    """retry_after given to Wait (a 202's hint) delays the first poll."""
    clock = FakeClock()
    w = tarry.Wait(script(Cluster("RUNNING")), SPEC, clock=clock, retry_after=10.0)
    w.result()
    assert clock.sleeps == [10.0]


def test_wait_result_timeout_none_means_no_deadline() -> None:
    """result(timeout=None) keeps polling past any default deadline."""
    clock = FakeClock()
    replies = script(*pending(1000), Cluster("RUNNING"))
    w = tarry.Wait(replies, SPEC, clock=clock)
    assert w.result(timeout=None) == Cluster("RUNNING")
    assert clock.now() > 1200.0


def test_wait_without_init_has_no_attributes() -> None:
    """A Wait whose __init__ never ran (as copy or pickle may build) raises AttributeError."""
    bare = object.__new__(tarry.Wait)
    assert not hasattr(bare, "cluster_id")
    assert not hasattr(bare, "__deepcopy__")
