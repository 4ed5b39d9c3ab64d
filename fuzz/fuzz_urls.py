"""Fuzz URL handling in ``tarry.http``: resolution, the same-origin check and redaction.

Invariant
=========
For URLs assembled from arbitrary pieces (schemes, user info, hosts of every kind,
ports, paths, queries and fragments, with separators and escapes in the wrong places)
and arbitrary relative references:

1. Only documented exceptions: ``origin_of`` and ``parse_origins`` raise ``ValueError``
   (or ``TypeError`` for a non-string); ``redact``, ``resolve`` and ``is_sensitive``
   never raise; ``Guard.check`` raises only ``MalformedResponse`` or
   ``ForeignOriginRefused``, both ``HttpError``.
2. Redaction never leaks: a secret that httpx (the client that sends the request)
   places in the user info, the query or the fragment never appears in ``redact``'s
   output, nor in the text of an error that ``Guard.check`` raises.
3. The same-origin check is reflexive and symmetric, and agrees with httpx: a URL the
   guard accepts as the first request's origin is one httpx sends to that very scheme,
   host and port.
4. A relative reference (no scheme, no authority) resolves on the base's origin.
5. An origin's text (``str(origin)``, which a refusal suggests passing as
   ``allowed_origins``) parses back to the same origin.
6. ``is_sensitive`` is a ``bool`` that ignores case, and names every Authorization.

Run: ``python fuzz/fuzz_urls.py [--seconds N] [libFuzzer options] [corpus dirs]``.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

import httpx
from _source import Source

from tarry.http import ForeignOriginRefused, MalformedResponse
from tarry.http._flows import Guard
from tarry.http._origin import Origin, is_sensitive, origin_of, parse_origins, redact, resolve

__all__ = ["test_one_input"]

USER, PASSWORD, QUERY, FRAGMENT = "Kuser7q", "Kpass7q", "Kquery7q", "Kfrag7q"
SECRETS = (USER, PASSWORD, QUERY, FRAGMENT)

_SCHEMES = ("https", "http", "HTTPS", "ftp", "file", "", "h\ttp", "javascript", "1http")
_HOSTS = (
    "api.example.com",
    "API.Example.COM",
    "api.example.com.",
    "127.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::1",
    "xn--bcher-kva.example",
    "bücher.example",
    "evil.example",
    "",
    "a@b",
    "ex%61mple.com",
    "home\\@evil.example",
    "0x7f.1",
    "localhost",
)
_PORTS = ("", ":443", ":80", ":8443", ":0", ":65535", ":65536", ":-1", ":abc", ":", ": 80")
_SEPARATORS = ("://", ":/", ":", "//", ":\\\\", ":///")
_PIECES = ("/", "@", "?", "#", "\\", "%2F", "%40", "%3F", " ", "\t", "\n", ":", "//", ".", "..")


def _piece(src: Source) -> str:
    """A short string that often holds a URL separator in an awkward place."""
    kind = src.below(4)
    if kind == 0:
        return src.pick(_PIECES)
    if kind == 1:
        return src.text(6)
    if kind == 2:
        return ""
    return src.pick(("v1", "ops", "a.b", "x y", "é", "~u")) + src.pick(_PIECES)


def _url(src: Source) -> str:
    """An absolute-looking URL with a secret planted in each part that may carry one."""
    scheme = src.pick(_SCHEMES)
    userinfo = ""
    if src.flag():
        userinfo = USER + _piece(src)
        if src.flag():
            userinfo += ":" + PASSWORD + _piece(src)
        userinfo += "@"
    host = src.pick(_HOSTS) if src.below(4) else _piece(src)
    path = "".join(_piece(src) for _ in range(src.below(4)))
    if path and src.flag():
        path = "/" + path
    url = scheme + src.pick(_SEPARATORS) + userinfo + host
    url += src.pick(_PORTS) + path
    if src.flag():
        url += "?" + _piece(src) + QUERY + _piece(src)
    if src.flag():
        url += "#" + FRAGMENT + _piece(src)
    return url if src.below(8) else src.text(40)


def _reference(src: Source) -> str:
    """What a server might put in a Location header: absolute, relative, or odd."""
    kind = src.below(4)
    if kind == 0:
        return _url(src)
    if kind == 1:
        return src.pick(
            ("", " ", "/next", "next", "?page=2", "#x", "../../up", ".", "//evil.example/x")
        )
    if kind == 2:
        return src.pick(("/", "", "\\\\", "\t", " ")) + "".join(_piece(src) for _ in range(3))
    return src.text(30)


def _httpx(url: str) -> httpx.URL | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        return None
    return parsed


def _origin(url: str) -> Origin | None:
    try:
        return origin_of(url)
    except ValueError:
        return None


def _check_redaction(url: str) -> None:
    shown = redact(url)
    assert isinstance(shown, str)
    parsed = _safe_httpx(url)
    if parsed is None:
        return
    hidden = " ".join(
        (
            parsed.userinfo.decode("latin-1", "replace"),
            parsed.query.decode("latin-1", "replace"),
            parsed.fragment,
        )
    )
    for secret in SECRETS:
        # Only a marker that occurs once can be placed unambiguously (a path may hold a
        # whole second URL, and normalizing "/.." may drop part of it).
        if url.count(secret) == 1 and secret in hidden and secret in shown:
            kind = "an absolute URL" if _splits(url) and urlsplit(url).scheme else "a relative URL"
            raise AssertionError(f"redact() shows {secret} of {kind}: {url!r} -> {shown!r}")


def _safe_httpx(url: str) -> httpx.URL | None:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None


def _check_guard(home: str, candidate: str) -> None:
    a, b = _origin(home), _origin(candidate)
    if a is None:
        return
    guard = Guard(home, frozenset())
    assert guard.is_home(home), f"{home!r} is not its own origin"
    if b is None:
        assert not guard.is_home(candidate)
    else:
        assert guard.is_home(candidate) == Guard(candidate, frozenset()).is_home(home)
        assert guard.is_home(candidate) == (a == b)
    # What httpx would send to, for a URL the guard lets through as home. (A host that
    # httpx has to percent-encode cannot be looked up at all: no request leaves.)
    sent = _httpx(candidate)
    if guard.is_home(candidate) and sent is not None and b"%" not in sent.raw_host:
        port = sent.port if sent.port is not None else {"http": 80, "https": 443}[sent.scheme]
        where = (sent.scheme, sent.raw_host.decode("ascii").lower(), port)
        assert where == (a.scheme, _ascii_host(a.host), a.port), (
            f"the guard took {candidate!r} for {a}, but httpx sends it to {where}"
        )
    try:
        accepted = guard.check(candidate, link="Location", found_by=("GET", home))
    except (ForeignOriginRefused, MalformedResponse) as refused:
        # The refusal shows the URLs only as redact() does, and nothing more of them.
        text = f"{refused} {refused.url}"
        shown = f"{redact(home)} {redact(candidate)}"
        for secret in SECRETS:
            assert secret not in text or secret in shown, f"{secret} leaked in: {text}"
        if isinstance(refused, ForeignOriginRefused):
            # The refusal's suggested allowed_origins value must let the URL through.
            allowed = parse_origins([refused.origin])
            assert Guard(home, allowed).check(candidate, link="Location", found_by=("GET", home))
    else:
        assert accepted == candidate


def _ascii_host(host: str) -> str:
    """A host as it goes on the wire: internationalized names in their punycode form."""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


def _check_origin_text(url: str) -> None:
    origin = _origin(url)
    if origin is None:
        return
    assert origin.scheme == origin.scheme.lower()
    assert origin.host == origin.host.lower()
    assert _origin(str(origin)) == origin, f"{url!r}: {origin} reads back as {_origin(str(origin))}"


def _check_resolve(base: str, reference: str) -> None:
    """Resolve a server's reference on a URL httpx really requested (as the flows do)."""
    if _httpx(base) is None:
        return
    try:
        resolved = resolve(base, reference)
    except ValueError as exc:
        raise AssertionError(f"resolve({base!r}, {reference!r}) raised {exc!r}") from exc
    assert isinstance(resolved, str)
    origin = _origin(base)
    # urllib, like browsers, drops tabs and line breaks anywhere in a URL first.
    ref = "".join(c for c in reference.strip() if c not in "\t\r\n")
    relative = not urlsplit(ref).scheme and not ref.startswith("//") if _splits(ref) else False
    if origin is not None and relative:
        assert _origin(resolved) == origin, f"{reference!r} on {base!r} left for {resolved!r}"


def _splits(text: str) -> bool:
    try:
        urlsplit(text)
    except ValueError:
        return False
    return True


def _check_sensitive(src: Source) -> None:
    name = src.pick(("Authorization", "authorization", "X-Api-Key", "Cookie", "Accept", ""))
    name = _piece(src) + name + _piece(src) if src.flag() else name
    answer = is_sensitive(name)
    assert type(answer) is bool
    assert answer == is_sensitive(name.lower()) == is_sensitive(name.upper().lower())
    if "authorization" in name.lower():
        assert answer


def test_one_input(data: bytes) -> None:
    """Build URLs and references from ``data``; check redaction, origins and resolution."""
    src = Source(data)
    home, other, reference = _url(src), _url(src), _reference(src)
    for url in (home, other):
        _check_redaction(url)
        _check_origin_text(url)
    _check_resolve(home, reference)
    for candidate in (other, _try_resolve(home, reference)):
        if candidate is not None:
            _check_guard(home, candidate)
            _check_redaction(candidate)
    with contextlib.suppress(ValueError, TypeError):
        parse_origins([home, other])
    _check_sensitive(src)


def _try_resolve(base: str, reference: str) -> str | None:
    try:
        return resolve(base, reference)
    except ValueError:
        return None


def main() -> None:
    from _runner import main as run

    run("fuzz_urls", test_one_input, instrument=("tarry", "urllib", "httpx"))


if __name__ == "__main__":
    main()
