"""The public builders: one per convention, each in a sync and an async form.

Each takes an httpx client (and, for operations, the initial response the caller got
from it) and returns an ordinary ``tarry.Wait`` or ``tarry.AsyncWait``; nothing is
sent until ``result()`` runs. The core decides every delay and the deadline.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, overload
from urllib.parse import urlsplit

import httpx

from tarry._async import AsyncClock, AsyncWait
from tarry._policy import Policy
from tarry._spec import Spec
from tarry._sync import Clock, Wait

from ._azure import Strategy, azure_spec, plan, read_azure
from ._body import Path, split_path
from ._conventions import (
    DATABRICKS_OK_RESULTS,
    ShapeError,
    databricks_spec,
    google_spec,
    read_databricks,
    read_google,
    read_resource,
    resource_spec,
)
from ._errors import MalformedResponse, TransientHttpError
from ._flows import Answer, AzureFlow, Flow, GoogleFlow, Guard, ResourceFlow, google_url
from ._origin import parse_origins, redact, resolve
from ._reply import Reading, Reply, remember
from ._transport import Extras, Transport, classify

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "AsyncWaitOptions",
    "WaitOptions",
    "async_azure_operation",
    "async_databricks_wait",
    "async_google_operation",
    "async_resource_wait",
    "azure_operation",
    "databricks_wait",
    "google_operation",
    "resource_wait",
]

T = TypeVar("T")
States = Collection[Hashable] | Callable[[Any], bool]


class _Options(TypedDict, total=False):
    name: str
    """The operation's name in messages and logs (default: the convention's)."""
    headers: Extras
    """Headers for every poll: a mapping, or a function called per request."""
    params: Extras
    """Query parameters for every poll on the first request's origin (``api-version``,
    say): a mapping or a function. Like credentials, they are not sent to another origin."""
    allowed_origins: Iterable[str] | str
    """Origins besides the first request's that links in responses may lead to."""
    sensitive_headers: Iterable[str]
    """More header names that must never leave the first request's origin."""
    policy: Policy
    """Timeout, backoff, Retry-After cap, request floor. ``retry_on`` defaults to
    ``TransientHttpError``."""
    rng: random.Random
    """Draws the backoff jitter; seed it for reproducible delays."""
    bind: Mapping[str, Any]
    """Values readable as attributes of the wait (``wait.cluster_id``)."""


class WaitOptions(_Options, total=False):
    """Keyword arguments every sync builder accepts."""

    clock: Clock


class AsyncWaitOptions(_Options, total=False):
    """Keyword arguments every async builder accepts."""

    clock: AsyncClock


@dataclass
class _Parts:
    flow: Flow
    spec: Spec[Any]
    transport: Transport
    response: httpx.Response | None
    retry_after: float | None
    parse: Callable[[Any], Any] | None


_KNOWN = frozenset(WaitOptions.__annotations__) | frozenset(_Options.__annotations__)


_HTTP_POLICY = Policy(retry_on=TransientHttpError)
"""The policy of an HTTP wait given none; frozen, so one instance serves every wait."""


def _http_policy(policy: Policy | None) -> Policy:
    if policy is None:
        return _HTTP_POLICY
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a tarry.Policy, not {type(policy).__name__}")
    if policy.retry_on is None:
        return dataclasses.replace(policy, retry_on=TransientHttpError)
    return policy


def _check_options(options: Mapping[str, Any]) -> None:
    unknown = set(options) - _KNOWN
    if unknown:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")


def _initial(response: object) -> Answer:
    """The initial response as an ``Answer``; a non-2xx one raises the matching error."""
    if not isinstance(response, httpx.Response):
        raise TypeError(f"response must be an httpx.Response, not {type(response).__name__}")
    try:
        request = response.request
    except RuntimeError:
        raise TypeError(
            "response has no request: pass a response an httpx client returned"
        ) from None
    try:
        content = response.content
    except httpx.ResponseNotRead:
        raise TypeError("the response was streamed and not read; call read() first") from None
    return classify(request.method, str(request.url), response, content)


def _client(client: object, async_: bool) -> httpx.Client | httpx.AsyncClient:
    kind = httpx.AsyncClient if async_ else httpx.Client
    if not isinstance(client, kind):
        raise TypeError(f"client must be an httpx.{kind.__name__}, not {type(client).__name__}")
    return client


def _transport(
    client: httpx.Client | httpx.AsyncClient, first_url: str, options: Mapping[str, Any]
) -> Transport:
    guard = Guard(first_url, parse_origins(options.get("allowed_origins")))
    return Transport(
        client,
        guard,
        options.get("headers"),
        options.get("params"),
        options.get("sensitive_headers", ()),
    )


_HTTPX_BUILDS = (httpx.Client.build_request, httpx.AsyncClient.build_request)
"""httpx's own: a client class with its own may send a link elsewhere."""


def _absolute(client: httpx.Client | httpx.AsyncClient, url: str) -> tuple[str, httpx.URL]:
    """Where the client sends ``url`` (on its ``base_url`` if relative; the query aside,
    as only the origin is read from it), and ``url`` parsed, which the first poll reuses:
    a parse costs more than the rest of making a request."""
    try:
        link = httpx.URL(url)
        if link.is_absolute_url and type(client).build_request in _HTTPX_BUILDS:
            return str(link), link  # httpx sends an absolute link there, query aside
        return str(client.build_request("GET", link).url), link
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a usable URL: {redact(url)}: {exc}") from None


def _finish(reply: Reply, parse: Callable[[Any], Any] | None) -> Any:
    """The entity a poll returns: the reply, or the caller's object with its reading."""
    if parse is None:
        return reply
    try:
        value = parse(reply.body)
    except Exception as exc:
        raise MalformedResponse(
            f"GET {reply.url} answered {reply.status_code} with a body that parse= "
            f"rejected: {exc!r:.300}",
            method="GET",
            url=reply.url,
            status_code=reply.status_code,
        ) from exc
    remember(value, reply.reading)
    return value


def _sync(parts: _Parts, options: Mapping[str, Any]) -> Wait[Any]:
    transport, flow, parse = parts.transport, parts.flow, parts.parse

    def poll() -> Any:
        return _finish(transport.run(flow.poll()), parse)

    return Wait(
        poll,
        parts.spec,
        response=parts.response,
        policy=_http_policy(options.get("policy")),
        clock=options.get("clock"),
        rng=options.get("rng"),
        retry_after=parts.retry_after,
        **dict(options.get("bind", {})),
    )


def _async(parts: _Parts, options: Mapping[str, Any]) -> AsyncWait[Any]:
    transport, flow, parse = parts.transport, parts.flow, parts.parse

    async def poll() -> Any:
        return _finish(await transport.run_async(flow.poll()), parse)

    return AsyncWait(
        poll,
        parts.spec,
        response=parts.response,
        policy=_http_policy(options.get("policy")),
        clock=options.get("clock"),
        rng=options.get("rng"),
        retry_after=parts.retry_after,
        **dict(options.get("bind", {})),
    )


# -- generic resource and Databricks-style ---------------------------------------------


def _resource_parts(
    client: object,
    url: str,
    read: Callable[[Any], Reading],
    spec: Spec[Any],
    response: httpx.Response | None,
    parse: Callable[[Any], Any] | None,
    options: Mapping[str, Any],
    async_: bool,
) -> _Parts:
    _check_options(options)
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, not {type(url).__name__}")
    hint = None if response is None else _initial(response).retry_after
    checked = _client(client, async_)
    first, link = _absolute(checked, url)
    transport = _transport(checked, first, options)
    transport.parsed(url, link)
    return _Parts(ResourceFlow(url, read), spec, transport, response, hint, parse)


def _resource(
    client: object,
    url: str,
    state: Path,
    success: States,
    failure: States,
    message: Path | None,
    pending: Collection[Hashable] | None,
    response: httpx.Response | None,
    parse: Callable[[Any], Any] | None,
    options: Mapping[str, Any],
    async_: bool,
) -> _Parts:
    state_keys = split_path(state)
    message_keys = None if message is None else split_path(message)
    spec = resource_spec(options.get("name", "resource"), success, failure, pending)

    def read(body: Any) -> Reading:
        return read_resource(body, state_keys, message_keys)

    return _resource_parts(client, url, read, spec, response, parse, options, async_)


@overload
def resource_wait(
    client: httpx.Client,
    url: str,
    *,
    state: Path,
    success: States,
    failure: States = (),
    message: Path | None = None,
    pending: Collection[Hashable] | None = None,
    response: httpx.Response | None = None,
    parse: None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Reply]: ...
@overload
def resource_wait(
    client: httpx.Client,
    url: str,
    *,
    state: Path,
    success: States,
    failure: States = (),
    message: Path | None = None,
    pending: Collection[Hashable] | None = None,
    response: httpx.Response | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[WaitOptions],
) -> Wait[T]: ...
def resource_wait(
    client: httpx.Client,
    url: str,
    *,
    state: Path,
    success: States,
    failure: States = (),
    message: Path | None = None,
    pending: Collection[Hashable] | None = None,
    response: httpx.Response | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Any]:
    """A wait that GETs ``url`` (absolute, or relative to the client's ``base_url``) until
    the JSON resource there reaches a success or a failure state.

    ``state`` and ``message`` are paths into the body: ``"status.phase"`` or a tuple of
    keys and list indexes. ``success`` and ``failure`` are sets of states or predicates
    on the entity; with ``pending``, any other state fails at once. ``response`` (the
    reply that created the resource) becomes ``wait.response`` and its Retry-After delays
    the first poll. The entity is a ``Reply``, or ``parse(body)`` when given.
    """
    parts = _resource(
        client, url, state, success, failure, message, pending, response, parse, options, False
    )
    return _sync(parts, options)


@overload
def async_resource_wait(
    client: httpx.AsyncClient,
    url: str,
    *,
    state: Path,
    success: States,
    failure: States = (),
    message: Path | None = None,
    pending: Collection[Hashable] | None = None,
    response: httpx.Response | None = None,
    parse: None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Reply]: ...
@overload
def async_resource_wait(
    client: httpx.AsyncClient,
    url: str,
    *,
    state: Path,
    success: States,
    failure: States = (),
    message: Path | None = None,
    pending: Collection[Hashable] | None = None,
    response: httpx.Response | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[T]: ...
def async_resource_wait(
    client: httpx.AsyncClient,
    url: str,
    *,
    state: Path,
    success: States,
    failure: States = (),
    message: Path | None = None,
    pending: Collection[Hashable] | None = None,
    response: httpx.Response | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Any]:
    """The async twin of ``resource_wait``, for ``httpx.AsyncClient`` (asyncio or trio)."""
    parts = _resource(
        client, url, state, success, failure, message, pending, response, parse, options, True
    )
    return _async(parts, options)


def _databricks(
    client: object,
    url: str,
    success: Collection[Hashable],
    failure: Collection[Hashable],
    pending: Collection[Hashable] | None,
    ok_results: Collection[str],
    response: httpx.Response | None,
    parse: Callable[[Any], Any] | None,
    options: Mapping[str, Any],
    async_: bool,
) -> _Parts:
    spec = databricks_spec(options.get("name", "resource"), success, failure, pending, ok_results)
    return _resource_parts(client, url, read_databricks, spec, response, parse, options, async_)


@overload
def databricks_wait(
    client: httpx.Client,
    url: str,
    *,
    success: Collection[Hashable],
    failure: Collection[Hashable] = (),
    pending: Collection[Hashable] | None = None,
    ok_results: Collection[str] = DATABRICKS_OK_RESULTS,
    response: httpx.Response | None = None,
    parse: None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Reply]: ...
@overload
def databricks_wait(
    client: httpx.Client,
    url: str,
    *,
    success: Collection[Hashable],
    failure: Collection[Hashable] = (),
    pending: Collection[Hashable] | None = None,
    ok_results: Collection[str] = DATABRICKS_OK_RESULTS,
    response: httpx.Response | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[WaitOptions],
) -> Wait[T]: ...
def databricks_wait(
    client: httpx.Client,
    url: str,
    *,
    success: Collection[Hashable],
    failure: Collection[Hashable] = (),
    pending: Collection[Hashable] | None = None,
    ok_results: Collection[str] = DATABRICKS_OK_RESULTS,
    response: httpx.Response | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Any]:
    """A wait on a Databricks-style resource at ``url`` (a cluster, a job run...).

    The state is ``state`` (a string), ``state.life_cycle_state`` (a run's state object)
    or ``life_cycle_state``; the message is ``state_message``. A success state whose
    ``result_state`` is not in ``ok_results`` (a run TERMINATED with FAILED) is a
    failure, with the result in the message. Clusters: ``success={"RUNNING"},
    failure={"ERROR", "TERMINATED"}``; runs: ``success={"TERMINATED", "SKIPPED"},
    failure={"INTERNAL_ERROR"}``. Other arguments as in ``resource_wait``.
    """
    parts = _databricks(
        client, url, success, failure, pending, ok_results, response, parse, options, False
    )
    return _sync(parts, options)


@overload
def async_databricks_wait(
    client: httpx.AsyncClient,
    url: str,
    *,
    success: Collection[Hashable],
    failure: Collection[Hashable] = (),
    pending: Collection[Hashable] | None = None,
    ok_results: Collection[str] = DATABRICKS_OK_RESULTS,
    response: httpx.Response | None = None,
    parse: None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Reply]: ...
@overload
def async_databricks_wait(
    client: httpx.AsyncClient,
    url: str,
    *,
    success: Collection[Hashable],
    failure: Collection[Hashable] = (),
    pending: Collection[Hashable] | None = None,
    ok_results: Collection[str] = DATABRICKS_OK_RESULTS,
    response: httpx.Response | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[T]: ...
def async_databricks_wait(
    client: httpx.AsyncClient,
    url: str,
    *,
    success: Collection[Hashable],
    failure: Collection[Hashable] = (),
    pending: Collection[Hashable] | None = None,
    ok_results: Collection[str] = DATABRICKS_OK_RESULTS,
    response: httpx.Response | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Any]:
    """The async twin of ``databricks_wait``."""
    parts = _databricks(
        client, url, success, failure, pending, ok_results, response, parse, options, True
    )
    return _async(parts, options)


# -- Google AIP-151 --------------------------------------------------------------------


def _default_base(url: str) -> str:
    """``https://host/v1/`` from ``https://host/v1/projects/p/...``: where names resolve."""
    parts = urlsplit(url)
    segment = parts.path.lstrip("/").split("/", 1)[0]
    root = f"{parts.scheme}://{parts.netloc}/"
    return f"{root}{segment}/" if segment else root


def _google(
    client: object,
    response: httpx.Response,
    base_url: str | None,
    parse: Callable[[Any], Any] | None,
    options: Mapping[str, Any],
    async_: bool,
) -> _Parts:
    _check_options(options)
    answer = _initial(response)
    transport = _transport(_client(client, async_), answer.url, options)
    body = answer.json()
    try:
        reading = read_google(body)
    except ShapeError as error:
        raise answer.shape_error(error) from None
    base = _default_base(answer.url) if base_url is None else resolve(answer.url, base_url)
    if not base.endswith("/"):
        base += "/"
    url = google_url(answer, body, base, transport.guard)
    done = reading.state != "RUNNING"
    initial = answer.reply(body, reading) if done else None
    hint = None if done else answer.retry_after
    spec = google_spec(options.get("name", "operation"))
    return _Parts(GoogleFlow(url, initial), spec, transport, response, hint, parse)


@overload
def google_operation(
    client: httpx.Client,
    response: httpx.Response,
    *,
    base_url: str | None = None,
    parse: None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Reply]: ...
@overload
def google_operation(
    client: httpx.Client,
    response: httpx.Response,
    *,
    base_url: str | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[WaitOptions],
) -> Wait[T]: ...
def google_operation(
    client: httpx.Client,
    response: httpx.Response,
    *,
    base_url: str | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Any]:
    """A wait on the Google AIP-151 operation that ``response`` returned.

    Polls ``GET {base_url}{name}``; ``base_url`` defaults to the initial request's
    origin and first path segment (``https://svc.googleapis.com/v1/``). The wait
    succeeds when ``done`` is true without ``error`` (the entity's ``body["response"]``
    holds the result, ``body["metadata"]`` the progress) and fails on ``error``, with its
    code name and message. ``parse``, if given, receives each operation body.
    """
    return _sync(_google(client, response, base_url, parse, options, False), options)


@overload
def async_google_operation(
    client: httpx.AsyncClient,
    response: httpx.Response,
    *,
    base_url: str | None = None,
    parse: None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Reply]: ...
@overload
def async_google_operation(
    client: httpx.AsyncClient,
    response: httpx.Response,
    *,
    base_url: str | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[T]: ...
def async_google_operation(
    client: httpx.AsyncClient,
    response: httpx.Response,
    *,
    base_url: str | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Any]:
    """The async twin of ``google_operation``."""
    return _async(_google(client, response, base_url, parse, options, True), options)


# -- Azure -----------------------------------------------------------------------------


def _azure(
    client: object,
    response: httpx.Response,
    final_state_via: str | None,
    parse: Callable[[Any], Any] | None,
    options: Mapping[str, Any],
    async_: bool,
) -> _Parts:
    _check_options(options)
    answer = _initial(response)
    transport = _transport(_client(client, async_), answer.url, options)
    body = answer.json(allow_empty=True)
    try:
        azure = plan(
            answer.method,
            answer.url,
            answer.status_code,
            answer.headers,
            body,
            final_state_via,
            resolve,
        )
    except ShapeError as error:
        raise answer.shape_error(error) from None
    if azure.strategy not in (Strategy.BODY, Strategy.DONE) and azure.poll_url is not None:
        link = {
            Strategy.ASYNC_OPERATION: "Azure-AsyncOperation",
            Strategy.OPERATION_LOCATION: "Operation-Location",
        }.get(azure.strategy, "Location")
        transport.guard.check(azure.poll_url, link=link, found_by=(answer.method, answer.url))
    initial = None
    if azure.strategy is Strategy.DONE:  # plan() has read the body already: no ShapeError
        reading = read_azure(Strategy.DONE, answer.status_code, body)
        initial = answer.reply(body, reading, final=True)
    hint = None if initial is not None else answer.retry_after
    spec = azure_spec(options.get("name", "operation"))
    return _Parts(
        AzureFlow(azure, transport.guard, initial), spec, transport, response, hint, parse
    )


@overload
def azure_operation(
    client: httpx.Client,
    response: httpx.Response,
    *,
    final_state_via: str | None = None,
    parse: None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Reply]: ...
@overload
def azure_operation(
    client: httpx.Client,
    response: httpx.Response,
    *,
    final_state_via: str | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[WaitOptions],
) -> Wait[T]: ...
def azure_operation(
    client: httpx.Client,
    response: httpx.Response,
    *,
    final_state_via: str | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[WaitOptions],
) -> Wait[Any]:
    """A wait on the Azure operation that ``response`` (to a PUT, PATCH, POST or DELETE)
    started.

    The response picks the strategy: Azure-AsyncOperation, Operation-Location, Location,
    or the body's ``properties.provisioningState``. ``Succeeded`` succeeds; ``Failed``,
    ``Canceled`` and ``Cancelled`` fail (any case). On success the result is fetched
    from where the operation says, or from ``final_state_via`` (``"original-uri"``,
    ``"location"``, ``"azure-async-operation"``, ``"operation-location"``); a failed
    fetch raises ``FinalFetchFailed``. The entity is a ``Reply`` whose ``final`` is true
    for the result, or ``parse(body)`` of each status body and of the result.
    """
    return _sync(_azure(client, response, final_state_via, parse, options, False), options)


@overload
def async_azure_operation(
    client: httpx.AsyncClient,
    response: httpx.Response,
    *,
    final_state_via: str | None = None,
    parse: None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Reply]: ...
@overload
def async_azure_operation(
    client: httpx.AsyncClient,
    response: httpx.Response,
    *,
    final_state_via: str | None = None,
    parse: Callable[[Any], T],
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[T]: ...
def async_azure_operation(
    client: httpx.AsyncClient,
    response: httpx.Response,
    *,
    final_state_via: str | None = None,
    parse: Callable[[Any], Any] | None = None,
    **options: Unpack[AsyncWaitOptions],
) -> AsyncWait[Any]:
    """The async twin of ``azure_operation``."""
    return _async(_azure(client, response, final_state_via, parse, options, True), options)
