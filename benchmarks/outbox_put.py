"""What `Outbox.put()` costs the event loop (docs/mqtt.md): 2000 puts of ~500-byte items into a fresh journal,
the loop yielding between puts so the batched fsync runs as in the daemon. Prints p50/p99/max per put.

    python -m benchmarks.outbox_put [--puts N] [--dir DIR]

(This was a timed assertion in the test suite; speed belongs here, where a loaded machine only makes a
figure worse instead of failing a test.)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import quantile, table
from netmon.outbox import Outbox


async def never(batch: list[dict[str, Any]]) -> None:
    await asyncio.Event().wait()  # nothing is delivered: only put() is measured


async def measure(spool: Path, puts: int) -> list[float]:
    box = Outbox("bench", spool, never)
    item = {"id": "x", "topic": "netmon/banyumas/kim-ketenger/router/state", "payload": "y" * 400}
    costs = []
    for _ in range(puts):
        started = time.perf_counter()
        box.put(item)
        costs.append(time.perf_counter() - started)
        await asyncio.sleep(0)
    return costs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--puts", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None, help="spool directory (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as spool:
        costs = asyncio.run(measure(Path(spool), args.puts))
    us = [c * 1e6 for c in costs]
    print(table(f"Outbox.put(), {args.puts} puts", ["", "p50 µs", "p99 µs", "max µs"],
                [["put", f"{quantile(us, 0.5):.0f}", f"{quantile(us, 0.99):.0f}", f"{max(us):.0f}"]]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
