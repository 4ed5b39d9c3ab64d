"""Waits on HTTP long-running operations, over httpx (sync, asyncio and trio).

Four conventions, each a sync builder returning a ``tarry.Wait`` and an async one
returning a ``tarry.AsyncWait``; nothing is sent before ``result()``:

* ``resource_wait`` / ``async_resource_wait``: a JSON resource whose state and message
  are found by a path into its body;
* ``databricks_wait`` / ``async_databricks_wait``: ``state`` or ``life_cycle_state``,
  ``state_message``, and a ``result_state`` that can turn TERMINATED into a failure;
* ``google_operation`` / ``async_google_operation``: Google AIP-151 operations;
* ``azure_operation`` / ``async_azure_operation``: Azure's Azure-AsyncOperation,
  Operation-Location, Location and provisioningState operations.

Every builder takes the caller's httpx client (its cookies, auth and base URL are used
on every poll) and these keyword options (``WaitOptions``): ``name``, ``headers`` and
``params`` (a mapping or a function called per request, added to every poll; a poll
on another origin gets neither sensitive headers nor these params),
``allowed_origins``, ``sensitive_headers``, ``policy``, ``clock``, ``rng``, ``bind``.

Transport rules: each request's timeout is ``tarry.request_timeout()`` (the time left,
with the policy's ``request_floor``); connection errors, timeouts and 408, 429, 500, 502,
503, 504 raise ``TransientHttpError`` and are retried inside the deadline; Retry-After
(seconds or an HTTP date) raises the next delay, clamped by ``max_retry_after``; links
in responses (and redirects) are followed only on the first request's origin unless
allowed, and credentials never leave it; URLs are shown without query string or user
info. (httpx itself logs every request's full URL at INFO on the ``httpx`` logger: keep
that logger at WARNING if your URLs carry signatures.)

The entity of each poll is a ``Reply`` (JSON body, status, headers, reading), or the
caller's own object with ``parse=`` (``parse=ClusterInfo.from_dict`` gives a
``Wait[ClusterInfo]``). An SDK method that starts an operation and returns its wait::

    def create(self, **spec: Any) -> tarry.Wait[ClusterInfo]:
        reply = self._http.post("/api/2.1/clusters/create", json=spec)
        tarry.http.check_response(reply)  # the same errors as the polls raise
        cluster_id = reply.json()["cluster_id"]
        return tarry.http.databricks_wait(
            self._http, "/api/2.1/clusters/get", params={"cluster_id": cluster_id},
            success={"RUNNING"}, failure={"ERROR", "TERMINATED"},
            parse=ClusterInfo.from_dict, response=reply, name="cluster",
            bind={"cluster_id": cluster_id},
        )

    info = sdk.clusters.create(...).result(timeout=timedelta(minutes=15), callback=show)
"""

from __future__ import annotations

try:
    import httpx as _httpx  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "tarry.http needs httpx, which comes with the http extra: pip install 'tarry[http]'"
    ) from _missing

from ._api import (
    AsyncWaitOptions,
    WaitOptions,
    async_azure_operation,
    async_databricks_wait,
    async_google_operation,
    async_resource_wait,
    azure_operation,
    databricks_wait,
    google_operation,
    resource_wait,
)
from ._azure import FINAL_STATE_VIA
from ._body import MAX_BODY, MAX_ERROR_BODY, server_message
from ._conventions import DATABRICKS_OK_RESULTS, GOOGLE_CODES
from ._errors import (
    FinalFetchFailed,
    ForeignOriginRefused,
    HttpError,
    HttpStatusError,
    MalformedResponse,
    TransientHttpError,
)
from ._origin import Origin, is_sensitive, origin_of, redact
from ._reply import Reading, Reply
from ._retry_after import parse_retry_after
from ._transport import TRANSIENT_STATUSES, check_response

__all__ = [
    "DATABRICKS_OK_RESULTS",
    "FINAL_STATE_VIA",
    "GOOGLE_CODES",
    "MAX_BODY",
    "MAX_ERROR_BODY",
    "TRANSIENT_STATUSES",
    "AsyncWaitOptions",
    "FinalFetchFailed",
    "ForeignOriginRefused",
    "HttpError",
    "HttpStatusError",
    "MalformedResponse",
    "Origin",
    "Reading",
    "Reply",
    "TransientHttpError",
    "WaitOptions",
    "async_azure_operation",
    "async_databricks_wait",
    "async_google_operation",
    "async_resource_wait",
    "azure_operation",
    "check_response",
    "databricks_wait",
    "google_operation",
    "is_sensitive",
    "origin_of",
    "parse_retry_after",
    "redact",
    "resource_wait",
    "server_message",
]
