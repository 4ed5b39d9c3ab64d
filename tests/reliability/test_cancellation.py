"""Cancellation ends a wait at once and leaves nothing behind.

trio cancel scopes and asyncio task cancellation, during a sleep and during a request
that hangs on the embedded server; Ctrl-C during a sync wait, in a subprocess. After
each: the framework's own cancellation came out, no task or thread is left, and the
cancelled request's connection is closed (the server sees its client hang up), all
under ``filterwarnings = error`` with a garbage collection to surface any unclosed
socket as a ResourceWarning.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import tarry
import tarry.http as th
from tarry import Constant, Policy
from tarry.testing import Fault, Operation, OperationsServer, Step

from ._support import MARGIN, TLS

PROMPT = MARGIN
"""How long after the cancellation the wait may take to end: generous, for noisy
machines; a wait that ignored it would run until its 30 s deadline."""

CANCEL_AFTER = 0.3
LONG = Policy(timeout=30.0, backoff=Constant(30.0), request_floor=0.2)

pytestmark = pytest.mark.anyio


def _operation(server: OperationsServer, where: str) -> Operation:
    """A resource that never finishes; with ``where == "request"`` its first poll hangs,
    otherwise the first poll answers and the wait sleeps 30 s."""
    faults = [Fault.hang()] if where == "request" else []
    return server.add_resource([Step("PENDING")], faults=faults)


def _async_wait(client: httpx.AsyncClient, op: Operation) -> tarry.AsyncWait[Any]:
    return th.async_resource_wait(client, op.url, state="state", success={"RUNNING"}, policy=LONG)


def _server_threads_end(server: OperationsServer) -> bool:
    """Whether every connection the server holds ends (the client hung up) within 5 s."""
    deadline = time.monotonic() + 5.0
    while server._threads and time.monotonic() < deadline:
        time.sleep(0.02)
    return not server._threads


def _client_threads() -> set[threading.Thread]:
    """Running threads, minus the server's and trio's cached workers (under the anyio
    runner, trio runs as a guest whose I/O waits borrow one; they stay for reuse)."""
    return {
        t
        for t in threading.enumerate()
        if not t.name.startswith(("tarry-operations", "Trio thread"))
    }


async def _check_wait_cancelled(
    server: OperationsServer,
    where: str,
    cancel: Callable[[Callable[[], Awaitable[Any]]], Awaitable[BaseException]],
) -> None:
    """Run a wait, cancel it after CANCEL_AFTER with ``cancel``, check it ended promptly
    with the framework's cancellation and left no connection, thread or socket."""
    op = _operation(server, where)
    async with httpx.AsyncClient(verify=TLS) as client:
        # the event loop's own worker threads (name resolution) start with the first
        # request and stay for reuse: start them before counting
        await client.get(server.url + "/_tarry/operations")
        threads_before = _client_threads()
        wait = _async_wait(client, op)
        began = time.monotonic()
        caught = await cancel(wait.result)
        ended = time.monotonic() - began
        assert ended < CANCEL_AFTER + PROMPT, f"the cancelled wait took {ended:.2f} s"
        assert op.polls == 1
        # the cancelled request's connection is closed now, not when the client closes
        if where == "request":
            assert _server_threads_end(server)
    assert _server_threads_end(server)
    assert _client_threads() <= threads_before
    gc.collect()  # an unclosed socket would warn here, and warnings are errors
    assert caught is not None


@pytest.mark.parametrize("where", ["sleep", "request"])
async def test_cancel_ends_the_wait(
    server: OperationsServer, anyio_backend: str, where: str
) -> None:
    """trio: a cancel scope; asyncio: Task.cancel(). Either ends the wait at once, the
    framework's own cancellation propagates, and nothing is left running or open."""
    if anyio_backend == "trio":
        import trio

        async def cancel(result: Callable[[], Awaitable[Any]]) -> BaseException:
            seen: list[BaseException] = []
            with trio.move_on_after(CANCEL_AFTER) as scope:
                try:
                    await result()
                except trio.Cancelled as exc:
                    seen.append(exc)
                    raise
            assert scope.cancelled_caught
            assert len(seen) == 1
            return seen[0]

    else:

        async def cancel(result: Callable[[], Awaitable[Any]]) -> BaseException:
            tasks_before = asyncio.all_tasks()
            task = asyncio.ensure_future(result())
            await asyncio.sleep(CANCEL_AFTER)
            task.cancel()
            with pytest.raises(asyncio.CancelledError) as raised:
                await task
            assert task.cancelled()
            assert asyncio.all_tasks() == tasks_before  # the wait started no task
            return raised.value

    await _check_wait_cancelled(server, where, cancel)


async def test_cancelled_wait_leaves_the_client_usable(
    server: OperationsServer, anyio_backend: str
) -> None:
    """After a wait is cancelled mid-request, the same client runs the next wait to its
    end: the pool holds no half-read connection."""
    import anyio

    hanging = _operation(server, "request")
    healthy = server.add_resource([Step("PENDING"), Step("RUNNING", poll=2)])
    async with httpx.AsyncClient(verify=TLS) as client:
        with anyio.move_on_after(CANCEL_AFTER):
            await _async_wait(client, hanging).result()
        fast = Policy(backoff=Constant(0.05), request_floor=0.2)
        done = await th.async_resource_wait(
            client, healthy.url, state="state", success={"RUNNING"}, policy=fast
        ).result(timeout=5.0)
    assert done.state == "RUNNING"


# -- Ctrl-C during a sync wait ---------------------------------------------------------

SYNC_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import httpx
    import tarry.http as th
    from tarry import Constant, Policy
    from tarry.testing import Fault, OperationsServer, Step

    where = sys.argv[1]
    with OperationsServer() as server:
        faults = [Fault.hang()] if where == "request" else []
        op = server.add_resource([Step("PENDING")], faults=faults)
        policy = Policy(timeout=60, backoff=Constant(60), request_floor=0.2)
        with httpx.Client() as client:
            wait = th.resource_wait(client, op.url, state="state", success={"RUNNING"},
                                    policy=policy)
            print("waiting", flush=True)
            began = time.monotonic()
            try:
                wait.result()
            finally:
                print(f"ended after {time.monotonic() - began:.3f} s", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
@pytest.mark.parametrize("where", ["sleep", "request"])
def test_ctrl_c_stops_a_sync_wait_at_once(tmp_path: Path, where: str) -> None:
    """SIGINT during a sync wait's sleep or hanging request: KeyboardInterrupt comes out
    at once (the process dies of SIGINT, as Python does on an uncaught Ctrl-C)."""
    script = tmp_path / "sync_wait.py"
    script.write_text(SYNC_SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script), where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(CANCEL_AFTER)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGINT, err
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    seconds = float(out.split("ended after ")[1].split()[0])
    assert seconds < CANCEL_AFTER + PROMPT
