"""The operations server's scenario logic, without sockets: timelines, faults, wire formats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarry.testing import (
    Action,
    Fault,
    FaultKind,
    Reply,
    ScenarioError,
    Scenarios,
    Step,
    Timeline,
)

BASE = "http://127.0.0.1:8123"


@pytest.fixture
def scenarios() -> Scenarios:
    """A registry on a made-up origin."""
    return Scenarios(BASE)


def get(s: Scenarios, target: str, now: float = 0.0) -> Reply:
    """A GET through the pure handler."""
    return s.handle("GET", target, [("Host", "x")], b"", now=now)


def body(reply: Reply) -> Any:
    """The reply's JSON body."""
    return json.loads(reply.body)


def header(reply: Reply, name: str) -> str | None:
    """The reply's header ``name``, or None."""
    return next((v for k, v in reply.headers if k.lower() == name.lower()), None)


# Timelines -------------------------------------------------------------------------------


def test_timeline_by_time() -> None:
    """The state in force is the last step whose time has come."""
    t = Timeline([Step("PENDING"), Step("STARTING", at=1.0), Step("RUNNING", at=2.5)])
    assert [t.at(x, 0).state for x in (0.0, 0.99, 1.0, 2.49, 2.5, 99)] == [
        "PENDING",
        "PENDING",
        "STARTING",
        "STARTING",
        "RUNNING",
        "RUNNING",
    ]


def test_timeline_by_poll_and_mixed() -> None:
    """Poll steps begin at their poll number; time and poll steps mix in list order."""
    t = Timeline([Step("A"), Step("B", poll=2), Step("C", at=5.0)])
    assert [t.at(0.0, n).state for n in (0, 1, 2, 3)] == ["A", "A", "B", "B"]
    assert t.at(5.0, 1).state == "C"


def test_timeline_accepts_tuples_strings_and_dicts() -> None:
    """Steps may be written as names, (seconds, state[, message]) tuples or JSON objects."""
    t = Timeline(["PENDING", (0.5, "RUNNING", "up"), {"state": "DONE", "poll": 9}])
    assert t.at(0.6, 0) == Step("RUNNING", at=0.5, message="up")
    assert t.at(0.0, 9).state == "DONE"


@pytest.mark.parametrize(
    ("steps", "text"),
    [
        ([], "at least one step"),
        ([Step("A", at=1.0)], "must begin at 0"),
        ([Step("A", poll=1)], "must begin at 0"),
        ([Step("A"), Step("B", at=2.0), Step("C", at=1.0)], "times must not go backwards"),
        ([Step("A"), Step("B", poll=3), Step("C", poll=2)], "poll numbers must not go backwards"),
        (["A", 42], "cannot read a step"),
        ([{"state": "A", "colour": "red"}], "unknown step key"),
        ([{"at": 0}], "needs a state"),
    ],
)
def test_bad_timelines(steps: list[Any], text: str) -> None:
    """A timeline that cannot be played is a ScenarioError naming the problem."""
    with pytest.raises(ScenarioError, match=text):
        Timeline(steps)


def test_a_string_is_not_a_timeline() -> None:
    """Passing one state name instead of a list is refused, not split into letters."""
    with pytest.raises(ScenarioError, match="not a string"):
        Timeline("PENDING")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"state": ""},
        {"state": "A", "at": -1.0},
        {"state": "A", "at": float("nan")},
        {"state": "A", "at": float("inf")},
        {"state": "A", "poll": 0},
        {"state": "A", "poll": True},
        {"state": "A", "at": 1.0, "poll": 2},
        {"state": "A", "message": 3},
        {"state": "A", "code": 1.5},
        {"state": "A", "result": 1},
    ],
)
def test_bad_steps(kwargs: dict[str, Any]) -> None:
    """Steps check their fields when built."""
    with pytest.raises(ScenarioError):
        Step(**kwargs)


# Faults ----------------------------------------------------------------------------------


def test_fault_matches_polls_windows_or_everything() -> None:
    """A fault fires on its polls, in its time window, or on every poll when given neither."""
    assert Fault.drop(on=2).matches(2, 0.0)
    assert not Fault.drop(on=2).matches(3, 0.0)
    assert Fault.drop(on=[1, 3]).matches(3, 0.0)
    window = Fault.drop(between=(1.0, 2.0))
    assert [window.matches(1, x) for x in (0.99, 1.0, 1.99, 2.0)] == [False, True, True, False]
    assert Fault.drop(on=2, between=(0.0, 1.0)).matches(2, 0.5)
    assert not Fault.drop(on=2, between=(0.0, 1.0)).matches(2, 1.5)
    assert Fault.hang().matches(12345, 1e9)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Fault.status(200),
        lambda: Fault.status(600),
        lambda: Fault.redirect(200),
        lambda: Fault.drop(on=0),
        lambda: Fault.drop(on=[]),
        lambda: Fault.drop(between=(2.0, 1.0)),
        lambda: Fault.drop(between=(0.0, 1.0, 2.0)),
        lambda: Fault.slow(-1.0),
        lambda: Fault.huge(-5),
        lambda: Fault.retry_after("5\r\nX-Evil: 1"),
        lambda: Fault.foreign("ftp://x"),
        lambda: Fault.foreign("http://host:1/path"),
    ],
)
def test_bad_faults(build: Any) -> None:
    """Faults check their fields when built."""
    with pytest.raises(ScenarioError):
        build()


@pytest.mark.parametrize(
    "add",
    [
        lambda s: s.add_resource(faults=[Fault.foreign()]),
        lambda s: s.add_google_operation(faults=[Fault.move()]),
        lambda s: s.add_cluster(faults=[Fault.foreign()]),
    ],
)
def test_header_faults_need_azure(scenarios: Scenarios, add: Any) -> None:
    """Foreign and move faults change polling headers, which only Azure operations send."""
    with pytest.raises(ScenarioError, match="only Azure"):
        add(scenarios)


# Conventions -----------------------------------------------------------------------------


def test_resource_wire_format(scenarios: Scenarios) -> None:
    """A generic resource answers {id, state, message} at /resources/{id}."""
    op = scenarios.add_resource(
        [Step("PENDING"), Step("FAILED", at=2.0, message="disk full")], now=10.0
    )
    assert op.url == f"{BASE}/resources/{op.id}"
    assert body(get(scenarios, op.path, 11.0)) == {"id": op.id, "state": "PENDING", "message": None}
    reply = get(scenarios, op.path, 12.0)
    assert reply.status == 200
    assert header(reply, "content-type") == "application/json"
    assert body(reply) == {"id": op.id, "state": "FAILED", "message": "disk full"}


def test_resource_default_timeline_uses_default_duration() -> None:
    """Without a timeline an operation is PENDING, then RUNNING after default_duration."""
    s = Scenarios(BASE, default_duration=3.0)
    op = s.add_resource(now=0.0)
    assert body(get(s, op.path, 2.9))["state"] == "PENDING"
    assert body(get(s, op.path, 3.0))["state"] == "RUNNING"


def test_google_wire_format(scenarios: Scenarios) -> None:
    """AIP-151: done false with metadata while running; done with response or error at the end."""
    ok = scenarios.add_google_operation(
        [Step("RUNNING", message="warming"), Step("SUCCEEDED", poll=2)],
        response={"name": "things/1"},
        now=0.0,
    )
    assert ok.path == f"/v1/operations/{ok.id}"
    first = body(get(scenarios, ok.path))
    assert first["name"] == f"operations/{ok.id}"
    assert first["done"] is False
    assert first["metadata"]["state"] == "RUNNING"
    assert first["metadata"]["statusMessage"] == "warming"
    assert "response" not in first
    assert "error" not in first
    last = body(get(scenarios, ok.path))
    assert last["done"] is True
    assert last["response"] == {"name": "things/1"}

    bad = scenarios.add_google_operation(
        [Step("RUNNING"), Step("FAILED", poll=1, code=9, message="precondition")], now=0.0
    )
    assert body(get(scenarios, bad.path))["error"] == {"code": 9, "message": "precondition"}
    cancelled = scenarios.add_google_operation([Step("CANCELLED")], now=0.0)
    assert body(get(scenarios, cancelled.path))["error"]["code"] == 1


def test_google_omit_done(scenarios: Scenarios) -> None:
    """With omit_done a running operation leaves out done, as proto3 JSON does for false."""
    op = scenarios.add_google_operation(["RUNNING"], omit_done=True, now=0.0)
    assert "done" not in body(get(scenarios, op.path))


def test_cluster_wire_format(scenarios: Scenarios) -> None:
    """A cluster answers {cluster_id, state, state_message} at clusters/get?cluster_id=."""
    op = scenarios.add_cluster([Step("PENDING"), Step("ERROR", poll=2, message="no quota")])
    assert op.url == f"{BASE}/api/2.1/clusters/get?cluster_id={op.id}"
    assert body(get(scenarios, op.path)) == {
        "cluster_id": op.id,
        "state": "PENDING",
        "state_message": "",
    }
    assert body(get(scenarios, f"/api/2.0/clusters/get?cluster_id={op.id}")) == {
        "cluster_id": op.id,
        "state": "ERROR",
        "state_message": "no quota",
    }


def test_run_wire_format(scenarios: Scenarios) -> None:
    """A run nests life_cycle_state, result_state and state_message under state."""
    op = scenarios.add_run(
        [Step("RUNNING"), Step("TERMINATED", poll=2, result="FAILED", message="x")]
    )
    assert isinstance(op.run_id, int)
    assert body(get(scenarios, op.path)) == {
        "run_id": op.run_id,
        "state": {"life_cycle_state": "RUNNING", "state_message": ""},
    }
    assert body(get(scenarios, op.path))["state"] == {
        "life_cycle_state": "TERMINATED",
        "result_state": "FAILED",
        "state_message": "x",
    }


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("/api/2.1/clusters/get", 400, "INVALID_PARAMETER_VALUE"),
        ("/api/2.1/clusters/get?cluster_id=", 400, "INVALID_PARAMETER_VALUE"),
        ("/api/2.1/clusters/get?cluster_id=nope", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("/api/2.1/jobs/runs/get?run_id=77", 404, "RESOURCE_DOES_NOT_EXIST"),
    ],
)
def test_databricks_errors(scenarios: Scenarios, target: str, status: int, code: str) -> None:
    """Databricks-style endpoints answer errors as {error_code, message}."""
    reply = get(scenarios, target)
    assert reply.status == status
    assert body(reply)["error_code"] == code


def test_azure_async_operation_flow(scenarios: Scenarios) -> None:
    """PUT answers 201 with Azure-AsyncOperation; the monitor reports status, the resource its
    provisioningState; the timeline starts at the PUT."""
    op = scenarios.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", at=1.0)], initial_retry_after="3"
    )
    assert get(scenarios, op.status_url.removeprefix(BASE)).status == 404  # not started yet
    assert get(scenarios, op.path).status == 404  # PUT creates it
    reply = scenarios.handle("PUT", op.path, [], b'{"location": "x"}', now=100.0)
    assert reply.status == 201
    assert header(reply, "Azure-AsyncOperation") == op.status_url
    assert header(reply, "Retry-After") == "3"
    assert header(reply, "Location") is None
    assert body(reply)["properties"] == {"provisioningState": "InProgress"}
    status_path = op.status_url.removeprefix(BASE)
    assert body(get(scenarios, status_path, 100.5))["status"] == "InProgress"
    assert body(get(scenarios, status_path, 101.0)) == {
        "id": status_path,
        "name": op.id,
        "status": "Succeeded",
    }
    assert body(get(scenarios, op.path, 101.0))["properties"]["provisioningState"] == "Succeeded"
    assert op.polls == 3


def test_azure_operation_location_with_resource_location(scenarios: Scenarios) -> None:
    """Operation-Location polling ends with resourceLocation when scripted."""
    op = scenarios.add_azure_operation(
        ["Running", Step("Succeeded", poll=1)],
        method="PATCH",
        headers=["Operation-Location"],
        resource_location=True,
    )
    reply = scenarios.handle("PATCH", op.path, [], b"{}", now=0.0)
    assert reply.status == 202
    assert header(reply, "Operation-Location") == op.status_url
    done = body(get(scenarios, op.status_url.removeprefix(BASE)))
    assert done["resourceLocation"] == op.url


def test_azure_location_flow_and_delete(scenarios: Scenarios) -> None:
    """Location polling answers 202 with Location until the end, then 204 for a DELETE."""
    op = scenarios.add_azure_operation(["Deleting", Step("Succeeded", poll=2)], method="DELETE")
    assert get(scenarios, op.path).status == 200  # the resource exists before the DELETE
    reply = scenarios.handle("DELETE", op.path, [], b"", now=0.0)
    assert reply.status == 202
    assert reply.body == b""
    assert header(reply, "Location") == op.location_url
    location = op.location_url.removeprefix(BASE)
    first = get(scenarios, location)
    assert first.status == 202
    assert header(first, "Location") == op.location_url
    assert get(scenarios, location).status == 204
    assert get(scenarios, op.path).status == 404


def test_azure_post_location_returns_response(scenarios: Scenarios) -> None:
    """A POST action's Location URL ends with the scripted response body."""
    op = scenarios.add_azure_operation(
        ["InProgress", Step("Succeeded", poll=1)], method="POST", response={"output": 42}
    )
    scenarios.handle("POST", op.path, [], b"", now=0.0)
    final = get(scenarios, op.location_url.removeprefix(BASE))
    assert (final.status, body(final)) == (200, {"output": 42})


@pytest.mark.parametrize("spelling", ["Failed", "failed", "Canceled", "Cancelled", "CANCELLED"])
def test_azure_failure_status_and_body(scenarios: Scenarios, spelling: str) -> None:
    """A failed operation shows its error on the monitor and on the Location URL."""
    op = scenarios.add_azure_operation(
        ["InProgress", Step(spelling, poll=1, code="Quota", message="no cores")],
        headers=["Azure-AsyncOperation", "Location"],
    )
    scenarios.handle("PUT", op.path, [], b"", now=0.0)
    monitor = body(get(scenarios, op.status_url.removeprefix(BASE)))
    assert monitor["status"] == spelling
    assert monitor["error"] == {"code": "Quota", "message": "no cores"}
    final = get(scenarios, op.location_url.removeprefix(BASE))
    assert final.status == 400
    assert body(final) == {"error": {"code": "Quota", "message": "no cores"}}


def test_azure_failure_only_in_a_200_body(scenarios: Scenarios) -> None:
    """failure_in_body makes the Location URL answer 200 with {status: Failed, error}."""
    op = scenarios.add_azure_operation(
        ["InProgress", Step("Failed", poll=1, message="boom")], method="POST", failure_in_body=True
    )
    scenarios.handle("POST", op.path, [], b"", now=0.0)
    final = get(scenarios, op.location_url.removeprefix(BASE))
    assert final.status == 200
    assert body(final) == {"status": "Failed", "error": {"code": "Failed", "message": "boom"}}


def test_azure_provisioning_state_only(scenarios: Scenarios) -> None:
    """With no polling header, PUT answers 201 with the body and the resource is polled."""
    op = scenarios.add_azure_operation(["Creating", Step("Succeeded", poll=2)], headers=[])
    reply = scenarios.handle("PUT", op.path, [], b"{}", now=0.0)
    assert reply.status == 201
    assert not any(k in {"Location", "Azure-AsyncOperation"} for k, _ in reply.headers)
    states = [body(get(scenarios, op.path))["properties"]["provisioningState"] for _ in range(2)]
    assert states == ["Creating", "Succeeded"]


def test_azure_relative_urls_and_wrong_method(scenarios: Scenarios) -> None:
    """relative_urls sends header URLs as paths; another method on the resource is a 405."""
    op = scenarios.add_azure_operation(relative_urls=True, headers=["Location"])
    reply = scenarios.handle("PUT", op.path, [], b"", now=0.0)
    assert header(reply, "Location") == "/azure/operationResults/" + op.id
    assert scenarios.handle("PATCH", op.path, [], b"", now=0.0).status == 405


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "GET"},
        {"headers": ["Retry-After"]},
        {"initial_status": 500},
        {"failure_status": 200},
        {"path": "relative/path"},
    ],
)
def test_bad_azure_options(scenarios: Scenarios, kwargs: dict[str, Any]) -> None:
    """Azure options are checked when the operation is added."""
    with pytest.raises(ScenarioError):
        scenarios.add_azure_operation(**kwargs)


# Faults on polls ----------------------------------------------------------------------------


def test_status_fault_uses_the_convention_error_body(scenarios: Scenarios) -> None:
    """A status fault answers the code, the convention's error body and the Retry-After given."""
    google = scenarios.add_google_operation(faults=[Fault.status(429, retry_after="/bar")])
    reply = get(scenarios, google.path)
    assert reply.status == 429
    assert header(reply, "Retry-After") == "/bar"
    assert body(reply)["error"]["status"] == "RESOURCE_EXHAUSTED"
    cluster = scenarios.add_cluster(faults=[Fault.status(503)])
    assert body(get(scenarios, cluster.path))["error_code"] == "TEMPORARILY_UNAVAILABLE"
    azure = scenarios.add_azure_operation(faults=[Fault.status(500)])
    scenarios.handle("PUT", azure.path, [], b"", now=0.0)
    failed = get(scenarios, azure.status_url.removeprefix(BASE))
    assert body(failed)["error"]["code"] == "InternalServerError"
    assert header(failed, "Retry-After") is None


def test_retry_after_fault_on_a_normal_answer(scenarios: Scenarios) -> None:
    """A retry_after fault adds the header to the normal answer, replacing any other."""
    op = scenarios.add_azure_operation(
        method="POST", faults=[Fault.retry_after("99999999999", on=1)]
    )
    scenarios.handle("POST", op.path, [], b"", now=0.0)
    reply = get(scenarios, op.location_url.removeprefix(BASE))
    assert reply.status == 202
    assert [v for k, v in reply.headers if k == "Retry-After"] == ["99999999999"]


def test_action_faults(scenarios: Scenarios) -> None:
    """Drop, hang, reset and slow faults tell the socket layer what to do."""
    op = scenarios.add_resource(
        faults=[Fault.drop(on=1), Fault.hang(on=2), Fault.reset(on=3), Fault.slow(0.25, on=4)]
    )
    replies = [get(scenarios, op.path) for _ in range(5)]
    assert [r.action for r in replies] == [
        Action.DROP,
        Action.HANG,
        Action.RESET,
        Action.ANSWER,
        Action.ANSWER,
    ]
    assert replies[2].body
    assert (replies[3].delay, replies[4].delay) == (0.25, 0.0)


def test_body_faults(scenarios: Scenarios) -> None:
    """Malformed and truncated bodies are not JSON; a huge body is JSON of the size asked."""
    op = scenarios.add_resource(
        faults=[Fault.malformed(on=1), Fault.truncated(on=2), Fault.huge(100_000, on=3)]
    )
    for _ in range(2):
        reply = get(scenarios, op.path)
        assert reply.status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(reply.body)
    huge = get(scenarios, op.path)
    assert len(huge.body) == 100_000
    assert body(huge)["id"] == op.id


def test_first_matching_fault_wins(scenarios: Scenarios) -> None:
    """When faults overlap, the first one listed applies."""
    op = scenarios.add_resource(faults=[Fault.status(500, on=1), Fault.status(503)])
    assert [get(scenarios, op.path).status for _ in range(3)] == [500, 503, 503]


def test_faults_by_time_window(scenarios: Scenarios) -> None:
    """A fault window counts seconds since the operation was created."""
    op = scenarios.add_resource(faults=[Fault.status(503, between=(1.0, 2.0))], now=5.0)
    assert [get(scenarios, op.path, t).status for t in (5.5, 6.0, 6.9, 7.0)] == [200, 503, 503, 200]


def test_foreign_fault_points_elsewhere(scenarios: Scenarios) -> None:
    """A foreign fault points the polling headers at 127.0.0.2 on the same port by default."""
    op = scenarios.add_azure_operation(
        headers=["Operation-Location", "Location"],
        faults=[Fault.foreign(on=1), Fault.foreign("https://evil.example:444", on=2)],
    )
    scenarios.handle("PUT", op.path, [], b"", now=0.0)
    reply = get(scenarios, op.status_url.removeprefix(BASE))
    assert header(reply, "Operation-Location") == (
        "http://127.0.0.2:8123/azure/operations/" + op.id
    )
    assert header(reply, "Location") == "http://127.0.0.2:8123/azure/operationResults/" + op.id
    again = get(scenarios, op.status_url.removeprefix(BASE))
    assert (
        header(again, "Operation-Location") == f"https://evil.example:444/azure/operations/{op.id}"
    )


def test_move_fault_changes_the_polling_url(scenarios: Scenarios) -> None:
    """After a move the new URL serves the operation and the old one answers 404."""
    op = scenarios.add_azure_operation(
        ["InProgress", Step("Succeeded", poll=3)], method="DELETE", faults=[Fault.move(on=1)]
    )
    scenarios.handle("DELETE", op.path, [], b"", now=0.0)
    old = op.location_url.removeprefix(BASE)
    moved = get(scenarios, old)
    new = header(moved, "Location")
    assert moved.status == 202
    assert new is not None
    assert new != BASE + old
    assert new == op.location_url
    assert get(scenarios, old).status == 404
    assert get(scenarios, new.removeprefix(BASE)).status == 202
    assert get(scenarios, new.removeprefix(BASE)).status == 204


def test_redirect_fault_serves_the_same_operation(scenarios: Scenarios) -> None:
    """A redirect points to an alias that answers for the same operation (and counts a poll)."""
    op = scenarios.add_cluster(["PENDING", Step("RUNNING", poll=2)], faults=[Fault.redirect(on=1)])
    reply = get(scenarios, op.path)
    assert reply.status == 307
    location = header(reply, "Location")
    assert location is not None
    assert location.startswith(BASE + "/_tarry/r/")
    followed = get(scenarios, location.removeprefix(BASE))
    assert body(followed)["state"] == "RUNNING"
    assert op.polls == 2


# Creating over HTTP, the admin endpoint and the request log ---------------------------------


def test_create_endpoints(scenarios: Scenarios) -> None:
    """Each convention's create call answers in its own format and registers the operation."""
    cluster = scenarios.handle("POST", "/api/2.1/clusters/create", [], b'{"cluster_name": "a"}')
    cluster_id = body(cluster)["cluster_id"]
    assert body(get(scenarios, f"/api/2.1/clusters/get?cluster_id={cluster_id}"))["state"] == (
        "PENDING"
    )
    run = scenarios.handle("POST", "/api/2.1/jobs/runs/submit", [], b"{}")
    assert isinstance(body(run)["run_id"], int)
    resource = scenarios.handle("POST", "/resources", [], b"")
    assert resource.status == 201
    assert header(resource, "Location") == f"{BASE}/resources/{body(resource)['id']}"
    google = scenarios.handle("POST", "/v1/projects/p/instances", [], b"{}")
    assert body(google)["done"] is False
    azure = scenarios.handle("PUT", "/subscriptions/s/rg/things/t1", [], b'{"location": "w"}')
    assert azure.status == 201
    assert header(azure, "Azure-AsyncOperation") is not None
    assert len(scenarios.operations) == 5


def test_create_call_carries_a_scenario(scenarios: Scenarios) -> None:
    """A "tarry" member in a create call's body scripts the operation it creates."""
    script = {
        "cluster_name": "demo",
        "tarry": {
            "timeline": [{"state": "PENDING"}, {"state": "ERROR", "poll": 2, "message": "quota"}],
            "faults": [{"kind": "status", "code": 429, "retry_after": "1", "on": [1]}],
        },
    }
    created = scenarios.handle("POST", "/api/2.1/clusters/create", [], json.dumps(script).encode())
    target = f"/api/2.1/clusters/get?cluster_id={body(created)['cluster_id']}"
    first = get(scenarios, target)
    assert (first.status, header(first, "Retry-After")) == (429, "1")
    assert body(get(scenarios, target))["state_message"] == "quota"


def test_admin_endpoint(scenarios: Scenarios) -> None:
    """POST /_tarry/operations scripts any convention; GET lists operations and requests."""
    script: dict[str, Any] = {
        "convention": "azure",
        "method": "POST",
        "headers": ["Location"],
        "initial_retry_after": "10",
        "timeline": [["0", "InProgress"]],
    }
    bad = scenarios.handle("POST", "/_tarry/operations", [], json.dumps(script).encode())
    assert bad.status == 400
    assert "step time" in body(bad)["error"]["message"]
    script["timeline"] = [[0, "InProgress"], [0.5, "Succeeded"]]
    made = scenarios.handle("POST", "/_tarry/operations", [], json.dumps(script).encode())
    assert made.status == 201
    described = body(made)
    assert described["convention"] == "azure"
    assert set(described["urls"]) == {"resource", "status", "location"}
    listed = body(get(scenarios, "/_tarry/operations"))
    assert [o["id"] for o in listed] == [described["id"]]
    log = body(get(scenarios, "/_tarry/requests"))
    assert [r["target"] for r in log] == ["/_tarry/operations"] * 3


@pytest.mark.parametrize(
    ("script", "text"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"convention": "aws"}', "unknown convention"),
        (b'{"convention": "run", "id": "x"}', "unknown run option"),
        (b'{"timeline": "RUNNING"}', "timeline must be a list"),
        (b'{"faults": {}}', "faults must be a list"),
        (b'{"faults": [{"kind": "drop", "when": 1}]}', "unknown fault key"),
        (b'{"faults": [{"kind": "status", "code": "503"}]}', "code must be an integer"),
        (b'{"faults": [3]}', "must be a JSON object"),
    ],
)
def test_admin_errors(scenarios: Scenarios, script: bytes, text: str) -> None:
    """A bad script gets a 400 that says what is wrong."""
    reply = scenarios.handle("POST", "/_tarry/operations", [], script)
    assert reply.status == 400
    assert text in body(reply)["error"]["message"]


def test_request_log(scenarios: Scenarios) -> None:
    """Every request is recorded with its headers, body, time, operation and poll number."""
    op = scenarios.add_resource()
    scenarios.handle("GET", op.path + "?x=1", [("Authorization", "Bearer t")], b"", now=1.0)
    scenarios.handle("DELETE", op.path, [], b"payload", now=2.0)
    scenarios.handle("GET", "/nowhere", [], b"", now=3.0)
    log = scenarios.requests
    assert [(r.method, r.path, r.poll, r.time) for r in log] == [
        ("GET", op.path, 1, 1.0),
        ("DELETE", op.path, None, 2.0),
        ("GET", "/nowhere", None, 3.0),
    ]
    assert log[0].query == {"x": ["1"]}
    assert log[0].header("authorization") == "Bearer t"
    assert log[1].body == b"payload"
    assert [r.operation for r in log] == [op.id, op.id, None]
    assert len(op.requests) == 2
    scenarios.clear_requests()
    assert scenarios.requests == []
    assert len(op.requests) == 2


def test_duplicate_ids_are_refused(scenarios: Scenarios) -> None:
    """Two operations cannot share an id."""
    scenarios.add_cluster(id="c1")
    with pytest.raises(ScenarioError, match="exists already"):
        scenarios.add_cluster(id="c1")


def test_fault_kind_names_are_the_json_names() -> None:
    """Every fault kind can be scripted in JSON by its value."""
    s = Scenarios(BASE)
    for kind in FaultKind:
        extra: dict[str, Any] = (
            {"origin": "http://127.0.0.1:1"} if kind is FaultKind.FOREIGN else {}
        )
        op = s.add_from_json({"convention": "azure", "faults": [{"kind": kind.value, **extra}]})
        assert op.faults[0].kind is kind


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW"]),
    target=st.one_of(
        st.text(max_size=60).map(lambda t: "/" + t),
        st.sampled_from(
            [
                "/resources/res-1",
                "/api/2.1/clusters/get?cluster_id=%00",
                "/api/2.1/jobs/runs/get?run_id=abc",
                "/_tarry/operations",
                "/_tarry/r/999",
                "/subscriptions/x",
                "/v1/operations/op-1",
                "/v1/x",
            ]
        ),
    ),
    payload=st.one_of(st.binary(max_size=80), st.sampled_from([b'{"tarry": 1}', b"[]", b"{}"])),
)
def test_handle_never_raises(method: str, target: str, payload: bytes) -> None:
    """Whatever arrives, the handler answers with a valid status instead of raising."""
    s = Scenarios(BASE)
    s.add_resource(id="res-1")
    reply = s.handle(method, target, [], payload, now=0.0)
    assert 200 <= reply.status <= 599
    assert len(s.requests) == 1


def test_fault_limited_to_one_url(scenarios: Scenarios) -> None:
    """A fault with a role fires only on that URL; poll numbers count every poll."""
    op = scenarios.add_azure_operation(
        ["InProgress", Step("Succeeded", poll=1)],
        headers=["Azure-AsyncOperation"],
        faults=[Fault.status(404, role="resource")],
    )
    scenarios.handle("PUT", op.path, [], b"", now=0.0)
    assert get(scenarios, op.status_url.removeprefix(BASE)).status == 200
    final = get(scenarios, op.path)
    assert final.status == 404
    assert final.body != b""
    assert [r.poll for r in op.requests] == [None, 1, 2]
    with pytest.raises(ScenarioError, match="role"):
        Fault.drop(role="elsewhere")


def test_polling_origin_from_the_first_answer(scenarios: Scenarios) -> None:
    """polling_origin puts every URL an Azure operation hands out on another origin."""
    op = scenarios.add_azure_operation(
        ["InProgress", Step("Succeeded", poll=1)],
        headers=["Operation-Location", "Location"],
        resource_location=True,
        polling_origin="http://127.0.0.1:9",
    )
    reply = scenarios.handle("PUT", op.path, [], b"", now=0.0)
    assert header(reply, "Operation-Location") == f"http://127.0.0.1:9/azure/operations/{op.id}"
    assert header(reply, "Location") == f"http://127.0.0.1:9/azure/operationResults/{op.id}"
    done = body(get(scenarios, f"/azure/operations/{op.id}"))
    assert done["resourceLocation"] == "http://127.0.0.1:9" + op.path
    with pytest.raises(ScenarioError, match="origin"):
        scenarios.add_azure_operation(polling_origin="127.0.0.1:9")


def test_cookie_required_once_set(scenarios: Scenarios) -> None:
    """An operation with a cookie sets it on every answer and refuses polls without it."""
    op = scenarios.add_resource(["RUNNING"], cookie="session=abc")
    first = get(scenarios, op.path)
    assert header(first, "Set-Cookie") == "session=abc; Path=/"
    assert get(scenarios, op.path).status == 401
    with_cookie = scenarios.handle(
        "GET", op.path, [("cookie", "other=1; session=abc")], b"", now=0.0
    )
    assert with_cookie.status == 200
    made = scenarios.handle(
        "POST", "/api/2.1/clusters/create", [], b'{"tarry": {"cookie": "k=v"}}', now=0.0
    )
    assert header(made, "Set-Cookie") == "k=v; Path=/"


@pytest.mark.parametrize("cookie", ["", "novalue=", "=x", "a=b; c=d", "a b=c", "a=b\r\n"])
def test_bad_cookies(scenarios: Scenarios, cookie: str) -> None:
    """A cookie must be one name=value pair."""
    with pytest.raises(ScenarioError, match="cookie"):
        scenarios.add_cluster(cookie=cookie)
