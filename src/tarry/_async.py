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
import types
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar, cast

from ._backoff import Backoff
from ._base import UNSET, WaitBase, make_policy
from ._budget import reset_budget, set_budget
from ._core import Fail, Machine, Raise, Step, Succeed, TimeOut
from ._policy import Policy, RetryOn, Timeout
from ._spec import Spec

__all__ = ["AsyncClock", "AsyncWait", "async_wait", "running_clock"]

T = TypeVar("T")

AsyncCallback = Callable[[T], object]


class AsyncClock(Protocol):
    """Monotonic time and an awaitable sleep."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> Awaitable[None]: ...


class _AsyncioClock:
    __slots__ = ("now", "sleep")

    def __init__(self) -> None:
        import asyncio

        self.now = asyncio.get_running_loop().time
        self.sleep = asyncio.sleep


class _TrioClock:
    __slots__ = ("now", "sleep")

    def __init__(self) -> None:
        import trio

        self.now = trio.current_time
        self.sleep = trio.sleep


def running_clock() -> AsyncClock:
    """The clock of the async library running this task: trio's or asyncio's."""
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return _TrioClock()
    try:
        return _AsyncioClock()
    except RuntimeError:
        raise RuntimeError(
            "tarry's async waits need a running asyncio or trio event loop"
        ) from None


async def run(
    poll: Callable[[], Awaitable[T]],
    prepare: Callable[[], Machine[T]],
    clock: AsyncClock | None,
    callback: AsyncCallback[T] | None,
    retry_after: float | None = None,
) -> T:
    """Drive the machine ``prepare()`` makes to the end: the whole async driver.

    The machine is made here, on the first step, so argument errors surface where the
    wait is awaited; and ``async_wait`` can hand out this coroutine itself rather than
    a second one awaiting it, which every suspension would pass through.
    """
    machine = prepare()
    del prepare  # it may hold the caller's arguments; the machine has what it needs
    if clock is None:
        clock = running_clock()
    now = clock.now
    sleep: Callable[[float], Awaitable[None]] = clock.sleep
    if not inspect.iscoroutinefunction(sleep):
        sleep = _checked_sleep(sleep)
    token = set_budget((machine, now))
    try:
        # The machine's own protocol (see Step): a float is the delay before the next poll.
        step: Step = machine._begin(now(), retry_after)
        while step.__class__ is float:
            await sleep(step)
            try:
                pending = poll()
                if pending.__class__ is not _Coroutine and not inspect.isawaitable(pending):
                    raise _NotAwaitable(pending)
                entity = await pending
            except _NotAwaitable as wrong:
                raise TypeError(
                    f"the poll function returned {type(wrong.value).__name__}, not an "
                    "awaitable: an async wait needs an async poll (or use Wait)"
                ) from None
            except Exception as error:
                step = machine._poll_failed(error, now())
                continue
            if entity.__class__ is _Coroutine:
                entity.close()  # type: ignore[attr-defined]
                raise TypeError(
                    "the poll function returned a coroutine that returned a coroutine: "
                    "await the inner call inside the poll"
                )
            step = machine._polled(entity, now())
            if callback is not None and step.__class__ is not Succeed:
                shown = callback(entity)
                if inspect.isawaitable(shown):
                    await shown
        if step.__class__ is Succeed:
            return cast(T, step.entity)
        if step.__class__ is Raise:
            raise step.error
        assert isinstance(step, (Fail, TimeOut))
        raise step.exception()
    finally:
        reset_budget(token)


_Coroutine = types.CoroutineType


class _NotAwaitable(Exception):
    """A sync poll's value under an async wait: kept apart from genuine poll errors."""

    def __init__(self, value: object) -> None:
        self.value = value


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

        def prepare() -> Machine[T]:
            _check_callback(callback)
            return self._machine(timeout)

        return run(self._poll, prepare, self._clock, callback, self._retry_after)


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

    def prepare() -> Machine[T]:
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
        return Machine(spec, merged, rng)

    return run(poll, prepare, clock, callback)


def _check_callback(callback: object) -> None:
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}")
