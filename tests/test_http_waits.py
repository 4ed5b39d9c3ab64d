"""HTTP waits over httpx.MockTransport: each convention end to end, sync and async."""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from itertools import count
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tarry
import tarry.http as th
from _http_fakes import BASE, SECRET, Script, raw, reply
from tarry import OperationFailed, OperationTimedOut, Policy
from tarry.http._body import decode_json
from tarry.testing import AsyncFakeClock, FakeClock


@dataclass(frozen=True)
class ClusterInfo:
    cluster_id: str
    state: str
    state_message: str | None = None

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ClusterInfo:
        return cls(body["cluster_id"], body["state"], body.get("state_message"))


def cluster(state: str, message: str = "") -> httpx.Response:
    return reply(200, {"cluster_id": "c1", "state": state, "state_message": message})


# -- generic and Databricks-style resources -------------------------------------------------


def test_resource_wait_reaches_success() -> None:
    """A generic resource is polled until its state (found by a path) succeeds."""
    script = Script(
        {
            "GET /things/1": [
                reply(200, {"status": {"phase": "Pending", "why": "queued"}}),
                reply(200, {"status": {"phase": "Pending", "why": "starting"}}),
                reply(200, {"status": {"phase": "Ready"}, "id": 1}),
            ]
        }
    )
    seen: list[Any] = []
    with script.client() as client:
        wait = th.resource_wait(
            client,
            "/things/1",
            state="status.phase",
            message="status.why",
            success={"Ready"},
            failure={"Failed"},
            clock=FakeClock(),
            bind={"thing_id": 1},
        )
        assert isinstance(wait, tarry.Wait)
        assert wait.thing_id == 1
        assert wait.response is None
        done = wait.result(timeout=60, callback=seen.append)
    assert isinstance(done, th.Reply)
    assert done.body == {"status": {"phase": "Ready"}, "id": 1}
    assert done.state == "Ready"
    assert [r.message for r in seen] == ["queued", "starting"]
    assert script.paths() == ["GET /things/1"] * 3


def test_resource_wait_failure_names_state_and_message() -> None:
    """A failure state ends the wait with the server's message."""
    script = Script({"GET /things/1": [reply(200, {"state": "Failed", "msg": "disk full"})]})
    with script.client() as client:
        wait = th.resource_wait(
            client,
            "/things/1",
            state="state",
            message="msg",
            success={"Ready"},
            failure={"Failed"},
            name="thing",
            clock=FakeClock(),
        )
        with pytest.raises(OperationFailed) as caught:
            wait.result(timeout=60)
    assert str(caught.value) == "thing failed to reach Ready, got Failed: disk full"
    assert caught.value.entity.body == {"state": "Failed", "msg": "disk full"}


def test_parse_gives_the_callers_type() -> None:
    """With parse=, result() and the callback see the caller's dataclass: Wait[ClusterInfo]."""
    script = Script(
        {
            "POST /clusters/create": [reply(200, {"cluster_id": "c1"})],
            "GET /clusters/get": [cluster("PENDING", "Finding instances"), cluster("RUNNING")],
        }
    )
    seen: list[ClusterInfo] = []
    with script.client() as client:
        created = client.post("/clusters/create", json={"name": "x"})
        wait: tarry.Wait[ClusterInfo] = th.databricks_wait(
            client,
            "/clusters/get",
            success={"RUNNING"},
            failure={"ERROR", "TERMINATED"},
            parse=ClusterInfo.from_dict,
            response=created,
            params={"cluster_id": "c1"},
            name="cluster",
            bind={"cluster_id": "c1"},
            clock=FakeClock(),
        )
        info = wait.result(timeout=600, callback=seen.append)
    assert info == ClusterInfo("c1", "RUNNING", "")
    assert seen == [ClusterInfo("c1", "PENDING", "Finding instances")]
    assert wait.response is created
    assert wait.cluster_id == "c1"
    assert all(r.url.params["cluster_id"] == "c1" for r in script.seen[1:])


def test_databricks_run_terminated_with_failure() -> None:
    """A run TERMINATED with result_state FAILED is a failure with its message."""
    run = {
        "run_id": 7,
        "state": {
            "life_cycle_state": "TERMINATED",
            "result_state": "FAILED",
            "state_message": "Task etl failed",
        },
    }
    script = Script(
        {
            "GET /runs/get": [
                reply(200, {"run_id": 7, "state": {"life_cycle_state": "RUNNING"}}),
                reply(200, run),
            ]
        }
    )
    with script.client() as client:
        wait = th.databricks_wait(
            client,
            "/runs/get",
            success={"TERMINATED", "SKIPPED"},
            failure={"INTERNAL_ERROR"},
            name="run",
            clock=FakeClock(),
        )
        with pytest.raises(OperationFailed) as caught:
            wait.result(timeout=60)
    assert str(caught.value) == (
        "run failed to reach SKIPPED or TERMINATED, got TERMINATED: result FAILED: Task etl failed"
    )


def test_parse_errors_are_malformed_responses() -> None:
    """A body that parse= rejects ends the wait with MalformedResponse, cause kept."""
    script = Script({"GET /clusters/get": [reply(200, {"state": "RUNNING"})]})
    with script.client() as client:
        wait = th.databricks_wait(
            client,
            "/clusters/get",
            success={"RUNNING"},
            parse=ClusterInfo.from_dict,
            clock=FakeClock(),
        )
        with pytest.raises(th.MalformedResponse, match="parse= rejected") as caught:
            wait.result()
    assert isinstance(caught.value.__cause__, KeyError)


# -- Google -------------------------------------------------------------------------------


def test_google_operation_succeeds() -> None:
    """An AIP-151 operation is polled by name under the version root until done."""
    script = Script(
        {
            "POST /v1/projects/p/instances": [
                reply(200, {"name": "operations/op-1", "done": False}, {"Retry-After": "2"})
            ],
            "GET /v1/operations/op-1": [
                reply(200, {"name": "operations/op-1", "metadata": {"progress": 50}}),
                reply(200, {"name": "operations/op-1", "done": True, "response": {"id": "i-1"}}),
            ],
        }
    )
    clock = FakeClock()
    with script.client() as client:
        started = client.post("/v1/projects/p/instances")
        wait = th.google_operation(client, started, clock=clock)
        done = wait.result(timeout=60)
    assert done.body["response"] == {"id": "i-1"}
    assert clock.sleeps[0] == 2.0
    assert script.paths()[1:] == ["GET /v1/operations/op-1"] * 2


def test_google_operation_error() -> None:
    """done with error fails with the code name and the message."""
    script = Script(
        {
            "POST /v1beta/things": [reply(200, {"name": "projects/p/operations/9"})],
            "GET /v1beta/projects/p/operations/9": [
                reply(200, {"name": "x", "done": True, "error": {"code": 8, "message": "quota"}})
            ],
        }
    )
    with script.client() as client:
        wait = th.google_operation(client, client.post("/v1beta/things"), clock=FakeClock())
        with pytest.raises(OperationFailed, match="got ERROR: RESOURCE_EXHAUSTED: quota"):
            wait.result(timeout=60)


def test_google_already_done_needs_no_poll() -> None:
    """An operation done in the initial response succeeds without another request."""
    script = Script(
        {
            "POST /v1/x": [
                reply(200, {"name": "operations/1", "done": True, "response": {"ok": True}})
            ]
        }
    )
    with script.client() as client:
        wait = th.google_operation(client, client.post("/v1/x"), base_url="/v2/", clock=FakeClock())
        assert wait.result().body["response"] == {"ok": True}
    assert len(script.seen) == 1


def test_google_custom_base_url() -> None:
    """base_url overrides where names are resolved."""
    script = Script(
        {
            "POST /api/x": [reply(200, {"name": "operations/1"})],
            "GET /v3/operations/1": [reply(200, {"name": "o", "done": True})],
        }
    )
    with script.client() as client:
        wait = th.google_operation(
            client, client.post("/api/x"), base_url=f"{BASE}/v3", clock=FakeClock()
        )
        assert wait.result().state == "DONE"


def test_google_bad_initial_operation() -> None:
    """An initial body without a name is a MalformedResponse at once."""
    script = Script({"POST /v1/x": [reply(200, {"done": False})]})
    with script.client() as client, pytest.raises(th.MalformedResponse, match="no 'name'"):
        th.google_operation(client, client.post("/v1/x"))


# -- Azure ----------------------------------------------------------------------------------


def test_azure_async_operation_put_reads_the_original_url() -> None:
    """A PUT with Azure-AsyncOperation polls the monitor, then GETs the resource."""
    script = Script(
        {
            "PUT /subs/1/vm": [
                reply(
                    201,
                    {"properties": {"provisioningState": "Creating"}},
                    {"Azure-AsyncOperation": "/ops/1?api-version=2"},
                )
            ],
            "GET /ops/1": [
                reply(200, {"status": "InProgress"}),
                reply(200, {"status": "Succeeded"}),
            ],
            "GET /subs/1/vm": [
                reply(200, {"name": "vm", "properties": {"provisioningState": "Succeeded"}})
            ],
        }
    )
    with script.client() as client:
        started = client.put("/subs/1/vm", params={"api-version": "2"})
        done = th.azure_operation(client, started, clock=FakeClock()).result(timeout=60)
    assert done.final
    assert done.body["name"] == "vm"
    assert script.paths() == ["PUT /subs/1/vm", "GET /ops/1", "GET /ops/1", "GET /subs/1/vm"]
    assert script.seen[-1].url.params["api-version"] == "2"


def test_azure_post_location_result() -> None:
    """A POST with Operation-Location and Location reads the result from Location."""
    script = Script(
        {
            "POST /subs/1/export": [
                reply(202, None, {"Operation-Location": "/ops/2", "Location": "/results/2"})
            ],
            "GET /ops/2": [reply(200, {"status": "succeeded"})],
            "GET /results/2": [reply(200, {"url": "blob"})],
        }
    )
    with script.client() as client:
        done = th.azure_operation(client, client.post("/subs/1/export"), clock=FakeClock()).result(
            timeout=60
        )
    assert done.body == {"url": "blob"}


def test_azure_final_state_via_status_body() -> None:
    """final_state_via='azure-async-operation' makes the status body the result."""
    script = Script(
        {
            "POST /x": [reply(202, None, {"Azure-AsyncOperation": "/ops/3", "Location": "/r"})],
            "GET /ops/3": [reply(200, {"status": "Succeeded", "properties": {"output": 1}})],
        }
    )
    with script.client() as client:
        done = th.azure_operation(
            client, client.post("/x"), final_state_via="azure-async-operation", clock=FakeClock()
        ).result(timeout=60)
    assert done.body["properties"] == {"output": 1}
    assert "GET /r" not in script.paths()


def test_azure_body_polling() -> None:
    """Without headers, a PUT is polled at its own URL through provisioningState."""
    script = Script(
        {
            "PUT /vm": [reply(201, {"properties": {"provisioningState": "Creating"}})],
            "GET /vm": [
                reply(200, {"properties": {"provisioningState": "Updating"}}),
                reply(200, {"properties": {"provisioningState": "Succeeded"}, "id": "v"}),
            ],
        }
    )
    with script.client() as client:
        done = th.azure_operation(client, client.put("/vm"), clock=FakeClock()).result()
    assert done.body["id"] == "v"


def test_azure_already_done_and_already_failed() -> None:
    """A terminal initial answer ends the wait without polling, either way."""
    script = Script(
        {
            "PUT /ok": [reply(200, {"properties": {"provisioningState": "Succeeded"}})],
            "PUT /bad": [reply(200, {"properties": {"provisioningState": "Failed"}})],
            "DELETE /gone": [reply(204)],
        }
    )
    with script.client() as client:
        assert th.azure_operation(client, client.put("/ok")).result().state == "Succeeded"
        assert th.azure_operation(client, client.delete("/gone")).result().body is None
        with pytest.raises(OperationFailed, match="got Failed"):
            th.azure_operation(client, client.put("/bad")).result()
    assert len(script.seen) == 3


def test_azure_monitor_that_moves_is_followed() -> None:
    """A poll response with a new Azure-AsyncOperation header moves the next polls."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/a"})],
            "GET /ops/a": [reply(200, {"status": "InProgress"}, {"Azure-AsyncOperation": "b"})],
            "GET /ops/b": [
                reply(200, {"status": "InProgress"}),
                reply(200, {"status": "Succeeded"}),
            ],
            "GET /vm": [reply(200, {"id": "vm"})],
        }
    )
    with script.client() as client:
        th.azure_operation(client, client.put("/vm"), clock=FakeClock()).result()
    assert script.paths() == ["PUT /vm", "GET /ops/a", "GET /ops/b", "GET /ops/b", "GET /vm"]


def test_azure_failed_final_fetch_is_reported_apart() -> None:
    """A succeeded operation whose result cannot be fetched raises FinalFetchFailed."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1"})],
            "GET /ops/1": [reply(200, {"status": "Succeeded"})],
            "GET /vm": [reply(404, {"error": {"code": "ResourceNotFound", "message": "no vm"}})],
        }
    )
    with script.client() as client:
        wait = th.azure_operation(client, client.put("/vm"), clock=FakeClock())
        with pytest.raises(th.FinalFetchFailed) as caught:
            wait.result()
    error = caught.value
    assert isinstance(error, th.HttpStatusError)
    assert error.status_code == 404
    assert error.server_message == "ResourceNotFound: no vm"
    assert str(error).startswith("the operation succeeded, but fetching its result failed")


def test_azure_transient_final_fetch_is_retried_without_repolling() -> None:
    """A 503 on the result fetch is retried; the monitor is not asked again."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1"})],
            "GET /ops/1": [reply(200, {"status": "Succeeded"})],
            "GET /vm": [reply(503, None, {"Retry-After": "4"}), reply(200, {"id": "vm"})],
        }
    )
    clock = FakeClock()
    with script.client() as client:
        done = th.azure_operation(client, client.put("/vm"), clock=clock).result(timeout=60)
    assert done.body == {"id": "vm"}
    assert script.paths() == ["PUT /vm", "GET /ops/1", "GET /vm", "GET /vm"]
    assert clock.sleeps[1] >= 4.0


def test_azure_failure_message_from_the_monitor() -> None:
    """A failed status monitor's error message reaches OperationFailed."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1"})],
            "GET /ops/1": [
                reply(
                    200,
                    {"status": "Failed", "error": {"code": "QuotaExceeded", "message": "no cores"}},
                )
            ],
        }
    )
    with script.client() as client:
        wait = th.azure_operation(client, client.put("/vm"), name="vm", clock=FakeClock())
        with pytest.raises(OperationFailed) as caught:
            wait.result()
    assert str(caught.value) == "vm failed to reach Succeeded, got Failed: QuotaExceeded: no cores"


def test_azure_initial_errors() -> None:
    """A refused initial call, or a 202 with nowhere to poll, is an error at once."""
    script = Script(
        {
            "PUT /bad": [reply(400, {"error": {"code": "InvalidParameter", "message": "size"}})],
            "POST /lost": [reply(202)],
            "PUT /text": [raw(200, b"<html>oops</html>")],
        }
    )
    with script.client() as client:
        with pytest.raises(th.HttpStatusError, match="InvalidParameter: size") as caught:
            th.azure_operation(client, client.put("/bad"))
        assert caught.value.status_code == 400
        with pytest.raises(th.MalformedResponse, match="202 with no"):
            th.azure_operation(client, client.post("/lost"))
        with pytest.raises(th.MalformedResponse, match="not JSON"):
            th.azure_operation(client, client.put("/text"))


# -- transport rules ----------------------------------------------------------------------


def test_non_transient_status_ends_the_wait() -> None:
    """A 403 on a poll ends the wait with HttpStatusError: status, message, excerpt."""
    script = Script({"GET /t": [reply(403, {"error": {"code": "Forbidden", "message": "no"}})]})
    with script.client() as client:
        wait = th.resource_wait(
            client, "/t?sig=SECRET", state="s", success={"ok"}, clock=FakeClock()
        )
        with pytest.raises(th.HttpStatusError) as caught:
            wait.result(timeout=60)
    error = caught.value
    assert type(error) is th.HttpStatusError
    assert (error.status_code, error.method) == (403, "GET")
    assert error.url == f"{BASE}/t?[redacted]"
    assert str(error) == f"GET {BASE}/t?[redacted] answered 403 Forbidden: Forbidden: no"
    assert "SECRET" not in repr(error.args)


def test_error_bodies_are_bounded() -> None:
    """A huge non-JSON error body gives a short excerpt and is not read to the end."""
    chunks_sent = count()

    def stream(request: httpx.Request) -> httpx.Response:
        def body() -> Any:
            for _ in range(10_000):
                next(chunks_sent)
                yield b"x" * 1024

        return httpx.Response(400, content=body())

    script = Script({"GET /t": [stream]})
    with script.client() as client:
        wait = th.resource_wait(client, "/t", state="s", success={"ok"}, clock=FakeClock())
        with pytest.raises(th.HttpStatusError) as caught:
            wait.result()
    assert len(caught.value.excerpt) <= 300
    assert len(str(caught.value)) < 500
    assert next(chunks_sent) <= th.MAX_ERROR_BODY // 1024 + 2


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"<html>busy</html>", "not JSON"),
        (b'{"state": "RUNN', "truncated JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"", "empty body"),
        (b"NaN", "not JSON"),
        (b"[1, -Infinity]", "not JSON"),
    ],
)
def test_malformed_bodies_name_url_and_status(content: bytes, kind: str) -> None:
    """Bodies that are not JSON give MalformedResponse, never a bare JSONDecodeError."""
    script = Script({"GET /t": [raw(200, content)]})
    with script.client() as client:
        wait = th.resource_wait(
            client, "/t?token=abc", state="s", success={"ok"}, clock=FakeClock()
        )
        with pytest.raises(th.MalformedResponse) as caught:
            wait.result()
    error = caught.value
    assert kind in str(error)
    assert f"GET {BASE}/t?[redacted] answered 200" in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None
    assert error.status_code == 200


def test_wrong_shape_is_malformed() -> None:
    """Valid JSON of the wrong shape is a MalformedResponse too."""
    script = Script(
        {
            "GET /operations/1": [reply(200, ["not", "an", "object"])],
            "POST /v1/x": [reply(200, {"name": "operations/1"})],
        }
    )
    with script.client() as client:
        wait = th.google_operation(client, client.post("/v1/x"), base_url="/", clock=FakeClock())
        with pytest.raises(th.MalformedResponse, match="must be a JSON object"):
            wait.result()


def test_connection_errors_and_timeouts_are_transient() -> None:
    """ConnectError and ReadTimeout are retried; then the wait succeeds."""
    script = Script(
        {
            "GET /t": [
                httpx.ConnectError("refused"),
                httpx.ReadTimeout("slow"),
                reply(200, {"s": "ok"}),
            ]
        }
    )
    with script.client() as client:
        wait = th.resource_wait(client, "/t", state="s", success={"ok"}, clock=FakeClock())
        assert wait.result(timeout=60).state == "ok"
    assert len(script.seen) == 3


def test_transient_errors_carry_status_and_retry_after() -> None:
    """A 429 becomes TransientHttpError with status_code and retry_after."""
    script = Script({"GET /t": [reply(429, {"message": "slow down"}, {"Retry-After": "12"})]})
    with script.client() as client:
        wait = th.resource_wait(client, "/t", state="s", success={"ok"}, clock=FakeClock())
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=30)
    last = caught.value.last_error
    assert isinstance(last, th.TransientHttpError)
    assert (last.status_code, last.retry_after, last.server_message) == (429, 12.0, "slow down")
    assert "answered 429 Too Many Requests: slow down" in str(caught.value)


def test_caller_retry_on_is_kept() -> None:
    """A policy with its own retry_on is used as given (here: nothing is transient)."""
    script = Script({"GET /t": [reply(503)]})
    with script.client() as client:
        wait = th.resource_wait(
            client,
            "/t",
            state="s",
            success={"ok"},
            clock=FakeClock(),
            policy=Policy(retry_on=lambda error: False),
        )
        with pytest.raises(th.TransientHttpError):
            wait.result()


def test_unsupported_scheme_is_not_transient() -> None:
    """A URL httpx cannot send is a plain HttpError, not retried."""
    with httpx.Client() as client:
        wait = th.resource_wait(client, "ftp://files.example/x", state="s", success={"ok"})
        with pytest.raises(th.HttpError, match="UnsupportedProtocol") as caught:
            wait.result()
    assert not isinstance(caught.value, th.TransientHttpError)


def test_hook_adds_headers_and_params_to_every_poll() -> None:
    """headers= and params= (mappings or functions) reach every poll request."""
    ids = count(1)
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1?api-version=1"})],
            "GET /ops/1": [
                reply(200, {"status": "InProgress"}),
                reply(200, {"status": "Succeeded"}),
            ],
            "GET /vm": [reply(200, {})],
        }
    )
    with script.client() as client:
        wait = th.azure_operation(
            client,
            client.put("/vm"),
            clock=FakeClock(),
            headers=lambda: {"x-ms-client-request-id": f"req-{next(ids)}"},
            params={"api-version": "2024-01-01"},
        )
        wait.result()
    polls = script.seen[1:]
    assert [r.headers["x-ms-client-request-id"] for r in polls] == ["req-1", "req-2", "req-3"]
    assert all(r.url.params["api-version"] == "2024-01-01" for r in polls)
    assert all(r.url.params.get_list("api-version") == ["2024-01-01"] for r in polls)


def test_hook_must_give_a_mapping() -> None:
    """A headers hook returning something else is a clear TypeError."""
    script = Script({"GET /t": [reply(200, {"s": "ok"})]})
    with script.client() as client:
        wait = th.resource_wait(client, "/t", state="s", success={"ok"}, headers=lambda: ["x"])  # type: ignore[arg-type,return-value]
        with pytest.raises(TypeError, match="headers hook must give a mapping"):
            wait.result()


def test_cookies_persist_across_polls() -> None:
    """Cookies a server sets on one poll are sent on the next (the caller's client keeps them)."""

    def first(request: httpx.Request) -> httpx.Response:
        return reply(200, {"s": "pending"}, {"Set-Cookie": "scenario=abc; Path=/"})

    def later(request: httpx.Request) -> httpx.Response:
        state = "ok" if request.headers.get("cookie") == "scenario=abc" else "no-cookie"
        return reply(200, {"s": state})

    script = Script({"GET /t": [first, later]})
    with script.client() as client:
        wait = th.resource_wait(
            client, "/t", state="s", success={"ok"}, failure={"no-cookie"}, clock=FakeClock()
        )
        assert wait.result().state == "ok"


def test_each_request_gets_the_time_left() -> None:
    """The request timeout is tarry.request_timeout(); with no deadline, the client's own."""
    script = Script({"GET /t": [reply(200, {"s": "pending"}), reply(200, {"s": "ok"})]})
    with script.client(timeout=7.0) as client:
        wait = th.resource_wait(
            client,
            "/t",
            state="s",
            success={"ok"},
            clock=FakeClock(),
            rng=__import__("random").Random(1),
        )
        wait.result(timeout=10)
        first, second = (r.extensions["timeout"] for r in script.seen)
        assert first == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}
        assert 0 < second["read"] < 10.0
        script.seen.clear()
        script.routes["GET /t"] = [reply(200, {"s": "ok"})]
        wait.result(timeout=None)
        assert script.seen[0].extensions["timeout"]["read"] == 7.0


def test_secrets_never_show() -> None:
    """Authorization, cookies and signed queries appear in no repr and no message."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1?sig=QSECRET"})],
            "GET /ops/1": [reply(500, {"message": "boom"})],
        }
    )
    with script.client(cookies={"session": "CSECRET"}) as client:
        wait = th.azure_operation(
            client, client.put("/vm?sig=QSECRET"), clock=FakeClock(), bind={"vm": "vm1"}
        )
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=5)
    shown = " ".join(
        [
            repr(wait),
            str(caught.value),
            repr(caught.value.last_error),
            str(caught.value.last_error),
            repr(caught.value.entity),
        ]
    )
    for secret in ("QSECRET", "CSECRET", SECRET, "s3cret"):
        assert secret not in shown


def test_reply_repr_is_short_and_clean() -> None:
    """A Reply shows status, redacted URL, state and a bounded body, never headers."""
    script = Script(
        {"GET /t": [reply(200, {"s": "ok", "big": "y" * 500}, {"Set-Cookie": "k=HSECRET"})]}
    )
    with script.client() as client:
        done = th.resource_wait(client, "/t?x=1", state="s", success={"ok"}).result()
    text = repr(done)
    assert text.startswith(f"<Reply 200 {BASE}/t?[redacted] state='ok'")
    assert "HSECRET" not in text
    assert len(text) < 200
    assert done.headers["set-cookie"] == "k=HSECRET"


def test_argument_errors() -> None:
    """Wrong clients, responses and option names are clear TypeErrors."""
    script = Script({"POST /v1/x": [reply(200, {"name": "operations/1"})]})
    with script.client() as client:
        started = client.post("/v1/x")
        with pytest.raises(TypeError, match=r"httpx\.Client"):
            th.google_operation(httpx.AsyncClient(), started)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"httpx\.Response"):
            th.google_operation(client, {"name": "x"})  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="unexpected keyword arguments: timeout"):
            th.google_operation(client, started, timeout=5)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="has no request"):
            th.google_operation(client, httpx.Response(200, json={"name": "x"}))
        with pytest.raises(ValueError, match="non-empty parts"):
            th.resource_wait(client, "/t", state="a..b", success={"ok"})


def test_check_response() -> None:
    """check_response raises the HTTP layer's errors for the call that starts an operation."""
    script = Script(
        {
            "POST /a": [reply(409, {"message": "exists"})],
            "POST /b": [reply(502)],
            "POST /c": [reply(201, {})],
        }
    )
    with script.client() as client:
        with pytest.raises(th.HttpStatusError, match="409 Conflict: exists"):
            th.check_response(client.post("/a"))
        with pytest.raises(th.TransientHttpError):
            th.check_response(client.post("/b"))
        th.check_response(client.post("/c"))


def test_import_without_httpx() -> None:
    """``import tarry`` works without httpx; ``import tarry.http`` says how to install it."""
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "import tarry\n"
        "try:\n"
        "    import tarry.http\n"
        "except ImportError as e:\n"
        "    print('MSG', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "MSG tarry.http needs httpx" in out.stdout
    assert "pip install 'tarry[http]'" in out.stdout


# -- async, under asyncio and trio -----------------------------------------------------------


@pytest.mark.anyio
async def test_async_resource_with_parse() -> None:
    """The async builder returns an AsyncWait whose entities are the caller's type."""
    script = Script({"GET /clusters/get": [cluster("PENDING", "booting"), cluster("RUNNING")]})
    seen: list[ClusterInfo] = []

    async def show(info: ClusterInfo) -> None:
        seen.append(info)

    async with script.async_client() as client:
        wait = th.async_databricks_wait(
            client,
            "/clusters/get",
            success={"RUNNING"},
            failure={"ERROR"},
            parse=ClusterInfo.from_dict,
            clock=AsyncFakeClock(),
            bind={"cluster_id": "c1"},
        )
        assert isinstance(wait, tarry.AsyncWait)
        info = await wait.result(timeout=60, callback=show)
    assert info.state == "RUNNING"
    assert seen == [ClusterInfo("c1", "PENDING", "booting")]
    assert wait.cluster_id == "c1"


@pytest.mark.anyio
async def test_async_generic_resource() -> None:
    """async_resource_wait polls with an AsyncClient."""
    script = Script({"GET /t": [httpx.ConnectError("x"), reply(200, {"a": [{"s": "ok"}]})]})
    async with script.async_client() as client:
        wait = th.async_resource_wait(
            client, "/t", state=("a", 0, "s"), success={"ok"}, clock=AsyncFakeClock()
        )
        assert (await wait.result(timeout=60)).state == "ok"


@pytest.mark.anyio
async def test_async_azure_operation() -> None:
    """The Azure flow runs the same under asyncio and trio, final fetch included."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Operation-Location": "/ops/1", "Retry-After": "3"})],
            "GET /ops/1": [
                reply(503),
                reply(200, {"status": "running"}),
                reply(200, {"status": "SUCCEEDED"}),
            ],
            "GET /vm": [reply(200, {"id": "vm"})],
        }
    )
    clock = AsyncFakeClock()
    async with script.async_client() as client:
        started = await client.put("/vm")
        done = await th.async_azure_operation(client, started, clock=clock).result(timeout=60)
    assert done.body == {"id": "vm"}
    assert done.final
    assert clock.sleeps[0] == 3.0


@pytest.mark.anyio
async def test_async_google_operation_error() -> None:
    """Google operations fail the same way under asyncio and trio."""
    script = Script(
        {
            "POST /v1/x": [reply(200, {"name": "operations/1"})],
            "GET /v1/operations/1": [
                reply(200, {"name": "o", "done": True, "error": {"code": 5, "message": "m"}})
            ],
        }
    )
    async with script.async_client() as client:
        wait = th.async_google_operation(client, await client.post("/v1/x"), clock=AsyncFakeClock())
        with pytest.raises(OperationFailed, match="NOT_FOUND: m"):
            await wait.result()


@pytest.mark.anyio
async def test_async_error_body_bounded_and_timeout_budget() -> None:
    """Async polls read error bodies bounded and pass the time left as the timeout."""

    def big(request: httpx.Request) -> httpx.Response:
        assert request.extensions["timeout"]["read"] == 20.0
        return raw(404, b"z" * (th.MAX_ERROR_BODY * 3))

    script = Script({"GET /t": [big]})
    async with script.async_client() as client:
        wait = th.async_resource_wait(
            client, "/t", state="s", success={"ok"}, clock=AsyncFakeClock()
        )
        with pytest.raises(th.HttpStatusError) as caught:
            await wait.result(timeout=20)
    assert caught.value.status_code == 404
    assert len(caught.value.excerpt) <= 300


@pytest.mark.anyio
async def test_async_sync_client_is_refused() -> None:
    """An async builder needs an httpx.AsyncClient."""
    with httpx.Client() as client, pytest.raises(TypeError, match="AsyncClient"):
        th.async_resource_wait(client, "/t", state="s", success={"ok"})  # type: ignore[call-overload]


# -- redirects, slow bodies, logs ------------------------------------------------------------


def moved(to: str, status: int = 307) -> httpx.Response:
    return httpx.Response(status, headers={"Location": to})


def test_same_origin_redirect_is_followed() -> None:
    """A redirect on the same origin is followed with the caller's headers."""
    script = Script({"GET /t": [moved("/t2?x=1")], "GET /t2": [reply(200, {"s": "ok"})]})
    with script.client() as client:
        done = th.resource_wait(client, "/t", state="s", success={"ok"}).result()
    assert done.url == f"{BASE}/t2?[redacted]"
    assert [r.headers["authorization"] for r in script.seen] == [SECRET, SECRET]


def test_see_other_becomes_get() -> None:
    """A 303 is followed with GET."""
    script = Script({"GET /t": [moved("/t2", 303)], "GET /t2": [reply(200, {"s": "ok"})]})
    with script.client() as client:
        assert th.resource_wait(client, "/t", state="s", success={"ok"}).result().state == "ok"


def test_foreign_redirect_is_refused() -> None:
    """A redirect to another origin is refused like any other foreign link."""
    script = Script({"GET /t": [moved("https://b.example/t?sig=QSECRET", 302)]})
    with script.client() as client:
        wait = th.resource_wait(client, "/t", state="s", success={"ok"})
        with pytest.raises(th.ForeignOriginRefused, match="redirect") as caught:
            wait.result()
    assert "QSECRET" not in str(caught.value)
    assert len(script.seen) == 1


def test_allowed_foreign_redirect_gets_no_credentials() -> None:
    """An allowed foreign redirect target gets no Authorization and no credential headers."""
    script = Script(
        {
            "GET /t": [moved("https://b.example/t")],
            "GET https://b.example/t": [reply(200, {"s": "ok"})],
        }
    )
    with script.client() as client:
        wait = th.resource_wait(
            client,
            "/t",
            state="s",
            success={"ok"},
            allowed_origins=["https://b.example"],
            headers={"X-Api-Key": "KSECRET", "Accept": "application/json"},
        )
        wait.result()
    abroad = script.seen[1]
    assert "authorization" not in abroad.headers
    assert "x-api-key" not in abroad.headers
    assert abroad.headers["accept"] == "application/json"


def test_redirect_loop_ends() -> None:
    """Endless redirects end with a clear HttpError, not a hang."""
    script = Script({"GET /t": [moved("/t")]})
    with script.client() as client:
        wait = th.resource_wait(client, "/t", state="s", success={"ok"})
        with pytest.raises(th.HttpError, match="more than 5 redirects"):
            wait.result()
    assert len(script.seen) == 6


def test_trickling_body_is_cut_at_the_budget() -> None:
    """A body sent a little at a time is cut once the request has used its time budget."""

    def trickle(request: httpx.Request) -> httpx.Response:
        def body() -> Any:
            yield b'{"s": "pending", "pad": "'
            for _ in range(50):
                time.sleep(0.02)
                yield b"x"
            yield b'"}'

        return httpx.Response(200, content=body())

    script = Script({"GET /t": [trickle]})
    with script.client() as client:
        wait = th.resource_wait(
            client, "/t", state="s", success={"ok"}, policy=Policy(request_floor=0.1)
        )
        started = time.monotonic()
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=0.2)
        took = time.monotonic() - started
    assert isinstance(caught.value.last_error, th.TransientHttpError)
    assert "timed out after" in str(caught.value.last_error)
    assert took < 50 * 0.02  # cut before the body was complete


def test_logs_show_redacted_urls_only(caplog: pytest.LogCaptureFixture) -> None:
    """tarry's debug logs name requests by redacted URL and never show credentials."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1?sig=QSECRET"})],
            "GET /ops/1": [reply(503), reply(200, {"status": "Succeeded"})],
            "GET /vm": [reply(200, {})],
        }
    )
    with caplog.at_level(logging.DEBUG), script.client(cookies={"k": "CSECRET"}) as client:
        th.azure_operation(client, client.put("/vm?sig=PSECRET"), clock=FakeClock()).result()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tarry")]
    assert f"GET {BASE}/ops/1?[redacted] -> 503" in ours
    text = "\n".join(ours)
    for secret in ("QSECRET", "PSECRET", "CSECRET", SECRET):
        assert secret not in text


# -- odd inputs -------------------------------------------------------------------------------


def test_more_argument_errors() -> None:
    """Bad policies, URLs and unread streamed responses are clear errors up front."""
    script = Script({"PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1"})]})
    with script.client() as client:
        with pytest.raises(TypeError, match=r"tarry\.Policy"):
            th.resource_wait(client, "/t", state="s", success={"ok"}, policy="fast")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="url must be a string"):
            th.resource_wait(client, b"/t", state="s", success={"ok"})  # type: ignore[call-overload]
        with pytest.raises(ValueError, match="not a usable URL"):
            th.resource_wait(client, "http://[::1/x", state="s", success={"ok"})
        request = client.build_request("PUT", "/vm")
        streamed = httpx.Response(201, stream=httpx.ByteStream(b"{}"), request=request)
        with pytest.raises(TypeError, match="streamed and not read"):
            th.azure_operation(client, streamed)
        with pytest.raises(TypeError, match="streamed and not read"):
            th.check_response(streamed)
        streamed.close()


def test_unusable_polling_link() -> None:
    """A polling header that is not a usable URL is a MalformedResponse naming the request."""
    script = Script({"PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "https://:0/x"})]})
    with script.client() as client, pytest.raises(th.MalformedResponse, match="not a usable URL"):
        th.azure_operation(client, client.put("/vm"))


def test_google_initial_body_of_the_wrong_shape() -> None:
    """An initial Google answer that is not an operation is refused at once."""
    script = Script({"POST /v1/x": [reply(200, ["operations/1"])]})
    with script.client() as client, pytest.raises(th.MalformedResponse, match="JSON object"):
        th.google_operation(client, client.post("/v1/x"))


def test_azure_location_put_with_empty_final_answer_reads_the_resource() -> None:
    """A PUT polled by Location whose final answer is empty reads the resource itself."""
    script = Script(
        {
            "PUT /vm": [reply(202, None, {"Location": "/ops/1"})],
            "GET /ops/1": [reply(202), reply(204)],
            "GET /vm": [reply(200, {"id": "vm"})],
        }
    )
    with script.client() as client:
        done = th.azure_operation(client, client.put("/vm"), clock=FakeClock()).result()
    assert done.body == {"id": "vm"}


def test_oversized_body(monkeypatch: pytest.MonkeyPatch) -> None:
    """A success body over MAX_BODY is a MalformedResponse, not read to the end."""
    monkeypatch.setattr("tarry.http._transport.MAX_BODY", 1000)
    script = Script({"GET /t": [reply(200, {"s": "x" * 5000})]})
    with script.client() as client:
        wait = th.resource_wait(client, "/t", state="s", success={"ok"})
        with pytest.raises(th.MalformedResponse, match="body over 1000 bytes"):
            wait.result()


def test_non_string_messages_are_shown_as_text() -> None:
    """A message path that finds a number gives its text."""
    script = Script({"GET /t": [reply(200, {"s": "bad", "code": 42})]})
    with script.client() as client:
        wait = th.resource_wait(
            client, "/t", state="s", message="code", success={"ok"}, failure={"bad"}
        )
        with pytest.raises(OperationFailed, match="got bad: 42"):
            wait.result()


def test_transport_checks_origins_again_before_sending() -> None:
    """Even a request no flow checked is refused by the transport, by httpx's reading of
    its URL, before anything is sent."""
    from tarry.http._flows import Guard, Req
    from tarry.http._origin import parse_origins
    from tarry.http._transport import Transport

    script = Script({"GET /x": [reply(200, {})]})
    with script.client() as client:
        guard = Guard(f"{BASE}/start", parse_origins(None))
        transport = Transport(client, guard, None, None, ())
        with pytest.raises(th.ForeignOriginRefused, match=r"https://b\.example"):
            transport.send(Req("GET", "https://b.example/x?sig=QSECRET"))
        assert transport.send(Req("GET", f"{BASE}/x")).status_code == 200
    assert len(script.seen) == 1


def test_local_protocol_error_is_not_retried() -> None:
    """A request httpx cannot send (LocalProtocolError) ends the wait at once."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.LocalProtocolError("illegal header value")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        waiter = tarry.http.resource_wait(
            client,
            "http://api.test/things/1",
            state="state",
            success={"READY"},
            clock=FakeClock(),
        )
        with pytest.raises(tarry.http.HttpError) as caught:
            waiter.result(timeout=600)
    assert not isinstance(caught.value, tarry.http.TransientHttpError)
    assert "LocalProtocolError" in str(caught.value)
    assert calls == 1


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    value=json_values,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"]),
)
def test_bodies_decode_as_json_loads_does(value: object, encoding: str) -> None:
    """The poll's JSON decoder (made once, rejecting NaN and Infinity) reads every body
    the standard ``json.loads`` reads, in each encoding JSON allows, to the same value."""
    content = json.dumps(value).encode(encoding)
    decoded = decode_json(content, method="GET", url="http://h/x", status_code=200)
    assert decoded == json.loads(content)


def test_each_poll_sends_the_links_query_with_the_clients_params_on_top() -> None:
    """The link's own query goes out as it came; a client's params are added on the
    first request's origin and win over the link's of the same name; a bare ``?`` goes."""
    script = Script({"GET /t": [reply(200, {"s": "ok"})]})
    with script.client() as plain:
        th.resource_wait(plain, "/t?b=2&a=1", state="s", success={"ok"}).result()
        th.resource_wait(plain, "/t?", state="s", success={"ok"}).result()
    with script.client(params={"a": "9", "key": "k"}) as keyed:
        th.resource_wait(keyed, "/t?b=2&a=1", state="s", success={"ok"}).result()
    sent = [r.url.raw_path for r in script.seen]
    assert sent == [b"/t?b=2&a=1", b"/t", b"/t?b=2&a=9&key=k"]


def test_a_client_params_never_go_to_another_origin() -> None:
    """A client's params may be credentials (``?key=``): a poll on another, allowed,
    origin goes out with its link's own query only, though httpx would add them."""
    monitor = "https://other.example/ops/1?api-version=1"
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": monitor})],
            "GET /ops/1": [
                reply(200, {"status": "InProgress"}),
                reply(200, {"status": "Succeeded"}),
            ],
            "GET /vm": [reply(200, {})],
        }
    )
    with script.client(params={"key": "k"}) as client:
        th.azure_operation(
            client,
            client.put("/vm"),
            clock=FakeClock(),
            allowed_origins=["https://other.example"],
        ).result()
    sent = [(r.url.host, r.url.raw_path) for r in script.seen[1:]]
    assert sent == [
        ("other.example", b"/ops/1?api-version=1"),
        ("other.example", b"/ops/1?api-version=1"),
        ("api.example", b"/vm?key=k"),
    ]


def _holds_text(container: object, secret: str, depth: int = 2) -> bool:
    """Whether ``container`` reaches a string holding ``secret`` within ``depth`` steps,
    through what the garbage collector sees (untracked dicts and caches included)."""
    if isinstance(container, str):
        return container is not secret and secret in container  # the test's own is fine
    if depth == 0:
        return False
    return any(_holds_text(item, secret, depth - 1) for item in gc.get_referents(container))


def test_no_url_with_its_query_outlives_the_wait() -> None:
    """A query may carry a credential (``?api_key=``): once the wait and its client are
    gone, nothing tarry keeps (no cache of shown URLs, say) still holds the full URL."""
    secret = "-".join(["query", "secret", str(time.monotonic_ns())])  # made now: no constant

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"state": "DONE"})

    client = httpx.Client(
        base_url=BASE, params={"api_key": secret}, transport=httpx.MockTransport(answer)
    )
    wait = th.resource_wait(client, "/ops/1", state="state", success={"DONE"}, clock=FakeClock())
    assert wait.result().url == f"{BASE}/ops/1?[redacted]"
    client.close()
    del client, wait
    # The standard library's own cache of recent urlsplit() results is not tarry's.
    getattr(urllib.parse, "clear_cache", lambda: None)()
    gc.collect()
    assert not [o for o in gc.get_objects() if _holds_text(o, secret)]


def test_a_reused_parse_never_sends_a_request_to_another_link() -> None:
    """Each request goes to its own link, though the transport keeps the last parse:
    links alternating, one link polled twice, and the client's base_url changed
    between polls (a relative link is joined anew on every request)."""
    from tarry.http._flows import Guard, Req
    from tarry.http._transport import Transport

    with httpx.Client(base_url=BASE) as client:
        transport = Transport(client, Guard(BASE + "/", frozenset()), None, None, ())
        links = ["/ops/1", f"{BASE}/ops/2?a=1", "/ops/1", "/ops/1", f"{BASE}/ops/2?a=1"]
        sent = [str(transport.build(Req("GET", link)).request.url) for link in links]
        assert sent == [
            f"{BASE}/ops/1",
            f"{BASE}/ops/2?a=1",
            f"{BASE}/ops/1",
            f"{BASE}/ops/1",
            f"{BASE}/ops/2?a=1",
        ]
        client.base_url = httpx.URL(BASE + "/v2/")
        assert str(transport.build(Req("GET", "ops/1")).request.url) == f"{BASE}/v2/ops/1"
        assert str(transport.build(Req("GET", "ops/1")).request.url) == f"{BASE}/v2/ops/1"


def test_reply_headers_are_a_dict_of_lower_case_names() -> None:
    """A reply's headers are a plain dict (JSON-ready): names in lower case, repeated
    headers joined as httpx joins them."""
    tagged = httpx.Response(200, json={"s": "ok"}, headers=[("X-Tag", "a"), ("x-tag", "b")])
    script = Script({"GET /t": [tagged]})
    with script.client() as client:
        got = th.resource_wait(client, "/t", state="s", success={"ok"}).result()
    assert type(got.headers) is dict
    assert got.headers["x-tag"] == "a, b"
    assert "X-Tag" not in got.headers
    assert json.loads(json.dumps(got.headers))["content-type"] == "application/json"


def test_a_client_class_that_reroutes_its_requests_is_polled_where_it_sends_them() -> None:
    """The first request's origin is where the client sends the link: a client class
    whose build_request moves requests (to a staging host, say) is not refused."""

    class Rerouting(httpx.Client):
        def build_request(self, method: str, url: Any, **options: Any) -> httpx.Request:
            request = super().build_request(method, url, **options)
            request.url = request.url.copy_with(host="staging.example.com")
            return request

    hosts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(200, json={"state": "DONE"})

    with Rerouting(transport=httpx.MockTransport(answer)) as client:
        wait = th.resource_wait(
            client, "https://api.example.com/ops/1", state="state", success={"DONE"}
        )
        assert wait.result().state == "DONE"
    assert hosts == ["staging.example.com"]


def test_a_redirects_signed_target_is_not_kept_by_the_wait() -> None:
    """A redirect's target (a signed URL, say) is used for one request and let go:
    the wait, still alive, keeps no URL with its query."""
    secret = "-".join(["sig", "secret", str(time.monotonic_ns())])  # made now: no constant

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/t":
            return httpx.Response(307, headers={"Location": f"/signed?sig={secret}"})
        return httpx.Response(200, json={"state": "DONE"})

    client = httpx.Client(base_url=BASE, transport=httpx.MockTransport(answer))
    wait = th.resource_wait(client, "/t", state="state", success={"DONE"}, clock=FakeClock())
    assert wait.result().url == f"{BASE}/signed?[redacted]"
    client.close()
    del client
    getattr(urllib.parse, "clear_cache", lambda: None)()
    gc.collect()
    assert not [o for o in gc.get_objects() if _holds_text(o, secret)]
    assert wait.spec.name  # the wait is still alive here
