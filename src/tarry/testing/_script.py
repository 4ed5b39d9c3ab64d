"""The vocabulary of a scenario: steps and timelines, faults, replies and request records.

Pure data with validation; no sockets, no clocks. ``_scenarios`` plays them.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "ROLES",
    "Action",
    "Fault",
    "FaultKind",
    "Reply",
    "Request",
    "ScenarioError",
    "Step",
    "StepLike",
    "Timeline",
    "fault_from_json",
    "is_seconds",
]


ROLES = ("poll", "status", "location", "resource")


class ScenarioError(ValueError):
    """A scenario that cannot be played: bad timeline, bad fault, bad JSON script."""


# --------------------------------------------------------------------------- timelines


@dataclass(frozen=True)
class Step:
    """One state of an operation, from a moment on.

    ``at`` is seconds since the operation was created; ``poll`` is a poll number (1 is
    the first poll); with neither, the step begins at once. ``message`` is the human
    text the convention shows (state_message, error.message...). ``code`` is the error
    code of a failed step (an int for Google, a string for Azure). ``result`` is the
    Databricks run ``result_state`` (for example ``Step("TERMINATED", result="FAILED")``).
    """

    state: str
    at: float | None = None
    poll: int | None = None
    message: str | None = None
    code: str | int | None = None
    result: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.state, str) or not self.state:
            raise ScenarioError("step state must be a non-empty string")
        if self.at is not None and self.poll is not None:
            raise ScenarioError("a step begins at a time or at a poll, not both")
        if self.at is not None and not is_seconds(self.at):
            raise ScenarioError(f"step time must be finite non-negative seconds, got {self.at!r}")
        if self.poll is not None and (
            isinstance(self.poll, bool) or not isinstance(self.poll, int) or self.poll < 1
        ):
            raise ScenarioError(f"step poll must be an integer >= 1, got {self.poll!r}")
        if self.message is not None and not isinstance(self.message, str):
            raise ScenarioError("step message must be a string")
        if self.result is not None and not isinstance(self.result, str):
            raise ScenarioError("step result must be a string")
        if self.code is not None and (
            isinstance(self.code, bool) or not isinstance(self.code, (str, int))
        ):
            raise ScenarioError("step code must be a string or an integer")

    def begun(self, elapsed: float, polls: int) -> bool:
        """Whether this step has begun after ``elapsed`` seconds and ``polls`` polls."""
        if self.poll is not None:
            return polls >= self.poll
        return elapsed >= (self.at or 0.0)


StepLike = Step | str | Sequence[Any] | Mapping[str, Any]


class Timeline:
    """The states an operation goes through, in order.

    Built from ``Step`` objects, bare state names (a first step) or ``(seconds, state)``
    and ``(seconds, state, message)`` tuples. The first step must begin at 0; times and
    poll numbers must not go backwards.
    """

    def __init__(self, steps: Iterable[StepLike]) -> None:
        if isinstance(steps, (str, bytes)):
            raise ScenarioError("a timeline is a list of steps, not a string")
        self.steps: tuple[Step, ...] = tuple(_coerce_step(s) for s in steps)
        if not self.steps:
            raise ScenarioError("a timeline needs at least one step")
        first = self.steps[0]
        if first.poll is not None or (first.at or 0.0) != 0.0:
            raise ScenarioError("the first step of a timeline must begin at 0 seconds")
        last_at, last_poll = 0.0, 0
        for step in self.steps:
            if step.poll is not None:
                if step.poll < last_poll:
                    raise ScenarioError("step poll numbers must not go backwards")
                last_poll = step.poll
            else:
                at = step.at or 0.0
                if at < last_at:
                    raise ScenarioError("step times must not go backwards")
                last_at = at

    def at(self, elapsed: float, polls: int) -> Step:
        """The step in force after ``elapsed`` seconds and ``polls`` polls."""
        current = self.steps[0]
        for step in self.steps[1:]:
            if step.begun(elapsed, polls):
                current = step
        return current

    def __repr__(self) -> str:
        return f"Timeline({list(self.steps)!r})"


def _coerce_step(item: StepLike) -> Step:
    if isinstance(item, Step):
        return item
    if isinstance(item, str):
        return Step(item)
    if isinstance(item, Mapping):
        return _step_from_json(item)
    if isinstance(item, Sequence) and len(item) in (2, 3):
        at, state, *rest = tuple(item)
        return Step(state, at=at, message=rest[0] if rest else None)
    raise ScenarioError(f"cannot read a step from {item!r}")


def is_seconds(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


# --------------------------------------------------------------------------- faults


class FaultKind(enum.Enum):
    """What goes wrong on a poll. The values are the names used in JSON scripts."""

    STATUS = "status"  #: answer an error status (429, 500, 503...) with an error body
    RETRY_AFTER = "retry_after"  #: the normal answer, plus a Retry-After header
    DROP = "drop"  #: close the connection without answering
    RESET = "reset"  #: send the headers and half the body, then reset the connection
    SLOW = "slow"  #: wait ``seconds`` before the normal answer
    HANG = "hang"  #: never answer, until the server stops
    MALFORMED = "malformed"  #: the normal status with a body that is not valid JSON
    TRUNCATED = "truncated"  #: the normal status with the JSON cut in half
    HUGE = "huge"  #: the normal answer padded to at least ``size`` bytes
    FOREIGN = "foreign"  #: Azure: polling headers point to another origin
    MOVE = "move"  #: Azure: the polling URL changes; the old one answers 404 from then on
    REDIRECT = "redirect"  #: answer a redirect to an alias of the polled URL


@dataclass(frozen=True)
class Fault:
    """A fault injected on some polls of one operation.

    Build one with the class methods (``Fault.status(503, retry_after="5", on=2)``).
    ``on`` names poll numbers (1 is the first poll); ``between=(start, end)`` a window
    of seconds since creation, end excluded; with neither, every poll. ``code`` is the
    HTTP status of STATUS and REDIRECT faults; ``value`` the Retry-After value
    sent verbatim (garbage is allowed on purpose); ``seconds`` the delay of SLOW;
    ``size`` the body size of HUGE; ``origin`` where FOREIGN and REDIRECT point
    (``scheme://host:port``; by default ``http://127.0.0.2:<port>`` for FOREIGN and the
    server itself for REDIRECT). ``role`` limits the fault to one URL of the operation:
    ``"poll"`` (the only URL of non-Azure operations), or Azure's ``"status"``
    (the monitor), ``"location"`` or ``"resource"``; poll numbers still count every
    poll of the operation.
    """

    kind: FaultKind
    on: frozenset[int] | None = None
    between: tuple[float, float] | None = None
    code: int = 0
    value: str | None = None
    seconds: float = 0.0
    size: int = 0
    origin: str | None = None
    role: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FaultKind):
            raise ScenarioError(f"fault kind must be a FaultKind, got {self.kind!r}")
        bad_poll = any(
            isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in self.on or ()
        )
        if self.on is not None and (not self.on or bad_poll):
            raise ScenarioError("fault polls must be integers >= 1")
        if self.between is not None:
            start, end = self.between
            if not (is_seconds(start) and is_seconds(end) and start < end):
                raise ScenarioError("fault window must be (start, end) seconds with start < end")
        if self.kind is FaultKind.STATUS and not 400 <= self.code <= 599:
            raise ScenarioError(f"status fault needs an error status 400-599, got {self.code}")
        if self.kind is FaultKind.REDIRECT and self.code not in (301, 302, 303, 307, 308):
            raise ScenarioError(f"redirect fault needs 301, 302, 303, 307 or 308, not {self.code}")
        if self.value is not None and (
            not isinstance(self.value, str) or "\r" in self.value or "\n" in self.value
        ):
            raise ScenarioError("a Retry-After value must be a string on one line")
        if not is_seconds(self.seconds):
            raise ScenarioError("fault seconds must be finite and non-negative")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ScenarioError("fault size must be a non-negative integer")
        if self.role is not None and self.role not in ROLES:
            raise ScenarioError(f"fault role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.origin is not None:
            parts = urlsplit(self.origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ScenarioError(f"origin must look like http://host:port, got {self.origin!r}")

    # Constructors, one per kind -----------------------------------------------------

    @classmethod
    def status(
        cls,
        code: int = 503,
        *,
        retry_after: str | None = None,
        on: Polls = None,
        between: Window = None,
        role: str | None = None,
    ) -> Fault:
        """Answer HTTP ``code`` with the convention's error body (and a Retry-After)."""
        return cls(FaultKind.STATUS, *_when(on, between), role=role, code=code, value=retry_after)

    @classmethod
    def retry_after(
        cls, value: str, *, on: Polls = None, between: Window = None, role: str | None = None
    ) -> Fault:
        """Add ``Retry-After: value`` to the normal answer (a 200 or a 202)."""
        return cls(FaultKind.RETRY_AFTER, *_when(on, between), role=role, value=value)

    @classmethod
    def drop(cls, *, on: Polls = None, between: Window = None, role: str | None = None) -> Fault:
        """Close the connection after reading the request, without answering."""
        return cls(FaultKind.DROP, *_when(on, between), role=role)

    @classmethod
    def reset(cls, *, on: Polls = None, between: Window = None, role: str | None = None) -> Fault:
        """Send the headers and half the body, then reset the connection (TCP RST)."""
        return cls(FaultKind.RESET, *_when(on, between), role=role)

    @classmethod
    def slow(
        cls, seconds: float, *, on: Polls = None, between: Window = None, role: str | None = None
    ) -> Fault:
        """Wait ``seconds`` before giving the normal answer."""
        return cls(FaultKind.SLOW, *_when(on, between), role=role, seconds=seconds)

    @classmethod
    def hang(cls, *, on: Polls = None, between: Window = None, role: str | None = None) -> Fault:
        """Never answer; the connection stays open until the client or server gives up."""
        return cls(FaultKind.HANG, *_when(on, between), role=role)

    @classmethod
    def malformed(
        cls, *, on: Polls = None, between: Window = None, role: str | None = None
    ) -> Fault:
        """Answer the normal status with a JSON content type and a body that is not JSON."""
        return cls(FaultKind.MALFORMED, *_when(on, between), role=role)

    @classmethod
    def truncated(
        cls, *, on: Polls = None, between: Window = None, role: str | None = None
    ) -> Fault:
        """Answer the first half of the normal JSON body (a complete HTTP message)."""
        return cls(FaultKind.TRUNCATED, *_when(on, between), role=role)

    @classmethod
    def huge(
        cls,
        size: int = 4_000_000,
        *,
        on: Polls = None,
        between: Window = None,
        role: str | None = None,
    ) -> Fault:
        """Answer the normal JSON padded with a ``"padding"`` member to ``size`` bytes."""
        return cls(FaultKind.HUGE, *_when(on, between), role=role, size=size)

    @classmethod
    def foreign(
        cls,
        origin: str | None = None,
        *,
        on: Polls = None,
        between: Window = None,
        role: str | None = None,
    ) -> Fault:
        """Azure only: point the polling headers at ``origin`` (default 127.0.0.2)."""
        return cls(FaultKind.FOREIGN, *_when(on, between), role=role, origin=origin)

    @classmethod
    def move(cls, *, on: Polls = None, between: Window = None, role: str | None = None) -> Fault:
        """Azure only: give the polled URL a new address; the old one then answers 404."""
        return cls(FaultKind.MOVE, *_when(on, between), role=role)

    @classmethod
    def redirect(
        cls,
        code: int = 307,
        *,
        origin: str | None = None,
        on: Polls = None,
        between: Window = None,
        role: str | None = None,
    ) -> Fault:
        """Answer ``code`` with a Location that serves the same operation."""
        return cls(FaultKind.REDIRECT, *_when(on, between), role=role, code=code, origin=origin)

    def matches(self, poll: int, elapsed: float, role: str = "poll") -> bool:
        """Whether this fault fires on poll number ``poll`` at ``elapsed`` seconds, on the
        URL of ``role``."""
        if self.role is not None and role != self.role:
            return False
        if self.on is not None and poll not in self.on:
            return False
        if self.between is not None:
            start, end = self.between
            return start <= elapsed < end
        return True


Polls = int | Iterable[int] | None
Window = tuple[float, float] | Sequence[float] | None


def _when(on: Polls, between: Window) -> tuple[frozenset[int] | None, tuple[float, float] | None]:
    polls: frozenset[int] | None
    if on is None:
        polls = None
    elif isinstance(on, int):
        polls = frozenset((on,))
    else:
        polls = frozenset(on)
    window: tuple[float, float] | None = None
    if between is not None:
        if len(between) != 2:
            raise ScenarioError("fault window must be (start, end)")
        window = (between[0], between[1])
    return polls, window


# --------------------------------------------------------------------------- records


class Action(enum.Enum):
    """What the socket layer does with a ``Reply``."""

    ANSWER = "answer"  #: send it (after ``delay`` seconds)
    DROP = "drop"  #: close the connection without sending anything
    RESET = "reset"  #: send the head and half the body, then reset the connection
    HANG = "hang"  #: send nothing until the server stops


@dataclass(frozen=True)
class Reply:
    """What to answer one request; ``body`` is empty for 204 and for actions that send none."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    action: Action = Action.ANSWER
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    """One request the server received, for assertions in tests.

    ``target`` is the path and query as sent; ``headers`` come as received, names in
    lower case (h11 normalises them); ``time`` is the server's clock in seconds
    (``time.monotonic()`` of this process, unless ``Scenarios`` was given another);
    ``operation`` and ``poll`` say which operation it reached and which poll of it this
    was (``poll`` is None for create calls, initial requests and unknown paths).
    """

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    time: float
    operation: str | None = None
    poll: int | None = None

    @property
    def path(self) -> str:
        """The target without its query string."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string, parsed."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


_FAULT_KEYS = {"kind", "on", "between", "code", "retry_after", "seconds", "size", "origin", "role"}


def fault_from_json(item: Any) -> Fault:
    if not isinstance(item, Mapping):
        raise ScenarioError(f"a fault must be a JSON object, got {item!r}")
    unknown = sorted(set(item) - _FAULT_KEYS)
    if unknown:
        raise ScenarioError(f"unknown fault key(s): {', '.join(unknown)}")
    try:
        kind = FaultKind(item.get("kind"))
    except ValueError:
        names = ", ".join(k.value for k in FaultKind)
        raise ScenarioError(
            f"unknown fault kind {item.get('kind')!r}: use one of {names}"
        ) from None
    on, between = _when(item.get("on"), item.get("between"))
    code = item.get("code")
    if code is None:
        code = {FaultKind.STATUS: 503, FaultKind.REDIRECT: 307}.get(kind, 0)
    if isinstance(code, bool) or not isinstance(code, int):
        raise ScenarioError("fault code must be an integer")
    size = item.get("size", 4_000_000 if kind is FaultKind.HUGE else 0)
    return Fault(
        kind,
        on,
        between,
        code=code,
        value=item.get("retry_after"),
        seconds=item.get("seconds", 0.0),
        role=item.get("role"),
        size=size,
        origin=item.get("origin"),
    )


def _step_from_json(item: Mapping[str, Any]) -> Step:
    unknown = sorted(set(item) - {"state", "at", "poll", "message", "code", "result"})
    if unknown:
        raise ScenarioError(f"unknown step key(s): {', '.join(unknown)}")
    if "state" not in item:
        raise ScenarioError("a step needs a state")
    return Step(**item)
