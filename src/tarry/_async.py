"""The async driver: one loop for asyncio and trio.

The running library is found at call time, and its own clock and sleep are used, so
trio's ``MockClock`` and asyncio's loop time both work. Only ``Exception`` is offered to
the core: cancellation (``asyncio.CancelledError``, ``trio.Cancelled``) and
``KeyboardInterrupt`` are ``BaseException`` and pass through untouched. The driver
starts no task and no thread, so nothing is left running when it is cancelled.
"""

from __future__ import annotations

import inspect
import random
import sys
import time
import types
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

from ._backoff import Backoff
from ._base import UNSET, WaitBase, make_policy
from ._budget import DrivenMachine, get_budget, set_budget
from ._core import Fail, Raise, Step, Succeed, TimeOut
from ._policy import Policy, RetryOn, Timeout
from ._spec import Spec

__all__ = ["AsyncClock", "AsyncWait", "async_wait", "running_clock"]

T = TypeVar("T")

AsyncCallback = Callable[[T], object]


class AsyncClock(Protocol):
    """Monotonic time and an awaitable sleep."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> Awaitable[None]: ...


class _Clock:
    __slots__ = ("now", "sleep")

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], Any]) -> None:
        self.now = now
        self.sleep = sleep


_trio_clock: _Clock | None = None
_asyncio_clock: _Clock | None = None


def _in_trio(trio: Any) -> bool:
    in_trio_task = getattr(trio.lowlevel, "in_trio_task", None)
    if in_trio_task is not None:
        return bool(in_trio_task())
    try:  # trio before 0.23
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def _plain_time(now: Callable[[], float]) -> Callable[[], float]:
    """``now``, or ``time.monotonic`` itself when ``now`` is an asyncio loop's own
    ``time()``, which is documented to return it: the same readings, one Python call
    fewer on every poll. A loop class or instance with its own ``time`` keeps it."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None and getattr(now, "__func__", None) is asyncio.BaseEventLoop.time:
        return time.monotonic
    return now


def running_clock() -> AsyncClock:
    """The clock of the async library running this task: trio's or asyncio's.

    Both are shared by every wait (an asyncio loop's own ``time()`` is
    ``time.monotonic``); a loop whose ``time`` is its own gets a clock of its own.
    """
    global _trio_clock, _asyncio_clock
    trio = sys.modules.get("trio")
    if trio is not None and _in_trio(trio):
        if _trio_clock is None:
            _trio_clock = _Clock(trio.current_time, trio.sleep)
        return _trio_clock
    asyncio = sys.modules.get("asyncio")
    loop = None if asyncio is None else asyncio._get_running_loop()
    if loop is None:
        raise RuntimeError("tarry's async waits need a running asyncio or trio event loop")
    now = _plain_time(loop.time)
    if now is not time.monotonic:
        return _Clock(now, asyncio.sleep)  # type: ignore[union-attr]
    if _asyncio_clock is None:
        _asyncio_clock = _Clock(time.monotonic, asyncio.sleep)  # type: ignore[union-attr]
    return _asyncio_clock


async def run(
    poll: Callable[[], Awaitable[T]],
    callback: AsyncCallback[T] | None,
    prepare: list[Any],
) -> T:
    """Drive the machine ``prepare`` makes to the end: the whole async driver.

    The machine is made here, on the first step, so argument errors surface where the
    wait is awaited; and ``async_wait`` can hand out this coroutine itself rather than
    a second one awaiting it, which every suspension would pass through. Thousands of
    these may be suspended at once, so what each keeps is small: ``prepare`` (see
    ``_start``) is one list, not a closure, and gone once the machine is made (a list,
    as freed tuples of one size are kept for reuse, two thousand at a time).
    """
    machine, step = _start(prepare)
    del prepare  # it may hold the caller's arguments; the machine has what it needs
    outer = get_budget()
    set_budget(machine)
    try:
        # The machine's own protocol (see Step): a float is the delay before the next poll.
        while step.__class__ is float:
            await machine.sleep(step)
            try:
                entity: Any = poll()  # the awaitable, then what it gives
                if entity.__class__ is not _Coroutine and not inspect.isawaitable(entity):
                    raise _NotAwaitable(entity)
                entity = await entity
            except _NotAwaitable as error:
                raise _sync_poll(error.value) from None
            except Exception as error:
                step = machine.failed(error)
                continue
            if entity.__class__ is _Coroutine:
                raise _nested_coroutine(entity)
            step = machine._polled(entity, machine.now())
            if callback is not None and step.__class__ is not Succeed:
                entity = callback(entity)  # the entity is seen; what the callback gave
                if inspect.isawaitable(entity):
                    await entity
        if step.__class__ is Succeed:
            # An ignore, not typing.cast: that would be a function call in every wait.
            return step.entity  # type: ignore[no-any-return]
        if step.__class__ is Raise:
            raise step.error
        assert isinstance(step, (Fail, TimeOut))
        raise step.exception()
    finally:
        set_budget(outer)


def _start(prepare: list[Any]) -> tuple[DrivenMachine[Any], Step]:
    """Make the machine and start it on the clock: ``prepare`` is a function making the
    machine, the clock (None: the running library's), the first poll's delay hint,
    then the function's arguments."""
    make, clock, retry_after, *arguments = prepare
    machine: DrivenMachine[Any] = make(*arguments)
    if clock is None:
        clock = running_clock()
    machine.now = _plain_time(clock.now)
    sleep = clock.sleep
    machine.sleep = sleep if _is_async_def(sleep) else _checked_sleep(sleep)
    return machine, machine._begin(machine.now(), retry_after)


_Coroutine = types.CoroutineType


def _sync_poll(value: object) -> TypeError:
    return TypeError(
        f"the poll function returned {type(value).__name__}, not an "
        "awaitable: an async wait needs an async poll (or use Wait)"
    )


def _nested_coroutine(entity: Any) -> TypeError:
    entity.close()
    return TypeError(
        "the poll function returned a coroutine that returned a coroutine: "
        "await the inner call inside the poll"
    )


class _NotAwaitable(Exception):
    """A sync poll's value under an async wait: kept apart from genuine poll errors."""

    def __init__(self, value: object) -> None:
        self.value = value


def _is_async_def(function: object) -> bool:
    """``inspect.iscoroutinefunction``, with its common case (an ``async def`` function
    or method) answered first: the full check costs more than a poll."""
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is not None and code.co_flags & inspect.CO_COROUTINE:
        return True
    return inspect.iscoroutinefunction(function)


def _checked_sleep(sleep: Callable[[float], Any]) -> Callable[[float], Awaitable[None]]:
    """A clock's sleep that is not ``async def``: fine if it returns an awaitable (as
    ``functools.partial`` of one does), a clear error if it slept (or not) synchronously."""

    async def checked(seconds: float) -> None:
        pause = sleep(seconds)
        if not inspect.isawaitable(pause):
            raise TypeError(
                "the clock's sleep returned no awaitable: an async wait needs an async "
                "clock (tarry.testing.AsyncFakeClock, not FakeClock)"
            )
        await pause

    return checked


class AsyncWait(WaitBase[T]):
    """A long-running operation to wait on from asyncio or trio.

    The twin of ``Wait``: ``poll`` is an async function, ``result()`` is awaited, and the
    callback may be a plain or an async function. ``clock`` defaults to the running
    library's; pass ``tarry.testing.AsyncFakeClock`` to run on virtual time.
    """

    __slots__ = ("_clock",)

    def __init__(
        self,
        poll: Callable[[], Awaitable[T]],
        spec: Spec[T],
        *,
        response: Any = None,
        policy: Policy | None = None,
        clock: AsyncClock | None = None,
        rng: random.Random | None = None,
        retry_after: float | None = None,
        **bound: Any,
    ) -> None:
        super().__init__(
            poll,
            spec,
            response=response,
            policy=policy,
            rng=rng,
            retry_after=retry_after,
            **bound,
        )
        self._clock = clock

    def result(
        self,
        timeout: Timeout = UNSET,
        callback: AsyncCallback[T] | None = None,
    ) -> Coroutine[Any, Any, T]:
        """Wait until the operation succeeds and return its last entity.

        Same rules as ``Wait.result`` (each call, even one awaited from inside its own
        callback, is a new and independent wait); cancellation of the calling task ends
        the wait at once and propagates. A success decided by a poll is returned with no
        checkpoint in between, so a cancel that lands during that poll never loses it.
        """

        prepare = [_result_machine, self._clock, self._retry_after, self, timeout, callback]
        return run(self._poll, callback, prepare)


def async_wait(
    poll: Callable[[], Awaitable[T]],
    spec: Spec[T],
    *,
    timeout: Timeout = UNSET,
    callback: AsyncCallback[T] | None = None,
    backoff: Backoff | None = None,
    retry_on: RetryOn | None = UNSET,
    clock: AsyncClock | None = None,
    rng: random.Random | None = None,
    policy: Policy | None = None,
    max_retry_after: float = UNSET,
    request_floor: float = UNSET,
) -> Coroutine[Any, Any, T]:
    """The async twin of ``tarry.wait``: ``await tarry.async_wait(poll, spec, ...)``.

    It returns the driver's coroutine itself (one coroutine per wait, not two), so
    argument errors are raised when it is awaited, as from an ``async def``.
    """

    prepare: list[Any] = [_wait_machine, clock, None, poll, spec, timeout, callback]
    prepare += (backoff, retry_on, rng, policy, max_retry_after, request_floor)
    return run(poll, callback, prepare)


def _result_machine(
    wait: AsyncWait[T], timeout: Timeout, callback: AsyncCallback[T] | None
) -> DrivenMachine[T]:
    _check_callback(callback)
    return wait._machine(timeout)


def _wait_machine(
    poll: object,
    spec: Spec[T],
    timeout: Timeout,
    callback: AsyncCallback[T] | None,
    backoff: Backoff | None,
    retry_on: RetryOn | None,
    rng: random.Random | None,
    policy: Policy | None,
    max_retry_after: float,
    request_floor: float,
) -> DrivenMachine[T]:
    merged = make_policy(
        policy,
        timeout=timeout,
        backoff=backoff,
        retry_on=retry_on,
        max_retry_after=max_retry_after,
        request_floor=request_floor,
    )
    if not callable(poll):
        raise TypeError(f"poll must be callable, not {type(poll).__name__}")
    _check_callback(callback)
    return DrivenMachine(spec, merged, rng)


def _check_callback(callback: object) -> None:
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}")
