"""The conventions as pure readers: bodies and headers in, readings and decisions out."""

from __future__ import annotations

from typing import Any

import pytest

from tarry import Machine, Policy, Succeed
from tarry._spec import Outcome
from tarry.http import Reading, Reply, server_message
from tarry.http._azure import Strategy, azure_spec, final_url, moved_to, plan, read_azure
from tarry.http._body import get_path, split_path
from tarry.http._conventions import (
    ShapeError,
    databricks_spec,
    google_name,
    google_spec,
    read_databricks,
    read_google,
    read_resource,
    resource_spec,
)
from tarry.http._origin import resolve
from tarry.http._reply import reading_of, remember

URL = "https://mgmt.example/subs/1/vm?api-version=2"


def entity(reading: Reading, body: Any = None) -> Reply:
    return Reply(body, 200, {}, "https://x.example/", reading)


# -- paths and messages ------------------------------------------------------------------


def test_paths() -> None:
    """Dotted paths and tuples reach into objects and lists; missing parts give None."""
    body = {"status": {"phase": "Ready"}, "items": [{"s": "A"}, {"s": "B"}]}
    assert get_path(body, split_path("status.phase")) == "Ready"
    assert get_path(body, ("items", 1, "s")) == "B"
    assert get_path(body, split_path("items.0.s")) == "A"
    assert get_path(body, ("items", 5, "s")) is None
    assert get_path(body, split_path("status.phase.deeper")) is None
    assert get_path([1], ("x",)) is None


@pytest.mark.parametrize("path", ["", "a..b", ".a"])
def test_bad_paths(path: str) -> None:
    """Empty path parts are refused up front."""
    with pytest.raises(ValueError, match="non-empty parts"):
        split_path(path)


def test_bad_path_types() -> None:
    """Paths are strings or tuples of keys and indexes."""
    with pytest.raises(TypeError):
        split_path(())
    with pytest.raises(TypeError):
        split_path(("a", 1.5))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"code": "Conflict", "message": "busy"}}, "Conflict: busy"),
        ({"error": {"code": 5, "status": "NOT_FOUND", "message": "gone"}}, "NOT_FOUND: gone"),
        ({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"}, "RESOURCE_DOES_NOT_EXIST: no"),
        ({"error": "invalid_grant", "error_description": "expired"}, "invalid_grant: expired"),
        ({"error": "plain"}, "plain"),
        ({"message": "  spaced\n out  "}, "spaced out"),
        ({"detail": "from detail"}, "from detail"),
        ({"title": "from title"}, "from title"),
        ({"other": 1}, None),
        ([1, 2], None),
    ],
)
def test_server_message(body: object, message: str | None) -> None:
    """Error messages are found in the shapes cloud APIs use."""
    assert server_message(body) == message


def test_server_message_is_bounded() -> None:
    """A huge message is cut."""
    found = server_message({"message": "x" * 5000})
    assert found is not None
    assert len(found) <= 1000


# -- generic resource ---------------------------------------------------------------------


def test_resource_reading() -> None:
    """State and message come from their paths."""
    body = {"status": {"phase": "Pending", "reason": "queued"}}
    reading = read_resource(body, ("status", "phase"), ("status", "reason"))
    assert reading == Reading("Pending", "queued")
    assert read_resource({}, ("state",)) == Reading(None, None)


def test_resource_state_must_be_scalar() -> None:
    """An object where the state should be is a shape error naming the path."""
    with pytest.raises(ShapeError, match=r"status\.phase is a JSON object"):
        read_resource({"status": {"phase": {"x": 1}}}, ("status", "phase"))


def test_resource_spec_judges_readings() -> None:
    """The spec reads the reading, not the body."""
    spec = resource_spec("thing", {"Ready"}, {"Broken"}, pending={"Pending"})
    assert spec.judge(entity(Reading("Ready")), "Ready") is Outcome.SUCCEEDED
    assert spec.judge(entity(Reading("Broken")), "Broken") is Outcome.FAILED
    assert spec.judge(entity(Reading("Deleted")), "Deleted") is Outcome.UNEXPECTED
    assert spec.read_retry_after(entity(Reading("Pending", retry_after=4.0))) == 4.0


def test_reading_of_parsed_objects() -> None:
    """A parsed object is read through the reading remembered for it, by identity only."""
    mine = {"anything": True}
    remember(mine, Reading("Ready"))
    assert reading_of(mine).state == "Ready"
    with pytest.raises(ValueError, match="only the entity its own poll just returned"):
        reading_of({"anything": True})


# -- Google -------------------------------------------------------------------------------


def test_google_running_done_error() -> None:
    """done=false is RUNNING; done without error is DONE; error gives its code name."""
    assert read_google({"name": "operations/1"}) == Reading("RUNNING")
    assert read_google({"name": "o", "done": False, "metadata": {"p": 1}}).state == "RUNNING"
    assert read_google({"done": True, "response": {"id": 1}}) == Reading("DONE")
    failed = read_google({"done": True, "error": {"code": 9, "message": "quota"}})
    assert failed == Reading("ERROR", "FAILED_PRECONDITION: quota")
    odd = read_google({"done": True, "error": {"code": 99}})
    assert odd == Reading("ERROR", "99: no message")


@pytest.mark.parametrize("body", [[], {"done": "yes"}, {"done": True, "error": "bad"}, "text"])
def test_google_shape_errors(body: object) -> None:
    """Operations of the wrong shape are shape errors, not successes."""
    with pytest.raises(ShapeError):
        read_google(body)


def test_google_name() -> None:
    """The name is required to poll."""
    assert google_name({"name": " operations/7 "}) == "operations/7"
    with pytest.raises(ShapeError, match="no 'name'"):
        google_name({"done": False})


def test_google_spec_fails_at_once_on_unknown_state() -> None:
    """Only RUNNING means still going."""
    spec = google_spec("op")
    assert spec.judge(entity(Reading("DONE")), "DONE") is Outcome.SUCCEEDED
    assert spec.judge(entity(Reading("ERROR")), "ERROR") is Outcome.FAILED
    assert spec.judge(entity(Reading("RUNNING")), "RUNNING") is Outcome.STILL_GOING


# -- Databricks-style ----------------------------------------------------------------------


def test_databricks_cluster_and_run_shapes() -> None:
    """A cluster has a string state; a run has a state object; both give a message."""
    cluster = {"cluster_id": "c1", "state": "PENDING", "state_message": "Finding instances"}
    assert read_databricks(cluster) == Reading("PENDING", "Finding instances")
    run = {
        "run_id": 7,
        "state": {
            "life_cycle_state": "TERMINATED",
            "result_state": "FAILED",
            "state_message": "Task x failed",
        },
    }
    assert read_databricks(run) == Reading("TERMINATED", "Task x failed", "FAILED")
    flat = {"life_cycle_state": "RUNNING", "state_message": ""}
    assert read_databricks(flat) == Reading("RUNNING", None)
    with pytest.raises(ShapeError):
        read_databricks([])


def test_databricks_result_state_turns_terminated_into_failure() -> None:
    """TERMINATED succeeds with SUCCESS (or no result) and fails with anything else."""
    spec = databricks_spec("run", {"TERMINATED", "SKIPPED"}, {"INTERNAL_ERROR"})
    ok = entity(Reading("TERMINATED", "done", "SUCCESS"))
    bad = entity(Reading("TERMINATED", "Task x failed", "FAILED"))
    assert spec.judge(ok, "TERMINATED") is Outcome.SUCCEEDED
    assert spec.judge(entity(Reading("SKIPPED")), "SKIPPED") is Outcome.SUCCEEDED
    assert spec.judge(bad, "TERMINATED") is Outcome.FAILED
    assert spec.read_message(bad) == "result FAILED: Task x failed"
    assert spec.read_message(entity(Reading("TERMINATED", None, "TIMEDOUT"))) == "result TIMEDOUT"
    assert spec.judge(entity(Reading("RUNNING")), "RUNNING") is Outcome.STILL_GOING
    assert spec.goal == "SKIPPED or TERMINATED"


def test_databricks_failure_message_through_the_core() -> None:
    """The core's failure text names the state, the result and the message (C14)."""
    spec = databricks_spec("run", {"TERMINATED"}, {"INTERNAL_ERROR"})
    machine: Machine[Reply] = Machine(spec, Policy(timeout=10))
    machine.start(0.0)
    action = machine.polled(entity(Reading("TERMINATED", "Task x failed", "FAILED")), 1.0)
    assert not isinstance(action, Succeed)
    text = str(action.exception())  # type: ignore[union-attr]
    assert text == "run failed to reach TERMINATED, got TERMINATED: result FAILED: Task x failed"


def test_databricks_spec_arguments() -> None:
    """Strings and empty success sets are refused."""
    with pytest.raises(TypeError):
        databricks_spec("run", "TERMINATED")
    with pytest.raises(ValueError, match="at least one"):
        databricks_spec("run", set())
    spec = databricks_spec("c", {"RUNNING"}, {"ERROR"}, pending={"PENDING"})
    assert spec.judge(entity(Reading("DELETED")), "DELETED") is Outcome.UNEXPECTED


# -- Azure ----------------------------------------------------------------------------------


def azure_plan(
    method: str, status: int, headers: dict[str, str], body: object = None, via: str | None = None
) -> Any:
    return plan(method, URL, status, headers, body, via, resolve)


def test_azure_strategy_order() -> None:
    """Azure-AsyncOperation beats Operation-Location beats Location beats the body."""
    both = {"azure-asyncoperation": "/a", "operation-location": "/b", "location": "/c"}
    chosen = azure_plan("PUT", 201, both)
    assert chosen.strategy is Strategy.ASYNC_OPERATION
    assert chosen.poll_url == "https://mgmt.example/a"
    assert chosen.location_url == "https://mgmt.example/c"
    assert azure_plan("POST", 202, {"operation-location": "/b", "location": "/c"}).strategy is (
        Strategy.OPERATION_LOCATION
    )
    assert azure_plan("DELETE", 202, {"location": "/c"}).strategy is Strategy.LOCATION
    body = {"properties": {"provisioningState": "Creating"}}
    by_body = azure_plan("PUT", 201, {}, body)
    assert by_body.strategy is Strategy.BODY
    assert by_body.poll_url == URL


def test_azure_already_done() -> None:
    """A terminal provisioningState or a plain 200/204 ends the operation at once."""
    done = azure_plan("PUT", 200, {}, {"properties": {"provisioningState": "Succeeded"}})
    assert done.strategy is Strategy.DONE
    assert azure_plan("DELETE", 204, {}).strategy is Strategy.DONE
    assert azure_plan("PUT", 201, {}).strategy is Strategy.BODY  # created, state unknown


def test_azure_plan_errors() -> None:
    """A 202 with nowhere to poll, a GET, or a bad final_state_via are clear errors."""
    with pytest.raises(ShapeError, match="202 with no"):
        azure_plan("POST", 202, {})
    with pytest.raises(ValueError, match="PUT, PATCH, POST or DELETE"):
        azure_plan("GET", 200, {})
    with pytest.raises(ValueError, match="final_state_via"):
        azure_plan("PUT", 201, {"location": "/c"}, via="somewhere")
    with pytest.raises(ShapeError, match="provisioningState must be a string"):
        azure_plan("PUT", 200, {}, {"properties": {"provisioningState": 3}})


@pytest.mark.parametrize("status", ["Succeeded", "succeeded", "SUCCEEDED"])
def test_azure_success_any_case(status: str) -> None:
    """Succeeded in any case succeeds (C15)."""
    spec = azure_spec("op")
    assert spec.judge(entity(Reading(status)), status) is Outcome.SUCCEEDED


@pytest.mark.parametrize(
    "status", ["Failed", "failed", "Canceled", "canceled", "Cancelled", "CANCELLED"]
)
def test_azure_failure_any_case_both_spellings(status: str) -> None:
    """Failed, Canceled and Cancelled in any case fail (C15)."""
    spec = azure_spec("op")
    assert spec.judge(entity(Reading(status)), status) is Outcome.FAILED


def test_azure_other_statuses_are_still_going() -> None:
    """Anything else (InProgress, Accepted, Updating...) means still going."""
    spec = azure_spec("op")
    for status in ("InProgress", "Accepted", "Updating", "Running"):
        assert spec.judge(entity(Reading(status)), status) is Outcome.STILL_GOING


def test_azure_status_monitor_reading() -> None:
    """A status monitor's status and error message are read; a missing status is an error."""
    failed = read_azure(
        Strategy.ASYNC_OPERATION,
        200,
        {"status": "Failed", "error": {"code": "Quota", "message": "no cores"}},
    )
    assert failed == Reading("Failed", "Quota: no cores")
    with pytest.raises(ShapeError, match="no 'status'"):
        read_azure(Strategy.OPERATION_LOCATION, 200, {"state": "x"})
    with pytest.raises(ShapeError, match="JSON object"):
        read_azure(Strategy.OPERATION_LOCATION, 200, None)


def test_azure_location_reading_sees_failures_in_the_body() -> None:
    """Location polling: 202 is in progress; a 200 is success unless its body says failed."""
    assert read_azure(Strategy.LOCATION, 202, None).state == "InProgress"
    assert read_azure(Strategy.LOCATION, 200, {"id": 1}).state == "Succeeded"
    assert read_azure(Strategy.LOCATION, 204, None).state == "Succeeded"
    failed = read_azure(Strategy.LOCATION, 200, {"status": "Failed", "error": {"message": "x"}})
    assert failed == Reading("Failed", "x")
    state = read_azure(Strategy.LOCATION, 200, {"properties": {"provisioningState": "Canceled"}})
    assert state.state == "Canceled"


def test_azure_body_reading() -> None:
    """Body polling reads provisioningState, or the status code when there is none."""
    assert read_azure(
        Strategy.BODY, 200, {"properties": {"provisioningState": "Updating"}}
    ).state == ("Updating")
    assert read_azure(Strategy.BODY, 202, {}).state == "InProgress"
    assert read_azure(Strategy.BODY, 200, {}).state == "Succeeded"


def test_azure_moved_monitor() -> None:
    """A poll response carrying the strategy's header moves the monitor."""
    assert moved_to(Strategy.ASYNC_OPERATION, {"azure-asyncoperation": " /new "}) == "/new"
    assert moved_to(Strategy.ASYNC_OPERATION, {"location": "/new"}) is None
    assert moved_to(Strategy.BODY, {"location": "/new"}) is None


@pytest.mark.parametrize(
    ("method", "headers", "via", "body", "expected"),
    [
        ("PUT", {"azure-asyncoperation": "/a", "location": "/c"}, None, {}, URL),
        ("PATCH", {"operation-location": "/a"}, None, {}, URL),
        (
            "POST",
            {"azure-asyncoperation": "/a", "location": "/c"},
            None,
            {},
            "https://mgmt.example/c",
        ),
        ("POST", {"azure-asyncoperation": "/a"}, None, {"resourceLocation": "/r"}, None),
        (
            "POST",
            {"operation-location": "/ops/a"},
            None,
            {"resourceLocation": "/r"},
            "https://mgmt.example/r",
        ),
        ("POST", {"operation-location": "/a", "location": "/c"}, "operation-location", {}, None),
        (
            "POST",
            {"azure-asyncoperation": "/a", "location": "/c"},
            "azure-async-operation",
            {},
            None,
        ),
        (
            "PUT",
            {"azure-asyncoperation": "/a", "location": "/c"},
            "location",
            {},
            "https://mgmt.example/c",
        ),
        ("POST", {"azure-asyncoperation": "/a"}, "original-uri", {}, URL),
        ("DELETE", {"azure-asyncoperation": "/a"}, None, {}, None),
        ("PUT", {"location": "/c"}, None, {}, None),
    ],
)
def test_azure_final_url(
    method: str, headers: dict[str, str], via: str | None, body: object, expected: str | None
) -> None:
    """The result is fetched from where the operation (or final_state_via) says."""
    chosen = azure_plan(method, 202, headers, None, via)
    assert final_url(chosen, body, resolve) == expected
