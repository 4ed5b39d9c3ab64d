"""Scripted long-running operations, with no sockets: what the embedded server answers.

Theory of operation
-------------------
``Scenarios`` is the registry behind ``OperationsServer``. Its one entry point,
``handle(method, target, headers, body, now)``, maps a parsed HTTP request and the
server's monotonic time to a ``Reply``: a status, headers, a body, and what the socket
layer must do with it (answer, wait first, drop the connection, reset it mid-body, or
hang). Nothing here touches a socket or sleeps, so every scenario can be tested by
calling ``handle`` with made-up times.

Each operation follows a ``Timeline``: ``Step`` objects that each begin at a time
(seconds since the operation was created) or at a poll number; at any moment the
operation is in the last step that has begun. Each convention renders that step in the
wire format of the service it imitates:

- ``resource``: a generic JSON resource, ``GET /resources/{id}`` ->
  ``{"id", "state", "message"}``.
- ``google``: AIP-151 operations, ``GET /v1/operations/{id}`` -> ``{"name", "done",
  "metadata", "response" | "error": {"code", "message"}}``. Steps named SUCCEEDED,
  FAILED and CANCELLED are done; any other state is reported in ``metadata.state``.
- ``azure``: the initial PUT/PATCH/POST/DELETE on the resource path answers with the
  scripted status and polling headers; the status monitor (Azure-AsyncOperation /
  Operation-Location) answers ``{"status", "error"?, "resourceLocation"?}``; the
  Location URL answers 202 until the end, then the result; the resource itself shows
  ``properties.provisioningState``.
- ``cluster`` and ``run``: Databricks-style ``/api/2.1/clusters/get?cluster_id=`` ->
  ``{"cluster_id", "state", "state_message"}`` and ``/api/2.1/jobs/runs/get?run_id=`` ->
  ``{"run_id", "state": {"life_cycle_state", "result_state", "state_message"}}``.

Poll numbers count every status request the server received for an operation (the
first is poll 1), answered or not, so a timeline by poll count and a ``Fault`` by poll
number refer to the same counter. The initial Azure request and create calls are not
polls. A ``Fault`` fires on the polls (or the time window) it names; the first fault
in an operation's list that matches a poll wins.

Every request is recorded as a ``Request`` whatever happens to it, under a lock, since
the socket layer calls ``handle`` from many threads.
"""

from __future__ import annotations

import enum
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

__all__ = [
    "Action",
    "AzureOperation",
    "ClusterOperation",
    "Fault",
    "FaultKind",
    "GoogleOperation",
    "Operation",
    "Reply",
    "Request",
    "ResourceOperation",
    "RunOperation",
    "ScenarioError",
    "Scenarios",
    "Step",
    "Timeline",
]

JSONHeaders = (("Content-Type", "application/json"),)
ADMIN_PREFIX = "/_tarry"
REDIRECT_PREFIX = "/_tarry/r/"
AZURE_HEADERS = ("Azure-AsyncOperation", "Operation-Location", "Location")
AZURE_METHODS = ("PUT", "PATCH", "POST", "DELETE")


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
        if self.at is not None and not _is_seconds(self.at):
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


StepLike = Step | str | Sequence[Any]


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


def _is_seconds(value: object) -> bool:
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


_HEADER_FAULTS = (FaultKind.FOREIGN, FaultKind.MOVE)


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
    server itself for REDIRECT).
    """

    kind: FaultKind
    on: frozenset[int] | None = None
    between: tuple[float, float] | None = None
    code: int = 0
    value: str | None = None
    seconds: float = 0.0
    size: int = 0
    origin: str | None = None

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
            if not (_is_seconds(start) and _is_seconds(end) and start < end):
                raise ScenarioError("fault window must be (start, end) seconds with start < end")
        if self.kind is FaultKind.STATUS and not 400 <= self.code <= 599:
            raise ScenarioError(f"status fault needs an error status 400-599, got {self.code}")
        if self.kind is FaultKind.REDIRECT and self.code not in (301, 302, 303, 307, 308):
            raise ScenarioError(f"redirect fault needs 301, 302, 303, 307 or 308, not {self.code}")
        if self.value is not None and (
            not isinstance(self.value, str) or "\r" in self.value or "\n" in self.value
        ):
            raise ScenarioError("a Retry-After value must be a string on one line")
        if not _is_seconds(self.seconds):
            raise ScenarioError("fault seconds must be finite and non-negative")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ScenarioError("fault size must be a non-negative integer")
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
    ) -> Fault:
        """Answer HTTP ``code`` with the convention's error body (and a Retry-After)."""
        return cls(FaultKind.STATUS, *_when(on, between), code=code, value=retry_after)

    @classmethod
    def retry_after(cls, value: str, *, on: Polls = None, between: Window = None) -> Fault:
        """Add ``Retry-After: value`` to the normal answer (a 200 or a 202)."""
        return cls(FaultKind.RETRY_AFTER, *_when(on, between), value=value)

    @classmethod
    def drop(cls, *, on: Polls = None, between: Window = None) -> Fault:
        """Close the connection after reading the request, without answering."""
        return cls(FaultKind.DROP, *_when(on, between))

    @classmethod
    def reset(cls, *, on: Polls = None, between: Window = None) -> Fault:
        """Send the headers and half the body, then reset the connection (TCP RST)."""
        return cls(FaultKind.RESET, *_when(on, between))

    @classmethod
    def slow(cls, seconds: float, *, on: Polls = None, between: Window = None) -> Fault:
        """Wait ``seconds`` before giving the normal answer."""
        return cls(FaultKind.SLOW, *_when(on, between), seconds=seconds)

    @classmethod
    def hang(cls, *, on: Polls = None, between: Window = None) -> Fault:
        """Never answer; the connection stays open until the client or server gives up."""
        return cls(FaultKind.HANG, *_when(on, between))

    @classmethod
    def malformed(cls, *, on: Polls = None, between: Window = None) -> Fault:
        """Answer the normal status with a JSON content type and a body that is not JSON."""
        return cls(FaultKind.MALFORMED, *_when(on, between))

    @classmethod
    def truncated(cls, *, on: Polls = None, between: Window = None) -> Fault:
        """Answer the first half of the normal JSON body (a complete HTTP message)."""
        return cls(FaultKind.TRUNCATED, *_when(on, between))

    @classmethod
    def huge(cls, size: int = 4_000_000, *, on: Polls = None, between: Window = None) -> Fault:
        """Answer the normal JSON padded with a ``"padding"`` member to ``size`` bytes."""
        return cls(FaultKind.HUGE, *_when(on, between), size=size)

    @classmethod
    def foreign(
        cls, origin: str | None = None, *, on: Polls = None, between: Window = None
    ) -> Fault:
        """Azure only: point the polling headers at ``origin`` (default 127.0.0.2)."""
        return cls(FaultKind.FOREIGN, *_when(on, between), origin=origin)

    @classmethod
    def move(cls, *, on: Polls = None, between: Window = None) -> Fault:
        """Azure only: give the polled URL a new address; the old one then answers 404."""
        return cls(FaultKind.MOVE, *_when(on, between))

    @classmethod
    def redirect(
        cls,
        code: int = 307,
        *,
        origin: str | None = None,
        on: Polls = None,
        between: Window = None,
    ) -> Fault:
        """Answer ``code`` with a Location that serves the same operation."""
        return cls(FaultKind.REDIRECT, *_when(on, between), code=code, origin=origin)

    def matches(self, poll: int, elapsed: float) -> bool:
        """Whether this fault fires on poll number ``poll`` at ``elapsed`` seconds."""
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

    ``target`` is the path and query as sent; ``time`` the server's monotonic clock in
    seconds; ``operation`` and ``poll`` say which operation it reached and which poll of
    it this was (None for create calls, initial requests and unknown paths).
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


# --------------------------------------------------------------------------- operations


class Operation:
    """A scripted operation on the server: its URLs, its polls and the requests it got.

    Returned by the ``add_*`` methods of ``OperationsServer`` (and ``Scenarios``).
    ``url`` is the URL a client starts with: the URL to poll, or for Azure the resource
    URL that takes the initial request; ``urls`` names every URL the operation serves.
    Attributes and properties are safe to read while the server runs.
    """

    convention: ClassVar[str] = ""

    def __init__(
        self, registry: Scenarios, op_id: str, timeline: Timeline, faults: Sequence[Fault]
    ) -> None:
        self._registry = registry
        self.id = op_id
        self.timeline = timeline
        self.faults: tuple[Fault, ...] = tuple(faults)
        for fault in self.faults:
            if not isinstance(fault, Fault):
                raise ScenarioError(f"faults must be Fault objects, got {fault!r}")
        self.started: float | None = None
        self._polls = 0
        self._requests: list[Request] = []

    # Public view ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The absolute URL a client begins with."""
        return self._registry.absolute(self.path)

    @property
    def path(self) -> str:
        """The path (and query) of ``url``."""
        raise NotImplementedError

    @property
    def urls(self) -> dict[str, str]:
        """Every URL this operation serves, by role."""
        return {"poll": self.url}

    @property
    def polls(self) -> int:
        """How many polls the server has received for this operation."""
        with self._registry.lock:
            return self._polls

    @property
    def requests(self) -> list[Request]:
        """The requests that reached this operation, in order of arrival."""
        with self._registry.lock:
            return list(self._requests)

    def describe(self) -> dict[str, Any]:
        """A JSON view of the operation, as the admin endpoint returns it."""
        return {"id": self.id, "convention": self.convention, "url": self.url, "urls": self.urls}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} {self.url}>"

    # Convention hooks --------------------------------------------------------------

    def document(self, step: Step) -> Any:
        """The JSON entity that shows ``step``."""
        raise NotImplementedError

    def error_document(self, status: int, message: str) -> Any:
        """The convention's JSON error body for an HTTP error."""
        return {"error": {"code": status, "message": message}}

    def created_reply(self) -> tuple[int, list[tuple[str, str]], Any]:
        """The answer to the HTTP call that created this operation."""
        return 200, [], self.document(self.timeline.at(0.0, 0))

    def answer_poll(
        self, role: str, step: Step, poll: int
    ) -> tuple[int, list[tuple[str, str]], Any]:
        """The normal answer to a poll on the URL of ``role``."""
        return 200, [], self.document(step)


class ResourceOperation(Operation):
    """A generic JSON resource: ``GET /resources/{id}`` -> ``{"id", "state", "message"}``."""

    convention = "resource"

    @property
    def path(self) -> str:
        return f"/resources/{quote(self.id, safe='')}"

    def document(self, step: Step) -> Any:
        return {"id": self.id, "state": step.state, "message": step.message}

    def created_reply(self) -> tuple[int, list[tuple[str, str]], Any]:
        return 201, [("Location", self.url)], self.document(self.timeline.at(0.0, 0))


_GOOGLE_DONE = {"SUCCEEDED": 0, "FAILED": 13, "CANCELLED": 1}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class GoogleOperation(Operation):
    """An AIP-151 operation: ``GET /v1/operations/{id}``, named ``operations/{id}``.

    SUCCEEDED is done with ``response``; FAILED (code 13 unless the step says) and
    CANCELLED (code 1) are done with ``error``; other states are running and shown in
    ``metadata.state``. With ``omit_done``, a running operation leaves ``done`` out, as
    proto3 JSON does for false.
    """

    convention = "google"

    def __init__(
        self,
        registry: Scenarios,
        op_id: str,
        timeline: Timeline,
        faults: Sequence[Fault],
        *,
        response: Any = None,
        omit_done: bool = False,
    ) -> None:
        super().__init__(registry, op_id, timeline, faults)
        self.response = response
        self.omit_done = bool(omit_done)

    @property
    def name(self) -> str:
        """The operation's resource name, ``operations/{id}``."""
        return f"operations/{self.id}"

    @property
    def path(self) -> str:
        return f"/v1/{self.name}"

    def document(self, step: Step) -> Any:
        doc: dict[str, Any] = {
            "name": self.name,
            "metadata": {
                "@type": "type.googleapis.com/tarry.testing.OperationMetadata",
                "state": step.state,
            },
        }
        if step.message is not None:
            doc["metadata"]["statusMessage"] = step.message
        if step.state not in _GOOGLE_DONE:
            if not self.omit_done:
                doc["done"] = False
            return doc
        doc["done"] = True
        if step.state == "SUCCEEDED":
            doc["response"] = (
                self.response
                if self.response is not None
                else {
                    "@type": "type.googleapis.com/tarry.testing.Resource",
                    "name": f"resources/{self.id}",
                }
            )
        else:
            code = step.code if step.code is not None else _GOOGLE_DONE[step.state]
            message = step.message or f"the operation was {step.state.lower()}"
            doc["error"] = {"code": code, "message": message}
        return doc

    def error_document(self, status: int, message: str) -> Any:
        return {
            "error": {
                "code": status,
                "message": message,
                "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
            }
        }


_DATABRICKS_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_CONFLICT",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}


class _DatabricksOperation(Operation):
    def error_document(self, status: int, message: str) -> Any:
        return {"error_code": _DATABRICKS_CODES.get(status, "INTERNAL_ERROR"), "message": message}


class ClusterOperation(_DatabricksOperation):
    """A Databricks-style cluster: ``GET /api/2.1/clusters/get?cluster_id=``."""

    convention = "cluster"

    @property
    def path(self) -> str:
        return f"/api/2.1/clusters/get?cluster_id={quote(self.id, safe='')}"

    def document(self, step: Step) -> Any:
        return {"cluster_id": self.id, "state": step.state, "state_message": step.message or ""}

    def created_reply(self) -> tuple[int, list[tuple[str, str]], Any]:
        return 200, [], {"cluster_id": self.id}


class RunOperation(_DatabricksOperation):
    """A Databricks-style job run: ``GET /api/2.1/jobs/runs/get?run_id=`` (``run_id`` an int)."""

    convention = "run"

    @property
    def run_id(self) -> int:
        """The run's numeric id, as the create call returns it."""
        return int(self.id)

    @property
    def path(self) -> str:
        return f"/api/2.1/jobs/runs/get?run_id={self.id}"

    def document(self, step: Step) -> Any:
        state: dict[str, Any] = {
            "life_cycle_state": step.state,
            "state_message": step.message or "",
        }
        if step.result is not None:
            state["result_state"] = step.result
        return {"run_id": self.run_id, "state": state}

    def created_reply(self) -> tuple[int, list[tuple[str, str]], Any]:
        return 200, [], {"run_id": self.run_id}


_AZURE_SUCCEEDED = {"succeeded"}
_AZURE_FAILED = {"failed", "canceled", "cancelled"}


class AzureOperation(Operation):
    """An Azure long-running operation on a resource path.

    The client sends ``method`` to ``url`` (the resource); the answer has
    ``initial_status`` and the polling ``headers`` chosen, each pointing to its URL:
    Azure-AsyncOperation and Operation-Location to the status monitor (``status_url``),
    Location to ``location_url``. With no header, the client polls the resource and its
    ``properties.provisioningState``. Step states are used verbatim as the monitor's
    ``status`` and as ``provisioningState``; Succeeded, Failed, Canceled and Cancelled
    (any case) are terminal. The timeline starts at the initial request.
    """

    convention = "azure"

    def __init__(
        self,
        registry: Scenarios,
        op_id: str,
        timeline: Timeline,
        faults: Sequence[Fault],
        *,
        resource_path: str,
        method: str,
        headers: Sequence[str] | None,
        initial_status: int | None,
        initial_retry_after: str | None,
        response: Any,
        failure_in_body: bool,
        failure_status: int,
        resource_location: bool,
        relative_urls: bool,
    ) -> None:
        super().__init__(registry, op_id, timeline, faults)
        method = method.upper()
        if method not in AZURE_METHODS:
            raise ScenarioError(f"azure method must be one of {', '.join(AZURE_METHODS)}")
        if not resource_path.startswith("/") or "?" in resource_path:
            raise ScenarioError("azure path must be an absolute path without a query")
        if headers is None:
            headers = ("Azure-AsyncOperation",) if method in ("PUT", "PATCH") else ("Location",)
        canonical = {h.lower(): h for h in AZURE_HEADERS}
        try:
            self.header_names = tuple(canonical[h.lower()] for h in headers)
        except KeyError as exc:
            raise ScenarioError(f"unknown azure polling header {exc.args[0]!r}") from None
        if initial_status is None:
            initial_status = 201 if method == "PUT" and self.header_names else 202
            if not self.header_names:
                initial_status = 201 if method == "PUT" else 200
        if initial_status not in (200, 201, 202, 204):
            raise ScenarioError("azure initial status must be 200, 201, 202 or 204")
        if not 400 <= failure_status <= 599:
            raise ScenarioError("azure failure status must be 400-599")
        self.method = method
        self.resource_path = resource_path
        self.initial_status = initial_status
        self.initial_retry_after = initial_retry_after
        self.response = response
        self.failure_in_body = bool(failure_in_body)
        self.failure_status = failure_status
        self.resource_location = bool(resource_location)
        self.relative_urls = bool(relative_urls)
        self.status_path = f"/azure/operations/{op_id}"
        self.location_path = f"/azure/operationResults/{op_id}"
        self._moves = 0

    @property
    def path(self) -> str:
        return self.resource_path

    @property
    def status_url(self) -> str:
        """The status monitor (Azure-AsyncOperation / Operation-Location)."""
        return self._registry.absolute(self.status_path)

    @property
    def location_url(self) -> str:
        """The Location URL: 202 while running, then the final result."""
        return self._registry.absolute(self.location_path)

    @property
    def urls(self) -> dict[str, str]:
        return {"resource": self.url, "status": self.status_url, "location": self.location_url}

    def _link(self, path: str, origin: str | None = None) -> str:
        if origin is not None:
            return origin + path
        return path if self.relative_urls else self._registry.absolute(path)

    def polling_headers(self, origin: str | None = None) -> list[tuple[str, str]]:
        """The polling headers, pointing at the current URLs (on ``origin`` if given)."""
        out = []
        for name in self.header_names:
            path = self.location_path if name == "Location" else self.status_path
            out.append((name, self._link(path, origin)))
        return out

    def move(self, role: str) -> None:
        """Give the URL of ``role`` a new path; the registry forgets the old one."""
        self._moves += 1
        old = self.status_path if role == "status" else self.location_path
        new = f"{old.split('~')[0]}~{self._moves}"
        self._registry.reroute(old, new, self, role)
        if role == "status":
            self.status_path = new
        else:
            self.location_path = new

    def document(self, step: Step) -> Any:
        name = self.resource_path.rstrip("/").rsplit("/", 1)[-1]
        return {
            "id": self.resource_path,
            "name": name,
            "type": "Microsoft.Tarry/things",
            "properties": {"provisioningState": step.state},
        }

    def _error(self, step: Step) -> dict[str, Any]:
        canceled = step.state.lower() in ("canceled", "cancelled")
        code = step.code if step.code is not None else ("Canceled" if canceled else "Failed")
        message = step.message or f"the operation ended {step.state}"
        return {"code": code, "message": message}

    def monitor_document(self, step: Step) -> Any:
        """The status monitor's body for ``step``."""
        doc: dict[str, Any] = {"id": self.status_path, "name": self.id, "status": step.state}
        state = step.state.lower()
        if state in _AZURE_FAILED:
            doc["error"] = self._error(step)
        if state in _AZURE_SUCCEEDED and self.resource_location:
            doc["resourceLocation"] = self._link(self.resource_path)
        return doc

    def error_document(self, status: int, message: str) -> Any:
        try:
            code = HTTPStatus(status).phrase.replace(" ", "")
        except ValueError:
            code = f"Http{status}"
        return {"error": {"code": code, "message": message}}

    def initial_reply(self) -> tuple[int, list[tuple[str, str]], Any]:
        """The answer to the request that starts the operation."""
        headers = self.polling_headers()
        if self.initial_retry_after is not None:
            headers.append(("Retry-After", self.initial_retry_after))
        body: Any = None
        if self.method in ("PUT", "PATCH") and self.initial_status != 204:
            body = self.document(self.timeline.at(0.0, 0))
        return self.initial_status, headers, body

    def answer_poll(
        self, role: str, step: Step, poll: int
    ) -> tuple[int, list[tuple[str, str]], Any]:
        state = step.state.lower()
        if role == "status":
            return 200, [], self.monitor_document(step)
        if role == "location":
            if state in _AZURE_SUCCEEDED:
                if self.method == "DELETE":
                    return 204, [], None
                if self.response is not None:
                    return 200, [], self.response
                return 200, [], self.document(step)
            if state in _AZURE_FAILED:
                if self.failure_in_body:
                    return 200, [], {"status": step.state, "error": self._error(step)}
                return self.failure_status, [], {"error": self._error(step)}
            return 202, [("Location", self._link(self.location_path))], None
        # role == "resource"
        if self.method == "DELETE" and state in _AZURE_SUCCEEDED:
            return 404, [], self.error_document(404, f"{self.resource_path} was deleted")
        return 200, [], self.document(step)


# --------------------------------------------------------------------------- registry


def _encode(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class Scenarios:
    """The registry of scripted operations, and the pure request handler.

    ``base_url`` (``http://127.0.0.1:<port>``) is set by the server once it is bound;
    ``clock`` is the monotonic clock the timelines run on; ``default_duration`` is how
    long operations created without a timeline take. Thread-safe.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1",
        *,
        clock: Callable[[], float] = time.monotonic,
        default_duration: float = 1.0,
    ) -> None:
        if not _is_seconds(default_duration):
            raise ValueError("default_duration must be finite and non-negative")
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.default_duration = float(default_duration)
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._operations: dict[str, Operation] = {}
        self._routes: dict[str, tuple[Operation, str]] = {}
        self._clusters: dict[str, ClusterOperation] = {}
        self._runs: dict[str, RunOperation] = {}
        self._redirects: dict[str, str] = {}
        self._requests: list[Request] = []

    # Views ---------------------------------------------------------------------------

    def absolute(self, path: str) -> str:
        """``path`` on this server's origin."""
        return self.base_url + path

    @property
    def foreign_origin(self) -> str:
        """The default other origin: the same port on 127.0.0.2, where nothing listens."""
        port = urlsplit(self.base_url).port
        return f"http://127.0.0.2:{port}" if port else "http://127.0.0.2"

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order of arrival."""
        with self.lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far (the operations keep theirs)."""
        with self.lock:
            self._requests.clear()

    @property
    def operations(self) -> list[Operation]:
        """Every operation, in order of creation."""
        with self.lock:
            return list(self._operations.values())

    def get(self, op_id: str) -> Operation:
        """The operation with id ``op_id`` (KeyError if none)."""
        with self.lock:
            return self._operations[op_id]

    # Creating operations -------------------------------------------------------------

    def _timeline(
        self, timeline: Iterable[StepLike] | Timeline | None, default: list[Step]
    ) -> Timeline:
        if timeline is None:
            return Timeline(default)
        return timeline if isinstance(timeline, Timeline) else Timeline(timeline)

    def _register(self, op: Operation, start: bool, now: float | None) -> None:
        with self.lock:
            if op.id in self._operations:
                raise ScenarioError(f"an operation with id {op.id!r} exists already")
            if start:
                op.started = self.clock() if now is None else now
            self._operations[op.id] = op
            if isinstance(op, ClusterOperation):
                self._clusters[op.id] = op
            elif isinstance(op, RunOperation):
                self._runs[op.id] = op
            elif isinstance(op, AzureOperation):
                if op.resource_path in self._routes:
                    raise ScenarioError(f"an operation already serves {op.resource_path}")
                self._routes[op.resource_path] = (op, "resource")
                self._routes[op.status_path] = (op, "status")
                self._routes[op.location_path] = (op, "location")
            else:
                self._routes[op.path] = (op, "poll")

    def reroute(self, old: str, new: str, op: Operation, role: str) -> None:
        """Serve ``role`` of ``op`` at ``new`` instead of ``old``."""
        with self.lock:
            self._routes.pop(old, None)
            self._routes[new] = (op, role)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def _check_faults(self, faults: Sequence[Fault], azure: bool) -> Sequence[Fault]:
        if isinstance(faults, Fault):
            faults = (faults,)
        for fault in faults:
            if isinstance(fault, Fault) and fault.kind in _HEADER_FAULTS and not azure:
                raise ScenarioError(
                    f"{fault.kind.value} faults change polling headers, "
                    "which only Azure operations send"
                )
        return faults

    def add_resource(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        faults: Sequence[Fault] = (),
        id: str | None = None,
        now: float | None = None,
    ) -> ResourceOperation:
        """A generic JSON resource; by default PENDING, then RUNNING after ``default_duration``."""
        default = [Step("PENDING"), Step("RUNNING", at=self.default_duration)]
        op = ResourceOperation(
            self,
            id or self._new_id("res-"),
            self._timeline(timeline, default),
            self._check_faults(faults, azure=False),
        )
        self._register(op, start=True, now=now)
        return op

    def add_google_operation(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        response: Any = None,
        omit_done: bool = False,
        faults: Sequence[Fault] = (),
        id: str | None = None,
        now: float | None = None,
    ) -> GoogleOperation:
        """An AIP-151 operation; by default RUNNING, then SUCCEEDED with ``response``."""
        default = [Step("RUNNING"), Step("SUCCEEDED", at=self.default_duration)]
        op = GoogleOperation(
            self,
            id or self._new_id("op-"),
            self._timeline(timeline, default),
            self._check_faults(faults, azure=False),
            response=response,
            omit_done=omit_done,
        )
        self._register(op, start=True, now=now)
        return op

    def add_cluster(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        faults: Sequence[Fault] = (),
        id: str | None = None,
        now: float | None = None,
    ) -> ClusterOperation:
        """A Databricks-style cluster; by default PENDING, then RUNNING."""
        default = [Step("PENDING"), Step("RUNNING", at=self.default_duration)]
        op = ClusterOperation(
            self,
            id or self._new_id("cluster-"),
            self._timeline(timeline, default),
            self._check_faults(faults, azure=False),
        )
        self._register(op, start=True, now=now)
        return op

    def add_run(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        faults: Sequence[Fault] = (),
        now: float | None = None,
    ) -> RunOperation:
        """A Databricks-style job run; by default PENDING, RUNNING, TERMINATED with SUCCESS."""
        d = self.default_duration
        default = [
            Step("PENDING"),
            Step("RUNNING", at=d / 2),
            Step("TERMINATED", at=d, result="SUCCESS"),
        ]
        op = RunOperation(
            self,
            str(next(self._ids)),
            self._timeline(timeline, default),
            self._check_faults(faults, azure=False),
        )
        self._register(op, start=True, now=now)
        return op

    def add_azure_operation(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        method: str = "PUT",
        path: str | None = None,
        headers: Sequence[str] | None = None,
        initial_status: int | None = None,
        initial_retry_after: str | None = None,
        response: Any = None,
        failure_in_body: bool = False,
        failure_status: int = 400,
        resource_location: bool = False,
        relative_urls: bool = False,
        faults: Sequence[Fault] = (),
        now: float | None = None,
    ) -> AzureOperation:
        """An Azure operation started by ``method`` on ``path``.

        ``headers`` picks the polling headers of the initial answer among
        Azure-AsyncOperation, Operation-Location and Location (default: the first for
        PUT/PATCH, Location for POST/DELETE; empty: poll the resource's
        provisioningState). ``initial_retry_after`` adds a Retry-After to that answer.
        ``failure_in_body`` makes a failed Location poll answer 200 with
        ``{"status": "Failed", "error"}`` instead of ``failure_status``.
        ``resource_location`` adds ``resourceLocation`` to a succeeded status body;
        ``relative_urls`` sends header URLs as paths; ``response`` is the final body of
        the Location URL (default: the resource).
        """
        default = [Step("InProgress"), Step("Succeeded", at=self.default_duration)]
        op_id = self._new_id("azop-")
        op = AzureOperation(
            self,
            op_id,
            self._timeline(timeline, default),
            self._check_faults(faults, azure=True),
            resource_path=path
            or f"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Tarry/things/{op_id}",
            method=method,
            headers=headers,
            initial_status=initial_status,
            initial_retry_after=initial_retry_after,
            response=response,
            failure_in_body=failure_in_body,
            failure_status=failure_status,
            resource_location=resource_location,
            relative_urls=relative_urls,
        )
        self._register(op, start=False, now=now)
        return op

    def add_from_json(self, script: Any, *, now: float | None = None, **fixed: Any) -> Operation:
        """An operation from a JSON script, as POST /_tarry/operations takes it.

        ``{"convention": "resource"|"google"|"azure"|"cluster"|"run", "timeline": [...],
        "faults": [...], ...}``: timeline items are ``{"state", "at"?, "poll"?,
        "message"?, "code"?, "result"?}`` or ``[seconds, state, message?]``; faults are
        ``{"kind": <FaultKind value>, "on"?, "between"?, "code"?, "retry_after"?,
        "seconds"?, "size"?, "origin"?}``; the other keys are the keyword arguments of
        the matching ``add_*`` method.
        """
        if not isinstance(script, Mapping):
            raise ScenarioError("a scenario script must be a JSON object")
        options = dict(script)
        options.update(fixed)
        convention = options.pop("convention", "resource")
        adders: dict[str, Callable[..., Operation]] = {
            "resource": self.add_resource,
            "google": self.add_google_operation,
            "azure": self.add_azure_operation,
            "cluster": self.add_cluster,
            "run": self.add_run,
        }
        if convention not in adders:
            raise ScenarioError(
                f"unknown convention {convention!r}: use one of {', '.join(adders)}"
            )
        allowed = _OPTIONS[convention]
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ScenarioError(f"unknown {convention} option(s): {', '.join(unknown)}")
        timeline = options.pop("timeline", None)
        if timeline is not None:
            if not isinstance(timeline, list):
                raise ScenarioError("timeline must be a list")
            options["timeline"] = Timeline(timeline)
        faults = options.pop("faults", [])
        if not isinstance(faults, list):
            raise ScenarioError("faults must be a list")
        options["faults"] = [_fault_from_json(f) for f in faults]
        try:
            return adders[convention](now=now, **options)
        except TypeError as exc:
            raise ScenarioError(f"bad {convention} option: {exc}") from None

    # Handling requests ---------------------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        now: float | None = None,
    ) -> Reply:
        """The reply to one request; records it. Never raises for any request."""
        now = self.clock() if now is None else now
        with self.lock:
            record: dict[str, Any] = {}
            try:
                reply = self._dispatch(method.upper(), target, body, now, record)
            except ScenarioError as exc:
                reply = _json_reply(400, {"error": {"code": 400, "message": str(exc)}})
            op: Operation | None = record.get("op")
            request = Request(
                method, target, tuple(headers), body, now, op.id if op else None, record.get("poll")
            )
            self._requests.append(request)
            if op is not None:
                op._requests.append(request)
            return reply

    def _dispatch(
        self, method: str, target: str, body: bytes, now: float, record: dict[str, Any]
    ) -> Reply:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        if path.startswith(REDIRECT_PREFIX) and path in self._redirects:
            return self._dispatch(method, self._redirects[path], body, now, record)
        if path == ADMIN_PREFIX + "/operations" or path == ADMIN_PREFIX + "/requests":
            return self._admin(method, path, body, now)
        route = self._routes.get(path)
        if route is not None:
            op, role = route
            record["op"] = op
            if isinstance(op, AzureOperation) and role == "resource" and method != "GET":
                return self._azure_initial(op, method, now)
            if method not in ("GET", "HEAD"):
                return _json_reply(405, op.error_document(405, f"{method} is not allowed here"))
            if op.started is None:
                if isinstance(op, AzureOperation) and role == "resource" and op.method != "PUT":
                    return _json_reply(200, op.document(Step("Succeeded")))
                return _json_reply(404, op.error_document(404, f"{path} has not started"))
            return self._poll(op, role, now, record)
        created = self._create(method, path, body, now, record)
        if created is not None:
            return created
        db = _DATABRICKS_GET.get(path)
        if db is not None:
            return self._databricks_get(db, method, query, now, record)
        return _json_reply(404, {"error": {"code": 404, "message": f"no operation at {path}"}})

    def _poll(self, op: Operation, role: str, now: float, record: dict[str, Any]) -> Reply:
        assert op.started is not None
        op._polls += 1
        poll = record["poll"] = op._polls
        elapsed = max(0.0, now - op.started)
        step = op.timeline.at(elapsed, poll)
        fault = next((f for f in op.faults if f.matches(poll, elapsed)), None)
        status, headers, doc = op.answer_poll(role, step, poll)
        if fault is None:
            return _json_reply(status, doc, headers)
        return self._inject(fault, op, role, poll, status, headers, doc)

    def _inject(
        self,
        fault: Fault,
        op: Operation,
        role: str,
        poll: int,
        status: int,
        headers: list[tuple[str, str]],
        doc: Any,
    ) -> Reply:
        kind = fault.kind
        if kind is FaultKind.STATUS:
            extra = [("Retry-After", fault.value)] if fault.value is not None else []
            message = f"injected fault: HTTP {fault.code} on poll {poll}"
            return _json_reply(fault.code, op.error_document(fault.code, message), extra)
        if kind is FaultKind.RETRY_AFTER:
            kept = [(k, v) for k, v in headers if k.lower() != "retry-after"]
            return _json_reply(status, doc, [*kept, ("Retry-After", fault.value or "")])
        if kind is FaultKind.DROP:
            return Reply(0, action=Action.DROP)
        if kind is FaultKind.HANG:
            return Reply(0, action=Action.HANG)
        if kind is FaultKind.RESET:
            normal = _json_reply(status, doc, headers)
            return Reply(normal.status, normal.headers, normal.body, action=Action.RESET)
        if kind is FaultKind.SLOW:
            normal = _json_reply(status, doc, headers)
            return Reply(normal.status, normal.headers, normal.body, delay=fault.seconds)
        if kind is FaultKind.MALFORMED:
            text = _encode(doc) if doc is not None else b"{}"
            return Reply(status, (*JSONHeaders, *headers), text[:-1] + b",]")
        if kind is FaultKind.TRUNCATED:
            text = _encode(doc) if doc is not None else b"{}"
            return Reply(status, (*JSONHeaders, *headers), text[: len(text) // 2])
        if kind is FaultKind.HUGE:
            padded = dict(doc) if isinstance(doc, dict) else {"body": doc}
            padded["padding"] = ""
            padded["padding"] = "x" * max(0, fault.size - len(_encode(padded)))
            return _json_reply(status if status != 204 else 200, padded, headers)
        if kind is FaultKind.REDIRECT:
            token = f"{REDIRECT_PREFIX}{next(self._ids)}"
            target = op.path
            if isinstance(op, AzureOperation) and role in ("status", "location"):
                target = op.status_path if role == "status" else op.location_path
            self._redirects[token] = target
            return Reply(fault.code, (("Location", (fault.origin or self.base_url) + token),))
        assert isinstance(op, AzureOperation)
        kept = [(k, v) for k, v in headers if k not in AZURE_HEADERS]
        if kind is FaultKind.MOVE:
            op.move("location" if role == "location" else "status")
            return _json_reply(status, doc, [*kept, *op.polling_headers()])
        # FOREIGN
        origin = fault.origin or self.foreign_origin
        return _json_reply(status, doc, [*kept, *op.polling_headers(origin)])

    def _azure_initial(self, op: AzureOperation, method: str, now: float) -> Reply:
        if method != op.method:
            return _json_reply(405, op.error_document(405, f"this resource takes {op.method}"))
        if op.started is None:
            op.started = now
        status, headers, doc = op.initial_reply()
        return _json_reply(status, doc, headers)

    def _create(
        self, method: str, path: str, body: bytes, now: float, record: dict[str, Any]
    ) -> Reply | None:
        if method == "POST" and path == "/resources":
            convention = "resource"
        elif method == "POST" and path in _DATABRICKS_CREATE:
            convention = _DATABRICKS_CREATE[path]
        elif method == "POST" and path.startswith("/v1/") and not path.startswith("/v1/operations"):
            convention = "google"
        elif method in AZURE_METHODS and path.startswith("/subscriptions/"):
            convention = "azure"
        else:
            return None
        script = _script_from_body(body)
        fixed: dict[str, Any] = {"convention": convention}
        if convention == "azure":
            fixed.update(method=method, path=path)
        op = self.add_from_json(script, now=now, **fixed)
        record["op"] = op
        if isinstance(op, AzureOperation):
            return self._azure_initial(op, method, now)
        status, headers, doc = op.created_reply()
        return _json_reply(status, doc, headers)

    def _databricks_get(
        self,
        kind: str,
        method: str,
        query: dict[str, list[str]],
        now: float,
        record: dict[str, Any],
    ) -> Reply:
        key = "cluster_id" if kind == "cluster" else "run_id"
        table: Mapping[str, Operation] = self._clusters if kind == "cluster" else self._runs
        values = query.get(key)
        if method not in ("GET", "HEAD"):
            return _json_reply(405, {"error_code": "ENDPOINT_NOT_FOUND", "message": "use GET"})
        if not values or not values[0]:
            return _json_reply(
                400,
                {
                    "error_code": "INVALID_PARAMETER_VALUE",
                    "message": f"Missing required field: {key}",
                },
            )
        op = table.get(values[0])
        if op is None:
            return _json_reply(
                404,
                {
                    "error_code": "RESOURCE_DOES_NOT_EXIST",
                    "message": f"{key} {values[0]} does not exist",
                },
            )
        record["op"] = op
        return self._poll(op, "poll", now, record)

    def _admin(self, method: str, path: str, body: bytes, now: float) -> Reply:
        if path.endswith("/requests"):
            if method != "GET":
                return _json_reply(405, {"error": {"code": 405, "message": "use GET"}})
            return _json_reply(200, [_request_json(r) for r in self._requests])
        if method == "GET":
            return _json_reply(200, [op.describe() for op in self._operations.values()])
        if method != "POST":
            return _json_reply(405, {"error": {"code": 405, "message": "use GET or POST"}})
        try:
            script = json.loads(body or b"{}")
        except ValueError as exc:
            raise ScenarioError(f"the scenario is not valid JSON: {exc}") from None
        op = self.add_from_json(script, now=now)
        return _json_reply(201, op.describe(), [("Location", op.url)])


_DATABRICKS_CREATE = {
    f"/api/{v}/{p}": kind
    for v in ("2.0", "2.1")
    for p, kind in (("clusters/create", "cluster"), ("jobs/runs/submit", "run"))
}
_DATABRICKS_GET = {
    f"/api/{v}/{p}": kind
    for v in ("2.0", "2.1")
    for p, kind in (("clusters/get", "cluster"), ("jobs/runs/get", "run"))
}
_COMMON = {"timeline", "faults", "convention"}
_OPTIONS = {
    "resource": _COMMON | {"id"},
    "google": _COMMON | {"id", "response", "omit_done"},
    "cluster": _COMMON | {"id"},
    "run": _COMMON,
    "azure": _COMMON
    | {
        "method",
        "path",
        "headers",
        "initial_status",
        "initial_retry_after",
        "response",
        "failure_in_body",
        "failure_status",
        "resource_location",
        "relative_urls",
    },
}
_FAULT_KEYS = {"kind", "on", "between", "code", "retry_after", "seconds", "size", "origin"}


def _fault_from_json(item: Any) -> Fault:
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


def _script_from_body(body: bytes) -> Any:
    """The ``"tarry"`` scenario inside a create call's JSON body, if any."""
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ScenarioError(f"the request body is not valid JSON: {exc}") from None
    script = doc.get("tarry", {}) if isinstance(doc, dict) else {}
    if not isinstance(script, dict):
        raise ScenarioError('"tarry" must be a JSON object holding a scenario')
    return script


def _request_json(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "target": request.target,
        "headers": [list(h) for h in request.headers],
        "body": request.body.decode("utf-8", "replace"),
        "time": request.time,
        "operation": request.operation,
        "poll": request.poll,
    }


def _json_reply(status: int, doc: Any, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    if doc is None or status == 204:
        return Reply(status, tuple(headers))
    return Reply(status, (*JSONHeaders, *headers), _encode(doc))
