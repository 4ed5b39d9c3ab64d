"""tarry.aws: reading waiters-2 models, botocore's matcher semantics, transient errors."""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest

import tarry
import tarry.aws
from _aws_stubs import MODEL, FakeClientError, instances, job, ok
from tarry.aws import (
    UNEXPECTED_ERROR,
    WAITING,
    Acceptor,
    ModelError,
    WaiterDefinition,
    WaiterModel,
    error_code,
    is_transient,
    method_name,
    policy_for,
    spec_for,
)

ERROR_404 = FakeClientError("NotFound", "Not Found", status=404).response


def test_a_real_model_reads_with_every_field() -> None:
    """A model holds each waiter with its operation, delay, attempts and acceptors."""
    model = WaiterModel.from_dict(MODEL)
    running = model["InstanceRunning"]
    assert running.operation == "DescribeInstances"
    assert (running.delay, running.max_attempts) == (15.0, 40)
    assert [a.matcher for a in running.acceptors] == [
        "pathAll",
        "pathAny",
        "pathAny",
        "pathAny",
        "error",
    ]
    assert model["ClusterNotExists"].description == "Wait until a Cluster is gone"
    assert len(model) == len(MODEL["waiters"])
    assert set(model) == set(MODEL["waiters"])


@pytest.mark.parametrize("name", ["InstanceRunning", "instance_running", "INSTANCE_RUNNING"])
def test_waiters_are_found_by_model_or_snake_case_name(name: str) -> None:
    """boto3's snake_case names find the same waiter as the model's names."""
    model = WaiterModel.from_dict(MODEL)
    assert name in model
    assert model[name].name == "InstanceRunning"


def test_an_unknown_waiter_name_lists_the_known_ones() -> None:
    """A wrong name is a KeyError that names every waiter the model has."""
    model = WaiterModel.from_dict(MODEL)
    with pytest.raises(KeyError, match=r"no waiter named 'instance_runing'.*InstanceRunning"):
        model["instance_runing"]
    number: object = 3
    assert number not in model
    with pytest.raises(TypeError, match="must be a string"):
        model[3]  # type: ignore[index]


def test_names_that_differ_only_in_case_are_refused() -> None:
    """Two waiters that the snake_case lookup cannot tell apart make a ModelError."""
    data = copy.deepcopy(MODEL)
    data["waiters"]["Instancerunning"] = data["waiters"]["InstanceRunning"]
    with pytest.raises(ModelError, match="cannot be told apart"):
        WaiterModel.from_dict(data)


def _broken(change: dict[str, Any]) -> dict[str, Any]:
    waiter = copy.deepcopy(MODEL["waiters"]["TranscriptionJobCompleted"])
    waiter.update(change)
    return {"version": 2, "waiters": {"Job": waiter}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be an object"),
        ({"version": 1, "waiters": {}}, "only version 2"),
        ({"version": 2}, "needs a 'waiters' object"),
        ({"version": 2, "waiters": {"Job": 5}}, "'Job': a definition must be an object"),
        (_broken({"operation": ""}), "operation must be a non-empty string"),
        (_broken({"delay": -1}), "delay must be finite and non-negative"),
        (_broken({"delay": True}), "delay must be a number"),
        (_broken({"delay": float("nan")}), "delay must be finite"),
        (_broken({"maxAttempts": 0}), "maxAttempts must be a positive integer"),
        (_broken({"maxAttempts": 2.5}), "maxAttempts must be a positive integer"),
        (_broken({"acceptors": []}), "acceptors must be a non-empty list"),
        (_broken({"acceptors": ["x"]}), "acceptor 0 must be an object"),
        (_broken({"acceptors": [{"state": "success"}]}), "acceptor 0 has no matcher, expected"),
        (
            _broken({"acceptors": [{"state": "won", "matcher": "path", "expected": 1}]}),
            "acceptor 0: state must be one of success, failure, retry, got 'won'",
        ),
        (
            _broken({"acceptors": [{"state": "success", "matcher": "jsonpath", "expected": 1}]}),
            "matcher must be one of path, pathAll, pathAny, status, error",
        ),
        (
            _broken({"acceptors": [{"state": "success", "matcher": "pathAll", "expected": 1}]}),
            "a pathAll matcher needs a JMESPath argument",
        ),
        (
            _broken(
                {
                    "acceptors": [
                        {"state": "success", "matcher": "path", "expected": 1, "argument": "a[["}
                    ]
                }
            ),
            "bad JMESPath argument 'a\\[\\['",
        ),
        (
            _broken({"acceptors": [{"state": "failure", "matcher": "error", "expected": True}]}),
            "no acceptor has state success",
        ),
    ],
)
def test_malformed_models_are_refused_with_the_reason(data: Any, message: str) -> None:
    """Every malformed part of a model is a ModelError (a ValueError) that says what."""
    with pytest.raises(ModelError, match=message):
        WaiterModel.from_dict(data)
    assert issubclass(ModelError, ValueError)
    assert issubclass(ModelError, tarry.TarryError)


def _acceptor(matcher: str, expected: Any, argument: str | None = None) -> Acceptor:
    return Acceptor("success", matcher, expected, argument)


NAMES = "Reservations[].Instances[].State.Name"


@pytest.mark.parametrize(
    ("acceptor", "response", "matches"),
    [
        (_acceptor("path", "COMPLETED", "Job.Status"), {"Job": {"Status": "COMPLETED"}}, True),
        (_acceptor("path", "COMPLETED", "Job.Status"), {"Job": {"Status": "QUEUED"}}, False),
        (_acceptor("path", "COMPLETED", "Job.Status"), {"Job": {}}, False),
        (_acceptor("path", True, "length(Items) > `0`"), {"Items": [1]}, True),
        (_acceptor("path", True, "length(Items) > `0`"), {"Items": []}, False),
        (_acceptor("path", None, "Job.Status"), ERROR_404, False),  # never an error response
        (_acceptor("pathAll", "running", NAMES), instances("running", "running"), True),
        (_acceptor("pathAll", "running", NAMES), instances("running", "pending"), False),
        (_acceptor("pathAll", "running", NAMES), instances(), False),  # empty: no match
        (_acceptor("pathAll", "x", "Job"), {"Job": "x"}, False),  # not a list: no match
        (_acceptor("pathAny", "terminated", NAMES), instances("running", "terminated"), True),
        (_acceptor("pathAny", "terminated", NAMES), instances("running", "pending"), False),
        (_acceptor("pathAny", "terminated", NAMES), instances(), False),
        (_acceptor("pathAny", "x", "Job"), {"Job": "x"}, False),
        (_acceptor("status", 200, None), ok({}), True),
        (_acceptor("status", 200, None), ok({}, status=201), False),
        (_acceptor("status", 404, None), ERROR_404, True),
        (_acceptor("status", 200, None), {"no": "metadata"}, False),
        (_acceptor("error", "NotFound", None), ERROR_404, True),
        (_acceptor("error", "Gone", None), ERROR_404, False),
        (_acceptor("error", "NotFound", None), ok({}), False),
        (_acceptor("error", True, None), ERROR_404, True),
        (_acceptor("error", True, None), ok({}), False),
        (_acceptor("error", False, None), ok({}), True),
        (_acceptor("error", False, None), ERROR_404, False),
    ],
)
def test_matchers_decide_as_botocore_does(
    acceptor: Acceptor, response: dict[str, Any], matches: bool
) -> None:
    """Each matcher kind matches exactly the responses botocore's would."""
    assert acceptor.matches(response) is matches


def test_the_first_matching_acceptor_decides() -> None:
    """Acceptors are tried in order: a response matching two takes the first."""
    running = WaiterModel.from_dict(MODEL)["InstanceRunning"]
    assert running.match(instances("running")) == 0
    assert running.match(instances("pending", "terminated", "stopping")) == 2
    assert running.match(instances("pending")) is None
    not_found = FakeClientError("InvalidInstanceID.NotFound").response
    assert running.match(not_found) == 4


def test_acceptors_describe_their_condition() -> None:
    """Each matcher kind reads as a short condition in messages."""
    assert _acceptor("path", "DONE", "A.B").describe() == 'A.B == "DONE"'
    assert _acceptor("pathAll", "ok", "A[]").describe() == 'all A[] == "ok"'
    assert _acceptor("pathAny", 3, "A[]").describe() == "any A[] == 3"
    assert _acceptor("status", 404).describe() == "HTTP status 404"
    assert _acceptor("error", "Gone").describe() == "error Gone"
    assert _acceptor("error", True).describe() == "any error"
    assert _acceptor("error", False).describe() == "no error"


def test_only_acceptors_naming_a_code_or_status_name_an_error() -> None:
    """An error is named by a code or status acceptor, never by ``error: true``."""
    assert _acceptor("error", "NotFound").names(ERROR_404)
    assert _acceptor("status", 404).names(ERROR_404)
    assert not _acceptor("error", True).names(ERROR_404)
    assert not _acceptor("error", "Gone").names(ERROR_404)
    assert error_code(ERROR_404) == "NotFound"
    assert error_code(ok({})) is None


@pytest.mark.parametrize(
    ("operation", "method"),
    [
        ("DescribeInstances", "describe_instances"),
        ("GetTranscriptionJob", "get_transcription_job"),
        ("DescribeDBInstances", "describe_db_instances"),
        ("HeadBucket", "head_bucket"),
        ("GetIPSet", "get_ip_set"),
        ("ListV2LoggingLevels", "list_v2_logging_levels"),
    ],
)
def test_operation_names_become_method_names(operation: str, method: str) -> None:
    """API operation names turn into the snake_case client methods that call them."""
    assert method_name(operation) == method


def _error(code: str, status: int = 400) -> FakeClientError:
    return FakeClientError(code, status=status)


class _BotocoreLike(Exception):
    """Named like botocore's transport errors, as duck typing sees them."""


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_error("Throttling"), True),
        (_error("ThrottlingException"), True),
        (_error("RequestLimitExceeded", 503), True),
        (_error("TooManyRequestsException", 429), True),
        (_error("ProvisionedThroughputExceededException"), True),
        (_error("SlowDown", 503), True),
        (_error("InternalError", 500), True),
        (_error("Whatever", 502), True),
        (_error("Whatever", 504), True),
        (_error("Whatever", 501), False),
        (_error("ValidationException"), False),
        (_error("ResourceNotFoundException", 404), False),
        (ConnectionResetError("reset"), True),
        (TimeoutError("read timed out"), True),
        (ValueError("bad parameter"), False),
        (
            tarry.OperationTimedOut(
                "t",
                timeout=timedelta(0),
                elapsed=timedelta(0),
                attempts=1,
                entity=None,
                state=None,
                message=None,
                last_error=None,
            ),
            False,
        ),
    ],
)
def test_transient_errors_are_throttling_5xx_and_connection_failures(
    error: Exception, transient: bool
) -> None:
    """Throttling codes, 5xx and connection errors are transient; the rest are not."""
    assert is_transient(error) is transient


@pytest.mark.parametrize("name", ["ConnectionError", "HTTPClientError"])
def test_botocore_transport_errors_are_transient_by_their_class(name: str) -> None:
    """Subclasses of botocore's ConnectionError or HTTPClientError are transient."""
    base = type(name, (Exception,), {"__module__": "botocore.exceptions"})
    error = type("EndpointTrouble", (base,), {})("could not connect")
    assert is_transient(error)
    elsewhere = type(name, (Exception,), {"__module__": "myapp.errors"})
    assert not is_transient(elsewhere("not botocore's"))


def _verdict(spec: tarry.Spec[tarry.aws.Response], response: Any) -> tarry.aws.Verdict:
    verdict = spec.read_state(response)
    assert isinstance(verdict, tarry.aws.Verdict)
    return verdict


def test_the_spec_judges_each_response_by_its_acceptor() -> None:
    """A spec's state is the matched acceptor; the unmatched cases have two verdicts."""
    running = WaiterModel.from_dict(MODEL)["InstanceRunning"]
    spec = spec_for(running)
    assert _verdict(spec, instances("running")).state == "success"
    assert spec.read_state(instances("pending")) is WAITING
    assert _verdict(spec, FakeClientError("InvalidInstanceID.NotFound").response).index == 4
    assert spec.read_state(FakeClientError("AuthFailure").response) is UNEXPECTED_ERROR
    assert spec.goal == 'all Reservations[].Instances[].State.Name == "running"'
    assert str(spec.read_state(instances("terminated"))) == (
        'any Reservations[].Instances[].State.Name == "terminated" (failure)'
    )
    assert spec.read_message(instances("pending")) == (
        'Reservations[].Instances[].State.Name = ["pending"]'
    )
    assert spec.read_message(FakeClientError("AuthFailure", "no").response) == "AuthFailure: no"
    assert spec.read_message(FakeClientError("AuthFailure").response) == "AuthFailure"


def test_a_non_dict_response_is_unreadable() -> None:
    """A reply that is not a dict is an UnreadableEntity naming the type."""
    spec = spec_for(WaiterModel.from_dict(MODEL)["TranscriptionJobCompleted"])
    with pytest.raises(tarry.UnreadableEntity, match="must be a dict, not list"):
        spec.read_state([job("QUEUED")])  # type: ignore[arg-type]


def test_a_long_observed_value_is_cut_in_the_message() -> None:
    """Messages stay short however much a path finds."""
    spec = spec_for(WaiterModel.from_dict(MODEL)["InstanceRunning"])
    message = spec.read_message(instances(*["pending"] * 500))
    assert message is not None
    assert len(message) < 400
    assert message.endswith("...")


def test_the_policy_is_a_time_budget_with_constant_backoff() -> None:
    """By default: Constant(delay) and a budget of delay * maxAttempts, retrying AWS errors."""
    definition = WaiterModel.from_dict(MODEL)["InstanceRunning"]
    policy = policy_for(definition)
    assert policy.timeout_seconds == 15 * 40
    assert policy.backoff == tarry.Constant(15)
    assert callable(policy.retry_on)
    assert policy.retry_on(_error("Throttling"))
    faster = policy_for(definition, delay=0.2)
    assert faster.backoff == tarry.Constant(0.2)
    assert faster.timeout_seconds == pytest.approx(8.0)
    custom = policy_for(definition, timeout=None, backoff=tarry.Linear(), retry_on=KeyError)
    assert custom.timeout_seconds is None
    assert custom.backoff == tarry.Linear()
    assert callable(custom.retry_on)
    assert custom.retry_on(KeyError("x"))
    assert custom.retry_on(_error("Throttling"))
    assert not custom.retry_on(ValueError())
    with pytest.raises(ValueError, match="seconds must be finite and non-negative"):
        policy_for(definition, delay=-1)
    with pytest.raises(TypeError, match="must be a WaiterDefinition"):
        policy_for("InstanceRunning")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a WaiterDefinition"):
        spec_for(MODEL)  # type: ignore[arg-type]


def test_definitions_build_from_a_single_waiter_dict() -> None:
    """WaiterDefinition.from_dict reads one waiter alone, as found in a model."""
    definition = WaiterDefinition.from_dict("Job", MODEL["waiters"]["TranscriptionJobCompleted"])
    assert definition.operation == "GetTranscriptionJob"
    assert definition.description is None


def test_odd_values_still_show_in_messages() -> None:
    """Values JSON cannot show (a set, a cycle) are shown by repr, never an error."""
    assert _acceptor("path", {1}, "A").describe() == "A == {1}"
    assert _acceptor("status", 200).search(ok({})) is None
    cycle: list[Any] = []
    cycle.append(cycle)
    spec = spec_for(WaiterModel.from_dict(MODEL)["TranscriptionJobCompleted"])
    message = spec.read_message({"TranscriptionJob": {"TranscriptionJobStatus": cycle}})
    assert message == "TranscriptionJob.TranscriptionJobStatus = [[...]]"
    assert repr(WaiterModel.from_dict(MODEL)) == f"<WaiterModel {len(MODEL['waiters'])} waiters>"


def test_import_without_jmespath() -> None:
    """``import tarry`` works without jmespath; ``import tarry.aws`` says how to install it."""
    code = (
        "import sys; sys.modules['jmespath'] = None\n"
        "import tarry\n"
        "try:\n"
        "    import tarry.aws\n"
        "except ImportError as e:\n"
        "    print('MSG', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "MSG tarry.aws needs jmespath" in out.stdout
    assert "pip install 'tarry[aws]'" in out.stdout
