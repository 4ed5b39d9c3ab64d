"""The scenarios run by both waiters on moto: a resource, how to make it, how it must end.

Each setup function creates one resource with a boto3 client and returns the waiter's
arguments for it; moto's state manager moves the resource through its states over real
time (``transitions``, one state every ``seconds``). ``throttle`` injects throttling
errors into a client, the way AWS sends them, for the C08 scenarios.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["SCENARIOS", "Scenario", "throttle"]

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
