"""Cases from the cases README, in the variants the other case tests leave out.

The async twins of the HTTP cases (run under asyncio and trio), C03's wall-clock jumps
one at a time, C06 with the case's own figures on virtual time, C15 through every Azure
strategy, and C17 through a redirect on a client that follows redirects itself.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import trio
import trio.testing

import tarry
import tarry.http as th
from _http_fakes import BASE, SECRET, Answer, Script, reply
from tarry import Constant, OperationFailed, OperationTimedOut, Policy
from tarry.testing import AsyncFakeClock, FakeClock

FOREIGN = "https://b.example"


def timed(clock: FakeClock, log: list[float], answer: Callable[[float], httpx.Response]) -> Any:
    """A route handler that records the virtual time of each poll and answers by it."""

    def handle(request: httpx.Request) -> httpx.Response:
        log.append(clock.now())
        return answer(clock.now())

    return handle


def state(value: str) -> httpx.Response:
    return reply(200, {"state": value})


# -- C03: each wall-clock jump on its own, on the real clock ----------------------------------


@dataclass(frozen=True)
class Cluster:
    state: str


SPEC: tarry.Spec[Cluster] = tarry.Spec(
    "cluster", state=lambda c: c.state, success={"RUNNING"}, failure={"ERROR"}
)


@pytest.mark.parametrize("jump", [-3600.0, 86400.0], ids=["back-1h", "ahead-1d"])
def test_case_c03_single_wall_clock_jump_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, jump: float
) -> None:
    """One wall-clock step, back an hour or ahead a day, neither ends nor stretches a wait."""
    real_time = time.time
    offset = [0.0]
    monkeypatch.setattr(time, "time", lambda: real_time() + offset[0])
    polls: list[float] = []

    def poll() -> Cluster:
        polls.append(time.monotonic())
        if len(polls) == 2:
            offset[0] = jump
        if len(polls) > 500:  # a wall-clock loop stepped back would poll for an hour
            raise AssertionError("the wait did not end by its monotonic deadline")
        return Cluster("PENDING")

    started = time.monotonic()
    with pytest.raises(OperationTimedOut) as caught:
        tarry.wait(poll, SPEC, timeout=0.2, backoff=Constant(0.02))
    assert len(polls) >= 3  # the jump happened, and the wait went on after it
    assert 0.2 <= caught.value.elapsed.total_seconds() <= time.monotonic() - started
    assert caught.value.elapsed.total_seconds() < 30  # not an hour, not a day


# -- C01, C05 on trio's own virtual clock -----------------------------------------------------


def _on_trio_mock_clock(finish_at: float, timeout: float | None) -> tuple[Cluster, list[float]]:
    """Wait on an operation RUNNING from ``finish_at``, under trio's MockClock (no clock=)."""
    polls: list[float] = []

    async def main() -> Cluster:
        start = trio.current_time()

        async def poll() -> Cluster:
            polls.append(trio.current_time() - start)
            return Cluster("RUNNING" if polls[-1] >= finish_at else "PENDING")

        return await tarry.async_wait(poll, SPEC, timeout=timeout, rng=random.Random(5))

    result = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return result, polls


def test_case_c01_late_finish_on_trio_mock_clock() -> None:
    """Under trio's MockClock, RUNNING after t=19.5 with timeout 20 is seen by a poll at t=20."""
    result, polls = _on_trio_mock_clock(19.5, 20)
    assert result == Cluster("RUNNING")
    assert polls[-1] == pytest.approx(20.0, abs=1e-9)
    assert all(t < 19.5 for t in polls[:-1])


def test_case_c05_no_timeout_on_trio_mock_clock() -> None:
    """Under trio's MockClock, timeout=None rides five hours past the 20-minute default."""
    result, polls = _on_trio_mock_clock(5 * 3600, None)
    assert result == Cluster("RUNNING")
    assert polls[-2] < 5 * 3600 <= polls[-1]


# -- C06: timeout 1 s, each request 3 s, on virtual time -------------------------------------


def slow_requests(clock: FakeClock, given: list[tuple[float, float]], takes: float) -> Any:
    """A handler for requests that each take ``takes`` virtual seconds: it moves the clock
    by what the request was allowed and times out when that is less than ``takes``."""

    def handle(request: httpx.Request) -> httpx.Response:
        allowed = request.extensions["timeout"]["read"]
        given.append((clock.now(), allowed))
        if allowed is not None and allowed < takes:
            clock.advance(allowed)
            raise httpx.ReadTimeout("no answer yet", request=request)
        clock.advance(takes)
        return state("RUNNING")

    return handle


def test_case_c06_one_second_wait_on_three_second_requests() -> None:
    """timeout=1, requests of 3 s: the one request gets 1 s and the wait ends at t=1, not 3."""
    clock, given = FakeClock(), list[tuple[float, float]]()
    with Script({"GET /c": [slow_requests(clock, given, 3.0)]}).client() as client:
        wait = th.resource_wait(client, "/c", state="state", success={"RUNNING"}, clock=clock)
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=1)
    assert given == [(0.0, 1.0)]
    assert clock.now() == 1.0
    assert caught.value.elapsed.total_seconds() == 1.0
    assert isinstance(caught.value.last_error, th.TransientHttpError)
    assert "timed out after 1 s" in str(caught.value)


@pytest.mark.parametrize("floor", [0.5, 1.0, 2.0])
def test_case_c06_final_request_gets_only_the_floor(floor: float) -> None:
    """Quick polls, then 3 s requests: each gets max(time left, floor), the wait ends by
    the deadline plus the floor."""
    clock, given = FakeClock(), list[tuple[float, float]]()
    slow = slow_requests(clock, given, 3.0)

    def handle(request: httpx.Request) -> httpx.Response:
        if clock.now() < 4.0:
            given.append((clock.now(), request.extensions["timeout"]["read"]))
            return state("PENDING")
        return slow(request)  # type: ignore[no-any-return]

    policy = Policy(backoff=Constant(2.0), request_floor=floor)
    with Script({"GET /c": [handle]}).client() as client:
        wait = th.resource_wait(
            client, "/c", state="state", success={"RUNNING"}, clock=clock, policy=policy
        )
        with pytest.raises(OperationTimedOut):
            wait.result(timeout=5)
    assert [t for t, _ in given] == [0.0, 2.0, 4.0]
    for started, allowed in given:
        assert allowed == pytest.approx(max(5.0 - started, floor))
    assert clock.now() == pytest.approx(max(5.0, 4.0 + floor))


@pytest.mark.anyio
async def test_case_c06_async_one_second_wait_on_three_second_requests() -> None:
    """The async twin, under asyncio and trio: one request with 1 s, the end at t=1."""
    clock, given = AsyncFakeClock(), list[tuple[float, float]]()
    async with Script({"GET /c": [slow_requests(clock, given, 3.0)]}).async_client() as client:
        wait = th.async_resource_wait(client, "/c", state="state", success={"RUNNING"}, clock=clock)
        with pytest.raises(OperationTimedOut):
            await wait.result(timeout=1)
    assert given == [(0.0, 1.0)]
    assert clock.now() == 1.0


# -- C07, C08, C09 under asyncio and trio -----------------------------------------------------


@pytest.mark.anyio
async def test_case_c07_async_one_500_mid_wait() -> None:
    """A 500 at t=1.5 is retried by the async driver; PENDING then RUNNING succeeds."""
    clock, log = AsyncFakeClock(), list[float]()

    def answer(t: float) -> httpx.Response:
        if t == 1.5:
            return reply(500, {"message": "InternalError"})
        return state("RUNNING" if t >= 2.5 else "PENDING")

    async with Script({"GET /c": [timed(clock, log, answer)]}).async_client() as client:
        wait = th.async_resource_wait(
            client,
            "/c",
            state="state",
            success={"RUNNING"},
            policy=Policy(backoff=Constant(0.5)),
            clock=clock,
        )
        assert (await wait.result(timeout=20)).state == "RUNNING"
    assert log == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


@pytest.mark.anyio
@pytest.mark.parametrize("retry_after", [None, "3"])
async def test_case_c08_async_throttled(retry_after: str | None) -> None:
    """429s alternating with PENDING are retried by the async driver until success,
    each throttled poll's next sleep at least the Retry-After."""
    clock, log = AsyncFakeClock(), list[float]()
    headers = {"Retry-After": retry_after} if retry_after else {}

    def answer(t: float) -> httpx.Response:
        if len(log) >= 7:
            return state("RUNNING")
        if len(log) % 2:
            return reply(429, {"message": "throttled"}, headers)
        return state("PENDING")

    async with Script({"GET /c": [timed(clock, log, answer)]}).async_client() as client:
        wait = th.async_resource_wait(
            client, "/c", state="state", success={"RUNNING"}, clock=clock, rng=random.Random(7)
        )
        assert (await wait.result(timeout=120)).state == "RUNNING"
    assert len(log) == 7
    assert log[-1] < 120
    # The default Linear backoff: the n-th sleep is min(n, 10) + U(0, 1); a throttled
    # poll's Retry-After of 3 s raises the sleep after it to at least 3 s.
    for n, slept in enumerate(clock.sleeps[1:], start=1):
        low = min(n, 10)
        if retry_after and n % 2:
            low = max(low, 3)
        assert low <= slept <= max(low, min(n, 10) + 1.0)


@pytest.mark.anyio
async def test_case_c09_async_503_storm_ends_at_300_naming_503() -> None:
    """A 503 storm under asyncio and trio times out at t=300 exactly, no sleep after the
    final poll, and the error names the 503."""
    clock, log = AsyncFakeClock(), list[float]()
    busy = timed(clock, log, lambda t: reply(503, {"message": "busy"}))
    async with Script({"GET /c": [busy]}).async_client() as client:
        wait = th.async_resource_wait(client, "/c", state="state", success={"RUNNING"}, clock=clock)
        with pytest.raises(OperationTimedOut) as caught:
            await wait.result(timeout=300)
    assert log[-1] == 300.0
    assert clock.now() == 300.0
    assert len(clock.sleeps) == len(log)  # one sleep before each poll, none after the last
    assert caught.value.elapsed.total_seconds() == 300.0
    assert "answered 503 Service Unavailable: busy" in str(caught.value)
    error = caught.value.last_error
    assert isinstance(error, th.TransientHttpError)
    assert error.status_code == 503


# -- C10, C11: Retry-After under asyncio and trio, and on a poll only -------------------------


def location_operation(
    clock: FakeClock, log: list[float], initial: dict[str, str], answer: Callable[[float], Any]
) -> Script:
    return Script(
        {
            "POST /jobs": [reply(202, None, {"Location": "/jobs/1/status", **initial})],
            "GET /jobs/1/status": [timed(clock, log, answer)],
        }
    )


@pytest.mark.parametrize("hint", ["2700", "99999999999", "1" + "0" * 150])
def test_case_c10_huge_retry_after_on_a_poll_only(hint: str) -> None:
    """A huge hint first seen on the poll at t=0 is cut: a final poll at t=60, a timeout
    carrying the 202."""
    clock, log = FakeClock(), list[float]()
    script = location_operation(clock, log, {}, lambda t: reply(202, None, {"Retry-After": hint}))
    with script.client() as client:
        wait = th.azure_operation(client, client.post("/jobs"), clock=clock)
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=60)
    assert log == [0.0, 60.0]
    assert caught.value.entity.status_code == 202
    assert str(caught.value) == "timed out after 0:01:00: operation is InProgress"


@pytest.mark.anyio
@pytest.mark.parametrize("hint", ["2700", "99999999999", "inf"])
async def test_case_c10_async_huge_retry_after(hint: str) -> None:
    """Under asyncio and trio, 2700, 99999999999 and inf with a 60 s deadline end with a
    final poll at t=60 and a timeout carrying the last status, without a hot loop."""
    clock, log = AsyncFakeClock(), list[float]()
    script = location_operation(
        clock, log, {"Retry-After": hint}, lambda t: reply(202, None, {"Retry-After": hint})
    )
    async with script.async_client() as client:
        wait = th.async_azure_operation(client, await client.post("/jobs"), clock=clock)
        with pytest.raises(OperationTimedOut) as caught:
            await wait.result(timeout=60)
    assert log[-1] == 60.0
    assert clock.now() == 60.0
    if hint == "inf":  # not a number of seconds: the normal backoff
        assert log[0] == 0.0
        assert 5 < len(log) < 20
    else:
        assert log == [60.0]
    assert caught.value.entity.status_code == 202
    assert caught.value.state == "InProgress"


@pytest.mark.anyio
@pytest.mark.parametrize("garbage", ["/bar", "-5", "1.5e400", "", "Wed, 21 Oct 2015 07:28:00 GMT"])
async def test_case_c11_async_garbage_retry_after(garbage: str) -> None:
    """Under asyncio and trio, garbage or past-date hints leave the normal backoff alone."""
    clock, log = AsyncFakeClock(), list[float]()
    script = location_operation(
        clock,
        log,
        {"Retry-After": garbage},
        lambda t: (
            reply(200, {"ok": True})
            if len(log) >= 4
            else reply(202, None, {"Retry-After": garbage})
        ),
    )
    async with script.async_client() as client:
        wait = th.async_azure_operation(
            client, await client.post("/jobs"), clock=clock, policy=Policy(backoff=Constant(2.0))
        )
        assert (await wait.result(timeout=60)).body == {"ok": True}
    assert log == [0.0, 2.0, 4.0, 6.0]


# -- C15: every Azure strategy, every spelling ------------------------------------------------


def azure_put(strategy: str, final: str) -> Script:
    """A PUT whose progress is read by ``strategy``, ending in status ``final``."""
    if strategy == "provisioningState":
        return Script(
            {
                "PUT /vm": [reply(201, {"properties": {"provisioningState": "Creating"}})],
                "GET /vm": [
                    reply(200, {"properties": {"provisioningState": "Updating"}}),
                    reply(200, {"properties": {"provisioningState": final}}),
                ],
            }
        )
    status: list[Answer] = [reply(200, {"status": "InProgress"}), reply(200, {"status": final})]
    if strategy == "Location" and final.lower() == "succeeded":
        status = [reply(202), reply(200, {"id": "vm"})]
    return Script(
        {
            "PUT /vm": [reply(202, None, {strategy: "/ops/1"})],
            "GET /ops/1": status,
            "GET /vm": [reply(200, {"id": "vm"})],
        }
    )


STRATEGIES = ["Azure-AsyncOperation", "Operation-Location", "Location", "provisioningState"]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("status", ["Succeeded", "succeeded"])
def test_case_c15_success_spellings_in_every_strategy(strategy: str, status: str) -> None:
    """Succeeded and succeeded end the wait with success whichever way Azure is polled."""
    script = azure_put(strategy, status)
    clock = FakeClock()
    with script.client() as client:
        done = th.azure_operation(client, client.put("/vm"), clock=clock).result(timeout=3600)
    assert done.status_code == 200
    assert clock.now() < 60


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("status", ["Canceled", "Cancelled", "canceled", "CANCELLED"])
def test_case_c15_cancelled_spellings_in_every_strategy(strategy: str, status: str) -> None:
    """Canceled and Cancelled, in any case, fail at once whichever way Azure is polled."""
    script = azure_put(strategy, status)
    clock = FakeClock()
    with script.client() as client:
        wait = th.azure_operation(client, client.put("/vm"), clock=clock)
        with pytest.raises(OperationFailed) as caught:
            wait.result(timeout=3600)
    assert caught.value.state == status
    assert clock.now() < 60  # at once, not at the deadline
    assert len(script.seen) == 3  # the PUT and two polls


# -- C16 under asyncio and trio ---------------------------------------------------------------


@pytest.mark.anyio
async def test_case_c16_async_failure_only_in_the_body() -> None:
    """Under asyncio and trio, a 200 whose body says Failed is a failure with its message."""
    body = {"status": "Failed", "error": {"code": "QuotaExceeded", "message": "no cores left"}}
    script = Script(
        {
            "POST /x": [reply(202, None, {"Location": "/x/status"})],
            "GET /x/status": [reply(202), reply(200, body)],
        }
    )
    async with script.async_client() as client:
        wait = th.async_azure_operation(client, await client.post("/x"), clock=AsyncFakeClock())
        with pytest.raises(OperationFailed) as caught:
            await wait.result(timeout=60)
    assert caught.value.state == "Failed"
    assert caught.value.message == "QuotaExceeded: no cores left"
    assert str(caught.value).endswith("got Failed: QuotaExceeded: no cores left")


# -- C17: a redirect to another origin, on a client that follows redirects -------------------


def redirecting_monitor() -> Script:
    """A monitor on origin A that answers with a 307 to origin B."""
    return Script(
        {
            "PUT /vm": [reply(202, None, {"Operation-Location": "/ops/1"})],
            "GET /ops/1": [httpx.Response(307, headers={"Location": f"{FOREIGN}/ops/1"})],
            f"GET {FOREIGN}/ops/1": [reply(200, {"status": "Succeeded"})],
            "GET /vm": [reply(200, {"id": "vm"})],
        }
    )


CREDENTIALS: dict[str, Any] = {
    "follow_redirects": True,
    "cookies": {"session": "CSECRET"},
    "headers": {"Authorization": SECRET, "X-API-Key": "KSECRET"},
}


def test_case_c17_redirect_abroad_is_refused_even_when_the_client_follows_redirects() -> None:
    """A poll on A redirected to B is refused before any request to B, though the
    caller's client has follow_redirects=True."""
    script = redirecting_monitor()
    with script.client(**CREDENTIALS) as client:
        wait = th.azure_operation(client, client.put("/vm"), clock=FakeClock())
        with pytest.raises(th.ForeignOriginRefused, match="redirect"):
            wait.result(timeout=60)
    assert [str(r.url) for r in script.seen] == [f"{BASE}/vm", f"{BASE}/ops/1"]


def test_case_c17_allowed_redirect_abroad_carries_no_credentials() -> None:
    """With B allowed, the redirected poll reaches B without cookies, API keys or
    Authorization, even on a client that follows redirects."""
    script = redirecting_monitor()
    with script.client(**CREDENTIALS) as client:
        wait = th.azure_operation(
            client, client.put("/vm"), clock=FakeClock(), allowed_origins=[FOREIGN]
        )
        assert wait.result(timeout=60).body == {"id": "vm"}
    (to_b,) = [r for r in script.seen if r.url.host == "b.example"]
    for name in ("authorization", "cookie", "x-api-key"):
        assert name not in to_b.headers


@pytest.mark.anyio
async def test_case_c17_async_redirect_abroad_is_refused() -> None:
    """Under asyncio and trio, a redirect to B on a following client sends nothing to B."""
    script = redirecting_monitor()
    async with script.async_client(**CREDENTIALS) as client:
        wait = th.async_azure_operation(client, await client.put("/vm"), clock=AsyncFakeClock())
        with pytest.raises(th.ForeignOriginRefused, match="redirect"):
            await wait.result(timeout=60)
    assert [r for r in script.seen if r.url.host == "b.example"] == []
