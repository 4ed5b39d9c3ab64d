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

Where things live: the vocabulary (``Step``, ``Timeline``, ``Fault``, ``Reply``,
``Request``) in ``_script``; the wire formats, one class per convention, in
``_conventions``; routing, timing, fault injection and the request log here.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._conventions import (
    AZURE_HEADERS,
    AZURE_METHODS,
    AzureOperation,
    ClusterOperation,
    GoogleOperation,
    Operation,
    ResourceOperation,
    RunOperation,
)
from ._script import (
    Action,
    Fault,
    FaultKind,
    Reply,
    Request,
    ScenarioError,
    Step,
    StepLike,
    Timeline,
    fault_from_json,
    is_seconds,
)

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

JSON_HEADERS = (("Content-Type", "application/json"),)
ADMIN_PREFIX = "/_tarry"
REDIRECT_PREFIX = "/_tarry/r/"
_HEADER_FAULTS = (FaultKind.FOREIGN, FaultKind.MOVE)


def _encode(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class Scenarios:
    """The registry of scripted operations, and the pure request handler.

    ``base_url`` (``http://127.0.0.1:<port>``) is set by the server once it is bound;
    ``clock`` is the monotonic clock the timelines run on; ``default_duration`` is how
    long operations created without a timeline take. Thread-safe.

    Every ``add_*`` method takes a ``timeline`` (a ``Timeline`` or what one is built
    from; None for the convention's default), ``faults`` (``Fault`` objects, the first
    match wins), ``cookie`` (``name=value``: see ``Operation``) and ``now`` (the
    creation time on ``clock``, for tests that drive time by hand). Operations created
    over HTTP take the same options as JSON, from ``POST /_tarry/operations`` or from a
    ``"tarry"`` member in a create call's body:

    - ``POST /resources`` (generic), ``POST /api/2.1/clusters/create``,
      ``POST /api/2.1/jobs/runs/submit`` (2.0 works too), ``POST /v1/<collection>``
      (answers a Google operation), and PUT/PATCH/POST/DELETE on any unknown path under
      ``/subscriptions/`` (an Azure operation on that path);
    - ``GET /_tarry/operations`` lists operations, ``GET /_tarry/requests`` the log.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1",
        *,
        clock: Callable[[], float] = time.monotonic,
        default_duration: float = 1.0,
    ) -> None:
        if not is_seconds(default_duration):
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
        cookie: str | None = None,
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
        op.cookie = _check_cookie(cookie)
        self._register(op, start=True, now=now)
        return op

    def add_google_operation(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        response: Any = None,
        omit_done: bool = False,
        faults: Sequence[Fault] = (),
        cookie: str | None = None,
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
        op.cookie = _check_cookie(cookie)
        self._register(op, start=True, now=now)
        return op

    def add_cluster(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        faults: Sequence[Fault] = (),
        cookie: str | None = None,
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
        op.cookie = _check_cookie(cookie)
        self._register(op, start=True, now=now)
        return op

    def add_run(
        self,
        timeline: Iterable[StepLike] | Timeline | None = None,
        *,
        faults: Sequence[Fault] = (),
        cookie: str | None = None,
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
        op.cookie = _check_cookie(cookie)
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
        polling_origin: str | None = None,
        faults: Sequence[Fault] = (),
        cookie: str | None = None,
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
        ``relative_urls`` sends header URLs as paths; ``polling_origin``
        (``http://host:port``) puts every URL the operation hands out on another origin
        from the initial answer on; ``response`` is the final body of the Location URL
        (default: the resource).
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
            polling_origin=polling_origin,
        )
        op.cookie = _check_cookie(cookie)
        self._register(op, start=False, now=now)
        return op

    def add_from_json(self, script: Any, /, *, now: float | None = None, **fixed: Any) -> Operation:
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
        options["faults"] = [fault_from_json(f) for f in faults]
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
            record: dict[str, Any] = {"headers": headers}
            try:
                reply = self._dispatch(method.upper(), target, body, now, record)
            except ScenarioError as exc:
                reply = _json_reply(400, {"error": {"code": 400, "message": str(exc)}})
            op: Operation | None = record.get("op")
            if op is not None and op.cookie is not None and reply.action is Action.ANSWER:
                reply = replace(
                    reply, headers=(*reply.headers, ("Set-Cookie", f"{op.cookie}; Path=/"))
                )
                op.cookie_sent = True
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
            if isinstance(op, AzureOperation) and role == "resource" and method in AZURE_METHODS:
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
        if (
            op.cookie is not None
            and op.cookie_sent
            and not _has_cookie(record["headers"], op.cookie)
        ):
            message = f"this operation needs the cookie {op.cookie} set by an earlier answer"
            return _json_reply(401, op.error_document(401, message))
        step = op.timeline.at(elapsed, poll)
        fault = next((f for f in op.faults if f.matches(poll, elapsed, role)), None)
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
            return Reply(status, (*JSON_HEADERS, *headers), text[:-1] + b",]")
        if kind is FaultKind.TRUNCATED:
            text = _encode(doc) if doc is not None else b"{}"
            return Reply(status, (*JSON_HEADERS, *headers), text[: len(text) // 2])
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
_COMMON = {"timeline", "faults", "convention", "cookie"}
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
        "polling_origin",
    },
}


def _check_cookie(cookie: str | None) -> str | None:
    if cookie is None:
        return None
    name, sep, value = cookie.partition("=") if isinstance(cookie, str) else ("", "", "")
    if not sep or not name or any(c in cookie for c in ";, \r\n\t") or not value:
        raise ScenarioError(f"cookie must look like name=value, got {cookie!r}")
    return cookie


def _has_cookie(headers: Sequence[tuple[str, str]], cookie: str) -> bool:
    sent = (
        part.strip()
        for key, value in headers
        if key.lower() == "cookie"
        for part in value.split(";")
    )
    return cookie in sent


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
    return Reply(status, (*JSON_HEADERS, *headers), _encode(doc))
