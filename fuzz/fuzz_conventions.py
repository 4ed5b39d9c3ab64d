"""Fuzz every HTTP convention of ``tarry.http`` with arbitrary responses.

Each input picks a convention (generic resource, Databricks-style, Google AIP-151,
Azure), an initial response where the convention needs one, and a script of poll
responses: arbitrary status codes, headers (polling links on this origin, another
origin, another scheme, relative, broken; Retry-After values of every kind) and bodies
(the convention's JSON with fields of every type, any JSON, truncated JSON, deep
nesting, non-JSON bytes, nothing). The wait runs on a fake clock against an
``httpx.MockTransport``.

Invariant
=========
1. The wait ends with the entity (a ``Reply``) or with a documented error:
   ``tarry.OperationFailed``, ``tarry.OperationTimedOut`` or a ``tarry.http.HttpError``
   (``MalformedResponse``, ``ForeignOriginRefused``, ``HttpStatusError``,
   ``FinalFetchFailed``, ``TransientHttpError``); building the wait raises only
   ``HttpError``. Nothing else escapes.
2. The wait ends by its deadline on the fake clock, after a bounded number of requests.
3. No request goes to an origin that is neither the first request's nor an allowed
   one, and no request to another origin carries the caller's credentials.
4. No secret (the first URL's signed query, the caller's token and API key, a signed
   query in a polling link) appears in the entity's ``url`` or repr, or in the text of
   any error the wait ends with (or its ``last_error``).
5. A ``Reply``'s state is hashable, its message a string or None, and its
   ``retry_after`` None or a finite non-negative float.

Run: ``python fuzz/fuzz_conventions.py [--seconds N] [libFuzzer options] [corpus dirs]``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from typing import Any

import httpx
from _source import Source

import tarry
from tarry.http import (
    HttpError,
    Reply,
    azure_operation,
    databricks_wait,
    google_operation,
    resource_wait,
)
from tarry.testing import FakeClock

__all__ = ["test_one_input"]

HOME = "https://api.example.com"
FIRST = f"{HOME}/v1/things/7?sig=Ksig7q"
OTHER = "https://other.example"
TOKEN, API_KEY, LINK_SECRET = "Ktoken7q", "Kkey7q", "Kloc7q"
SECRETS = ("Ksig7q", TOKEN, API_KEY, LINK_SECRET)
CREDENTIALS = {"authorization", "x-api-key", "cookie"}

_LINKS = (
    "/v1/operations/1",
    "operations/2",
    f"{HOME}/status/3?sig={LINK_SECRET}",
    f"{OTHER}/status/4?sig={LINK_SECRET}",
    "http://api.example.com/status/5",
    "//evil.example/status/6",
    "https://api.example.com:8443/status/7",
    "http://[::1",
    "//[::1]:80/x",
    "https://",
    "",
    " ",
    "?page=2",
    "https://user:pw@api.example.com/status/8",
    "ftp://api.example.com/x",
)
_HEADERS = ("location", "operation-location", "azure-asyncoperation", "retry-after")
_RETRY_AFTER = (
    "5",
    "0",
    "-1",
    "1.5",
    "1e400",
    "99999999999",
    "inf",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "",
)
_STATUSES = (200, 200, 200, 201, 202, 202, 204, 301, 400, 401, 404, 408, 429, 500, 503, 504)
_STATES: tuple[Any, ...] = (
    "DONE",
    "FAILED",
    "RUNNING",
    "PENDING",
    "TERMINATED",
    "Succeeded",
    "succeeded",
    "Failed",
    "Canceled",
    "Cancelled",
    "InProgress",
    "",
    None,
    5,
    1.5,
    True,
    [],
    {},
)
_MESSAGES: tuple[Any, ...] = (
    None,
    "",
    "all good",
    5,
    {"a": 1},
    ["x"],
    "m" * 2000,
    "?sig=shown",
)
# Links in bodies carry no secret: a server's body may legitimately be quoted in errors.
_BODY_LINKS = tuple(link.replace(LINK_SECRET, "visible") for link in _LINKS)


def _json_value(src: Source, depth: int = 0) -> Any:
    """Any JSON value, kept small."""
    kind = src.below(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return src.flag()
    if kind == 2:
        return src.pick((0, -1, 10**30, 1.5, 1e308))
    if kind == 3:
        return src.text(8)
    if kind == 4:
        return src.pick(_STATES[:12])
    if kind == 5:
        return [_json_value(src, depth + 1) for _ in range(src.below(3))]
    keys = ("state", "status", "done", "error", "name", "properties", "message", "code")
    return {src.pick(keys): _json_value(src, depth + 1) for _ in range(src.below(4))}


def _document(src: Source, convention: str) -> Any:
    """A body in the convention's shape, with fields of every type."""
    state, message = src.pick(_STATES), src.pick(_MESSAGES)
    if convention == "resource":
        return {"status": state, "detail": {"text": message}}
    if convention == "databricks":
        kind = src.below(3)
        if kind == 0:
            return {"state": state, "state_message": message}
        if kind == 1:
            return {
                "state": {
                    "life_cycle_state": state,
                    "result_state": src.pick(("SUCCESS", "FAILED", None, 5)),
                    "state_message": message,
                }
            }
        return {"life_cycle_state": state, "state_message": message}
    if convention == "google":
        doc: dict[str, Any] = {
            "name": src.pick(("operations/1", "", 5, None, f"{OTHER}/o", "//evil.example/o")),
            "done": src.pick((True, False, "true", None, 1)),
        }
        if src.flag():
            doc["error"] = src.pick(
                ({"code": 5, "message": message}, {"code": "x"}, "broken", [], {"code": 10**30})
            )
        if src.flag():
            doc["response"] = _json_value(src)
        return doc
    doc = {"status": state}
    if src.flag():
        doc["properties"] = {"provisioningState": src.pick(_STATES)}
    if src.flag():
        doc["error"] = {"code": src.pick(("Conflict", 5, None)), "message": message}
    if src.flag():
        doc["resourceLocation"] = src.pick(_BODY_LINKS)
    return doc


def _content(src: Source, convention: str) -> bytes:
    kind = src.below(10)
    if kind < 5:
        text = json.dumps(_document(src, convention))
    elif kind == 5:
        text = json.dumps(_json_value(src))
    elif kind == 6:
        full = json.dumps(_document(src, convention))
        text = full[: src.below(len(full) + 1)]
    elif kind == 7:
        return src.pick((b"", b"  ", b"[" * 50000, b"NaN", b'{"a": Infinity}', b"\xef\xbb\xbf{}"))
    elif kind == 8:
        return src.pick(("{}", "[]", "null")).encode("utf-16")
    else:
        return src.blob(48)
    return text.encode()


def _response(src: Source, convention: str, request: httpx.Request) -> httpx.Response:
    status = src.pick(_STATUSES) if src.below(8) else 100 + src.below(500)
    headers: list[tuple[bytes, bytes]] = []
    for _ in range(src.below(3)):
        name = src.pick(_HEADERS)
        if name == "retry-after":
            value = src.pick(_RETRY_AFTER)
        else:
            value = src.pick(_LINKS) if src.below(6) else src.text(12)
        headers.append((name.encode(), value.encode("utf-8", "replace")))
    if src.below(6) == 0:
        headers.append((b"set-cookie", b"session=Kcookie7q; Path=/"))
    return httpx.Response(
        status, headers=headers, content=_content(src, convention), request=request
    )


class Server:
    """Answers each request with the next scripted response; checks what it is sent."""

    def __init__(self, src: Source, convention: str, allowed: bool) -> None:
        self.src = src
        self.convention = convention
        self.allowed = allowed
        self.requests = 0
        self.problems: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        url = request.url
        origin = (url.scheme, url.host, url.port)
        home = origin == ("https", "api.example.com", None)
        if not home and not (self.allowed and origin == ("https", "other.example", None)):
            self.problems.append(f"a request went to {url.scheme}://{url.host}:{url.port}")
        if not home:
            sent = {name.lower() for name in request.headers}
            values = " ".join(request.headers.values())
            if sent & CREDENTIALS or TOKEN in values or API_KEY in values:
                self.problems.append(f"credentials went to {url.host}: {sorted(sent)}")
        return _response(self.src, self.convention, request)


def _initial(src: Source, convention: str, method: str) -> httpx.Response:
    return _response(src, convention, httpx.Request(method, FIRST))


def _secret_free(text: str, what: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} shown in {what}: {text[:500]}"


def _build(
    src: Source, convention: str, client: httpx.Client, clock: FakeClock, allowed: list[str]
) -> Callable[..., Any]:
    rng = random.Random(0)
    if convention == "resource":
        pending = src.pick((None, {"RUNNING", "PENDING"}))
        state: Any = src.pick(("status", ("status",), "detail.text"))
        message: Any = src.pick((None, "detail.text", ("detail", 0)))
        return resource_wait(
            client,
            FIRST,
            state=state,
            message=message,
            success={"DONE"},
            failure={"FAILED"},
            pending=pending,
            clock=clock,
            rng=rng,
            allowed_origins=allowed,
        ).result
    if convention == "databricks":
        return databricks_wait(
            client,
            FIRST,
            success={"RUNNING", "TERMINATED"},
            failure={"ERROR"},
            clock=clock,
            rng=rng,
            allowed_origins=allowed,
        ).result
    if convention == "google":
        initial = _initial(src, convention, "POST")
        return google_operation(
            client, initial, clock=clock, rng=rng, allowed_origins=allowed
        ).result
    method = src.pick(("PUT", "PATCH", "POST", "DELETE"))
    via = src.pick((None, None, "location", "original-uri", "azure-async-operation"))
    initial = _initial(src, convention, method)
    return azure_operation(
        client, initial, final_state_via=via, clock=clock, rng=rng, allowed_origins=allowed
    ).result


def test_one_input(data: bytes) -> None:
    """Run one wait in a fuzzed convention against fuzzed responses; check how it ends."""
    src = Source(data)
    convention = src.pick(("resource", "databricks", "google", "azure"))
    allowed = src.flag()
    server = Server(src, convention, allowed)
    clock = FakeClock()
    timeout = src.pick((0.0, 5.0, 60.0))
    with httpx.Client(
        transport=httpx.MockTransport(server),
        headers={"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY},
    ) as client:
        try:
            result = _build(src, convention, client, clock, [OTHER] if allowed else [])
        except HttpError as refused:
            _secret_free(f"{refused} {refused!r}", "an error building the wait")
            return
        try:
            entity = result(timeout=timeout)
        except (tarry.OperationFailed, tarry.OperationTimedOut, HttpError) as ended:
            _secret_free(f"{ended} {ended!r}", "the error the wait ended with")
            last = getattr(ended, "last_error", None)
            if last is not None:
                _secret_free(f"{last} {last!r}", "the last error of a timeout")
            entity = None
    assert not server.problems, server.problems
    assert clock.now() <= timeout, f"the wait ran {clock.now()} s of a {timeout} s timeout"
    assert server.requests <= 2 * len(clock.sleeps) + 3, f"{server.requests} requests"
    if entity is not None:
        assert isinstance(entity, Reply), entity
        _secret_free(f"{entity.url} {entity!r}", "the entity")
        hash(entity.state)
        assert entity.message is None or isinstance(entity.message, str)
        hint = entity.retry_after
        assert hint is None or (type(hint) is float and math.isfinite(hint) and hint >= 0)


def main() -> None:
    from _runner import main as run

    run("fuzz_conventions", test_one_input, instrument=("tarry", "json"))


if __name__ == "__main__":
    main()
