"""Faults over real loopback sockets: every wait ends in success or a documented error,
within its deadline plus the request floor, in the sync, asyncio and trio drivers.

Each class is one kind of fault; docs/reliability.md counts and times them. Timelines
advance by poll number, so a loaded machine changes the durations and nothing else.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import tarry.http as th
from tarry import OperationTimedOut
from tarry.testing import Fault, Operation, OperationsServer, Step

from ._support import (
    AZURE,
    DATABRICKS,
    DRIVERS,
    GOOGLE,
    RESOURCE,
    TOKEN,
    Builders,
    ByteCounter,
    Outcome,
    arrived_at,
    drive,
)

LATE = 0.5
"""How long after the deadline a poll sent at the deadline may take to reach the server."""

EARLY = 0.05
"""How much earlier than asked an event loop may wake from a sleep."""


@dataclass(frozen=True)
class Convention:
    """One convention as these tests start it: its builders and how its polls count."""

    name: str
    builders: Builders
    start: str | None  # the method of the initial request, if the builder takes a response
    options: dict[str, Any]
    shift: int  # polls the server counts before the wait's first poll

    def add(
        self, server: OperationsServer, done_at: int | None, faults: Sequence[Fault] = ()
    ) -> Operation:
        """An operation that succeeds on the wait's poll ``done_at`` (None: never), with
        ``faults`` numbered by the wait's own polls."""
        moved = [self._renumber(f) for f in faults]
        going, done = {
            "resource": ("PENDING", "RUNNING"),
            "databricks": ("PENDING", "RUNNING"),
            "google": ("RUNNING", "SUCCEEDED"),
            "azure": ("InProgress", "Succeeded"),
        }[self.name]
        steps = [Step(going, message="still going")]
        if done_at is not None:
            steps.append(Step(done, poll=done_at + self.shift))
        if self.name == "resource":
            return server.add_resource(steps, faults=moved)
        if self.name == "databricks":
            return server.add_cluster(steps, faults=moved)
        if self.name == "google":
            return server.add_google_operation(steps, faults=moved)
        return server.add_azure_operation(steps, method="PUT", faults=moved)

    def _renumber(self, fault: Fault) -> Fault:
        on = None if fault.on is None else frozenset(n + self.shift for n in fault.on)
        if on is None and self.shift:  # every poll of the wait, not the initial request
            on = frozenset(range(1 + self.shift, 10_000))
        role = fault.role or ("status" if self.name == "azure" else None)
        return dataclasses.replace(fault, on=on, role=role)

    def poll_url(self, op: Operation) -> str:
        """The URL the wait polls."""
        return op.urls["status"] if self.name == "azure" else op.url

    def run(self, driver: str, op: Operation, timeout: float, **options: Any) -> Outcome:
        merged = {**self.options, **options}
        return drive(driver, self.builders, op.url, start=self.start, timeout=timeout, **merged)


CONVENTIONS = [
    Convention(
        "resource",
        RESOURCE,
        None,
        {"state": "state", "message": "message", "success": {"RUNNING"}},
        0,
    ),
    Convention("databricks", DATABRICKS, None, {"success": {"RUNNING"}, "failure": {"ERROR"}}, 0),
    Convention("google", GOOGLE, "GET", {}, 1),  # the initial GET is the server's poll 1
    Convention("azure", AZURE, "PUT", {}, 0),
]
BY_NAME = {c.name: c for c in CONVENTIONS}
ALL = pytest.mark.parametrize("convention", CONVENTIONS, ids=[c.name for c in CONVENTIONS])
EACH_DRIVER = pytest.mark.parametrize("driver", DRIVERS)


def polled_at(op: Operation, outcome: Outcome) -> list[float]:
    """When each of the wait's requests reached the server, in seconds after result()."""
    return [r.time - outcome.started for r in op.requests if r.time >= outcome.started]


def timed_out(outcome: Outcome, timeout: float) -> OperationTimedOut:
    """The timeout error, checked to have come at the deadline and not after it."""
    error = outcome.raised(OperationTimedOut)
    outcome.ended_by(timeout)
    assert error.elapsed.total_seconds() >= timeout - EARLY
    assert error.timeout.total_seconds() == pytest.approx(timeout)
    return error


@EACH_DRIVER
class TestStorm:
    """HTTP 503 on every poll, to the deadline (case C09 over sockets)."""

    @ALL
    def test_503_storm_times_out_naming_the_503(
        self, server: Any, driver: str, convention: Any
    ) -> None:
        """Every poll answers 503: a timeout at the deadline whose message names the 503."""
        op = convention.add(server, None, [Fault.status(503)])
        outcome = convention.run(driver, op, 0.3)
        error = timed_out(outcome, 0.3)
        last = error.last_error
        assert isinstance(last, th.TransientHttpError)
        assert last.status_code == 503
        assert "503" in str(error)
        assert error.attempts >= 2
        assert max(polled_at(op, outcome)) <= 0.3 + LATE  # no poll after the deadline

    @pytest.mark.parametrize("hint", ["30", "99999999999"])
    def test_storm_with_long_retry_after_has_no_extra_sleep(
        self, server: Any, driver: str, hint: str
    ) -> None:
        """503s asking for a long wait: one final poll at the deadline, then the timeout
        (not the hint's sleep after it)."""
        op = BY_NAME["resource"].add(server, None, [Fault.status(503, retry_after=hint)])
        outcome = BY_NAME["resource"].run(driver, op, 0.3)
        error = timed_out(outcome, 0.3)
        assert "503" in str(error)
        times = polled_at(op, outcome)
        assert len(times) == 2  # the first poll, and the final poll at the deadline
        assert times[-1] >= 0.3 - EARLY


@EACH_DRIVER
class TestConnection:
    """Connections reset mid-body or dropped without an answer."""

    FAULTS = pytest.mark.parametrize("kind", ["reset", "drop"])

    @staticmethod
    def fault(kind: str, on: int | Sequence[int] | None = None) -> Fault:
        return Fault.reset(on=on) if kind == "reset" else Fault.drop(on=on)

    @FAULTS
    @ALL
    def test_recovers_after_broken_connections(
        self, server: Any, driver: str, convention: Any, kind: str
    ) -> None:
        """Two broken polls in a row are retried; the third succeeds."""
        op = convention.add(server, 3, [self.fault(kind, on=(1, 2))])
        outcome = convention.run(driver, op, 3.0)
        outcome.succeeded()
        outcome.ended_by(3.0)

    @FAULTS
    def test_every_connection_broken_times_out(self, server: Any, driver: str, kind: str) -> None:
        """Every poll's connection breaks: a timeout at the deadline naming the failure."""
        op = BY_NAME["resource"].add(server, None, [self.fault(kind)])
        outcome = BY_NAME["resource"].run(driver, op, 0.3)
        error = timed_out(outcome, 0.3)
        last = error.last_error
        assert isinstance(last, th.TransientHttpError)
        assert last.status_code is None
        assert last.url in str(error)


def _no_connection_left(server: OperationsServer) -> bool:
    """Whether every connection thread of the server has ended (within a few seconds)."""
    deadline = time.monotonic() + 5.0
    while server._threads and time.monotonic() < deadline:
        time.sleep(0.02)
    return not server._threads


@EACH_DRIVER
class TestHang:
    """Answers that hang, or come later than the time left."""

    @pytest.mark.parametrize("fault", [Fault.hang(), Fault.slow(5.0)], ids=["hang", "slow-5s"])
    def test_answer_past_the_time_left_is_cut(self, server: Any, driver: str, fault: Fault) -> None:
        """A poll that answers after the deadline (or never) is cut at the time left (and
        the floor); the wait times out naming the request timeout."""
        op = BY_NAME["resource"].add(server, None, [fault])
        outcome = BY_NAME["resource"].run(driver, op, 0.3)
        error = outcome.raised(OperationTimedOut)
        outcome.ended_by(0.3)
        assert isinstance(error.last_error, th.TransientHttpError)
        assert "timed out" in str(error)
        if fault.kind.value == "hang":  # the client hung up: the server's thread ends
            assert _no_connection_left(server)

    def test_hang_mid_wait_is_cut_at_the_deadline(self, server: Any, driver: str) -> None:
        """The third poll hangs: it gets only the time left, then the wait times out."""
        op = BY_NAME["resource"].add(server, 5, [Fault.hang(on=3)])
        outcome = BY_NAME["resource"].run(driver, op, 0.5)
        error = outcome.raised(OperationTimedOut)
        outcome.ended_by(0.5)
        assert error.attempts == 3
        assert _no_connection_left(server)

    def test_slow_answer_within_the_time_left_succeeds(self, server: Any, driver: str) -> None:
        """A slow answer that comes before the deadline is waited for."""
        op = BY_NAME["resource"].add(server, 2, [Fault.slow(0.2, on=1)])
        outcome = BY_NAME["resource"].run(driver, op, 3.0)
        outcome.succeeded()
        outcome.ended_by(3.0)


@EACH_DRIVER
class TestBrokenJson:
    """Bodies that are not JSON, or JSON cut short."""

    @pytest.mark.parametrize("kind", ["truncated", "malformed"])
    @ALL
    def test_bad_json_is_a_malformed_response(
        self, server: Any, driver: str, convention: Any, kind: str
    ) -> None:
        """A poll answering broken JSON ends the wait with MalformedResponse, naming the
        status and the redacted URL."""
        fault = Fault.truncated(on=2) if kind == "truncated" else Fault.malformed(on=2)
        op = convention.add(server, 4, [fault])
        outcome = convention.run(driver, op, 3.0)
        error = outcome.raised(th.MalformedResponse)
        outcome.ended_by(3.0)
        assert error.status_code == 200
        assert error.method == "GET"
        assert error.url == th.redact(convention.poll_url(op))
        assert f"GET {error.url} answered 200" in str(error)
        assert ("truncated JSON" if kind == "truncated" else "not JSON") in str(error)
        if convention.name == "databricks":  # the cluster id is in the query string
            assert error.url.endswith("/api/2.1/clusters/get?[redacted]")
        assert error.url.startswith(server.url)


@EACH_DRIVER
class TestHugeBody:
    """Bodies far larger than any status: read to a bound, never whole."""

    def test_large_body_under_the_bound_is_read(self, server: Any, driver: str) -> None:
        """A 4 MB status body is read and the wait succeeds."""
        op = BY_NAME["resource"].add(server, 2, [Fault.huge(4_000_000, on=2)])
        outcome = BY_NAME["resource"].run(driver, op, 5.0)
        reply = outcome.succeeded()
        assert len(reply.body["padding"]) > 3_900_000

    def test_body_over_the_bound_is_refused_after_reading_the_bound(
        self, server: Any, driver: str
    ) -> None:
        """A status body over MAX_BODY is a MalformedResponse, and the client reads little
        more than MAX_BODY of it."""
        counter = ByteCounter()
        op = BY_NAME["resource"].add(server, None, [Fault.huge(th.MAX_BODY + 4 * 2**20)])
        outcome = BY_NAME["resource"].run(driver, op, 5.0, counter=counter)
        error = outcome.raised(th.MalformedResponse)
        outcome.ended_by(5.0)
        assert f"over {th.MAX_BODY} bytes" in str(error)
        assert th.MAX_BODY < counter.read <= th.MAX_BODY + 2**20
        assert len(str(error)) < 1000

    def test_huge_error_body_gives_a_bounded_message(self, server: Any, driver: str) -> None:
        """A 4 MB error body: only MAX_ERROR_BODY is read, and the message and excerpt are
        short."""
        counter = ByteCounter()
        op = server.add_azure_operation(
            [Step("InProgress"), Step("Failed", poll=2, message="quota")],
            method="POST",
            headers=["Location"],
            faults=[Fault.huge(4_000_000, role="location", on=2)],
        )
        outcome = drive(driver, AZURE, op.url, start="POST", timeout=5.0, counter=counter)
        error = outcome.raised(th.HttpStatusError)
        assert error.status_code == 400
        assert len(error.excerpt) <= 300
        assert len(str(error)) < 2000
        assert counter.read <= th.MAX_ERROR_BODY + 2**20


GARBAGE_HINTS = [
    "/bar",
    "-5",
    "1.5e400",
    "",
    "   ",
    "inf",
    "nan",
    "1e3",
    "0x10",
    "Wed, 21 Oct 2015 07:28:00 GMT",  # in the past: poll now
]
HUGE_HINTS = ["99999999999", "1" + "0" * 150, "Fri, 31 Dec 9999 23:59:59 GMT"]


def _hinted(placement: str, value: str, on: Sequence[int]) -> Fault:
    if placement == "on-503":
        return Fault.status(503, retry_after=value, on=on)
    return Fault.retry_after(value, on=on)


PLACEMENTS = ["on-503", "on-pending"]
HUGE_CASES = [
    (driver, placement, value)
    for placement in PLACEMENTS
    for value in HUGE_HINTS
    for driver in (DRIVERS if value == HUGE_HINTS[0] else ("sync",))
]
"""Every huge value with the sync driver; the async drivers with the first (the drivers
only pass the hint on: the parsing and the clamping are shared)."""


class TestRetryAfter:
    """Absurd and garbage Retry-After values (cases C10 and C11 over sockets)."""

    @EACH_DRIVER
    @pytest.mark.parametrize("placement", PLACEMENTS)
    def test_garbage_is_ignored(self, server: Any, driver: str, placement: str) -> None:
        """Ten garbage (or past) Retry-After values on ten polls in a row are all ignored:
        the normal backoff applies between them, and the eleventh poll succeeds long
        before a deadline that any of them, read as a delay, would have reached."""
        faults = [_hinted(placement, value, (n,)) for n, value in enumerate(GARBAGE_HINTS, 1)]
        done_at = len(GARBAGE_HINTS) + 1
        op = BY_NAME["resource"].add(server, done_at, faults)
        outcome = BY_NAME["resource"].run(driver, op, 5.0)
        outcome.succeeded()
        times = polled_at(op, outcome)
        assert len(times) == done_at
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert max(gaps) < 3.0  # the backoff is 0.02 s; a hint read as a delay waits ~4 s

    @pytest.mark.parametrize(
        ("driver", "placement", "value"),
        HUGE_CASES,
        ids=[f"{v[:12]}-{p}-{d}" for d, p, v in HUGE_CASES],
    )
    def test_huge_hint_is_cut_to_a_final_poll_at_the_deadline(
        self, server: Any, driver: str, placement: str, value: str
    ) -> None:
        """A huge Retry-After is clamped to the time left: one final poll at the deadline,
        which sees the success."""
        op = BY_NAME["resource"].add(server, 2, [_hinted(placement, value, (1,))])
        outcome = BY_NAME["resource"].run(driver, op, 0.3)
        assert outcome.succeeded().state == "RUNNING"
        outcome.ended_by(0.3)
        times = polled_at(op, outcome)
        assert len(times) == 2
        assert times[-1] >= 0.3 - EARLY


def _azure_moving(server: OperationsServer, origin: str) -> Operation:
    return server.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", poll=3)],
        method="PUT",
        faults=[Fault.foreign(origin, on=1, role="status")],
    )


@EACH_DRIVER
class TestMovingPollingUrl:
    """A polling URL that moves: to another origin, another scheme, or another path."""

    @pytest.mark.parametrize("where", ["other-port", "other-host", "other-name", "other-scheme"])
    def test_move_abroad_is_refused(self, server: Any, other: Any, driver: str, where: str) -> None:
        """The status monitor moves to another origin mid-wait: ForeignOriginRefused, and
        nothing reaches that origin."""
        origin = {
            "other-port": other.url,
            "other-host": f"http://127.0.0.2:{server.port}",
            "other-name": f"http://localhost:{server.port}",
            "other-scheme": f"https://127.0.0.1:{server.port}",
        }[where]
        op = _azure_moving(server, origin)
        outcome = drive(driver, AZURE, op.url, start="PUT", timeout=3.0)
        error = outcome.raised(th.ForeignOriginRefused)
        outcome.ended_by(3.0)
        assert error.origin == origin
        assert f"allowed_origins=[{origin!r}]" in str(error)
        assert op.polls == 1
        assert not arrived_at(other)

    def test_allowed_origin_is_followed_without_credentials(
        self, server: Any, other: Any, driver: str
    ) -> None:
        """With the origin allowed, the wait follows it, and no credential goes there."""
        op = _azure_moving(server, other.url)
        outcome = drive(
            driver,
            AZURE,
            op.url,
            start="PUT",
            timeout=3.0,
            allowed_origins=[other.url],
            client_options={"cookies": {"session": "cookie-SECRET"}},
        )
        assert outcome.succeeded().final
        abroad = arrived_at(other)
        assert abroad
        for request in abroad:
            names = {name for name, _ in request.headers}
            assert not names & {"authorization", "cookie"}

    def test_initial_answer_pointing_abroad_is_refused(
        self, server: Any, other: Any, driver: str
    ) -> None:
        """An initial answer whose polling header is on another origin is refused before
        any poll."""
        op = server.add_azure_operation(method="PUT", polling_origin=other.url)
        outcome = drive(driver, AZURE, op.url, start="PUT", timeout=3.0)
        error = outcome.raised(th.ForeignOriginRefused)
        assert error.origin == other.url
        assert not arrived_at(other)

    def test_move_on_the_same_origin_is_followed(self, server: Any, driver: str) -> None:
        """The monitor moves to a new path on the same origin: followed to success."""
        op = server.add_azure_operation(
            [Step("InProgress"), Step("Succeeded", poll=3)],
            method="PUT",
            faults=[Fault.move(on=1, role="status")],
        )
        outcome = drive(driver, AZURE, op.url, start="PUT", timeout=3.0)
        assert outcome.succeeded().final
        assert any("~1" in r.target for r in op.requests)


@EACH_DRIVER
class TestRedirect:
    """Redirects on a poll: followed on the same origin, refused elsewhere unless allowed."""

    @pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
    def test_same_origin_redirect_is_followed(self, server: Any, driver: str, code: int) -> None:
        """Every redirect status to an alias on the same origin is followed."""
        op = BY_NAME["databricks"].add(server, 3, [Fault.redirect(code, on=2)])
        outcome = BY_NAME["databricks"].run(driver, op, 3.0)
        assert outcome.succeeded().state == "RUNNING"
        assert any(r.path.startswith("/_tarry/r/") for r in op.requests)

    def test_redirect_abroad_is_refused(self, server: Any, other: Any, driver: str) -> None:
        """A redirect to another origin is refused; that origin receives nothing."""
        op = BY_NAME["databricks"].add(server, 3, [Fault.redirect(307, origin=other.url, on=2)])
        outcome = BY_NAME["databricks"].run(driver, op, 3.0)
        error = outcome.raised(th.ForeignOriginRefused)
        assert "redirect" in str(error)
        assert not arrived_at(other)

    def test_allowed_redirect_abroad_carries_no_credentials(
        self, server: Any, other: Any, driver: str
    ) -> None:
        """A redirect to an allowed origin is followed there without credentials."""
        op = BY_NAME["databricks"].add(server, 3, [Fault.redirect(307, origin=other.url, on=2)])
        outcome = BY_NAME["databricks"].run(
            driver, op, 3.0, allowed_origins=[other.url], client_options={"cookies": {"s": "c"}}
        )
        outcome.succeeded()
        abroad = arrived_at(other)
        assert abroad
        assert all(r.header("authorization") is None and r.header("cookie") is None for r in abroad)
        assert all(r.header("authorization") == TOKEN for r in arrived_at(server))

    def test_endless_redirects_end_the_wait(self, server: Any, driver: str) -> None:
        """A poll that redirects forever ends with an HttpError after MAX_REDIRECTS hops."""
        op = BY_NAME["databricks"].add(server, None, [Fault.redirect(302)])
        outcome = BY_NAME["databricks"].run(driver, op, 3.0)
        error = outcome.raised(th.HttpError)
        outcome.ended_by(3.0)
        assert "more than 5 redirects" in str(error)
        assert op.polls == 6


@EACH_DRIVER
class TestRefusedPoll:
    """A poll the server refuses for good: 404 and other client errors."""

    @ALL
    def test_404_ends_the_wait_at_once(self, server: Any, driver: str, convention: Any) -> None:
        """A 404 on the second poll ends the wait with HttpStatusError; no poll follows."""
        op = convention.add(server, 4, [Fault.status(404, on=2)])
        outcome = convention.run(driver, op, 3.0)
        error = outcome.raised(th.HttpStatusError)
        outcome.ended_by(3.0)
        assert error.status_code == 404
        assert f"GET {error.url} answered 404 Not Found" in str(error)
        assert op.polls == 2 + convention.shift

    @pytest.mark.parametrize("status", [400, 401, 403, 409, 410])
    def test_client_errors_are_not_retried(self, server: Any, driver: str, status: int) -> None:
        """Other 4xx statuses (not 408 or 429) end the wait too, naming the status."""
        op = BY_NAME["resource"].add(server, 4, [Fault.status(status, on=1)])
        outcome = BY_NAME["resource"].run(driver, op, 3.0)
        error = outcome.raised(th.HttpStatusError)
        assert error.status_code == status
        assert op.polls == 1


BODIES: dict[str, Any] = {"object": {}, "list": [], "empty": None, "string": "text", "number": 42}

STILL_GOING, UNREADABLE = "still going", "unreadable"
MISSING = {
    # A generic resource reads its state by a path; a path that finds nothing gives a
    # None state, "not known yet", so the wait goes on (to a timeout naming it).
    "resource": dict.fromkeys(["object", "list", "string", "number"], STILL_GOING),
    # A Databricks-style body is an object; without "state" it is not known yet.
    "databricks": {"object": STILL_GOING},
    # AIP-151 leaves "done" out while it is false (proto3 JSON): an empty object runs.
    "google": {"object": STILL_GOING},
    # An Azure status monitor must say its "status".
    "azure": {},
}
"""What a status body without the convention's fields means; anything not listed (and
every empty body, which is not JSON) is a MalformedResponse at once."""


def _empty_document(op: Operation, body: Any, after: int) -> None:
    """Make ``op`` answer ``body`` (None: no body at all) from its poll ``after`` on."""
    render = "monitor_document" if op.convention == "azure" else "document"
    original = getattr(op, render)

    def emptied(step: Step) -> Any:
        return body if op.polls >= after else original(step)

    setattr(op, render, emptied)


SHAPE_CASES = [
    (driver, shape) for shape in BODIES for driver in (DRIVERS if shape == "object" else ("sync",))
]
"""Every shape with the sync driver; the async drivers with the empty object (reading a
body is shared by all drivers)."""


class TestMissingFields:
    """Status bodies missing every field the convention reads, or of the wrong JSON type."""

    @pytest.mark.parametrize(
        ("driver", "shape"), SHAPE_CASES, ids=[f"{s}-{d}" for d, s in SHAPE_CASES]
    )
    @ALL
    def test_status_body_without_fields(
        self, server: Any, driver: str, convention: Any, shape: str
    ) -> None:
        """A status body with none of the convention's fields is still going (a timeout
        at the deadline) or a MalformedResponse at once, as the convention documents."""
        op = convention.add(server, None)
        _empty_document(op, BODIES[shape], after=1 + convention.shift)
        outcome = convention.run(driver, op, 0.3)
        if MISSING[convention.name].get(shape, UNREADABLE) == STILL_GOING:
            error = timed_out(outcome, 0.3)
            assert error.attempts >= 1
        else:
            malformed = outcome.raised(th.MalformedResponse)
            outcome.ended_by(0.3)
            assert malformed.status_code == 200
            assert op.polls == 1 + convention.shift

    @EACH_DRIVER
    def test_missing_state_with_a_pending_list_still_waits(self, server: Any, driver: str) -> None:
        """With ``pending`` given, a body without a state is still "not known yet" (only a
        state outside the list fails at once): the wait times out naming None."""
        op = BY_NAME["resource"].add(server, None)
        _empty_document(op, {}, after=1)
        outcome = BY_NAME["resource"].run(driver, op, 0.3, pending={"PENDING"})
        error = timed_out(outcome, 0.3)
        assert str(error).endswith("resource is None")
