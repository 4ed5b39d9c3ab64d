"""The operations server over real sockets, driven by plain httpx."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tarry.testing import Fault, OperationsServer, Step

TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A plain httpx client with a timeout that keeps a broken test from hanging."""
    with httpx.Client(timeout=TIMEOUT) as c:
        yield c


def raw_exchange(server: OperationsServer, data: bytes, *, shut: bool = False) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# Life cycle and binding ------------------------------------------------------------------


def test_fixture_serves_on_loopback(operations_server: OperationsServer) -> None:
    """The pytest11 fixture hands a running server on 127.0.0.1 with a free port."""
    assert operations_server.url == f"http://127.0.0.1:{operations_server.port}"
    assert operations_server.port > 0
    assert httpx.get(operations_server.url + "/nowhere").status_code == 404


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost", "::1", "127.0.0.2", ""])
def test_only_loopback_127_0_0_1(host: str) -> None:
    """Any host other than 127.0.0.1 is refused before anything is bound."""
    with pytest.raises(ValueError, match=r"binds only 127\.0\.0\.1"):
        OperationsServer(host)


def test_not_reachable_on_other_addresses(operations_server: OperationsServer) -> None:
    """The port listens on 127.0.0.1 only: another loopback address is refused."""
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.2", operations_server.port), 1),
    ):
        pass


@pytest.mark.parametrize(
    "kwargs",
    [{"port": -1}, {"port": 70000}, {"idle_timeout": 0}, {"max_header_bytes": 10}],
)
def test_bad_settings(kwargs: dict[str, int]) -> None:
    """Bad settings are a ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        OperationsServer(**kwargs)  # type: ignore[arg-type]


def test_start_stop_misuse() -> None:
    """url before start, a second start and a restart after stop are clear errors."""
    server = OperationsServer()
    with pytest.raises(RuntimeError, match="has not started"):
        _ = server.url
    with server, pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()  # twice is fine
    with pytest.raises(RuntimeError, match="cannot start again"):
        server.start()


def test_clean_shutdown_with_busy_connections() -> None:
    """Stopping with idle, hanging and slow requests in flight closes everything and joins
    every thread, leaving no socket for the garbage collector to warn about."""
    before = {t.ident for t in threading.enumerate()}
    server = OperationsServer().start()
    hang = server.add_resource(faults=[Fault.hang()])
    slow = server.add_resource(faults=[Fault.slow(30.0)])
    idle = httpx.Client(timeout=TIMEOUT)
    idle.get(server.url + "/nowhere")  # a kept-alive connection
    errors: list[BaseException] = []

    def call(url: str) -> None:
        try:
            httpx.get(url, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            errors.append(exc)

    callers = [threading.Thread(target=call, args=(op.url,)) for op in (hang, slow)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 5
    while len(server.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop()
    for caller in callers:
        caller.join()
    idle.close()
    assert len(errors) == 2  # both in-flight requests saw the connection close
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    leftover = [
        t for t in threading.enumerate() if t.ident not in before and t.name.startswith("tarry-")
    ]
    assert leftover == []
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", server.port), 1),
    ):
        pass


def test_idle_connections_are_closed() -> None:
    """A connection that sends nothing for idle_timeout seconds is closed by the server."""
    with (
        OperationsServer(idle_timeout=0.2) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        assert sock.recv(1) == b""


def test_two_servers_share_scenarios(operations_server: OperationsServer) -> None:
    """A second server on the same scenarios serves the same operations on another origin."""
    op = operations_server.add_cluster(["RUNNING"])
    with OperationsServer(scenarios=operations_server.scenarios) as other:
        assert other.url != operations_server.url
        reply = httpx.get(other.url + op.path)
        assert reply.json()["state"] == "RUNNING"
    assert op.url.startswith(operations_server.url)


def test_import_without_h11_gives_a_clear_error(tmp_path: Path) -> None:
    """Without h11, tarry.testing still imports, and the server and the fixture say to install
    tarry[http]."""
    (tmp_path / "conftest.py").write_text("import sys\nsys.modules['h11'] = None\n")
    (tmp_path / "test_it.py").write_text(
        "import pytest, tarry.testing\n"
        "def test_import():\n"
        "    assert tarry.testing.FakeClock\n"
        "    with pytest.raises(ModuleNotFoundError, match=r'tarry\\[http\\]'):\n"
        "        tarry.testing.OperationsServer\n"
        "def test_fixture(operations_server):\n"
        "    pass\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert "1 passed, 1 error" in done.stdout, done.stdout
    assert "pip install 'tarry[http]'" in done.stdout


# Conventions end to end ------------------------------------------------------------------


def test_databricks_cluster_and_run(
    operations_server: OperationsServer, client: httpx.Client
) -> None:
    """Create calls and GETs in the Databricks-style formats, over one keep-alive client."""
    base = operations_server.url
    script = {"timeline": [{"state": "PENDING"}, {"state": "RUNNING", "poll": 2}]}
    created = client.post(base + "/api/2.1/clusters/create", json={"tarry": script})
    cluster_id = created.json()["cluster_id"]
    states = [
        client.get(base + "/api/2.1/clusters/get", params={"cluster_id": cluster_id}).json()[
            "state"
        ]
        for _ in range(2)
    ]
    assert states == ["PENDING", "RUNNING"]
    run = operations_server.add_run(
        ["RUNNING", Step("TERMINATED", poll=2, result="FAILED", message="boom")]
    )
    client.get(run.url)
    assert client.get(run.url).json()["state"] == {
        "life_cycle_state": "TERMINATED",
        "result_state": "FAILED",
        "state_message": "boom",
    }


def test_google_operation_by_time(
    operations_server: OperationsServer, client: httpx.Client
) -> None:
    """A Google operation follows its timeline on the server's clock."""
    op = operations_server.add_google_operation([Step("RUNNING"), Step("SUCCEEDED", at=0.2)])
    assert client.get(op.url).json()["done"] is False
    time.sleep(0.25)
    assert client.get(op.url).json()["done"] is True


def test_generic_resource_created_over_http(
    operations_server: OperationsServer, client: httpx.Client
) -> None:
    """POST /resources answers 201 and a Location to poll."""
    created = client.post(operations_server.url + "/resources")
    assert created.status_code == 201
    polled = client.get(created.headers["location"])
    assert polled.json()["id"] == created.json()["id"]


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("Azure-AsyncOperation", "status"),
        ("Operation-Location", "status"),
        ("Location", "location"),
    ],
)
def test_azure_polling_headers(
    operations_server: OperationsServer, client: httpx.Client, header: str, role: str
) -> None:
    """The initial PUT points to the URL that the header stands for, and it answers."""
    op = operations_server.add_azure_operation(
        ["InProgress", Step("Succeeded", poll=2)], headers=[header], initial_retry_after="1"
    )
    put = client.put(op.url, json={"location": "westeurope"})
    assert put.headers["retry-after"] == "1"
    assert put.headers[header] == op.urls[role]
    first, second = client.get(put.headers[header]), client.get(put.headers[header])
    if role == "status":
        assert [first.json()["status"], second.json()["status"]] == ["InProgress", "Succeeded"]
    else:
        assert [first.status_code, second.status_code] == [202, 200]
        assert second.json()["properties"]["provisioningState"] == "Succeeded"


def test_admin_endpoint_over_http(
    operations_server: OperationsServer, client: httpx.Client
) -> None:
    """curl users script operations with POST /_tarry/operations and read the request log."""
    base = operations_server.url
    made = client.post(
        base + "/_tarry/operations",
        json={"convention": "resource", "faults": [{"kind": "status", "code": 503, "on": 1}]},
    )
    assert made.status_code == 201
    url = made.json()["url"]
    assert client.get(url).status_code == 503
    assert client.get(url).status_code == 200
    log = client.get(base + "/_tarry/requests").json()
    assert [r["poll"] for r in log] == [None, 1, 2]  # the GET of the log comes after it


# Faults over sockets ---------------------------------------------------------------------


def test_status_fault_with_garbage_retry_after(
    operations_server: OperationsServer, client: httpx.Client
) -> None:
    """A 503 goes out with whatever Retry-After text was scripted."""
    op = operations_server.add_resource(faults=[Fault.status(503, retry_after="1.5e400", on=1)])
    reply = client.get(op.url)
    assert (reply.status_code, reply.headers["retry-after"]) == (503, "1.5e400")
    assert reply.json()["error"]["code"] == 503
    assert client.get(op.url).status_code == 200


def test_drop_fault(operations_server: OperationsServer, client: httpx.Client) -> None:
    """A dropped connection reaches the client as a disconnect; the next poll works."""
    op = operations_server.add_resource(faults=[Fault.drop(on=1)])
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(op.url)
    assert client.get(op.url).status_code == 200


def test_reset_fault(operations_server: OperationsServer, client: httpx.Client) -> None:
    """A reset mid-body breaks the read; the next poll works."""
    op = operations_server.add_resource(faults=[Fault.reset(on=1)])
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get(op.url)
    assert client.get(op.url).status_code == 200


def test_slow_fault(operations_server: OperationsServer, client: httpx.Client) -> None:
    """A slow answer arrives after its delay; a shorter client timeout gives up first."""
    op = operations_server.add_resource(faults=[Fault.slow(0.3, on=[1, 2])])
    with pytest.raises(httpx.ReadTimeout):
        client.get(op.url, timeout=0.05)
    started = time.monotonic()
    assert client.get(op.url).status_code == 200
    assert time.monotonic() - started >= 0.25
    assert op.polls == 2


def test_hang_fault(operations_server: OperationsServer, client: httpx.Client) -> None:
    """A hanging answer never comes; the client's own timeout ends the request."""
    op = operations_server.add_resource(faults=[Fault.hang(on=1)])
    with pytest.raises(httpx.ReadTimeout):
        client.get(op.url, timeout=0.2)
    assert client.get(op.url).status_code == 200


def test_malformed_and_truncated_bodies(
    operations_server: OperationsServer, client: httpx.Client
) -> None:
    """Malformed and truncated JSON arrive as complete HTTP messages that do not parse."""
    op = operations_server.add_resource(faults=[Fault.malformed(on=1), Fault.truncated(on=2)])
    for _ in range(2):
        reply = client.get(op.url)
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "application/json"
        with pytest.raises(ValueError, match=r"Expecting|Unterminated|Illegal|delimiter"):
            reply.json()


def test_huge_body(operations_server: OperationsServer, client: httpx.Client) -> None:
    """A huge body arrives whole, with its Content-Length."""
    op = operations_server.add_resource(faults=[Fault.huge(3_000_000, on=1)])
    with client.stream("GET", op.url) as reply:
        assert reply.headers["content-length"] == "3000000"
        assert sum(len(chunk) for chunk in reply.iter_bytes()) == 3_000_000


def test_foreign_origin_and_move(operations_server: OperationsServer, client: httpx.Client) -> None:
    """Polling headers can point to another origin, or to a new URL that replaces the old."""
    op = operations_server.add_azure_operation(
        method="POST", faults=[Fault.move(on=1), Fault.foreign(on=2)]
    )
    location = client.post(op.url).headers["location"]
    moved = client.get(location)
    assert moved.status_code == 202
    assert moved.headers["location"] != location
    assert client.get(location).status_code == 404
    foreign = client.get(moved.headers["location"])
    assert foreign.headers["location"].startswith(f"http://127.0.0.2:{operations_server.port}/")


def test_redirect_followed(operations_server: OperationsServer, client: httpx.Client) -> None:
    """A redirect leads to the same operation, which an httpx client can follow."""
    op = operations_server.add_google_operation(faults=[Fault.redirect(302, on=1)])
    reply = client.get(op.url, follow_redirects=True)
    assert reply.json()["name"] == op.name
    assert [r.status_code for r in reply.history] == [302]


def test_retry_after_on_202(operations_server: OperationsServer, client: httpx.Client) -> None:
    """C12's script: the initial 202 says Retry-After 10, the next 202 says 5."""
    op = operations_server.add_azure_operation(
        method="DELETE", initial_retry_after="10", faults=[Fault.retry_after("5", on=1)]
    )
    first = client.delete(op.url)
    assert (first.status_code, first.headers["retry-after"]) == (202, "10")
    second = client.get(first.headers["location"])
    assert (second.status_code, second.headers["retry-after"]) == (202, "5")


# The request log and concurrency ---------------------------------------------------------


def test_request_log_over_sockets(
    operations_server: OperationsServer, client: httpx.Client
) -> None:
    """The log keeps method, target, headers, body and arrival order."""
    op = operations_server.add_azure_operation()
    client.put(op.url, params={"api-version": "2024-01-01"}, json={"a": 1}, headers={"x-id": "7"})
    client.get(op.status_url)
    log = op.requests
    assert [(r.method, r.path) for r in log] == [
        ("PUT", op.path),
        ("GET", "/azure/operations/" + op.id),
    ]
    assert log[0].query == {"api-version": ["2024-01-01"]}
    assert log[0].json() == {"a": 1}
    assert log[0].header("X-ID") == "7"
    assert log[0].time <= log[1].time
    assert [r.poll for r in log] == [None, 1]
    assert operations_server.requests == log


def test_many_concurrent_clients(operations_server: OperationsServer) -> None:
    """100 threads polling at once through one pooled client all get the right answers."""
    ops = [
        operations_server.add_cluster([Step("PENDING"), Step("RUNNING", poll=3)])
        for _ in range(100)
    ]
    barrier = threading.Barrier(100, timeout=30)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)

    def poll(url: str) -> list[str]:
        barrier.wait()
        return [shared.get(url).json()["state"] for _ in range(3)]

    with (
        httpx.Client(timeout=TIMEOUT, limits=limits) as shared,
        ThreadPoolExecutor(max_workers=100) as pool,
    ):
        results = list(pool.map(poll, [op.url for op in ops]))
    assert results == [["PENDING", "PENDING", "RUNNING"]] * 100
    assert len(operations_server.requests) == 300
    assert all(op.polls == 3 for op in ops)
    # httpx keeps at most 100 open at once, but may replace a pooled connection between
    # requests, so the total accepted over the test is bounded only by the requests.
    assert 1 <= operations_server.connections <= 300


# Garbage on the socket ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02\xff\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # no Host
        b"GET /resources/x HTTP/1.1\r\nno colon here\r\n\r\n",
        b"POST /resources HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /resources HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /resources HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    ],
)
def test_garbage_gets_400_and_the_server_survives(
    operations_server: OperationsServer, garbage: bytes
) -> None:
    """Malformed requests are answered 4xx and closed; the server keeps serving."""
    answer = raw_exchange(operations_server, garbage)
    assert answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 431 ", b"HTTP/1.1 505 ")), answer[:80]
    assert b"connection: close" in answer.lower()
    assert httpx.get(operations_server.url + "/nowhere").status_code == 404


def test_half_request_then_close(operations_server: OperationsServer) -> None:
    """A client that sends half a request and hangs up is forgotten quietly."""
    answer = raw_exchange(operations_server, b"GET /resources/x HTTP/1.1\r\nHo", shut=True)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 ")
    assert httpx.get(operations_server.url + "/nowhere").status_code == 404


def test_body_too_large() -> None:
    """A body over max_body_bytes is answered 413."""
    with OperationsServer(max_body_bytes=1000) as server:
        answer = raw_exchange(
            server,
            b"POST /resources HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000,
        )
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert httpx.post(server.url + "/resources", content=b"{}").status_code == 201


def test_random_bytes_never_kill_the_server(operations_server: OperationsServer) -> None:
    """Many connections of random bytes leave the server answering normally."""
    rng = __import__("random").Random(1234)
    for _ in range(30):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 300)))
        raw_exchange(operations_server, blob, shut=True)
    assert httpx.get(operations_server.url + "/nowhere").status_code == 404


def test_cookies_over_a_client(operations_server: OperationsServer, client: httpx.Client) -> None:
    """An httpx client keeps the cookie an operation sets; a bare request is refused."""
    op = operations_server.add_cluster(["PENDING", Step("RUNNING", poll=3)], cookie="s=1")
    assert client.get(op.url).status_code == 200
    assert httpx.get(op.url).status_code == 401
    assert client.get(op.url).json()["state"] == "RUNNING"


def test_foreign_polling_origin_sees_no_secrets(operations_server: OperationsServer) -> None:
    """With polling_origin on a second server, that server's log shows what a client sent it."""
    with OperationsServer(scenarios=operations_server.scenarios) as other:
        op = operations_server.add_azure_operation(
            headers=["Operation-Location"], polling_origin=other.url
        )
        put = httpx.put(op.url, headers={"Authorization": "Bearer secret"})
        assert put.headers["operation-location"].startswith(other.url + "/")
        httpx.get(put.headers["operation-location"])
        polled = [r for r in op.requests if r.poll]
        assert len(polled) == 1
        assert polled[0].header("authorization") is None


def test_hang_released_when_the_client_leaves(operations_server: OperationsServer) -> None:
    """A hanging answer ends its connection thread as soon as the client hangs up."""
    op = operations_server.add_resource(faults=[Fault.hang()])
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(op.url, timeout=0.2)
    deadline = time.monotonic() + 5
    while operations_server._threads and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not operations_server._threads


def test_connections_past_the_limit_are_closed() -> None:
    """Past max_connections, new connections are closed at once; the others keep working."""
    with (
        OperationsServer(max_connections=1) as server,
        httpx.Client(timeout=TIMEOUT) as first,
    ):
        assert first.get(server.url + "/nowhere").status_code == 404
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url + "/nowhere", timeout=TIMEOUT)
        assert first.get(server.url + "/nowhere").status_code == 404


def test_scenario_bug_is_a_500(
    operations_server: OperationsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception inside a scenario is answered 500 with its text; serving goes on."""

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("oops")

    with httpx.Client(timeout=TIMEOUT) as client:
        monkeypatch.setattr(operations_server.scenarios, "handle", broken)
        reply = client.get(operations_server.url + "/x")
        assert reply.status_code == 500
        assert "ZeroDivisionError('oops')" in reply.text
        monkeypatch.undo()
        assert client.get(operations_server.url + "/x").status_code == 404


def test_head_and_expect_100_continue(operations_server: OperationsServer) -> None:
    """HEAD answers headers only; a client waiting for 100 Continue gets it before its body."""
    op = operations_server.add_azure_operation(method="PATCH")
    head = raw_exchange(
        operations_server,
        f"HEAD {op.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
    )
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", operations_server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /_tarry/operations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"{}")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")
