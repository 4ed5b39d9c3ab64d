"""tarry.http against the embedded operations server, over real loopback sockets.

Every convention runs through the three drivers (sync, asyncio, trio) with small real
delays; faults come from the server's own fault injection. Timelines advance by poll
number rather than by time, so a slow, loaded machine changes nothing but the duration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

import tarry.http as th
from tarry import Constant, OperationFailed, OperationTimedOut, Policy
from tarry.testing import Fault, OperationsServer, Step

DRIVERS = ["sync", "asyncio", "trio"]
FAST = Policy(backoff=Constant(0.05), request_floor=0.2)
TOKEN = "Bearer it-s3cret"

Builders = tuple[Callable[..., Any], Callable[..., Any]]
RESOURCE: Builders = (th.resource_wait, th.async_resource_wait)
DATABRICKS: Builders = (th.databricks_wait, th.async_databricks_wait)
GOOGLE: Builders = (th.google_operation, th.async_google_operation)
AZURE: Builders = (th.azure_operation, th.async_azure_operation)


@pytest.fixture
def server() -> Iterator[OperationsServer]:
    with OperationsServer() as running:
        yield running


def drive(
    driver: str,
    builders: Builders,
    target: str,
    *,
    start: str | None = None,
    timeout: float = 10.0,
    client_options: dict[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Build and run one wait with ``driver``. With ``start`` (a method), the builder gets
    the response to ``start target``; otherwise it polls ``target`` itself."""
    options.setdefault("policy", FAST)
    client_options = {"headers": {"Authorization": TOKEN}, **(client_options or {})}
    if driver == "sync":
        with httpx.Client(**client_options) as client:
            if start is None:
                return builders[0](client, target, **options).result(timeout=timeout)
            initial = client.request(start, target)
            return builders[0](client, initial, **options).result(timeout=timeout)

    async def main() -> Any:
        async with httpx.AsyncClient(**client_options) as client:
            if start is None:
                return await builders[1](client, target, **options).result(timeout=timeout)
            initial = await client.request(start, target)
            return await builders[1](client, initial, **options).result(timeout=timeout)

    return anyio.run(main, backend=driver)


@dataclass(frozen=True)
class ClusterInfo:
    cluster_id: str
    state: str

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ClusterInfo:
        return cls(body["cluster_id"], body["state"])


@pytest.mark.parametrize("driver", DRIVERS)
def test_resource_rides_out_faults(server: OperationsServer, driver: str) -> None:
    """A generic resource reaches RUNNING through a 503, a dropped connection and a reset."""
    op = server.add_resource(
        [Step("PENDING", message="queued"), Step("RUNNING", poll=5)],
        faults=[Fault.status(503, on=2), Fault.drop(on=3), Fault.reset(on=4)],
    )
    done = drive(
        driver,
        RESOURCE,
        op.url,
        state="state",
        message="message",
        success={"RUNNING"},
        failure={"FAILED"},
    )
    assert done.state == "RUNNING"
    assert op.polls >= 5
    assert all(dict(r.headers).get("authorization") == TOKEN for r in op.requests)


@pytest.mark.parametrize("driver", DRIVERS)
def test_resource_failure_message(server: OperationsServer, driver: str) -> None:
    """A FAILED resource fails with the server's message."""
    op = server.add_resource([Step("PENDING"), Step("FAILED", poll=2, message="disk full")])
    with pytest.raises(OperationFailed, match="got FAILED: disk full"):
        drive(
            driver,
            RESOURCE,
            op.url,
            state="state",
            message="message",
            success={"RUNNING"},
            failure={"FAILED"},
        )


@pytest.mark.parametrize("driver", DRIVERS)
def test_cluster_with_parse(server: OperationsServer, driver: str) -> None:
    """A Databricks-style cluster comes back as the caller's dataclass."""
    op = server.add_cluster(
        [Step("PENDING"), Step("RUNNING", poll=2)],
        faults=[Fault.status(429, retry_after="0.1", on=1)],
    )
    info = drive(
        driver,
        DATABRICKS,
        op.url,
        success={"RUNNING"},
        failure={"ERROR", "TERMINATED"},
        parse=ClusterInfo.from_dict,
    )
    assert info == ClusterInfo(op.id, "RUNNING")


@pytest.mark.parametrize("driver", DRIVERS)
def test_run_terminated_with_failure(server: OperationsServer, driver: str) -> None:
    """A job run TERMINATED with result FAILED fails with the result and the message."""
    op = server.add_run(
        [Step("RUNNING"), Step("TERMINATED", poll=2, result="FAILED", message="Task etl failed")]
    )
    with pytest.raises(OperationFailed) as caught:
        drive(
            driver,
            DATABRICKS,
            op.url,
            success={"TERMINATED", "SKIPPED"},
            failure={"INTERNAL_ERROR"},
            name="run",
        )
    assert str(caught.value).endswith("got TERMINATED: result FAILED: Task etl failed")


@pytest.mark.parametrize("driver", DRIVERS)
def test_google_operation(server: OperationsServer, driver: str) -> None:
    """An AIP-151 operation succeeds with its response, through a throttled first poll."""
    op = server.add_google_operation(
        [Step("RUNNING"), Step("SUCCEEDED", poll=3)],
        response={"id": "thing-1"},
        faults=[Fault.status(429, retry_after="0.1", on=2)],
    )
    done = drive(driver, GOOGLE, op.url, start="GET")
    assert done.body["response"] == {"id": "thing-1"}
    assert done.state == "DONE"


@pytest.mark.parametrize("driver", DRIVERS)
def test_google_operation_error(server: OperationsServer, driver: str) -> None:
    """A failed AIP-151 operation fails with its code name and message."""
    op = server.add_google_operation([Step("RUNNING"), Step("FAILED", poll=2, message="boom")])
    with pytest.raises(OperationFailed, match="got ERROR: INTERNAL: boom"):
        drive(driver, GOOGLE, op.url, start="GET")


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("header", ["Azure-AsyncOperation", "Operation-Location"])
def test_azure_put(server: OperationsServer, driver: str, header: str) -> None:
    """An Azure PUT polls its status monitor, follows a move, and reads the resource."""
    op = server.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", poll=4)],
        method="PUT",
        headers=[header],
        faults=[Fault.retry_after("0.1", on=1), Fault.move(on=2), Fault.status(503, on=3)],
    )
    done = drive(driver, AZURE, op.url, start="PUT")
    assert done.final
    assert done.state.casefold() == "succeeded"
    assert done.body["properties"]["provisioningState"] == "Succeeded"


@pytest.mark.parametrize("driver", DRIVERS)
def test_azure_post_location_failure_in_body(server: OperationsServer, driver: str) -> None:
    """C16 over sockets: a Location poll answering 200 with a Failed body is a failure."""
    op = server.add_azure_operation(
        [Step("InProgress"), Step("Failed", poll=2, message="quota exceeded")],
        method="POST",
        headers=["Location"],
        failure_in_body=True,
    )
    with pytest.raises(OperationFailed, match="quota exceeded"):
        drive(driver, AZURE, op.url, start="POST")


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("status", ["Canceled", "cancelled"])
def test_azure_cancelled_spellings(server: OperationsServer, driver: str, status: str) -> None:
    """C15 over sockets: either spelling of cancelled ends the wait as a failure."""
    op = server.add_azure_operation([Step("InProgress"), Step(status, poll=2)], method="PUT")
    with pytest.raises(OperationFailed) as caught:
        drive(driver, AZURE, op.url, start="PUT")
    assert caught.value.state == status


@pytest.mark.parametrize("driver", DRIVERS)
def test_azure_foreign_origin_is_refused(server: OperationsServer, driver: str) -> None:
    """C17 over sockets: a status monitor moved to another origin is refused mid-wait."""
    op = server.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", at=5)], method="PUT", faults=[Fault.foreign(on=1)]
    )
    with pytest.raises(th.ForeignOriginRefused, match=r"127\.0\.0\.2"):
        drive(driver, AZURE, op.url, start="PUT")
    assert op.polls == 1


@pytest.mark.parametrize("driver", DRIVERS)
def test_azure_allowed_origin_gets_no_credentials(server: OperationsServer, driver: str) -> None:
    """C17 over sockets: an allowed second origin is polled without the Authorization header."""
    with OperationsServer(scenarios=server.scenarios) as other:
        op = server.add_azure_operation(
            [Step("InProgress"), Step("Succeeded", poll=3)],
            method="PUT",
            faults=[Fault.foreign(other.url, on=1)],
        )
        done = drive(
            driver,
            AZURE,
            op.url,
            start="PUT",
            allowed_origins=[other.url],
            client_options={"cookies": {"session": "c-s3cret"}},
        )
        assert done.final
        host = other.url.removeprefix("http://")
        abroad = [r for r in op.requests if dict(r.headers).get("host") == host]
        at_home = [r for r in op.requests if dict(r.headers).get("host") != host]
    assert abroad, "the allowed origin was never polled"
    assert all(dict(r.headers)["authorization"] == TOKEN for r in at_home)
    for request in abroad:
        names = {name.lower() for name, _ in request.headers}
        assert "authorization" not in names
        assert "cookie" not in names


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("fault", [Fault.malformed(on=2), Fault.truncated(on=2)])
def test_malformed_bodies(server: OperationsServer, driver: str, fault: Fault) -> None:
    """Bodies that are not JSON end the wait with MalformedResponse naming URL and status."""
    op = server.add_resource([Step("PENDING"), Step("RUNNING", at=5)], faults=[fault])
    with pytest.raises(th.MalformedResponse, match=r"GET http://127\.0\.0\.1:\d+/resources/"):
        drive(driver, RESOURCE, op.url, state="state", success={"RUNNING"})


@pytest.mark.parametrize("driver", DRIVERS)
def test_hanging_poll_is_cut_at_the_deadline(server: OperationsServer, driver: str) -> None:
    """A poll that never answers is cut to the time left; the wait times out near 0.4 s."""
    op = server.add_resource([Step("PENDING")], faults=[Fault.hang(on=2)])
    with pytest.raises(OperationTimedOut) as caught:
        drive(driver, RESOURCE, op.url, state="state", success={"RUNNING"}, timeout=0.4)
    assert isinstance(caught.value.last_error, th.TransientHttpError)
    assert "timed out" in str(caught.value.last_error)
    assert caught.value.elapsed.total_seconds() < 0.4 + 0.2 + 3.0  # a hang never ends


@pytest.mark.parametrize("driver", DRIVERS)
def test_not_found_ends_the_wait(server: OperationsServer, driver: str) -> None:
    """A 404 is not transient: HttpStatusError with the status at once."""
    with pytest.raises(th.HttpStatusError) as caught:
        drive(driver, RESOURCE, f"{server.url}/resources/nope", state="state", success={"RUNNING"})
    assert caught.value.status_code == 404


@pytest.mark.parametrize("driver", DRIVERS)
def test_cookies_kept_across_polls(server: OperationsServer, driver: str) -> None:
    """A server that keeps scenario state in a cookie is satisfied: the client keeps it."""
    op = server.add_resource([Step("PENDING"), Step("RUNNING", poll=3)], cookie="scenario=abc123")
    done = drive(driver, RESOURCE, op.url, state="state", success={"RUNNING"})
    assert done.state == "RUNNING"
    later = op.requests[1:]
    assert later
    assert all("scenario=abc123" in dict(r.headers).get("cookie", "") for r in later)


@pytest.mark.parametrize("driver", DRIVERS)
def test_redirect_on_the_same_origin_is_followed(server: OperationsServer, driver: str) -> None:
    """A poll answered with a redirect to an alias on the same server is followed."""
    op = server.add_cluster(
        [Step("PENDING"), Step("RUNNING", poll=3)], faults=[Fault.redirect(307, on=2)]
    )
    info = drive(driver, DATABRICKS, op.url, success={"RUNNING"}, failure={"ERROR"})
    assert info.state == "RUNNING"
    assert any(r.path.startswith("/_tarry/r/") for r in op.requests)
