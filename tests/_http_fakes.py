"""Scripted HTTP servers for ``httpx.MockTransport``: answers in order, requests recorded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]

BASE = "https://api.example"
SECRET = "Bearer s3cret-token"


def reply(
    status: int = 200, body: Any = None, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """A JSON response (no body when ``body`` is None)."""
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def raw(status: int, content: bytes, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """A response with exactly these bytes as its body."""
    return httpx.Response(status, content=content, headers=headers)


class Script:
    """Routes like ``"GET /ops/1"`` or ``"GET https://other.example/ops/1"`` answer from
    their list in order (the last answer repeats); every request is kept in ``seen``."""

    def __init__(self, routes: Mapping[str, list[Answer]]) -> None:
        self.routes = {key: list(answers) for key, answers in routes.items()}
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        url = request.url
        full = f"{request.method} {url.scheme}://{url.netloc.decode()}{url.path}"
        short = f"{request.method} {url.path}"
        key = full if full in self.routes else short
        if key not in self.routes:
            return reply(404, {"error": {"code": "NotFound", "message": f"no route {short}"}})
        answers = self.routes[key]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.seen]

    def client(self, **options: Any) -> httpx.Client:
        options.setdefault("base_url", BASE)
        options.setdefault("headers", {"Authorization": SECRET})
        return httpx.Client(transport=httpx.MockTransport(self), **options)

    def async_client(self, **options: Any) -> httpx.AsyncClient:
        options.setdefault("base_url", BASE)
        options.setdefault("headers", {"Authorization": SECRET})
        return httpx.AsyncClient(transport=httpx.MockTransport(self), **options)
