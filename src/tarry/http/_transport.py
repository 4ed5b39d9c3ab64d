"""The only module that talks to httpx: it builds, sends and reads each request a flow asks
for, with the sync or the async client, and classifies the response.

* Each request's timeout is ``tarry.request_timeout()`` (the time left in the wait,
  floored), or the client's own timeout when the wait has no deadline.
* A request to another origin than the first request's (only ever one the caller
  allowed) carries no credential: sensitive headers are removed and the client's auth is
  not applied.
* Connection errors, timeouts and 408, 429, 500, 502, 503, 504 raise
  ``TransientHttpError`` (with the Retry-After hint); other non-2xx statuses raise
  ``HttpStatusError`` (``FinalFetchFailed`` for the result fetch). Error bodies are read
  up to ``MAX_ERROR_BODY`` bytes, other bodies up to ``MAX_BODY``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from tarry._budget import request_timeout

from ._body import MAX_BODY, MAX_ERROR_BODY, excerpt, server_message
from ._errors import (
    FinalFetchFailed,
    HttpError,
    HttpStatusError,
    MalformedResponse,
    TransientHttpError,
)
from ._flows import Answer, Guard, Req
from ._origin import is_sensitive, redact
from ._retry_after import parse_retry_after

__all__ = ["TRANSIENT_STATUSES", "Extras", "Transport", "check_response"]

logger = logging.getLogger("tarry.http")

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses that mean "try again later": the poll is retried inside the deadline."""

T = TypeVar("T")

Extras = Mapping[str, str] | Callable[[], Mapping[str, str]] | None
"""Headers or query parameters for every poll: a mapping, or a function called per request."""


def _extras(source: Extras, what: str) -> Mapping[str, str] | None:
    if source is None:
        return None
    value = source() if callable(source) else source
    if not isinstance(value, Mapping):
        raise TypeError(f"the {what} hook must give a mapping, not {type(value).__name__}")
    return value


def _lower_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _describe(
    method: str, url: str, response: httpx.Response, content: bytes
) -> tuple[str, str | None]:
    """The error text for a non-2xx answer, and the message found in its body."""
    found = None
    if content.strip():
        try:
            import json

            found = server_message(json.loads(content))
        except (ValueError, RecursionError):
            found = None
    detail = found or excerpt(content) or "no body"
    reason = response.reason_phrase
    status = f"{response.status_code} {reason}" if reason else str(response.status_code)
    return f"{method} {url} answered {status}: {detail}", found


def classify(
    method: str, url: str, response: httpx.Response, content: bytes, *, final: bool = False
) -> Answer:
    """An ``Answer`` for a 2xx response; the matching error for any other status."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if 200 <= status < 300:
        return Answer(method, url, status, _lower_headers(response.headers), content, retry_after)
    shown = redact(url)
    text, found = _describe(method, shown, response, content)
    if status in TRANSIENT_STATUSES:
        raise TransientHttpError(
            text,
            method=method,
            url=shown,
            status_code=status,
            retry_after=retry_after,
            excerpt=excerpt(content),
            server_message=found,
        )
    kind = FinalFetchFailed if final else HttpStatusError
    if final:
        text = f"the operation succeeded, but fetching its result failed: {text}"
    raise kind(
        text,
        method=method,
        url=shown,
        status_code=status,
        excerpt=excerpt(content),
        server_message=found,
    )


def check_response(response: httpx.Response) -> None:
    """Raise ``TransientHttpError`` or ``HttpStatusError`` unless ``response`` is a 2xx.

    For the call that starts an operation: the same errors, with the server's message and
    a redacted URL, as the polls raise.
    """
    request = response.request
    content = _content(response)
    classify(request.method, str(request.url), response, content)


def _content(response: httpx.Response) -> bytes:
    try:
        return response.content
    except httpx.ResponseNotRead:
        raise TypeError(
            "the initial response was streamed and not read; call response.read() first"
        ) from None


class Transport:
    """Sends a flow's requests with one httpx client, sync or async."""

    __slots__ = ("client", "guard", "headers", "params", "sensitive")

    def __init__(
        self,
        client: httpx.Client | httpx.AsyncClient,
        guard: Guard,
        headers: Extras,
        params: Extras,
        sensitive: Iterable[str],
    ) -> None:
        self.client = client
        self.guard = guard
        self.headers = headers
        self.params = params
        self.sensitive = frozenset(name.lower() for name in sensitive)

    def build(self, req: Req) -> tuple[httpx.Request, bool, float | None]:
        budget = request_timeout()
        timeout: Any = httpx.USE_CLIENT_DEFAULT if budget is None else budget
        try:
            request = self.client.build_request(
                req.method,
                req.url,
                headers=_extras(self.headers, "headers"),
                params=_extras(self.params, "params"),
                timeout=timeout,
            )
        except httpx.InvalidURL as exc:
            raise HttpError(
                f"cannot build {req.method} {redact(req.url)}: {exc}",
                method=req.method,
                url=redact(req.url),
            ) from None
        home = self.guard.is_home(str(request.url))
        if not home:
            for name in list(request.headers.keys()):
                if is_sensitive(name, self.sensitive):
                    del request.headers[name]
        return request, home, budget

    def _failed(
        self, request: httpx.Request, exc: httpx.RequestError, budget: float | None
    ) -> HttpError:
        method, shown = request.method, redact(request.url)
        if isinstance(exc, httpx.TimeoutException):
            limit = f" after {budget:.3g} s" if budget is not None else ""
            return TransientHttpError(
                f"{method} {shown} timed out{limit} ({type(exc).__name__})",
                method=method,
                url=shown,
            )
        if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol):
            return TransientHttpError(
                f"{method} {shown} failed: {type(exc).__name__}: {_exc_text(exc)}",
                method=method,
                url=shown,
            )
        return HttpError(
            f"{method} {shown} failed: {type(exc).__name__}: {_exc_text(exc)}",
            method=method,
            url=shown,
        )

    def _log(self, request: httpx.Request, response: httpx.Response) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %d", request.method, redact(request.url), response.status_code)

    # -- sync ---------------------------------------------------------------------------

    def send(self, req: Req) -> Answer:
        client = self.client
        assert isinstance(client, httpx.Client)
        request, home, budget = self.build(req)
        try:
            response = client.send(
                request, stream=True, auth=httpx.USE_CLIENT_DEFAULT if home else None
            )
            try:
                limit = MAX_BODY if response.is_success else MAX_ERROR_BODY
                content = _gather(response.iter_bytes(), limit)
            finally:
                response.close()
        except httpx.RequestError as exc:
            raise self._failed(request, exc, budget) from exc
        self._log(request, response)
        return _finish(req, request, response, content)

    def run(self, flow: Generator[Req, Answer, T]) -> T:
        try:
            req = next(flow)
            while True:
                req = flow.send(self.send(req))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    # -- async --------------------------------------------------------------------------

    async def send_async(self, req: Req) -> Answer:
        client = self.client
        assert isinstance(client, httpx.AsyncClient)
        request, home, budget = self.build(req)
        try:
            response = await client.send(
                request, stream=True, auth=httpx.USE_CLIENT_DEFAULT if home else None
            )
            try:
                limit = MAX_BODY if response.is_success else MAX_ERROR_BODY
                gathered = bytearray()
                chunks = response.aiter_bytes()
                try:
                    async for chunk in chunks:
                        gathered += chunk
                        if len(gathered) > limit:
                            break
                finally:
                    await chunks.aclose()  # type: ignore[attr-defined]
                content = bytes(gathered)
            finally:
                await response.aclose()
        except httpx.RequestError as exc:
            raise self._failed(request, exc, budget) from exc
        self._log(request, response)
        return _finish(req, request, response, content)

    async def run_async(self, flow: Generator[Req, Answer, T]) -> T:
        try:
            req = next(flow)
            while True:
                req = flow.send(await self.send_async(req))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _gather(chunks: Iterator[bytes], limit: int) -> bytes:
    """At most a little over ``limit`` bytes of a body; the rest is never read."""
    gathered = bytearray()
    try:
        for chunk in chunks:
            gathered += chunk
            if len(gathered) > limit:
                break
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return bytes(gathered)


def _finish(req: Req, request: httpx.Request, response: httpx.Response, content: bytes) -> Answer:
    url = str(request.url)
    if response.is_success and len(content) > MAX_BODY:
        shown = redact(url)
        raise MalformedResponse(
            f"{request.method} {shown} answered {response.status_code} with a body over "
            f"{MAX_BODY} bytes",
            method=request.method,
            url=shown,
            status_code=response.status_code,
            excerpt=excerpt(content),
        )
    if not response.is_success:
        content = content[:MAX_ERROR_BODY]
    return classify(request.method, url, response, content, final=req.final)


def _exc_text(exc: BaseException) -> str:
    """An httpx error's text, minus any URL in it (it could carry a signed query)."""
    text = str(exc)
    words = [redact(word) if "://" in word else word for word in text.split()]
    shown = " ".join(words)
    return shown[:300] if shown else "no detail"
