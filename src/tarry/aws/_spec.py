"""A waiter definition as a tarry ``Spec`` and ``Policy``: no loop of its own.

The *state* of a response is the acceptor it matched, as a ``Verdict``. Success and
failure are the finite sets of verdicts of the success and failure acceptors, so the
core judges responses exactly as it judges any other entity. Two verdicts stand for
"no acceptor matched": ``WAITING`` for an ordinary response (botocore keeps waiting)
and ``UNEXPECTED_ERROR`` for an error response (botocore fails the wait).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tarry._backoff import Backoff, Constant
from tarry._base import UNSET
from tarry._policy import Policy, RetryOn, Timeout, retry_test
from tarry._spec import Spec

from ._model import WaiterDefinition, is_error_response
from ._transient import is_transient

__all__ = ["UNEXPECTED_ERROR", "WAITING", "Response", "Verdict", "policy_for", "spec_for"]

Response = dict[str, Any]
"""What a waiter polls: an operation's response, or the error response of a client error."""


@dataclass(frozen=True)
class Verdict:
    """Which acceptor a response matched (``index``), the state it leads to, and why."""

    index: int
    state: str
    condition: str

    def __str__(self) -> str:
        if self.index < 0:
            return self.condition
        return f"{self.condition} ({self.state})"


WAITING = Verdict(-1, "retry", "waiting")
"""The verdict on a response no acceptor matched: keep waiting, as botocore does."""

UNEXPECTED_ERROR = Verdict(-2, "failure", "an error no acceptor expects")
"""The verdict on an error response no acceptor matched: the wait fails, as in botocore."""

_LONGEST_MESSAGE = 300


def _brief(value: object) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _LONGEST_MESSAGE:
        text = text[: _LONGEST_MESSAGE - 3] + "..."
    return text


def spec_for(definition: WaiterDefinition) -> Spec[Response]:
    """The ``Spec`` of a waiter: responses judged by the first acceptor they match.

    Its message is the error code and text for an error response, else what each path
    argument of the waiter finds in the response (``VocabularyState = "PENDING"``).
    """
    if not isinstance(definition, WaiterDefinition):
        raise TypeError(f"definition must be a WaiterDefinition, not {type(definition).__name__}")
    verdicts = tuple(
        Verdict(index, acceptor.state, acceptor.describe())
        for index, acceptor in enumerate(definition.acceptors)
    )
    paths: dict[str, Any] = {}
    for acceptor in definition.acceptors:
        if acceptor.argument is not None:
            paths.setdefault(acceptor.argument, acceptor)

    def state(response: Response) -> Verdict:
        if not isinstance(response, Mapping):
            raise TypeError(f"an AWS response must be a dict, not {type(response).__name__}")
        index = definition.match(response)
        if index is not None:
            return verdicts[index]
        return UNEXPECTED_ERROR if is_error_response(response) else WAITING

    def message(response: Response) -> str | None:
        if is_error_response(response):
            error = response["Error"]
            text = error.get("Message") or error.get("message")
            return f"{error['Code']}: {text}" if text else str(error["Code"])
        found = [f"{path} = {_brief(a.search(response))}" for path, a in paths.items()]
        return "; ".join(found) or None

    success = [v for v in verdicts if v.state == "success"]
    return Spec(
        name=definition.name,
        state=state,
        message=message,
        success=frozenset(success),
        failure=frozenset([v for v in verdicts if v.state == "failure"] + [UNEXPECTED_ERROR]),
        goal=" or ".join(v.condition for v in success),
    )


def transient_test(retry_on: RetryOn | None = None) -> Callable[[Exception], bool]:
    """AWS's transient errors (``is_transient``), plus whatever ``retry_on`` accepts."""
    extra = retry_test(retry_on)
    if retry_on is None:
        return is_transient

    def transient(error: Exception) -> bool:
        return is_transient(error) or extra(error)

    return transient


def policy_for(
    definition: WaiterDefinition,
    *,
    delay: float | None = None,
    timeout: Timeout = UNSET,
    backoff: Backoff | None = None,
    retry_on: RetryOn | None = None,
) -> Policy:
    """The ``Policy`` of a waiter: a time budget in place of an attempt count.

    ``delay`` defaults to the model's. ``timeout`` defaults to ``delay * maxAttempts``
    (the time boto3 spends sleeping before it gives up); ``None`` waits with no
    deadline. ``backoff`` defaults to ``Constant(delay)``. Transient errors
    (throttling, 5xx, connection errors, and whatever ``retry_on`` adds) are retried.
    """
    if not isinstance(definition, WaiterDefinition):
        raise TypeError(f"definition must be a WaiterDefinition, not {type(definition).__name__}")
    seconds = definition.delay if delay is None else Constant(delay).seconds
    if timeout is UNSET:
        timeout = seconds * definition.max_attempts
    return Policy(
        timeout=timeout,
        backoff=Constant(seconds) if backoff is None else backoff,
        retry_on=transient_test(retry_on),
    )
