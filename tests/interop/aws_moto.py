"""moto's AWS server on loopback, and boto3 clients that count what they send it.

moto (PyPI ``moto[server]``) runs in a thread of the test process, bound to 127.0.0.1
on a port the system picks, so it cannot outlive pytest and nothing listens beyond
loopback. Its state manager (``POST /moto-api/state-manager/set-transition``) makes a
resource move one state per read, at most once every S seconds of real time.

Clients get fake credentials, region us-east-1 and the server's loopback URL as their
endpoint: no request leaves the machine.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["ENABLED", "SKIP_REASON", "Calls", "MotoServer", "count_calls"]

ENABLED = os.environ.get("TARRY_INTEROP") == "1"
"""Interop tests run only where the ``interop`` nox session installed the servers."""
SKIP_REASON = "interop tests run in the `interop` nox session (TARRY_INTEROP=1)"

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class MotoServer:
    """A moto server on 127.0.0.1 and a free port; a context manager that always stops it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        # moto's server logs every request through werkzeug: keep test output readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.base_url = ""

    def __enter__(self) -> MotoServer:
        self._server.start()
        host, port = self._server.get_host_and_port()
        if host != "127.0.0.1":  # pragma: no cover - a guard, never expected
            self._server.stop()
            raise RuntimeError(f"moto bound {host}, not loopback")
        self.base_url = f"http://{host}:{port}"
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.stop()

    def _post(self, path: str, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method="POST")
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()

    def set_transition(self, model_name: str, seconds: float) -> None:
        """Make ``model_name`` resources move one state every ``seconds`` of real time."""
        self._post(
            "/moto-api/state-manager/set-transition",
            {"model_name": model_name, "transition": {"progression": "time", "seconds": seconds}},
        )

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for ``service`` that talks only to this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.base_url,
            config=Config(**config) if config else None,
            **CREDENTIALS,
        )

    def async_session_kwargs(self) -> dict[str, Any]:
        """Arguments for aiobotocore's ``create_client`` that point at this server."""
        return {"region_name": REGION, "endpoint_url": self.base_url, **CREDENTIALS}


@dataclass
class Calls:
    """The calls of one operation a client made, and the last response it parsed."""

    operation: str
    count: int = 0
    last: dict[str, Any] | None = None
    _counting: bool = field(default=False, repr=False)

    def start(self) -> None:
        """Count from now on (setup calls before this are not polls)."""
        self.count = 0
        self.last = None
        self._counting = True

    def before(self, model: Any, **kwargs: Any) -> None:
        if self._counting and model.name == self.operation:
            self.count += 1

    def after(self, model: Any, parsed: Any = None, **kwargs: Any) -> None:
        if self._counting and model.name == self.operation and isinstance(parsed, dict):
            self.last = parsed


def count_calls(client: Any, operation: str) -> Calls:
    """Count a client's calls to ``operation`` (each one a poll) through botocore's events."""
    calls = Calls(operation)
    client.meta.events.register("before-call", calls.before)
    client.meta.events.register("after-call", calls.after)
    return calls
