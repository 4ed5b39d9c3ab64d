"""``tarry demo``: real waits over real sockets against the embedded operations server.

It starts ``tarry.testing.OperationsServer`` on 127.0.0.1, then waits, with live
progress, on a cluster that starts, a job run that fails with a message, a Google-style
operation, an Azure-style PUT that rides out 503s and a Retry-After, and a cluster too
slow for its timeout. Backoff is shortened so the whole demo takes about 15 seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from tarry._backoff import Linear
from tarry._errors import OperationFailed, OperationTimedOut
from tarry._policy import Policy
from tarry._progress import Progress
from tarry.http import Reply, azure_operation, google_operation
from tarry.testing import OperationsServer

from .workspace import ClusterInfo, Run, Workspace

__all__ = ["ClusterInfo", "Run", "Workspace", "run_demo"]

QUICK = Policy(backoff=Linear(step=0.3, cap=1.0, jitter=0.1))


def _status(progress: Progress) -> Callable[[Any], None]:
    def print_status(entity: Any) -> None:
        if isinstance(entity, ClusterInfo):
            text = f"cluster {entity.cluster_id}: {entity.state} {entity.state_message}"
        elif isinstance(entity, Run):
            text = f"run {entity.run_id}: {entity.life_cycle_state} {entity.state_message}"
        else:
            text = f"{urlsplit(entity.url).path}: {entity.state} {entity.message or ''}"
        progress.update(text.rstrip())

    return print_status


class _Traffic:
    """An httpx response hook that shows each answer while ``shown`` is on, so the
    demo can make Retry-After and retried 503s visible."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.shown = False

    def __call__(self, response: httpx.Response) -> None:
        if not self.shown:
            return
        request = response.request
        hint = response.headers.get("retry-after")
        extra = f", Retry-After: {hint}" if hint else ""
        self.progress.line(
            f"{self.progress.elapsed():6.1f}s  {request.method} {_short(request.url.path)} -> "
            f"{response.status_code} {response.reason_phrase}{extra}"
        )

    @contextmanager
    def showing(self) -> Iterator[None]:
        self.shown = True
        try:
            yield
        finally:
            self.shown = False


def _short(path: str) -> str:
    """A long path with its middle left out: ``/subscriptions/demo/.../things/demo``."""
    parts = path.split("/")
    return path if len(parts) <= 5 else "/".join([*parts[:3], "...", *parts[-2:]])


def _brief(value: Any, limit: int = 72) -> str:
    """An entity in one short line: a dataclass as its repr, a reply as its JSON body."""
    if isinstance(value, Reply):
        body = value.body
        shown = "response " if isinstance(body, dict) and "response" in body else "body "
        text = shown + json.dumps(body.get("response", body) if shown == "response " else body)
        text = f"{value.state}, {text}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _outcome(progress: Progress, wait: Callable[[], Any]) -> str:
    try:
        final = wait()
    except OperationFailed as failed:
        progress.line(f"  -> OperationFailed: {failed}")
        return "failed"
    except OperationTimedOut as timed_out:
        progress.line(
            f"  -> OperationTimedOut after {timed_out.attempts} polls "
            f"({timed_out.elapsed.total_seconds():.1f}s): {timed_out}"
        )
        return "timed out"
    progress.line(f"  -> succeeded: {_brief(final)}")
    return "succeeded"


def run_demo(out: TextIO, *, live: bool | None = None) -> int:
    """Run every scenario; exit 0 when each ended as it should."""
    progress = Progress(out, live=live)
    progress.line("tarry demo: real waits against the embedded operations server")
    outcomes = []
    traffic = _Traffic(progress)
    with (
        OperationsServer() as server,
        httpx.Client(base_url=server.url, event_hooks={"response": [traffic]}) as client,
    ):
        progress.line(f"(server on {server.url}; backoff shortened to keep the demo short)")
        workspace = Workspace(client, policy=QUICK)
        show = _status(progress)

        progress.line("\n1. clusters.create() returns a Wait[ClusterInfo]; the cluster starts.")
        waiter = workspace.clusters.create(
            "etl",
            tarry={
                "timeline": [
                    [0, "PENDING", "Finding instances"],
                    [1.2, "PENDING", "Installing libraries"],
                    [2.4, "RUNNING", ""],
                ]
            },
        )
        progress.line(f"   cluster_id={waiter.cluster_id} (bound at once)")
        outcomes.append(
            _outcome(progress, lambda: waiter.result(timeout=timedelta(minutes=15), callback=show))
        )

        progress.line("\n2. jobs.submit() returns a Wait[Run]; the run fails with a message.")
        run = workspace.jobs.submit(
            "nightly",
            tarry={
                "timeline": [
                    {"state": "PENDING"},
                    {"state": "RUNNING", "at": 0.6},
                    {
                        "state": "TERMINATED",
                        "at": 2.0,
                        "result": "FAILED",
                        "message": "Task ingest failed: table not found",
                    },
                ]
            },
        )
        progress.line(f"   run_id={run.run_id}")
        outcomes.append(
            _outcome(progress, lambda: run.result(timeout=timedelta(minutes=15), callback=show))
        )

        progress.line("\n3. A Google-style long-running operation (AIP-151) succeeds.")
        created = client.post(
            "/v1/instances",
            json={
                "tarry": {
                    "timeline": [[0, "CREATING"], [1.5, "SUCCEEDED"]],
                    "response": {"name": "instances/demo", "state": "READY"},
                }
            },
        )
        google = google_operation(client, created, policy=QUICK)
        outcomes.append(_outcome(progress, lambda: google.result(timeout=60, callback=show)))

        progress.line("\n4. An Azure-style PUT: Retry-After: 1, then two 503s, then success.")
        with traffic.showing():
            put = client.put(
                "/subscriptions/demo/resourceGroups/rg/providers/Microsoft.Tarry/things/demo",
                json={
                    "location": "westeurope",
                    "tarry": {
                        "initial_retry_after": "1",
                        "timeline": [[0, "InProgress"], [2.5, "Succeeded"]],
                        "faults": [
                            {"kind": "status", "code": 503, "on": [1, 2], "retry_after": "1"}
                        ],
                    },
                },
            )
            azure = azure_operation(client, put, policy=QUICK)
            outcomes.append(_outcome(progress, lambda: azure.result(timeout=60, callback=show)))

        progress.line(
            "\n5. A cluster that is too slow for a 3 s timeout: a final poll, then a timeout."
        )
        slow = workspace.clusters.create(
            "big", tarry={"timeline": [[0, "PENDING", "Waiting for capacity"]]}
        )
        outcomes.append(
            _outcome(progress, lambda: slow.result(timeout=timedelta(seconds=3), callback=show))
        )

    expected = ["succeeded", "failed", "succeeded", "succeeded", "timed out"]
    ok = outcomes == expected
    progress.line(
        f"\nDone in {progress.elapsed():.1f}s: "
        + ("every wait ended as expected." if ok else f"unexpected outcomes {outcomes}")
    )
    return 0 if ok else 1
