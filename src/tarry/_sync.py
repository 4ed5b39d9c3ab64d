"""The synchronous driver: a loop that sleeps and polls as the core says."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from ._backoff import Backoff
from ._base import UNSET, WaitBase, make_policy
from ._budget import reset_budget, set_budget
from ._core import Action, Fail, Machine, PollAfter, Raise, Succeed, TimeOut
from ._policy import Policy, RetryOn, Timeout
from ._spec import Spec

__all__ = ["Clock", "SystemClock", "Wait", "wait"]

T = TypeVar("T")


class Clock(Protocol):
    """Monotonic time and a way to sleep: all the sync driver needs of the world."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """``time.monotonic`` and ``time.sleep``: immune to wall-clock steps."""

    __slots__ = ()

    now = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)


SYSTEM_CLOCK = SystemClock()


def run(
    poll: Callable[[], T],
    machine: Machine[T],
    clock: Clock,
    callback: Callable[[T], object] | None,
    retry_after: float | None = None,
) -> T:
    """Drive ``machine`` to the end: the whole sync driver."""
    now, sleep = clock.now, clock.sleep
    token = set_budget((machine.request_timeout, now))
    try:
        action: Action = machine.start(now(), retry_after)
        while True:
            if type(action) is PollAfter:
                sleep(action.delay)
                try:
                    entity = poll()
                except Exception as error:
                    action = machine.poll_failed(error, now())
                    continue
                action = machine.polled(entity, now())
                if callback is not None and action.notify:
                    callback(entity)
            elif type(action) is Succeed:
                return cast(T, action.entity)
            elif type(action) is Raise:
                raise action.error
            else:
                assert isinstance(action, (Fail, TimeOut))
                raise action.exception()
    finally:
        reset_budget(token)


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
        """
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
    machine = Machine(spec, merged, rng)
    return run(poll, machine, SYSTEM_CLOCK if clock is None else clock, callback)
