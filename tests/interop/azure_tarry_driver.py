"""tarry's Azure convention (``tarry.http.azure_operation`` and its async twin) over one
route of Azure's test server, with the outcome put in the terms of ``azure_routes``.

tarry waits on an operation that the caller started: the caller sends the first request
and hands its response over. That first request is retried on transient statuses (the
``retryerror`` routes answer 500 once) with tarry itself, the same way a caller would,
so the whole exchange runs on tarry's policy.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

import tarry
from tarry.http import (
    HttpStatusError,
    MalformedResponse,
    TransientHttpError,
    async_azure_operation,
    azure_operation,
    check_response,
)

from .azure_routes import CLIENT_REQUEST_ID, Kind, Outcome, Route

__all__ = ["POLICY", "run_async", "run_sync"]

POLICY = tarry.Policy(timeout=20.0, backoff=tarry.Constant(0.05), retry_on=TransientHttpError)
"""Small fixed delays (the server asks for none) and a deadline that only a stuck wait meets."""

_TLS = ssl.create_default_context()
"""One TLS context for every client: building one per client costs more than a route.
(The server is plain HTTP on loopback; httpx builds the context regardless.)"""

_SENT: tarry.Spec[httpx.Response] = tarry.Spec(
    "first request", state=lambda response: "sent", success={"sent"}
)


def _headers(route: Route) -> dict[str, str]:
    return {"x-ms-client-request-id": CLIENT_REQUEST_ID} if route.client_request_id else {}


def _body(route: Route) -> dict[str, Any] | None:
    return {} if route.method in ("PUT", "PATCH") else None


def _outcome(error: Exception) -> Outcome:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, tarry.OperationFailed):
        return Outcome(Kind.FAILED, state=str(error.state), message=text)
    if isinstance(error, tarry.OperationTimedOut):
        return Outcome(Kind.HANG, message=text)
    if isinstance(error, HttpStatusError):
        return Outcome(Kind.HTTP_ERROR, status=error.status_code, message=text)
    if isinstance(error, MalformedResponse):
        return Outcome(Kind.MALFORMED, message=text)
    return Outcome(Kind.OTHER, message=text)


def run_sync(route: Route, base_url: str) -> Outcome:
    """The outcome of ``azure_operation(...).result()`` on ``route``."""
    with httpx.Client(
        base_url=base_url, headers=_headers(route), trust_env=False, verify=_TLS
    ) as client:

        def start() -> httpx.Response:
            response = client.request(route.method, route.path, json=_body(route))
            check_response(response)
            return response

        try:
            first = tarry.wait(start, _SENT, policy=POLICY)
            wait = azure_operation(
                client, first, final_state_via=route.final_state_via, policy=POLICY
            )
            return Outcome(Kind.SUCCESS, body=wait.result().body)
        except Exception as error:
            return _outcome(error)


async def run_async(route: Route, base_url: str) -> Outcome:
    """The outcome of ``async_azure_operation(...).result()`` on ``route`` (asyncio or trio)."""
    async with httpx.AsyncClient(
        base_url=base_url, headers=_headers(route), trust_env=False, verify=_TLS
    ) as client:

        async def start() -> httpx.Response:
            response = await client.request(route.method, route.path, json=_body(route))
            check_response(response)
            return response

        try:
            first = await tarry.async_wait(start, _SENT, policy=POLICY)
            wait = async_azure_operation(
                client, first, final_state_via=route.final_state_via, policy=POLICY
            )
            return Outcome(Kind.SUCCESS, body=(await wait.result()).body)
        except Exception as error:
            return _outcome(error)
