"""Compact sets of partitions: sorted, disjoint, half-open integer ranges.

A partitioned asset's partitions are numbered ``0 .. n-1`` in key order (see
:mod:`lockgate.federation.partitions.definitions`); a subset of them is a :class:`Ranges`. A daily
asset with three years of history and two gaps is three ranges, not 1,095 keys, and every set
operation is one linear merge over ranges. An unpartitioned asset is the universe ``[0, 1)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

Span = tuple[int, int]


def _normalise(spans: Iterable[Span]) -> tuple[Span, ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(s for s in spans if s[0] < s[1]):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


@dataclass(frozen=True, slots=True)
class Ranges:
    """An immutable set of non-negative integers stored as half-open ``(lo, hi)`` spans."""

    spans: tuple[Span, ...] = ()

    @classmethod
    def of(cls, spans: Iterable[Span]) -> Ranges:
        return cls(_normalise(spans))

    @classmethod
    def span(cls, lo: int, hi: int) -> Ranges:
        return cls(((lo, hi),) if lo < hi else ())

    @classmethod
    def from_ints(cls, values: Iterable[int]) -> Ranges:
        spans: list[Span] = []
        for v in sorted(set(values)):
            if spans and spans[-1][1] == v:
                spans[-1] = (spans[-1][0], v + 1)
            else:
                spans.append((v, v + 1))
        return cls(tuple(spans))

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __len__(self) -> int:
        return sum(hi - lo for lo, hi in self.spans)

    def __iter__(self) -> Iterator[int]:
        for lo, hi in self.spans:
            yield from range(lo, hi)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and any(lo <= value < hi for lo, hi in self.spans)

    def __or__(self, other: Ranges) -> Ranges:
        if not other.spans:
            return self
        if not self.spans:
            return other
        return Ranges(_normalise(self.spans + other.spans))

    def __and__(self, other: Ranges) -> Ranges:
        a, b = self.spans, other.spans
        if not a or not b:
            return EMPTY
        out: list[Span] = []
        i = j = 0
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if lo < hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return Ranges(tuple(out))

    def __sub__(self, other: Ranges) -> Ranges:
        if not self.spans or not other.spans:
            return self
        return self & other.complement(self.spans[-1][1], self.spans[0][0])

    def complement(self, size: int, start: int = 0) -> Ranges:
        """``[start, size)`` minus this set."""
        out: list[Span] = []
        pos = start
        for lo, hi in self.spans:
            if hi <= pos:
                continue
            if lo >= size:
                break
            if lo > pos:
                out.append((pos, lo))
            pos = max(pos, hi)
        if pos < size:
            out.append((pos, size))
        return Ranges(tuple(out))

    def clip(self, size: int) -> Ranges:
        """This set restricted to ``[0, size)``."""
        if not self.spans or self.spans[-1][1] <= size:
            return self
        return self & Ranges.span(0, size)

    def shift(self, offset: int) -> Ranges:
        return Ranges(tuple((max(lo + offset, 0), hi + offset) for lo, hi in self.spans if hi + offset > 0))

    def first(self) -> int | None:
        return self.spans[0][0] if self.spans else None

    def last(self) -> int | None:
        return self.spans[-1][1] - 1 if self.spans else None


EMPTY = Ranges()
