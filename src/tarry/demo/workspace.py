"""A small SDK written on tarry: the example an SDK author copies.

``Workspace(client).clusters.create(...)`` returns a ``Wait[ClusterInfo]`` and
``Workspace(client).jobs.submit(...)`` a ``Wait[Run]`` with ``run_id`` bound, used the
way Databricks SDK users know::

    waiter = workspace.clusters.create(cluster_name="etl")
    print(waiter.cluster_id)                       # known at once
    cluster = waiter.result(timeout=timedelta(minutes=15), callback=print_status)

Everything about waiting is declared once (``databricks_wait`` with its states); the
client methods only make the create call and hand out the wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tarry import Policy, Wait
from tarry.http import databricks_wait

__all__ = ["ClusterInfo", "ClustersAPI", "JobsAPI", "Run", "Workspace"]


@dataclass(frozen=True)
class ClusterInfo:
    """A cluster as the API describes it."""

    cluster_id: str
    state: str
    state_message: str = ""

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ClusterInfo:
        return cls(
            cluster_id=str(body.get("cluster_id", "")),
            state=str(body.get("state", "")),
            state_message=str(body.get("state_message") or ""),
        )


@dataclass(frozen=True)
class Run:
    """A job run: its life cycle state, and its result once it has one."""

    run_id: int
    life_cycle_state: str
    result_state: str | None = None
    state_message: str = ""

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Run:
        state = body.get("state") or {}
        return cls(
            run_id=int(body.get("run_id", 0)),
            life_cycle_state=str(state.get("life_cycle_state", "")),
            result_state=state.get("result_state"),
            state_message=str(state.get("state_message") or ""),
        )


class ClustersAPI:
    """``/api/2.1/clusters``: create returns at once; the wait follows the cluster."""

    def __init__(self, client: httpx.Client, policy: Policy | None = None) -> None:
        self._client = client
        self._policy = policy

    def create(self, cluster_name: str, **fields: Any) -> Wait[ClusterInfo]:
        """Ask for a cluster; wait on the result with ``.result()``."""
        reply = self._client.post(
            "/api/2.1/clusters/create", json={"cluster_name": cluster_name, **fields}
        )
        reply.raise_for_status()
        cluster_id = str(reply.json()["cluster_id"])
        return self.wait_get_cluster_running(cluster_id, response=reply)

    def wait_get_cluster_running(
        self, cluster_id: str, response: httpx.Response | None = None
    ) -> Wait[ClusterInfo]:
        """A wait until the cluster is RUNNING; ERROR and TERMINATED end it as failures."""
        options: dict[str, Any] = {} if self._policy is None else {"policy": self._policy}
        return databricks_wait(
            self._client,
            "/api/2.1/clusters/get",
            success={"RUNNING"},
            failure={"ERROR", "TERMINATED"},
            response=response,
            parse=ClusterInfo.from_dict,
            name="cluster",
            params={"cluster_id": cluster_id},
            bind={"cluster_id": cluster_id},
            **options,
        )


class JobsAPI:
    """``/api/2.1/jobs/runs``: submit returns a run id; the wait follows the run."""

    def __init__(self, client: httpx.Client, policy: Policy | None = None) -> None:
        self._client = client
        self._policy = policy

    def submit(self, run_name: str, **fields: Any) -> Wait[Run]:
        """Submit a one-time run; wait on its end with ``.result()``."""
        reply = self._client.post(
            "/api/2.1/jobs/runs/submit", json={"run_name": run_name, **fields}
        )
        reply.raise_for_status()
        run_id = int(reply.json()["run_id"])
        options: dict[str, Any] = {} if self._policy is None else {"policy": self._policy}
        return databricks_wait(
            self._client,
            "/api/2.1/jobs/runs/get",
            success={"TERMINATED", "SKIPPED"},
            failure={"INTERNAL_ERROR"},
            response=reply,
            parse=Run.from_dict,
            name="run",
            params={"run_id": str(run_id)},
            bind={"run_id": run_id},
            **options,
        )


class Workspace:
    """The client: one httpx.Client (base URL, auth, cookies) shared by every API."""

    def __init__(self, client: httpx.Client, policy: Policy | None = None) -> None:
        self.clusters = ClustersAPI(client, policy)
        self.jobs = JobsAPI(client, policy)
