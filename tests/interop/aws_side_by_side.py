"""boto3's waiter and tarry's, built from the same botocore model, on twin resources.

Each scenario creates two identical resources on one moto server at the same moment,
then runs boto3's ``client.get_waiter(name).wait(...)`` on one and
``tarry.aws.waiter(client, name, ...).result()`` on the other, in two threads at once.
Both get the same delay; boto3 gets ``MaxAttempts`` and tarry the matching time budget
(``delay * maxAttempts``, its default). Each side counts its polls (calls of the
waiter's operation, through botocore's events) and the time from its start to its end.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import tarry
import tarry.aws

from .aws_moto import Calls, MotoServer, count_calls

__all__ = ["SCENARIOS", "Run", "Scenario", "run_async_pair", "run_pair"]

Setup = Callable[[Any, str], dict[str, Any]]
"""Creates one resource with a client and a unique suffix; returns the waiter's arguments."""


@dataclass(frozen=True)
class Scenario:
    """One resource, the waiter run on it, and the outcome both waiters must reach."""

    id: str
    service: str
    waiter: str
    setup: Setup
    expected: str  # "success", "failure" or "timeout"
    what: str  # the resource and its states, for the docs
    transitions: tuple[str, ...] = ()  # state-manager models moved by real time
    seconds: float = 0.5  # between two states
    delay: float = 0.2
    max_attempts: int = 60
    throttle_every: int = 0  # every n-th poll is answered "ThrottlingException" (0: none)
    retries: int | None = None  # botocore's total_max_attempts per call (None: its default)
    boto3_expected: str | None = None  # where boto3 is known to end otherwise

    @property
    def budget(self) -> float:
        """tarry's time budget: the time boto3 sleeps over its attempts, delay * maxAttempts."""
        return self.delay * self.max_attempts

    @property
    def expected_boto3(self) -> str:
        return self.expected if self.boto3_expected is None else self.boto3_expected


@dataclass(frozen=True)
class Run:
    """How one waiter ended: its outcome, its polls, its time and the acceptor it matched."""

    outcome: str
    polls: int
    seconds: float
    matched: int | None
    detail: str


def _job(client: Any, suffix: str) -> dict[str, Any]:
    name = f"job-{suffix}"
    client.start_transcription_job(
        TranscriptionJobName=name,
        LanguageCode="en-US",
        MediaFormat="mp3",
        Media={"MediaFileUri": f"s3://media/{name}.mp3"},
    )
    return {"TranscriptionJobName": name}


def _vocabulary(client: Any, suffix: str) -> dict[str, Any]:
    name = f"vocabulary-{suffix}"
    client.create_vocabulary(VocabularyName=name, LanguageCode="en-US", Phrases=["tarry"])
    return {"VocabularyName": name}


def _distribution(client: Any, suffix: str) -> dict[str, Any]:
    origin = {
        "Id": "origin",
        "DomainName": "media.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    behaviour = {
        "TargetOriginId": "origin",
        "ViewerProtocolPolicy": "allow-all",
        "MinTTL": 0,
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        "TrustedSigners": {"Enabled": False, "Quantity": 0},
    }
    reply = client.create_distribution(
        DistributionConfig={
            "CallerReference": suffix,
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": behaviour,
        }
    )
    return {"Id": reply["Distribution"]["Id"]}


def _replication_instance(client: Any, suffix: str) -> dict[str, Any]:
    name = f"ri-{suffix}"
    client.create_replication_instance(
        ReplicationInstanceIdentifier=name, ReplicationInstanceClass="dms.t3.micro"
    )
    return {"Filters": [{"Name": "replication-instance-id", "Values": [name]}]}


def _cluster(client: Any, suffix: str) -> dict[str, Any]:
    return {"identifier": client.create_cluster(deletionProtectionEnabled=False)["identifier"]}


def _deleted_cluster(client: Any, suffix: str) -> dict[str, Any]:
    identifier = client.create_cluster(deletionProtectionEnabled=False)["identifier"]
    client.delete_cluster(identifier=identifier)
    return {"identifier": identifier}


def _missing_cluster(client: Any, suffix: str) -> dict[str, Any]:
    return {"identifier": f"missing{suffix}"}


def _terminated_instance(client: Any, suffix: str) -> dict[str, Any]:
    reply = client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    instance = reply["Instances"][0]["InstanceId"]
    client.terminate_instances(InstanceIds=[instance])
    return {"InstanceIds": [instance]}


SCENARIOS = [
    Scenario(
        "transcription-job-completed",
        "transcribe",
        "transcription_job_completed",
        _job,
        "success",
        "Transcribe job: (none), QUEUED, IN_PROGRESS, COMPLETED",
        ("transcribe::transcriptionjob",),
    ),
    Scenario(
        "vocabulary-ready",
        "transcribe",
        "vocabulary_ready",
        _vocabulary,
        "success",
        "Transcribe vocabulary: PENDING, READY",
        ("transcribe::vocabulary",),
    ),
    Scenario(
        "distribution-deployed",
        "cloudfront",
        "distribution_deployed",
        _distribution,
        "success",
        "CloudFront distribution: InProgress, Deployed",
        ("cloudfront::distribution",),
    ),
    Scenario(
        "replication-instance-available",
        "dms",
        "replication_instance_available",
        _replication_instance,
        "success",
        "DMS replication instance: creating, available (pathAll)",
        ("dms::replicationinstance",),
    ),
    Scenario(
        "dsql-cluster-active",
        "dsql",
        "cluster_active",
        _cluster,
        "success",
        "DSQL cluster: CREATING, ACTIVE",
        ("dsql::cluster",),
    ),
    Scenario(
        "dsql-cluster-not-exists",
        "dsql",
        "cluster_not_exists",
        _deleted_cluster,
        "success",
        "DSQL cluster deleted: DELETING, then ResourceNotFoundException (error acceptor)",
        ("dsql::cluster",),
    ),
    Scenario(
        "ec2-terminated-instance-running",
        "ec2",
        "instance_running",
        _terminated_instance,
        "failure",
        "EC2 instance terminated, waited on as InstanceRunning (pathAny failure)",
    ),
    Scenario(
        "dsql-missing-cluster-active",
        "dsql",
        "cluster_active",
        _missing_cluster,
        "failure",
        "DSQL cluster that does not exist: an error no acceptor expects",
    ),
    Scenario(
        "transcription-job-too-slow",
        "transcribe",
        "transcription_job_completed",
        _job,
        "timeout",
        "Transcribe job moving every 30 s, budget 5 polls / 1 s",
        ("transcribe::transcriptionjob",),
        seconds=30.0,
        max_attempts=5,
    ),
    Scenario(
        "transcription-job-throttled-client-retries-off",
        "transcribe",
        "transcription_job_completed",
        _job,
        "success",
        "Transcribe job, every 2nd poll throttled, botocore's own retries off",
        ("transcribe::transcriptionjob",),
        throttle_every=2,
        retries=1,
        boto3_expected="failure",
    ),
    Scenario(
        "transcription-job-throttled-client-retries-on",
        "transcribe",
        "transcription_job_completed",
        _job,
        "success",
        "Transcribe job, every 2nd poll throttled, botocore's default retries",
        ("transcribe::transcriptionjob",),
        throttle_every=2,
    ),
]


class _Body:
    """The raw body of an injected response, shaped as botocore reads one."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


def throttle(client: Any, operation: str, every: int) -> None:
    """Answer every ``every``-th HTTP request for ``operation`` with a throttling error.

    The answer is made in the client (botocore's ``before-send`` event), the way AWS
    sends it for JSON services: HTTP 400 with ``__type: ThrottlingException``. Other
    requests go to the server as usual.
    """
    from botocore.awsrequest import AWSResponse

    service = client.meta.service_model.service_id.hyphenize()
    seen = itertools.count(1)
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "throttled"}

    def answer(request: Any, **kwargs: Any) -> Any:
        if next(seen) % every:
            return None
        return AWSResponse(request.url, 400, headers, _Body(body))

    client.meta.events.register(f"before-send.{service}.{operation}", answer)


def _boto3_wait(client: Any, scenario: Scenario, params: dict[str, Any], calls: Calls) -> Run:
    from botocore.exceptions import WaiterError

    waiter = client.get_waiter(scenario.waiter)
    config = {"Delay": scenario.delay, "MaxAttempts": scenario.max_attempts}
    calls.start()
    began = time.monotonic()
    try:
        waiter.wait(**params, WaiterConfig=config)
        outcome, detail = "success", ""
    except WaiterError as error:
        reason = str(error.kwargs.get("reason", ""))
        outcome = "timeout" if "Max attempts exceeded" in reason else "failure"
        detail = str(error)
    return _finish(outcome, detail, began, calls, scenario, client)


def _tarry_wait(client: Any, scenario: Scenario, params: dict[str, Any], calls: Calls) -> Run:
    wait = tarry.aws.waiter(
        client, scenario.waiter, delay=scenario.delay, timeout=scenario.budget, **params
    )
    calls.start()
    began = time.monotonic()
    try:
        wait.result()
        outcome, detail = "success", ""
    except tarry.OperationFailed as error:
        outcome, detail = "failure", str(error)
    except tarry.OperationTimedOut as error:
        outcome, detail = "timeout", str(error)
    return _finish(outcome, detail, began, calls, scenario, client)


def _finish(
    outcome: str, detail: str, began: float, calls: Calls, scenario: Scenario, client: Any
) -> Run:
    seconds = time.monotonic() - began
    definition = tarry.aws.model_for(client)[scenario.waiter]
    matched = None if calls.last is None else definition.match(calls.last)
    return Run(outcome, calls.count, seconds, matched, detail)


Side = tuple[Any, dict[str, Any], Calls]
"""A client, the waiter's arguments for its own resource, and the count of its polls."""


def _side(server: MotoServer, scenario: Scenario, suffix: str) -> Side:
    config = (
        {} if scenario.retries is None else {"retries": {"total_max_attempts": scenario.retries}}
    )
    client = server.client(scenario.service, **config)
    operation = tarry.aws.model_for(client)[scenario.waiter].operation
    params = scenario.setup(client, suffix)
    if scenario.throttle_every:
        throttle(client, operation, scenario.throttle_every)
    return client, params, count_calls(client, operation)


def run_pair(server: MotoServer, scenario: Scenario, tarry_first: bool) -> tuple[Run, Run]:
    """boto3's waiter and tarry's on twin resources, at the same time: (boto3, tarry).

    ``tarry_first`` creates tarry's resource (and starts its thread) first; alternating
    it between runs keeps either side from always getting the head start.
    """
    for model in scenario.transitions:
        server.set_transition(model, scenario.seconds)
    suffix = uuid.uuid4().hex[:10]
    if tarry_first:
        ours, our_params, our_calls = _side(server, scenario, "t" + suffix)
        theirs, their_params, their_calls = _side(server, scenario, "b" + suffix)
    else:
        theirs, their_params, their_calls = _side(server, scenario, "b" + suffix)
        ours, our_params, our_calls = _side(server, scenario, "t" + suffix)
    results: dict[str, Run] = {}
    failures: list[BaseException] = []

    def run(key: str, job: Callable[[], Run]) -> None:
        try:
            results[key] = job()
        except BaseException as error:  # surfaced in the test below
            failures.append(error)

    threads = [
        threading.Thread(
            target=run,
            args=("boto3", lambda: _boto3_wait(theirs, scenario, their_params, their_calls)),
        ),
        threading.Thread(
            target=run,
            args=("tarry", lambda: _tarry_wait(ours, scenario, our_params, our_calls)),
        ),
    ]
    if tarry_first:
        threads.reverse()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]
    return results["boto3"], results["tarry"]


async def run_async_pair(
    server: MotoServer, scenario: Scenario, tarry_first: bool
) -> tuple[Run, Run]:
    """aiobotocore's own waiter and ``tarry.aws.async_waiter`` side by side under asyncio.

    The resources are created with boto3 (setup is not what is compared); the waits
    use aiobotocore clients.
    """
    from aiobotocore.session import get_session
    from botocore.exceptions import WaiterError

    for model in scenario.transitions:
        server.set_transition(model, scenario.seconds)
    maker = server.client(scenario.service)
    suffix = uuid.uuid4().hex[:10]
    if tarry_first:
        our_params = scenario.setup(maker, "u" + suffix)
        their_params = scenario.setup(maker, "a" + suffix)
    else:
        their_params = scenario.setup(maker, "a" + suffix)
        our_params = scenario.setup(maker, "u" + suffix)
    definition = tarry.aws.model_for(maker)[scenario.waiter]
    session = get_session()
    options = server.async_session_kwargs()
    async with (
        session.create_client(scenario.service, **options) as theirs,
        session.create_client(scenario.service, **options) as ours,
    ):
        their_calls = count_calls(theirs, definition.operation)
        our_calls = count_calls(ours, definition.operation)

        async def boto() -> Run:
            waiter = theirs.get_waiter(scenario.waiter)
            config = {"Delay": scenario.delay, "MaxAttempts": scenario.max_attempts}
            their_calls.start()
            began = time.monotonic()
            try:
                await waiter.wait(**their_params, WaiterConfig=config)
                outcome, detail = "success", ""
            except WaiterError as error:
                reason = str(error.kwargs.get("reason", ""))
                outcome = "timeout" if "Max attempts exceeded" in reason else "failure"
                detail = str(error)
            return _finish(outcome, detail, began, their_calls, scenario, maker)

        async def ours_() -> Run:
            wait = tarry.aws.async_waiter(
                ours, scenario.waiter, delay=scenario.delay, timeout=scenario.budget, **our_params
            )
            our_calls.start()
            began = time.monotonic()
            try:
                await wait.result()
                outcome, detail = "success", ""
            except tarry.OperationFailed as error:
                outcome, detail = "failure", str(error)
            except tarry.OperationTimedOut as error:
                outcome, detail = "timeout", str(error)
            return _finish(outcome, detail, began, our_calls, scenario, maker)

        if tarry_first:
            tarry_run, boto3_run = await asyncio.gather(ours_(), boto())
        else:
            boto3_run, tarry_run = await asyncio.gather(boto(), ours_())
    return boto3_run, tarry_run
