"""Stand-ins for AWS clients, and a few real waiter definitions, for tests without botocore.

The definitions are copied from botocore's ``waiters-2.json`` files (ec2, transcribe,
dsql, s3) as data; the stub clients answer from a script, so the unit tests need
neither botocore nor a network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MODEL_JSON = """
{
  "version": 2,
  "waiters": {
    "InstanceRunning": {
      "delay": 15, "operation": "DescribeInstances", "maxAttempts": 40,
      "acceptors": [
        {"expected": "running", "matcher": "pathAll", "state": "success",
         "argument": "Reservations[].Instances[].State.Name"},
        {"expected": "shutting-down", "matcher": "pathAny", "state": "failure",
         "argument": "Reservations[].Instances[].State.Name"},
        {"expected": "terminated", "matcher": "pathAny", "state": "failure",
         "argument": "Reservations[].Instances[].State.Name"},
        {"expected": "stopping", "matcher": "pathAny", "state": "failure",
         "argument": "Reservations[].Instances[].State.Name"},
        {"matcher": "error", "expected": "InvalidInstanceID.NotFound", "state": "retry"}
      ]
    },
    "TranscriptionJobCompleted": {
      "operation": "GetTranscriptionJob", "delay": 10, "maxAttempts": 180,
      "acceptors": [
        {"state": "success", "matcher": "path",
         "argument": "TranscriptionJob.TranscriptionJobStatus", "expected": "COMPLETED"},
        {"state": "failure", "matcher": "path",
         "argument": "TranscriptionJob.TranscriptionJobStatus", "expected": "FAILED"}
      ]
    },
    "ClusterNotExists": {
      "description": "Wait until a Cluster is gone",
      "delay": 2, "maxAttempts": 60, "operation": "GetCluster",
      "acceptors": [
        {"matcher": "error", "state": "success", "expected": "ResourceNotFoundException"}
      ]
    },
    "BucketExists": {
      "delay": 5, "operation": "HeadBucket", "maxAttempts": 20,
      "acceptors": [
        {"expected": 200, "matcher": "status", "state": "success"},
        {"expected": 301, "matcher": "status", "state": "success"},
        {"expected": 403, "matcher": "status", "state": "success"},
        {"expected": 404, "matcher": "status", "state": "retry"}
      ]
    },
    "FunctionReady": {
      "delay": 1, "operation": "GetFunction", "maxAttempts": 10,
      "acceptors": [
        {"matcher": "error", "expected": true, "state": "failure"},
        {"matcher": "error", "expected": false, "state": "success"}
      ]
    },
    "GoneOrBroken": {
      "delay": 1, "operation": "GetThing", "maxAttempts": 10,
      "acceptors": [
        {"matcher": "path", "argument": "Thing.Ready", "expected": true, "state": "success"},
        {"matcher": "error", "expected": "ServiceUnavailable", "state": "failure"}
      ]
    }
  }
}
"""

MODEL: dict[str, Any] = json.loads(MODEL_JSON)


class FakeClientError(Exception):
    """Shaped like botocore's ClientError: the parsed error response in ``.response``."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(f"An error occurred ({code}): {message}")
        self.response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }


def ok(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """A successful response as botocore parses it, with its metadata."""
    return {**body, "ResponseMetadata": {"HTTPStatusCode": status}}


def job(status: str | None, reason: str | None = None) -> dict[str, Any]:
    """A GetTranscriptionJob response."""
    body: dict[str, Any] = {"TranscriptionJobName": "job"}
    if status is not None:
        body["TranscriptionJobStatus"] = status
    if reason is not None:
        body["FailureReason"] = reason
    return ok({"TranscriptionJob": body})


def instances(*states: str) -> dict[str, Any]:
    """A DescribeInstances response with one reservation holding these instance states."""
    if not states:
        return ok({"Reservations": []})
    found = [{"InstanceId": f"i-{n}", "State": {"Name": s}} for n, s in enumerate(states)]
    return ok({"Reservations": [{"Instances": found}]})


Reply = dict[str, Any] | BaseException


class StubClient:
    """Answers every operation from one script, in order; the last reply repeats.

    A reply is a response dict, or an exception to raise. ``calls`` records each call
    as (method name, keyword arguments).
    """

    def __init__(self, replies: Iterable[Reply]) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((method, params))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def describe_instances(self, **params: Any) -> dict[str, Any]:
        return self._answer("describe_instances", params)

    def get_transcription_job(self, **params: Any) -> dict[str, Any]:
        return self._answer("get_transcription_job", params)

    def get_cluster(self, **params: Any) -> dict[str, Any]:
        return self._answer("get_cluster", params)

    def head_bucket(self, **params: Any) -> dict[str, Any]:
        return self._answer("head_bucket", params)

    def get_function(self, **params: Any) -> dict[str, Any]:
        return self._answer("get_function", params)

    def get_thing(self, **params: Any) -> dict[str, Any]:
        return self._answer("get_thing", params)


class AsyncStubClient(StubClient):
    """The same script, answered by coroutines (as aiobotocore's methods are)."""

    async def describe_instances(self, **params: Any) -> dict[str, Any]:  # type: ignore[override]
        return self._answer("describe_instances", params)

    async def get_transcription_job(self, **params: Any) -> dict[str, Any]:  # type: ignore[override]
        return self._answer("get_transcription_job", params)

    async def get_cluster(self, **params: Any) -> dict[str, Any]:  # type: ignore[override]
        return self._answer("get_cluster", params)
