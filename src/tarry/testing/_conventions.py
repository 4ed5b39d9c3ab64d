"""The wire formats: one class per convention, rendering a step as its service would.

Each ``Operation`` subclass turns the ``Step`` in force into the status, headers and
JSON body of the service it imitates, and its errors into that service's error body.
The registry (``_scenarios.Scenarios``) decides which step is in force and which
fault applies; these classes only render.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from ._script import Fault, Request, ScenarioError, Step, Timeline

if TYPE_CHECKING:
    from ._scenarios import Scenarios

__all__ = [
    "AZURE_HEADERS",
    "AZURE_METHODS",
    "AzureOperation",
    "ClusterOperation",
    "GoogleOperation",
    "Operation",
    "ResourceOperation",
    "RunOperation",
]

AZURE_HEADERS = ("Azure-AsyncOperation", "Operation-Location", "Location")
AZURE_METHODS = ("PUT", "PATCH", "POST", "DELETE")


# --------------------------------------------------------------------------- operations


class Operation:
    """A scripted operation on the server: its URLs, its polls and the requests it got.

    Returned by the ``add_*`` methods of ``OperationsServer`` (and ``Scenarios``).
    ``url`` is the URL a client starts with: the URL to poll, or for Azure the resource
    URL that takes the initial request; ``urls`` names every URL the operation serves.
    With a ``cookie`` (``name=value``), every answer sets it and, once it has been
    sent, a poll without it is answered 401 (servers that keep state in cookies).
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
        self.cookie: str | None = None
        self.cookie_sent = False
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
        polling_origin: str | None = None,
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
        if polling_origin is not None:
            Fault.foreign(polling_origin)  # the same check as a foreign origin
        self.polling_origin = polling_origin
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
        origin = origin or self.polling_origin
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
