"""Fuzz the Retry-After parser, ``tarry.http.parse_retry_after``.

Invariant
=========
For any value (raw bytes, any string, an HTTP date built from arbitrary fields, a
number of any length and sign) and any ``now`` (naive or aware, any offset, any year):

1. ``parse_retry_after`` never raises.
2. It returns ``None`` or a finite, non-negative ``float``.
3. Plain digits (with an optional decimal part, at most 200 characters, surrounding
   whitespace allowed) are that many seconds, exactly as ``float`` reads them.
4. An HTTP date is the seconds from ``now`` to it, and 0 for a date in the past.
5. What it returns goes through the core (``tarry.Machine``) without trouble: the next
   delay is at least ``min(hint, max_retry_after, time left)`` and never past the deadline.

Run: ``python fuzz/fuzz_retry_after.py [--seconds N] [libFuzzer options] [corpus dirs]``.
"""

from __future__ import annotations

import email.utils
import math
import random
from datetime import datetime, timedelta, timezone

from _source import Source

import tarry
from tarry.http import parse_retry_after

__all__ = ["test_one_input"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz", "")
_MONTHS = ("Jan", "Feb", "Mar", "Oct", "Dec", "Foo", "")
_ZONES = ("GMT", "UTC", "+0000", "-0000", "+0130", "-2359", "+9999", "EST", "", "Z")


def _now(src: Source) -> datetime | None:
    """A reading of the wall clock: none, naive, or aware at any offset, any year."""
    kind = src.below(4)
    if kind == 0:
        return None
    year = src.pick((1, 1970, 2026, 9999)) if src.flag() else 1 + src.below(9999)
    moment = datetime(year, 1 + src.below(12), 1 + src.below(28), src.below(24), src.below(60))
    if kind == 1:
        return moment
    minutes = src.below(24 * 60 * 2 - 1) - (24 * 60 - 1)
    return moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))


def _date_text(src: Source) -> str:
    """An HTTP-date-like text, often valid, often subtly not."""
    if src.flag():
        when = datetime(
            1 + src.below(9999),
            1 + src.below(12),
            1 + src.below(28),
            src.below(24),
            src.below(60),
            src.below(60),
            tzinfo=timezone.utc,
        )
        return email.utils.format_datetime(when, usegmt=True)
    day = src.pick((str(src.below(40)), "00", "-1", "999999"))
    year = src.pick((str(src.below(10000)), "99", "0", "-5", "1" * 30))
    clock = src.pick(("07:28:00", "25:61:61", "7:8", "", "xx:yy:zz", "23:59:60"))
    return " ".join(
        part
        for part in (
            src.pick(_WEEKDAYS) + src.pick((",", "")),
            day,
            src.pick(_MONTHS),
            year,
            clock,
            src.pick(_ZONES),
        )
        if part
    )


def _value(src: Source) -> str | bytes | None:
    kind = src.below(8)
    if kind == 0:
        return None
    if kind == 1:
        return src.blob(64)
    if kind == 2:
        return src.text(24)
    if kind == 3:
        return _date_text(src)
    if kind == 4:
        digits = "".join(str(src.below(10)) for _ in range(src.below(260)))
        if src.flag():
            digits += "." + "".join(str(src.below(10)) for _ in range(src.below(5)))
        return src.pick(("", " ", "\t", "\u3000")) + digits + src.pick(("", " ", "\r\n"))
    if kind == 5:
        return src.pick(("-5", "1.5e400", "inf", "nan", "", "/bar", "1e3", "+5", "0x10", "٣"))
    if kind == 6:
        return repr(src.number())
    return src.rest()


def _through_core(hint: float, src: Source) -> None:
    """A parsed hint handed to the core raises the next delay as the timing rules say."""
    policy = tarry.Policy(timeout=src.pick((0.0, 30.0, 3600.0)), backoff=tarry.Constant(1.0))
    machine = tarry.Machine(_SPEC, policy, random.Random(0))
    first = machine.start(0.0, retry_after=hint)
    left = 0.0 if machine.deadline is None else machine.deadline
    assert first.delay == min(hint, policy.max_retry_after, left), (hint, first)


_SPEC: tarry.Spec[str] = tarry.Spec("operation", state=lambda s: s, success={"DONE"})


def test_one_input(data: bytes) -> None:
    """Parse one Retry-After value from ``data`` against one ``now``; check the result."""
    src = Source(data)
    value = _value(src)
    now = _now(src)
    seconds = parse_retry_after(value, now)
    if seconds is None:
        return
    assert type(seconds) is float, f"{value!r} gave a {type(seconds).__name__}"
    assert math.isfinite(seconds), f"{value!r} gave {seconds}"
    assert seconds >= 0, f"{value!r} gave {seconds}"
    text = value.decode("ascii") if isinstance(value, bytes) else value
    assert text is not None
    stripped = text.strip()
    if stripped and all(c in "0123456789." for c in stripped) and stripped[0] != ".":
        assert seconds == float(stripped), f"{value!r} gave {seconds}"
    else:
        when = email.utils.parsedate_to_datetime(stripped)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        base = now if now is not None else None
        if base is not None:
            if base.tzinfo is None:
                base = base.replace(tzinfo=timezone.utc)
            expected = max((when - base).total_seconds(), 0.0)
            assert seconds == expected, f"{value!r} at {now} gave {seconds}, not {expected}"
    _through_core(seconds, src)


def main() -> None:
    from _runner import main as run

    run("fuzz_retry_after", test_one_input, instrument=("tarry", "email"))


if __name__ == "__main__":
    main()
