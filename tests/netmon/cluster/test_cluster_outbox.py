"""ClusterOutbox on the real PostgreSQL: the leader delivers every node's items in order and they leave the shared
journal; a new instance delivers only what was not acknowledged; only the leader delivers, and a new leader
takes over where the old one stopped; a deposed leader's late ack leaves the new leader's claims alone; items put
while the database is away wait in the local spool (also across a restart) and are delivered once it is back.
Leases are real rows (ClusterStore); `leading()` is a fake that reads them, so a test decides who leads. The
retry schedule and poll interval are injected and short; waits end on conditions (HANG_GUARD_S only stops a
hung test), never on elapsed time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from cluster_database import Database, database_away
from peers import HANG_GUARD_S

from netmon.backlog import RetrySchedule
from netmon.cluster.outbox import ClusterOutbox
from netmon.cluster.record import LEADER, Lease
from netmon.outbox import JOURNAL
from netmon.storage.cluster import ClusterStore
from netmon.storage.outbox import OutboxTable

Item = dict[str, Any]
FAST = RetrySchedule((0.02, 0.05), jitter=0.0)




class Leadership:
    """The real leader lease (long ttl), handed from node to node by the test."""

    def __init__(self, url: str) -> None:
        self._cluster = ClusterStore.open(url, timeout_s=2.0)
        self.lease: Lease | None = None

    def give(self, node: str | None) -> None:
        if self.lease is not None:
            self._cluster.release(self.lease)
            self.lease = None
        if node is not None:
            self.lease = self._cluster.acquire(LEADER, node, 600.0, margin_s=1.0)
            assert self.lease is not None

    def of(self, node: str) -> Any:
        return lambda: self.lease.term if self.lease is not None and self.lease.holder == node else None

    def close(self) -> None:
        self._cluster.close()


class Destination:
    """Records delivered items; fails the next `fail` calls; waits for `gate` (when set up) before accepting."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.items: list[Item] = []
        self.gate: asyncio.Event | None = None
        self.waiting = asyncio.Event()

    @property
    def ids(self) -> list[Any]:
        return [item["id"] for item in self.items]

    async def __call__(self, batch: list[Item]) -> None:
        if self.gate is not None:
            self.waiting.set()
            await self.gate.wait()
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("destination away")
        self.items.extend(batch)


class Threads:
    """asyncio.to_thread that counts the calls still running in their thread (a cancelled await leaves its
    thread running: an append the outbox gave up on may still commit)."""

    def __init__(self) -> None:
        self.running = 0
        self._lock = threading.Lock()

    async def __call__(self, fn: Callable[[], Any]) -> Any:
        def call() -> Any:
            try:
                return fn()
            finally:
                with self._lock:
                    self.running -= 1

        with self._lock:
            self.running += 1
        return await asyncio.to_thread(call)


async def wait_for(predicate: Any) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(box: ClusterOutbox, drain_s: float = 5.0) -> AsyncIterator[ClusterOutbox]:
    task = asyncio.create_task(box.run())
    try:
        yield box
    finally:
        await box.drain(drain_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def outbox(tmp_path: Path, node: str, dest: Destination, table: OutboxTable, lead: Leadership,
           batch: int = 7) -> ClusterOutbox:
    return ClusterOutbox("notify", tmp_path / node, dest, table, lead.of(node), batch=batch, poll_s=0.02,
                         retry=FAST)


async def test_the_leader_delivers_its_items_in_order_and_they_leave_the_shared_journal(
        database: Database, tmp_path: Path) -> None:
    table, lead = OutboxTable.open(database.url, node_id="a"), Leadership(database.url)
    lead.give("a")
    dest = Destination()
    async with running(outbox(tmp_path, "a", dest, table, lead)) as box:
        for i in range(40):
            box.put({"id": i, "text": "Perangkat kim-001-ap mati"})
        await wait_for(lambda: len(dest.items) >= 40)
        await wait_for(lambda: box.stats.pending == 0)
    assert dest.ids == list(range(40))
    assert table.pending("notify") == []
    assert box.stats.delivered_total == 40 and box.stats.available
    lead.close()
    table.close()


async def test_a_new_instance_delivers_only_what_the_last_one_did_not_acknowledge(
        database: Database, tmp_path: Path) -> None:
    table, lead = OutboxTable.open(database.url, node_id="a"), Leadership(database.url)
    lead.give("a")
    first: list[Item] = []

    async def two_batches_then_away(batch: list[Item]) -> None:
        if len(first) >= 10:
            raise ConnectionError("destination away")
        first.extend(batch)

    box = ClusterOutbox("notify", tmp_path / "a", two_batches_then_away, table, lead.of("a"), batch=5, poll_s=0.02,
                        retry=FAST)
    for i in range(20):
        box.put({"id": i})
    async with running(box, drain_s=0.3):  # gives up on the destination: what is left stays in the journal
        await wait_for(lambda: box.stats.failures_total >= 2)
    assert [item["id"] for item in first] == list(range(10))
    assert [item["id"] for _s, item, _t in table.pending("notify")] == list(range(10, 20))
    again = Destination()
    async with running(outbox(tmp_path, "a", again, table, lead, batch=5)) as box2:
        await wait_for(lambda: len(again.items) >= 10)
    assert again.ids == list(range(10, 20)) and box2.stats.delivered_total == 10
    assert table.pending("notify") == []
    lead.close()
    table.close()


async def test_only_the_leader_delivers_and_a_new_leader_goes_on_in_order(database: Database, tmp_path: Path) -> None:
    table_a, table_b = OutboxTable.open(database.url, node_id="a"), OutboxTable.open(database.url, node_id="b")
    lead = Leadership(database.url)
    lead.give("a")
    dest_a, dest_b = Destination(), Destination()
    async with running(outbox(tmp_path, "a", dest_a, table_a, lead)) as a, \
            running(outbox(tmp_path, "b", dest_b, table_b, lead)) as b:
        for i in range(10):
            a.put({"id": f"a{i}"})
            b.put({"id": f"b{i}"})
        await wait_for(lambda: len(dest_a.items) >= 20 and a.stats.pending == 0)  # and acknowledged
        lead.give(None)  # a stops leading; nobody leads for a while: items wait in the shared journal
        for i in range(10, 20):
            a.put({"id": f"a{i}"})
            b.put({"id": f"b{i}"})
        await wait_for(lambda: len(table_a.pending("notify")) == 20)
        lead.give("b")
        b.retry_now()  # what on_leader would do
        await wait_for(lambda: len(dest_b.items) >= 20)
        await wait_for(lambda: table_a.pending("notify") == [])
    assert dest_b.items and not [i for i in dest_a.ids if i in dest_b.ids]  # nothing twice
    for node in "ab":  # each node's items in its put order, every one delivered once
        assert [i for i in dest_a.ids + dest_b.ids if i.startswith(node)] == [f"{node}{n}" for n in range(20)]
    assert dest_b.ids[0] in ("a10", "b10")  # the new leader started where the old one had stopped
    lead.close()
    table_a.close()
    table_b.close()


async def test_a_deposed_leaders_late_ack_leaves_the_new_leaders_claims_alone(
        database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="netmon.cluster.outbox")
    table_a, table_b = OutboxTable.open(database.url, node_id="a"), OutboxTable.open(database.url, node_id="b")
    lead = Leadership(database.url)
    lead.give("a")
    dest_a, dest_b = Destination(), Destination()
    dest_a.gate, dest_b.gate = asyncio.Event(), asyncio.Event()
    async with running(outbox(tmp_path, "a", dest_a, table_a, lead, batch=4)) as a, \
            running(outbox(tmp_path, "b", dest_b, table_b, lead, batch=4)) as b:
        for i in range(6):
            a.put({"id": i})
        await dest_a.waiting.wait()  # a's deliver of 0..3 is under way ...
        lead.give("b")  # ... when b takes over (a was stalled past its lease)
        b.retry_now()
        await dest_b.waiting.wait()  # b claimed 0..3 in its term and is delivering them
        claimed = table_b.pending("notify")
        assert lead.lease is not None
        assert [(item["id"], term) for _s, item, term in claimed][:4] == [(i, lead.lease.term) for i in range(4)]
        dest_a.gate.set()  # a's deliver returns late and a acks in its old term
        await wait_for(lambda: a.stats.delivered_total == 4 and not a._owed)
        assert table_b.pending("notify") == claimed  # b's claims untouched
        assert "4 delivered items were claimed by a later leader term" in caplog.text
        dest_b.gate.set()
        await wait_for(lambda: len(dest_b.items) >= 6)
        await wait_for(lambda: table_b.pending("notify") == [])
    assert dest_a.ids == [0, 1, 2, 3]  # the one batch delivered twice: deposed while delivering, before its ack
    assert dest_b.ids == [0, 1, 2, 3, 4, 5]
    lead.close()
    table_a.close()
    table_b.close()


async def test_items_put_while_the_database_is_away_wait_locally_also_across_a_restart_and_arrive_once(
        database: Database, tmp_path: Path) -> None:
    table, lead = OutboxTable.open(database.url, node_id="a", timeout_s=1.0), Leadership(database.url)
    lead.give("a")
    dest = Destination()
    threads = Threads()
    box = ClusterOutbox("notify", tmp_path / "a", dest, table, lead.of("a"), batch=7, poll_s=0.02, retry=FAST,
                        run_blocking=threads)
    task = asyncio.create_task(box.run())
    box.put({"id": 0})
    await wait_for(lambda: dest.ids == [0] and box.stats.pending == 0)  # delivered and acknowledged
    with database_away(database):
        for i in range(1, 11):
            box.put({"id": i})
        await wait_for(lambda: not box.stats.available)
        await box.drain(0.3)  # the node stops while the database is away: its spool keeps the items
        await task
        await wait_for(lambda: threads.running == 0)  # no append given up on may commit once it is back
    assert box.stats.pending == 10 and dest.ids == [0]
    spooled = [line for line in (tmp_path / "a" / JOURNAL).read_text().splitlines() if '"i":' in line]
    assert len(spooled) == 11  # 1..10 in the local spool's journal (and 0, acknowledged by the shared journal)
    restarted = outbox(tmp_path, "a", dest, table, lead)  # the same node again, the database back
    async with running(restarted) as box:
        box.put({"id": 11})
        await wait_for(lambda: len(dest.items) >= 12)
        await wait_for(lambda: box.stats.pending == 0 and box.stats.available)
    assert dest.ids == list(range(12))
    assert table.pending("notify") == []
    lead.close()
    table.close()


async def test_an_ack_that_meets_the_database_away_is_written_once_it_is_back_and_nothing_is_sent_twice(
        database: Database, tmp_path: Path) -> None:
    table, lead = OutboxTable.open(database.url, node_id="a", timeout_s=1.0), Leadership(database.url)
    lead.give("a")
    away = contextlib.ExitStack()
    delivered: list[Item] = []

    async def deliver_then_lose_the_database(batch: list[Item]) -> None:
        delivered.extend(batch)
        if len(delivered) == len(batch):  # the first batch: the database goes before its ack is written
            away.enter_context(database_away(database))

    box = ClusterOutbox("notify", tmp_path / "a", deliver_then_lose_the_database, table, lead.of("a"), batch=3,
                        poll_s=0.02, retry=FAST)
    async with running(box):
        for i in range(3):
            box.put({"id": i})
        await wait_for(lambda: not box.stats.available)  # the ack failed: owed
        for i in range(3, 6):
            box.put({"id": i})  # and these wait in the spool
        assert [item["id"] for item in delivered] == [0, 1, 2]
        away.close()
        await wait_for(lambda: len(delivered) >= 6 and box.stats.pending == 0)
    assert [item["id"] for item in delivered] == list(range(6))
    assert table.pending("notify") == []
    lead.close()
    table.close()
