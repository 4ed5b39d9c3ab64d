"""Many waits at once, and one wait run more than once.

Documented behaviour (``Wait`` and ``AsyncWait``): each ``result()`` call is an
independent wait, with its own deadline, backoff and polls, so one wait object may be
waited on again, or from several threads (or tasks) at the same time. The server's
state decides what each call sees; nothing is shared between calls but the poll.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest

import tarry.http as th
from tarry import OperationTimedOut, request_timeout
from tarry.testing import Fault, OperationsServer, Step

from ._support import FAST, TLS

THREADS = 32


def test_many_threads_wait_on_separate_operations(server: OperationsServer) -> None:
    """32 threads each wait on their own operation through one shared client: each gets
    its own operation back, and every thread's polls are its own."""
    ops = [
        server.add_resource([Step("PENDING"), Step("RUNNING", poll=3, message=f"op {n}")])
        for n in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)
    budgets: dict[int, set[float | None]] = {}

    with httpx.Client(verify=TLS, limits=httpx.Limits(max_connections=THREADS)) as client:

        def run(n: int) -> Any:
            def params() -> dict[str, str]:
                budgets.setdefault(n, set()).add(request_timeout())
                return {}

            wait = th.resource_wait(
                client,
                ops[n].url,
                state="state",
                message="message",
                success={"RUNNING"},
                params=params,
                policy=FAST,
            )
            barrier.wait(timeout=10)
            return wait.result(timeout=10.0)

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(run, range(THREADS)))
    for n, reply in enumerate(results):
        assert reply.state == "RUNNING"
        assert reply.message == f"op {n}"
        assert reply.body["id"] == ops[n].id
        assert ops[n].polls == 3
        assert None not in budgets[n]  # each thread's polls saw their own wait's budget


def _shared_wait(client: httpx.Client, server: OperationsServer) -> Any:
    op = server.add_resource([Step("PENDING"), Step("RUNNING", poll=2)])
    return op, th.resource_wait(client, op.url, state="state", success={"RUNNING"}, policy=FAST)


def test_result_twice_in_a_row_runs_two_waits(server: OperationsServer) -> None:
    """A second result() on the same Wait is a new wait: it polls again (and here finds
    the operation done at once)."""
    with httpx.Client(verify=TLS) as client:
        op, wait = _shared_wait(client, server)
        first = wait.result(timeout=5.0)
        assert op.polls == 2
        second = wait.result(timeout=5.0)
    assert first.state == second.state == "RUNNING"
    assert first is not second
    assert op.polls == 3


def test_result_from_two_threads_at_once(server: OperationsServer) -> None:
    """Two threads in result() of one Wait at the same time both finish, each with its
    own deadline: one times out on its own short deadline while the other succeeds."""
    op = server.add_resource([Step("PENDING"), Step("RUNNING", at=1.5)])
    with httpx.Client(verify=TLS) as client:
        wait = th.resource_wait(client, op.url, state="state", success={"RUNNING"}, policy=FAST)
        barrier = threading.Barrier(2)

        def run(timeout: float) -> Any:
            barrier.wait(timeout=10)
            try:
                return wait.result(timeout=timeout)
            except OperationTimedOut as exc:
                return exc

        with ThreadPoolExecutor(2) as pool:
            short, long = pool.map(run, [0.2, 5.0])
    assert isinstance(short, OperationTimedOut)
    assert short.timeout.total_seconds() == pytest.approx(0.2)
    assert long.state == "RUNNING"


def test_azure_wait_twice_from_two_threads(server: OperationsServer) -> None:
    """An Azure wait (whose polls follow a moving monitor and fetch a final result) run
    from two threads at once ends with the final resource in both."""
    op = server.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", poll=4)],
        method="PUT",
        faults=[Fault.move(on=2, role="status")],
    )
    with httpx.Client(verify=TLS) as client:
        wait = th.azure_operation(client, client.put(op.url), policy=FAST)
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: wait.result(timeout=5.0), range(2)))
    for reply in results:
        assert reply.final
        assert reply.body["properties"]["provisioningState"] == "Succeeded"


@pytest.mark.anyio
async def test_async_result_twice_concurrently(server: OperationsServer) -> None:
    """One AsyncWait awaited by two tasks at once: both finish, each an independent wait."""
    op = server.add_resource([Step("PENDING"), Step("RUNNING", poll=3)])
    results: list[Any] = []
    async with httpx.AsyncClient(verify=TLS) as client:
        wait = th.async_resource_wait(
            client, op.url, state="state", success={"RUNNING"}, policy=FAST
        )

        async def run() -> None:
            results.append(await wait.result(timeout=5.0))

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            group.start_soon(run)
    assert [r.state for r in results] == ["RUNNING", "RUNNING"]
    assert op.polls >= 3


@pytest.mark.anyio
async def test_many_tasks_wait_on_separate_operations(server: OperationsServer) -> None:
    """32 tasks each wait on their own operation through one async client."""
    ops = [server.add_resource([Step("PENDING"), Step("RUNNING", poll=3)]) for _ in range(32)]
    found: dict[int, str] = {}
    async with httpx.AsyncClient(verify=TLS, limits=httpx.Limits(max_connections=32)) as client:

        async def run(n: int) -> None:
            wait = th.async_resource_wait(
                client, ops[n].url, state="state", success={"RUNNING"}, policy=FAST
            )
            found[n] = (await wait.result(timeout=10.0)).body["id"]

        async with anyio.create_task_group() as group:
            for n in range(32):
                group.start_soon(run, n)
    assert found == {n: op.id for n, op in enumerate(ops)}
