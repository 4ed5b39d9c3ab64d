"""Workload 4: polls per second over loopback, tarry.http against a bare httpx loop.

The embedded operations server (``tarry.testing.OperationsServer``) runs in a child
process on 127.0.0.1, so the client's and the server's work do not share one GIL. Each
wait polls a Databricks-style cluster that answers PENDING for K polls and RUNNING on
poll K+1; both contenders use the same httpx client and the same counted no-op sleep
(sync) or ``sleep(0)`` (async), and an event hook on the client counts every request.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx
from _common import Sleeps, Timed, check_counts, fmt_ratio, interleave
from overhead_async import LIBRARIES, Yield, run_on
from overhead_sync import NoopClock

import tarry.http

SERVER = """
import socket, sys
from tarry.testing import OperationsServer
with OperationsServer(idle_timeout=120.0) as server:
    if NODELAY:
        server._listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(server.url, flush=True)
    sys.stdin.read()
"""
NODELAY = True
"""The server writes a reply's head and body in two sends without TCP_NODELAY, so
Nagle's algorithm meets the client's delayed ACK and every request stalls about 40 ms.
Accepted sockets inherit TCP_NODELAY from the listening socket on Linux, so setting it
there measures the loops rather than the stall."""

NO_TLS = False
"""Plain http:// on loopback: skip loading the CA bundle (100 ms per client here)."""

CLIENT_TIMEOUT = httpx.Timeout(60.0, pool=None)
"""A thousand waits share the pool's 100 connections: a request may queue for its turn
longer than httpx's default 5 s, which is the bench's load, not a failure."""

CONCURRENT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""httpx's 100 connections, all kept: with its default of 20 kept alive, a thousand
waits closed and reopened a connection for most requests (2,649 connects for 3,000
requests, counted), which measured the server's accept loop instead of the waits."""

SUCCESS = {"RUNNING"}
FAILURE = {"ERROR", "TERMINATED"}


class Server:
    """The operations server in a child process, stopped when stdin closes."""

    def __init__(self, nodelay: bool = NODELAY) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"NODELAY = {nodelay!r}\n" + SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"the operations server did not start (said {self.url!r})")
        # A POST's head and body go out in two writes: without TCP_NODELAY each one
        # stalls on the server's delayed ACK (~40 ms), and a run creates 1,000 of them.
        admin_transport = httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        self.admin = httpx.Client(base_url=self.url, verify=NO_TLS, transport=admin_transport)

    def clusters(self, n: int, k: int) -> list[str]:
        """URLs of n new clusters, each PENDING for k polls, then RUNNING."""
        script = {
            "convention": "cluster",
            "timeline": [{"state": "PENDING"}, {"state": "RUNNING", "poll": k + 1}],
        }
        urls = []
        for _ in range(n):
            reply = self.admin.post("/_tarry/operations", json=script)
            reply.raise_for_status()
            urls.append(reply.json()["url"])
        return urls

    def close(self) -> None:
        if hasattr(self, "admin"):
            self.admin.close()
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


class Requests:
    """An httpx event hook that counts requests."""

    def __init__(self) -> None:
        self.count = 0

    def hook(self, request: httpx.Request) -> None:
        self.count += 1

    async def ahook(self, request: httpx.Request) -> None:
        self.count += 1


# -- sync -------------------------------------------------------------------------------

SyncWaiter = Callable[[httpx.Client, str, Sleeps], object]


def bare_sync(client: httpx.Client, url: str, sleeps: Sleeps) -> object:
    while True:
        reply = client.get(url)
        reply.raise_for_status()
        body = reply.json()
        state = body["state"]
        if state in SUCCESS:
            return body
        if state in FAILURE:
            raise RuntimeError(f"failed: {state}")
        sleeps.sleep(1.0)


def tarry_sync(client: httpx.Client, url: str, sleeps: Sleeps) -> object:
    wait = tarry.http.databricks_wait(
        client, url, success=SUCCESS, failure=FAILURE, clock=NoopClock(sleeps)
    )
    return wait.result()


def sync_sample(server: Server, name: str, waiter: SyncWaiter, k: int) -> Callable[[int], float]:
    def sample(n: int) -> float:
        urls = server.clusters(n, k)
        requests, sleeps = Requests(), Sleeps()
        with httpx.Client(
            event_hooks={"request": [requests.hook]}, verify=NO_TLS, timeout=CLIENT_TIMEOUT
        ) as client:
            client.get(server.url + "/")  # open the connection first (a cheap 404)
            requests.count = 0
            start = time.perf_counter()
            for url in urls:
                waiter(client, url, sleeps)
            spent = time.perf_counter() - start
        check_counts(f"{name} (HTTP, sync)", n, k, requests.count, sleeps.count)
        return spent / (n * (k + 1))

    return sample


# -- async ------------------------------------------------------------------------------

AsyncWaiter = Callable[[httpx.AsyncClient, str, Yield], Awaitable[object]]


async def bare_async(client: httpx.AsyncClient, url: str, clock: Yield) -> object:
    while True:
        reply = await client.get(url)
        reply.raise_for_status()
        body = reply.json()
        state = body["state"]
        if state in SUCCESS:
            return body
        if state in FAILURE:
            raise RuntimeError(f"failed: {state}")
        await clock.sleep(1.0)


async def tarry_async(client: httpx.AsyncClient, url: str, clock: Yield) -> object:
    wait = tarry.http.async_databricks_wait(
        client, url, success=SUCCESS, failure=FAILURE, clock=clock
    )
    return await wait.result()


async def _gather(library: str, jobs: Sequence[Callable[[], Awaitable[object]]]) -> None:
    if library == "trio":
        import trio

        async with trio.open_nursery() as nursery:
            for job in jobs:
                nursery.start_soon(job)
    else:
        await asyncio.gather(*(job() for job in jobs))


def async_run(
    server: Server, name: str, waiter: AsyncWaiter, library: str, n: int, k: int, concurrent: bool
) -> float:
    """Seconds for n waits (one after another, or all at once) on one AsyncClient."""
    urls = server.clusters(n, k)
    requests = Requests()

    async def main() -> tuple[float, int]:
        clock = Yield(library)
        async with httpx.AsyncClient(
            event_hooks={"request": [requests.ahook]},
            verify=NO_TLS,
            timeout=CLIENT_TIMEOUT,
            limits=CONCURRENT_LIMITS if concurrent else httpx.Limits(),
        ) as client:
            await client.get(server.url + "/")
            requests.count = 0
            start = time.perf_counter()
            if concurrent:
                jobs = [functools.partial(waiter, client, url, clock) for url in urls]
                await _gather(library, jobs)
            else:
                for url in urls:
                    await waiter(client, url, clock)
            return time.perf_counter() - start, clock.count

    spent, sleeps = run_on(library, main)
    check_counts(f"{name} (HTTP, {library})", n, k, requests.count, sleeps)
    return float(spent)


BARE = "bare httpx loop"
SYNC: dict[str, SyncWaiter] = {BARE: bare_sync, "tarry.http.databricks_wait": tarry_sync}
ASYNC: dict[str, AsyncWaiter] = {
    BARE: bare_async,
    "tarry.http.async_databricks_wait": tarry_async,
}


def run(
    k: int, rounds: int, target: float, concurrent: int, concurrent_k: int
) -> tuple[list[list[str]], dict[str, float]]:
    """Rows of the table, and tarry's slowdown against the bare loop per setting."""
    server = Server()
    rows: list[list[str]] = []
    slowdown: dict[str, float] = {}
    try:
        settings: list[tuple[str, dict[str, Callable[[int], float]]]] = [
            ("sync, one wait at a time", {m: sync_sample(server, m, w, k) for m, w in SYNC.items()})
        ]
        for library in LIBRARIES:
            settings.append(
                (
                    f"{library}, one wait at a time",
                    {m: _per_poll(server, m, w, library, k) for m, w in ASYNC.items()},
                )
            )
        for setting, samples in settings:
            timed: dict[str, Timed] = interleave(samples, rounds, target)
            base = timed[BARE].median
            for m, t in timed.items():
                rows.append(
                    [
                        setting,
                        m,
                        f"{1 / t.median:,.0f}",
                        f"{t.median * 1e6:,.0f} us",
                        fmt_ratio(t.median / base),
                    ]
                )
            slowdown[setting] = max(t.median for t in timed.values()) / base
        for library in LIBRARIES:
            setting = f"{library}, {concurrent:,} waits at once on one AsyncClient"
            walls: dict[str, list[float]] = {m: [] for m in ASYNC}
            for r in range(max(1, rounds - 2)):
                order = list(ASYNC)[r % 2 :] + list(ASYNC)[: r % 2]
                for m in order:
                    walls[m].append(
                        async_run(server, m, ASYNC[m], library, concurrent, concurrent_k, True)
                    )
            polls = concurrent * (concurrent_k + 1)
            # The fastest run: runs fall into slower modes at random (see the note in
            # run.py), and the fastest is the one least disturbed, for either loop.
            base = min(walls[BARE])
            for m, values in walls.items():
                fastest = min(values)
                median = sorted(values)[len(values) // 2]
                rows.append(
                    [
                        setting,
                        m,
                        f"{polls / fastest:,.0f}",
                        f"{fastest:.2f} s total (median {median:.1f}, slowest {max(values):.1f})",
                        fmt_ratio(fastest / base),
                    ]
                )
            slowdown[setting] = max(min(v) for v in walls.values()) / base
    finally:
        server.close()
    return rows, slowdown


def _per_poll(
    server: Server, name: str, waiter: AsyncWaiter, library: str, k: int
) -> Callable[[int], float]:
    def sample(n: int) -> float:
        return async_run(server, name, waiter, library, n, k, False) / (n * (k + 1))

    return sample


HEADER = ["setting", "contender", "polls per second", "time per poll", "vs bare httpx"]
