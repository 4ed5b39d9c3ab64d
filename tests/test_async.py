"""The async driver under asyncio and trio: virtual time, callbacks and cancellation."""

from __future__ import annotations

import asyncio
import copy
import math
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import pytest
import trio
import trio.testing

import tarry
from tarry import Constant, OperationFailed, OperationTimedOut, Policy
from tarry.testing import AsyncFakeClock


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
PENDING = Cluster("PENDING")
RUNNING = Cluster("RUNNING")


def script(*replies: Cluster | Exception) -> Callable[[], Awaitable[Cluster]]:
    """An async poll that answers each reply in turn, then repeats the last one."""
    queue = list(replies)

    async def poll() -> Cluster:
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    return poll


class Offered:
    """A retry_on predicate that records every error it is shown."""

    def __init__(self) -> None:
        self.seen: list[BaseException] = []

    def __call__(self, error: Exception) -> bool:
        self.seen.append(error)
        return True


def live_tasks(backend: str) -> int:
    """How many tasks the running event loop has."""
    if backend == "asyncio":
        return len(asyncio.all_tasks())

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return count(root)


# -- the basics on virtual time, both backends -----------------------------------------------


@pytest.mark.anyio
async def test_async_wait_succeeds_on_virtual_time() -> None:
    """async_wait sleeps on the fake clock and returns the successful entity."""
    clock = AsyncFakeClock()
    result = await tarry.async_wait(
        script(PENDING, PENDING, RUNNING), SPEC, clock=clock, backoff=Constant(3)
    )
    assert result is RUNNING
    assert clock.sleeps == [0.0, 3.0, 3.0]


@pytest.mark.anyio
async def test_async_wait_fails_with_the_message() -> None:
    """A failure state raises OperationFailed with the standard text."""
    with pytest.raises(OperationFailed, match=r"^cluster failed to reach RUNNING, got ERROR: oom$"):
        await tarry.async_wait(script(Cluster("ERROR", "oom")), SPEC, clock=AsyncFakeClock())


@pytest.mark.anyio
async def test_async_wait_times_out_after_a_final_poll_at_the_deadline() -> None:
    """A 20-minute default wait ends at exactly 1200 s of virtual time, after a final poll."""
    clock = AsyncFakeClock()
    polls: list[float] = []

    async def poll() -> Cluster:
        polls.append(clock.now())
        return PENDING

    with pytest.raises(OperationTimedOut) as caught:
        await tarry.async_wait(poll, SPEC, clock=clock)
    assert polls[-1] == 1200.0
    assert caught.value.elapsed == timedelta(minutes=20)
    assert str(caught.value) == "timed out after 0:20:00: cluster is PENDING"


@pytest.mark.anyio
async def test_async_wait_object_and_result_twice() -> None:
    """AsyncWait keeps response and bound arguments, and each result() is a new wait."""
    clock = AsyncFakeClock()
    w = tarry.AsyncWait(
        script(PENDING),
        SPEC,
        response="created",
        clock=clock,
        policy=Policy(timeout=4, backoff=Constant(2)),
        run_id=7,
    )
    assert (w.response, w.run_id) == ("created", 7)
    assert repr(w) == "<AsyncWait cluster run_id=7>"
    with pytest.raises(AttributeError):
        _ = w.job_id
    for _ in range(2):
        with pytest.raises(OperationTimedOut) as caught:
            await w.result()
        assert caught.value.attempts == 3
    assert clock.sleeps == [0.0, 2.0, 2.0] * 2
    clone = copy.copy(w)
    assert clone.run_id == 7
    with pytest.raises(OperationTimedOut):
        await clone.result()
    assert len(clock.sleeps) == 9


@pytest.mark.anyio
async def test_async_result_takes_timeout_and_an_initial_hint() -> None:
    """result(timeout=) overrides the policy; retry_after delays the first poll."""
    clock = AsyncFakeClock()
    w = tarry.AsyncWait(script(PENDING), SPEC, clock=clock, retry_after=5.0)
    with pytest.raises(OperationTimedOut) as caught:
        await w.result(timeout=timedelta(seconds=3))
    assert caught.value.timeout == timedelta(seconds=3)
    assert clock.sleeps == [3.0]


@pytest.mark.anyio
async def test_request_timeout_inside_an_async_poll() -> None:
    """tarry.request_timeout() inside an async poll is the floored time left; None outside."""
    seen: list[float | None] = []

    async def poll() -> Cluster:
        seen.append(tarry.request_timeout())
        await anyio.sleep(0)
        seen.append(tarry.request_timeout())
        return PENDING

    with pytest.raises(OperationTimedOut):
        await tarry.async_wait(poll, SPEC, timeout=5, clock=AsyncFakeClock(), backoff=Constant(2))
    assert seen == [5.0, 5.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0]
    assert tarry.request_timeout() is None


@pytest.mark.anyio
async def test_fatal_error_propagates_unchanged_and_transients_are_retried() -> None:
    """A non-transient error is the same object; retry_on errors are retried."""
    error = PermissionError("403")
    with pytest.raises(PermissionError) as caught:
        await tarry.async_wait(
            script(error), SPEC, clock=AsyncFakeClock(), retry_on=ConnectionError
        )
    assert caught.value is error
    clock = AsyncFakeClock()
    result = await tarry.async_wait(
        script(ConnectionError(), PENDING, RUNNING), SPEC, clock=clock, retry_on=ConnectionError
    )
    assert result is RUNNING
    assert len(clock.sleeps) == 3


# -- callbacks --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_plain_callback_sees_every_unsuccessful_entity() -> None:
    """A plain function callback sees each non-success entity, the failing one included."""
    replies = [PENDING, Cluster("PENDING", "almost"), Cluster("ERROR", "boom")]
    seen: list[Cluster] = []
    with pytest.raises(OperationFailed):
        await tarry.async_wait(script(*replies), SPEC, clock=AsyncFakeClock(), callback=seen.append)
    assert seen == replies


@pytest.mark.anyio
async def test_async_callback_is_awaited_before_the_next_sleep() -> None:
    """An async callback finishes before the driver sleeps again."""
    clock = AsyncFakeClock()
    log: list[tuple[str, int]] = []

    async def show(entity: Cluster) -> None:
        log.append(("start", len(clock.sleeps)))
        await anyio.sleep(0)
        log.append(("end", len(clock.sleeps)))

    result = await tarry.async_wait(
        script(PENDING, PENDING, RUNNING), SPEC, clock=clock, callback=show
    )
    assert result is RUNNING
    assert log == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]


@pytest.mark.anyio
@pytest.mark.parametrize("is_async", [False, True])
async def test_raising_callback_propagates_as_is(is_async: bool) -> None:
    """An exception from a plain or async callback ends the wait unchanged."""
    error = LookupError("stop")
    polls: list[int] = []

    async def poll() -> Cluster:
        polls.append(1)
        return PENDING

    def plain(entity: Cluster) -> None:
        raise error

    async def awaited(entity: Cluster) -> None:
        raise error

    callback = awaited if is_async else plain
    with pytest.raises(LookupError) as caught:
        await tarry.async_wait(poll, SPEC, clock=AsyncFakeClock(), callback=callback)
    assert caught.value is error
    assert polls == [1]


# -- the running library's clock and cancellation -----------------------------------------------


@pytest.mark.anyio
async def test_running_clock_drives_a_short_real_wait() -> None:
    """Without a clock argument the running library's clock and sleep are used."""
    polls: list[int] = []

    async def poll() -> Cluster:
        polls.append(1)
        return PENDING

    with pytest.raises(OperationTimedOut) as caught:
        await tarry.async_wait(poll, SPEC, timeout=0.05, backoff=Constant(0.01))
    assert caught.value.elapsed >= timedelta(seconds=0.05)
    assert len(polls) >= 1


def test_one_clock_serves_every_wait_and_a_loop_with_its_own_time_keeps_it() -> None:
    """asyncio loops' own time() is time.monotonic, so one clock serves them all; a
    loop class with a time() of its own (a virtual clock, say) is honoured."""
    import time

    from tarry._async import running_clock

    async def two() -> tuple[Any, Any]:
        return running_clock(), running_clock()

    first, second = asyncio.run(two())
    assert first is second
    assert first.now is time.monotonic

    class Virtual(asyncio.SelectorEventLoop):
        def time(self) -> float:
            return 1000.0 + super().time()

    loop = Virtual()
    try:
        clock = loop.run_until_complete(two())[0]
        assert clock.now() >= 1000.0
        polls: list[int] = []

        async def poll() -> Cluster:
            polls.append(1)
            return PENDING

        with pytest.raises(OperationTimedOut):
            loop.run_until_complete(
                tarry.async_wait(poll, SPEC, timeout=0.02, backoff=Constant(0.005))
            )
        assert polls
    finally:
        loop.close()

    async def under_trio() -> tuple[Any, Any, float, float]:
        one, other = running_clock(), running_clock()
        return one, other, one.now(), trio.current_time()

    one, other, ours, theirs = trio.run(under_trio)
    assert one is other
    assert one.now is trio.current_time
    assert ours <= theirs

    virtual = trio.testing.MockClock(rate=0.0)
    virtual.jump(500.0)

    async def mocked() -> float:
        return float(running_clock().now())

    assert trio.run(mocked, clock=virtual) == 500.0


def test_running_clock_outside_any_loop_says_what_it_needs() -> None:
    from tarry._async import running_clock

    with pytest.raises(RuntimeError, match="running asyncio or trio event loop"):
        running_clock()


async def cancel_once(started: anyio.Event, wait: Callable[[], Coroutine[Any, Any, None]]) -> bool:
    """Run ``wait`` in a task group and cancel the group as soon as ``started`` is set."""
    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        await started.wait()
        group.cancel_scope.cancel()
    return group.cancel_scope.cancel_called


@pytest.mark.anyio
async def test_cancel_during_sleep_propagates_and_leaves_nothing(anyio_backend: str) -> None:
    """Cancelling a wait while it sleeps stops it there; retry_on never sees the cancel."""
    offered = Offered()
    polls: list[int] = []
    shown = anyio.Event()

    async def poll() -> Cluster:
        polls.append(1)
        return PENDING

    async def wait() -> None:
        # The callback runs right before the 60 s sleep: the cancel lands in that sleep.
        await tarry.async_wait(
            poll, SPEC, backoff=Constant(60), retry_on=offered, callback=lambda c: shown.set()
        )

    before = live_tasks(anyio_backend)
    assert await cancel_once(shown, wait)
    assert polls == [1]
    assert offered.seen == []
    assert live_tasks(anyio_backend) == before
    assert tarry.request_timeout() is None


@pytest.mark.anyio
async def test_cancel_during_poll_propagates_and_leaves_nothing(anyio_backend: str) -> None:
    """Cancelling a wait inside its poll cancels the poll; retry_on never sees it."""
    offered = Offered()
    budgets: list[float | None] = []
    entered = anyio.Event()

    async def poll() -> Cluster:
        budgets.append(tarry.request_timeout())
        entered.set()
        await anyio.sleep_forever()
        raise AssertionError("not reached")

    async def wait() -> None:
        await tarry.async_wait(poll, SPEC, timeout=60, retry_on=offered)

    before = live_tasks(anyio_backend)
    assert await cancel_once(entered, wait)
    # Computed when the request is made, on the real clock: a little under 60 s.
    assert len(budgets) == 1
    assert budgets[0] is not None
    assert 59.0 < budgets[0] <= 60.0
    assert offered.seen == []
    assert tarry.request_timeout() is None
    assert live_tasks(anyio_backend) == before


@pytest.mark.anyio
async def test_cancel_scope_deadline_ends_a_wait(anyio_backend: str) -> None:
    """An anyio cancel scope with a deadline ends a long wait when it expires."""
    offered = Offered()
    before = live_tasks(anyio_backend)
    with anyio.move_on_after(0.05) as scope:
        await tarry.async_wait(script(PENDING), SPEC, backoff=Constant(60), retry_on=offered)
    assert scope.cancelled_caught
    assert offered.seen == []
    assert live_tasks(anyio_backend) == before


@pytest.mark.anyio
async def test_fake_clock_sleeps_are_cancellation_points() -> None:
    """AsyncFakeClock yields at each sleep, so an already-cancelled wait stops before polling."""
    polls: list[int] = []

    async def poll() -> Cluster:
        polls.append(1)
        return PENDING

    with anyio.CancelScope() as scope:
        scope.cancel()
        await tarry.async_wait(poll, SPEC, clock=AsyncFakeClock())
    assert scope.cancelled_caught
    assert polls == []


# -- asyncio only -------------------------------------------------------------------------------


def test_asyncio_task_cancel_during_sleep() -> None:
    """task.cancel() during a sleep raises CancelledError out of the wait, untouched."""
    offered = Offered()

    async def poll() -> Cluster:
        return PENDING

    async def main() -> tuple[bool, int]:
        task = asyncio.create_task(
            tarry.async_wait(poll, SPEC, backoff=Constant(3600), retry_on=offered)
        )
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled(), len(asyncio.all_tasks())

    assert asyncio.run(main()) == (True, 1)
    assert offered.seen == []


def test_asyncio_task_cancel_during_poll() -> None:
    """task.cancel() during a poll cancels it; retry_on is never asked about it."""
    offered = Offered()
    entered = []

    async def poll() -> Cluster:
        entered.append(1)
        await asyncio.sleep(3600)
        return PENDING

    async def main() -> tuple[bool, int]:
        task = asyncio.create_task(tarry.async_wait(poll, SPEC, retry_on=offered))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled(), len(asyncio.all_tasks())

    assert asyncio.run(main()) == (True, 1)
    assert entered == [1]
    assert offered.seen == []


def test_asyncio_works_without_trio(monkeypatch: pytest.MonkeyPatch) -> None:
    """With trio not importable, asyncio waits run on the loop's clock and on a fake clock."""
    monkeypatch.setitem(sys.modules, "trio", None)

    async def main() -> tuple[Cluster, Cluster]:
        real = await tarry.async_wait(script(PENDING, RUNNING), SPEC, backoff=Constant(0.001))
        fake = await tarry.async_wait(script(PENDING, RUNNING), SPEC, clock=AsyncFakeClock())
        return real, fake

    assert asyncio.run(main()) == (RUNNING, RUNNING)


# -- trio only ----------------------------------------------------------------------------------


def test_trio_mock_clock_makes_twenty_minutes_pass_instantly() -> None:
    """Under trio's MockClock the default 20-minute wait runs to its end on virtual time."""
    polls: list[float] = []

    async def poll() -> Cluster:
        polls.append(trio.current_time())
        return PENDING

    async def main() -> tuple[float, OperationTimedOut]:
        start = trio.current_time()
        with pytest.raises(OperationTimedOut) as caught:
            await tarry.async_wait(poll, SPEC)
        return trio.current_time() - start, caught.value

    virtual, error = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert virtual == pytest.approx(1200.0)
    assert polls[-1] == pytest.approx(1200.0)
    assert error.elapsed.total_seconds() == pytest.approx(1200.0)
    assert error.timeout == timedelta(minutes=20)
    assert error.attempts == len(polls) > 100


def test_trio_mock_clock_late_success() -> None:
    """A success after 19 minutes of virtual time is returned, with the time it took."""

    async def poll() -> Cluster:
        return RUNNING if trio.current_time() >= 19 * 60 else PENDING

    async def main() -> tuple[Cluster, float]:
        result = await tarry.AsyncWait(poll, SPEC).result(timeout=timedelta(minutes=20))
        return result, trio.current_time()

    result, now = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert result is RUNNING
    assert 19 * 60 <= now <= 20 * 60


def test_trio_cancel_scope_during_sleep_and_poll() -> None:
    """trio cancel scopes stop a wait in a sleep or in a poll; nothing is offered to retry_on."""
    offered = Offered()

    async def pending() -> Cluster:
        return PENDING

    async def stuck() -> Cluster:
        await trio.sleep_forever()
        raise AssertionError("not reached")

    async def main() -> tuple[bool, bool, float, int, int]:
        before = live_tasks("trio")
        with trio.move_on_after(90) as in_sleep:
            await tarry.async_wait(pending, SPEC, backoff=Constant(600), retry_on=offered)
        t = trio.current_time()
        with trio.move_on_after(5) as in_poll:
            await tarry.async_wait(stuck, SPEC, retry_on=offered)
        return in_sleep.cancelled_caught, in_poll.cancelled_caught, t, before, live_tasks("trio")

    in_sleep, in_poll, t, before, after = trio.run(
        main, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    assert (in_sleep, in_poll) == (True, True)
    assert t == pytest.approx(90.0)
    assert before == after
    assert offered.seen == []


def test_trio_nursery_cancel_leaves_no_child() -> None:
    """A wait started in a nursery and cancelled there leaves the nursery empty."""

    async def pending() -> Cluster:
        return PENDING

    async def main() -> int:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tarry.async_wait, pending, SPEC)
            await trio.sleep(30)
            children = len(nursery.child_tasks)
            nursery.cancel_scope.cancel()
        return children + 10 * len(nursery.child_tasks)

    assert trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0)) == 1


# -- outside any event loop ---------------------------------------------------------------------


def test_async_wait_outside_an_event_loop_is_a_clear_error() -> None:
    """Driving async_wait without asyncio or trio running raises a RuntimeError that says so."""
    for coro in (
        tarry.async_wait(script(RUNNING), SPEC),
        tarry.AsyncWait(script(RUNNING), SPEC).result(),
    ):
        with pytest.raises(
            RuntimeError, match="tarry's async waits need a running asyncio or trio event loop"
        ):
            coro.send(None)


def test_async_wait_refuses_a_bad_timeout_before_anything_runs() -> None:
    """Argument errors come first, even outside an event loop."""
    coro = tarry.async_wait(script(RUNNING), SPEC, timeout=-1)
    with pytest.raises(ValueError, match="timeout must be non-negative"):
        coro.send(None)
    coro2 = tarry.async_wait(script(RUNNING), SPEC, timeout=math.nan)
    with pytest.raises(ValueError, match="timeout must not be NaN"):
        coro2.send(None)
