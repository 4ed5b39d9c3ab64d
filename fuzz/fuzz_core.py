"""Fuzz the core: ``tarry.Machine`` under arbitrary policies, clocks, entities and errors.

Invariant
=========
Whatever the policy (any timeout, any backoff with any parameters, any ``retry_on``,
any ``max_retry_after`` and ``request_floor``), the spec (states of every kind, sets or
predicates, accessors that raise), the clock (non-decreasing readings, arbitrary gaps)
and the facts reported (entities, errors, Retry-After hints of any type and value):

1. Nothing escapes but documented errors: ``ValueError``/``TypeError`` while building a
   bad policy, backoff or spec; ``tarry.UnreadableEntity`` when an accessor raises or a
   state is unhashable; ``tarry.UsageError`` for misuse; and the caller's own
   exception, unchanged, when their ``retry_on`` predicate raises.
2. The timing rules hold: every delay is finite and >= 0 and never ends past the
   deadline; a ``final`` poll is the one at the deadline and nothing is polled after
   it; a still-going poll at or after the deadline times out; a success always wins,
   even after the deadline; a valid Retry-After raises the delay to at least
   ``min(hint, max_retry_after, time left)``; a built-in backoff never sleeps longer
   than its cap (plus jitter) unless a hint asked for it; each request is given
   ``max(time left after the sleep, request_floor)``.
3. Actions carry the truth: a timeout reports the real elapsed time, the attempt
   count and the last transient error; a failure carries the state and message; a
   non-transient error is handed back as the same object.
4. A finished machine stays finished: anything fed to it is a ``UsageError``.

Run: ``python fuzz/fuzz_core.py [--seconds N] [libFuzzer options] [corpus dirs]``.
"""

from __future__ import annotations

import enum
import logging
import math
import random
from collections.abc import Hashable
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from _source import Source

import tarry

__all__ = ["test_one_input"]

# ---------------------------------------------------------------------------------------
# The raw material: states, messages, hints and errors that break naive code.


class Color(enum.Enum):
    RED = "RED"
    GREEN = "GREEN"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class Boom(Exception):
    """Raised on purpose by an accessor or predicate."""


class RudeStr:
    """Hashable, but cannot be shown."""

    def __str__(self) -> str:
        raise Boom("no str")

    def __repr__(self) -> str:
        raise Boom("no repr")


class RudeHash:
    """Claims to be hashable and is not."""

    def __hash__(self) -> int:
        raise Boom("no hash")


class RudeEq:
    """Hashes like 'PENDING' and cannot be compared."""

    def __hash__(self) -> int:
        return hash("PENDING")

    def __eq__(self, other: object) -> bool:
        raise Boom("no eq")


NAN = math.nan
STATES: tuple[Any, ...] = (
    "PENDING",
    "RUNNING",
    "ERROR",
    "",
    None,
    Color.RED,
    Color.GREEN,
    Level.HIGH,
    0,
    1,
    True,
    1.5,
    NAN,
    ("a", 1),
    frozenset({"x"}),
    RudeStr(),
    RudeEq(),
    ["unhashable"],
    {"un": "hashable"},
    RudeHash(),
)
# States a spec may list: anything hashable that compares and shows itself sanely. (A
# state that cannot even be compared or shown is only ever met in an entity.)
HASHABLE = tuple(s for s in STATES if isinstance(s, Hashable) and type(s).__module__ != __name__)
HASHABLE += (Color.RED, Color.GREEN, Level.HIGH)

MESSAGES: tuple[Any, ...] = (None, "", "still working", 42, "x" * 5000, "\udcff", RudeStr())


class Weird:
    """A hint that is no number at all."""


HINTS: tuple[Any, ...] = (
    None,
    0,
    1,
    2.5,
    10,
    2700,
    99999999999,
    10**400,
    -(10**400),
    -5,
    -0.0,
    NAN,
    math.inf,
    -math.inf,
    1.5e300,
    True,
    "10",
    b"5",
    Decimal("5"),
    Fraction(7, 2),
    Weird(),
    [3],
)


class Throttled(Exception):
    """A poll error that carries a server hint, as HTTP errors do."""

    def __init__(self, hint: Any) -> None:
        super().__init__("429 Too Many Requests")
        self.retry_after = hint


class HintRaises(Exception):
    @property
    def retry_after(self) -> float:
        raise Boom("no hint")


class Unspeakable(Exception):
    def __str__(self) -> str:
        raise Boom("no str")

    def __repr__(self) -> str:
        raise Boom("no repr")


def _error(src: Source) -> Exception:
    kind = src.below(8)
    if kind == 0:
        return ConnectionError("connection reset")
    if kind == 1:
        return TimeoutError()
    if kind == 2:
        return Throttled(_hint(src))
    if kind == 3:
        return HintRaises("hint raises")
    if kind == 4:
        return Unspeakable()
    if kind == 5:
        return ValueError(src.text())
    if kind == 6:
        return Boom("boom")
    return RuntimeError("x" * 10000)


def _hint(src: Source) -> Any:
    return src.number() if src.below(4) == 0 else src.pick(HINTS)


def _param(src: Source) -> Any:
    """A backoff or policy parameter: usually a number, sometimes nonsense."""
    kind = src.below(12)
    if kind == 0:
        return src.pick((None, "1", True, 10**400, -(10**400), Decimal("1"), [1]))
    if kind == 1:
        return src.below(1000)
    return src.number()


# ---------------------------------------------------------------------------------------
# Building a scenario from bytes. Construction errors are part of the contract.


class Entity:
    """One poll's answer: a state, a message, a hint, and accessors that may misbehave."""

    def __init__(self, src: Source) -> None:
        self.state = src.pick(STATES)
        self.message = src.pick(MESSAGES)
        self.hint = _hint(src)
        self.ok = src.flag()
        self.bad = src.flag()
        trouble = src.below(16)
        self.state_raises = trouble == 1
        self.message_raises = trouble == 2
        self.hint_raises = trouble == 3
        self.success_raises = trouble == 4
        self.failure_raises = trouble == 5
        self.repr_raises = trouble == 6

    def __repr__(self) -> str:
        if self.repr_raises:
            raise Boom("no repr")
        return f"<Entity {self.state!r}>"


def _trouble(e: Entity, what: str) -> Exception:
    """What a misbehaving accessor raises: now and then an error that cannot be shown."""
    return Unspeakable() if e.ok and e.bad else Boom(what)


def _state(e: Entity) -> Hashable | None:
    if e.state_raises:
        raise _trouble(e, "state")
    return e.state  # type: ignore[no-any-return]


def _message(e: Entity) -> object:
    if e.message_raises:
        raise _trouble(e, "message")
    return e.message


def _retry_after(e: Entity) -> float | None:
    if e.hint_raises:
        raise _trouble(e, "hint")
    return e.hint  # type: ignore[no-any-return]


def _succeeded(e: Entity) -> bool:
    if e.success_raises:
        raise _trouble(e, "success")
    return e.ok


def _failed(e: Entity) -> bool:
    if e.failure_raises:
        raise _trouble(e, "failure")
    return e.bad


def _states(src: Source) -> Any:
    """A collection of states for success, failure or pending (or something that is not)."""
    kind = src.below(10)
    if kind == 0:
        return src.pick(("RUNNING", b"RUNNING", [["unhashable"]], 42, None))
    chosen = [src.pick(HASHABLE) for _ in range(src.below(4))]
    return src.pick((set, frozenset, list, tuple))(chosen)


def _spec(src: Source) -> tarry.Spec[Entity]:
    success: Any = _succeeded if src.below(3) == 0 else _states(src)
    failure: Any = _failed if src.below(3) == 0 else _states(src)
    pending = None if src.flag() else _states(src)
    return tarry.Spec(
        name=src.pick(("cluster", "job", "", "op\nwith\nlines")),
        state=_state,
        message=_message if src.flag() else None,
        success=success,
        failure=failure,
        pending=pending,
        retry_after=_retry_after if src.flag() else None,
        goal=src.pick((None, "RUNNING")),
    )


class Scripted:
    """A custom backoff that returns whatever it is told to."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def delay(self, n: int, previous: float, rng: random.Random) -> float:
        return self.values[n % len(self.values)]  # type: ignore[no-any-return]


def _backoff(src: Source) -> tuple[Any, float | None]:
    """A backoff and the longest delay it may give (None: no promise)."""
    kind = src.below(5)
    if kind == 0:
        linear = tarry.Linear(_param(src), _param(src), _param(src))
        return linear, linear.cap + linear.jitter
    if kind == 1:
        jitter: Any = src.pick(("full", "equal", "decorrelated", "none", "bogus", None))
        exp = tarry.Exponential(_param(src), _param(src), _param(src), jitter)
        return exp, exp.cap
    if kind == 2:
        constant = tarry.Constant(_param(src))
        return constant, constant.seconds
    if kind == 3:
        values = [src.pick((src.number(), 10**400, -(10**400), 3)) for _ in range(3)]
        return Scripted(values), None
    return src.pick((None, "linear", 3)), None


def _timeout(src: Source) -> Any:
    kind = src.below(8)
    if kind == 0:
        return None
    if kind == 1:
        return src.pick((0, 0.0, timedelta(0)))
    if kind == 2:
        return timedelta(seconds=src.uint(3) / 10.0)
    if kind == 3:
        return src.pick((10**400, -1, NAN, math.inf, "60", True, 1e300, timedelta.max))
    return src.number() if src.below(3) == 0 else float(src.below(600))


class PredicateBoom(Exception):
    """What a raising retry_on predicate raises; it must come back unchanged."""


def _retry_on(src: Source) -> Any:
    kind = src.below(9)
    if kind == 0:
        return None
    if kind == 1:
        return ConnectionError
    if kind == 2:
        return (ConnectionError, TimeoutError, Throttled)
    if kind == 3:
        return ()
    if kind == 4:
        return Exception
    if kind == 5:
        answers = [src.flag() for _ in range(4)]
        return lambda error: answers[len(str(type(error))) % 4]

    if kind == 6:

        def refuse(error: Exception) -> bool:
            raise PredicateBoom("predicate")

        return refuse
    return src.pick(("ConnectionError", (ConnectionError, "x"), 42, [ConnectionError]))


def _is_transient(retry_on: Any, error: Exception) -> bool:
    """What retry_on says about error, computed apart from the core."""
    if retry_on is None or retry_on == ():
        return False
    if isinstance(retry_on, (type, tuple)):
        return isinstance(error, retry_on)
    return bool(retry_on(error))


def _clean(hint: Any, cap: float) -> float | None:
    """A usable hint, by rule 4 of the core, computed apart from it."""
    if type(hint) not in (int, float):
        return None
    if isinstance(hint, int) and hint > 1e308:
        return cap
    if hint != hint or hint < 0:
        return None
    return min(float(hint), cap)


def _verdict(spec: tarry.Spec[Entity], e: Entity) -> str:
    """What the entity should lead to: success, failure, unexpected, going or unreadable."""
    if e.state_raises:
        return "unreadable"
    state = e.state
    try:
        hash(state)
        if state in spec._success_states or (spec._success_test and spec._success_test(e)):
            return "success"
        if state in spec._failure_states or (spec._failure_test and spec._failure_test(e)):
            verdict = "failure"
        else:
            pending = spec._pending_states
            unlisted = pending is not None and state is not None and state not in pending
            verdict = "unexpected" if unlisted else "going"
            if isinstance(state, float) and math.isnan(state):
                return "unreadable"  # a NaN state no set can match is refused
        if spec.message is not None:
            if e.message_raises:
                return "unreadable"
            str(e.message)
    except Exception:  # an unhashable state, or an accessor or comparison that raises
        return "unreadable"
    return verdict


# ---------------------------------------------------------------------------------------
# Driving the machine and checking every action.


class Check:
    """The driver's side of the conversation, with the invariants as assertions."""

    def __init__(
        self, machine: tarry.Machine[Entity], policy: tarry.Policy, bound: float | None
    ) -> None:
        self.m = machine
        self.policy = policy
        self.bound = bound
        self.cap = float(policy.max_retry_after)
        self.floor = float(policy.request_floor)
        self.timeout = policy.timeout_seconds
        self.start = 0.0
        self.attempts = 0
        self.final = False
        self.last_error: Exception | None = None

    def poll_after(self, action: Any, now: float, hint: Any) -> None:
        assert type(action) is tarry.PollAfter, action
        m = self.m
        delay = action.delay
        assert type(delay) in (int, float), f"delay of type {type(delay).__name__}"
        assert delay >= 0, f"negative delay {delay!r}"
        assert math.isfinite(delay), f"infinite delay {delay!r}"
        assert not self.final, "a poll was scheduled after the final poll"
        cleaned = _clean(hint, self.cap)
        deadline = m.deadline
        if deadline is None:
            assert self.timeout is None
            assert action.request_timeout is None, action
            assert not action.final, action
            left = math.inf
        else:
            assert self.timeout is not None
            assert deadline == self.start + self.timeout
            left = max(deadline - now, 0.0)
            assert delay <= left, f"sleep of {delay} past the deadline ({left} left)"
            assert action.final == (delay == left), action
            rt = action.request_timeout
            assert rt is not None
            assert math.isfinite(rt), action
            assert rt == max(left - delay, self.floor), (action, left, self.floor)
        if cleaned is not None:
            assert delay >= min(cleaned, left), f"hint {hint!r} ignored: slept {delay}"
        if self.bound is not None:
            most = max(self.bound, cleaned or 0.0)
            assert delay <= most * (1 + 1e-12), f"slept {delay}, over the cap {most}"
        self.final = action.final

    def result(self, action: Any, now: float, verdict: str, e: Entity | None) -> bool:
        """Check one action; True when the wait is over."""
        deadline = self.m.deadline
        late = self.final or (deadline is not None and now >= deadline)
        if verdict == "success":
            assert type(action) is tarry.Succeed, action
            assert action.entity is e, action
            assert self.m.phase is tarry.Phase.SUCCEEDED
            return True
        if verdict in ("failure", "unexpected"):
            assert type(action) is tarry.Fail, action
            assert e is not None
            assert action.state is e.state, action
            text = action.text
            assert isinstance(text, str)
            assert self.m.spec.name in text, text
            failed = action.exception()
            assert isinstance(failed, tarry.OperationFailed)
            assert failed.entity is e
            return True
        if late:
            assert type(action) is tarry.TimeOut, f"{action} after the deadline"
            assert action.attempts == self.attempts == self.m.attempts, action
            assert action.elapsed == max(now - self.start, 0.0), action
            assert action.timeout == (self.timeout or 0.0), action
            assert action.last_error is self.last_error, action
            assert action.text.startswith("timed out after"), action.text
            exc = action.exception()
            assert isinstance(exc, tarry.OperationTimedOut)
            assert isinstance(exc, TimeoutError)
            assert str(exc) == action.text
            return True
        return False


def _absorbs(m: tarry.Machine[Entity], src: Source, now: float) -> None:
    """A finished machine refuses everything and stays as it was."""
    phase = m.phase
    for step in range(3):
        try:
            if step == 0:
                m.polled(Entity(src), now)
            elif step == 1:
                m.poll_failed(ConnectionError(), now)
            else:
                m.start(now)
        except tarry.UsageError:
            pass
        else:
            raise AssertionError(f"a machine in phase {phase} accepted more input")
        assert m.phase is phase


def _run(src: Source) -> None:
    try:
        spec = _spec(src)
        backoff, bound = _backoff(src)
        retry_on = _retry_on(src)
        policy = tarry.Policy(
            timeout=_timeout(src),
            backoff=backoff,
            retry_on=retry_on,
            max_retry_after=_param(src) if src.below(4) == 0 else 300.0,
            request_floor=_param(src) if src.below(4) == 0 else 1.0,
        )
    except (ValueError, TypeError):
        return  # a bad parameter, refused where it was given: as documented
    m = tarry.Machine(spec, policy, random.Random(src.uint(4)))
    try:
        _drive(src, m, Check(m, policy, bound), retry_on)
    except ValueError as exc:
        # A custom backoff that returns NaN, inf or a negative delay is refused.
        if type(exc) is ValueError and type(backoff) is Scripted and "backoff" in str(exc):
            return
        raise


def _drive(src: Source, m: tarry.Machine[Entity], check: Check, retry_on: Any) -> None:
    spec = m.spec

    if src.below(8) == 0:
        try:
            m.polled(Entity(src), 0.0)
        except tarry.UsageError:
            pass
        else:
            raise AssertionError("polled() before start() was accepted")

    now = src.pick((0.0, 1e6, -1000.0, 123.456, 1e9)) + src.span(1e6)
    hint = _hint(src) if src.flag() else None
    check.start = now
    action: Any = m.start(now, hint)
    check.poll_after(action, now, hint)
    try:
        m.start(now)
    except tarry.UsageError:
        pass
    else:
        raise AssertionError("start() twice was accepted")

    for _ in range(src.below(40) + 1):
        # The driver sleeps (as told, longer, or wakes early), then polls.
        gap = src.below(4)
        if gap == 0 or gap == 1:
            now += action.delay
        elif gap == 2:
            now += action.delay + src.span(src.pick((1.0, 100.0, 1e6, 1e12)))
        else:
            now += src.span(10.0)
        check.attempts += 1
        hint = _hint(src) if src.below(3) == 0 else None
        if src.below(3) == 0:
            error = _error(src)
            try:
                transient = _is_transient(retry_on, error)
            except PredicateBoom:
                try:
                    m.poll_failed(error, now, hint)
                except PredicateBoom:
                    return  # the caller's own exception, unchanged
                raise AssertionError("a raising retry_on predicate was swallowed") from None
            action = m.poll_failed(error, now, hint)
            if not transient:
                assert type(action) is tarry.Raise, action
                assert action.error is error, action
                assert m.phase is tarry.Phase.ERRORED
                break
            check.last_error = error
            if hint is None and isinstance(error, Throttled):
                hint = error.retry_after
            if check.result(action, now, "going", None):
                break
        else:
            entity = Entity(src)
            verdict = _verdict(spec, entity)
            try:
                action = m.polled(entity, now, hint)
            except tarry.UnreadableEntity:
                if verdict == "unreadable" or entity.hint_raises:
                    return
                raise
            assert verdict != "unreadable", f"unreadable entity accepted: {action}"
            check.last_error = None
            if hint is None and spec.retry_after is not None:
                hint = entity.hint
            if check.result(action, now, verdict, entity):
                break
        check.poll_after(action, now, hint)
    else:
        return
    _absorbs(m, src, now)


class _Formatting(logging.Handler):
    """Formats every record, as a real handler would, and keeps nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


_HANDLER = _Formatting()


def test_one_input(data: bytes) -> None:
    """Build a policy, spec and clock from ``data``; drive one machine; check it."""
    src = Source(data)
    logger = logging.getLogger("tarry")
    debug = src.below(4) == 0
    if debug:
        logger.addHandler(_HANDLER)
        previous = logger.level
        logger.setLevel(logging.DEBUG)
    try:
        _run(src)
    finally:
        if debug:
            logger.removeHandler(_HANDLER)
            logger.setLevel(previous)


def main() -> None:
    from _runner import main as run

    run("fuzz_core", test_one_input)


if __name__ == "__main__":
    main()
