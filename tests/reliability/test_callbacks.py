"""Callbacks that raise, that are slow, or that change the entity, over real sockets.

Documented behaviour: the callback sees every polled entity that has not succeeded,
after the wait has judged it. An exception from it ends the wait and propagates as it
is. Its time is the wait's time: the deadline is read from the clock, so a slow callback
uses up the time left (a callback still running at the deadline delays the end by the
rest of its own run, since nothing can interrupt it). Changing the entity changes
nothing: the decision about it was already made, and the next poll reads the server.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from tarry import OperationFailed, OperationTimedOut
from tarry.testing import OperationsServer, Step

from ._support import DRIVERS, FLOOR, MARGIN, RESOURCE, drive

EACH_DRIVER = pytest.mark.parametrize("driver", DRIVERS)
OPTIONS: dict[str, Any] = {"state": "state", "success": {"RUNNING"}, "failure": {"FAILED"}}


class Boom(Exception):
    """The callback's own error."""


@EACH_DRIVER
@pytest.mark.parametrize("on", [1, 2])
def test_raising_callback_ends_the_wait_as_is(
    server: OperationsServer, driver: str, on: int
) -> None:
    """The callback raising on its n-th entity: that exact exception comes out, and the
    server gets no further poll."""
    op = server.add_resource([Step("PENDING"), Step("RUNNING", poll=5)])
    boom = Boom("from the callback")
    seen: list[Any] = []

    def callback(entity: Any) -> None:
        seen.append(entity)
        if len(seen) == on:
            raise boom

    outcome = drive(driver, RESOURCE, op.url, callback=callback, **OPTIONS)
    assert outcome.error is boom
    assert op.polls == on
    time.sleep(0.2)  # a poll scheduled anyway would show up by now (the backoff is 0.02 s)
    assert op.polls == on


@EACH_DRIVER
def test_slow_callback_counts_against_the_deadline(server: OperationsServer, driver: str) -> None:
    """A callback taking 0.25 s per entity: the wait still times out, at most one
    callback's length after deadline + floor, having polled fewer times for it."""
    op = server.add_resource([Step("PENDING")])
    calls: list[float] = []

    if driver == "sync":

        def callback(entity: Any) -> None:
            calls.append(time.monotonic())
            time.sleep(0.25)

    else:

        async def callback(entity: Any) -> None:  # type: ignore[misc]
            calls.append(time.monotonic())
            await anyio.sleep(0.25)

    outcome = drive(driver, RESOURCE, op.url, callback=callback, timeout=0.6, **OPTIONS)
    error = outcome.raised(OperationTimedOut)
    assert outcome.elapsed <= 0.6 + FLOOR + 0.25 + MARGIN
    assert error.elapsed.total_seconds() >= 0.6
    # without the callbacks, a 0.02 s backoff would give a dozen polls or more in 0.6 s
    assert 2 <= op.polls <= 4
    assert len(calls) == op.polls


@EACH_DRIVER
@pytest.mark.parametrize("change", ["to-success", "to-failure", "emptied"])
def test_changing_the_entity_changes_nothing(
    server: OperationsServer, driver: str, change: str
) -> None:
    """A callback that rewrites the entity's body (to a success or a failure state, or
    empties it) neither ends the wait nor changes the next poll: the server decides."""
    op = server.add_resource([Step("PENDING"), Step("RUNNING", poll=3)])
    seen: list[Any] = []

    def callback(entity: Any) -> None:
        seen.append(entity)
        if change == "emptied":
            entity.body.clear()
        else:
            entity.body["state"] = "RUNNING" if change == "to-success" else "FAILED"

    outcome = drive(driver, RESOURCE, op.url, callback=callback, **OPTIONS)
    done = outcome.succeeded()
    assert done.state == "RUNNING"
    assert done.body["state"] == "RUNNING"
    assert op.polls == 3
    assert len(seen) == 2
    assert all(reply.state == "PENDING" for reply in seen)  # the reading, made before


@EACH_DRIVER
def test_callback_sees_the_failed_entity_before_the_failure(
    server: OperationsServer, driver: str
) -> None:
    """The failing entity reaches the callback first, and a change made to it there does
    not turn the failure into anything else."""
    op = server.add_resource([Step("PENDING"), Step("FAILED", poll=2, message="disk full")])
    seen: list[Any] = []

    def callback(entity: Any) -> None:
        seen.append(entity.state)
        entity.body["state"] = "RUNNING"

    outcome = drive(driver, RESOURCE, op.url, callback=callback, message="message", **OPTIONS)
    error = outcome.raised(OperationFailed)
    assert error.state == "FAILED"
    assert str(error).endswith("got FAILED: disk full")
    assert seen == ["PENDING", "FAILED"]
