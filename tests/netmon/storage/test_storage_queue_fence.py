"""The WriteQueue's write fence (netmon.storage.queue): each record keeps the fence it was put under, in memory
and in the spool; a batch holds one fence; a leader's records that another node's leadership has overtaken
while the database was away are dropped when it is back, also after a restart that replays the spool, and
written when nobody else led meanwhile. Against real SQLite and PostgreSQL, plus a recording fake for the
batching. The queue's retry wait is a gate the test opens: nothing depends on timing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pytest
from peers import HANG_GUARD_S
from storage_backends import Backend, backend
from test_storage_fence import acquire, change, cluster, expire, reasons
from test_storage_queue import until

from netmon.backlog import RetrySchedule
from netmon.cluster.record import WriteFence
from netmon.storage import Heartbeat, Record, StorageUnavailable, Store, WriteQueue

__all__ = ["backend"]

T0 = 1_750_000_000.0
A1 = WriteFence("office-a", 1)
A2 = WriteFence("office-a", 2)


class Leading:
    """The producer's fence now (the app reads its cluster member): set by the test."""

    def __init__(self, fence: WriteFence | None = None) -> None:
        self.fence = fence

    def __call__(self) -> WriteFence | None:
        return self.fence


class Gate:
    """The queue's retry wait (its injected sleep): over only once the test opens it."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.waits = 0

    async def sleep(self, _seconds: float) -> None:
        self.waits += 1
        await self.opened.wait()


class RecordingStore:
    """Keeps every batch it is given, with its fence."""

    def __init__(self) -> None:
        self.batches: list[tuple[WriteFence | None, list[str]]] = []

    def write(self, records: Sequence[Record], *, fence: WriteFence | None = None) -> None:
        self.batches.append((fence, [getattr(r, "reason", "") for r in records]))

    def close(self) -> None:
        pass


def never() -> Store:
    raise StorageUnavailable("database is away")


def put_runs(queue: WriteQueue, leading: Leading, runs: Sequence[tuple[WriteFence | None, int]]) -> None:
    i = 0
    for fence, count in runs:
        leading.fence = fence
        for _ in range(count):
            queue.put(change(i))
            i += 1


RUNS = [(None, 3), (A1, 4), (None, 2), (A2, 13)]
# batch_size 10: a batch never spans two fences, and order is kept
BATCHES = [(None, ["#0", "#1", "#2"]), (A1, ["#3", "#4", "#5", "#6"]), (None, ["#7", "#8"]),
           (A2, [f"#{i}" for i in range(9, 19)]), (A2, ["#19", "#20", "#21"])]


async def test_batches_in_memory_never_mix_fences_and_keep_their_order(tmp_path: Path) -> None:
    fake = RecordingStore()
    leading = Leading()
    queue = WriteQueue(lambda: cast(Store, fake), tmp_path, max_memory=100, batch_size=10, fence=leading)
    put_runs(queue, leading, RUNS)
    await queue.drain(HANG_GUARD_S)
    assert fake.batches == BATCHES
    assert queue.stats.written_total == 22 and queue.stats.depth == 0


async def test_the_spool_keeps_each_records_fence_for_the_next_run(tmp_path: Path) -> None:
    leading = Leading()
    first = WriteQueue(never, tmp_path, max_memory=100, batch_size=10, fence=leading)
    put_runs(first, leading, RUNS)
    await first.drain(0.1)  # the database never came back: everything goes to the spool
    assert first.stats.spooled == 22
    segments = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    assert [name.split(".", 1)[1] for name in segments] == ["jsonl", "fenced.jsonl", "jsonl", "fenced.jsonl",
                                                            "fenced.jsonl"]
    header = json.loads((tmp_path / segments[1]).read_text().splitlines()[0])
    assert header == {"fence": {"holder": "office-a", "term": 1}}
    assert "fence" not in (tmp_path / segments[0]).read_text()  # an unfenced segment is as it always was

    fake = RecordingStore()
    second = WriteQueue(lambda: cast(Store, fake), tmp_path, max_memory=100, batch_size=10)  # no fence of its own
    assert second.stats.spooled == 22
    await second.drain(HANG_GUARD_S)
    assert fake.batches == BATCHES
    assert list(tmp_path.glob("*.jsonl")) == []


async def test_records_queued_while_the_database_was_away_are_dropped_once_another_node_has_led(
        backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = backend.upgraded()
    leases = cluster(backend)
    leading = Leading(WriteFence("office-a", acquire(leases, "office-a")))
    gate = Gate()
    queue = WriteQueue(backend.open, tmp_path / "spool", max_memory=1000, batch_size=10, flush_interval_s=0.02,
                       retry=RetrySchedule((0.02,)), sleep=gate.sleep, fence=leading)
    caplog.set_level(logging.INFO, logger="netmon.storage")
    task = asyncio.create_task(queue.run())
    for i in range(5):
        queue.put(change(i))
    await until(lambda: queue.stats.written_total == 5)  # written while office-a leads
    with backend.away():
        for i in range(5, 30):
            queue.put(change(i))
        await until(lambda: gate.waits >= 1)  # a write failed: the queue waits to retry
    leading.fence = None  # office-a's deadline passed: it stops leading; its queue still holds 25 records
    expire(backend)
    acquire(leases, "office-b")
    queue.put(Heartbeat(T0))  # not a leader's record: unfenced
    gate.opened.set()
    await until(lambda: queue.stats.depth == 0)
    await queue.drain(HANG_GUARD_S)
    await task
    assert reasons(store) == [f"#{i}" for i in range(5)]  # none of the 25
    assert store.last_heartbeat() == T0
    stats = queue.stats
    assert (stats.fenced_total, stats.written_total, stats.rejected_total, stats.spooled) == (25, 6, 0, 0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "fence" in r.getMessage()]
    assert len(warnings) == 1 and "dropped 10 records" in warnings[0] and "office-a" in warnings[0]
    leases.close()
    store.close()


@pytest.mark.parametrize(("meanwhile", "written"), [
    pytest.param("office-b", False, id="another-node-led-dropped"),
    pytest.param("office-a", True, id="same-node-reacquired-written"),
])
async def test_a_spool_replayed_after_a_restart_is_fenced_too(backend: Backend, tmp_path: Path, meanwhile: str,
                                                              written: bool) -> None:
    store = backend.upgraded()
    leases = cluster(backend)
    leading = Leading()
    first = WriteQueue(never, tmp_path, max_memory=100, batch_size=10, fence=leading)
    first.put(Heartbeat(T0))  # before leading: unfenced
    leading.fence = WriteFence("office-a", acquire(leases, "office-a"))
    for i in range(20):
        first.put(change(i))
    await first.drain(0.1)  # office-a dies with its writes in the spool
    assert first.stats.spooled == 21
    expire(backend)
    acquire(leases, meanwhile)
    if meanwhile != "office-a":
        expire(backend)
        acquire(leases, "office-a")  # office-a restarted and leads again, but someone led between

    second = WriteQueue(backend.open, tmp_path, max_memory=100, batch_size=10)
    await second.drain(HANG_GUARD_S)
    assert reasons(store) == ([f"#{i}" for i in range(20)] if written else [])
    assert store.last_heartbeat() == T0
    assert (second.stats.written_total, second.stats.fenced_total) == ((21, 0) if written else (1, 20))
    assert list(tmp_path.glob("*.jsonl")) == []
    leases.close()
    store.close()
