"""The durable outbox: order, retry with backoff, replay after restart, compaction, a failing journal."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from peers import HANG_GUARD_S

from netmon.backlog import RetrySchedule
from netmon.errors import ConfigError
from netmon.outbox import JOURNAL, Outbox, PartialDelivery

Item = dict[str, Any]


class Destination:
    """Records delivered batches; fails the next `fail` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.batches: list[list[Item]] = []
        self.calls = 0
        self.got = asyncio.Event()

    @property
    def ids(self) -> list[int]:
        return [item["id"] for batch in self.batches for item in batch]

    async def __call__(self, batch: list[Item]) -> None:
        self.calls += 1
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("destination away")
        self.batches.append(list(batch))
        self.got.set()


async def wait_for(predicate: Any, timeout_s: float = HANG_GUARD_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def journal_lines(spool: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (spool / JOURNAL).read_text().splitlines() if line.strip()]


async def test_items_are_delivered_in_put_order_in_batches(tmp_path: Path) -> None:
    dest = Destination()
    box = Outbox("t", tmp_path, dest, batch=3)
    for i in range(10):
        box.put({"id": i})
    await box.drain(HANG_GUARD_S)
    assert dest.ids == list(range(10))
    assert [len(b) for b in dest.batches] == [3, 3, 3, 1]
    assert box.stats.pending == 0 and box.stats.delivered_total == 10 and box.stats.available


async def test_failing_deliver_probes_with_the_oldest_item_then_sends_full_batches_and_logs_only_transitions(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dest = Destination(fail=4)
    box = Outbox("t", tmp_path, dest, batch=2, retry=RetrySchedule((0.01, 0.02, 0.05)))
    caplog.set_level(logging.INFO, logger="netmon.outbox")
    runner = asyncio.create_task(box.run())
    for i in range(5):
        box.put({"id": i})
    await wait_for(lambda: box.stats.delivered_total == 5)
    await box.drain(1)
    await runner
    assert dest.ids == [0, 1, 2, 3, 4]
    assert [[i["id"] for i in b] for b in dest.batches] == [[0], [1, 2], [3, 4]]  # the probe, then full batches
    assert dest.calls == 4 + 3
    stats = box.stats
    assert stats.failures_total == 4 and stats.available and stats.last_error == "ConnectionError: destination away"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("destination lost" in m for m in messages) == 1
    assert sum("destination back" in m for m in messages) == 1
    assert any("retrying after 0.01, 0.02 s, then every 0.05 s" in m for m in messages)


class VirtualSleep:
    """An injected sleep: records what the outbox asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def test_retries_follow_the_bounded_schedule_with_small_jitter(tmp_path: Path) -> None:
    sleep = VirtualSleep()
    dest = Destination(fail=9)
    box = Outbox("t", tmp_path, dest, sleep=sleep, rng=random.Random(7))
    runner = asyncio.create_task(box.run())
    box.put({"id": 1})
    await wait_for(lambda: box.stats.delivered_total == 1)
    await box.drain(HANG_GUARD_S)
    await runner
    assert dest.ids == [1]
    assert len(sleep.waits) == 9
    schedule = [1, 2, 5, 10, 15, 30, 30, 30, 30]
    for wait, base in zip(sleep.waits, schedule, strict=True):
        assert base * 0.9 <= wait <= base * 1.1, (wait, base)
    assert sleep.waits != schedule  # jittered, so restarted daemons do not retry in step
    assert sum(sleep.waits) <= sum(schedule) * 1.1  # never minutes of silence


def test_retry_schedule_is_validated() -> None:
    with pytest.raises(ConfigError):
        RetrySchedule(())
    with pytest.raises(ConfigError):
        RetrySchedule((1.0, 0.0))
    with pytest.raises(ConfigError):
        RetrySchedule(jitter=1.5)
    assert RetrySchedule().longest_s == pytest.approx(33.0)


async def test_new_items_do_not_cut_the_backoff_short_but_retry_now_does(tmp_path: Path) -> None:
    dest = Destination(fail=1)
    box = Outbox("t", tmp_path, dest, retry=RetrySchedule((30.0,), jitter=0.0))
    runner = asyncio.create_task(box.run())
    box.put({"id": 0})
    await wait_for(lambda: dest.calls == 1)
    for i in range(1, 20):
        box.put({"id": i})
        await asyncio.sleep(0.005)
    assert dest.calls == 1  # still backing off
    box.retry_now()  # e.g. the broker is back
    await wait_for(lambda: box.stats.delivered_total == 20)
    await box.drain(1)
    await runner
    assert dest.ids == list(range(20))


async def test_partial_delivery_acknowledges_the_delivered_head(tmp_path: Path) -> None:
    seen: list[list[int]] = []

    async def deliver(batch: list[Item]) -> None:
        seen.append([i["id"] for i in batch])
        if len(seen) == 1:
            raise PartialDelivery(2, "connection lost after two")

    box = Outbox("t", tmp_path, deliver, batch=5, retry=RetrySchedule((0.01,)))
    for i in range(5):
        box.put({"id": i})
    await box.drain(HANG_GUARD_S)
    assert seen == [[0, 1, 2, 3, 4], [2], [3, 4]]  # the rest of the batch after a probe with the oldest item
    assert box.stats.delivered_total == 5


async def test_restart_delivers_what_was_pending_first_and_in_order_and_nothing_acked_twice(tmp_path: Path) -> None:
    first = Destination()

    async def one_batch_then_hang(batch: list[Item]) -> None:
        if first.batches:
            await asyncio.sleep(3600)
        await first(batch)

    box = Outbox("t", tmp_path, one_batch_then_hang, batch=3)
    for i in range(5):
        box.put({"id": i})
    runner = asyncio.create_task(box.run())
    await wait_for(lambda: box.stats.delivered_total == 3)  # first batch acknowledged ...
    runner.cancel()  # ... then the daemon stops
    with pytest.raises(asyncio.CancelledError):
        await runner
    delivered_before = first.ids

    second = Destination()
    again = Outbox("t", tmp_path, second, batch=3)
    assert again.stats.pending == 5 - len(delivered_before)
    again.put({"id": 5})
    await again.drain(HANG_GUARD_S)
    assert delivered_before + second.ids == [0, 1, 2, 3, 4, 5]  # exactly once, in order


async def test_a_crash_between_deliver_and_ack_redelivers_that_batch_once(tmp_path: Path) -> None:
    delivered: list[int] = []

    async def deliver_then_die(batch: list[Item]) -> None:
        delivered.extend(i["id"] for i in batch)
        raise asyncio.CancelledError  # the process dies before the ack reaches the journal

    box = Outbox("t", tmp_path, deliver_then_die)
    box.put({"id": "a"})
    with pytest.raises(asyncio.CancelledError):
        await box.run()
    dest = Destination()
    await Outbox("t", tmp_path, dest).drain(HANG_GUARD_S)
    assert delivered == ["a"] and dest.ids == ["a"]  # the documented duplicate: receivers dedupe by id


def test_items_survive_kill_9_right_after_put_returned(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys, time
        from pathlib import Path
        from netmon.outbox import Outbox

        async def never(batch):
            await asyncio.sleep(3600)

        async def main():
            box = Outbox("t", Path({str(tmp_path)!r}), never)
            for i in range(200):
                box.put({{"id": i, "text": "x" * 100}})
            print("put returned", flush=True)
            time.sleep(3600)  # blocks the loop: the scheduled fsync has not even started

        asyncio.run(main())
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "put returned"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    async def replay() -> list[int]:
        dest = Destination()
        await Outbox("t", tmp_path, dest, batch=64).drain(HANG_GUARD_S)
        return dest.ids

    assert asyncio.run(replay()) == list(range(200))


async def test_journal_is_compacted_and_stays_bounded(tmp_path: Path) -> None:
    dest = Destination()
    box = Outbox("t", tmp_path, dest, batch=10, compact_every=50)
    runner = asyncio.create_task(box.run())
    for i in range(1000):
        box.put({"id": i})
        if i % 100 == 0:
            await asyncio.sleep(0)
    await wait_for(lambda: box.stats.delivered_total == 1000)
    await box.drain(1)
    await runner
    assert dest.ids == list(range(1000))
    assert len(journal_lines(tmp_path)) < 50 + 50 // 10 + 2  # dead lines never pile past compact_every
    assert not list(tmp_path.glob("*.tmp"))


async def test_compaction_keeps_items_put_while_it_runs(tmp_path: Path) -> None:
    gate = asyncio.Event()
    delivered: list[int] = []

    async def deliver(batch: list[Item]) -> None:
        delivered.extend(i["id"] for i in batch)
        if delivered[-1] >= 30:
            await gate.wait()  # hold the rest back: they stay pending across the compaction

    box = Outbox("t", tmp_path, deliver, batch=1, compact_every=10)
    for i in range(40):
        box.put({"id": i})
    runner = asyncio.create_task(box.run())
    await wait_for(lambda: len(delivered) == 31)
    for i in range(40, 45):
        box.put({"id": i})
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    pending = [line["i"]["id"] for line in journal_lines(tmp_path) if "i" in line]
    assert pending[-5:] == [40, 41, 42, 43, 44]
    rest = Destination()
    await Outbox("t", tmp_path, rest, batch=100).drain(HANG_GUARD_S)
    assert rest.ids == list(range(30, 45))  # 30 was delivered but never acknowledged: delivered again


async def test_restart_rewrites_the_journal_to_the_pending_items_and_skips_a_torn_tail(tmp_path: Path) -> None:
    lines = [{"s": 1, "i": {"id": 1}}, {"s": 2, "i": {"id": 2}}, {"a": 1}, {"s": 3, "i": {"id": 3}}]
    (tmp_path / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"s": 4, "i": {"id"')
    dest = Destination()
    box = Outbox("t", tmp_path, dest)
    assert journal_lines(tmp_path) == [{"s": 2, "i": {"id": 2}}, {"s": 3, "i": {"id": 3}}]
    box.put({"id": 5})
    await box.drain(HANG_GUARD_S)
    assert dest.ids == [2, 3, 5]


async def test_put_never_raises_when_the_disk_is_full(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dest = Destination()
    box = Outbox("t", tmp_path, dest)
    (tmp_path / JOURNAL).unlink()
    (tmp_path / JOURNAL).symlink_to("/dev/full")  # every write fails with ENOSPC, a real kernel error
    box._file.close()  # type: ignore[union-attr]
    box._file = None  # reopen: now the "disk" is full
    for i in range(3):
        box.put({"id": i})
    assert box.stats.pending == 3 and box.stats.unjournaled == 3
    assert sum("cannot write the journal" in r.getMessage() for r in caplog.records) == 1
    await box.drain(HANG_GUARD_S)
    assert dest.ids == [0, 1, 2]  # delivered from memory
    assert box.stats.unjournaled == 0


async def test_put_never_raises_with_an_unwritable_spool_dir_and_recovers(tmp_path: Path) -> None:
    blocker = tmp_path / "spool"
    blocker.write_text("a file where the directory should be")
    box = Outbox("t", blocker, Destination())
    box.put({"id": 1})
    assert box.stats.unjournaled == 1
    blocker.unlink()
    box.put({"id": 2})  # the journal works again: the held item is written first, in order
    assert box.stats.unjournaled == 0
    assert [r["i"]["id"] for r in journal_lines(blocker)] == [1, 2]


async def test_put_drops_an_item_that_is_not_json_and_does_not_raise(tmp_path: Path) -> None:
    box = Outbox("t", tmp_path, Destination())
    box.put({"id": 1, "bad": object()})
    assert box.stats.pending == 0


async def test_drain_gives_up_at_its_timeout_and_keeps_the_items(tmp_path: Path) -> None:
    async def hang(batch: list[Item]) -> None:
        await asyncio.sleep(3600)

    box = Outbox("t", tmp_path, hang)
    runner = asyncio.create_task(box.run())
    box.put({"id": 1})
    # the destination would hang for an hour: only a drain that gives up at its 0.2 s ends before the guard
    await asyncio.wait_for(box.drain(0.2), HANG_GUARD_S)
    await asyncio.wait_for(runner, HANG_GUARD_S)  # run() returned normally
    assert box.stats.pending == 1
    dest = Destination()
    await Outbox("t", tmp_path, dest).drain(HANG_GUARD_S)
    assert dest.ids == [1]
