"""Which errors from an AWS client are worth asking again about (case C08).

Clients are duck-typed, so nothing here imports botocore. A botocore ``ClientError``
(and aiobotocore's, which is the same class) carries the parsed error response as
``error.response``: ``{"Error": {"Code": ...}, "ResponseMetadata": {"HTTPStatusCode":
...}}``. That dict is what the codes and statuses below are read from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tarry._errors import TarryError

from ._model import is_error_response

__all__ = [
    "THROTTLING_CODES",
    "TRANSIENT_CODES",
    "TRANSIENT_STATUSES",
    "error_response",
    "is_transient",
]

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "EC2ThrottledException",
    }
)
"""Error codes AWS services use to say "too many requests, slow down"."""

TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
"""Error codes for a server-side hiccup that a later request may not meet."""

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses retried whatever the error code: as for tarry's HTTP pollers."""

_CONNECTION_ERRORS = frozenset({"ConnectionError", "HTTPClientError"})
"""botocore's two families of transport errors (connect, read timeout, closed, ...)."""


def error_response(error: BaseException) -> Mapping[str, Any] | None:
    """The error response a client error carries, or None for any other exception."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping) and is_error_response(response):
        return response
    return None


def _is_connection_error(error: BaseException) -> bool:
    if isinstance(error, TarryError):
        return False
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return any(
        kind.__module__.startswith("botocore") and kind.__name__ in _CONNECTION_ERRORS
        for kind in type(error).__mro__
    )


def is_transient(error: BaseException) -> bool:
    """Whether a poll error is throttling, a server hiccup or a transport failure.

    True for a client error whose code is in ``THROTTLING_CODES`` or
    ``TRANSIENT_CODES`` or whose HTTP status is in ``TRANSIENT_STATUSES``, for
    botocore's connection and HTTP client errors, and for Python's ``ConnectionError``
    and ``TimeoutError``.
    """
    response = error_response(error)
    if response is None:
        return _is_connection_error(error)
    code = str(response["Error"]["Code"])
    if code in THROTTLING_CODES or code in TRANSIENT_CODES:
        return True
    metadata = response.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, Mapping) else None
    return status in TRANSIENT_STATUSES
