"""Every long-running-operation route of Azure's test server, with the outcome a correct
poller reaches on it.

The routes come from the server's own route files (``legacy/routes/lros.js``,
``legacy/routes/lroParameterizedEndpoints.js``, ``src/test-routes/lro/*.ts``, and the
LRO routes of ``paging.js``, ``multiapi.js`` and ``dpg/customization.ts``). The expected
outcomes follow Azure's LRO rules:

* the initial answer picks the status source: ``Azure-AsyncOperation`` (or
  ``Operation-Location``), else ``Location``, else the resource's own
  ``properties.provisioningState`` at the original URL; an answer that is already
  terminal ends the operation at once;
* a status monitor's ``status`` ends the wait when it is ``Succeeded``, ``Failed`` or
  ``Canceled`` (any case); a Location poll is still going while it answers 202 and ends
  with any other 2xx, unless its body says ``Failed`` or ``Canceled`` (case C16);
* after ``Succeeded`` the result is fetched from the original URL for PUT and PATCH, from
  ``Location`` for POST (or where ``final-state-via`` says); with nothing to fetch, the
  result is the last body the server sent (``None`` when it was empty);
* 500 is transient and retried, both for the first request and for polls; other 4xx and
  5xx answers end the wait with that status and the server's message; a body that is
  not what the rules need (not JSON, no ``status``, no body at all where one is required)
  is a malformed response, never a success and never an endless wait.

A route's ``expected`` is that outcome; ``why`` says what the route tests.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["CLIENT_REQUEST_ID", "ROUTES", "Kind", "Outcome", "Route", "agrees", "by_id"]

CLIENT_REQUEST_ID = "9C4D50EE-2D56-4CD3-8152-34347DC9F2B0"
"""The ``x-ms-client-request-id`` the ``/lro/customheader/*`` routes require on every request."""


class Kind(enum.Enum):
    """How a wait on one route ended."""

    SUCCESS = "success"
    FAILED = "failed"  # the operation itself reported Failed or Canceled
    HTTP_ERROR = "HTTP error"  # a non-transient error status on some request
    MALFORMED = "malformed"  # an answer no poller can read: bad JSON, no status, no body
    HANG = "no end"  # still polling when the test's deadline came
    OTHER = "other error"  # an exception outside the poller's documented errors


@dataclass(frozen=True)
class Outcome:
    """An outcome, expected or observed.

    ``body`` is the final JSON body for a success (``None``: empty); ``state`` the terminal
    status of a failure; ``status`` the HTTP status of an HTTP error; ``message`` a text
    the error must contain (expected), or the error's text (observed).
    """

    kind: Kind
    body: Any = None
    state: str | None = None
    status: int | None = None
    message: str | None = None

    def describe(self) -> str:
        """A short form for tables and assertion messages."""
        if self.kind is Kind.SUCCESS:
            return "success, empty body" if self.body is None else f"success, {_short(self.body)}"
        if self.kind is Kind.FAILED:
            extra = f" ({self.message})" if self.message else ""
            return f"failed: {self.state}{extra}"
        if self.kind is Kind.HTTP_ERROR:
            return f"HTTP error {self.status}"
        if self.kind is Kind.OTHER and self.message:
            return f"{self.kind.value}: {self.message.partition(':')[0]}"
        return str(self.kind.value)


def _short(body: Any) -> str:
    if isinstance(body, dict) and "id" in body:
        state = body.get("properties", {}).get("provisioningState")
        status = body.get("status")
        bits = [f"id {body['id']}"] + [f"{s}" for s in (state, status) if s]
        return "body " + ", ".join(bits)
    if isinstance(body, dict) and "status" in body:
        return f"status body {body['status']}"
    if isinstance(body, list):
        return f"list of {len(body)}"
    return f"body {body!r}"


def agrees(expected: Outcome, actual: Outcome) -> bool:
    """True if ``actual`` is the outcome ``expected`` describes."""
    if expected.kind is not actual.kind:
        return False
    text = actual.message or ""
    if expected.message is not None and expected.message.lower() not in text.lower():
        return False
    if expected.kind is Kind.SUCCESS:
        return bool(expected.body == actual.body)
    if expected.kind is Kind.FAILED:
        return (expected.state or "").lower() == (actual.state or "").lower()
    if expected.kind is Kind.HTTP_ERROR:
        return expected.status == actual.status
    return True


def success(body: Any = None) -> Outcome:
    return Outcome(Kind.SUCCESS, body=body)


def failed(state: str, message: str | None = None) -> Outcome:
    return Outcome(Kind.FAILED, state=state, message=message)


def http_error(status: int, message: str | None = None) -> Outcome:
    return Outcome(Kind.HTTP_ERROR, status=status, message=message)


MALFORMED = Outcome(Kind.MALFORMED)

_FOO = {"id": "100", "name": "foo"}
_FOO_SUCCEEDED = {"properties": {"provisioningState": "Succeeded"}, **_FOO}
_SUB_SUCCEEDED = {
    "properties": {"provisioningState": "Succeeded"},
    "id": "100",
    "subresource": "sub1",
}
_SKU = {"name": "sku", "id": "100"}
_STATUS_SUCCEEDED = {"status": "Succeeded"}
_BAD_REQUEST = "Expected bad request message"


@dataclass(frozen=True)
class Route:
    """One operation: the request that starts it and the outcome a correct poller reaches."""

    scenario: str  # the server's name for it (its coverage key), unique here
    method: str
    path: str
    expected: Outcome
    why: str
    final_state_via: str | None = None  # from the route's API spec, when it sets one
    client_request_id: bool = False  # send x-ms-client-request-id on every request

    def expected_at(self, base_url: str) -> Outcome:
        """``expected`` with ``{base}`` in the body replaced by the server's base URL."""
        return replace(self.expected, body=_with_base(self.expected.body, base_url))


def _with_base(value: Any, base_url: str) -> Any:
    if isinstance(value, str):
        return value.replace("{base}", base_url)
    if isinstance(value, list):
        return [_with_base(item, base_url) for item in value]
    if isinstance(value, dict):
        return {key: _with_base(item, base_url) for key, item in value.items()}
    return value


def _r(
    scenario: str,
    method: str,
    path: str,
    expected: Outcome,
    why: str,
    *,
    via: str | None = None,
    request_id: bool = False,
) -> Route:
    return Route(scenario, method, path, expected, why, via, request_id)


ROUTES: tuple[Route, ...] = (
    # --- done at once, no polling -------------------------------------------------------
    _r(
        "LROPutInlineComplete",
        "PUT",
        "/lro/put/200/succeeded",
        success(_FOO_SUCCEEDED),
        "200 with provisioningState Succeeded: done, no poll",
    ),
    _r(
        "LROPutInlineComplete201",
        "PUT",
        "/lro/put/201/succeeded",
        success(_FOO_SUCCEEDED),
        "201 with provisioningState Succeeded: done, no poll",
    ),
    _r(
        "LROPut200InlineCompleteNoState",
        "PUT",
        "/lro/put/200/succeeded/nostate",
        success(_FOO),
        "200 with a body without provisioningState: done",
    ),
    _r(
        "LROPatchInlineCompleteIgnoreHeaders",
        "PATCH",
        "/lro/patch/200/succeeded/ignoreheaders",
        success(_FOO_SUCCEEDED),
        "200 that says Succeeded, with an Azure-AsyncOperation header that must not be called",
    ),
    _r("LRODeleteInlineComplete", "DELETE", "/lro/delete/204/succeeded", success(), "204: done"),
    _r(
        "LROErrorDeleteNoLocation",
        "DELETE",
        "/lro/error/delete/204/nolocation",
        success(),
        "204 without Location: done",
    ),
    # --- provisioningState on the resource itself ----------------------------------------
    _r(
        "LROPutSucceededWithBody",
        "PUT",
        "/lro/put/201/creating/succeeded/200",
        success(_FOO_SUCCEEDED),
        "201 Creating, no header: poll the resource until Succeeded",
    ),
    _r(
        "LROPutSucceededNoBody",
        "PUT",
        "/lro/put/200/updating/succeeded/200",
        success(_FOO_SUCCEEDED),
        "200 Updating, no header: poll the resource until Succeeded",
    ),
    _r(
        "LROPutFailed",
        "PUT",
        "/lro/put/201/created/failed/200",
        failed("Failed"),
        "201 Created, then the resource says Failed",
    ),
    _r(
        "LROPutCanceled",
        "PUT",
        "/lro/put/200/accepted/canceled/200",
        failed("Canceled"),
        "200 Accepted, then the resource says Canceled",
    ),
    # --- Location polling -----------------------------------------------------------------
    _r(
        "LROPut202Retry200",
        "PUT",
        "/lro/put/202/retry/200",
        success(_FOO),
        "202 with Location; the Location answers 200 with the resource",
    ),
    _r(
        "LROPutNoHeaderInRetry",
        "PUT",
        "/lro/put/noheader/202/200",
        success(_FOO_SUCCEEDED),
        "Location answers 202 without headers (keep polling it), then 200",
    ),
    _r(
        "LROPutSubResourceInRetry",
        "PUT",
        "/lro/putsubresource/202/200",
        success(_SUB_SUCCEEDED),
        "Location polling of a sub-resource",
    ),
    _r(
        "LROPutNonResourceInRetry",
        "PUT",
        "/lro/putnonresource/202/200",
        success(_SKU),
        "Location polling of a non-resource",
    ),
    _r(
        "LRODeleteProvisioningSucceededWithBody",
        "DELETE",
        "/lro/delete/provisioning/202/accepted/200/succeeded",
        success(_FOO_SUCCEEDED),
        "202 Accepted with Location; 200 that says Succeeded",
    ),
    _r(
        "LRODeleteProvisioningFailed",
        "DELETE",
        "/lro/delete/provisioning/202/deleting/200/failed",
        failed("Failed"),
        "Location answers 200 whose body says Failed: a failure (C16)",
    ),
    _r(
        "LRODeleteProvisioningCanceled",
        "DELETE",
        "/lro/delete/provisioning/202/deleting/200/canceled",
        failed("Canceled"),
        "Location answers 200 whose body says Canceled: a failure (C16)",
    ),
    _r(
        "LRODelete200",
        "DELETE",
        "/lro/delete/202/retry/200",
        success(),
        "202 with Location and Retry-After; 200 with no body",
    ),
    _r(
        "LRODelete204", "DELETE", "/lro/delete/202/noretry/204", success(), "202 with Location; 204"
    ),
    _r(
        "LRODeleteNoHeaderInRetry",
        "DELETE",
        "/lro/delete/noheader",
        success(),
        "Location answers 202 without headers, then 204",
    ),
    _r(
        "LROPost200",
        "POST",
        "/lro/post/payload/200",
        success({"id": "1", "name": "product"}),
        "202 with Location; 200 with the result",
    ),
    _r(
        "LROPostSuccededWithBody",
        "POST",
        "/lro/post/202/retry/200",
        success(_FOO_SUCCEEDED),
        "the Location answers 202 with a new Location, which must be followed",
    ),
    _r(
        "LROPostSuccededNoBody",
        "POST",
        "/lro/post/202/noretry/204",
        success(),
        "the Location moves, then answers 204",
    ),
    # --- Azure-AsyncOperation status monitor ----------------------------------------------
    _r(
        "LROPatch201WithAsyncHeader",
        "PATCH",
        "/lro/patch/201/retry/onlyAsyncHeader",
        success(
            {
                "properties": {"provisioningState": "Succeeded"},
                "id": "/lro/patch/201/retry/onlyAsyncHeader",
                "name": "foo",
            }
        ),
        "PATCH: monitor Accepted then Succeeded; result from the original URL",
    ),
    _r(
        "LROPatch202WithAsyncAndLocationHeader",
        "PATCH",
        "/lro/patch/202/retry/asyncAndLocationHeader",
        success(
            {
                "properties": {"provisioningState": "Succeeded"},
                "id": "/lro/patch/202/retry/asyncAndLocationHeader",
                "name": "foo",
            }
        ),
        "PATCH with both headers: result from the original URL, not Location",
    ),
    _r(
        "LROPutAsyncRetrySucceeded",
        "PUT",
        "/lro/putasync/retry/succeeded",
        success(_FOO_SUCCEEDED),
        "monitor 202 Accepted, then Succeeded; GET the original URL",
    ),
    _r(
        "LROPutAsyncNoRetrySucceeded",
        "PUT",
        "/lro/putasync/noretry/succeeded",
        success(_FOO_SUCCEEDED),
        "the same without Retry-After",
    ),
    _r(
        "LROPutAsyncRetryFailed",
        "PUT",
        "/lro/putasync/retry/failed",
        failed("Failed"),
        "the monitor says Failed",
    ),
    _r(
        "LROPutAsyncNoRetryCanceled",
        "PUT",
        "/lro/putasync/noretry/canceled",
        failed("Canceled"),
        "the monitor says Canceled",
    ),
    _r(
        "LROPutAsyncNoHeaderInRetry",
        "PUT",
        "/lro/putasync/noheader/201/200",
        success(_FOO_SUCCEEDED),
        "monitor polls carry no headers; the bad Location is never used",
    ),
    _r(
        "LROPutSubResourceAsyncInRetry",
        "PUT",
        "/lro/putsubresourceasync/202/200",
        success(_SUB_SUCCEEDED),
        "status monitor, then the sub-resource at the original URL",
    ),
    _r(
        "LROPutNonResourceAsyncInRetry",
        "PUT",
        "/lro/putnonresourceasync/202/200",
        success(_SKU),
        "status monitor, then the non-resource at the original URL",
    ),
    _r(
        "LRODeleteAsyncRetrySucceeded",
        "DELETE",
        "/lro/deleteasync/retry/succeeded",
        success(_STATUS_SUCCEEDED),
        "DELETE: no final GET, the monitor's last body is the result",
    ),
    _r(
        "LRODeleteAsyncNoRetrySucceeded",
        "DELETE",
        "/lro/deleteasync/noretry/succeeded",
        success(_STATUS_SUCCEEDED),
        "the same without Retry-After",
    ),
    _r(
        "LRODeleteAsyncRetryFailed",
        "DELETE",
        "/lro/deleteasync/retry/failed",
        failed("Failed"),
        "the monitor says Failed",
    ),
    _r(
        "LRODeleteAsyncRetryCanceled",
        "DELETE",
        "/lro/deleteasync/retry/canceled",
        failed("Canceled"),
        "the monitor says Canceled",
    ),
    _r(
        "LRODeleteAsyncNoHeaderInRetry",
        "DELETE",
        "/lro/deleteasync/noheader/202/204",
        success(_STATUS_SUCCEEDED),
        "monitor InProgress then Succeeded; bad Location unused",
    ),
    _r(
        "LROPostAsyncRetrySucceeded",
        "POST",
        "/lro/postasync/retry/succeeded",
        success(_FOO_SUCCEEDED),
        "POST: monitor Succeeded, then the result from Location",
    ),
    _r(
        "LROPostAsyncNoRetrySucceeded",
        "POST",
        "/lro/postasync/noretry/succeeded",
        success(_FOO_SUCCEEDED),
        "the same without Retry-After",
    ),
    _r(
        "LROPostAsyncRetryFailed",
        "POST",
        "/lro/postasync/retry/failed",
        failed("Failed", "Internal Server Error"),
        "the monitor says Failed, with an error message",
    ),
    _r(
        "LROPostAsyncRetryCanceled",
        "POST",
        "/lro/postasync/retry/canceled",
        failed("Canceled"),
        "the monitor says Canceled",
    ),
    _r(
        "LROPostAndGetList",
        "POST",
        "/lro/list",
        success([_FOO]),
        "POST: monitor Succeeded, the result (a list) from Location",
    ),
    # --- final-state-via -------------------------------------------------------------------
    _r(
        "LROPostDoubleHeadersFinalLocationPost",
        "POST",
        "/lro/LROPostDoubleHeadersFinalLocationGet",
        success(_FOO),
        "final-state-via location: result from Location",
        via="location",
    ),
    _r(
        "LROPostDoubleHeadersFinalAzureHeaderGet",
        "POST",
        "/lro/LROPostDoubleHeadersFinalAzureHeaderGet",
        success({"status": "succeeded", "id": "100"}),
        "final-state-via azure-async-operation: the monitor's body; GET on Location is a 400",
        via="azure-async-operation",
    ),
    _r(
        "LROPostDoubleHeadersFinalAzureHeaderGetDefault",
        "POST",
        "/lro/LROPostDoubleHeadersFinalAzureHeaderGetDefault",
        success(_FOO),
        "no final-state-via: a POST's result comes from Location",
    ),
    # --- transient 500s, on the first request and on polls ----------------------------------
    _r(
        "LRORetryPutSucceededWithBody",
        "PUT",
        "/lro/retryerror/put/201/creating/succeeded/200",
        success(_FOO_SUCCEEDED),
        "PUT answers 500 once, the resource poll answers 500 once",
    ),
    _r(
        "LRORetryErrorPutAsyncSucceeded",
        "PUT",
        "/lro/retryerror/putasync/retry/succeeded",
        success(_FOO_SUCCEEDED),
        "500 once on the PUT, the monitor and the final GET",
    ),
    _r(
        "LRORetryErrorDelete202Accepted200Succeeded",
        "DELETE",
        "/lro/retryerror/delete/provisioning/202/accepted/200/succeeded",
        success(_FOO_SUCCEEDED),
        "500 once on the DELETE and on the Location poll",
    ),
    _r(
        "LRORetryErrorDelete202Retry200Succeeded",
        "DELETE",
        "/lro/retryerror/delete/202/retry/200",
        success(_FOO_SUCCEEDED),
        "500 once on the DELETE and on the Location poll",
    ),
    _r(
        "LRORetryErrorDeleteAsyncRetrySucceeded",
        "DELETE",
        "/lro/retryerror/deleteasync/retry/succeeded",
        success(_STATUS_SUCCEEDED),
        "500 once on the DELETE and on the monitor",
    ),
    _r(
        "LRORetryErrorPost202Retry200Succeeded",
        "POST",
        "/lro/retryerror/post/202/retry/200",
        success(_FOO_SUCCEEDED),
        "500 once on the POST and on the Location poll",
    ),
    _r(
        "LRORetryErrorPostAsyncRetrySucceeded",
        "POST",
        "/lro/retryerror/postasync/retry/succeeded",
        success(_SKU),
        "500 once on the POST, the monitor and the final GET on Location",
    ),
    # --- errors that are not transient ----------------------------------------------------
    _r(
        "LRONonRetryPut400",
        "PUT",
        "/lro/nonretryerror/put/400",
        http_error(400, _BAD_REQUEST),
        "the PUT itself answers 400",
    ),
    _r(
        "LRONonRetryPut201Creating400",
        "PUT",
        "/lro/nonretryerror/put/201/creating/400",
        http_error(400, "Error from the server"),
        "201 Creating, then the resource poll answers 400",
    ),
    _r(
        "LRONonRetryPut201Creating400InvalidJson",
        "PUT",
        "/lro/nonretryerror/put/201/creating/400/invalidjson",
        http_error(400),
        "the poll answers 400 with a body that is not JSON: still an HTTP 400",
    ),
    _r(
        "LRONonRetryPutAsyncRetry400",
        "PUT",
        "/lro/nonretryerror/putasync/retry/400",
        http_error(400),
        "the status monitor answers 400",
    ),
    _r(
        "LRONonRetryDelete400",
        "DELETE",
        "/lro/nonretryerror/delete/400",
        http_error(400, _BAD_REQUEST),
        "the DELETE itself answers 400",
    ),
    _r(
        "LRONonRetryDelete202Retry400",
        "DELETE",
        "/lro/nonretryerror/delete/202/retry/400",
        http_error(400, _BAD_REQUEST),
        "the Location answers 400",
    ),
    _r(
        "LRONonRetryDeleteAsyncRetry400",
        "DELETE",
        "/lro/nonretryerror/deleteasync/retry/400",
        http_error(400, _BAD_REQUEST),
        "the status monitor answers 400",
    ),
    _r(
        "LRONonRetryPost400",
        "POST",
        "/lro/nonretryerror/post/400",
        http_error(400, _BAD_REQUEST),
        "the POST itself answers 400",
    ),
    _r(
        "LRONonRetryPost202Retry400",
        "POST",
        "/lro/nonretryerror/post/202/retry/400",
        http_error(400, _BAD_REQUEST),
        "the Location answers 400",
    ),
    _r(
        "LRONonRetryPostAsyncRetry400",
        "POST",
        "/lro/nonretryerror/postasync/retry/400",
        http_error(400, _BAD_REQUEST),
        "the status monitor answers 400",
    ),
    # --- answers a poller cannot read -----------------------------------------------------
    _r(
        "LROErrorPut201NoProvisioningStatePayload",
        "PUT",
        "/lro/error/put/201/noprovisioningstatepayload",
        MALFORMED,
        "201 and then 200, both with no body: a PUT must end with the resource",
    ),
    _r(
        "LROErrorPutAsyncNoPollingStatus",
        "PUT",
        "/lro/error/putasync/retry/nostatus",
        MALFORMED,
        "the status monitor answers {} (no status)",
    ),
    _r(
        "LROErrorPutAsyncNoPollingStatusPayload",
        "PUT",
        "/lro/error/putasync/retry/nostatuspayload",
        MALFORMED,
        "the status monitor answers 200 with no body",
    ),
    _r(
        "LROErrorDeleteAsyncNoPollingStatus",
        "DELETE",
        "/lro/error/deleteasync/retry/nostatus",
        MALFORMED,
        "the status monitor answers {} (no status)",
    ),
    _r(
        "LROErrorPostAsyncNoPollingPayload",
        "POST",
        "/lro/error/postasync/retry/nopayload",
        MALFORMED,
        "the status monitor answers 200 with no body",
    ),
    _r(
        "LROErrorPostNoLocation",
        "POST",
        "/lro/error/post/202/nolocation",
        MALFORMED,
        "202 (not done) with no header to poll: nothing can tell the outcome",
    ),
    _r(
        "LROErrorPut200InvalidJson",
        "PUT",
        "/lro/error/put/200/invalidjson",
        MALFORMED,
        "the PUT answers 200 with truncated JSON",
    ),
    _r(
        "LROErrorPutAsyncInvalidJsonPolling",
        "PUT",
        "/lro/error/putasync/retry/invalidjsonpolling",
        MALFORMED,
        "the status monitor answers truncated JSON",
    ),
    _r(
        "LROErrorDeleteAsyncInvalidJsonPolling",
        "DELETE",
        "/lro/error/deleteasync/retry/invalidjsonpolling",
        MALFORMED,
        "the status monitor answers truncated JSON",
    ),
    _r(
        "LROErrorPostAsyncInvalidJsonPolling",
        "POST",
        "/lro/error/postasync/retry/invalidjsonpolling",
        MALFORMED,
        "the status monitor answers truncated JSON",
    ),
    _r(
        "LROErrorPutAsyncInvalidHeader",
        "PUT",
        "/lro/error/putasync/retry/invalidheader",
        http_error(404),
        "monitor '/foo' (no such route) and Retry-After '/bar' (ignored)",
    ),
    _r(
        "LROErrorDelete202RetryInvalidHeader",
        "DELETE",
        "/lro/error/delete/202/retry/invalidheader",
        http_error(404),
        "Location '/foo' (no such route) and Retry-After '/bar' (ignored)",
    ),
    _r(
        "LROErrorDeleteAsyncInvalidHeader",
        "DELETE",
        "/lro/error/deleteasync/retry/invalidheader",
        http_error(404),
        "monitor '/foo' (no such route) and Retry-After '/bar' (ignored)",
    ),
    _r(
        "LROErrorPost202RetryInvalidHeader",
        "POST",
        "/lro/error/post/202/retry/invalidheader",
        http_error(404),
        "Location '/foo' (no such route) and Retry-After '/bar' (ignored)",
    ),
    _r(
        "LROErrorPostAsyncInvalidHeader",
        "POST",
        "/lro/error/postasync/retry/invalidheader",
        http_error(404),
        "monitor '/foo' (no such route) and Retry-After '/bar' (ignored)",
    ),
    # --- x-ms-client-request-id required on every request ---------------------------------
    _r(
        "CustomHeaderPutAsyncSucceded",
        "PUT",
        "/lro/customheader/putasync/retry/succeeded",
        success(_FOO_SUCCEEDED),
        "status monitor; every request needs the header",
        request_id=True,
    ),
    _r(
        "CustomHeaderPutSucceeded",
        "PUT",
        "/lro/customheader/put/201/creating/succeeded/200",
        success(_FOO_SUCCEEDED),
        "resource polling; every request needs the header",
        request_id=True,
    ),
    _r(
        "CustomHeaderPostSucceeded",
        "POST",
        "/lro/customheader/post/202/retry/200",
        success(),
        "Location polling that moves; every request needs the header",
        request_id=True,
    ),
    _r(
        "CustomHeaderPostAsyncSucceded",
        "POST",
        "/lro/customheader/postasync/retry/succeeded",
        success(_STATUS_SUCCEEDED),
        "POST with a monitor and no Location: the monitor's body",
        request_id=True,
    ),
    # --- parameterized endpoints: relative Location headers -------------------------------
    _r(
        "LROParameterizedEndpoint",
        "POST",
        "/lroParameterizedEndpoints",
        success("success"),
        "202 with a relative Location; 200 with a JSON string",
        via="location",
    ),
    _r(
        "LROConstantParameterizedPost",
        "POST",
        "/lroConstantParameterizedEndpoints/iAmConstant",
        success("success"),
        "202 with a relative Location; 200 with a JSON string",
    ),
    # --- LRO routes in other groups -------------------------------------------------------
    _r(
        "PagingMultipleLRO",
        "POST",
        "/paging/multiple/lro",
        success(
            {
                "values": [{"properties": {"id": 1, "name": "Product"}}],
                "nextLink": "{base}/paging/multiple/page/2",
            }
        ),
        "POST: monitor Succeeded, the first page from Location",
    ),
    _r("MultiapiLRO", "PUT", "/multiapi/lro", success({"id": "100"}), "200 at once, no state"),
    _r(
        "RawLRO",
        "PUT",
        "/customization/lro/raw",
        success({"provisioningState": "Succeeded", "received": "raw"}),
        "200 at once, provisioningState at the top level",
    ),
    _r(
        "HandwrittenModelLRO",
        "PUT",
        "/customization/lro/model",
        success({"provisioningState": "Succeeded", "received": "model"}),
        "200 at once, provisioningState at the top level",
    ),
)


def by_id(scenario: str) -> Route:
    """The route named ``scenario``."""
    for route in ROUTES:
        if route.scenario == scenario:
            return route
    raise KeyError(scenario)


def _check_unique() -> None:
    names = [route.scenario for route in ROUTES]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"duplicate scenarios: {sorted(duplicates)}")


_check_unique()
