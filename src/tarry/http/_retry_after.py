"""Retry-After, read the way servers actually send it.

RFC 9110 allows a number of seconds or an HTTP date. Servers also send decimals, and
proxies pass on garbage, so parsing never raises: anything unusable is ``None`` and the
normal backoff applies. Large values are returned as they are: capping them is the
core's job (``Policy.max_retry_after``), so the rule lives in one place.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone

__all__ = ["parse_retry_after"]

_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_LONGEST = 200  # no real header is longer; longer ones are not worth parsing


def parse_retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value, or ``None`` if it says nothing usable.

    * ``"120"``, ``"1.5"``: that many seconds, however large (the core clamps them);
    * an HTTP date (``"Wed, 21 Oct 2026 07:28:00 GMT"``, always UTC): the seconds from
      ``now`` (default: the current UTC time) to it, and 0 for a date in the past;
    * anything else (``"-5"``, ``"1.5e400"``, ``"inf"``, ``"nan"``, ``""``, ``"/bar"``):
      ``None``.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str) or len(value) > _LONGEST:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        return float(text)  # at most 200 digits: always a finite float
    return _seconds_until(text, now)


def _seconds_until(text: str, now: datetime | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are UTC by definition
        when = when.replace(tzinfo=timezone.utc)
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return max((when - now).total_seconds(), 0.0)
