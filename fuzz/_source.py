"""Turn fuzzer bytes into structured choices, with or without atheris.

Each fuzz target reads its input through a ``Source``: every call consumes a few bytes
and maps them onto a choice, so a mutated input makes a nearby different choice. An
exhausted source keeps answering with zeros (the first, plainest choice), so every
input, even an empty one, describes a complete scenario. Nothing here needs atheris:
the same bytes give the same scenario under the fuzzer, under pytest and under
hypothesis.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["SPECIAL_FLOATS", "Source"]

T = TypeVar("T")

SPECIAL_FLOATS: tuple[float, ...] = (
    0.0,
    -0.0,
    0.5,
    1.0,
    -1.0,
    1e-9,
    1e300,
    -1e300,
    1.7976931348623157e308,
    5e-324,
    math.inf,
    -math.inf,
    math.nan,
)
"""Values that break naive arithmetic: signed zeros, extremes, infinities, NaN."""


class Source:
    """A cursor over fuzzer bytes that answers questions with choices."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def exhausted(self) -> bool:
        return self._pos >= len(self._data)

    def byte(self) -> int:
        """One byte, 0 once the input is used up."""
        if self._pos >= len(self._data):
            return 0
        value = self._data[self._pos]
        self._pos += 1
        return value

    def uint(self, size: int) -> int:
        """An unsigned integer read from ``size`` bytes (little-endian)."""
        value = 0
        for shift in range(size):
            value |= self.byte() << (8 * shift)
        return value

    def below(self, n: int) -> int:
        """An integer in ``range(n)``."""
        if n <= 1:
            return 0
        size = 1 if n <= 256 else 2 if n <= 65536 else 4
        return self.uint(size) % n

    def pick(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def flag(self) -> bool:
        return bool(self.byte() & 1)

    def raw_float(self) -> float:
        """Any IEEE double, NaN and infinities included."""
        return float(struct.unpack("<d", self.uint(8).to_bytes(8, "little"))[0])

    def number(self) -> float:
        """A float that is often plain, sometimes extreme, now and then any double."""
        kind = self.below(5)
        if kind == 0:
            return float(self.below(100))
        if kind == 1:
            return self.uint(2) / 100.0
        if kind == 2:
            return self.pick(SPECIAL_FLOATS)
        if kind == 3:
            return float(self.uint(4)) * 10.0 ** (self.below(20) - 4)
        return self.raw_float()

    def span(self, limit: float) -> float:
        """A finite, non-negative float up to about ``limit``: a gap between clock readings."""
        kind = self.below(4)
        if kind == 0:
            return 0.0
        if kind == 1:
            return self.uint(2) / 100.0
        if kind == 2:
            return min(float(self.uint(4)), limit)
        return min(self.uint(2) / 65535.0 * limit, limit)

    def text(self, limit: int = 16) -> str:
        """A short string, any code points (surrogates included)."""
        size = self.below(limit + 1)
        return "".join(chr(self.uint(3) % 0x110000) for _ in range(size))

    def blob(self, limit: int = 64) -> bytes:
        """A short run of raw bytes."""
        size = self.below(limit + 1)
        return bytes(self.byte() for _ in range(size))

    def rest(self) -> bytes:
        """Every byte not consumed yet."""
        tail = self._data[self._pos :]
        self._pos = len(self._data)
        return tail
