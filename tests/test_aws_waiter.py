"""tarry.aws.waiter on a fake clock: every acceptor state, transient errors (C08), errors kept."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

import tarry
import tarry.aws
from _aws_stubs import MODEL, FakeClientError, StubClient, instances, job, ok
from tarry.testing import FakeClock


def _wait(
    client: Any, name: str, clock: FakeClock, **options: Any
) -> tarry.Wait[tarry.aws.Response]:
    return tarry.aws.waiter(client, name, model=MODEL, clock=clock, **options)


def test_a_path_acceptor_succeeds_with_the_last_response() -> None:
    """QUEUED, IN_PROGRESS, COMPLETED: success after two sleeps of the model's delay."""
    client = StubClient([job(None), job("IN_PROGRESS"), job("COMPLETED")])
    clock = FakeClock()
    wait = _wait(client, "transcription_job_completed", clock, TranscriptionJobName="job")
    response = wait.result()
    assert response == job("COMPLETED")
    assert clock.sleeps == [0, 10.0, 10.0]
    assert client.calls == [("get_transcription_job", {"TranscriptionJobName": "job"})] * 3
    assert wait.params == {"TranscriptionJobName": "job"}
    assert wait.definition.name == "TranscriptionJobCompleted"


def test_a_failure_acceptor_fails_carrying_the_response() -> None:
    """A FAILED job ends the wait with OperationFailed whose entity is that response."""
    failed = job("FAILED", reason="bad media")
    client = StubClient([job("IN_PROGRESS"), failed])
    with pytest.raises(tarry.OperationFailed) as caught:
        _wait(client, "TranscriptionJobCompleted", FakeClock(), TranscriptionJobName="j").result()
    error = caught.value
    assert error.entity is failed
    assert error.state.state == "failure"
    assert str(error) == (
        "TranscriptionJobCompleted failed to reach TranscriptionJob.TranscriptionJobStatus == "
        '"COMPLETED", got TranscriptionJob.TranscriptionJobStatus == "FAILED" (failure): '
        'TranscriptionJob.TranscriptionJobStatus = "FAILED"'
    )


def test_path_all_waits_for_every_instance_and_path_any_fails_on_one() -> None:
    """pathAll needs every instance running; pathAny fails when any one is terminated."""
    client = StubClient([instances(), instances("running", "pending"), instances("running")])
    assert _wait(client, "instance_running", FakeClock()).result() == instances("running")
    assert len(client.calls) == 3
    broken = StubClient([instances("pending", "pending"), instances("running", "terminated")])
    with pytest.raises(tarry.OperationFailed, match=r'got any .* == "terminated"'):
        _wait(broken, "instance_running", FakeClock()).result()


def test_a_retry_acceptor_keeps_waiting_on_its_error() -> None:
    """InvalidInstanceID.NotFound matches a retry acceptor: not a failure, keep polling."""
    client = StubClient([FakeClientError("InvalidInstanceID.NotFound"), instances("running")])
    clock = FakeClock()
    seen: list[Any] = []
    response = _wait(client, "InstanceRunning", clock).result(callback=seen.append)
    assert response == instances("running")
    assert seen == [FakeClientError("InvalidInstanceID.NotFound").response]
    assert clock.sleeps == [0, 15.0]


def test_an_error_acceptor_with_success_ends_on_the_error_response() -> None:
    """ClusterNotExists succeeds on ResourceNotFoundException, returning the error response."""
    gone = FakeClientError("ResourceNotFoundException", "no cluster", status=404)
    client = StubClient([ok({"status": "DELETING"}), gone])
    response = _wait(client, "cluster_not_exists", FakeClock(), identifier="c1").result()
    assert response == gone.response
    assert response is not gone.response


def test_an_error_no_acceptor_expects_fails_at_once() -> None:
    """As in botocore, an unexpected non-transient error fails the wait with its message."""
    denied = FakeClientError("AccessDeniedException", "not allowed", status=403)
    client = StubClient([job("QUEUED"), denied])
    with pytest.raises(tarry.OperationFailed) as caught:
        _wait(client, "TranscriptionJobCompleted", FakeClock()).result()
    assert caught.value.entity == denied.response
    assert caught.value.state is tarry.aws.UNEXPECTED_ERROR
    assert caught.value.message == "AccessDeniedException: not allowed"
    assert str(caught.value).endswith(
        "got an error no acceptor expects: AccessDeniedException: not allowed"
    )
    assert len(client.calls) == 2


def test_status_acceptors_match_responses_and_errors() -> None:
    """BucketExists retries on a 404 error (named by status) and succeeds on 200."""
    missing = FakeClientError("404", "Not Found", status=404)
    client = StubClient([missing, missing, ok({})])
    clock = FakeClock()
    assert _wait(client, "bucket_exists", clock, Bucket="b").result() == ok({})
    assert clock.sleeps == [0, 5.0, 5.0]
    forbidden = StubClient([FakeClientError("403", "Forbidden", status=403)])
    assert _wait(forbidden, "bucket_exists", FakeClock(), Bucket="b").result()["Error"] == {
        "Code": "403",
        "Message": "Forbidden",
    }


def test_error_true_and_false_acceptors() -> None:
    """``error: false`` succeeds on any reply; ``error: true`` fails on a non-transient error."""
    assert _wait(StubClient([ok({"Configuration": {}})]), "FunctionReady", FakeClock()).result()
    client = StubClient([FakeClientError("ResourceNotFoundException")])
    with pytest.raises(tarry.OperationFailed, match="got any error \\(failure\\)"):
        _wait(client, "FunctionReady", FakeClock()).result()


def test_transient_errors_come_before_an_error_true_acceptor() -> None:
    """A throttled poll is retried even when an ``error: true`` acceptor would fail it."""
    client = StubClient([FakeClientError("ThrottlingException", status=400), ok({})])
    clock = FakeClock()
    assert _wait(client, "FunctionReady", clock).result() == ok({})
    assert clock.sleeps == [0, 1.0]


def test_an_acceptor_naming_a_transient_error_is_honoured_first() -> None:
    """An acceptor that names ServiceUnavailable decides, though 503 is otherwise transient."""
    client = StubClient([FakeClientError("ServiceUnavailable", "down", status=503)])
    with pytest.raises(tarry.OperationFailed, match="got error ServiceUnavailable"):
        _wait(client, "GoneOrBroken", FakeClock()).result()
    assert len(client.calls) == 1
    other = StubClient(
        [FakeClientError("InternalError", status=500), ok({"Thing": {"Ready": True}})]
    )
    assert _wait(other, "GoneOrBroken", FakeClock()).result() == ok({"Thing": {"Ready": True}})


def test_case_c08_throttled_aws_polls_are_retried_within_the_deadline() -> None:
    """C08: throttling errors alternate with QUEUED; each is retried, success when it comes."""
    throttled = [
        FakeClientError("Throttling", "Rate exceeded"),
        FakeClientError("ThrottlingException", "Rate exceeded"),
        FakeClientError("RequestLimitExceeded", status=503),
        FakeClientError("TooManyRequestsException", status=429),
        FakeClientError("ProvisionedThroughputExceededException"),
    ]
    script: list[Any] = []
    for error in throttled:
        script += [error, job("QUEUED")]
    script.append(job("COMPLETED"))
    client = StubClient(script)
    clock = FakeClock()
    seen: list[Any] = []
    wait = _wait(client, "TranscriptionJobCompleted", clock, delay=2, timeout=60)
    assert wait.result(callback=seen.append) == job("COMPLETED")
    assert len(client.calls) == 11
    assert clock.sleeps == [0] + [2.0] * 10
    assert seen == [job("QUEUED")] * 5  # the callback sees responses, not errors


def test_case_c08_throttled_aws_polls_time_out_naming_the_last_error() -> None:
    """C08: throttled to the end, the wait times out at the deadline, naming the throttling."""
    last = FakeClientError("ThrottlingException", "Rate exceeded")
    client = StubClient([job("QUEUED"), last])
    clock = FakeClock()
    with pytest.raises(tarry.OperationTimedOut) as caught:
        _wait(client, "TranscriptionJobCompleted", clock, delay=3, timeout=10).result()
    error = caught.value
    assert clock.now() == 10.0
    assert clock.sleeps == [0, 3.0, 3.0, 3.0, 1.0]
    assert error.attempts == 5
    assert error.last_error is last
    assert error.entity == job("QUEUED")
    assert "last error: An error occurred (ThrottlingException): Rate exceeded" in str(error)


def test_server_errors_and_dropped_connections_are_retried() -> None:
    """500, 503 and connection errors are transient; the wait rides them out."""
    client = StubClient(
        [
            FakeClientError("InternalError", status=500),
            ConnectionResetError("connection reset by peer"),
            FakeClientError("Unavailable", status=503),
            job("COMPLETED"),
        ]
    )
    assert _wait(client, "TranscriptionJobCompleted", FakeClock()).result() == job("COMPLETED")
    assert len(client.calls) == 4


def test_other_exceptions_end_the_wait_unchanged() -> None:
    """A non-AWS error (a bad parameter) propagates as it is, after one poll."""
    problem = ValueError("Parameter validation failed")
    client = StubClient([problem])
    with pytest.raises(ValueError, match="Parameter validation failed") as caught:
        _wait(client, "TranscriptionJobCompleted", FakeClock()).result()
    assert caught.value is problem
    assert len(client.calls) == 1


def test_retry_on_adds_transient_errors() -> None:
    """``retry_on`` makes more errors transient, raised ones and client errors alike."""
    client = StubClient([KeyError("flaky"), FakeClientError("Busy"), job("COMPLETED")])
    wait = _wait(
        client,
        "TranscriptionJobCompleted",
        FakeClock(),
        retry_on=lambda e: isinstance(e, KeyError) or "Busy" in str(e),
    )
    assert wait.result() == job("COMPLETED")


def test_the_default_budget_is_delay_times_max_attempts() -> None:
    """Never finishing: a timeout at delay * maxAttempts, after a final poll there."""
    client = StubClient([instances("pending")])
    clock = FakeClock()
    with pytest.raises(tarry.OperationTimedOut) as caught:
        _wait(client, "InstanceRunning", clock).result()
    assert clock.now() == 15 * 40
    assert len(client.calls) == 41
    assert caught.value.attempts == 41
    assert caught.value.entity == instances("pending")
    assert str(caught.value) == (
        "timed out after 0:10:00: InstanceRunning is waiting: "
        'Reservations[].Instances[].State.Name = ["pending"]'
    )


def test_delay_timeout_and_backoff_can_be_overridden() -> None:
    """``delay`` sets the backoff and budget; ``timeout`` and ``backoff`` override them."""
    clock = FakeClock()
    with pytest.raises(tarry.OperationTimedOut):
        _wait(StubClient([job("QUEUED")]), "TranscriptionJobCompleted", clock, delay=0.5).result()
    assert clock.now() == pytest.approx(0.5 * 180)
    assert set(clock.sleeps[1:]) == {0.5}
    clock = FakeClock()
    wait = _wait(
        StubClient([job("QUEUED")] * 4 + [job("COMPLETED")]),
        "TranscriptionJobCompleted",
        clock,
        backoff=tarry.Linear(step=1, cap=10, jitter=0),
        timeout=None,
    )
    assert wait.result() == job("COMPLETED")
    assert clock.sleeps == [0, 1.0, 2.0, 3.0, 4.0]
    clock = FakeClock()
    with pytest.raises(tarry.OperationTimedOut):
        _wait(StubClient([job("QUEUED")]), "TranscriptionJobCompleted", clock).result(timeout=25)
    assert clock.now() == 25
    assert clock.sleeps == [0, 10.0, 10.0, 5.0]


def test_a_botocore_like_client_maps_operations_through_its_meta() -> None:
    """``client.meta.method_to_api_mapping`` names the method to call."""

    class Meta:
        method_to_api_mapping: ClassVar[dict[str, str]] = {"fetch_job": "GetTranscriptionJob"}

    class Client:
        meta = Meta()

        def fetch_job(self, **params: Any) -> dict[str, Any]:
            return job("COMPLETED")

    assert _wait(Client(), "TranscriptionJobCompleted", FakeClock()).result() == job("COMPLETED")


def test_clear_errors_for_wrong_clients_and_names() -> None:
    """A client without the method, an unknown waiter or no model each say what is wrong."""
    with pytest.raises(TypeError, match="StubClient has no method 'get_widget' to call GetWidget"):
        tarry.aws.waiter(
            StubClient([]),
            "W",
            model={"version": 2, "waiters": {"W": {**MODEL["waiters"]["FunctionReady"],
                                                    "operation": "GetWidget"}}},
        )  # fmt: skip
    with pytest.raises(ValueError, match="no waiter named 'instance_stopped'"):
        tarry.aws.waiter(StubClient([]), "instance_stopped", model=MODEL)
    with pytest.raises(TypeError, match="pass model="):
        tarry.aws.waiter(StubClient([]), "InstanceRunning")
    model = tarry.aws.WaiterModel.from_dict(MODEL)
    assert tarry.aws.model_for(None, model) is model


def test_a_non_dict_reply_is_an_unreadable_entity() -> None:
    """A client that answers something other than a dict gets a clear UnreadableEntity."""
    client = StubClient([["not", "a", "dict"]])  # type: ignore[list-item]
    with pytest.raises(tarry.UnreadableEntity, match="must be a dict, not list"):
        _wait(client, "TranscriptionJobCompleted", FakeClock()).result()
