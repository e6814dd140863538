"""Arithmetic on sets of time spans (pure): a `Spans` is a sorted tuple of disjoint half-open [start, end)
pairs of unix times."""

from __future__ import annotations

from collections.abc import Iterable

Spans = tuple[tuple[float, float], ...]


def union(spans: Iterable[tuple[float, float]]) -> Spans:
    """The sorted, merged union of `spans` (empty and inverted ones dropped)."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def clip(spans: Spans, start: float, end: float) -> Spans:
    return tuple((max(a, start), min(b, end)) for a, b in spans if b > start and a < end)


def intersect(a: Spans, b: Spans) -> Spans:
    out: list[tuple[float, float]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low < high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a: Spans, b: Spans) -> Spans:
    """What of `a` is not in `b`."""
    out: list[tuple[float, float]] = []
    j = 0
    for start, end in a:
        cursor = start
        while j < len(b) and b[j][1] <= cursor:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return tuple(out)


def length(spans: Spans) -> float:
    return sum(b - a for a, b in spans)
