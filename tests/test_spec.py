"""Spec: how an entity is read and judged, and what it refuses at construction."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pytest

import tarry
from tarry import Machine, Phase, Spec, UnreadableEntity, show_state
from tarry._spec import Outcome

Entity = dict[str, Any]


def spec(**kw: Any) -> Spec[Entity]:
    base: dict[str, Any] = {
        "name": "cluster",
        "state": lambda e: e.get("state"),
        "message": lambda e: e.get("message"),
        "success": {"RUNNING"},
        "failure": {"ERROR"},
    }
    base.update(kw)
    return Spec(**base)


def judge(s: Spec[Entity], entity: Entity) -> Outcome:
    return s.judge(entity, s.read_state(entity))


# -- judging ---------------------------------------------------------------------------------


def test_states_are_judged_by_the_sets() -> None:
    """Success and failure states end the wait; anything else is still going."""
    s = spec()
    assert judge(s, {"state": "RUNNING"}) is Outcome.SUCCEEDED
    assert judge(s, {"state": "ERROR"}) is Outcome.FAILED
    assert judge(s, {"state": "WHATEVER"}) is Outcome.STILL_GOING
    assert judge(s, {}) is Outcome.STILL_GOING


def test_predicates_judge_the_whole_entity() -> None:
    """Success and failure may be predicates on the entity rather than state sets."""
    s = spec(
        success=lambda e: e.get("state") == "DONE" and e.get("result") == "OK",
        failure=lambda e: e.get("state") == "DONE" and e.get("result") != "OK",
    )
    assert judge(s, {"state": "DONE", "result": "OK"}) is Outcome.SUCCEEDED
    assert judge(s, {"state": "DONE", "result": "BAD"}) is Outcome.FAILED
    assert judge(s, {"state": "RUNNING"}) is Outcome.STILL_GOING
    assert s.goal == "success"


def test_success_is_checked_before_failure() -> None:
    """When both would match, the entity counts as a success."""
    s = spec(success={"DONE"}, failure=lambda e: True)
    assert judge(s, {"state": "DONE"}) is Outcome.SUCCEEDED


def test_pending_turns_unlisted_states_into_dead_ends() -> None:
    """With pending, an unlisted non-terminal state is UNEXPECTED; None still waits."""
    s = spec(pending=["PENDING", "RESIZING"])
    assert judge(s, {"state": "PENDING"}) is Outcome.STILL_GOING
    assert judge(s, {"state": "DELETED"}) is Outcome.UNEXPECTED
    assert judge(s, {"state": None}) is Outcome.STILL_GOING
    assert judge(s, {"state": "ERROR"}) is Outcome.FAILED
    assert judge(s, {"state": "RUNNING"}) is Outcome.SUCCEEDED


def test_empty_pending_means_every_other_state_is_a_dead_end() -> None:
    """pending=() lists nothing: only success, failure or an unknown (None) state is allowed."""
    s = spec(pending=())
    assert judge(s, {"state": "PENDING"}) is Outcome.UNEXPECTED
    assert judge(s, {}) is Outcome.STILL_GOING


# -- reading ---------------------------------------------------------------------------------


def test_messages_are_strings_or_none() -> None:
    """A message accessor's value is shown with str(); None stays None; no accessor is None."""
    assert spec().read_message({"message": 42}) == "42"
    assert spec().read_message({}) is None
    assert spec(message=None).read_message({"message": "x"}) is None


def test_retry_after_accessor() -> None:
    """retry_after reads the server's hint; without an accessor there is none."""
    s = spec(retry_after=lambda e: e.get("wait"))
    assert s.read_retry_after({"wait": 7.5}) == 7.5
    assert spec().read_retry_after({"wait": 7.5}) is None


@pytest.mark.parametrize(
    ("kw", "call", "what"),
    [
        ({"state": lambda e: e["state"]}, "read_state", "state"),
        ({"state": lambda e: ["unhashable"]}, "read_state", "state"),
        ({"message": lambda e: e["message"]}, "read_message", "message"),
        ({"retry_after": lambda e: e["wait"]}, "read_retry_after", "retry hint"),
    ],
)
def test_accessor_failures_are_unreadable_entity(kw: dict[str, Any], call: str, what: str) -> None:
    """An accessor that raises (or a state that cannot be hashed) is an UnreadableEntity."""
    s = spec(**kw)
    with pytest.raises(UnreadableEntity, match=f"^cluster: cannot read the {what} of ") as caught:
        getattr(s, call)({})
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, tarry.TarryError)
    assert caught.value.__cause__ is not None


def test_raising_predicate_is_unreadable_entity() -> None:
    """A success or failure predicate that raises is an UnreadableEntity too."""
    s = spec(success=lambda e: e["result"] == "OK")
    with pytest.raises(UnreadableEntity, match=r"^cluster: cannot judge \{\}: KeyError"):
        judge(s, {})


def test_unreadable_entity_message_is_bounded() -> None:
    """A huge entity is cut in the message; one whose repr fails is named by its type."""
    s = spec(state=lambda e: e["missing"])
    with pytest.raises(UnreadableEntity) as caught:
        s.read_state({"blob": "x" * 100_000})
    assert len(str(caught.value)) < 400
    assert "..." in str(caught.value)

    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    opaque: Spec[Opaque] = Spec("op", state=lambda o: o.nothing, success={"OK"})  # type: ignore[attr-defined]
    with pytest.raises(UnreadableEntity, match="cannot read the state of <Opaque>"):
        opaque.read_state(Opaque())


def test_machine_survives_an_unreadable_entity() -> None:
    """The machine stays waiting and counts no attempt when an entity cannot be read."""
    s = spec(state=lambda e: e["state"])
    m = Machine(s, tarry.Policy(timeout=10))
    m.start(0.0)
    with pytest.raises(UnreadableEntity):
        m.polled({}, 1.0)
    assert m.phase is Phase.WAITING
    assert m.attempts == 0
    assert isinstance(m.polled({"state": "RUNNING"}, 2.0), tarry.Succeed)


# -- showing states ------------------------------------------------------------------------


class Life(enum.Enum):
    RUNNING = "RUNNING"
    ERROR = "ERROR"


class Code(enum.IntEnum):
    OK = 0
    BAD = 1


def test_show_state() -> None:
    """Enums print their string value or their name; other states print with str()."""
    assert show_state(Life.ERROR) == "ERROR"
    assert show_state(Code.BAD) == "BAD"
    assert show_state("Pending") == "Pending"
    assert show_state(3) == "3"
    assert show_state(None) == "None"


def test_goal_is_generated_from_success_states() -> None:
    """The goal names the success states (sorted, shown readably) unless given."""
    assert spec(success={"B", "A"}).goal == "A or B"
    assert Spec("x", state=lambda e: e, success={Code.OK}).goal == "OK"
    assert spec(goal="a happy cluster").goal == "a happy cluster"


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"name": ""}, ValueError, "name must be a non-empty string"),
        ({"name": 5}, ValueError, "name must be a non-empty string"),
        ({"state": "state"}, TypeError, "state must be a function"),
        ({"message": "msg"}, TypeError, "message must be a function"),
        ({"success": ()}, ValueError, "success must name at least one state or be a predicate"),
        ({"success": "RUNNING"}, TypeError, "success must be a collection of states or a"),
        ({"failure": b"ERR"}, TypeError, "failure must be a collection of states or a"),
        ({"success": [["a"]]}, TypeError, "success must be a collection of hashable states"),
        ({"success": 5}, TypeError, "success must be a collection of hashable states"),
        ({"failure": {"RUNNING", "X"}}, ValueError, "states cannot both succeed and fail: RUNNING"),
        ({"pending": "PENDING"}, TypeError, "pending must be a collection of states, not a str"),
    ],
)
def test_bad_specs_are_refused(kw: dict[str, Any], error: type[Exception], message: str) -> None:
    """Each construction mistake gets a short, specific error."""
    with pytest.raises(error, match=f"^{message}"):
        spec(**kw)


def test_spec_is_frozen_and_compares_on_its_fields() -> None:
    """A Spec is an immutable value; equal arguments make equal specs."""
    state = lambda e: e  # noqa: E731
    a: Spec[Any] = Spec("x", state=state, success={"OK"})
    b: Spec[Any] = Spec("x", state=state, success={"OK"})
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "y"  # type: ignore[misc]
    assert "_success_states" not in repr(a)
