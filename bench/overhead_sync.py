"""Workload 1: what a synchronous waiting loop costs per poll, with every sleep a no-op.

Each contender waits on the same in-memory ``Operation`` (PENDING for K polls, then
RUNNING) and sleeps through the same counted no-op, so the only difference left is the
loop's own machinery. SDK loops are run as they ship: their module-level ``time`` is
swapped for one whose ``sleep`` is the counted no-op (their clocks stay real).
"""

from __future__ import annotations

import random
import time
import types
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

import _candidate
from _common import (
    ContenderMissing,
    Entity,
    Operation,
    Sleeps,
    Timed,
    check_counts,
    fmt_ns,
    fmt_ratio,
    interleave,
    make_spec,
    patched,
)

import tarry

TIMEOUT = 1200.0  # 20 minutes: never reached, but every loop that can have one gets one

RUNNING = "RUNNING"


SPEC: tarry.Spec[Entity] = make_spec(tarry)


class NoopClock:
    """Real monotonic time, a counted no-op sleep: what tarry's sync driver is given."""

    __slots__ = ("now", "sleep")

    def __init__(self, sleeps: Sleeps) -> None:
        self.now = time.monotonic
        self.sleep = sleeps.sleep


def _plain_ops(k: int) -> Operation:
    return Operation(k, Entity("PENDING", "starting"), Entity(RUNNING, ""))


# Each contender is (make_operation, run_one_wait, context) where the context patches
# the library's sleep for the duration of a sample.
Waiter = Callable[[Operation, Sleeps], object]
Contender = tuple[
    Callable[[int], Operation],
    Callable[[Sleeps], Waiter],
    Callable[[Sleeps], AbstractContextManager[Any]],
]


def _no_patch(sleeps: Sleeps) -> AbstractContextManager[Any]:
    return nullcontext()


# -- the floors --------------------------------------------------------------------------


def floor(sleeps: Sleeps) -> Waiter:
    sleep = sleeps.sleep

    def run(op: Operation, _: Sleeps) -> object:
        poll = op.poll
        while True:
            entity = poll()
            if entity.state == RUNNING:
                return entity
            sleep(1.0)

    return run


def floor_deadline(sleeps: Sleeps) -> Waiter:
    sleep = sleeps.sleep
    monotonic = time.monotonic

    def run(op: Operation, _: Sleeps) -> object:
        poll = op.poll
        deadline = monotonic() + TIMEOUT
        while True:
            entity = poll()
            if entity.state == RUNNING:
                return entity
            if monotonic() >= deadline:
                raise TimeoutError("timed out")
            sleep(1.0)

    return run


# -- tarry -------------------------------------------------------------------------------


def tarry_wait_with(t: Any) -> Callable[[Sleeps], Waiter]:
    """``t.wait`` with a no-op clock, ``t`` being the tarry package to measure."""
    spec = make_spec(t)

    def make(sleeps: Sleeps) -> Waiter:
        clock = NoopClock(sleeps)

        def run(op: Operation, _: Sleeps) -> object:
            return t.wait(op.poll, spec, clock=clock)

        return run

    return make


def tarry_core_with(t: Any) -> Callable[[Sleeps], Waiter]:
    """The core alone in a minimal hand loop: what the driver adds is the difference."""
    spec = make_spec(t)

    def make(sleeps: Sleeps) -> Waiter:
        sleep = sleeps.sleep
        monotonic = time.monotonic
        policy = t.Policy()
        rng = random.Random()
        poll_after = t.PollAfter

        def run(op: Operation, _: Sleeps) -> object:
            machine = t.Machine(spec, policy, rng)
            action: Any = machine.start(monotonic())
            poll = op.poll
            while type(action) is poll_after:
                sleep(action.delay)
                action = machine.polled(poll(), monotonic())
            return action.entity

        return run

    return make


tarry_wait = tarry_wait_with(tarry)
tarry_core_only = tarry_core_with(tarry)


# -- databricks-sdk ----------------------------------------------------------------------


def _databricks() -> Any:
    try:
        from databricks.sdk.service import compute
    except ImportError as exc:
        raise ContenderMissing("databricks-sdk") from exc
    return compute


def databricks_ops(k: int) -> Operation:
    compute = _databricks()
    return Operation(
        k, Entity(compute.State.PENDING, "starting"), Entity(compute.State.RUNNING, "")
    )


def databricks_waiter(sleeps: Sleeps) -> Waiter:
    compute = _databricks()
    api = compute.ClustersAPI(api_client=None)

    def run(op: Operation, _: Sleeps) -> object:
        api.get = op.poll  # the stubbed API call: ClustersAPI.get(cluster_id=...)
        return api.wait_get_cluster_running("0123-456789-abcdef", timedelta(seconds=TIMEOUT))

    return run


def databricks_patch(sleeps: Sleeps) -> AbstractContextManager[Any]:
    compute = _databricks()
    fake_time = types.SimpleNamespace(time=time.time, sleep=sleeps.sleep)
    return patched(compute, "time", fake_time)


# -- polling2 ----------------------------------------------------------------------------


def _polling2() -> Any:
    try:
        import polling2
    except ImportError as exc:
        raise ContenderMissing("polling2") from exc
    return polling2


def polling2_waiter(sleeps: Sleeps) -> Waiter:
    polling2 = _polling2()

    def done(entity: Entity) -> bool:
        return bool(entity.state == RUNNING)

    def run(op: Operation, _: Sleeps) -> object:
        return polling2.poll(op.poll, step=1.0, timeout=TIMEOUT, check_success=done)

    return run


def polling2_patch(sleeps: Sleeps) -> AbstractContextManager[Any]:
    polling2 = _polling2()
    return patched(polling2, "time", types.SimpleNamespace(time=time.time, sleep=sleeps.sleep))


# -- google-api-core ---------------------------------------------------------------------


def _google() -> tuple[Any, Any]:
    try:
        from google.api_core.future import polling
        from google.api_core.retry import retry_unary
    except ImportError as exc:
        raise ContenderMissing("google-api-core") from exc
    return polling, retry_unary


def google_waiter(sleeps: Sleeps) -> Waiter:
    polling, _ = _google()

    class OperationFuture(polling.PollingFuture):  # type: ignore[misc,name-defined]
        """The usual subclass: done() polls the operation once."""

        def __init__(self, op: Operation) -> None:
            super().__init__()
            self._op = op

        def done(self, retry: Any = None) -> bool:
            entity = self._op.poll()
            if entity.state == RUNNING:
                self.set_result(entity)
                return True
            return False

        def cancel(self) -> bool:
            return False

        def cancelled(self) -> bool:
            return False

    def run(op: Operation, _: Sleeps) -> object:
        return OperationFuture(op).result(timeout=TIMEOUT)

    return run


def google_patch(sleeps: Sleeps) -> AbstractContextManager[Any]:
    _, retry_unary = _google()
    fake_time = types.SimpleNamespace(monotonic=time.monotonic, sleep=sleeps.sleep)
    return patched(retry_unary, "time", fake_time)


# -- botocore ----------------------------------------------------------------------------


def _botocore() -> Any:
    try:
        from botocore import waiter
    except ImportError as exc:
        raise ContenderMissing("botocore") from exc
    return waiter


def botocore_ops(k: int) -> Operation:
    return Operation(k, {"State": "PENDING"}, {"State": RUNNING})


def botocore_waiter(sleeps: Sleeps) -> Waiter:
    waiter = _botocore()
    model = waiter.WaiterModel(
        {
            "version": 2,
            "waiters": {
                "ClusterRunning": {
                    "operation": "DescribeCluster",
                    "delay": 15,
                    "maxAttempts": 10**9,  # time is what should end a wait; no cap here
                    "acceptors": [
                        {
                            "state": "success",
                            "matcher": "path",
                            "argument": "State",
                            "expected": RUNNING,
                        },
                        {
                            "state": "failure",
                            "matcher": "path",
                            "argument": "State",
                            "expected": "ERROR",
                        },
                        {
                            "state": "retry",
                            "matcher": "path",
                            "argument": "State",
                            "expected": "PENDING",
                        },
                    ],
                }
            },
        }
    )
    config = model.get_waiter("ClusterRunning")

    def run(op: Operation, _: Sleeps) -> object:
        return waiter.Waiter("ClusterRunning", config, op.poll).wait(ClusterId="c-1")

    return run


def botocore_patch(sleeps: Sleeps) -> AbstractContextManager[Any]:
    waiter = _botocore()
    return patched(waiter, "time", types.SimpleNamespace(time=time.time, sleep=sleeps.sleep))


# -- backoff -----------------------------------------------------------------------------


def _backoff() -> tuple[Any, Any]:
    try:
        import backoff
        import backoff._sync as backoff_sync
    except ImportError as exc:
        raise ContenderMissing("backoff") from exc
    return backoff, backoff_sync


def backoff_waiter(sleeps: Sleeps) -> Waiter:
    backoff, _ = _backoff()
    decorate = backoff.on_predicate(
        backoff.constant,
        lambda e: e.state != RUNNING,
        interval=1.0,
        jitter=None,
        max_time=TIMEOUT,
    )

    def run(op: Operation, _: Sleeps) -> object:
        return decorate(op.poll)()

    return run


def backoff_patch(sleeps: Sleeps) -> AbstractContextManager[Any]:
    _, backoff_sync = _backoff()
    return patched(backoff_sync, "time", types.SimpleNamespace(sleep=sleeps.sleep))


# -- tenacity ----------------------------------------------------------------------------


def tenacity_waiter(sleeps: Sleeps) -> Waiter:
    try:
        import tenacity
    except ImportError as exc:
        raise ContenderMissing("tenacity") from exc
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda e: e.state != RUNNING),
        wait=tenacity.wait_fixed(1.0),
        stop=tenacity.stop_after_delay(TIMEOUT),
        sleep=sleeps.sleep,
    )

    def run(op: Operation, _: Sleeps) -> object:
        return retrying(op.poll)

    return run


# ---------------------------------------------------------------------------------------

CONTENDERS: dict[str, Contender] = {
    "hand-written loop (floor)": (_plain_ops, floor, _no_patch),
    "loop + monotonic deadline": (_plain_ops, floor_deadline, _no_patch),
    "tarry.wait": (_plain_ops, tarry_wait, _no_patch),
    "tarry core in a bare loop": (_plain_ops, tarry_core_only, _no_patch),
    "databricks-sdk wait_get_cluster_running": (
        databricks_ops,
        databricks_waiter,
        databricks_patch,
    ),
    "polling2.poll": (_plain_ops, polling2_waiter, polling2_patch),
    "google-api-core PollingFuture": (_plain_ops, google_waiter, google_patch),
    "botocore Waiter": (botocore_ops, botocore_waiter, botocore_patch),
    "backoff.on_predicate": (_plain_ops, backoff_waiter, backoff_patch),
    "tenacity.Retrying": (_plain_ops, tenacity_waiter, _no_patch),
}
FLOOR = "hand-written loop (floor)"


def make_sample(name: str, contender: Contender, k: int) -> Callable[[int], float]:
    """A sample function for ``interleave``; it checks the counts of every wait it runs."""
    make_op, make_waiter, patch = contender
    op = make_op(k)
    sleeps = Sleeps()
    waiter = make_waiter(sleeps)
    perf_counter = time.perf_counter

    def sample(n: int) -> float:
        op.total_polls = op.polls = 0
        sleeps.count = 0
        with patch(sleeps):
            begin = op.begin
            start = perf_counter()
            for _ in range(n):
                begin()
                waiter(op, sleeps)
            spent = perf_counter() - start
        check_counts(name, n, k, op.finish(), sleeps.count)
        return spent / (n * (k + 1))

    return sample


def available(strict: bool) -> tuple[dict[str, Contender], list[str]]:
    """The contenders that can run here, and the names of those whose package is missing."""
    found: dict[str, Contender] = {}
    missing: list[str] = []
    for name, contender in CONTENDERS.items():
        try:
            contender[1](Sleeps())
        except ContenderMissing as exc:
            if strict:
                raise SystemExit(
                    f"{name}: package {exc} is not installed (use nox -s bench)"
                ) from None
            missing.append(f"{name} ({exc})")
            continue
        found[name] = contender
        candidate = _candidate.loaded()
        if candidate is not None and name in ("tarry.wait", "tarry core in a bare loop"):
            build = tarry_wait_with if name == "tarry.wait" else tarry_core_with
            found[f"{name} (candidate)"] = (_plain_ops, build(candidate), _no_patch)
    return found, missing


def run(
    ks: list[int], rounds: int, target: float, strict: bool
) -> tuple[dict[int, dict[str, Timed]], list[str]]:
    contenders, missing = available(strict)
    results: dict[int, dict[str, Timed]] = {}
    for k in ks:
        samples = {name: make_sample(name, c, k) for name, c in contenders.items()}
        results[k] = interleave(samples, rounds, target)
    return results, missing


def rows(results: dict[int, dict[str, Timed]]) -> list[list[str]]:
    ks = sorted(results)
    names = list(results[ks[0]])
    out = []
    for name in names:
        row = [name]
        for k in ks:
            timed = results[k][name]
            ratio = timed.median / results[k][FLOOR].median
            row += [fmt_ns(timed.median), fmt_ratio(ratio)]
        out.append(row)
    return out


def header(ks: list[int]) -> list[str]:
    cols = ["contender"]
    for k in sorted(ks):
        cols += [f"per poll, K={k}", f"vs floor, K={k}"]
    return cols
