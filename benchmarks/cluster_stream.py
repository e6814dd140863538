"""The result stream of a cluster (issue #16): how many poll results a second go from the nodes to the leader's
pipeline through PostgreSQL, against the least the database must do to move the same rows.

    python -m benchmarks.cluster_stream [--results 20000] [--postgres postgres@127.0.0.1:5432]

Everything is real but the polls, which are replayed: one real SNMP poll of the "standard access point"
(benchmarks/snmp_agent.py, 10 interfaces) through `SnmpCollector` is the template (benchmarks/agent_ingest.py
`Replay`: each result with its own device id and time, counters advanced). A fresh database on the server,
migrated by netmon.

1. baseline, measured first in the same run: the results' JSON bodies (`netmon.wire.result_body`) inserted
   into `outbox_items` 500 to a statement, then read back and deleted 500 at a time: the database work of
   moving the rows through a table, with nothing else.
2. stream, in two timed parts so each side's cost is its own: a follower node's `ResultStream` puts every
   result (its local spool, appended to the shared journal in batches) while nobody leads, timed until the
   journal holds them all; then the leader's `ResultStream` claims them in its term, decodes each back into a
   `PollResult`, hands it to a pipeline that counts it and acknowledges the batch, timed until the journal is
   empty. Both nodes in this process, the database calls in worker threads, as in the daemon.

It prints results/s for the baseline and the stream, their ratio, the CPU per result of each side, the bytes of
one result, and what the leader's part costs at the rate of 30,000 devices at a 60 s interval (500 results/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.agent_ingest import Replay, template_result
from benchmarks.daemon_peers import postgres_database
from netmon import wire
from netmon.cluster.outbox import ClusterOutbox
from netmon.cluster.record import LEADER
from netmon.cluster.results import NAME, ResultStream
from netmon.model import PollResult
from netmon.storage import Store
from netmon.storage import schema as t
from netmon.storage.cluster import ClusterStore
from netmon.storage.outbox import OutboxTable

FLEET_RATE = 30_000 / 60.0  # results/s of 30,000 devices at 60 s
BATCH = 500
HANG_S = 1800.0  # a stream that stops moving fails the run instead of hanging it


@dataclass(frozen=True)
class Figures:
    results: int
    bytes_per_result: float
    baseline_s: float
    put_s: float  # the follower's part: put, spool, append to the shared journal
    put_cpu_s: float
    lead_s: float  # the leader's part: claim, decode, hand on, acknowledge
    lead_cpu_s: float

    @property
    def baseline_rate(self) -> float:
        return self.results / self.baseline_s

    @property
    def stream_rate(self) -> float:
        """Results/s through both parts, one after the other (on separate machines they overlap)."""
        return self.results / (self.put_s + self.lead_s)


def results(template: PollResult, count: int, seed: int = 7) -> list[PollResult]:
    replay = Replay(template, seed)
    start = 1_780_000_000.0
    return [replay.result(f"kim-{i % 3000:04d}-ap", start + 60.0 * (i // 3000) + (i % 3000) * 0.02)
            for i in range(count)]


def baseline(url: str, bodies: list[str]) -> float:
    engine = sa.create_engine(url)
    c = t.outbox_items.c
    began = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(bodies), BATCH):
            conn.execute(sa.insert(t.outbox_items), [{"outbox": "baseline", "item": body, "origin": "a",
                                                      "created_at": 0.0} for body in bodies[i:i + BATCH]])
    while True:
        with engine.begin() as conn:
            rows = conn.execute(sa.select(c.seq, c.item).where(c.outbox == "baseline").order_by(c.seq)
                                .limit(BATCH)).all()
            if not rows:
                break
            for row in rows:
                json.loads(row.item)
            conn.execute(sa.delete(t.outbox_items).where(c.seq.in_([r.seq for r in rows])))
    took = time.perf_counter() - began
    engine.dispose()
    return took


async def stream(url: str, polled: list[PollResult], work: Path) -> tuple[float, float, float, float]:
    """(follower's seconds, its CPU seconds, leader's seconds, its CPU seconds): first the follower alone puts
    every result and its spool appends them to the shared journal (nobody leads); then the leader claims, hands
    on and acknowledges them all."""
    cluster = ClusterStore.open(url, timeout_s=10.0)
    handed: list[int] = [0]
    done = asyncio.Event()
    lease: list[Any] = [None]

    def pipeline(_result: PollResult) -> None:
        handed[0] += 1
        if handed[0] == len(polled):
            done.set()

    def durable(call: Callable[[], None]) -> None:
        call()

    def leading_as(node: str) -> Callable[[], int | None]:
        return lambda: lease[0].term if node == "leader" and lease[0] is not None else None

    tables = {n: OutboxTable.open(url, node_id=n, timeout_s=10.0) for n in ("leader", "follower")}
    streams = {n: ResultStream(n, 1.0, pipeline, durable) for n in tables}
    boxes = {n: ClusterOutbox(NAME, work / n, streams[n].deliver, tables[n], leading_as(n), batch=BATCH,
                              poll_s=0.05) for n in tables}
    for n, box in boxes.items():
        streams[n].attach(box)
    tasks = [asyncio.create_task(box.run()) for box in boxes.values()]
    cpu0, began = time.process_time(), time.perf_counter()
    for i, result in enumerate(polled):
        streams["follower"].put(result)
        if i % BATCH == 0:
            await asyncio.sleep(0)  # the spool appends while the puts go on, as polls arrive in the daemon
    await _until(lambda: not boxes["follower"].stats.pending)
    put_s, put_cpu = time.perf_counter() - began, time.process_time() - cpu0
    lease[0] = cluster.acquire(LEADER, "leader", 3600.0, margin_s=1.0)
    cpu0, began = time.process_time(), time.perf_counter()
    boxes["leader"].retry_now()
    await asyncio.wait_for(done.wait(), HANG_S)
    await _until(lambda: not boxes["leader"].stats.pending)
    lead_s, lead_cpu = time.perf_counter() - began, time.process_time() - cpu0
    for box in boxes.values():
        await box.drain(5.0)
    for task in tasks:
        task.cancel()
    for table in tables.values():
        table.close()
    cluster.close()
    return put_s, put_cpu, lead_s, lead_cpu


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(HANG_S):
        while not condition():
            await asyncio.sleep(0.01)


def run(count: int, server: str, work: Path, *, say: Callable[[str], None] = print) -> Figures:
    say(f"template: one real SNMP poll of the standard access point; {count} results")
    polled = results(template_result(work), count)
    bodies = [json.dumps(wire.result_body(r), separators=(",", ":")) for r in polled]
    with postgres_database(server) as url:
        store = Store.open(url)
        store.upgrade()
        store.close()
        base = baseline(url, bodies)
        say(f"baseline (insert 500 a statement, read and delete 500 at a time): {base:.2f} s")
        put_s, put_cpu, lead_s, lead_cpu = asyncio.run(stream(url, polled, work))
        say(f"follower (put, spool, append to the shared journal): {put_s:.2f} s, CPU {put_cpu:.2f} s")
        say(f"leader (claim, decode, hand on, acknowledge): {lead_s:.2f} s, CPU {lead_cpu:.2f} s")
    return Figures(count, sum(map(len, bodies)) / count, base, put_s, put_cpu, lead_s, lead_cpu)


def report(f: Figures, say: Callable[[str], None] = print) -> None:
    say(f"one result: {f.bytes_per_result:.0f} bytes of JSON")
    say(f"baseline: {f.baseline_rate:,.0f} results/s; stream: {f.stream_rate:,.0f} results/s "
        f"({f.stream_rate / f.baseline_rate:.2f}x the baseline)")
    per = 1e3 / f.results
    say(f"CPU per result: follower {per * f.put_cpu_s:.2f} ms, leader {per * f.lead_cpu_s:.2f} ms")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"a fleet of 30,000 devices at 60 s needs {FLEET_RATE:.0f} results/s: the leader's part alone takes "
        f"{FLEET_RATE * f.lead_cpu_s / f.results:.2f} of a core for it, each node's own puts "
        f"{1e3 * f.put_cpu_s / f.results:.2f} ms per result; peak RSS {rss_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--postgres", default="postgres@127.0.0.1:5432", metavar="USER@HOST:PORT")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        report(run(args.results, args.postgres, Path(work)))


if __name__ == "__main__":
    main()
