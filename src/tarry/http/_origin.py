"""Origins, URL resolution and redaction: which URLs a wait may follow, and how URLs are shown.

A polling URL taken from a response (a header or a body) is only followed on the origin
(scheme, host, port) of the request that started the operation, unless the caller named
more origins. Requests that do go elsewhere never carry credentials (see
``is_sensitive``). URLs shown in messages, logs and reprs lose their user info and query
string, since signed URLs keep their secrets there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

__all__ = [
    "DEFAULT_PORTS",
    "Origin",
    "is_sensitive",
    "origin_of",
    "parse_origins",
    "redact",
    "resolve",
]

DEFAULT_PORTS = {"http": 80, "https": 443}
"""The port a URL without one connects to."""

_SENSITIVE_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "x-ms-authorization-auxiliary",
        "x-amz-security-token",
        "x-auth-token",
        "x-csrf-token",
        "x-xsrf-token",
    }
)
_SENSITIVE_WORDS = ("auth", "token", "secret", "password", "credential", "api-key", "apikey")


@dataclass(frozen=True, slots=True)
class Origin:
    """Scheme, host and port: what two URLs must share to be trusted alike."""

    scheme: str
    host: str
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port is None or self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


def origin_of(url: str) -> Origin:
    """The origin of an absolute URL; ``ValueError`` if it has no scheme or host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not scheme or not host:
        raise ValueError(f"not an absolute URL: {redact(url)}")
    port = parts.port  # ValueError on a bad port
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    return Origin(scheme, host.lower(), port)


def parse_origins(origins: Iterable[str] | str | None) -> frozenset[Origin]:
    """Origins from strings such as ``"https://poll.example.com"`` (a path is ignored)."""
    if origins is None:
        return frozenset()
    if isinstance(origins, str):
        origins = [origins]
    found = set()
    for text in origins:
        if not isinstance(text, str):
            raise TypeError(f"allowed origins must be strings, not {type(text).__name__}")
        try:
            found.add(origin_of(text))
        except ValueError:
            raise ValueError(
                f"an allowed origin needs a scheme and a host, like https://example.com: "
                f"{redact(text)!r}"
            ) from None
    return frozenset(found)


def resolve(base: str, reference: str) -> str:
    """``reference`` (absolute, or relative as servers often send) made absolute on ``base``.

    Never raises: a reference too broken to join (``http://[::1``) comes back as it is,
    and the origin check then refuses it as an unusable URL.
    """
    reference = reference.strip()
    try:
        return urljoin(base, reference)
    except ValueError:
        return reference


def redact(url: object) -> str:
    """``url`` fit to show: no user info, no query string, no fragment. Never raises.

    Done on the text itself rather than through a URL parser, so that a URL no parser
    agrees on (``://user:pw@host``, ``http://[::1``) loses its secrets all the same:
    everything after the first ``?`` or ``#`` goes, and so does everything up to the
    last ``@`` of the part after ``//`` that precedes the path.
    """
    text = str(url)
    cut = min((i for i in (text.find("?"), text.find("#")) if i != -1), default=-1)
    head = text if cut == -1 else text[:cut]
    start = head.find("//")
    if start != -1:
        rest = head[start + 2 :]
        end = rest.find("/")
        end = len(rest) if end == -1 else end
        authority = rest[:end].rpartition("@")[2]
        head = head[: start + 2] + authority + rest[end:]
    if cut != -1 and text[cut] == "?":
        head += "?[redacted]"
    return head


def is_sensitive(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether a request header carries a credential and must not leave the origin."""
    lowered = name.lower()
    if lowered in _SENSITIVE_NAMES or lowered in extra:
        return True
    return any(word in lowered for word in _SENSITIVE_WORDS)
