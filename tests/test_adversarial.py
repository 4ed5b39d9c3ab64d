"""The public API used wrongly, on purpose: bad specs, policies, clocks, sync/async
mix-ups, hostile command-line input and cancellation at awkward moments.

Each test plays a realistic mistake and checks that it ends in a clear error at the
call site (a short ``TypeError``/``ValueError`` or a documented tarry error), never in
a hang, a silent wrong answer or a traceback from deep inside a dependency.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import io
import math
import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

import anyio
import httpx
import pytest

import tarry
from tarry import _sync
from tarry.testing import AsyncFakeClock, FakeClock, OperationsServer

RUN = "RUNNING"


def state_of(entity: Any) -> Any:
    """The spec's state accessor: the entity is its own state."""
    return entity


SPEC: tarry.Spec[Any] = tarry.Spec(name="cluster", state=state_of, success={RUN})


def make_spec(**changes: Any) -> tarry.Spec[Any]:
    fields: dict[str, Any] = {"name": "cluster", "state": state_of, "success": {RUN}}
    fields.update(changes)
    return tarry.Spec(**fields)


def script(*entities: Any) -> Callable[[], Any]:
    """A poll that returns ``entities`` in order, then the last one forever."""
    items = list(entities)

    def poll() -> Any:
        return items.pop(0) if len(items) > 1 else items[0]

    return poll


def fake_wait(poll: Callable[[], Any], spec: tarry.Spec[Any] = SPEC, **options: Any) -> Any:
    options.setdefault("timeout", 30)
    return tarry.wait(poll, spec, clock=FakeClock(), **options)


# -- Spec ---------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = 1
    GREEN = (2, "two")


async def _async_accessor(entity: Any) -> Any:
    return entity


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"name": ""}, ValueError, "name must be a non-empty string"),
        ({"name": b"cluster"}, ValueError, "name must be a non-empty string"),
        ({"state": "state"}, TypeError, "state must be a function"),
        ({"state": _async_accessor}, TypeError, "state must be a plain function"),
        ({"message": _async_accessor}, TypeError, "message must be a plain function"),
        ({"success": "RUNNING"}, TypeError, "not a string"),
        ({"success": [["RUNNING"]]}, TypeError, "hashable states"),
        ({"success": Color}, TypeError, "set(Color)"),
        ({"success": str}, TypeError, "not the class str"),
        ({"success": _async_accessor}, TypeError, "success must be a plain function"),
        ({"failure": {RUN}}, ValueError, "both succeed and fail: RUNNING"),
        ({"pending": "PENDING"}, TypeError, "not a string"),
        ({"pending": [{"a": 1}]}, TypeError, "pending must be a collection of hashable states"),
        ({"pending": 5}, TypeError, "pending must be a collection of hashable states"),
        ({"retry_after": 30}, TypeError, "retry_after must be a function"),
        ({"goal": 5}, TypeError, "goal must be a non-empty string"),
        ({"goal": ""}, TypeError, "goal must be a non-empty string"),
    ],
)
def test_bad_spec_is_refused_where_it_is_written(
    changes: dict[str, Any], error: type[Exception], words: str
) -> None:
    """Each malformed Spec fails at construction with a short message naming the field."""
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        make_spec(**changes)


def test_enum_with_non_string_values_reads_by_name() -> None:
    """Enum states whose values are not strings show their names in the goal and failure."""
    spec = make_spec(success={Color.GREEN}, failure={Color.RED})
    assert spec.goal == "GREEN"
    with pytest.raises(tarry.OperationFailed, match=r"failed to reach GREEN, got RED$"):
        fake_wait(script(Color.RED), spec)


def test_predicate_answer_none_means_no() -> None:
    """A predicate returning None counts as no: the wait goes on to its deadline."""
    spec = make_spec(success=lambda e: None)
    with pytest.raises(tarry.OperationTimedOut):
        fake_wait(script("PENDING"), spec, timeout=3)


def test_predicate_answer_is_read_by_its_truth() -> None:
    """A non-bool truthy answer ("yes") is a yes, as the Spec docstring says."""
    assert fake_wait(script("PENDING"), make_spec(success=lambda e: "yes")) == "PENDING"


class Ambiguous:
    """Like a numpy array of several elements: it has no single truth value."""

    def __bool__(self) -> bool:
        raise ValueError("the truth value of an array is ambiguous")


def test_predicate_answer_without_truth_value_is_unreadable() -> None:
    """A predicate answer whose __bool__ raises ends the wait as UnreadableEntity."""
    spec = make_spec(failure=lambda e: Ambiguous())
    with pytest.raises(tarry.UnreadableEntity, match="ambiguous"):
        fake_wait(script("PENDING"), spec)


async def _is_done(entity: Any) -> bool:
    return True


def test_predicate_returning_a_coroutine_is_not_a_yes() -> None:
    """A lambda around an async function is refused, not taken as a truthy success."""
    spec = make_spec(success=lambda e: _is_done(e))
    with pytest.raises(tarry.UnreadableEntity, match="returned an awaitable"):
        fake_wait(script("PENDING"), spec)


def test_fresh_nan_state_is_unreadable_not_waited_on() -> None:
    """A NaN state that no set can match ends the wait at once instead of at the deadline."""
    spec = make_spec(success={math.nan})
    clock = FakeClock()
    with pytest.raises(tarry.UnreadableEntity, match="NaN"):
        tarry.wait(lambda: float("nan"), spec, clock=clock, timeout=600)
    assert clock.now() == 0.0


def test_nan_state_outside_a_pending_list_is_unreadable() -> None:
    """With a pending list, NaN is refused as unreadable, not reported as a dead-end state."""
    spec = make_spec(pending={"PENDING"})
    with pytest.raises(tarry.UnreadableEntity, match="NaN"):
        fake_wait(lambda: float("nan"), spec)


def test_nan_state_judged_by_predicates_succeeds_or_fails() -> None:
    """A NaN state does not stop a predicate that decides from the rest of the entity."""
    spec = make_spec(state=lambda e: math.nan, success=lambda e: e == "done")
    assert fake_wait(script("done"), spec) == "done"
    failing = make_spec(state=lambda e: math.nan, failure=lambda e: e == "broken")
    with pytest.raises(tarry.OperationFailed, match="got nan"):
        fake_wait(script("broken"), failing)


def test_failure_message_stays_bounded_and_keeps_the_full_message() -> None:
    """A megabyte state message is cut in the error text but kept whole on the exception."""
    huge = "m" * 1_000_000
    spec = make_spec(failure={"ERROR"}, message=lambda e: huge)
    with pytest.raises(tarry.OperationFailed) as failed:
        fake_wait(script("ERROR"), spec)
    assert len(str(failed.value)) < 1000
    assert failed.value.message == huge


def test_timeout_message_stays_bounded_for_huge_state_name_and_error() -> None:
    """Huge names, states and poll errors never make a huge timeout message."""
    spec = make_spec(name="n" * 100_000, message=lambda e: "m" * 100_000)
    with pytest.raises(tarry.OperationTimedOut) as timed_out:
        fake_wait(script("s" * 100_000), spec, timeout=2)
    assert len(str(timed_out.value)) < 2000

    def failing() -> Any:
        raise ConnectionError("e" * 100_000)

    with pytest.raises(tarry.OperationTimedOut) as by_error:
        fake_wait(failing, spec, timeout=2, retry_on=ConnectionError)
    assert len(str(by_error.value)) < 2000


def test_policy_survives_pickle_with_exception_types() -> None:
    """A policy keeps its retry test as a closure; pickling rebuilds it from the fields."""
    policy = tarry.Policy(timeout=30, retry_on=(ConnectionError, TimeoutError), request_floor=2)
    clone = pickle.loads(pickle.dumps(policy))
    assert clone == policy
    assert clone.timeout_seconds == 30.0
    assert clone._is_transient(ConnectionResetError())
    assert not clone._is_transient(ValueError())


def test_spec_and_wait_survive_pickle_and_deepcopy() -> None:
    """A Wait built from module-level functions pickles (for worker processes) and copies."""
    w = tarry.Wait(script(RUN), SPEC, cluster_id="c-1")
    for clone in (copy.deepcopy(w), copy.copy(w)):
        assert clone.cluster_id == "c-1"
        assert clone.spec == SPEC
    assert pickle.loads(pickle.dumps(SPEC)) == SPEC
    assert pickle.loads(pickle.dumps(make_spec(pending={"PENDING"}))).goal == RUN


# -- Policy and wait() arguments ----------------------------------------------------------


class Seconds(float):
    """A float subclass, as numpy's float64 is."""


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        ("5", TypeError),
        (Decimal("5"), TypeError),
        (True, TypeError),
        (timedelta.max, ValueError),
        (-timedelta(microseconds=1), ValueError),
        (10**400, ValueError),
        (float("-inf"), ValueError),
    ],
)
def test_bad_timeouts_are_refused_before_any_poll(timeout: Any, error: type[Exception]) -> None:
    """Timeouts of the wrong type or beyond any deadline fail before the first poll."""
    polls: list[int] = []
    with pytest.raises(error, match="timeout"):
        fake_wait(lambda: polls.append(1), timeout=timeout)
    assert polls == []


@pytest.mark.parametrize("timeout", [-0.0, timedelta(0), Seconds(0.0)])
def test_zero_timeouts_of_every_spelling_poll_exactly_once(timeout: Any) -> None:
    """Negative zero, a zero timedelta and float subclasses behave as timeout 0: one poll."""
    polls: list[int] = []

    def poll() -> str:
        polls.append(1)
        return "PENDING"

    with pytest.raises(tarry.OperationTimedOut):
        fake_wait(poll, timeout=timeout)
    assert polls == [1]


def test_timeout_of_1e_300_polls_now_and_once_at_its_deadline() -> None:
    """A 1e-300 s timeout is a real (tiny) deadline: a poll now, a final one at it."""
    clock = FakeClock()
    with pytest.raises(tarry.OperationTimedOut) as timed_out:
        tarry.wait(script("PENDING"), SPEC, clock=clock, timeout=1e-300)
    assert timed_out.value.attempts == 2
    assert clock.sleeps == [0.0, 1e-300]


def test_backoff_class_instead_of_instance_is_refused() -> None:
    """backoff=tarry.Linear (the class) is a TypeError at once, not at the first sleep."""
    with pytest.raises(TypeError, match=r"instance such as Linear\(\)"):
        tarry.Policy(backoff=tarry.Linear)  # type: ignore[arg-type]


class FixedBackoff:
    def __init__(self, delay: Any) -> None:
        self.value = delay

    def delay(self, n: int, previous: float, rng: Any) -> Any:
        return self.value


@pytest.mark.parametrize("delay", [None, "1", True, -0.5, math.nan, math.inf, 10**400])
def test_custom_backoff_nonsense_is_a_value_error(delay: Any) -> None:
    """A custom backoff that answers None, text, bool, negative, NaN or huge is refused."""
    with pytest.raises(ValueError, match="backoff gave an invalid delay"):
        fake_wait(script("PENDING"), backoff=FixedBackoff(delay))


@pytest.mark.parametrize(
    "retry_on",
    [KeyboardInterrupt, asyncio.CancelledError, (ConnectionError, SystemExit), GeneratorExit],
)
def test_retry_on_cannot_name_cancellation_or_exits(retry_on: Any) -> None:
    """retry_on naming an exception that is never offered to it is a TypeError."""
    with pytest.raises(TypeError, match="never retried"):
        tarry.Policy(retry_on=retry_on)


@pytest.mark.parametrize("retry_on", [ValueError("x"), [ValueError], "ValueError", dict])
def test_retry_on_of_the_wrong_kind_is_refused(retry_on: Any) -> None:
    """An instance, a list, a name or a non-exception class is not a retry_on."""
    with pytest.raises(TypeError, match="retry_on"):
        tarry.Policy(retry_on=retry_on)


async def _async_retry_on(error: Exception) -> bool:
    return True


def test_async_retry_on_predicate_is_refused() -> None:
    """An async retry_on predicate is refused up front: its coroutine would look truthy."""
    with pytest.raises(TypeError, match="plain function"):
        tarry.Policy(retry_on=cast(Any, _async_retry_on))


def test_raising_retry_on_predicate_ends_the_wait_with_its_error() -> None:
    """A retry_on predicate that raises is never taken as "retry": its error propagates,
    with the poll error as its context, after exactly one poll."""
    polls: list[int] = []
    poll_error = ConnectionError("reset")

    def poll() -> Any:
        polls.append(1)
        raise poll_error

    def broken(error: Exception) -> bool:
        raise LookupError("predicate bug")

    with pytest.raises(LookupError, match="predicate bug") as raised:
        fake_wait(poll, retry_on=broken)
    assert raised.value.__context__ is poll_error
    assert polls == [1]


def test_machine_is_over_after_a_raising_retry_on_predicate() -> None:
    """Driving the core by hand, a raising predicate leaves the machine ERRORED."""

    def broken(error: Exception) -> bool:
        raise LookupError("predicate bug")

    machine = tarry.Machine(SPEC, tarry.Policy(retry_on=broken))
    machine.start(0.0)
    with pytest.raises(LookupError):
        machine.poll_failed(ConnectionError(), 0.0)
    assert machine.phase is tarry.Phase.ERRORED
    with pytest.raises(tarry.UsageError):
        machine.polled(RUN, 1.0)


def test_retry_on_lambda_returning_a_coroutine_is_a_type_error() -> None:
    """A lambda around an async predicate gives a TypeError, not endless retries."""

    def poll() -> Any:
        raise ConnectionError("reset")

    with pytest.raises(TypeError, match="retry_on predicate returned an awaitable"):
        fake_wait(poll, retry_on=cast(Any, lambda e: _async_retry_on(e)))


@pytest.mark.parametrize("name", ["max_retry_after", "request_floor"])
@pytest.mark.parametrize("value", [-1, math.nan, math.inf, 1e308])
def test_limits_must_be_sane_numbers(name: str, value: float) -> None:
    """max_retry_after and request_floor refuse negative, NaN, infinite and absurd values."""
    with pytest.raises(ValueError, match=name):
        tarry.Policy(**cast(Any, {name: value}))


# -- Clocks -------------------------------------------------------------------------------


class ScriptedClock:
    """A sync clock that reads its times from a list (the last one repeats)."""

    def __init__(self, *times: Any) -> None:
        self.times = list(times)

    def now(self) -> Any:
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]

    def sleep(self, seconds: float) -> None:
        pass


@pytest.mark.parametrize(
    ("times", "error", "words"),
    [
        ((100.0, 50.0), ValueError, "time went backwards"),
        ((0.0, math.nan), ValueError, "finite"),
        ((math.inf,), ValueError, "finite"),
        ((0.0, "1"), TypeError, "now must be a number"),
        ((None,), TypeError, "now must be a number"),
    ],
)
def test_broken_clock_readings_fail_at_once(
    times: tuple[Any, ...], error: type[Exception], words: str
) -> None:
    """A clock going backwards, NaN, infinite or not a number is an error, never a hang."""
    with pytest.raises(error, match=words):
        tarry.wait(script("PENDING"), SPEC, clock=ScriptedClock(*times), timeout=10)


@pytest.mark.parametrize("clock", [42, object(), FakeClock, AsyncFakeClock()])
def test_wrong_sync_clocks_are_refused_up_front(clock: Any) -> None:
    """Not a clock, a clock class, or an async clock: a TypeError before the first poll."""
    with pytest.raises(TypeError, match="clock"):
        tarry.wait(script(RUN), SPEC, clock=clock)
    with pytest.raises(TypeError, match="clock"):
        tarry.Wait(script(RUN), SPEC, clock=clock)


def test_a_raising_sleep_propagates_and_is_not_a_poll_error() -> None:
    """An error from the clock's sleep is not offered to retry_on: it ends the wait."""

    class BrokenSleep(FakeClock):
        def sleep(self, seconds: float) -> None:
            raise OSError("sleep failed")

    with pytest.raises(OSError, match="sleep failed"):
        tarry.wait(script(RUN), SPEC, clock=BrokenSleep(), retry_on=OSError)


def test_a_raising_clock_propagates_and_is_not_a_poll_error() -> None:
    """An error from the clock's now() after a poll ends the wait as it is."""

    class BrokenNow(FakeClock):
        def now(self) -> float:
            if self.sleeps:
                raise OSError("clock unreadable")
            return 0.0

    with pytest.raises(OSError, match="clock unreadable"):
        tarry.wait(script("PENDING"), SPEC, clock=BrokenNow(), retry_on=OSError)


def test_system_sleep_of_any_length_never_overflows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backoff of 1e10 s sleeps in pieces time.sleep accepts, not an OverflowError."""
    pieces: list[float] = []
    monkeypatch.setattr(time, "sleep", pieces.append)
    _sync.SystemClock().sleep(1e10)
    assert max(pieces) <= 86400.0
    assert math.isclose(sum(pieces), 1e10)


def test_request_budget_of_a_centuries_long_wait_is_capped() -> None:
    """request_timeout() inside a 317-year wait gives at most a year, which sockets accept."""
    seen: list[float | None] = []

    def poll() -> str:
        seen.append(tarry.request_timeout())
        return RUN

    fake_wait(poll, timeout=1e10)
    assert seen == [365 * 86400.0]


def test_centuries_long_http_wait_over_loopback_succeeds() -> None:
    """An HTTP wait with timeout=1e10 s polls the embedded server instead of overflowing."""
    from tarry import http as tarry_http

    with OperationsServer() as server, httpx.Client() as client:
        created = client.post(f"{server.url}/api/2.1/clusters/create", json={"cluster_name": "x"})
        cluster_id = created.json()["cluster_id"]
        waiter = tarry_http.databricks_wait(
            client,
            f"{server.url}/api/2.1/clusters/get?cluster_id={cluster_id}",
            success={RUN},
            failure={"ERROR"},
            policy=tarry.Policy(timeout=1e10, backoff=tarry.Constant(0.05)),
        )
        assert waiter.result().state == RUN


# -- Wait objects -------------------------------------------------------------------------


@pytest.mark.parametrize("rng", [42, "seed", object()])
def test_a_seed_where_the_generator_belongs_is_refused_up_front(rng: Any) -> None:
    """rng=42 is a TypeError that says how to seed, not an AttributeError at a sleep."""
    for build in (
        lambda: tarry.Wait(script(RUN), SPEC, rng=rng),
        lambda: tarry.AsyncWait(_async_poll, SPEC, rng=rng),
        lambda: tarry.Machine(SPEC, None, rng),
        lambda: fake_wait(script("PENDING", RUN), rng=rng),
    ):
        with pytest.raises(TypeError, match=r"rng must be a random\.Random"):
            build()


def test_initial_retry_after_of_the_wrong_type_is_refused() -> None:
    """An initial hint given as text would be silently ignored: a TypeError instead."""
    with pytest.raises(TypeError, match="retry_after must be seconds or None"):
        tarry.Wait(script(RUN), SPEC, retry_after=cast(Any, "10"))


@pytest.mark.parametrize("name", ["result", "_poll", "_bound", "_clock", "__dict__", "__class__"])
def test_bound_names_cannot_shadow_wait_attributes(name: str) -> None:
    """Binding result=... or a private name would be silently unreachable: a TypeError."""
    with pytest.raises(TypeError, match=f"cannot bind {name!r}"):
        tarry.Wait(script(RUN), SPEC, **cast(Any, {name: 1}))
    with pytest.raises(TypeError, match=f"cannot bind {name!r}"):
        tarry.AsyncWait(script(RUN), SPEC, **cast(Any, {name: 1}))


def test_repr_stays_short_with_huge_and_many_bound_values() -> None:
    """Thousands of bound values, megabyte strings and a huge name keep the repr short."""
    values: dict[str, Any] = {f"k{i}": "v" * 10_000 for i in range(5000)}
    many = tarry.Wait(script(RUN), SPEC, **values)
    assert len(repr(many)) < 1000
    assert "(+4992 more)" in repr(many)
    named = tarry.Wait(script(RUN), make_spec(name="n" * 100_000), big=list(range(100_000)))
    assert len(repr(named)) < 300


def test_result_from_inside_its_own_callback_is_an_independent_wait() -> None:
    """Calling result() re-entrantly from the callback runs a separate wait to the end."""
    w = tarry.Wait(script("PENDING", RUN, "PENDING", RUN), SPEC, clock=FakeClock())
    inner: list[Any] = []

    def callback(entity: Any) -> None:
        if not inner:
            inner.append(w.result(timeout=60))

    assert w.result(timeout=60, callback=callback) == RUN
    assert inner == [RUN]
    assert tarry.request_timeout() is None


async def _async_poll() -> str:
    return RUN


def test_async_poll_in_a_sync_wait_is_refused_up_front() -> None:
    """An async def poll given to Wait or wait() is a TypeError before anything runs."""
    with pytest.raises(TypeError, match="use AsyncWait"):
        tarry.Wait(cast(Any, _async_poll), SPEC)
    with pytest.raises(TypeError, match="use async_wait"):
        tarry.wait(_async_poll, SPEC)


def test_sync_poll_returning_a_coroutine_is_a_type_error_without_warning() -> None:
    """A lambda around an async call gives a TypeError, and no never-awaited warning."""
    with pytest.raises(TypeError, match="returned a coroutine"):
        fake_wait(lambda: _async_poll())


async def _async_callback(entity: Any) -> None:
    pass


def test_async_callback_in_a_sync_wait_is_refused() -> None:
    """An async callback would silently never run in a sync wait: a TypeError instead."""
    with pytest.raises(TypeError, match="callback is an async function"):
        fake_wait(script("PENDING", RUN), callback=_async_callback)
    with pytest.raises(TypeError, match="callback returned a coroutine"):
        fake_wait(script("PENDING", RUN), callback=lambda e: _async_callback(e))
    with pytest.raises(TypeError, match="callback must be callable"):
        fake_wait(script(RUN), callback="print")


@pytest.mark.anyio
async def test_sync_poll_in_an_async_wait_is_a_clear_type_error() -> None:
    """A plain poll under AsyncWait is a TypeError, never offered to retry_on=TypeError."""
    polls: list[int] = []

    def poll() -> str:
        polls.append(1)
        return RUN

    with pytest.raises(TypeError, match="not an awaitable"):
        await tarry.async_wait(poll, SPEC, clock=AsyncFakeClock(), retry_on=TypeError)  # type: ignore[arg-type]
    assert polls == [1]


@pytest.mark.anyio
async def test_async_wait_refuses_a_callback_or_poll_that_cannot_be_called() -> None:
    """A non-callable callback or poll is a TypeError before the first poll, not mid-wait."""
    with pytest.raises(TypeError, match="callback must be callable"):
        await tarry.async_wait(_async_poll, SPEC, callback=cast(Any, "print"))
    with pytest.raises(TypeError, match="callback must be callable"):
        await tarry.AsyncWait(_async_poll, SPEC).result(callback=cast(Any, 42))
    with pytest.raises(TypeError, match="poll must be callable"):
        await tarry.async_wait(cast(Any, None), SPEC)


@pytest.mark.anyio
async def test_async_poll_returning_a_coroutine_is_a_type_error() -> None:
    """An async poll that forgot to await its inner call is refused, not read as an entity."""

    async def poll() -> Any:
        return _async_poll()

    with pytest.raises(TypeError, match="await the inner call"):
        await tarry.async_wait(poll, SPEC, clock=AsyncFakeClock())


@pytest.mark.anyio
async def test_sync_fake_clock_in_an_async_wait_is_a_clear_type_error() -> None:
    """FakeClock (the sync one) under an async wait names AsyncFakeClock."""

    with pytest.raises(TypeError, match="AsyncFakeClock"):
        await tarry.async_wait(_async_poll, SPEC, clock=FakeClock())  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_async_result_from_inside_its_own_callback() -> None:
    """An async callback may await result() of its own wait: an independent wait."""
    entities = ["PENDING", RUN, "PENDING", RUN]

    async def poll() -> str:
        return entities.pop(0) if len(entities) > 1 else entities[0]

    w = tarry.AsyncWait(poll, SPEC, clock=AsyncFakeClock())
    inner: list[Any] = []

    async def callback(entity: Any) -> None:
        if not inner:
            inner.append(await w.result(timeout=60))

    assert await w.result(timeout=60, callback=callback) == RUN
    assert inner == [RUN]


# -- Cancellation corners -----------------------------------------------------------------


@pytest.mark.anyio
async def test_cancel_while_the_async_callback_is_awaited() -> None:
    """Cancelling during an awaited callback ends the wait at once and resets the budget."""
    entered = anyio.Event()

    async def callback(entity: Any) -> None:
        entered.set()
        await anyio.sleep_forever()

    async def poll() -> str:
        return "PENDING"

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:

            async def waiter() -> None:
                await tarry.async_wait(poll, SPEC, timeout=60, callback=callback)

            group.start_soon(waiter)
            await entered.wait()
            scope.cancel()
    assert scope.cancelled_caught
    assert tarry.request_timeout() is None


@pytest.mark.anyio
async def test_cancel_during_the_final_poll_is_not_a_timeout() -> None:
    """Cancelled while the final poll hangs, the wait propagates cancellation, not a timeout."""
    clock = AsyncFakeClock()
    final_started = anyio.Event()

    async def poll() -> str:
        if clock.now() >= 5.0:
            final_started.set()
            await anyio.sleep_forever()
        return "PENDING"

    outcome: list[BaseException] = []
    async with anyio.create_task_group() as group:

        async def waiter() -> None:
            try:
                await tarry.async_wait(poll, SPEC, clock=clock, timeout=5)
            except BaseException as exc:
                outcome.append(exc)
                raise

        group.start_soon(waiter)
        await final_started.wait()
        group.cancel_scope.cancel()
    assert len(outcome) == 1
    assert not isinstance(outcome[0], tarry.OperationTimedOut)
    assert isinstance(outcome[0], anyio.get_cancelled_exc_class())


@pytest.mark.anyio
async def test_success_decided_before_a_cancel_lands_is_returned() -> None:
    """A cancel requested during the successful poll lands after result() returns: no
    checkpoint follows a success, so the entity is never lost."""
    got: list[Any] = []
    with anyio.CancelScope() as scope:

        async def poll() -> str:
            scope.cancel()
            return RUN

        got.append(await tarry.async_wait(poll, SPEC, clock=AsyncFakeClock(), timeout=60))
    assert got == [RUN]


@pytest.mark.anyio
async def test_framework_timeout_shorter_than_the_wait_wins() -> None:
    """anyio.fail_after around a longer wait raises the framework's TimeoutError, not
    tarry's OperationTimedOut."""

    async def poll() -> str:
        return "PENDING"

    with pytest.raises(TimeoutError) as raised:
        with anyio.fail_after(0.05):
            await tarry.async_wait(poll, SPEC, timeout=60, backoff=tarry.Constant(0.01))
    assert not isinstance(raised.value, tarry.OperationTimedOut)


def test_asyncio_wait_for_shorter_than_the_wait_wins() -> None:
    """asyncio.wait_for around a longer wait ends in asyncio's own timeout."""

    async def poll() -> str:
        return "PENDING"

    async def main() -> None:
        await asyncio.wait_for(
            tarry.async_wait(poll, SPEC, timeout=60, backoff=tarry.Constant(0.01)), 0.05
        )

    with pytest.raises(asyncio.TimeoutError) as raised:
        asyncio.run(main())
    assert not isinstance(raised.value, tarry.OperationTimedOut)


def test_trio_move_on_after_shorter_than_the_wait_wins() -> None:
    """trio.move_on_after around a longer wait just cancels it; no OperationTimedOut."""
    import trio

    async def poll() -> str:
        return "PENDING"

    async def main() -> bool:
        with trio.move_on_after(0.05) as scope:
            await tarry.async_wait(poll, SPEC, timeout=60, backoff=tarry.Constant(0.01))
        return bool(scope.cancelled_caught)

    assert trio.run(main)


def test_keyboard_interrupt_in_the_callback_propagates_and_resets_the_budget() -> None:
    """Ctrl-C in a sync callback propagates at once; the request budget is cleared."""

    def callback(entity: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fake_wait(script("PENDING", RUN), callback=callback)
    assert tarry.request_timeout() is None


def test_generator_exit_from_a_poll_is_never_offered_to_retry_on() -> None:
    """GeneratorExit (a BaseException) passes through even with retry_on=BaseException."""
    offered: list[BaseException] = []

    def poll() -> Any:
        raise GeneratorExit

    def everything(error: Exception) -> bool:
        offered.append(error)
        return True

    with pytest.raises(GeneratorExit):
        fake_wait(poll, retry_on=everything)
    assert offered == []


class _Suspend:
    def __await__(self) -> Generator[None, None, None]:
        yield


class SuspendingClock:
    """An async clock whose sleep suspends the coroutine once, with no event loop."""

    def now(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await _Suspend()


def test_closing_a_suspended_async_wait_cleans_up() -> None:
    """A wait coroutine closed mid-sleep (GeneratorExit inside) leaves no budget behind."""
    waiting = tarry.async_wait(_async_poll, SPEC, clock=SuspendingClock(), timeout=60)
    waiting.send(None)
    assert tarry.request_timeout() == 60.0
    waiting.close()
    assert tarry.request_timeout() is None


# -- The command line, in process, with every request answered by a mock transport -------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every httpx.Client made by the CLI answers READY from memory; yields the URLs sent."""
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={"state": "READY"})

    original = httpx.Client.__init__

    def patched(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        kwargs["transport"] = httpx.MockTransport(answer)
        original(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", patched)
    return sent


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``tarry ARGS`` in this process; returns (exit code, stdout, stderr)."""
    from tarry.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


RESOURCE = ("--state", "state", "--success", "READY", "--interval", "0.01", "--timeout", "5")


@pytest.mark.parametrize(
    "url",
    [
        "example.test/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://127.0.0.1/x\r\nX-Injected: 1",
        "http://127.0.0.1:99999/x",
        "http://127.0.0.1/\udcff",
        "//127.0.0.1/x",
        "",
    ],
)
def test_cli_hostile_urls_exit_2_before_any_request(url: str, offline: list[str]) -> None:
    """Schemeless, file:, javascript:, CRLF, bad port, non-UTF-8 URLs: exit 2, no request."""
    code, out, err = cli("wait", url, *RESOURCE)
    assert (code, out, offline) == (2, "", [])
    assert "must be an absolute http:// or https:// URL" in err
    assert "Traceback" not in err


def test_cli_very_long_url_error_is_bounded(offline: list[str]) -> None:
    """A 100 000-character URL is refused with a message of bounded length."""
    code, _, err = cli("wait", "http://127.0.0.1/" + "a" * 100_000, *RESOURCE)
    assert code == 2
    assert len(err) < 1000
    assert offline == []


def test_cli_unicode_host_is_sent_as_its_ascii_form(offline: list[str]) -> None:
    """An internationalised host name reaches httpx in IDNA form, not as raw Unicode."""
    code, _, _ = cli("wait", "http://bücher.test/x", *RESOURCE)
    assert code == 0
    assert offline == ["http://xn--bcher-kva.test/x"]


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e400", "1e308"])
def test_cli_nonsense_timeouts_exit_2(value: str, offline: list[str]) -> None:
    """--timeout NaN, infinite, negative or beyond any deadline: exit 2 before a request."""
    code, _, err = cli("wait", "http://127.0.0.1/x", *RESOURCE, "--timeout", value)
    assert (code, offline) == (2, [])
    assert "--timeout" in err


def test_cli_interval_zero_still_ends(offline: list[str]) -> None:
    """--interval 0 and --max-interval 0 poll without sleeping and still succeed."""
    code, _, _ = cli(
        "wait", "http://127.0.0.1/x", *RESOURCE, "--interval", "0", "--max-interval", "0"
    )
    assert code == 0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("[" * 100_000 + "]" * 100_000, "--data is not valid JSON"),
        ("NaN", "--data is not valid JSON"),
        ("1e400", "--data is not valid JSON"),
        ('"\udcff"', "--data is not valid UTF-8"),
        ("9" * 5000, "--data is not valid JSON"),
    ],
)
def test_cli_hostile_data_exits_2_naming_data(data: str, words: str, offline: list[str]) -> None:
    """Deeply nested, NaN, overflowing, non-UTF-8 or giant-integer --data names --data."""
    code, _, err = cli("wait", "http://127.0.0.1/x", *RESOURCE, "--method", "POST", "--data", data)
    assert (code, offline) == (2, [])
    assert words in err


def test_cli_huge_data_is_sent_whole(offline: list[str]) -> None:
    """A ten-megabyte JSON body is accepted and the wait goes on."""
    data = '{"a": "' + "x" * 10_000_000 + '"}'
    code, _, _ = cli("wait", "http://127.0.0.1/x", *RESOURCE, "--method", "POST", "--data", data)
    assert code == 0


@pytest.mark.parametrize("header", ["X-A: b\r\nX-Injected: 1", "X-A: b\nc", "X-A: \x00", "X-A: é"])
def test_cli_header_injection_is_refused(header: str, offline: list[str]) -> None:
    """CRLF, NUL and non-ASCII in a -H value: exit 2 before any request."""
    code, _, err = cli("wait", "http://127.0.0.1/x", *RESOURCE, "-H", header)
    assert (code, offline) == (2, [])
    assert "printable ASCII" in err


def test_cli_non_utf8_param_names_the_param(offline: list[str]) -> None:
    """A --param that arrived as invalid UTF-8 is exit 2 naming --param."""
    code, _, err = cli("wait", "http://127.0.0.1/x", *RESOURCE, "--param", "key=\udcff")
    assert (code, offline) == (2, [])
    assert "--param 'key' is not valid UTF-8" in err


def test_cli_crlf_in_a_param_is_percent_encoded(offline: list[str]) -> None:
    """CRLF in a --param value travels percent-encoded in the query, never raw."""
    code, _, _ = cli("wait", "http://127.0.0.1/x", *RESOURCE, "--param", "a=b\r\nX: y")
    assert code == 0
    assert len(offline) == 1
    assert "\r" not in offline[0]
    assert "\n" not in offline[0]
    assert "a=b%0D%0A" in offline[0]


def test_cli_non_utf8_argv_in_a_real_process_exits_2() -> None:
    """Raw non-UTF-8 bytes in argv (a real process) give exit 2 without a traceback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = subprocess.run(
        [
            sys.executable.encode(),
            b"-m",
            b"tarry",
            b"wait",
            f"http://127.0.0.1:{port}/".encode() + b"\xff\xfe",
            *(arg.encode() for arg in RESOURCE),
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr
    assert b"absolute http://" in done.stderr
