"""What ``Wait`` and ``AsyncWait`` share: configuration, bound arguments, repr.

Everything here is I/O-free; the two drivers only add the loop that sleeps and polls.
"""

from __future__ import annotations

import dataclasses
import random
import reprlib
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

from ._backoff import Backoff
from ._budget import DrivenMachine
from ._core import check_rng
from ._policy import DEFAULT_POLICY, Policy, RetryOn, Timeout
from ._spec import Spec

__all__ = ["UNSET", "WaitBase", "make_policy"]

T = TypeVar("T")


class _Unset:
    """Marks an argument the caller did not pass (None means "no deadline")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final[Any] = _Unset()

_bounded = reprlib.Repr()
_bounded.maxstring = 60
_bounded.maxother = 60
_SHOWN = 8
"""The most bound arguments a repr shows, so a wait with thousands stays one short line."""


def make_policy(
    policy: Policy | None,
    *,
    timeout: Timeout = UNSET,
    backoff: Backoff | None = None,
    retry_on: RetryOn | None = UNSET,
    max_retry_after: float = UNSET,
    request_floor: float = UNSET,
) -> Policy:
    """A policy from a base one and the keyword arguments the caller actually passed."""
    base = DEFAULT_POLICY if policy is None else policy
    if not isinstance(base, Policy):
        raise TypeError(f"policy must be a tarry.Policy, not {type(base).__name__}")
    changes: dict[str, Any] = {}
    if timeout is not UNSET:
        changes["timeout"] = timeout
    if backoff is not None:
        changes["backoff"] = backoff
    if retry_on is not UNSET:
        changes["retry_on"] = retry_on
    if max_retry_after is not UNSET:
        changes["max_retry_after"] = max_retry_after
    if request_floor is not UNSET:
        changes["request_floor"] = request_floor
    return dataclasses.replace(base, **changes) if changes else base


class WaitBase(Generic[T]):
    """A wait that has not run yet: the operation, how to read it, and how to wait."""

    __slots__ = ("_bound", "_poll", "_retry_after", "_rng", "policy", "response", "spec")

    def __init__(
        self,
        poll: Callable[[], Any],
        spec: Spec[T],
        *,
        response: Any = None,
        policy: Policy | None = None,
        rng: random.Random | None = None,
        retry_after: float | None = None,
        **bound: Any,
    ) -> None:
        if not callable(poll):
            raise TypeError(f"poll must be callable, not {type(poll).__name__}")
        if not isinstance(spec, Spec):
            raise TypeError(f"spec must be a tarry.Spec, not {type(spec).__name__}")
        for name in bound:
            if hasattr(type(self), name):
                raise TypeError(
                    f"cannot bind {name!r}: {type(self).__name__} has an attribute of that name"
                )
        check_rng(rng)
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, (int, float))
        ):
            raise TypeError(
                f"retry_after must be seconds or None, not {type(retry_after).__name__}"
            )
        self._poll = poll
        self.spec = spec
        self.policy = make_policy(policy)
        self.response = response
        self._rng = rng
        self._retry_after = retry_after
        self._bound = bound

    def _machine(
        self, timeout: Timeout, overrides: dict[str, Any] | None = None
    ) -> DrivenMachine[T]:
        policy = self.policy
        if timeout is not UNSET:
            policy = dataclasses.replace(policy, timeout=timeout)
        if overrides:
            policy = dataclasses.replace(policy, **overrides)
        return DrivenMachine(self.spec, policy, self._rng)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails. Guard against copy/pickle probing an
        # instance whose __init__ never ran.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            bound = object.__getattribute__(self, "_bound")
        except AttributeError:
            raise AttributeError(name) from None
        try:
            return bound[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} for {self.spec.name} has no attribute {name!r}"
            ) from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._bound))

    def __copy__(self) -> WaitBase[T]:
        clone = object.__new__(type(self))
        # Every slot of every class: Wait and AsyncWait add their own (the clock).
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                object.__setattr__(clone, slot, getattr(self, slot))
        object.__setattr__(clone, "_bound", dict(self._bound))
        return clone

    def __repr__(self) -> str:
        items = list(self._bound.items())
        args = "".join(f" {k[:40]}={_bounded.repr(v)}" for k, v in items[:_SHOWN])
        if len(items) > _SHOWN:
            args += f" (+{len(items) - _SHOWN} more)"
        name = self.spec.name
        if len(name) > 60:
            name = name[:57] + "..."
        return f"<{type(self).__name__} {name}{args}>"
