"""Cases C06-C12 and C15-C17 (see the cases README) through tarry.http."""

from __future__ import annotations

import itertools
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import tarry.http as th
from _http_fakes import BASE, SECRET, Script, reply
from tarry import Constant, OperationFailed, OperationTimedOut, Policy
from tarry.testing import AsyncFakeClock, FakeClock


def timed(clock: FakeClock, log: list[float], answer: Callable[[float], httpx.Response]) -> Any:
    """A route handler that records the virtual time of each poll and answers by it."""

    def handle(request: httpx.Request) -> httpx.Response:
        log.append(clock.now())
        return answer(clock.now())

    return handle


def state(value: str, status: int = 200, **headers: str) -> httpx.Response:
    return reply(status, {"state": value}, headers)


# -- C06: a slow request is cut to the time left ---------------------------------------------


class SlowServer:
    """A loopback HTTP server that answers every request after ``delay`` seconds.

    ``answered`` counts the responses actually sent, so a test can tell that a wait ended
    before the server spoke, whatever the machine's speed.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.answered = 0
        self.requests = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SlowServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                self.requests += 1
                if self._stop.wait(self.delay):
                    return
                body = b'{"state": "RUNNING"}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
                )
                self.answered += 1
            except OSError:
                return


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    # Each answer takes 3 s, far past the 0.3 s wait: a wait that ends with no answer
    # sent was cut, whatever the load on the machine. Stopping releases the answers, so
    # the test still takes about half a second.
    with SlowServer(delay=3.0) as server:
        yield server


def _timeouts_seen(log: list[dict[str, float]]) -> Callable[[httpx.Request], None]:
    def record(request: httpx.Request) -> None:
        log.append(request.extensions["timeout"])

    return record


def test_case_c06_slow_request_is_cut_to_the_time_left(slow_server: SlowServer) -> None:
    """timeout=0.3, each request takes 3 s: requests get the time left (floor 0.2) and the
    wait times out before the server ever answers."""
    used: list[dict[str, float]] = []
    hooks = {"request": [_timeouts_seen(used)]}
    with httpx.Client(base_url=slow_server.url, event_hooks=hooks) as client:
        wait = th.resource_wait(
            client,
            "/cluster",
            state="state",
            success={"RUNNING"},
            policy=Policy(request_floor=0.2, backoff=Constant(0.05)),
        )
        started = time.monotonic()
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=0.3)
        elapsed = time.monotonic() - started
    assert slow_server.answered == 0  # no response was ever waited for
    assert elapsed < 0.3 + 0.2 + 1.5  # deadline + floor + a generous margin, below 3 s
    assert used, "no request was made"
    assert used[0]["read"] == pytest.approx(0.3, abs=0.01)
    assert all(0.2 - 1e-6 <= t["read"] <= 0.3 + 1e-6 for t in used)
    assert all(t["connect"] == t["read"] for t in used)
    error = caught.value.last_error
    assert isinstance(error, th.TransientHttpError)
    assert error.status_code is None
    assert "timed out after" in str(error)


@pytest.mark.anyio
async def test_case_c06_async_slow_request_is_cut(slow_server: SlowServer) -> None:
    """The same under asyncio and trio, with an AsyncClient over real sockets."""
    used: list[dict[str, float]] = []

    async def record(request: httpx.Request) -> None:
        used.append(request.extensions["timeout"])

    async with httpx.AsyncClient(
        base_url=slow_server.url, event_hooks={"request": [record]}
    ) as client:
        wait = th.async_resource_wait(
            client,
            "/cluster",
            state="state",
            success={"RUNNING"},
            policy=Policy(request_floor=0.2, backoff=Constant(0.05)),
        )
        started = time.monotonic()
        with pytest.raises(OperationTimedOut):
            await wait.result(timeout=0.3)
        elapsed = time.monotonic() - started
    assert slow_server.answered == 0
    assert elapsed < 0.3 + 0.2 + 1.5
    assert used[0]["read"] == pytest.approx(0.3, abs=0.05)
    assert all(0.2 - 1e-6 <= t["read"] <= 0.3 + 1e-6 for t in used)


# -- C07, C08, C09: transient errors and throttling -----------------------------------------


def test_case_c07_one_500_mid_wait() -> None:
    """A 500 at t=1.5 is retried; PENDING then RUNNING later is a success."""
    clock, log = FakeClock(), list[float]()

    def answer(t: float) -> httpx.Response:
        if t == 1.5:
            return reply(500, {"message": "InternalError"})
        return state("RUNNING" if t >= 2.5 else "PENDING")

    script = Script({"GET /c": [timed(clock, log, answer)]})
    with script.client() as client:
        wait = th.resource_wait(
            client,
            "/c",
            state="state",
            success={"RUNNING"},
            policy=Policy(backoff=Constant(0.5)),
            clock=clock,
        )
        assert wait.result(timeout=20).state == "RUNNING"
    assert log == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


@pytest.mark.parametrize("retry_after", [None, "3"])
def test_case_c08_throttled(retry_after: str | None) -> None:
    """Polls alternating 429 and PENDING are retried with backoff inside the deadline."""
    clock, log = FakeClock(), list[float]()
    headers = {"Retry-After": retry_after} if retry_after else {}

    def answer(t: float) -> httpx.Response:
        if len(log) >= 7:
            return state("RUNNING")
        if len(log) % 2:
            return reply(429, {"message": "throttled"}, headers)
        return state("PENDING")

    script = Script({"GET /c": [timed(clock, log, answer)]})
    with script.client() as client:
        wait = th.resource_wait(
            client, "/c", state="state", success={"RUNNING"}, clock=clock, rng=random.Random(7)
        )
        assert wait.result(timeout=120).state == "RUNNING"
    sleeps = clock.sleeps[1:]
    assert len(log) == 7
    assert all(b >= a - 1.0 for a, b in itertools.pairwise(sleeps))  # backoff grows (jitter <= 1)
    if retry_after:
        throttled = [s for i, s in enumerate(sleeps) if i % 2 == 0]
        assert all(s >= 3.0 for s in throttled)
    assert clock.now() < 120


def test_case_c09_503_storm() -> None:
    """503 for the whole 300 s budget: a timeout at t=300 exactly, naming the 503."""
    clock, log = FakeClock(), list[float]()
    script = Script({"GET /c": [timed(clock, log, lambda t: reply(503, {"message": "busy"}))]})
    with script.client() as client:
        wait = th.resource_wait(client, "/c", state="state", success={"RUNNING"}, clock=clock)
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=300)
    assert log[-1] == 300.0
    assert caught.value.elapsed.total_seconds() == 300.0
    assert clock.now() == 300.0
    assert "answered 503 Service Unavailable: busy" in str(caught.value)
    error = caught.value.last_error
    assert isinstance(error, th.TransientHttpError)
    assert error.status_code == 503


@pytest.mark.anyio
async def test_case_c09_async_503_storm() -> None:
    """The 503 storm under asyncio and trio ends at the deadline too."""
    clock, log = AsyncFakeClock(), list[float]()
    script = Script({"GET /c": [timed(clock, log, lambda t: reply(503))]})
    async with script.async_client() as client:
        wait = th.async_resource_wait(client, "/c", state="state", success={"RUNNING"}, clock=clock)
        with pytest.raises(OperationTimedOut, match="503"):
            await wait.result(timeout=300)
    assert log[-1] == 300.0


# -- C10, C11, C12: Retry-After ---------------------------------------------------------------


def location_operation(
    clock: FakeClock,
    log: list[float],
    initial: dict[str, str],
    answer: Callable[[float], httpx.Response],
) -> Script:
    return Script(
        {
            "POST /jobs": [reply(202, None, {"Location": "/jobs/1/status", **initial})],
            "GET /jobs/1/status": [timed(clock, log, answer)],
        }
    )


@pytest.mark.parametrize("hint", ["2700", "99999999999", "Fri, 01 Jan 2100 00:00:00 GMT"])
def test_case_c10_huge_retry_after(hint: str) -> None:
    """A huge Retry-After is cut to the time left: one final poll at t=60, then a timeout
    carrying the last status."""
    clock, log = FakeClock(), list[float]()
    script = location_operation(
        clock, log, {"Retry-After": hint}, lambda t: reply(202, None, {"Retry-After": hint})
    )
    with script.client() as client:
        wait = th.azure_operation(client, client.post("/jobs"), clock=clock)
        with pytest.raises(OperationTimedOut) as caught:
            wait.result(timeout=60)
    assert log == [60.0]
    assert caught.value.entity.status_code == 202
    assert caught.value.state == "InProgress"
    assert str(caught.value) == "timed out after 0:01:00: operation is InProgress"


def test_case_c10_infinite_retry_after_is_garbage() -> None:
    """``inf`` is not a Retry-After: normal backoff, a final poll at t=60, no hot loop."""
    clock, log = FakeClock(), list[float]()
    script = location_operation(
        clock, log, {"Retry-After": "inf"}, lambda t: reply(202, None, {"Retry-After": "inf"})
    )
    with script.client() as client:
        wait = th.azure_operation(client, client.post("/jobs"), clock=clock)
        with pytest.raises(OperationTimedOut):
            wait.result(timeout=60)
    assert log[0] == 0.0
    assert log[-1] == 60.0
    assert len(log) < 20


def test_case_c10_capped_by_max_retry_after() -> None:
    """Without a near deadline, a huge hint is clamped by max_retry_after."""
    clock, log = FakeClock(), list[float]()
    script = location_operation(
        clock,
        log,
        {"Retry-After": "2700"},
        lambda t: reply(200, {"done": 1}) if t > 0 else reply(202),
    )
    with script.client() as client:
        wait = th.azure_operation(
            client, client.post("/jobs"), clock=clock, policy=Policy(max_retry_after=30)
        )
        wait.result(timeout=None)
    assert log == [30.0]


@pytest.mark.parametrize(
    "garbage", ["/bar", "-5", "1.5e400", "", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"]
)
def test_case_c11_garbage_retry_after(garbage: str) -> None:
    """Garbage or past-date hints are ignored (a past date means now): normal backoff."""
    clock, log = FakeClock(), list[float]()
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
    with script.client() as client:
        wait = th.azure_operation(
            client, client.post("/jobs"), clock=clock, policy=Policy(backoff=Constant(2.0))
        )
        assert wait.result(timeout=60).body == {"ok": True}
    assert clock.sleeps == [0.0, 2.0, 2.0, 2.0]


def test_case_c12_retry_after_respected() -> None:
    """POST 202 Retry-After 10, then 202 Retry-After 5, then 200: polls at t=10 and t=15."""
    clock, log = FakeClock(), list[float]()

    def answer(t: float) -> httpx.Response:
        return reply(202, None, {"Retry-After": "5"}) if t < 15 else reply(200, {"id": 1})

    script = location_operation(clock, log, {"Retry-After": "10"}, answer)
    with script.client() as client:
        wait = th.azure_operation(client, client.post("/jobs"), clock=clock)
        assert wait.result(timeout=60).body == {"id": 1}
    assert log == [10.0, 15.0]


@pytest.mark.anyio
async def test_case_c12_async_retry_after_respected() -> None:
    """The same Retry-After timeline under asyncio and trio."""
    clock, log = AsyncFakeClock(), list[float]()

    def answer(t: float) -> httpx.Response:
        return reply(202, None, {"Retry-After": "5"}) if t < 15 else reply(200, {"id": 1})

    script = location_operation(clock, log, {"Retry-After": "10"}, answer)
    async with script.async_client() as client:
        started = await client.post("/jobs")
        done = await th.async_azure_operation(client, started, clock=clock).result(timeout=60)
    assert done.body == {"id": 1}
    assert log == [10.0, 15.0]


# -- C15, C16: Azure statuses -----------------------------------------------------------------


def monitor(*statuses: str) -> Script:
    return Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1"})],
            "GET /ops/1": [reply(200, {"status": s}) for s in statuses],
            "GET /vm": [reply(200, {"id": "vm"})],
        }
    )


@pytest.mark.parametrize("status", ["Succeeded", "succeeded", "SUCCEEDED"])
def test_case_c15_success_in_any_case(status: str) -> None:
    """Succeeded in any case ends the wait with the resource."""
    script = monitor("InProgress", status)
    with script.client() as client:
        done = th.azure_operation(client, client.put("/vm"), clock=FakeClock()).result()
    assert done.body == {"id": "vm"}


@pytest.mark.parametrize("status", ["Canceled", "Cancelled", "canceled", "CANCELLED", "failed"])
def test_case_c15_cancelled_in_either_spelling_is_terminal(status: str) -> None:
    """Canceled, Cancelled and Failed in any case fail at once instead of waiting to time out."""
    script = monitor("InProgress", status)
    with script.client() as client:
        wait = th.azure_operation(client, client.put("/vm"), clock=FakeClock())
        with pytest.raises(OperationFailed) as caught:
            wait.result(timeout=3600)
    assert caught.value.state == status
    assert script.paths().count("GET /ops/1") == 2


@pytest.mark.parametrize("where", ["status", "provisioningState"])
def test_case_c16_failure_only_in_the_body(where: str) -> None:
    """Location polling: a 200 whose body says Failed is a failure with the error message."""
    if where == "status":
        body: dict[str, Any] = {
            "status": "Failed",
            "error": {"code": "Conflict", "message": "name taken"},
        }
    else:
        body = {
            "properties": {"provisioningState": "Failed"},
            "error": {"code": "Conflict", "message": "name taken"},
        }
    script = Script(
        {
            "POST /x": [reply(202, None, {"Location": "/x/status"})],
            "GET /x/status": [reply(202), reply(200, body)],
        }
    )
    with script.client() as client:
        wait = th.azure_operation(client, client.post("/x"), clock=FakeClock())
        with pytest.raises(OperationFailed) as caught:
            wait.result(timeout=60)
    assert caught.value.message == "Conflict: name taken"
    assert str(caught.value).endswith("got Failed: Conflict: name taken")


# -- C17: polling URLs on another origin -------------------------------------------------------


FOREIGN = "https://b.example"


def foreign_put(link: str = f"{FOREIGN}/ops/1?sig=QSECRET") -> Script:
    return Script(
        {
            "PUT /vm": [reply(202, None, {"Operation-Location": link})],
            f"GET {FOREIGN}/ops/1": [reply(200, {"status": "Succeeded"})],
            "GET /ops/1": [reply(200, {"status": "Succeeded"})],
            "GET /vm": [reply(200, {"id": "vm"})],
        }
    )


def sent_to(script: Script, origin: str) -> list[httpx.Request]:
    return [r for r in script.seen if str(r.url).startswith(origin)]


def test_case_c17_foreign_polling_url_is_refused() -> None:
    """By default nothing goes to origin B, and the error says why, URLs redacted."""
    script = foreign_put()
    with script.client() as client:
        started = client.put("/vm?sig=PSECRET")
        with pytest.raises(th.ForeignOriginRefused) as caught:
            th.azure_operation(client, started)
    error = caught.value
    assert sent_to(script, FOREIGN) == []
    assert error.origin == FOREIGN
    assert error.url == f"{FOREIGN}/ops/1?[redacted]"
    assert str(error) == (
        f"refused to follow the Operation-Location {FOREIGN}/ops/1?[redacted] given by PUT "
        f"{BASE}/vm?[redacted]: its origin {FOREIGN} is not the origin of the first request "
        f"({BASE}); pass allowed_origins=['{FOREIGN}'] to follow it (credentials are never "
        "sent to another origin)"
    )


def test_case_c17_allowed_origin_gets_no_credentials() -> None:
    """With allowed_origins, B is polled, but without Authorization, cookies, API keys,
    caller-marked headers or the client's auth; A still gets them all."""
    script = foreign_put()
    with script.client(cookies={"session": "CSECRET"}, auth=httpx.BasicAuth("u", "pw")) as client:
        started = client.put("/vm")
        wait = th.azure_operation(
            client,
            started,
            allowed_origins=[FOREIGN],
            clock=FakeClock(),
            headers={"X-API-Key": "KSECRET", "X-Tenant": "TSECRET", "X-Trace": "t1"},
            sensitive_headers=["X-Tenant"],
        )
        assert wait.result().body == {"id": "vm"}
    (to_b,) = sent_to(script, FOREIGN)
    for name in ("authorization", "cookie", "x-api-key", "x-tenant"):
        assert name not in to_b.headers
    assert to_b.headers["x-trace"] == "t1"
    back_home = script.seen[-1]
    assert back_home.url.path == "/vm"
    assert back_home.headers["x-api-key"] == "KSECRET"
    assert back_home.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    "link", ["/ops/1", "ops/1", f"{BASE}/ops/1", "https://API.example:443/ops/1"]
)
def test_case_c17_relative_and_same_origin_are_followed(link: str) -> None:
    """Relative links and links on the first request's origin are followed with credentials."""
    script = foreign_put(link)
    with script.client() as client:
        th.azure_operation(client, client.put("/vm"), clock=FakeClock()).result()
    assert script.paths() == ["PUT /vm", "GET /ops/1", "GET /vm"]
    assert all(r.headers["authorization"] == SECRET for r in script.seen)


def test_case_c17_monitor_moving_abroad_mid_wait_is_refused() -> None:
    """A monitor that moves to another origin during the wait ends it, before any request."""
    script = Script(
        {
            "PUT /vm": [reply(201, {}, {"Azure-AsyncOperation": "/ops/1"})],
            "GET /ops/1": [
                reply(
                    200,
                    {"status": "InProgress"},
                    {"Azure-AsyncOperation": f"{FOREIGN}/ops/2?token=QSECRET"},
                )
            ],
        }
    )
    with script.client() as client:
        wait = th.azure_operation(client, client.put("/vm"), clock=FakeClock())
        with pytest.raises(th.ForeignOriginRefused, match="Azure-AsyncOperation") as caught:
            wait.result(timeout=60)
    assert "QSECRET" not in str(caught.value)
    assert sent_to(script, FOREIGN) == []


def test_case_c17_foreign_result_location_and_operation_name() -> None:
    """A foreign resourceLocation or a Google name that is a foreign URL are refused too."""
    script = Script(
        {
            "POST /x": [reply(202, None, {"Operation-Location": "/ops/1"})],
            "GET /ops/1": [
                reply(200, {"status": "Succeeded", "resourceLocation": f"{FOREIGN}/result"})
            ],
            "POST /v1/y": [reply(200, {"name": f"{FOREIGN}/v1/operations/1"})],
        }
    )
    with script.client() as client:
        wait = th.azure_operation(client, client.post("/x"), clock=FakeClock())
        with pytest.raises(th.ForeignOriginRefused, match="result location"):
            wait.result()
        with pytest.raises(th.ForeignOriginRefused, match="operation name"):
            th.google_operation(client, client.post("/v1/y"))
    assert sent_to(script, FOREIGN) == []


@pytest.mark.anyio
async def test_case_c17_async_allowed_origin_gets_no_credentials() -> None:
    """Under asyncio and trio, an allowed foreign origin gets no credentials either."""
    script = foreign_put()
    async with script.async_client(cookies={"session": "CSECRET"}) as client:
        started = await client.put("/vm")
        with pytest.raises(th.ForeignOriginRefused):
            th.async_azure_operation(client, started)
        wait = th.async_azure_operation(
            client, started, allowed_origins=FOREIGN, clock=AsyncFakeClock()
        )
        assert (await wait.result()).body == {"id": "vm"}
    (to_b,) = sent_to(script, FOREIGN)
    assert "authorization" not in to_b.headers
    assert "cookie" not in to_b.headers
