"""azure-core's own pollers (``LROPoller``/``LROBasePolling`` and their async twins) over one
route of Azure's test server, with the outcome put in the same terms as tarry's.

Three configurations are run: ``default`` is ``LROBasePolling`` as azure-core ships it
(it reads ``Operation-Location``, then ``Location``, else takes the first answer as
final); ``async-header`` puts a reader of the ``Azure-AsyncOperation`` header first;
``arm`` is azure-mgmt-core's ``ARMPolling``, what Azure's management SDKs use (it adds
``properties.provisioningState`` for PUT and PATCH). All poll with no delay unless the
server sends Retry-After, and join relative polling URLs to the endpoint as generated
clients do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from azure.core import AsyncPipelineClient, PipelineClient
from azure.core.exceptions import DecodeError, HttpResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    AsyncRetryPolicy,
    RequestIdPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
)
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport
from azure.core.polling import AsyncLROPoller, LROPoller
from azure.core.polling.async_base_polling import AsyncLROBasePolling
from azure.core.polling.base_polling import (
    BadResponse,
    BadStatus,
    LocationPolling,
    LongRunningOperation,
    LROBasePolling,
    OperationFailed,
    OperationResourcePolling,
    StatusCheckPolling,
)
from azure.core.rest import AsyncHttpResponse, HttpRequest, HttpResponse
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.core.polling.async_arm_polling import AsyncARMPolling

from .azure_routes import CLIENT_REQUEST_ID, Kind, Outcome, Route

__all__ = ["CONFIGS", "run_async", "run_sync"]

CONFIGS = ("default", "async-header", "arm")
Initial = Any  # send_request(..., _return_pipeline_response=True) gives a PipelineResponse
ENDPOINT = "{endpoint}"  # as generated clients do: relative polling URLs are joined to it
WAIT = 20.0  # seconds before a wait that has not ended counts as endless


class CookieJar(SansIOHTTPPolicy[Any, Any]):
    """Keeps the test server's ``scenario`` cookie: azure-core's aiohttp transport keeps
    no cookies at all, and its requests transport keeps them per session only."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def on_request(self, request: PipelineRequest[Any]) -> None:
        if self.cookies:
            jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            request.http_request.headers["Cookie"] = jar

    def on_response(
        self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
    ) -> None:
        header = response.http_response.headers.get("set-cookie")
        if not header:
            return
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        if not value or "1970" in attributes:  # Express clears a cookie by expiring it
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def _algorithms(route: Route, config: str) -> list[LongRunningOperation[Any, Any]] | None:
    if config in ("default", "arm"):
        return None
    options = _options(route)
    return [
        OperationResourcePolling("azure-asyncoperation", lro_options=options),
        OperationResourcePolling(lro_options=options),
        LocationPolling(),
        StatusCheckPolling(),
    ]


def _options(route: Route) -> dict[str, Any] | None:
    return {"final-state-via": route.final_state_via} if route.final_state_via else None


def _request(route: Route, base_url: str) -> HttpRequest:
    body: dict[str, Any] | None = {} if route.method in ("PUT", "PATCH") else None
    return HttpRequest(route.method, base_url + route.path, json=body)


def _body(pipeline_response: PipelineResponse[Any, Any]) -> Any:
    """The deserialization callback: JSON, with azure-core's error for a body that is not."""
    try:
        return pipeline_response.http_response.json()
    except ValueError as error:
        raise DecodeError("the final body is not JSON") from error


def _error_outcome(error: Exception, status: Callable[[], str]) -> Outcome:
    cause = error.__cause__
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, DecodeError) or isinstance(cause, BadResponse):
        return Outcome(Kind.MALFORMED, message=text)
    if isinstance(cause, OperationFailed):
        return Outcome(Kind.FAILED, state=status(), message=text)
    if isinstance(error, HttpResponseError) and (
        isinstance(cause, BadStatus) or error.status_code is not None
    ):
        return Outcome(Kind.HTTP_ERROR, status=error.status_code, message=text)
    return Outcome(Kind.OTHER, message=text)


def _policies(route: Route, retry: Any) -> list[Any]:
    ids = (
        RequestIdPolicy(request_id=CLIENT_REQUEST_ID)
        if route.client_request_id
        else RequestIdPolicy()
    )
    return [ids, retry, CookieJar()]


def run_sync(route: Route, base_url: str, config: str) -> Outcome:
    """The outcome of ``LROPoller`` with ``LROBasePolling`` on ``route``."""
    retry = RetryPolicy(retry_backoff_factor=0.01)
    transport = RequestsTransport()
    policies = _policies(route, retry)
    client: PipelineClient[HttpRequest, HttpResponse] = PipelineClient(
        ENDPOINT, policies=policies, transport=transport
    )
    with client:
        polling: LROBasePolling[Any, Any, Any] = _polling(route, config, base_url)
        try:
            request = _request(route, base_url.rstrip("/"))
            first: Initial = client.send_request(request, _return_pipeline_response=True)
            poller: LROPoller[Any] = LROPoller(client, first, _body, polling)
            poller.wait(WAIT)
            if not poller.done():
                return Outcome(Kind.HANG)
            return Outcome(Kind.SUCCESS, body=poller.result())
        except Exception as error:
            return _error_outcome(error, lambda: _status(polling))


def _status(polling: Any) -> str:
    try:
        return str(polling.status())
    except Exception:
        return "?"


def _polling(route: Route, config: str, base_url: str) -> LROBasePolling[Any, Any, Any]:
    kind = ARMPolling if config == "arm" else LROBasePolling
    return kind(
        timeout=0,
        lro_algorithms=_algorithms(route, config),
        lro_options=_options(route),
        path_format_arguments={"endpoint": base_url},
    )


async def run_async(route: Route, base_url: str, config: str) -> Outcome:
    """The outcome of ``AsyncLROPoller`` with ``AsyncLROBasePolling`` on ``route`` (asyncio)."""
    retry = AsyncRetryPolicy(retry_backoff_factor=0.01)
    policies = _policies(route, retry)
    client: AsyncPipelineClient[HttpRequest, AsyncHttpResponse] = AsyncPipelineClient(
        ENDPOINT, policies=policies, transport=AioHttpTransport()
    )
    async with client:
        kind = AsyncARMPolling if config == "arm" else AsyncLROBasePolling
        polling: AsyncLROBasePolling[Any, Any, Any] = kind(
            timeout=0,
            lro_algorithms=_algorithms(route, config),
            lro_options=_options(route),
            path_format_arguments={"endpoint": base_url},
        )
        try:
            request = _request(route, base_url.rstrip("/"))
            first: Initial = await client.send_request(request, _return_pipeline_response=True)
            poller: AsyncLROPoller[Any] = AsyncLROPoller(client, first, _body, polling)
            try:
                result = await asyncio.wait_for(poller.result(), WAIT)
            except asyncio.TimeoutError:
                return Outcome(Kind.HANG)
            return Outcome(Kind.SUCCESS, body=result)
        except Exception as error:
            return _error_outcome(error, lambda: _status(polling))
