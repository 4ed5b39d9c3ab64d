"""The errors an HTTP wait can end with, besides ``OperationFailed`` and ``OperationTimedOut``.

Every one names the request (method and redacted URL) and, where there was a response,
its status. None of them ever holds a request header, so no credential reaches a message,
a log or a traceback.
"""

from __future__ import annotations

from tarry._errors import TarryError

__all__ = [
    "FinalFetchFailed",
    "ForeignOriginRefused",
    "HttpError",
    "HttpStatusError",
    "MalformedResponse",
    "TransientHttpError",
]


class HttpError(TarryError):
    """Base class of the HTTP layer's errors.

    ``method`` and ``url`` (redacted) name the request; ``status_code`` is the response's
    status, or ``None`` when no response came.
    """

    def __init__(self, text: str, *, method: str, url: str, status_code: int | None = None) -> None:
        super().__init__(text)
        self.method = method
        self.url = url
        self.status_code = status_code


class TransientHttpError(HttpError):
    """A poll failed in a way worth retrying: a connection error, a request timeout, or a
    408, 429, 500, 502, 503 or 504.

    HTTP waits retry it by default (their ``retry_on``). ``retry_after`` is the server's
    hint in seconds (from a Retry-After header) or ``None``; the core reads it.
    ``excerpt`` is the start of the response body, ``server_message`` the message found
    in it, if any.
    """

    def __init__(
        self,
        text: str,
        *,
        method: str,
        url: str,
        status_code: int | None = None,
        retry_after: float | None = None,
        excerpt: str = "",
        server_message: str | None = None,
    ) -> None:
        super().__init__(text, method=method, url=url, status_code=status_code)
        self.retry_after = retry_after
        self.excerpt = excerpt
        self.server_message = server_message


class HttpStatusError(HttpError):
    """The server refused a poll for good (400, 401, 403, 404, ...): the wait ends.

    ``excerpt`` is the start of the body (bounded), ``server_message`` the error message
    found in it (``error.message``, ``message``, ``detail``...), if any.
    """

    def __init__(
        self,
        text: str,
        *,
        method: str,
        url: str,
        status_code: int,
        excerpt: str = "",
        server_message: str | None = None,
    ) -> None:
        super().__init__(text, method=method, url=url, status_code=status_code)
        self.excerpt = excerpt
        self.server_message = server_message


class FinalFetchFailed(HttpStatusError):
    """The operation succeeded, but fetching its result from where it said failed.

    Kept apart from ``OperationFailed``: the work was done; only reading the outcome
    went wrong, so retrying the operation would be a mistake.
    """


class MalformedResponse(HttpError):
    """The server answered something the convention cannot read: a body that is not JSON,
    truncated JSON, JSON of the wrong shape, or a missing polling link.

    ``excerpt`` is the start of the body (bounded).
    """

    def __init__(
        self,
        text: str,
        *,
        method: str,
        url: str,
        status_code: int | None = None,
        excerpt: str = "",
    ) -> None:
        super().__init__(text, method=method, url=url, status_code=status_code)
        self.excerpt = excerpt


class ForeignOriginRefused(HttpError):
    """A response pointed the wait at another origin, which the caller did not allow.

    Following it would send the caller's requests (and, before this check, possibly their
    credentials) to a server they never chose. ``origin`` is the refused origin,
    ``allowed`` the origins that would have been followed. Pass ``allowed_origins=`` to
    follow it; credentials are still never sent there.
    """

    def __init__(
        self,
        text: str,
        *,
        method: str,
        url: str,
        origin: str,
        allowed: tuple[str, ...],
    ) -> None:
        super().__init__(text, method=method, url=url, status_code=None)
        self.origin = origin
        self.allowed = allowed
