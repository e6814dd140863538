"""WriteQueue against real databases that go away for a while: nothing lost, order kept, spool used past
max_memory, a spool left behind is replayed exactly once by the next queue."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pytest
from peers import HANG_GUARD_S
from storage_backends import Backend, backend

from netmon.backlog import RetrySchedule
from netmon.model import DeviceState, StateChange, Status
from netmon.storage import Heartbeat, Record, StorageRejected, StorageUnavailable, Store, WriteQueue
from netmon.storage.codec import encode

__all__ = ["backend"]

T0 = 1_750_000_000.0


def fast_queue(factory: Callable[[], Store], spool: Path, max_memory: int, batch_size: int = 500) -> WriteQueue:
    return WriteQueue(factory, spool, max_memory=max_memory, batch_size=batch_size, flush_interval_s=0.02,
                      retry=RetrySchedule((0.02, 0.05, 0.1)))


def change(i: int, device: str = "ap") -> StateChange:
    new = Status.UP if i % 2 == 0 else Status.DOWN
    return StateChange(device, Status.DOWN if new is Status.UP else Status.UP, new, T0 + i, f"#{i}")


def state(i: int) -> DeviceState:
    return DeviceState("ap", Status.UP, T0 + i, consecutive_successes=i)


async def until(condition: Callable[[], bool], timeout_s: float = HANG_GUARD_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def assert_exactly_once_in_order(store: Store, n: int) -> None:
    changes = store.state_changes()  # ordered by time, then insertion id
    assert [c.reason for c in changes] == [f"#{i}" for i in range(n)]
    assert store.load_states() == [state(n - 1)]  # the newest DeviceState was written last


async def test_database_away_for_a_while_loses_nothing_and_keeps_order(
        backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    backend.upgraded().close()
    queue = fast_queue(backend.open, tmp_path / "spool", 20, 10)
    task = asyncio.create_task(queue.run())
    caplog.set_level(logging.INFO, logger="netmon.storage")
    for i in range(5):
        queue.put(change(i))
        queue.put(state(i))
    await until(lambda: queue.stats.written_total == 10)
    with backend.away():
        for i in range(5, 120):
            queue.put(change(i))
            queue.put(state(i))
            await asyncio.sleep(0.001)
        await until(lambda: queue.stats.failures_total >= 3 and queue.stats.spooled > 0)
        # max_memory is a soft bound (what arrives during one write attempt may exceed it, more so on a
        # loaded machine): the queue brings memory back under it while the database is still away
        await until(lambda: queue.stats.depth <= 20 + 10)
        assert not queue.stats.available
        assert sorted(p.name for p in (tmp_path / "spool").iterdir())[0].endswith("1.jsonl")
    await until(lambda: queue.stats.depth == 0 and queue.stats.spooled == 0)
    await queue.drain(HANG_GUARD_S)
    await task
    store = backend.open()
    assert_exactly_once_in_order(store, 120)
    store.close()
    stats = queue.stats
    assert stats.available and stats.written_total == 240 and stats.rejected_total == 0
    transitions = [r.getMessage() for r in caplog.records if r.name == "netmon.storage.queue"]
    assert sum("database lost" in m for m in transitions) == 1  # one log on loss, not one per retry
    assert sum("database back" in m for m in transitions) == 1
    assert list((tmp_path / "spool").iterdir()) == []


async def test_a_spool_left_behind_is_replayed_first_and_exactly_once(backend: Backend, tmp_path: Path) -> None:
    backend.upgraded().close()

    def never() -> Store:
        raise StorageUnavailable("database is away")

    first = fast_queue(never, tmp_path / "spool", 15, 8)
    run = asyncio.create_task(first.run())
    for i in range(50):
        first.put(change(i))
        first.put(state(i))
    await until(lambda: first.stats.spooled > 0)
    await first.drain(0.2)  # the database never came back: everything goes to the spool
    await run
    assert first.stats.depth == 0 and first.stats.spooled == 100 and first.stats.failures_total > 0

    second = fast_queue(backend.open, tmp_path / "spool", 15, 8)
    assert second.stats.spooled == 100
    for i in range(50, 60):  # newer records arrive while the old spool is still pending
        second.put(change(i))
        second.put(state(i))
    await second.drain(HANG_GUARD_S)
    assert second.stats.spooled == 0 and second.stats.depth == 0 and second.stats.written_total == 120

    third = fast_queue(backend.open, tmp_path / "spool", 15)
    assert third.stats.spooled == 0
    store = backend.open()
    assert_exactly_once_in_order(store, 60)
    store.close()


async def test_a_segment_written_before_a_crash_is_not_duplicated(backend: Backend, tmp_path: Path) -> None:
    """kill -9 between the commit and the segment's deletion: the replay re-writes it, idempotently."""
    store = backend.upgraded()
    records: list[Record] = [r for i in range(10) for r in (change(i), state(i))]
    store.write(records)
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / f"{1:020d}.jsonl").write_text("".join(encode(r) + "\n" for r in records))
    queue = fast_queue(backend.open, spool, 100)
    await queue.drain(HANG_GUARD_S)
    assert queue.stats.spooled == 0
    assert_exactly_once_in_order(store, 10)
    store.close()


async def test_a_store_factory_that_fails_for_a_while(backend: Backend, tmp_path: Path) -> None:
    backend.upgraded().close()
    calls = 0

    def flaky() -> Store:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise OSError("connection refused")
        return backend.open()

    queue = fast_queue(flaky, tmp_path / "spool", 100, 10)
    task = asyncio.create_task(queue.run())
    for i in range(30):
        queue.put(change(i))
        queue.put(state(i))
    await queue.drain(HANG_GUARD_S)
    await task
    assert calls == 4 and queue.stats.failures_total == 3 and "connection refused" in (queue.stats.last_error or "")
    store = backend.open()
    assert_exactly_once_in_order(store, 30)
    store.close()


class RejectingStore:
    """A store that refuses any batch holding a heartbeat at a negative time (a stand-in for a constraint)."""

    def __init__(self) -> None:
        self.rows: list[Record] = []

    def write(self, records: Sequence[Record]) -> None:
        if any(isinstance(r, Heartbeat) and r.at < 0 for r in records):
            raise StorageRejected("CHECK constraint failed")
        self.rows.extend(records)

    def close(self) -> None:
        pass


async def test_a_rejected_record_is_set_aside_and_the_rest_written_in_order(tmp_path: Path) -> None:
    fake = RejectingStore()
    queue = fast_queue(lambda: cast(Store, fake), tmp_path, 100, 16)
    records: list[Record] = [change(i) for i in range(20)]
    records.insert(7, Heartbeat(-1))
    for r in records:
        queue.put(r)
    await queue.drain(HANG_GUARD_S)
    assert fake.rows == [r for r in records if r != Heartbeat(-1)]
    assert queue.stats.rejected_total == 1
    [line] = (tmp_path / "rejected.jsonl").read_text().splitlines()
    assert json.loads(line)["record"] == {"type": "heartbeat", "at": -1}


def test_put_never_blocks_even_with_nothing_running(tmp_path: Path) -> None:
    # put is synchronous and the writer is not running: had put waited for the store (which fails the test if
    # opened) or for room in memory, this loop would never end. (How fast put is: benchmarks, not tests.)
    queue = WriteQueue(lambda: (_ for _ in ()).throw(AssertionError), tmp_path, max_memory=10)
    for i in range(10_000):
        queue.put(change(i))
    assert dataclasses.astuple(queue.stats)[:2] == (10_000, 0)
