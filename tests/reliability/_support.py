"""What the reliability tests share: one HTTP wait run by any driver, timed and caught.

``drive`` builds a wait with one of the ``tarry.http`` builders over a real httpx client
(sync, or async under asyncio or trio) and returns an ``Outcome``: the entity or the
exception, and the seconds ``result()`` took by ``time.monotonic`` (the clock the
embedded server stamps its requests with, so both can be compared).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import httpx

import tarry.http as th
from tarry import Constant, Policy
from tarry.testing import OperationsServer, Request

__all__ = [
    "AZURE",
    "DATABRICKS",
    "DRIVERS",
    "FAST",
    "FLOOR",
    "GOOGLE",
    "MARGIN",
    "RESOURCE",
    "SECRET",
    "TLS",
    "TOKEN",
    "Builders",
    "ByteCounter",
    "Outcome",
    "arrived_at",
    "drive",
]

DRIVERS = ("sync", "asyncio", "trio")

FLOOR = 0.2
"""The request floor of every wait here: the most a wait may overrun its deadline."""

FAST = Policy(backoff=Constant(0.02), request_floor=FLOOR)

MARGIN = 2.0
"""Slack on top of deadline + floor before a wait counts as late: machines are shared and
noisy, and what these bounds catch is a hang or an extra sleep, not slowness."""

SECRET = "SECRET-7d1f4b9e02c6"
TOKEN = f"Bearer {SECRET}-bearer"

TLS = ssl.create_default_context()
"""One TLS context for every client: building one per client (httpx's default) costs a
tenth of a second of certificate loading, and these clients only speak plain HTTP."""

Builders = tuple[Callable[..., Any], Callable[..., Any]]
RESOURCE: Builders = (th.resource_wait, th.async_resource_wait)
DATABRICKS: Builders = (th.databricks_wait, th.async_databricks_wait)
GOOGLE: Builders = (th.google_operation, th.async_google_operation)
AZURE: Builders = (th.azure_operation, th.async_azure_operation)

E = TypeVar("E", bound=BaseException)


@dataclass
class Outcome:
    """How one wait ended: ``entity`` or ``error``, ``started`` and ``elapsed`` seconds."""

    entity: Any
    error: Exception | None
    started: float
    elapsed: float

    def raised(self, kind: type[E]) -> E:
        """The error, checked to be a ``kind``."""
        assert isinstance(self.error, kind), f"expected {kind.__name__}, got {self.error!r}"
        return self.error

    def succeeded(self) -> Any:
        """The entity, checked to have come without an error."""
        assert self.error is None, f"expected success, got {self.error!r}"
        return self.entity

    def ended_by(self, timeout: float) -> None:
        """The wait ended within its deadline plus the request floor (and the margin)."""
        assert self.elapsed <= timeout + FLOOR + MARGIN, (
            f"the wait took {self.elapsed:.3f} s with a {timeout} s timeout"
        )


class ByteCounter:
    """Counts the body bytes a client pulls off the socket, through a wrapping transport."""

    def __init__(self) -> None:
        self.read = 0

    def transport(self, async_: bool) -> httpx.BaseTransport | httpx.AsyncBaseTransport:
        if async_:
            return _AsyncCounting(self, httpx.AsyncHTTPTransport(verify=TLS))
        return _Counting(self, httpx.HTTPTransport(verify=TLS))


class _Counting(httpx.BaseTransport):
    def __init__(self, counter: ByteCounter, inner: httpx.HTTPTransport) -> None:
        self.counter = counter
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        stream: httpx.SyncByteStream = response.stream
        counter = self.counter

        class Counted(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                for chunk in stream:
                    counter.read += len(chunk)
                    yield chunk

            def close(self) -> None:
                stream.close()

        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=Counted(),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


class _AsyncCounting(httpx.AsyncBaseTransport):
    def __init__(self, counter: ByteCounter, inner: httpx.AsyncHTTPTransport) -> None:
        self.counter = counter
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        stream: httpx.AsyncByteStream = response.stream
        counter = self.counter

        class Counted(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                async for chunk in stream:
                    counter.read += len(chunk)
                    yield chunk

            async def aclose(self) -> None:
                await stream.aclose()

        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=Counted(),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def arrived_at(server: OperationsServer) -> list[Request]:
    """The requests that reached ``server``'s own origin (by their Host header), out of a
    log that servers sharing their operations also write to."""
    host = server.url.removeprefix("http://")
    return [r for r in server.requests if r.header("host") == host]


def drive(
    driver: str,
    builders: Builders,
    target: str,
    *,
    start: str | None = None,
    timeout: float = 2.0,
    callback: Callable[[Any], object] | None = None,
    client_options: dict[str, Any] | None = None,
    counter: ByteCounter | None = None,
    **options: Any,
) -> Outcome:
    """Build and run one wait with ``driver`` ("sync", "asyncio" or "trio").

    With ``start`` (a method), the builder is given the response to ``start target``;
    otherwise the wait polls ``target`` itself. Errors from building the wait count as
    its outcome too (an initial answer pointing abroad is refused there). The client
    sends ``TOKEN`` as its Authorization header unless ``client_options`` says
    otherwise. Only ``Exception`` is caught: cancellation and KeyboardInterrupt pass.
    """
    options.setdefault("policy", FAST)
    settings: dict[str, Any] = {
        "headers": {"Authorization": TOKEN},
        "timeout": 10.0,
        "verify": TLS,
    }
    settings.update(client_options or {})
    if driver == "sync":
        if counter is not None:
            settings["transport"] = counter.transport(False)
        with httpx.Client(**settings) as client:
            initial = None if start is None else client.request(start, target)
            began = time.monotonic()
            try:
                wait = builders[0](client, target if initial is None else initial, **options)
                entity, error = wait.result(timeout=timeout, callback=callback), None
            except Exception as exc:
                entity, error = None, exc
            return Outcome(entity, error, began, time.monotonic() - began)

    async def main() -> Outcome:
        if counter is not None:
            settings["transport"] = counter.transport(True)
        async with httpx.AsyncClient(**settings) as client:
            initial = None if start is None else await client.request(start, target)
            began = time.monotonic()
            try:
                wait = builders[1](client, target if initial is None else initial, **options)
                entity, error = await wait.result(timeout=timeout, callback=callback), None
            except Exception as exc:
                entity, error = None, exc
            return Outcome(entity, error, began, time.monotonic() - began)

    return anyio.run(main, backend=driver)
