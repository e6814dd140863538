"""What every benchmark prints the same way: plain-text tables, quantiles and the machine it ran on."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A title, a header and rows; the first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
              for row in cells[1:]]
    return "\n".join(lines)


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (NaN for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def machine(*extra: str) -> str:
    """CPUs, CPU model, kernel and Python, then `extra` (library versions), for the line under every report."""
    model = "?"
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "?")
    parts = [f"{os.cpu_count()} CPU ({model})", f"Linux {os.uname().release}", f"Python {sys.version.split()[0]}"]
    return ", ".join(parts + list(extra))
