"""How to read an operation: its state, its message, and which states end the wait.

A ``Spec`` is written once by whoever knows the operation (usually an SDK author) and
used by every wait on it. It never does I/O; it only looks at entities already polled.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ._errors import UnreadableEntity

__all__ = ["Outcome", "Spec", "show_state"]

T = TypeVar("T")

StateSet = Collection[Hashable]
Condition = Callable[[T], bool]


class Outcome(enum.Enum):
    """What one polled entity says about the operation."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNEXPECTED = "unexpected"  # a state outside ``pending``: a dead end nobody listed
    STILL_GOING = "still going"


def show_state(state: object) -> str:
    """A state as people read it: an enum's value (or name), never its repr.

    A state that cannot be shown (its ``__str__`` raises) is named by its type, so a
    message about it can still be written.
    """
    try:
        if isinstance(state, enum.Enum):
            return state.value if isinstance(state.value, str) else state.name
        return str(state)
    except Exception:
        return f"<{type(state).__name__}>"


def _no_message(entity: object) -> None:
    return None


def _as_test(
    name: str, what: StateSet | Condition[T]
) -> tuple[frozenset[Hashable], Condition[T] | None]:
    if isinstance(what, type):
        # A class is callable (and an Enum class iterable): as a predicate it would call
        # the class on every entity, which is almost never what was meant.
        raise TypeError(
            f"{name} must be a collection of states or a predicate, not the class "
            f"{what.__name__}; for every member of an enum, write set({what.__name__})"
        )
    if callable(what):
        _plain(name, what)
        return frozenset(), what
    if isinstance(what, (str, bytes)):
        raise TypeError(f"{name} must be a collection of states or a predicate, not a string")
    try:
        return frozenset(what), None
    except TypeError:
        raise TypeError(
            f"{name} must be a collection of hashable states or a predicate on the entity"
        ) from None


def _plain(name: str, function: object) -> None:
    """Spec functions run inside the core, which awaits nothing: refuse ``async def``."""
    if inspect.iscoroutinefunction(function):
        raise TypeError(f"{name} must be a plain function, not an async one")


def _awaitable_verdict(name: str, verdict: object) -> None:
    """A predicate that returned an awaitable was async in disguise (a lambda around a
    coroutine function): its answer is unknown, and truthiness would call it yes."""
    if inspect.iscoroutine(verdict):
        verdict.close()  # it will never run; close it so Python does not warn later
    raise TypeError(f"the {name} predicate returned an awaitable; it must return a bool")


@dataclass(frozen=True)
class Spec(Generic[T]):
    """How to read entities of one kind of operation.

    ``success`` and ``failure`` are each a collection of states or a predicate on the
    entity (a job run that is TERMINATED *and* whose result is FAILED needs a predicate).
    A ``None`` state means "not known yet": the wait goes on. If ``pending`` is given, it
    lists every state that means "still going", and any other state that is neither a
    success nor a failure fails the wait at once, named in the message: a cancelled or
    deleted resource never comes back, so waiting for the deadline would only waste time.

    ``retry_after`` reads a server's hint (seconds until it is worth asking again) from
    an entity; the core raises the next delay to at least that much.

    Every function here is plain (``async def`` is a ``TypeError``) and does no I/O. A
    predicate's answer is taken by its truth value (``None`` means no); one that returns
    an awaitable, or whose answer has no truth value, makes the entity an
    ``UnreadableEntity``. So does a float NaN state that is neither a success nor a
    failure: NaN equals nothing, not even itself, so no state set could ever match it
    and the wait would only run on to its deadline.
    """

    name: str
    state: Callable[[T], Hashable | None]
    message: Callable[[T], object] | None = None
    success: StateSet | Condition[T] = ()
    failure: StateSet | Condition[T] = ()
    pending: StateSet | None = None
    retry_after: Callable[[T], float | None] | None = None
    goal: str | None = None
    _success_states: frozenset[Hashable] = field(init=False, repr=False, compare=False)
    _success_test: Condition[T] | None = field(init=False, repr=False, compare=False)
    _failure_states: frozenset[Hashable] = field(init=False, repr=False, compare=False)
    _failure_test: Condition[T] | None = field(init=False, repr=False, compare=False)
    _pending_states: frozenset[Hashable] | None = field(init=False, repr=False, compare=False)
    _classify: Callable[[T, Hashable | None], Outcome] = field(
        init=False, repr=False, compare=False
    )
    _outcomes: dict[Hashable, Outcome] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name must be a non-empty string")
        if not callable(self.state):
            raise TypeError("state must be a function from an entity to its state")
        _plain("state", self.state)
        if self.message is not None and not callable(self.message):
            raise TypeError("message must be a function from an entity to its message, or None")
        _plain("message", self.message)
        if self.retry_after is not None and not callable(self.retry_after):
            raise TypeError("retry_after must be a function from an entity to seconds, or None")
        _plain("retry_after", self.retry_after)
        if self.goal is not None and (not isinstance(self.goal, str) or not self.goal):
            raise TypeError("goal must be a non-empty string, or None")
        success_states, success_test = _as_test("success", self.success)
        failure_states, failure_test = _as_test("failure", self.failure)
        if not success_states and success_test is None:
            raise ValueError("success must name at least one state or be a predicate")
        overlap = success_states & failure_states
        if overlap:
            shown = ", ".join(sorted(show_state(s) for s in overlap))
            raise ValueError(f"states cannot both succeed and fail: {shown}")
        pending = None
        if self.pending is not None:
            if isinstance(self.pending, (str, bytes)):
                raise TypeError("pending must be a collection of states, not a string")
            try:
                pending = frozenset(self.pending)
            except TypeError:
                raise TypeError("pending must be a collection of hashable states") from None
        setattr_ = object.__setattr__
        setattr_(self, "_success_states", success_states)
        setattr_(self, "_success_test", success_test)
        setattr_(self, "_failure_states", failure_states)
        setattr_(self, "_failure_test", failure_test)
        setattr_(self, "_pending_states", pending)
        # A spec made of state sets alone (the common case) is judged by one dict look-up.
        outcomes = None
        if success_test is None and failure_test is None and pending is None:
            outcomes = dict.fromkeys(success_states, _SUCCEEDED)
            outcomes.update(dict.fromkeys(failure_states, _FAILED))
        setattr_(self, "_outcomes", outcomes)
        setattr_(
            self,
            "_classify",
            _classifier(success_states, success_test, failure_states, failure_test, pending),
        )
        if self.goal is None:
            goal = " or ".join(sorted(show_state(s) for s in success_states)) or "success"
            setattr_(self, "goal", goal)

    def __reduce__(self) -> tuple[Any, ...]:
        # The derived fields hold a closure, which cannot be pickled: rebuild them.
        fields = (self.name, self.state, self.message, self.success, self.failure)
        return (type(self), (*fields, self.pending, self.retry_after, self.goal))

    def unreadable(self, doing: str, entity: object, exc: Exception) -> UnreadableEntity:
        """The error for an accessor or predicate that raised on ``entity``."""
        return UnreadableEntity(f"{self.name}: cannot {doing} {_brief(entity)}: {_brief(exc)}")

    def read_state(self, entity: T) -> Hashable | None:
        """The entity's state; an accessor that raises becomes an ``UnreadableEntity``."""
        try:
            state = self.state(entity)
            hash(state)
        except Exception as exc:
            raise self.unreadable("read the state of", entity, exc) from exc
        return state

    def read_message(self, entity: T) -> str | None:
        """The entity's human message, or None."""
        if self.message is None:
            return None
        try:
            message = self.message(entity)
            return None if message is None else str(message)
        except Exception as exc:
            raise self.unreadable("read the message of", entity, exc) from exc

    def read_retry_after(self, entity: T) -> float | None:
        """The server's hint for the next delay, if the spec knows where to find one."""
        if self.retry_after is None:
            return None
        try:
            return self.retry_after(entity)
        except Exception as exc:
            raise self.unreadable("read the retry hint of", entity, exc) from exc

    def judge(self, entity: T, state: Hashable | None) -> Outcome:
        """Classify one entity whose state was already read. Success is checked first."""
        try:
            return self._classify(entity, state)
        except Exception as exc:
            raise self.unreadable("judge", entity, exc) from exc


_SUCCEEDED = Outcome.SUCCEEDED
_FAILED = Outcome.FAILED
_UNEXPECTED = Outcome.UNEXPECTED
_STILL_GOING = Outcome.STILL_GOING


def _classifier(
    success: frozenset[Hashable],
    is_success: Condition[T] | None,
    failure: frozenset[Hashable],
    is_failure: Condition[T] | None,
    pending: frozenset[Hashable] | None,
) -> Callable[[T, Hashable | None], Outcome]:
    """The spec's judgement as one function, built once: it runs on every poll.

    Specs made of state sets alone (the common case) get a function that only does set
    look-ups; any predicate or a ``pending`` set takes the general one.
    """
    if is_success is None and is_failure is None and pending is None:

        def by_states(entity: T, state: Hashable | None) -> Outcome:
            if state in success:
                return _SUCCEEDED
            if state in failure:
                return _FAILED
            return _STILL_GOING

        return by_states

    def general(entity: T, state: Hashable | None) -> Outcome:
        if state in success:
            return _SUCCEEDED
        if is_success is not None:
            said: object = is_success(entity)
            if said is True or (said.__class__ is not bool and _yes(said, "success")):
                return _SUCCEEDED
        if state in failure:
            return _FAILED
        if is_failure is not None:
            told: object = is_failure(entity)
            if told is True or (told.__class__ is not bool and _yes(told, "failure")):
                return _FAILED
        if pending is not None and state is not None and state not in pending:
            return _UNEXPECTED
        return _STILL_GOING

    return general


def _yes(verdict: object, name: str) -> bool:
    """The truth of a predicate's answer that is not a bool (None, a numpy bool...)."""
    if inspect.isawaitable(verdict):
        _awaitable_verdict(name, verdict)
    return bool(verdict)


def _brief(entity: Any, limit: int = 200) -> str:
    """A bounded repr, so a huge entity never floods a message."""
    try:
        text = repr(entity)
    except Exception:
        text = f"<{type(entity).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
