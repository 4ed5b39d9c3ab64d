"""The synchronous driver: a loop that sleeps and polls as the core says."""

from __future__ import annotations

import inspect
import random
import time
import types
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ._backoff import Backoff
from ._base import UNSET, WaitBase, make_policy
from ._budget import DrivenMachine, get_budget, set_budget
from ._core import Fail, Raise, Step, Succeed, TimeOut
from ._policy import Policy, RetryOn, Timeout
from ._spec import Spec

__all__ = ["Clock", "SystemClock", "Wait", "wait"]

T = TypeVar("T")


class Clock(Protocol):
    """Monotonic time and a way to sleep: all the sync driver needs of the world."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


_LONGEST_SLEEP = 86400.0
"""``time.sleep`` raises OverflowError past the platform's ``time_t``: sleep in days."""


def _sleep(seconds: float) -> None:
    """``time.sleep`` for any finite length, however long the backoff asks for."""
    while seconds > _LONGEST_SLEEP:
        time.sleep(_LONGEST_SLEEP)
        seconds -= _LONGEST_SLEEP
    time.sleep(seconds)


class SystemClock:
    """``time.monotonic`` and ``time.sleep``: immune to wall-clock steps."""

    __slots__ = ()

    now = staticmethod(time.monotonic)
    sleep = staticmethod(_sleep)


def check_clock(clock: object) -> None:
    """A sync clock has ``now()`` and a plain ``sleep(seconds)``; an async one would
    never sleep at all (its coroutine is never awaited), so it is refused."""
    if isinstance(clock, type):
        raise TypeError(f"clock must be an instance such as {clock.__name__}(), not the class")
    now, sleep = getattr(clock, "now", None), getattr(clock, "sleep", None)
    if not callable(now) or not callable(sleep):
        raise TypeError("clock must have now() and sleep(seconds) methods")
    if inspect.iscoroutinefunction(sleep):
        raise TypeError(
            "this clock's sleep is async: use it with AsyncWait or async_wait "
            "(tarry.testing.FakeClock is the sync one)"
        )


def _awaitable(what: str, value: object) -> TypeError:
    """The error for a coroutine where a sync wait needs a value."""
    if isinstance(value, types.CoroutineType):
        value.close()  # it will never run: close it so Python does not warn about it
    return TypeError(
        f"the {what} returned a coroutine: a sync wait cannot await it; use AsyncWait or async_wait"
    )


SYSTEM_CLOCK = SystemClock()

_Coroutine = types.CoroutineType


def run(
    poll: Callable[[], T],
    machine: DrivenMachine[T],
    clock: Clock,
    callback: Callable[[T], object] | None,
    retry_after: float | None = None,
) -> T:
    """Drive ``machine`` to the end: the whole sync driver."""
    now, sleep = clock.now, clock.sleep
    outer = get_budget()
    machine.now = now
    set_budget(machine)
    try:
        # The machine's own protocol (see Step): a float is the delay before the next poll.
        step: Step = machine._begin(now(), retry_after)
        while step.__class__ is float:
            sleep(step)
            try:
                entity = poll()
            except Exception as error:
                step = machine._poll_failed(error, now())
                continue
            if entity.__class__ is _Coroutine:  # an async poll: never a valid entity
                raise _awaitable("poll function", entity)
            step = machine._polled(entity, now())
            if callback is not None and step.__class__ is not Succeed:
                shown = callback(entity)
                if shown.__class__ is _Coroutine:
                    raise _awaitable("callback", shown)
        if step.__class__ is Succeed:
            # An ignore, not typing.cast: that would be a function call in every wait.
            return step.entity  # type: ignore[no-any-return]
        if step.__class__ is Raise:
            raise step.error
        assert isinstance(step, (Fail, TimeOut))
        raise step.exception()
    finally:
        set_budget(outer)


class Wait(WaitBase[T]):
    """A long-running operation to wait on, synchronously.

    ``poll`` fetches the entity once; ``spec`` says how to read it. ``response`` keeps
    the first reply (what a ``create`` call returned) and other keyword arguments are
    readable as attributes (``wait.cluster_id``). Each ``result()`` call runs a new
    wait from scratch, so one ``Wait`` may be waited on again or from several threads.
    """

    __slots__ = ("_clock",)

    def __init__(
        self,
        poll: Callable[[], T],
        spec: Spec[T],
        *,
        response: Any = None,
        policy: Policy | None = None,
        clock: Clock | None = None,
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
        if inspect.iscoroutinefunction(poll):
            raise TypeError("poll is an async function: use AsyncWait for it")
        if clock is not None:
            check_clock(clock)
        self._clock = SYSTEM_CLOCK if clock is None else clock

    def result(
        self,
        timeout: Timeout = UNSET,
        callback: Callable[[T], object] | None = None,
    ) -> T:
        """Wait until the operation succeeds and return its last entity.

        ``timeout`` is a ``timedelta`` or seconds (default: the policy's, 20 minutes);
        ``None`` waits with no deadline. ``callback`` sees every entity that has not
        succeeded. Raises ``OperationFailed`` or ``OperationTimedOut``.

        ``result()`` may be called again, from another thread, or even from inside its
        own callback: each call is a new, independent wait from scratch.
        """
        _check_callback(callback)
        machine = self._machine(timeout)
        return run(self._poll, machine, self._clock, callback, self._retry_after)


def wait(
    poll: Callable[[], T],
    spec: Spec[T],
    *,
    timeout: Timeout = UNSET,
    callback: Callable[[T], object] | None = None,
    backoff: Backoff | None = None,
    retry_on: RetryOn | None = UNSET,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    policy: Policy | None = None,
    max_retry_after: float = UNSET,
    request_floor: float = UNSET,
) -> T:
    """Poll until the operation described by ``spec`` succeeds, fails or runs out of time.

    The keyword arguments override the matching fields of ``policy`` (a default
    ``Policy()`` when none is given): 20 minutes, ``Linear()`` backoff, no poll error
    treated as transient.
    """
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
    if inspect.iscoroutinefunction(poll):
        raise TypeError("poll is an async function: use async_wait for it")
    _check_callback(callback)
    if clock is not None:
        check_clock(clock)
    machine = DrivenMachine(spec, merged, rng)
    return run(poll, machine, SYSTEM_CLOCK if clock is None else clock, callback)


def _check_callback(callback: object) -> None:
    if callback is None:
        return
    if not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}")
    if inspect.iscoroutinefunction(callback):
        raise TypeError("callback is an async function: a sync wait cannot await it")
