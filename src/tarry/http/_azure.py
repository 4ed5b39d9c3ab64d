"""Azure long-running operations, as pure rules over responses.

The initial PUT, PATCH, POST or DELETE response picks how to poll (``plan``):

1. an ``Azure-AsyncOperation`` header: poll that status monitor, whose body has a
   ``status``;
2. an ``Operation-Location`` header: the same, the newer name;
3. a ``Location`` header: poll it; 202 means "still going", anything else is the end,
   unless the body says otherwise (``status`` or ``properties.provisioningState``):
   a 200 that says ``Failed`` is a failure;
4. a body with ``properties.provisioningState`` (or a 201/202 to a PUT or PATCH):
   poll the resource itself, at the original URL;
5. otherwise the operation is already over, and the initial body is the result.

Statuses are compared without regard to case: ``Succeeded``; ``Failed``, ``Canceled`` and
``Cancelled`` end the wait; anything else means "still going". Each poll response may move
the status monitor (a new header of the same kind): the new URL is followed.

When the status monitor says ``Succeeded``, the result is fetched from where the operation
says (``final_url``), unless the caller chose with ``final_state_via``.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from tarry._spec import Spec

from ._conventions import ShapeError, _message, _read_message, _read_retry_after, _read_state
from ._reply import Reading

__all__ = [
    "AZURE_FAILURE",
    "AZURE_SUCCESS",
    "FINAL_STATE_VIA",
    "AzurePlan",
    "Strategy",
    "azure_spec",
    "final_url",
    "moved_to",
    "plan",
    "read_azure",
]

AZURE_SUCCESS = frozenset({"succeeded"})
AZURE_FAILURE = frozenset({"failed", "canceled", "cancelled"})
FINAL_STATE_VIA = frozenset(
    {"azure-async-operation", "location", "original-uri", "operation-location"}
)
"""The values of ``final_state_via``, as Azure's API specs spell them."""

_METHODS = frozenset({"PUT", "PATCH", "POST", "DELETE"})


class Strategy(enum.Enum):
    """How an Azure operation is polled, chosen from its initial response."""

    ASYNC_OPERATION = "azure-asyncoperation"
    OPERATION_LOCATION = "operation-location"
    LOCATION = "location"
    BODY = "provisioningState"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class AzurePlan:
    """What the initial response decided. URLs are absolute and not yet origin-checked."""

    strategy: Strategy
    method: str
    original_url: str
    poll_url: str | None
    location_url: str | None
    final_state_via: str | None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value.strip() or None if isinstance(value, str) else None


def plan(
    method: str,
    url: str,
    status_code: int,
    headers: Mapping[str, str],
    body: object,
    final_state_via: str | None = None,
    resolve: Any = None,
) -> AzurePlan:
    """The polling strategy for an initial response (``headers`` with lower-case names).

    ``resolve(base, reference)`` makes header URLs absolute (relative ones are common).
    """
    method = method.upper()
    if method not in _METHODS:
        raise ValueError(f"an Azure operation starts with PUT, PATCH, POST or DELETE, not {method}")
    if final_state_via is not None and final_state_via not in FINAL_STATE_VIA:
        raise ValueError(
            f"final_state_via must be one of {', '.join(sorted(FINAL_STATE_VIA))}, "
            f"not {final_state_via!r}"
        )
    join = resolve if resolve is not None else (lambda base, ref: ref)
    location = _header(headers, "location")
    location_url = join(url, location) if location else None
    state = provisioning_state(body)
    if (
        state is not None
        and is_terminal(state)
        and method in ("PUT", "PATCH")
        and status_code in (200, 201)
    ):
        # The resource itself says the operation is over: any polling header is stale.
        return AzurePlan(Strategy.DONE, method, url, None, location_url, final_state_via)
    for strategy in (Strategy.ASYNC_OPERATION, Strategy.OPERATION_LOCATION):
        link = _header(headers, strategy.value)
        if link:
            return AzurePlan(strategy, method, url, join(url, link), location_url, final_state_via)
    if location_url is not None:
        return AzurePlan(
            Strategy.LOCATION, method, url, location_url, location_url, final_state_via
        )
    if state is not None and not is_terminal(state):
        return AzurePlan(Strategy.BODY, method, url, url, None, final_state_via)
    if state is None and status_code in (201, 202) and method in ("PUT", "PATCH"):
        return AzurePlan(Strategy.BODY, method, url, url, None, final_state_via)
    if status_code == 202:
        raise ShapeError("a 202 with no Azure-AsyncOperation, Operation-Location or Location")
    return AzurePlan(Strategy.DONE, method, url, None, location_url, final_state_via)


def provisioning_state(body: object) -> str | None:
    """``properties.provisioningState`` of a resource body, if it has one."""
    if isinstance(body, Mapping):
        properties = body.get("properties")
        if isinstance(properties, Mapping):
            state = properties.get("provisioningState")
            if state is not None and not isinstance(state, str):
                raise ShapeError("properties.provisioningState must be a string")
            return state
    return None


def is_terminal(state: str) -> bool:
    folded = state.casefold()
    return folded in AZURE_SUCCESS or folded in AZURE_FAILURE


def _error_message(body: object) -> str | None:
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping):
        text = _message(error.get("message"))
        code = error.get("code")
        if text and isinstance(code, str) and code:
            return f"{code}: {text}"
        return text or (code if isinstance(code, str) else None)
    return None


def read_azure(strategy: Strategy, status_code: int, body: object) -> Reading:
    """The status of one poll response under ``strategy`` (state as the server spells it)."""
    if strategy in (Strategy.ASYNC_OPERATION, Strategy.OPERATION_LOCATION):
        if not isinstance(body, Mapping):
            raise ShapeError("a status monitor's body must be a JSON object with a 'status'")
        status = body.get("status")
        if not isinstance(status, str) or not status:
            raise ShapeError("the status monitor's body has no 'status' string")
        return Reading(status, _error_message(body))
    if strategy is Strategy.LOCATION and status_code == 202:
        return Reading("InProgress")
    if strategy is Strategy.LOCATION and isinstance(body, Mapping):
        status = body.get("status")
        if isinstance(status, str) and status:
            return Reading(status, _error_message(body))
    if strategy is Strategy.BODY and status_code != 202 and not isinstance(body, Mapping):
        raise ShapeError("the resource answered without a JSON object; it must be the resource")
    state = provisioning_state(body)
    if state is not None:
        return Reading(state, _error_message(body))
    if status_code == 202:
        return Reading("InProgress")
    return Reading("Succeeded", _error_message(body))


def moved_to(strategy: Strategy, headers: Mapping[str, str]) -> str | None:
    """The new status monitor a poll response points to, if it moved (not yet resolved)."""
    if strategy in (Strategy.ASYNC_OPERATION, Strategy.OPERATION_LOCATION, Strategy.LOCATION):
        return _header(headers, strategy.value)
    return None


def final_url(azure: AzurePlan, status_body: object, resolve: Any = None) -> str | None:
    """Where the result of a succeeded operation is fetched, or ``None``: the last body.

    ``final_state_via`` decides if the caller gave it. Otherwise: a PUT or PATCH reads the
    resource at its original URL, a POST its Location; an Operation-Location monitor's
    ``resourceLocation`` comes next; else the status body itself is the result.
    """
    join = resolve if resolve is not None else (lambda base, ref: ref)
    via = azure.final_state_via
    if azure.strategy in (Strategy.BODY, Strategy.DONE):
        return None
    if via == "original-uri":
        return azure.original_url
    if via == "location":
        return azure.location_url
    if via in ("azure-async-operation", "operation-location"):
        return None
    if azure.strategy is Strategy.LOCATION:
        return None  # the Location's own final answer is the result
    if azure.method in ("PUT", "PATCH"):
        return azure.original_url
    if azure.method == "POST" and azure.location_url is not None:
        return azure.location_url
    if azure.strategy is Strategy.OPERATION_LOCATION and isinstance(status_body, Mapping):
        where = status_body.get("resourceLocation")
        if isinstance(where, str) and where.strip() and azure.poll_url is not None:
            return str(join(azure.poll_url, where))
    return None


def _folded(entity: object, states: frozenset[str]) -> bool:
    from ._reply import reading_of

    state: Hashable | None = reading_of(entity).state
    return isinstance(state, str) and state.casefold() in states


def azure_spec(name: str) -> Spec[Any]:
    """Succeeded (any case) succeeds; Failed, Canceled or Cancelled (any case) fail."""

    def succeeded(entity: object) -> bool:
        return _folded(entity, AZURE_SUCCESS)

    def failed(entity: object) -> bool:
        return _folded(entity, AZURE_FAILURE)

    return Spec(
        name,
        state=_read_state,
        message=_read_message,
        success=succeeded,
        failure=failed,
        retry_after=_read_retry_after,
        goal="Succeeded",
    )
