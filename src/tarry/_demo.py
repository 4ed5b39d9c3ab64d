"""``tarry demo``: scripted operations on a real clock, a few seconds long.

Each operation follows a timeline of states measured from its start, so the demo shows
the real driver, the real backoff (shortened) and the real messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TextIO

from ._backoff import Linear
from ._errors import OperationFailed, OperationTimedOut
from ._policy import Policy
from ._spec import Spec
from ._sync import Wait

__all__ = ["run_demo"]


@dataclass(frozen=True)
class Snapshot:
    """What one poll of a scripted operation returns."""

    name: str
    state: str
    message: str


class ScriptedOperation:
    """An operation whose state at time t (seconds since creation) follows a timeline."""

    def __init__(self, name: str, timeline: list[tuple[float, str, str]]) -> None:
        self.name = name
        self.timeline = timeline
        self.created = time.monotonic()

    def get(self) -> Snapshot:
        elapsed = time.monotonic() - self.created
        state, message = self.timeline[0][1:]
        for at, at_state, at_message in self.timeline:
            if elapsed >= at:
                state, message = at_state, at_message
        return Snapshot(self.name, state, message)


CLUSTER = Spec[Snapshot](
    name="cluster",
    state=lambda s: s.state,
    message=lambda s: s.message,
    success={"RUNNING"},
    failure={"ERROR", "TERMINATED"},
)

QUICK = Policy(backoff=Linear(step=0.2, cap=0.6, jitter=0.1))


def _show(out: TextIO, started: float) -> Callable[[Snapshot], None]:
    def show(snapshot: Snapshot) -> None:
        print(
            f"    {time.monotonic() - started:5.2f}s  {snapshot.name}: "
            f"{snapshot.state:<11} {snapshot.message}",
            file=out,
            flush=True,
        )

    return show


def _one(out: TextIO, title: str, operation: ScriptedOperation, timeout: float) -> int:
    print(f"\n{title}", file=out, flush=True)
    wait = Wait(operation.get, CLUSTER, policy=QUICK, cluster_id=operation.name)
    started = time.monotonic()
    try:
        final = wait.result(timeout=timedelta(seconds=timeout), callback=_show(out, started))
    except OperationFailed as failed:
        print(f"  -> OperationFailed: {failed}", file=out)
        return 1
    except OperationTimedOut as timed_out:
        print(
            f"  -> OperationTimedOut after {timed_out.elapsed.total_seconds():.2f}s "
            f"and {timed_out.attempts} polls: {timed_out}",
            file=out,
        )
        return 124
    print(
        f"  -> {wait.cluster_id} is {final.state} after {time.monotonic() - started:.2f}s",
        file=out,
    )
    return 0


def run_demo(out: TextIO) -> int:
    """Run the three scripted waits; exit 0 if each ended as it should."""
    print("tarry demo: three scripted operations, real clock, shortened backoff", file=out)
    outcomes = [
        _one(
            out,
            "1. A cluster that starts: success.",
            ScriptedOperation(
                "cluster-1",
                [
                    (0, "PENDING", "Finding instances"),
                    (0.8, "PENDING", "Installing libraries"),
                    (1.6, "RUNNING", ""),
                ],
            ),
            timeout=5,
        ),
        _one(
            out,
            "2. A cluster that fails: OperationFailed with the server's message.",
            ScriptedOperation(
                "cluster-2",
                [
                    (0, "PENDING", "Finding instances"),
                    (1.0, "ERROR", "Instance quota exceeded in us-east-1"),
                ],
            ),
            timeout=5,
        ),
        _one(
            out,
            "3. A cluster that is too slow: OperationTimedOut after a final poll at 1.5 s.",
            ScriptedOperation("cluster-3", [(0, "PENDING", "Waiting for capacity")]),
            timeout=1.5,
        ),
    ]
    ok = outcomes == [0, 1, 124]
    print("\nAll three waits ended as expected." if ok else "\nUnexpected outcome!", file=out)
    return 0 if ok else 1
