"""What each poll asks for, convention by convention, without doing any I/O.

A flow's ``poll()`` is a generator in the style of httpx's auth flows: it yields the
requests one poll needs (usually one; an Azure poll that sees success also fetches the
result) and receives each answer, then returns the ``Reply``. The transport runs it
with a sync or an async client; the flows are shared, so the sync and async waits
cannot drift apart.

Errors the transport classifies (transient, refused) are raised there; the flows raise
``MalformedResponse`` for bodies they cannot read and ``ForeignOriginRefused`` for
links to an origin the caller did not allow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from ._azure import AzurePlan, Strategy, final_url, is_terminal, moved_to, read_azure
from ._body import decode_json
from ._conventions import ShapeError, google_name, read_google
from ._errors import ForeignOriginRefused, MalformedResponse
from ._origin import Origin, origin_of, redact, resolve
from ._reply import Reading, Reply

__all__ = ["Answer", "AzureFlow", "Flow", "GoogleFlow", "Guard", "Req", "ResourceFlow"]


@dataclass(frozen=True, slots=True)
class Req:
    """One request a poll needs. ``final`` marks the fetch of a finished operation's result."""

    method: str
    url: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful (2xx) response, read: what the flows see of it."""

    method: str
    url: str  # absolute and unredacted: only ever shown through redact()
    shown: str  # the same URL redacted, worked out once per response
    status_code: int
    headers: Mapping[str, str]  # names in lower case
    content: bytes
    retry_after: float | None

    def json(self, allow_empty: bool = False) -> Any:
        return decode_json(
            self.content,
            method=self.method,
            url=self.shown,
            status_code=self.status_code,
            allow_empty=allow_empty,
        )

    def shape_error(self, error: ShapeError) -> MalformedResponse:
        return MalformedResponse(
            f"{self.method} {self.shown} answered {self.status_code}: {error}",
            method=self.method,
            url=self.shown,
            status_code=self.status_code,
        )

    def reply(self, body: Any, reading: Reading, final: bool = False) -> Reply:
        if reading.retry_after != self.retry_after:
            reading = Reading(reading.state, reading.message, reading.result, self.retry_after)
        return Reply(body, self.status_code, self.headers, self.shown, reading, final)


Poll = Generator[Req, Answer, Reply]


class Flow:
    """A convention's polls. Subclasses implement ``poll``."""

    def poll(self) -> Poll:
        raise NotImplementedError


class Guard:
    """The origin of the first request, and the other origins the caller allows."""

    __slots__ = ("allowed", "home")

    def __init__(self, first_url: str, allowed: frozenset[Origin]) -> None:
        self.home = origin_of(first_url)
        self.allowed = allowed

    def is_home(self, url: str) -> bool:
        try:
            return origin_of(url) == self.home
        except ValueError:
            return False

    def check(self, url: str, *, link: str, found_by: tuple[str, str]) -> str:
        """``url`` if a wait may follow it; else ``ForeignOriginRefused`` saying why."""
        method, source = found_by
        try:
            origin = origin_of(url)
        except ValueError:
            raise MalformedResponse(
                f"{method} {redact(source)} gave a {link} that is not a usable URL: {redact(url)}",
                method=method,
                url=redact(source),
            ) from None
        if origin == self.home or origin in self.allowed:
            return url
        raise self.refusal(origin, url, link=link, found_by=found_by)

    def refusal(
        self, origin: Origin, url: str, *, link: str, found_by: tuple[str, str]
    ) -> ForeignOriginRefused:
        """The error that says why ``url`` (on ``origin``) is not followed."""
        method, source = found_by
        allowed = tuple(sorted(str(o) for o in self.allowed))
        extra = f" or the allowed origins ({', '.join(allowed)})" if allowed else ""
        return ForeignOriginRefused(
            f"refused to follow the {link} {redact(url)} given by {method} "
            f"{redact(source)}: its origin {origin} is not the origin of the first request "
            f"({self.home}){extra}; pass allowed_origins=[{str(origin)!r}] to follow it "
            f"(credentials are never sent to another origin)",
            method=method,
            url=redact(url),
            origin=str(origin),
            allowed=allowed,
        )


def _read(answer: Answer, read: Callable[[Any], Reading], allow_empty: bool = False) -> Reply:
    body = answer.json(allow_empty)
    try:
        reading = read(body)
    except ShapeError as error:
        raise answer.shape_error(error) from None
    return answer.reply(body, reading)


class ResourceFlow(Flow):
    """GET one URL each poll and read the body (generic and Databricks-style)."""

    __slots__ = ("read", "url")

    def __init__(self, url: str, read: Callable[[Any], Reading]) -> None:
        self.url = url
        self.read = read

    def poll(self) -> Poll:
        answer = yield Req("GET", self.url)
        return _read(answer, self.read)


class GoogleFlow(Flow):
    """GET ``{base_url}{name}``; the initial response counts as a poll if already done."""

    __slots__ = ("initial", "url")

    def __init__(self, url: str, initial: Reply | None) -> None:
        self.url = url
        self.initial = initial

    def poll(self) -> Poll:
        initial, self.initial = self.initial, None
        if initial is not None:
            return initial
        answer = yield Req("GET", self.url)
        return _read(answer, read_google)


def google_url(answer: Answer, body: Any, base_url: str, guard: Guard) -> str:
    """Where to poll the operation in ``body`` (the initial response), origin-checked."""
    try:
        name = google_name(body)
    except ShapeError as error:
        raise answer.shape_error(error) from None
    url = resolve(base_url, name.lstrip("/"))
    return guard.check(url, link="operation name", found_by=(answer.method, answer.url))


class AzureFlow(Flow):
    """Poll the status monitor the plan chose, follow it if it moves, fetch the result."""

    __slots__ = ("_final", "guard", "initial", "plan", "poll_url")

    def __init__(self, plan: AzurePlan, guard: Guard, initial: Reply | None) -> None:
        self.plan = plan
        self.guard = guard
        self.poll_url = plan.poll_url
        self.initial = initial
        self._final: tuple[str, Reading] | None = None

    def poll(self) -> Poll:
        if self.plan.strategy is Strategy.DONE:
            assert self.initial is not None
            return self.initial
        if self._final is not None:  # the operation succeeded; the last fetch failed
            pending, reading = self._final
            return (yield from self._fetch(pending, reading))
        assert self.poll_url is not None
        strategy = self.plan.strategy
        answer = yield Req("GET", self.poll_url)
        moved = moved_to(strategy, answer.headers)
        if moved is not None:
            link = "Azure-AsyncOperation" if strategy is Strategy.ASYNC_OPERATION else None
            self.poll_url = self.guard.check(
                resolve(answer.url, moved),
                link=link or strategy.value.title(),
                found_by=(answer.method, answer.url),
            )
        reply = _read(answer, lambda body: read_azure(strategy, answer.status_code, body), True)
        state = reply.state
        if not isinstance(state, str) or not is_terminal(state):
            return reply
        if state.casefold() != "succeeded":
            return dataclasses.replace(reply, final=True)
        url: str | None = final_url(self.plan, reply.body, resolve)
        if url is None and reply.body is None and self.plan.method in ("PUT", "PATCH"):
            url = self.plan.original_url  # an empty final answer: read the resource
        if url is None:
            return dataclasses.replace(reply, final=True)
        if url != self.plan.original_url:
            url = self.guard.check(url, link="result location", found_by=("GET", answer.url))
        self._final = (url, reply.reading)
        return (yield from self._fetch(url, reply.reading))

    def _fetch(self, url: str, reading: Reading) -> Poll:
        answer = yield Req("GET", url, final=True)
        body = answer.json(allow_empty=True)
        self._final = None
        return answer.reply(body, dataclasses.replace(reading, retry_after=None), final=True)
