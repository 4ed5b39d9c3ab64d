"""botocore waiter definitions (the ``waiters-2.json`` format), checked and made runnable.

A model is ``{"version": 2, "waiters": {Name: definition}}``. A definition names the
``operation`` to call, a ``delay`` between calls, a ``maxAttempts`` count and a list of
``acceptors``. Each acceptor pairs a *matcher* with the *state* the waiter enters when
it matches a response, and acceptors are tried in order: the first match decides.

Matchers, with botocore's meaning kept exactly (the same response must give the same
verdict in boto3 and here):

- ``path``: the JMESPath ``argument`` evaluated on the response equals ``expected``;
- ``pathAll``: it gives a non-empty list whose every element equals ``expected``;
- ``pathAny``: it gives a non-empty list with at least one element equal to ``expected``;
- ``status``: ``ResponseMetadata.HTTPStatusCode`` equals ``expected``;
- ``error``: the error code equals ``expected`` (``true``: any error, ``false``: none).

An *error response* is the dict a botocore ``ClientError`` carries (``{"Error":
{"Code": ..., "Message": ...}, "ResponseMetadata": ...}``). Path matchers never match
one; status and error matchers may.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from tarry._errors import TarryError

__all__ = [
    "MATCHERS",
    "STATES",
    "Acceptor",
    "ModelError",
    "WaiterDefinition",
    "WaiterModel",
    "error_code",
    "is_error_response",
]

MATCHERS = ("path", "pathAll", "pathAny", "status", "error")
"""The acceptor matchers of the ``waiters-2`` format, all supported."""

STATES = ("success", "failure", "retry")
"""The states an acceptor can lead to."""
_PATH_MATCHERS = frozenset({"path", "pathAll", "pathAny"})


class ModelError(TarryError, ValueError):
    """A waiter model that does not follow the ``waiters-2`` format."""


def is_error_response(response: Mapping[str, Any]) -> bool:
    """Whether ``response`` is an error response: an ``Error`` dict with a ``Code``."""
    error = response.get("Error")
    return isinstance(error, Mapping) and "Code" in error


def error_code(response: Mapping[str, Any]) -> str | None:
    """The error code of an error response, or None for any other response."""
    if not is_error_response(response):
        return None
    return str(response["Error"]["Code"])


def _status(response: Mapping[str, Any]) -> object:
    metadata = response.get("ResponseMetadata")
    return metadata.get("HTTPStatusCode") if isinstance(metadata, Mapping) else None


def _shown(value: object) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


@dataclass(frozen=True, eq=False)
class Acceptor:
    """One rule of a waiter: when ``matcher`` matches a response, enter ``state``."""

    state: str
    matcher: str
    expected: Any
    argument: str | None = None
    _expression: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ModelError(f"state must be one of {', '.join(STATES)}, got {self.state!r}")
        if self.matcher not in MATCHERS:
            raise ModelError(f"matcher must be one of {', '.join(MATCHERS)}, got {self.matcher!r}")
        expression = None
        if self.matcher in _PATH_MATCHERS:
            if not isinstance(self.argument, str) or not self.argument:
                raise ModelError(f"a {self.matcher} matcher needs a JMESPath argument")
            try:
                expression = jmespath.compile(self.argument)
            except JMESPathError as exc:
                raise ModelError(f"bad JMESPath argument {self.argument!r}: {exc}") from None
        object.__setattr__(self, "_expression", expression)

    def search(self, response: Mapping[str, Any]) -> Any:
        """What the path argument finds in ``response`` (None for other matchers)."""
        if self._expression is None:
            return None
        return self._expression.search(response)

    def matches(self, response: Mapping[str, Any]) -> bool:
        """Whether this acceptor matches ``response``, exactly as botocore decides."""
        matcher, expected = self.matcher, self.expected
        if matcher == "status":
            return bool(_status(response) == expected)
        if matcher == "error":
            if expected is True:
                return is_error_response(response)
            if expected is False:
                return "Error" not in response
            code = response.get("Error")
            return isinstance(code, Mapping) and code.get("Code", "") == expected
        if is_error_response(response):
            return False
        found = self.search(response)
        if matcher == "path":
            return bool(found == expected)
        if not isinstance(found, list) or not found:
            return False
        if matcher == "pathAll":
            return all(item == expected for item in found)
        return any(item == expected for item in found)

    def names(self, response: Mapping[str, Any]) -> bool:
        """Whether this acceptor expects this error response by its code or HTTP status.

        Such an acceptor is honoured even when the error would otherwise be transient
        (an ``error`` acceptor for ``ResourceNotFoundException`` with state ``success``
        is how a waiter sees a deleted resource). ``error: true`` names no error.
        """
        if self.matcher == "status":
            return self.matches(response)
        if self.matcher == "error" and isinstance(self.expected, str):
            return self.matches(response)
        return False

    def describe(self) -> str:
        """The condition in a few words, for messages: ``Status == "DONE"``."""
        expected = _shown(self.expected)
        if self.matcher == "path":
            return f"{self.argument} == {expected}"
        if self.matcher == "pathAll":
            return f"all {self.argument} == {expected}"
        if self.matcher == "pathAny":
            return f"any {self.argument} == {expected}"
        if self.matcher == "status":
            return f"HTTP status {expected}"
        if self.expected is True:
            return "any error"
        if self.expected is False:
            return "no error"
        return f"error {self.expected}"


def _number(name: str, where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError(f"{where}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ModelError(f"{where}: {name} must be finite and non-negative, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class WaiterDefinition:
    """One waiter of a model: which operation to call and how to read its responses."""

    name: str
    operation: str
    delay: float
    max_attempts: int
    acceptors: tuple[Acceptor, ...]
    description: str | None = None

    @classmethod
    def from_dict(cls, name: str, data: object) -> WaiterDefinition:
        """Check one ``waiters-2`` definition and build it; a ``ModelError`` says what is wrong."""
        where = f"waiter {name!r}"
        if not isinstance(data, Mapping):
            raise ModelError(f"{where}: a definition must be an object, got {data!r:.80}")
        operation = data.get("operation")
        if not isinstance(operation, str) or not operation:
            raise ModelError(f"{where}: operation must be a non-empty string")
        delay = _number("delay", where, data.get("delay"))
        attempts = data.get("maxAttempts")
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ModelError(f"{where}: maxAttempts must be a positive integer, got {attempts!r}")
        raw = data.get("acceptors")
        if not isinstance(raw, list) or not raw:
            raise ModelError(f"{where}: acceptors must be a non-empty list")
        acceptors = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise ModelError(f"{where}: acceptor {index} must be an object")
            missing = [key for key in ("state", "matcher", "expected") if key not in item]
            if missing:
                raise ModelError(f"{where}: acceptor {index} has no {', '.join(missing)}")
            try:
                acceptors.append(
                    Acceptor(item["state"], item["matcher"], item["expected"], item.get("argument"))
                )
            except ModelError as exc:
                raise ModelError(f"{where}: acceptor {index}: {exc}") from None
        if not any(a.state == "success" for a in acceptors):
            raise ModelError(f"{where}: no acceptor has state success, so it could never succeed")
        description = data.get("description")
        return cls(
            name=name,
            operation=operation,
            delay=delay,
            max_attempts=attempts,
            acceptors=tuple(acceptors),
            description=description if isinstance(description, str) else None,
        )

    def match(self, response: Mapping[str, Any]) -> int | None:
        """The index of the first acceptor that matches ``response``, or None."""
        for index, acceptor in enumerate(self.acceptors):
            if acceptor.matches(response):
                return index
        return None

    def names(self, response: Mapping[str, Any]) -> bool:
        """Whether some acceptor expects this error response by its code or status."""
        return any(acceptor.names(response) for acceptor in self.acceptors)


def _squashed(name: str) -> str:
    """``instance_running`` and ``InstanceRunning`` both become ``instancerunning``."""
    return name.replace("_", "").replace("-", "").lower()


class WaiterModel(Mapping[str, WaiterDefinition]):
    """Every waiter of one service, by its model name (``InstanceRunning``).

    ``model["instance_running"]`` also works: lookups ignore case and underscores, so
    the snake_case names boto3 shows (``client.waiter_names``) find the same waiter.
    """

    def __init__(self, waiters: Mapping[str, WaiterDefinition]) -> None:
        self._waiters = dict(waiters)
        self._by_squashed: dict[str, str] = {}
        for name in self._waiters:
            squashed = _squashed(name)
            other = self._by_squashed.setdefault(squashed, name)
            if other != name:
                raise ModelError(f"waiter names {other!r} and {name!r} cannot be told apart")

    @classmethod
    def from_dict(cls, data: object) -> WaiterModel:
        """A model from a parsed ``waiters-2.json``: ``{"version": 2, "waiters": {...}}``."""
        if not isinstance(data, Mapping):
            raise ModelError(f"a waiter model must be an object, got {type(data).__name__}")
        if data.get("version") != 2:
            raise ModelError(f"only version 2 waiter models are known, got {data.get('version')!r}")
        waiters = data.get("waiters")
        if not isinstance(waiters, Mapping):
            raise ModelError("a waiter model needs a 'waiters' object")
        return cls({name: WaiterDefinition.from_dict(name, w) for name, w in waiters.items()})

    def __getitem__(self, name: str) -> WaiterDefinition:
        if not isinstance(name, str):
            raise TypeError(f"a waiter name must be a string, not {type(name).__name__}")
        key = self._by_squashed.get(_squashed(name))
        if key is None:
            known = ", ".join(sorted(self._waiters)) or "none"
            raise KeyError(f"no waiter named {name!r}; this model has: {known}")
        return self._waiters[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._waiters)

    def __len__(self) -> int:
        return len(self._waiters)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _squashed(name) in self._by_squashed

    def __repr__(self) -> str:
        return f"<WaiterModel {len(self)} waiters>"
