"""The two Azure test-server routes tarry once got wrong, replayed without the server.

The exchanges are the server's own (``LROPatchInlineCompleteIgnoreHeaders`` and
``LROErrorPut201NoProvisioningStatePayload``), served by ``httpx.MockTransport`` so they
run in every test session, not only in the interop one.
"""

from __future__ import annotations

import httpx
import pytest

import tarry
from tarry.http import MalformedResponse, azure_operation

BASE = "http://127.0.0.1:3000"
POLICY = tarry.Policy(timeout=5.0, backoff=tarry.Constant(0.0))
SUCCEEDED = {"properties": {"provisioningState": "Succeeded"}, "id": "100", "name": "foo"}


def test_a_patch_that_already_succeeded_is_not_polled() -> None:
    """A 200 whose provisioningState is Succeeded ends the wait; its monitor header is stale."""
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        monitor = {"Azure-AsyncOperation": "http://localhost/fakeurl_you_should_not_call_this"}
        return httpx.Response(200, json=SUCCEEDED, headers=monitor)

    with httpx.Client(base_url=BASE, transport=httpx.MockTransport(serve)) as client:
        first = client.patch("/lro/patch/200/succeeded/ignoreheaders", json={})
        result = azure_operation(client, first, policy=POLICY).result()
    assert result.body == SUCCEEDED
    assert seen == ["PATCH /lro/patch/200/succeeded/ignoreheaders"]


def test_a_put_whose_resource_has_no_body_is_malformed() -> None:
    """A PUT answered 201 with no body, whose resource then answers 200 with no body,
    ends with MalformedResponse: a PUT must end with the resource."""

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201 if request.method == "PUT" else 200)

    with httpx.Client(base_url=BASE, transport=httpx.MockTransport(serve)) as client:
        first = client.put("/lro/error/put/201/noprovisioningstatepayload", json={})
        with pytest.raises(MalformedResponse):
            azure_operation(client, first, policy=POLICY).result()
