"""Retry-After parsing: seconds, HTTP dates, and garbage that must be ignored (C11)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarry.http import parse_retry_after

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("0", 0.0), ("10", 10.0), (" 5 ", 5.0), ("1.5", 1.5), ("2700", 2700.0), (b"7", 7.0)],
)
def test_seconds(value: str | bytes, seconds: float) -> None:
    """Integer and decimal seconds are read as they are."""
    assert parse_retry_after(value) == seconds


def test_huge_seconds_are_left_to_the_core() -> None:
    """Absurd but well-formed values come back large (the core clamps them), never raise."""
    assert parse_retry_after("99999999999") == 99999999999.0
    huge = parse_retry_after("9" * 150)
    assert huge is not None
    assert math.isfinite(huge)
    assert huge > 1e149


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "/bar",
        "-5",
        "+5",
        "1.5e400",
        "1e3",
        "inf",
        "nan",
        "Infinity",
        "0x10",
        "5 s",
        "١٢",
        "1.",
        ".5",
        "x" * 500,
        b"\xff\xfe",
    ],
)
def test_garbage_is_ignored(value: str | bytes | None) -> None:
    """Anything that is neither seconds nor an HTTP date is None (C11)."""
    assert parse_retry_after(value) is None


def test_http_date_in_the_future() -> None:
    """An IMF-fixdate gives the seconds from now until it."""
    assert parse_retry_after("Thu, 03 Dec 2026 12:00:30 GMT", now=NOW) == 30.0


def test_http_date_in_the_past_means_now() -> None:
    """A date already past means "poll now": 0 seconds (C11)."""
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 0.0


def test_http_date_is_utc_whatever_the_zone_says() -> None:
    """HTTP dates are UTC; a naive ``now`` is taken as UTC too."""
    naive_now = NOW.replace(tzinfo=None)
    assert parse_retry_after("Thu, 03 Dec 2026 12:01:00 GMT", now=naive_now) == 60.0
    assert parse_retry_after("Thu, 03 Dec 2026 12:01:00 -0000", now=NOW) == 60.0


def test_obsolete_date_formats() -> None:
    """The asctime form that RFC 9110 still asks recipients to accept is read."""
    assert parse_retry_after("Thu Dec  3 12:00:10 2026", now=NOW) == 10.0


def test_default_now_is_the_current_time() -> None:
    """Without ``now`` a date about a minute ahead gives about 60 seconds."""
    ahead = datetime.now(timezone.utc) + timedelta(seconds=61)
    text = ahead.strftime("%a, %d %b %Y %H:%M:%S GMT")
    seconds = parse_retry_after(text)
    assert seconds is not None
    assert 50 <= seconds <= 61


def test_broken_dates_are_ignored() -> None:
    """Date-like garbage gives None."""
    assert parse_retry_after("Thu, 99 Dec 2026 12:00:10 GMT", now=NOW) is None
    assert parse_retry_after("Mon, 01 Jan 99999 00:00:00 GMT", now=NOW) is None


@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.none()))
def test_never_raises_and_never_negative(value: str | bytes | None) -> None:
    """For any input the result is None or a non-negative number, never NaN, never an error."""
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or seconds >= 0
