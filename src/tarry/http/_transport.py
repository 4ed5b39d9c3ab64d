"""The only module that talks to httpx: it builds, sends and reads each request a flow asks
for, with the sync or the async client, and classifies the response.

* Each request's timeout is ``tarry.request_timeout()`` (the time left in the wait,
  floored), or the client's own timeout when the wait has no deadline. httpx applies it
  to each phase (connect, each read...); reading the body is also cut once the whole
  request has taken that long, so a server trickling bytes cannot stretch a poll.
* A request to another origin than the first request's (only ever one the caller
  allowed) carries no credential: sensitive headers are removed, the client's auth is
  not applied, and the caller's query parameters (the client's ``params`` and the wait's
  ``params`` option) are not added: the link is followed with its own query only.
* Redirects are followed here (up to ``MAX_REDIRECTS``), not by httpx, so that each hop
  passes the same origin check and header stripping as any other link.
* Connection errors, timeouts and 408, 429, 500, 502, 503, 504 raise
  ``TransientHttpError`` (with the Retry-After hint); other non-2xx statuses raise
  ``HttpStatusError`` (``FinalFetchFailed`` for the result fetch). Error bodies are read
  up to ``MAX_ERROR_BODY`` bytes, other bodies up to ``MAX_BODY``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote_plus

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
from ._origin import DEFAULT_PORTS, Origin, is_sensitive, redact, resolve
from ._retry_after import parse_retry_after

__all__ = ["MAX_REDIRECTS", "TRANSIENT_STATUSES", "Extras", "Transport", "check_response"]

logger = logging.getLogger("tarry.http")

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses that mean "try again later": the poll is retried inside the deadline."""

MAX_REDIRECTS = 5
"""How many redirects one poll follows before giving up."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})

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


def _describe(
    method: str, url: str, response: httpx.Response, content: bytes
) -> tuple[str, str | None]:
    """The error text for a non-2xx answer, and the message found in its body."""
    found = None
    if content.strip():
        try:
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
    shown = redact(url)
    if 200 <= status < 300:
        headers = dict(response.headers.items())  # names in lower case, repeats joined
        return Answer(method, url, shown, status, headers, content, retry_after)
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
    try:
        content = response.content
    except httpx.ResponseNotRead:
        raise TypeError("the response was streamed and not read; call read() first") from None
    classify(request.method, str(request.url), response, content)


class _Sending:
    """One request on its way: the httpx request, whether it stays home, its budget."""

    __slots__ = ("budget", "cutoff", "home", "request")

    def __init__(self, request: httpx.Request, home: bool, budget: float | None) -> None:
        self.request = request
        self.home = home
        self.budget = budget
        self.cutoff = None if budget is None else time.monotonic() + budget

    @property
    def auth(self) -> Any:
        return httpx.USE_CLIENT_DEFAULT if self.home else None

    def limit(self, response: httpx.Response) -> int:
        return MAX_BODY if response.is_success else MAX_ERROR_BODY

    def add(self, gathered: bytearray, chunk: bytes, limit: int) -> bool:
        """Keep ``chunk``; whether to stop reading (enough bytes, or out of time)."""
        gathered += chunk
        if len(gathered) > limit:
            return True
        if self.cutoff is not None and time.monotonic() > self.cutoff:
            raise httpx.ReadTimeout("the body took longer than the time left", request=self.request)
        return False


class Transport:
    """Sends a flow's requests with one httpx client, sync or async."""

    __slots__ = ("_last_link", "client", "guard", "headers", "params", "sensitive")

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
        # The last link parsed, with its text: most waits poll one URL over and over, and
        # httpx's URL parser is pure Python, looking at every character (about 12 us for
        # a short link here, more than the rest of building the request). One pair, set
        # at once, so that two threads sharing a wait never see one's text with the
        # other's URL. Kept by the wait's own transport, so it goes when the wait does.
        self._last_link: tuple[str, httpx.URL] | None = None

    def parsed(self, text: str, link: httpx.URL) -> None:
        """``link`` is ``text`` parsed: the next request for ``text`` uses it."""
        self._last_link = (text, link)

    def _parse(self, req: Req, followed: int) -> httpx.URL:
        """``httpx.URL(req.url)``, reusing the last parse when the link is the same.

        Only the links a flow polls are kept, which the flow keeps too; a redirect's
        target or a result's location, which may be signed, is parsed and let go.
        """
        text = req.url
        last = self._last_link
        if last is not None and (text is last[0] or text == last[0]):
            return last[1]
        link = httpx.URL(text)
        if not followed and not req.final:  # not a redirect's target nor a result
            self._last_link = (text, link)
        return link

    def build(self, req: Req, followed: int = 0) -> _Sending:
        """The httpx request for ``req`` (after ``followed`` redirects in this poll): hook
        headers and params, timeout, no stray credentials."""
        budget = request_timeout()
        timeout: Any = httpx.USE_CLIENT_DEFAULT if budget is None else budget
        params = _extras(self.params, "params")
        try:
            link = self._parse(req, followed)
            own = link.query
            request = self.client.build_request(
                req.method, link, headers=_extras(self.headers, "headers"), timeout=timeout
            )
        except (httpx.InvalidURL, UnicodeError) as exc:
            # A link from the server that no URL can carry (lone surrogates from a JSON
            # escape, say): the server's nonsense, named without the bytes that broke it.
            shown = redact(req.url).encode("utf-8", "backslashreplace").decode("utf-8")
            reason = "not encodable" if isinstance(exc, UnicodeError) else str(exc)
            raise HttpError(
                f"cannot build {req.method} {shown}: {reason}",
                method=req.method,
                url=shown,
            ) from None
        # The links were checked already; this checks again with httpx's own reading
        # of the URL, the one it connects by, so no parser disagreement can send a
        # request (or a credential) where the check did not look.
        url = request.url
        scheme, port = url.scheme, url.port
        host = url.raw_host.decode("ascii", "replace").lower()
        if port is None:
            port = DEFAULT_PORTS.get(scheme)
        guard = self.guard
        first = guard.home  # compared field by field: no Origin is made for the usual poll
        home = host == first.host and port == first.port and scheme == first.scheme
        if not home:
            origin = Origin(scheme, host, port)
            if origin not in guard.allowed:
                raise guard.refusal(origin, str(url), link="URL", found_by=(req.method, req.url))
            for name in list(request.headers.keys()):
                if is_sensitive(name, self.sensitive):
                    del request.headers[name]
        query = self._query(own, params, home)
        # httpx put the client's params in the URL; otherwise it is the link as parsed.
        if query is not own or self.client.params or (not own and url.raw_path[-1:] == b"?"):
            request.url = url.copy_with(query=query or None)  # a parse: only when it changes
        return _Sending(request, home, budget)

    def _query(self, own: bytes, params: Mapping[str, str] | None, home: bool) -> bytes:
        """The query a request is sent with: the link's own, as it came (httpx would
        replace it with the client's params), and on the first request's origin the
        client's params and the ``params`` option, which win over the link's parameters
        of the same name. The caller's parameters can be credentials (``?key=``,
        ``?sig=``), so a request to another origin gets none of them."""
        if not home or not (params or self.client.params):
            return own
        added = self.client.params.merge(params)
        names = set(added.keys())
        kept = [
            pair
            for pair in own.split(b"&")
            if pair
            and unquote_plus(pair.partition(b"=")[0].decode("ascii", "replace")) not in names
        ]
        return b"&".join([*kept, str(added).encode("ascii")])

    def _redirect(self, req: Req, sending: _Sending, response: httpx.Response) -> Req | None:
        """The next hop if ``response`` redirects, origin-checked; else None."""
        if response.status_code not in _REDIRECTS:
            return None
        location = response.headers.get("location")
        if not location:
            return None
        url = str(sending.request.url)
        target = resolve(url, location)
        target = self.guard.check(target, link="redirect", found_by=(req.method, url))
        method = "GET" if response.status_code == 303 else req.method
        return Req(method, target, req.final)

    def _too_many(self, req: Req) -> HttpError:
        shown = redact(req.url)
        return HttpError(
            f"{req.method} {shown}: more than {MAX_REDIRECTS} redirects",
            method=req.method,
            url=shown,
        )

    def _log(self, request: httpx.Request, response: httpx.Response) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %d", request.method, redact(request.url), response.status_code)

    # -- sync ---------------------------------------------------------------------------

    def send(self, req: Req) -> Answer:
        """One request, redirects followed, read and classified."""
        client = self.client
        assert isinstance(client, httpx.Client)
        for followed in range(MAX_REDIRECTS + 1):
            sending = self.build(req, followed)
            try:
                # Redirects are ours to follow (origin-checked in _redirect): a client made
                # with follow_redirects=True would take cookies and API keys abroad.
                response = client.send(
                    sending.request, stream=True, auth=sending.auth, follow_redirects=False
                )
                try:
                    content = _gather(sending, response.iter_bytes(), sending.limit(response))
                finally:
                    response.close()
            except httpx.RequestError as exc:
                raise _failed(sending, exc) from exc
            self._log(sending.request, response)
            hop = self._redirect(req, sending, response)
            if hop is None:
                return _finish(req, sending.request, response, content)
            req = hop
        raise self._too_many(req)

    def run(self, flow: Generator[Req, Answer, T]) -> T:
        """Run one poll's flow to its end and return what it returns."""
        try:
            req = next(flow)
            while True:
                req = flow.send(self.send(req))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    # -- async --------------------------------------------------------------------------

    async def send_async(self, req: Req) -> Answer:
        """The async twin of ``send``."""
        client = self.client
        assert isinstance(client, httpx.AsyncClient)
        for followed in range(MAX_REDIRECTS + 1):
            sending = self.build(req, followed)
            try:
                response = await client.send(
                    sending.request, stream=True, auth=sending.auth, follow_redirects=False
                )
                try:
                    content = await _agather(sending, response, sending.limit(response))
                finally:
                    await response.aclose()
            except httpx.RequestError as exc:
                raise _failed(sending, exc) from exc
            self._log(sending.request, response)
            hop = self._redirect(req, sending, response)
            if hop is None:
                return _finish(req, sending.request, response, content)
            req = hop
        raise self._too_many(req)

    async def run_async(self, flow: Generator[Req, Answer, T]) -> T:
        """The async twin of ``run``."""
        try:
            req = next(flow)
            while True:
                req = flow.send(await self.send_async(req))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _gather(sending: _Sending, chunks: Iterator[bytes], limit: int) -> bytes:
    """The body, up to a little over ``limit`` bytes; the rest is never read."""
    gathered = bytearray()
    try:
        for chunk in chunks:
            if sending.add(gathered, chunk, limit):
                break
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return bytes(gathered)


async def _agather(sending: _Sending, response: httpx.Response, limit: int) -> bytes:
    """The async twin of ``_gather``, reading ``response``'s body.

    httpx's body iterators are async generators stacked on each other (down to
    httpcore's). Leaving them early, at the bound or at the budget, would abandon the
    inner ones unfinished, and trio warns (ResourceWarning) when it collects such a
    generator. So a body cut short is finished from the bottom: the response is closed,
    and the next read fails in the innermost generator, which unwinds every one of them.
    """
    gathered = bytearray()
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            if sending.add(gathered, chunk, limit):
                break
    finally:
        await response.aclose()
        await _finish_reading(chunks)
    return bytes(gathered)


async def _finish_reading(chunks: AsyncIterator[bytes]) -> None:
    """Run a closed response's body iterator to its end: it fails at its first read."""
    try:
        async for _ in chunks:
            pass
    except (httpx.HTTPError, httpx.StreamError):
        pass


def _failed(sending: _Sending, exc: httpx.RequestError) -> HttpError:
    """The error a failed request becomes: transient unless retrying cannot help."""
    request = sending.request
    method, shown = request.method, redact(request.url)
    if isinstance(exc, httpx.TimeoutException):
        budget = sending.budget
        limit = f" after {budget:.3g} s" if budget is not None else ""
        return TransientHttpError(
            f"{method} {shown} timed out{limit} ({type(exc).__name__})",
            method=method,
            url=shown,
        )
    text = f"{method} {shown} failed: {type(exc).__name__}: {_exc_text(exc)}"
    # A request this client cannot even send (an unsupported scheme, a header h11
    # refuses) fails the same way every time: retrying it would only wait out the clock.
    never = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, never):
        return TransientHttpError(text, method=method, url=shown)
    return HttpError(text, method=method, url=shown)


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
    words = [redact(word) if "://" in word else word for word in str(exc).split()]
    shown = " ".join(words)
    return shown[:300] if shown else "no detail"
