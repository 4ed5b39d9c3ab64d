"""tarry.aws.async_waiter under asyncio and trio, on virtual time."""

from __future__ import annotations

from typing import Any

import pytest

import tarry
import tarry.aws
from _aws_stubs import MODEL, AsyncStubClient, FakeClientError, StubClient, instances, job, ok
from tarry.testing import AsyncFakeClock

pytestmark = pytest.mark.anyio


def _wait(
    client: Any, name: str, clock: AsyncFakeClock, **options: Any
) -> tarry.AsyncWait[tarry.aws.Response]:
    return tarry.aws.async_waiter(client, name, model=MODEL, clock=clock, **options)


async def test_an_async_waiter_succeeds_with_the_last_response() -> None:
    """Awaited polls run the model's acceptors; the last response is returned."""
    client = AsyncStubClient([job("QUEUED"), job("IN_PROGRESS"), job("COMPLETED")])
    clock = AsyncFakeClock()
    wait = _wait(client, "TranscriptionJobCompleted", clock, TranscriptionJobName="j")
    assert await wait.result() == job("COMPLETED")
    assert clock.sleeps == [0, 10.0, 10.0]
    assert wait.params == {"TranscriptionJobName": "j"}


async def test_an_async_failure_carries_the_response() -> None:
    """A pathAny failure ends the async wait with OperationFailed holding the response."""
    stopping = instances("running", "stopping")
    client = AsyncStubClient([instances("pending"), stopping])
    with pytest.raises(tarry.OperationFailed) as caught:
        await _wait(client, "InstanceRunning", AsyncFakeClock()).result()
    assert caught.value.entity is stopping


async def test_case_c08_throttled_aws_async_polls_are_retried() -> None:
    """C08 async: throttling errors between QUEUED replies are retried until COMPLETED."""
    client = AsyncStubClient(
        [
            FakeClientError("ThrottlingException", "Rate exceeded"),
            job("QUEUED"),
            FakeClientError("TooManyRequestsException", status=429),
            FakeClientError("InternalError", status=500),
            job("COMPLETED"),
        ]
    )
    clock = AsyncFakeClock()
    seen: list[Any] = []

    async def show(response: Any) -> None:
        seen.append(response)

    wait = _wait(client, "TranscriptionJobCompleted", clock, delay=1)
    assert await wait.result(callback=show) == job("COMPLETED")
    assert clock.sleeps == [0, 1.0, 1.0, 1.0, 1.0]
    assert seen == [job("QUEUED")]


async def test_an_async_error_acceptor_succeeds_and_retry_waits() -> None:
    """The error matcher works for awaited calls: retry on one code, success on another."""
    retry = AsyncStubClient([FakeClientError("InvalidInstanceID.NotFound"), instances("running")])
    assert await _wait(retry, "InstanceRunning", AsyncFakeClock()).result() == instances("running")
    gone = FakeClientError("ResourceNotFoundException", status=404)
    deleted = AsyncStubClient([ok({"status": "DELETING"}), gone])
    assert await _wait(deleted, "ClusterNotExists", AsyncFakeClock()).result() == gone.response


async def test_async_throttling_to_the_end_times_out_with_the_last_error() -> None:
    """Throttled until the deadline: OperationTimedOut with the throttling as last_error."""
    last = FakeClientError("Throttling", "Rate exceeded")
    client = AsyncStubClient([job("QUEUED"), last])
    clock = AsyncFakeClock()
    with pytest.raises(tarry.OperationTimedOut) as caught:
        await _wait(client, "TranscriptionJobCompleted", clock, timeout=25).result()
    assert clock.now() == 25
    assert caught.value.last_error is last
    assert caught.value.entity == job("QUEUED")


async def test_an_async_waiter_accepts_plain_methods_too() -> None:
    """A client whose methods return dicts (not awaitables) works in async waits."""
    client = StubClient([job("QUEUED"), job("COMPLETED")])
    assert await _wait(client, "TranscriptionJobCompleted", AsyncFakeClock()).result() == job(
        "COMPLETED"
    )


async def test_async_non_aws_errors_propagate() -> None:
    """An error that is neither transient nor a client error ends the wait unchanged."""
    client = AsyncStubClient([RuntimeError("session closed")])
    with pytest.raises(RuntimeError, match="session closed"):
        await _wait(client, "InstanceRunning", AsyncFakeClock()).result()
