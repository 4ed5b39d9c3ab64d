"""botocore's waiter models, run on tarry: a time budget, tarry's backoff and errors.

AWS SDKs describe their waiters as data (``waiters-2.json``): an operation to call and
acceptors that read each response with JMESPath. This package turns any such waiter into
a ``tarry.Wait`` (or ``AsyncWait``), so the sans-IO core makes every timing decision::

    import boto3, tarry.aws

    ec2 = boto3.client("ec2")
    wait = tarry.aws.waiter(ec2, "instance_running", InstanceIds=[instance_id])
    response = wait.result(timeout=600)          # the DescribeInstances response

    # an aiobotocore client (asyncio), or any client whose methods return awaitables
    response = await tarry.aws.async_waiter(client, "TranscriptionJobCompleted",
                                            TranscriptionJobName="job").result()

How it differs from boto3's ``client.get_waiter(name).wait(...)``:

- the wait lasts a time budget (default ``delay * maxAttempts`` from the model, or
  ``timeout=``), not a count of attempts, with a final poll at the deadline;
- throttling, 5xx and connection errors are retried within the budget (an acceptor
  that names the error's code or status still wins);
- it ends with ``tarry.OperationFailed`` or ``tarry.OperationTimedOut``, whose
  ``.entity`` is the last response, and returns the last response on success.

botocore is needed only to load a client's model: pass ``model=`` (a ``WaiterModel`` or
a parsed ``waiters-2.json`` dict) and any object with the operation's method will do.
Requires the ``aws`` extra (``jmespath``).
"""

from __future__ import annotations

try:
    import jmespath as _jmespath  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "tarry.aws needs jmespath, which comes with the aws extra: pip install 'tarry[aws]'"
    ) from _missing

from ._load import method_name, model_for
from ._model import (
    MATCHERS,
    STATES,
    Acceptor,
    ModelError,
    WaiterDefinition,
    WaiterModel,
    error_code,
    is_error_response,
)
from ._spec import UNEXPECTED_ERROR, WAITING, Response, Verdict, policy_for, spec_for
from ._transient import (
    THROTTLING_CODES,
    TRANSIENT_CODES,
    TRANSIENT_STATUSES,
    error_response,
    is_transient,
)
from ._waiter import async_waiter, waiter

__all__ = [
    "MATCHERS",
    "STATES",
    "THROTTLING_CODES",
    "TRANSIENT_CODES",
    "TRANSIENT_STATUSES",
    "UNEXPECTED_ERROR",
    "WAITING",
    "Acceptor",
    "ModelError",
    "Response",
    "Verdict",
    "WaiterDefinition",
    "WaiterModel",
    "async_waiter",
    "error_code",
    "error_response",
    "is_error_response",
    "is_transient",
    "method_name",
    "model_for",
    "policy_for",
    "spec_for",
    "waiter",
]
