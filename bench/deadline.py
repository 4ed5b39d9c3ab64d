"""Workload 5: how far past its deadline each loop ends, on a real clock.

Two scenarios, both with an operation that never finishes: polls that answer at once,
and polls that each take ``slow`` seconds. Every loop runs on the real clock with its
own sleeps. A slow poll given a time budget (tarry's ``request_timeout()``, as an HTTP
client's timeout would) stops when the budget runs out and raises ``TimeoutError``;
the SDK loops pass no budget, so their polls take the full time.

Contenders: ``tarry.wait`` (with ``retry_on=TimeoutError`` so a cut request is a
transient error), databricks-sdk's ``wait_get_cluster_running`` on a stubbed ``get``,
google-api-core's ``PollingFuture.result(timeout=...)``, and azure-core's
``LROPoller.result(timeout=...)`` with its own ``LROBasePolling`` (30 s interval) over a
``PipelineClient`` whose transport answers from memory. azure-core's timeout is a
thread join: the call returns the unfinished resource and the poller thread keeps
polling, so both are reported.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from _common import ContenderMissing, Entity

import tarry


@dataclass
class Scenario:
    name: str
    slow: float  # seconds each poll takes (0: answers at once)


@dataclass
class Ending:
    overrun: float  # seconds past the deadline (negative: gave up early)
    how: str


class SlowOperation:
    """Never finishes; each poll takes ``slow`` seconds, or less if given a budget."""

    def __init__(self, slow: float, state: Any = "PENDING") -> None:
        self.slow = slow
        self.entity = Entity(state, "still starting")
        self.polls = 0

    def poll(self, *args: Any, **kwargs: Any) -> Entity:
        self.polls += 1
        if self.slow:
            budget = tarry.request_timeout()
            if budget is not None and budget < self.slow:
                time.sleep(budget)
                raise TimeoutError(f"request timed out after {budget:.3f} s")
            time.sleep(self.slow)
        return self.entity


SPEC: tarry.Spec[Entity] = tarry.Spec(
    name="cluster",
    state=lambda e: e.state,
    message=lambda e: e.state_message,
    success={"RUNNING"},
    failure={"ERROR", "TERMINATED"},
)

Runner = Callable[[float, float], Ending]


def _ending(start: float, timeout: float, how: str) -> Ending:
    return Ending(time.monotonic() - start - timeout, how)


def tarry_runner(request_floor: float) -> Runner:
    def run(timeout: float, slow: float) -> Ending:
        op = SlowOperation(slow)
        start = time.monotonic()
        try:
            tarry.wait(
                op.poll,
                SPEC,
                timeout=timeout,
                retry_on=TimeoutError,
                request_floor=request_floor,
            )
        except tarry.OperationTimedOut as exc:
            return _ending(start, timeout, f"OperationTimedOut after {exc.attempts} polls")
        raise AssertionError("the operation never finishes; the wait cannot succeed")

    return run


def databricks_runner(timeout: float, slow: float) -> Ending:
    try:
        from databricks.sdk.service import compute
    except ImportError as exc:
        raise ContenderMissing("databricks-sdk") from exc
    op = SlowOperation(slow, compute.State.PENDING)
    api = compute.ClustersAPI(api_client=None)
    api.get = op.poll
    start = time.monotonic()
    try:
        api.wait_get_cluster_running("0123-456789-abcdef", timedelta(seconds=timeout))
    except TimeoutError:
        return _ending(start, timeout, f"TimeoutError after {op.polls} polls")
    raise AssertionError("the operation never finishes; the wait cannot succeed")


def google_runner(timeout: float, slow: float) -> Ending:
    try:
        import concurrent.futures

        from google.api_core.future import polling
    except ImportError as exc:
        raise ContenderMissing("google-api-core") from exc
    op = SlowOperation(slow)

    class OperationFuture(polling.PollingFuture):  # type: ignore[misc,name-defined]
        def done(self, retry: Any = None) -> bool:
            op.poll()
            return False

        def cancel(self) -> bool:
            return False

        def cancelled(self) -> bool:
            return False

    start = time.monotonic()
    try:
        OperationFuture().result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        return _ending(start, timeout, f"TimeoutError after {op.polls} polls")
    raise AssertionError("the operation never finishes; the wait cannot succeed")


def azure_runner(timeout: float, slow: float) -> Ending:
    try:
        from azure.core import PipelineClient
        from azure.core.pipeline import PipelineContext, PipelineResponse
        from azure.core.pipeline.transport import HttpTransport
        from azure.core.polling import LROPoller
        from azure.core.polling.base_polling import LROBasePolling
        from azure.core.rest import HttpRequest
        from azure.core.rest._http_response_impl import HttpResponseImpl
        from azure.core.utils import case_insensitive_dict
    except ImportError as exc:
        raise ContenderMissing("azure-core") from exc

    class Raw:
        def close(self) -> None:
            pass

    def reply(request: Any, status: int, body: object, headers: dict[str, str]) -> Any:
        shown = case_insensitive_dict({"Content-Type": "application/json", **headers})
        response = HttpResponseImpl(
            request=request,
            internal_response=Raw(),
            status_code=status,
            reason="OK",
            content_type="application/json",
            headers=shown,
            stream_download_generator=None,
        )
        response._content = json.dumps(body).encode()
        return response

    class MemoryTransport(HttpTransport):  # type: ignore[misc]
        """Answers every GET from memory; its sleep can be cut short to clean up."""

        def __init__(self) -> None:
            self.polls = 0
            self.finished = False
            self.wake = threading.Event()

        def __enter__(self) -> MemoryTransport:
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def open(self) -> None:
            pass

        def close(self) -> None:
            pass

        def sleep(self, duration: float) -> None:
            self.wake.wait(duration)

        def send(self, request: Any, **kwargs: Any) -> Any:
            self.polls += 1
            if slow and not self.finished:
                self.wake.wait(slow)
            status = "Succeeded" if self.finished else "InProgress"
            return reply(request, 200, {"status": status}, {})

    transport = MemoryTransport()
    client = PipelineClient("https://service.invalid", transport=transport, policies=[])
    request = HttpRequest("PUT", "https://service.invalid/things/1")
    request.headers["x-ms-client-request-id"] = "bench"
    first = reply(request, 202, {"status": "InProgress"}, {"Operation-Location": "/operations/1"})
    initial = PipelineResponse(request, first, PipelineContext(None))
    start = time.monotonic()
    poller = LROPoller(client, initial, lambda r: r.http_response.json(), LROBasePolling())
    resource = poller.result(timeout=timeout)
    ending = _ending(start, timeout, "")
    still = not poller.done()
    ending.how = f"returned {resource!r}, no error; poller thread " + (
        "still polling" if still else "finished"
    )
    # Clean up: let the operation finish and cut the 30 s sleep short.
    transport.finished = True
    transport.wake.set()
    poller.wait(5.0)
    if not poller.done():
        raise AssertionError("azure-core's poller thread did not stop after the operation finished")
    return ending


def contenders(scale: float) -> dict[str, Runner]:
    return {
        "tarry.wait (request_floor=1.0, the default)": tarry_runner(1.0),
        f"tarry.wait (request_floor={0.2 * scale:g})": tarry_runner(0.2 * scale),
        "databricks-sdk wait_get_cluster_running": databricks_runner,
        "google-api-core PollingFuture.result": google_runner,
        "azure-core LROPoller.result (LROBasePolling)": azure_runner,
    }


def run(
    timeout: float, slow: float, reps: int, strict: bool, quick: bool = False
) -> tuple[list[list[str]], dict[tuple[str, str], float], list[str]]:
    scenarios = [
        Scenario("polls answer at once", 0.0),
        Scenario(f"each poll takes {slow:g} s", slow),
    ]
    runners = contenders(timeout / 0.5)
    if quick:  # its sleeps are 1 to 11 s whatever the timeout: too slow for a check
        del runners["databricks-sdk wait_get_cluster_running"]
    rows: list[list[str]] = []
    worst: dict[tuple[str, str], float] = {}
    missing: list[str] = []
    for scenario in scenarios:
        for name, runner in runners.items():
            endings: list[Ending] = []
            try:
                for _ in range(reps):
                    endings.append(runner(timeout, scenario.slow))
            except ContenderMissing as exc:
                if strict:
                    raise SystemExit(
                        f"{name}: package {exc} is not installed (use nox -s bench)"
                    ) from None
                if f"{name} ({exc})" not in missing:
                    missing.append(f"{name} ({exc})")
                continue
            overruns = [e.overrun for e in endings]
            worst[scenario.name, name] = max(overruns)
            rows.append(
                [
                    scenario.name,
                    name,
                    f"{statistics.median(overruns) * 1000:+,.0f} ms",
                    f"{min(overruns) * 1000:+,.0f} / {max(overruns) * 1000:+,.0f} ms",
                    endings[-1].how,
                ]
            )
    return rows, worst, missing


HEADER = ["scenario", "loop", "median end vs deadline", "min / max", "how it ended (last run)"]
