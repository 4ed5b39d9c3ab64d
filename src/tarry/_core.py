"""The sans-IO core: every decision a wait makes, and nothing else.

Theory of operation
===================

A wait is a conversation between a *driver*, which owns a clock, a way to sleep and a
way to poll, and this *machine*, which owns none of them. The driver reports facts in
the past tense and the machine answers with what to do next:

    driver                              machine
    ------                              -------
    start(now)                     ->   PollAfter(delay=0)
    (sleeps 0 s, polls)
    polled(entity, now)            ->   PollAfter(delay=1.4)      still going
    (sleeps 1.4 s, polls; it fails)
    poll_failed(error, now)        ->   PollAfter(delay=2.9)      a transient error
    ...
    polled(entity, now)            ->   Succeed(entity) | Fail(...) | TimeOut(...)
    poll_failed(error, now)        ->   Raise(error)              not transient

``now`` is monotonic time in seconds from whatever clock the driver trusts (asyncio's
loop, trio's clock, ``time.monotonic``, a fake). The machine never reads a clock, never
sleeps and never polls, so the same machine serves every driver and can be tested by
handing it numbers.

The rules
=========

1. Time is what the driver says it is. The deadline is ``start + timeout``, fixed once.
2. A sleep never ends past the deadline: a longer delay is cut to the time left, and
   the poll after it is marked ``final``.
3. A poll that is still not done at or after the deadline ends the wait with a timeout,
   unless it was a success: an operation that finished while we slept succeeded. Since
   sleeps are cut to the deadline, the last poll happens *at* the deadline (the final
   poll); no poll is scheduled after it. Only time ends a wait: no cap on poll count.
4. A server's Retry-After raises the next delay to at least its value, clamped to
   ``max_retry_after`` and then to the time left (rule 2). Nonsense hints (negative,
   NaN) are ignored; infinite ones are clamped.
5. Each poll is given ``request_timeout`` seconds: the time left after its sleep, but
   never less than ``request_floor``, so a final poll at the deadline can complete.
6. A poll error that ``retry_on`` accepts is transient: it is backed off exactly like a
   "still going" entity, within the same deadline, and a timeout then names it.
   Any other error ends the wait as it is (``Raise``).
7. A finished machine stays finished: feeding it again is a ``UsageError``.
8. ``now`` is a finite number that never goes backwards: a clock that returns NaN,
   infinity or an earlier time than before is a ``ValueError`` at once, since no
   deadline could be kept on it (a clock running backwards would never reach one).

What the caller's functions may do
==================================

A ``retry_on`` predicate is called with each poll error. If it raises, its exception
ends the wait (the machine is then ``ERRORED``) and propagates unchanged, with the poll
error as its context: a broken predicate is a bug to see, never a reason to retry. A
predicate that returns an awaitable (an ``async def`` in disguise) is a ``TypeError``.
Messages built here quote the operation's name, state, message and errors, each cut
to a bounded length; the exceptions keep the full values as attributes.

Which phase follows which fact is the table ``TRANSITIONS`` below; the docs draw the
state diagram from it.

Speed
=====

A poll's decision runs once per poll in every wait, so three shortcuts keep it cheap,
each deciding exactly as the general path does (``tests/test_fast_paths.py``):
tarry's own drivers call ``_begin``, ``_polled`` and ``_poll_failed``, which answer a
still-going poll with the bare delay (a ``Step``) rather than a ``PollAfter``; a spec of
state sets alone is judged by one dict look-up; and the common poll (a wait going on,
well before its deadline, with tarry's ``Linear`` backoff, a spec of state sets and no
hint) passes one test instead of the checks, and computes its backoff in line.
"""

from __future__ import annotations

import enum
import inspect
import logging
import math
import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar, cast

from ._backoff import Linear
from ._errors import OperationFailed, OperationTimedOut, UsageError
from ._policy import DEFAULT_POLICY, Policy
from ._spec import Outcome, Spec, _brief, show_state

__all__ = [
    "TRANSITIONS",
    "Action",
    "Event",
    "Fail",
    "Machine",
    "Phase",
    "PollAfter",
    "Raise",
    "Succeed",
    "TimeOut",
]

T = TypeVar("T")

logger = logging.getLogger("tarry")


class Phase(enum.Enum):
    """Where the machine is. Only ``WAITING`` accepts poll results."""

    NEW = "new"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    ERRORED = "errored"


class Event(enum.Enum):
    """A fact from the driver, once the machine has classified it."""

    START = "start"
    SUCCESS = "success"
    FAILURE = "failure"
    STILL_GOING = "still going"
    TRANSIENT_ERROR = "transient error"
    OUT_OF_TIME = "out of time"
    FATAL_ERROR = "fatal error"


TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    (Phase.NEW, Event.START): Phase.WAITING,
    (Phase.WAITING, Event.STILL_GOING): Phase.WAITING,
    (Phase.WAITING, Event.TRANSIENT_ERROR): Phase.WAITING,
    (Phase.WAITING, Event.SUCCESS): Phase.SUCCEEDED,
    (Phase.WAITING, Event.FAILURE): Phase.FAILED,
    (Phase.WAITING, Event.OUT_OF_TIME): Phase.TIMED_OUT,
    (Phase.WAITING, Event.FATAL_ERROR): Phase.ERRORED,
}
"""Every allowed (phase, event) pair and the phase it leads to; nothing else is allowed."""


# ---------------------------------------------------------------------------------------
# Actions: what the driver must do next. Small, frozen, and compared by value so traces
# from different drivers can be checked against each other.


class PollAfter(NamedTuple):
    """Sleep ``delay`` seconds (0 means now), then poll, giving the request
    ``request_timeout`` seconds (``None``: no deadline). ``final`` marks the poll at the
    deadline: if it is not a success, the wait times out.

    The one action made on every poll, so it is a named tuple: immutable and compared
    by value like the others, and several times cheaper to build than a frozen
    dataclass.
    """

    delay: float
    request_timeout: float | None
    final: bool

    @property
    def notify(self) -> bool:
        """Whether the caller's callback sees the entity that led here: yes."""
        return True


_poll_after = cast(
    "Callable[[type[PollAfter], tuple[float, float | None, bool]], PollAfter]", tuple.__new__
)


@dataclass(frozen=True, slots=True)
class Succeed(Generic[T]):
    """The operation succeeded: return ``entity``."""

    entity: T
    notify: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Fail:
    """The operation failed: raise ``exception()``."""

    entity: Any
    state: Any
    message: str | None
    text: str
    notify: ClassVar[bool] = True

    def exception(self) -> OperationFailed:
        return OperationFailed(
            self.text, entity=self.entity, state=self.state, message=self.message
        )


@dataclass(frozen=True, slots=True)
class TimeOut:
    """Time ran out: raise ``exception()``."""

    timeout: float
    elapsed: float
    attempts: int
    entity: Any
    state: Any
    message: str | None
    last_error: Exception | None
    text: str
    notify: ClassVar[bool] = True

    def exception(self) -> OperationTimedOut:
        return OperationTimedOut(
            self.text,
            timeout=timedelta(seconds=self.timeout),
            elapsed=timedelta(seconds=self.elapsed),
            attempts=self.attempts,
            entity=self.entity,
            state=self.state,
            message=self.message,
            last_error=self.last_error,
        )


@dataclass(frozen=True, slots=True)
class Raise:
    """A poll error that is not transient: re-raise ``error`` unchanged."""

    error: Exception
    notify: ClassVar[bool] = True


Action = PollAfter | Succeed[Any] | Fail | TimeOut | Raise

Step = float | Succeed[Any] | Fail | TimeOut | Raise
"""An action as tarry's drivers get it: a bare float is ``PollAfter``'s delay. Building
a ``PollAfter`` costs more than the rest of a poll's decision, and a driver needs only
the delay (a request's budget comes from ``request_timeout``)."""

_NO_ENTITY: Any = object()

LONGEST_REQUEST = 365 * 86400.0
"""The longest budget ``request_timeout`` gives a single request, in seconds."""

_OWN_RNGS = (random.Random, random.SystemRandom)

_SHARED_RNG = random.Random()
"""Jitter for machines given no generator. One for all: a Random holds about 2.5 KB of
state, more than everything else a waiting machine keeps, and jitter needs no
independence between waits. Pass ``rng`` for reproducible delays."""


def _clean_hint(hint: object, cap: float) -> float | None:
    """A usable Retry-After in seconds, or None (rule 4)."""
    if hint is None or isinstance(hint, bool) or not isinstance(hint, (int, float)):
        return None
    try:
        seconds = float(hint)
    except OverflowError:  # an int too large for a float: "very long", or nonsense
        return cap if hint > 0 else None
    if math.isnan(seconds) or seconds < 0:
        return None
    return min(seconds, cap)


def check_rng(rng: object) -> None:
    """``rng`` is a ``random.Random`` (or anything with its ``random()``), or None.

    A seed given where the generator belongs (``rng=42``) would otherwise break only at
    the first jittered sleep, far from the mistake.
    """
    if rng is None or callable(getattr(rng, "random", None)):
        return
    hint = f"; for a seed, pass random.Random({rng!r})" if isinstance(rng, int) else ""
    raise TypeError(f"rng must be a random.Random, not {type(rng).__name__}{hint}")


def _is_delay(delay: object) -> bool:
    """A backoff's answer is a real number of seconds, finite and non-negative."""
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        return False
    try:
        return 0 <= float(delay) < math.inf  # also refuses NaN
    except OverflowError:  # an int beyond any float
        return False


_QUOTE_LIMIT = 500
"""The most characters of one name, state, message or error a message quotes."""


def _cut(text: str, limit: int = _QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, so one huge value never floods a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_error(error: BaseException) -> str:
    """An error's text for a message, or its type when it has none or cannot say."""
    try:
        return str(error) or type(error).__name__
    except Exception:
        return type(error).__name__


class Machine(Generic[T]):
    """The decisions of one wait, driven by facts and the current time.

    Build one per wait: ``Machine(spec, policy, rng)``, then ``start(now)`` and feed it
    each poll's result with ``polled`` or ``poll_failed``. Each call returns the next
    action. ``rng`` draws the backoff jitter; seed it to make delays reproducible.
    """

    __slots__ = (
        "_attempts",
        "_deadline",
        "_entity",
        "_final",
        "_last_error",
        "_linear",
        "_message",
        "_now",
        "_phase",
        "_policy",
        "_previous",
        "_rng",
        "_spec",
        "_state",
    )

    def __init__(
        self, spec: Spec[T], policy: Policy | None = None, rng: random.Random | None = None
    ) -> None:
        if not isinstance(spec, Spec):
            raise TypeError(f"spec must be a tarry.Spec, not {type(spec).__name__}")
        policy = DEFAULT_POLICY if policy is None else policy
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a tarry.Policy, not {type(policy).__name__}")
        check_rng(rng)
        self._spec = spec
        self._policy = policy
        self._rng = _SHARED_RNG if rng is None else rng
        # While this is set, the common poll skips the checks in _polled and computes
        # its delay in line: tarry's Linear, fed by a real random.Random, always gives a
        # finite, non-negative float, and a spec of state sets is judged by one look-up.
        # It is cleared before the final poll and when the wait ends, so those polls
        # are checked in full.
        backoff = policy.backoff
        self._linear = (
            backoff
            if type(backoff) is Linear
            and type(self._rng) in _OWN_RNGS
            and not logger.isEnabledFor(logging.DEBUG)  # its lines come from _again
            and backoff._top + backoff.jitter < _INF
            and spec._outcomes is not None
            else None
        )
        self._phase = Phase.NEW
        self._deadline = -_INF  # start + timeout once started: infinite with no timeout
        self._now = -_INF
        self._final = False  # the next poll is the one at the deadline (rule 2)
        self._attempts = 0
        self._previous = 0.0
        self._entity: Any = _NO_ENTITY
        self._state: Hashable | None = None
        self._message: str | None = None
        self._last_error: Exception | None = None

    # -- what the driver can read -------------------------------------------------------

    @property
    def spec(self) -> Spec[T]:
        """How the operation is read: fixed for the machine's life."""
        return self._spec

    @property
    def policy(self) -> Policy:
        """How the wait waits: fixed for the machine's life (the deadline is set from
        it at ``start``)."""
        return self._policy

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def attempts(self) -> int:
        """Polls reported so far, entities and errors alike."""
        return self._attempts

    @property
    def deadline(self) -> float | None:
        """The monotonic time at which the wait ends, or None with no timeout (or before
        ``start``)."""
        if self._policy._seconds is None or self._phase is Phase.NEW:
            return None
        return self._deadline

    # -- facts from the driver ----------------------------------------------------------

    def start(self, now: float, retry_after: float | None = None) -> PollAfter:
        """The wait begins at ``now``. ``retry_after`` delays the first poll (a 202's hint)."""
        return cast(PollAfter, self._action(self._begin(now, retry_after)))

    def polled(self, entity: T, now: float, retry_after: float | None = None) -> Action:
        """A poll returned ``entity`` at ``now``. A hint passed here overrides the spec's."""
        return self._action(self._polled(entity, now, retry_after))

    def poll_failed(self, error: Exception, now: float, retry_after: float | None = None) -> Action:
        """A poll raised ``error`` at ``now``. Its ``retry_after`` attribute, if any, is a hint."""
        return self._action(self._poll_failed(error, now, retry_after))

    # -- the same facts, answered for tarry's own drivers: a float is PollAfter's delay --

    def _action(self, step: Step) -> Action:
        """The public form of a step: a delay becomes a ``PollAfter``."""
        if step.__class__ is not float:
            return cast(Action, step)
        deadline = self.deadline
        if deadline is None:
            return _poll_after(PollAfter, (step, None, False))
        budget = deadline - self._now - step  # rule 5: the time left after the sleep
        floor = self._policy._floor
        final = self._final
        return _poll_after(PollAfter, (step, budget if budget > floor else floor, final))

    def _begin(self, now: float, retry_after: float | None = None) -> float:
        if self._phase is not _NEW:
            self._advance(Event.START)  # a UsageError: nothing else may follow the end
        if now.__class__ is not float or not -_INF < now < _INF:
            now = self._checked_now(now)
        self._phase = _WAITING  # as TRANSITIONS has it (asserted at the end of this module)
        self._now = now
        timeout = self._policy._seconds
        self._deadline = deadline = _INF if timeout is None else now + timeout
        if retry_after is None and now < deadline:  # poll at once: _schedule, in line
            return 0.0
        return self._schedule(now, 0.0 if retry_after is None else self._hinted(0.0, retry_after))

    def _polled(self, entity: T, now: float, retry_after: float | None = None) -> Step:
        """``polled``. This runs once per poll, so the spec's readers are inlined here
        (same errors as ``Spec.read_state`` and ``Spec.judge``), enum members are module
        constants, and the common poll skips the checks and computes its delay in line.

        The common poll's one test stands for the checks: ``_linear`` is set only while
        the wait goes on and the final poll is not next, and a float ``now`` from the
        last one up to (not at) the deadline is a valid time, with time left. Its
        actions and draws from rng are ``_again``'s (a test holds them equal).
        """
        linear = self._linear
        if (
            linear is None
            or retry_after is not None
            or now.__class__ is not float
            or not self._now <= now < self._deadline
        ):
            if self._phase is not _WAITING:
                self._expect_waiting()
            if now.__class__ is not float or not self._now <= now < _INF:
                now = self._checked_now(now)
            linear = None  # not the common poll: _again decides
        self._now = now
        spec = self._spec
        try:
            state = spec.state(entity)
        except Exception as exc:
            raise spec.unreadable("read the state of", entity, exc) from exc
        outcomes = spec._outcomes
        try:
            if outcomes is not None:  # a spec of state sets alone: one look-up, no call
                outcome = outcomes.get(state, _STILL_GOING)
            else:
                outcome = spec._classify(entity, state)
        except Exception as exc:
            if isinstance(exc, TypeError):  # most likely an unhashable state
                spec.read_state(entity)
            raise spec.unreadable("judge", entity, exc) from exc
        self._attempts = n = self._attempts + 1
        self._entity = entity
        self._state = state
        self._last_error = None
        if outcome is _SUCCEEDED:
            return self._succeeded(entity, state)
        read_message = spec.message
        if read_message is not None:  # Spec.read_message, inlined
            try:
                message = read_message(entity)
                if message.__class__ is not str and message is not None:
                    message = str(message)
            except Exception as exc:
                raise spec.unreadable("read the message of", entity, exc) from exc
            self._message = message
        if outcome is not _STILL_GOING or (state.__class__ is not str and _is_nan(state)):
            return self._ended(entity, state, outcome)
        if retry_after is None and spec.retry_after is not None:
            retry_after = spec.read_retry_after(entity)
        if linear is None or retry_after is not None:
            return self._again(now, retry_after)
        # The common poll's own copy of _again: Linear's delay with its jitter, and no
        # cut to the deadline. The last delay is not kept: Linear never reads it.
        delay = linear._top if n >= linear._capped_from else n * linear.step
        if linear.jitter:
            delay += self._rng.random() * linear.jitter
        if delay < self._deadline - now:
            return delay
        return self._schedule(now, delay)

    def _succeeded(self, entity: T, state: Hashable) -> Succeed[T]:
        self._phase = _SUCCEEDED_PHASE  # from WAITING, as TRANSITIONS has it (asserted below)
        self._linear = None
        if logger.isEnabledFor(logging.DEBUG):
            self._log_end(show_state(state), "succeeded")
        return Succeed(entity)

    def _ended(self, entity: T, state: Hashable, outcome: Outcome) -> Fail:
        """A poll whose outcome is a failure, or whose state is NaN (an error unless the
        spec's failure test already caught it: no set can match NaN, so no wait on it
        could ever end)."""
        if outcome is _STILL_GOING or (outcome is not _FAILED and _is_nan(state)):
            raise self._spec.unreadable("judge", entity, ValueError("its state is NaN"))
        self._advance(Event.FAILURE)
        if _debug():
            self._log_end(self._what(), "failed")
        return self._fail(entity, state, outcome)

    def _poll_failed(self, error: Exception, now: float, retry_after: float | None = None) -> Step:
        if self._phase is not _WAITING:
            self._expect_waiting()
        if now.__class__ is not float or not self._now <= now < _INF:
            now = self._checked_now(now)
        self._now = now
        self._attempts += 1
        try:
            transient: object = self._policy._is_transient(error)
            if transient.__class__ is not bool and inspect.isawaitable(transient):
                if inspect.iscoroutine(transient):
                    transient.close()  # it will never run: close it so Python does not warn
                raise TypeError(
                    "the retry_on predicate returned an awaitable; it must return a bool"
                )
        except BaseException:
            self._advance(Event.FATAL_ERROR)
            raise
        if not transient:
            self._advance(Event.FATAL_ERROR)
            if _debug():
                self._log_end(f"error {_brief(error)}", "not retried")
            return Raise(error)
        self._last_error = error
        if retry_after is None:
            try:
                retry_after = getattr(error, "retry_after", None)
            except Exception:  # a broken attribute is no hint; the error itself still counts
                retry_after = None
        return self._again(now, retry_after)

    def request_timeout(self, now: float) -> float | None:
        """The budget of a request starting at ``now``: the time left, at least the floor,
        at most a year (sockets refuse timeouts past the platform's ``time_t``, and a
        wait with a centuries-long deadline must not break its own requests)."""
        deadline = self.deadline
        if deadline is None:
            return None
        left = deadline - now
        floor = self._policy._floor
        budget = left if left > floor else floor
        return budget if budget <= LONGEST_REQUEST else LONGEST_REQUEST

    # -- the decisions ------------------------------------------------------------------

    def _again(self, now: float, hint: object) -> float | TimeOut:
        """Still going, or a transient error: time out if the deadline has come, else
        back off, raised by a server's hint (rules 3, 4 and 6)."""
        if self._final or self._left(now) <= 0.0:
            self._advance(Event.OUT_OF_TIME)
            if _debug():
                self._log_end(self._what(), "timed out")
            return self._time_out(now)
        # WAITING stays WAITING on STILL_GOING and TRANSIENT_ERROR (asserted at the end
        # of this module): the table lookup is skipped on the per-poll path.
        # Every poll that does not end the wait is followed by one sleep, so the attempts
        # so far number this sleep too.
        delay = self._policy.backoff.delay(self._attempts, self._previous, self._rng)
        if delay.__class__ is not float or not 0.0 <= delay < _INF:
            if not _is_delay(delay):
                raise ValueError(f"backoff gave an invalid delay: {_brief(delay)}")
            delay = float(delay)
        if hint is not None:
            delay = self._hinted(delay, hint)
        delay = self._schedule(now, delay)
        if _debug():
            self._log(delay)
        return delay

    def _hinted(self, delay: float, hint: object) -> float:
        """``delay`` raised to a server's hint, if the hint makes sense (rule 4)."""
        cleaned = _clean_hint(hint, self._policy._max_hint)
        return cleaned if cleaned is not None and cleaned > delay else delay

    def _schedule(self, now: float, delay: float) -> float:
        """Poll after ``delay``, cut to the deadline (rule 2)."""
        left = self._left(now)
        if delay >= left:  # the next poll is the final one
            delay = left if left > 0.0 else 0.0
            self._final = True
            self._linear = None  # the final poll takes the full path
        self._previous = delay
        return delay

    def _left(self, now: float) -> float:
        """The time from ``now`` to the deadline; infinite with no deadline."""
        return self._deadline - now

    def _checked_now(self, now: object) -> float:
        """``now`` as a float, if it is a time that can follow the last one (rule 8)."""
        if isinstance(now, bool) or not isinstance(now, (int, float)):
            raise TypeError(f"now must be a number of seconds, not {type(now).__name__}")
        try:
            seconds = float(now)
        except OverflowError:
            seconds = _INF
        if not math.isfinite(seconds):
            raise ValueError(f"now must be a finite number of seconds, got {seconds!r}")
        if seconds < self._now:
            raise ValueError(
                f"time went backwards: now is {seconds!r}, earlier it was {self._now!r}; "
                "the clock must be monotonic"
            )
        return seconds

    def _fail(self, entity: T, state: Hashable | None, outcome: Outcome) -> Fail:
        spec = self._spec
        got = _cut(show_state(state))
        if outcome is Outcome.UNEXPECTED:
            got += " (not a state it passes through on the way)"
        text = f"{_cut(spec.name)} failed to reach {_cut(spec.goal or '')}, got {got}"
        message = self._last_message()
        if message:
            text += f": {_cut(message)}"
        return Fail(entity, state, message, text)

    def _time_out(self, now: float) -> TimeOut:
        timeout = self._policy._seconds or 0.0
        # From the deadline (start + timeout, the one time kept): now - start up to the
        # rounding of that sum, far under a microsecond for any timeout a wait has.
        elapsed = max(now - (self._deadline - timeout), 0.0)
        text = f"timed out after {timedelta(seconds=timeout)}: {self._last_words()}"
        entity = None if self._entity is _NO_ENTITY else self._entity
        return TimeOut(
            timeout,
            elapsed,
            self._attempts,
            entity,
            self._state,
            self._last_message(),
            self._last_error,
            text,
        )

    def _last_message(self) -> str | None:
        """The last entity's message (read on every poll, so a broken accessor is
        reported at the poll that shows it)."""
        return self._message

    def _last_words(self) -> str:
        """What the timeout message ends with: the last error, else the last message."""
        name = _cut(self._spec.name)
        if self._last_error is not None:
            error = self._last_error
            detail = _cut(_show_error(error))
            return f"{name}: last error: {detail}"
        if self._entity is _NO_ENTITY:
            return f"{name}: no reply yet"
        shown = f"{name} is {_cut(show_state(self._state))}"
        message = self._last_message()
        return f"{shown}: {_cut(message)}" if message else shown

    # -- bookkeeping --------------------------------------------------------------------

    def _advance(self, event: Event) -> None:
        try:
            self._phase = TRANSITIONS[self._phase, event]
        except KeyError:
            raise UsageError(
                f"cannot take {event.value!r} in phase {self._phase.value!r}"
            ) from None
        if self._phase is not _WAITING:
            self._linear = None  # an ended wait's polls take the full path, which refuses them

    def _expect_waiting(self) -> None:
        if self._phase is not _WAITING:
            if self._phase is Phase.NEW:
                raise UsageError("call start(now) before reporting a poll")
            raise UsageError(f"the wait is over ({self._phase.value}); start a new Machine")

    def _what(self) -> str:
        """What the last poll said, for the debug log."""
        if self._last_error is not None:
            return f"error {_brief(self._last_error)}"
        what = show_state(self._state)
        message = self._last_message()
        return f"{what} ({message})" if message else what

    def _log(self, delay: float) -> None:
        final = ", the final poll" if self._final else ""
        logger.debug(
            "%s: poll %d: %s; next poll in %.3f s%s",
            self._spec.name,
            self._attempts,
            self._what(),
            delay,
            final,
        )

    def _log_end(self, what: str, ending: str) -> None:
        """The debug line of the poll that ends the wait."""
        logger.debug("%s: poll %d: %s; %s", self._spec.name, self._attempts, what, ending)


def _is_nan(state: object) -> bool:
    return isinstance(state, float) and state != state


def _debug() -> bool:
    """Whether the debug log is on: asked only off the common poll's path."""
    return logger.isEnabledFor(logging.DEBUG)


# The fast paths in Machine._begin and _again rely on these transitions staying put.
_NEW = Phase.NEW
_WAITING = Phase.WAITING
_SUCCEEDED_PHASE = Phase.SUCCEEDED
_INF = math.inf
_SUCCEEDED = Outcome.SUCCEEDED
_FAILED = Outcome.FAILED
_STILL_GOING = Outcome.STILL_GOING
assert TRANSITIONS[Phase.NEW, Event.START] is Phase.WAITING
assert TRANSITIONS[Phase.WAITING, Event.STILL_GOING] is Phase.WAITING
assert TRANSITIONS[Phase.WAITING, Event.TRANSIENT_ERROR] is Phase.WAITING
assert TRANSITIONS[Phase.WAITING, Event.SUCCESS] is Phase.SUCCEEDED
