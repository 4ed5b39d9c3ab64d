"""tarry.aws with real botocore clients (answered by botocore's Stubber) and its own models.

Skipped where botocore is not installed (the default test run installs only the aws
extra, jmespath); the ``interop`` nox session installs it and runs these too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "botocore", reason="botocore is not installed (the interop session installs it)"
)

import botocore
import botocore.exceptions
import botocore.session
from botocore.stub import Stubber

import tarry
import tarry.aws
from tarry.testing import FakeClock


def _client(service: str) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:9",  # never reached: the Stubber answers first
    )


def _reservation(state: str) -> dict[str, Any]:
    return {"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": state}}]}]}


def test_the_model_loads_from_a_botocore_client() -> None:
    """A client's own waiters-2 model is found through botocore's loader."""
    ec2 = _client("ec2")
    model = tarry.aws.model_for(ec2)
    running = model["instance_running"]
    theirs = ec2.get_waiter("instance_running").config
    assert running.operation == theirs.operation
    assert (running.delay, running.max_attempts) == (theirs.delay, theirs.max_attempts)
    assert [(a.state, a.matcher, a.expected, a.argument) for a in running.acceptors] == [
        (a.state, a.matcher, a.expected, a.argument) for a in theirs.acceptors
    ]
    assert set(map(botocore.xform_name, model)) == set(ec2.waiter_names)


def test_a_stubbed_botocore_client_waits_through_throttling() -> None:
    """Real ClientErrors: RequestLimitExceeded and a 503 are retried, then success."""
    ec2 = _client("ec2")
    clock = FakeClock()
    with Stubber(ec2) as stub:
        stub.add_response("describe_instances", _reservation("pending"))
        stub.add_client_error("describe_instances", "RequestLimitExceeded", http_status_code=503)
        stub.add_client_error("describe_instances", "Unavailable", http_status_code=503)
        stub.add_client_error("describe_instances", "InvalidInstanceID.NotFound")
        stub.add_response("describe_instances", _reservation("running"))
        wait = tarry.aws.waiter(ec2, "instance_running", clock=clock, InstanceIds=["i-1"])
        response = wait.result()
        stub.assert_no_pending_responses()
    assert response["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    assert clock.sleeps == [0, 15.0, 15.0, 15.0, 15.0]


def test_a_stubbed_failure_carries_the_botocore_response() -> None:
    """A terminated instance fails InstanceRunning; the entity is botocore's parsed reply."""
    ec2 = _client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_instances", _reservation("terminated"))
        with pytest.raises(tarry.OperationFailed) as caught:
            tarry.aws.waiter(ec2, "InstanceRunning", clock=FakeClock()).result()
    assert caught.value.entity["Reservations"][0]["Instances"][0]["State"]["Name"] == ("terminated")
    assert caught.value.state.state == "failure"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), True),
        (botocore.exceptions.ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"), True),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), True),
        (botocore.exceptions.ConnectionClosedError(endpoint_url="http://127.0.0.1:9"), True),
        (botocore.exceptions.ParamValidationError(report="missing InstanceIds"), False),
        (botocore.exceptions.NoCredentialsError(), False),
    ],
)
def test_botocore_exceptions_are_classified(error: Exception, transient: bool) -> None:
    """botocore's transport errors are transient; its usage errors are not."""
    assert tarry.aws.is_transient(error) is transient


def _botocore_models() -> list[Path]:
    data = Path(botocore.__file__).parent / "data"
    return sorted(data.glob("*/*/waiters-2.json"))


def test_every_waiter_model_botocore_ships_is_read() -> None:
    """All of botocore's waiters-2 files parse, and every operation maps to its method."""
    files = _botocore_models()
    assert len(files) > 100
    waiters = 0
    for path in files:
        model = tarry.aws.WaiterModel.from_dict(json.loads(path.read_text()))
        for name, definition in model.items():
            waiters += 1
            assert model[botocore.xform_name(name)] is definition
            assert tarry.aws.method_name(definition.operation) == botocore.xform_name(
                definition.operation
            ), (path, name)
    assert waiters > 500


def test_a_service_without_waiters_says_so() -> None:
    """Asking for the waiters of a service botocore has none for is a clear ValueError."""
    with pytest.raises(ValueError, match="botocore has no waiters for sts"):
        tarry.aws.waiter(_client("sts"), "anything")


def test_models_under_aws_data_path_come_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in botocore's session, a waiters-2 file under AWS_DATA_PATH overrides the shipped one."""
    ec2 = _client("ec2")
    version = ec2.meta.service_model.api_version
    folder = tmp_path / "ec2" / version
    folder.mkdir(parents=True)
    custom = {
        "version": 2,
        "waiters": {
            "Custom": {
                "operation": "DescribeInstances",
                "delay": 1,
                "maxAttempts": 2,
                "acceptors": [{"matcher": "status", "expected": 200, "state": "success"}],
            }
        },
    }
    (folder / "waiters-2.json").write_text(json.dumps(custom))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    assert list(tarry.aws.model_for(ec2)) == ["Custom"]
    monkeypatch.delenv("AWS_DATA_PATH")
    assert "InstanceRunning" in tarry.aws.model_for(ec2)
