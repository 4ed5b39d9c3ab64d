"""Conventions as pure readers: from one response's body to a ``Reading``, and the ``Spec``
that judges it. No I/O here; the flows in ``_flows`` do the requests.

* generic JSON resource: state and message found by a path into the body;
* Google AIP-151 long-running operations: ``done``, ``error {code, message}``,
  ``response``, ``metadata``;
* Databricks-style resources: ``state`` (a string, or an object with
  ``life_cycle_state``, ``result_state``, ``state_message``) or a top-level
  ``life_cycle_state``; ``state_message``; a ``result_state`` that turns a successful
  life cycle state (TERMINATED) into a failure.

Azure's rules need the initial response too, and live in ``_azure``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from typing import Any

from tarry._spec import Spec

from ._body import get_path
from ._reply import Reading, reading_of

__all__ = [
    "DATABRICKS_OK_RESULTS",
    "GOOGLE_CODES",
    "ShapeError",
    "databricks_spec",
    "google_spec",
    "read_databricks",
    "read_google",
    "read_resource",
    "resource_spec",
]


class ShapeError(ValueError):
    """A body is valid JSON but not of the shape the convention reads."""


GOOGLE_CODES = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
"""google.rpc.Code values by number, as an operation's ``error.code`` carries them."""

DATABRICKS_OK_RESULTS = frozenset({"SUCCESS"})
"""The ``result_state`` values that let a TERMINATED run count as a success."""


def _state(value: object, where: str) -> Hashable | None:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ShapeError(f"the state at {where} is a JSON {_kind(value)}, not a string")


def _message(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    return str(value)


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _object(body: object, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ShapeError(f"{what} must be a JSON object, got a JSON {_kind(body)}")
    return body


# -- generic resource ------------------------------------------------------------------


def read_resource(
    body: object,
    state: tuple[str | int, ...],
    message: tuple[str | int, ...] | None = None,
) -> Reading:
    """State and message found by paths into the body (a missing one is ``None``)."""
    found = _state(get_path(body, state), ".".join(map(str, state)))
    text = None if message is None else _message(get_path(body, message))
    return Reading(found, text)


def resource_spec(
    name: str,
    success: Collection[Hashable] | Callable[[Any], bool],
    failure: Collection[Hashable] | Callable[[Any], bool] = (),
    pending: Collection[Hashable] | None = None,
) -> Spec[Any]:
    """A spec over readings: success and failure are states, or predicates on the entity."""
    return Spec(
        name,
        state=_read_state,
        message=_read_message,
        success=success,
        failure=failure,
        pending=pending,
        retry_after=_read_retry_after,
    )


def _read_state(entity: object) -> Hashable | None:
    return reading_of(entity).state


def _read_message(entity: object) -> str | None:
    return reading_of(entity).message


def _read_retry_after(entity: object) -> float | None:
    return reading_of(entity).retry_after


# -- Google AIP-151 --------------------------------------------------------------------


def read_google(body: object) -> Reading:
    """RUNNING until ``done``; then DONE, or ERROR with ``error``'s code and message."""
    operation = _object(body, "a long-running operation")
    done = operation.get("done", False)
    if not isinstance(done, bool):
        raise ShapeError(f"'done' must be true or false, got {done!r:.40}")
    if not done:
        return Reading("RUNNING")
    error = operation.get("error")
    if error is None:
        return Reading("DONE")
    error = _object(error, "'error'")
    code = error.get("code")
    label = GOOGLE_CODES.get(code, str(code)) if isinstance(code, int) else None
    text = _message(error.get("message")) or "no message"
    return Reading("ERROR", f"{label}: {text}" if label else text)


def google_name(body: object) -> str:
    """The operation's ``name``, by which it is polled."""
    name = _object(body, "a long-running operation").get("name")
    if not isinstance(name, str) or not name.strip():
        raise ShapeError("the operation has no 'name' to poll it by")
    return name.strip()


def google_spec(name: str) -> Spec[Any]:
    return Spec(
        name,
        state=_read_state,
        message=_read_message,
        success={"DONE"},
        failure={"ERROR"},
        pending={"RUNNING"},
        retry_after=_read_retry_after,
    )


# -- Databricks-style resources --------------------------------------------------------


def read_databricks(body: object) -> Reading:
    """``state`` (string or object) or ``life_cycle_state``, ``state_message``,
    ``result_state``."""
    resource = _object(body, "a Databricks-style resource")
    holder: Mapping[str, Any] = resource
    raw = resource.get("state")
    if isinstance(raw, Mapping):  # a job run: {"state": {"life_cycle_state": ...}}
        holder = raw
        raw = raw.get("life_cycle_state", raw.get("state"))
        where = "state.life_cycle_state"
    elif raw is None and "life_cycle_state" in resource:
        raw = resource.get("life_cycle_state")
        where = "life_cycle_state"
    else:
        where = "state"
    found = _state(raw, where)
    message = _message(holder.get("state_message") or resource.get("state_message"))
    result = holder.get("result_state") or resource.get("result_state")
    return Reading(found, message, _message(result))


def databricks_spec(
    name: str,
    success: Collection[Hashable],
    failure: Collection[Hashable] = (),
    pending: Collection[Hashable] | None = None,
    ok_results: Collection[str] = DATABRICKS_OK_RESULTS,
) -> Spec[Any]:
    """Success: a success state whose ``result_state`` (if any) is in ``ok_results``.
    Failure: a failure state, or a success state with any other ``result_state``."""
    if isinstance(success, str) or isinstance(failure, str):
        raise TypeError("success and failure are collections of states, not strings")
    wins = frozenset(success)
    losses = frozenset(failure)
    oks = frozenset(ok_results)
    if not wins:
        raise ValueError("success must name at least one state")

    def succeeded(entity: object) -> bool:
        reading = reading_of(entity)
        return reading.state in wins and (reading.result is None or reading.result in oks)

    def failed(entity: object) -> bool:
        reading = reading_of(entity)
        return reading.state in losses or reading.state in wins

    def message(entity: object) -> str | None:
        reading = reading_of(entity)
        if reading.result is not None and reading.result not in oks:
            shown = f"result {reading.result}"
            return f"{shown}: {reading.message}" if reading.message else shown
        return reading.message

    return Spec(
        name,
        state=_read_state,
        message=message,
        success=succeeded,
        failure=failed,
        pending=None if pending is None else frozenset(pending) | wins | losses,
        retry_after=_read_retry_after,
        goal=" or ".join(sorted(map(str, wins))),
    )
