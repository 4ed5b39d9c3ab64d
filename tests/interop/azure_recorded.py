"""What azure-core and tarry were seen to do where they differ from the expected outcome.

Recorded with azure-core 1.41.0 and azure-mgmt-core 1.6.0 against the test server
3.3.51 (the same in sync and async code). The interop tests check that each poller
still does exactly this, so the table in docs/interop-azure.md cannot go stale silently.
"""

from __future__ import annotations

from .azure_routes import Kind, Outcome, Route, success

__all__ = [
    "AZURE_CORE",
    "AZURE_CORE_VERSION",
    "AZURE_MGMT_CORE_VERSION",
    "TARRY_DIFFERS",
    "azure_core_outcome",
]

AZURE_CORE_VERSION = "1.41.0"
AZURE_MGMT_CORE_VERSION = "1.6.0"

_FOO = {"id": "100", "name": "foo"}


def _foo(state: str) -> dict[str, object]:
    return {"properties": {"provisioningState": state}, **_FOO}


def _http(status: int) -> Outcome:
    return Outcome(Kind.HTTP_ERROR, status=status)


_NOT_FOUND = _http(404)

_BASE = "base"  # both LROBasePolling configurations
_ALL = "all"

AZURE_CORE: dict[str, dict[str, Outcome]] = {
    # LROBasePolling has no provisioningState reader: a 200/201 without headers is final.
    "LROPutSucceededWithBody": {_BASE: success(_foo("Creating"))},
    "LROPutSucceededNoBody": {_BASE: success(_foo("Updating"))},
    "LROPutFailed": {_BASE: success(_foo("Created"))},
    "LROPutCanceled": {_BASE: success(_foo("Accepted"))},
    "LRORetryPutSucceededWithBody": {_BASE: success(_foo("Creating"))},
    "CustomHeaderPutSucceeded": {_BASE: success(_foo("Creating"))},
    "LRONonRetryPut201Creating400": {_BASE: success(_foo("Creating"))},
    "LRONonRetryPut201Creating400InvalidJson": {_BASE: success(_foo("Creating"))},
    "LROErrorPut201NoProvisioningStatePayload": {_BASE: success()},
    # Location polling ends on any 2xx but 202, whatever the body says.
    "LRODeleteProvisioningFailed": {_ALL: success(_foo("Failed"))},
    "LRODeleteProvisioningCanceled": {_ALL: success(_foo("Canceled"))},
    # A 202 with nothing to poll is taken as done.
    "LROErrorPostNoLocation": {_ALL: success()},
    # The default algorithms do not read Azure-AsyncOperation, so they poll Location (when
    # there is one) by status code alone, or take the first answer as final.
    "LROPatch201WithAsyncHeader": {
        "default": success(_foo("Accepted") | {"id": "/lro/patch/201/retry/onlyAsyncHeader"})
    },
    "LROPatch202WithAsyncAndLocationHeader": {
        "default": success(
            {
                "id": "/lro/patch/202/retry/asyncAndLocationHeader/operationResults/202"
                "/finalResults/202",
                "type": "AsyncAndLocationHeader/Operationresults/finalResults",
                "name": "202",
            }
        )
    },
    "LROPutAsyncRetrySucceeded": {"default": success({"status": "Succeeded"})},
    "LROPutAsyncNoRetrySucceeded": {"default": success({"status": "Succeeded"})},
    "LROPutAsyncRetryFailed": {"default": success({"status": "Failed"})},
    "LROPutAsyncNoRetryCanceled": {"default": success({"status": "Canceled"})},
    "LRORetryErrorPutAsyncSucceeded": {"default": success({"status": "Succeeded"})},
    "CustomHeaderPutAsyncSucceded": {"default": success({"status": "Succeeded"})},
    "LRODeleteAsyncRetryFailed": {"default": success({"status": "Failed"})},
    "LRODeleteAsyncRetryCanceled": {"default": success({"status": "Canceled"})},
    "LRORetryErrorDeleteAsyncRetrySucceeded": {"default": success()},
    "LROPostAsyncRetryFailed": {"default": success(_foo("Succeeded"))},
    "LROPostAsyncRetryCanceled": {"default": success(_foo("Succeeded"))},
    "CustomHeaderPostAsyncSucceded": {"default": success(_foo("Accepted"))},
    "LROPutAsyncNoHeaderInRetry": {"default": _NOT_FOUND},
    "LROPutSubResourceAsyncInRetry": {"default": _NOT_FOUND},
    "LROPutNonResourceAsyncInRetry": {"default": _NOT_FOUND},
    "LRODeleteAsyncNoHeaderInRetry": {"default": _NOT_FOUND},
    "LROErrorPutAsyncNoPollingStatus": {"default": success({})},
    "LROErrorDeleteAsyncNoPollingStatus": {"default": success({})},
    "LROErrorPutAsyncNoPollingStatusPayload": {"default": success()},
    "LROErrorPostAsyncNoPollingPayload": {"default": success()},
    # final-state-via azure-async-operation is honoured only by the header's own reader.
    "LROPostDoubleHeadersFinalAzureHeaderGet": {"default": _http(400)},
    # With the header reader it follows a monitor on another origin (here port 80).
    "LROPatchInlineCompleteIgnoreHeaders": {
        "async-header": Outcome(Kind.OTHER, message="ServiceRequestError"),
        "arm": Outcome(Kind.OTHER, message="ServiceRequestError"),
    },
}
"""Per scenario and configuration: ``default``, ``async-header``, ``arm``; ``base`` for
both ``LROBasePolling`` configurations, ``all`` for all three."""

TARRY_DIFFERS: dict[str, tuple[Outcome, str]] = {}
"""Routes where tarry does not reach the expected outcome yet: what it does instead, and why."""


def azure_core_outcome(route: Route, config: str, base_url: str) -> Outcome:
    """The outcome azure-core reaches on ``route`` in ``config``, as recorded."""
    recorded = AZURE_CORE.get(route.scenario, {})
    found = recorded.get(config)
    if found is None and config != "arm":
        found = recorded.get(_BASE)
    if found is None:
        found = recorded.get(_ALL)
    return route.expected_at(base_url) if found is None else found
