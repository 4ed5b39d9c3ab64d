"""Origins, URL resolution, redaction and sensitive headers (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarry.http import Origin, is_sensitive, origin_of, redact
from tarry.http._origin import parse_origins, resolve


def test_origin_defaults_ports_and_lowercases() -> None:
    """Scheme and host are compared without case; default ports are filled in."""
    assert origin_of("HTTPS://API.Example/a") == Origin("https", "api.example", 443)
    assert origin_of("https://api.example:443/x") == origin_of("https://api.example/y")
    assert origin_of("http://api.example/") != origin_of("https://api.example/")
    assert origin_of("https://api.example:8443/") != origin_of("https://api.example/")
    assert origin_of("http://[::1]:8080/") == Origin("http", "::1", 8080)


def test_origin_shows_as_text() -> None:
    """Origins print as scheme://host[:port], default ports omitted, IPv6 bracketed."""
    assert str(origin_of("https://api.example/x")) == "https://api.example"
    assert str(origin_of("http://127.0.0.1:8080/x")) == "http://127.0.0.1:8080"
    assert str(origin_of("http://[::1]:81/")) == "http://[::1]:81"


def test_userinfo_does_not_change_the_origin() -> None:
    """user:pass@ is not part of the origin."""
    assert origin_of("https://u:p@api.example/") == origin_of("https://api.example/")


@pytest.mark.parametrize("url", ["/relative", "api.example/x", "", "https:///nohost"])
def test_origin_needs_an_absolute_url(url: str) -> None:
    """Relative or hostless URLs have no origin."""
    with pytest.raises(ValueError, match="absolute"):
        origin_of(url)


def test_resolve_relative_and_absolute() -> None:
    """Relative links resolve on the URL that gave them; absolute ones stay."""
    base = "https://api.example/subs/1/vm?api-version=2"
    assert resolve(base, "/ops/7") == "https://api.example/ops/7"
    assert resolve(base, "ops/7") == "https://api.example/subs/1/ops/7"
    assert resolve(base, " https://b.example/x ") == "https://b.example/x"
    assert resolve(base, "//c.example/y") == "https://c.example/y"


def test_redact_removes_query_and_userinfo() -> None:
    """Signed query strings, user info and fragments never show."""
    shown = redact("https://user:pw@blob.example:8443/c/b?sig=SECRET&se=1#frag")
    assert shown == "https://blob.example:8443/c/b?[redacted]"
    assert "SECRET" not in shown
    assert "pw" not in shown
    assert redact("https://api.example/ops/1") == "https://api.example/ops/1"
    assert redact("/ops/1?token=x") == "/ops/1?[redacted]"
    assert redact("http://u:pw@[::1") == "http://[::1"
    assert redact("://user:pw@host/x") == "://host/x"
    assert redact("https://a\\@evil.example/x") == "https://evil.example/x"
    assert redact("https://api.example/a@b/c") == "https://api.example/a@b/c"
    assert redact("x#frag?q") == "x"


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "cookie",
        "X-API-Key",
        "Ocp-Apim-Subscription-Key",
        "X-Goog-Api-Key",
        "X-Auth-Token",
        "x-amz-security-token",
        "My-Secret",
        "Proxy-Authorization",
    ],
)
def test_credential_headers_are_sensitive(name: str) -> None:
    """Well-known and credential-looking header names are sensitive."""
    assert is_sensitive(name)


def test_ordinary_headers_are_not_sensitive_unless_marked() -> None:
    """Plain headers pass, unless the caller marks them."""
    assert not is_sensitive("x-ms-client-request-id")
    assert not is_sensitive("Accept")
    assert is_sensitive("X-Tenant", frozenset({"x-tenant"}))


def test_parse_origins() -> None:
    """Allowed origins come from strings; a bad one is a clear error."""
    assert parse_origins("https://b.example/any/path") == {origin_of("https://b.example")}
    assert parse_origins(None) == frozenset()
    with pytest.raises(ValueError, match="scheme and a host"):
        parse_origins(["b.example"])
    with pytest.raises(TypeError, match="strings"):
        parse_origins([42])  # type: ignore[list-item]


@given(
    user=st.text(alphabet="QWXYZ019", min_size=1, max_size=12),
    secret=st.text(alphabet="QWXYZ-_~", min_size=6, max_size=24),
    path=st.text(alphabet="abc/-_.", max_size=20),
    query=st.text(alphabet="abc=&%+019", min_size=1, max_size=30),
)
def test_redact_hides_userinfo_and_query(user: str, secret: str, path: str, query: str) -> None:
    """Whatever the user info and query, neither survives redaction."""
    url = f"https://{user}:{secret}@api.example/{path}?sig={secret}&{query}"
    shown = redact(url)
    assert secret not in shown
    assert user + ":" not in shown
    assert shown.startswith("https://api.example/")
    assert shown.endswith("?[redacted]")


@given(st.text(max_size=60))
def test_redact_never_raises(text: str) -> None:
    """Redaction accepts any text and never shows a query string."""
    shown = redact(text)
    assert isinstance(shown, str)
    assert "?" not in shown or shown.endswith("?[redacted]")
