"""The durable write queue between the event loop and the database.

`put()` is called from the event loop and only appends to a deque. `run()` writes batches in a worker thread.
While the database is away it retries the oldest batch on the bounded schedule of netmon.backlog (1, 2, 5, 10, 15 s,
then every 30 s, +-10 %), so writing resumes within seconds of the database coming back; records stay in memory up to
`max_memory`, beyond which the oldest are moved to the spool: segment files of JSON lines in `spool_dir`
(`00000000000000000001.jsonl`, ...), each written to a temporary name, fsync'd and renamed, so a segment is
either whole or absent. The spool always holds the oldest records and memory the newest, so writing spool
segments first (by number) and then memory keeps the original order. A segment is deleted once its batch has
committed; a crash between commit and delete re-writes that batch, which the idempotent writes absorb.

A spool left by an earlier run (kill -9, drain timeout) is picked up by the constructor and written first.
Records the database rejects (constraint or value errors) are isolated by bisecting the batch and appended to
`rejected.jsonl` in the spool directory with the error, so one bad record never blocks the queue.

`when_durable(done)` calls `done()` once every record put so far is committed or in the spool (fsync'd): a
record leaves memory only in one of those two ways, so "put so far minus still in memory" is the durable mark.
The office acknowledges an agent's MQTT message to the broker this way (netmon.agents.subscription); while such
a call waits, the writer does not wait for a full batch or the flush interval.

`max_memory` is a soft bound: it can be exceeded by what arrives during one write attempt (bounded by the
store's connect/busy timeouts).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from netmon.backlog import Backlog, RetrySchedule, Sleep, fsync_dir
from netmon.errors import StorageError
from netmon.storage.codec import decode, encode
from netmon.storage.record import Record
from netmon.storage.store import StorageRejected, StorageUnavailable, Store

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
REJECTED = "rejected.jsonl"


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int  # records in memory
    spooled: int  # records in spool segments on disk
    failures_total: int  # failed write attempts
    written_total: int  # records committed
    rejected_total: int  # records the database refused (kept in rejected.jsonl)
    last_error: str | None
    available: bool  # False while the database is away


class WriteQueue(Backlog):
    def __init__(self, store_factory: Callable[[], Store], spool_dir: Path, *, max_memory: int,
                 batch_size: int = 500, flush_interval_s: float = 1.0, retry: RetrySchedule | None = None,
                 sleep: Sleep = asyncio.sleep, rng: random.Random | None = None) -> None:
        super().__init__(log, "storage: database", retry=retry, sleep=sleep, rng=rng)
        self._factory = store_factory
        self._dir = Path(spool_dir)
        self._max_memory = max(1, max_memory)
        self._batch = max(1, batch_size)
        self._interval = flush_interval_s
        self._memory: collections.deque[Record] = collections.deque()
        self._store: Store | None = None
        self._written = 0
        self._rejected = 0
        self._put_total = 0  # records put in this run
        self._durable_waiting: collections.deque[tuple[int, Callable[[], None]]] = collections.deque()
        self._dir.mkdir(parents=True, exist_ok=True)
        self._segments: collections.deque[tuple[Path, int]] = collections.deque()  # (file, records)
        for path in sorted(self._dir.glob("*" + SUFFIX)):
            if path.name != REJECTED and path.stem.isdigit():
                self._segments.append((path, _count_lines(path)))
        for stray in self._dir.glob("*.tmp"):
            stray.unlink()  # a spill that never completed: its records are still in that run's memory/lost
        self._next_segment = int(self._segments[-1][0].stem) + 1 if self._segments else 1
        if self._segments:
            log.info("storage spool from an earlier run: %d records to write first", self.spooled)

    # --- event-loop side -------------------------------------------------------------------------------

    def put(self, record: Record) -> None:
        """Queue one record. O(1); never blocks, never raises."""
        self._memory.append(record)
        self._put_total += 1
        if len(self._memory) >= self._batch or len(self._memory) > self._max_memory:
            self._wake.set()

    def when_durable(self, done: Callable[[], None]) -> None:
        """Call `done()` (on the event loop) once every record put so far is committed or spooled."""
        mark = self._put_total
        if self._put_total - len(self._memory) >= mark:
            done()
            return
        self._durable_waiting.append((mark, done))
        self._wake.set()

    def _release_durable(self) -> None:
        durable = self._put_total - len(self._memory)
        while self._durable_waiting and self._durable_waiting[0][0] <= durable:
            _mark, done = self._durable_waiting.popleft()
            try:
                done()
            except Exception:  # a caller's bug must not stop the writer
                log.exception("storage: a durability callback failed")

    @property
    def spooled(self) -> int:
        return sum(n for _, n in self._segments)

    @property
    def stats(self) -> QueueStats:
        return QueueStats(len(self._memory), self.spooled, self._failures, self._written, self._rejected,
                          self._last_error, self._available)

    async def _after_run(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            await asyncio.to_thread(store.close)

    async def _after_drain(self) -> None:
        """Whatever is left in memory goes to the spool."""
        if self._memory:
            self._abandoned = True  # an in-flight write must not pop what is about to be spooled
            count = len(self._memory)
            await asyncio.to_thread(self._spill, count)
            self._release_durable()
            log.warning("storage: shut down with %d records unwritten, kept in the spool %s", self.spooled,
                        self._dir)

    # --- the writer ------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        failures = 0
        due = time.monotonic() + self._interval
        while not self._abandoned:
            if not self._segments and not self._memory:
                if self._draining:
                    return
                await self._sleep(self._interval)
                due = time.monotonic() + self._interval
                continue
            if len(self._memory) > self._max_memory:
                await asyncio.to_thread(self._spill, len(self._memory) - self._max_memory // 2)
                self._release_durable()
            if (not self._segments and len(self._memory) < self._batch and not self._draining
                    and not self._durable_waiting and time.monotonic() < due):
                await self._sleep(due - time.monotonic())
                continue
            ok = await self._write_next()
            self._release_durable()
            due = time.monotonic() + self._interval
            if ok:
                failures = 0
                continue
            failures += 1
            await self._backoff(self.retry_delay(failures))

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(0.0, seconds))

    async def _backoff(self, seconds: float) -> None:
        """Wait `seconds` (the injected sleep), spilling to disk whenever memory passes its bound meanwhile."""
        sleeper = asyncio.ensure_future(self._sleep_fn(seconds))
        try:
            while not sleeper.done() and not self._abandoned:
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                if len(self._memory) > self._max_memory:
                    await asyncio.to_thread(self._spill, len(self._memory) - self._max_memory // 2)
                    self._release_durable()
        finally:
            sleeper.cancel()

    async def _write_next(self) -> bool:
        """Write the oldest batch: the first spool segment, else the head of memory. False: database away."""
        from_spool = bool(self._segments)
        if from_spool:
            path, _ = self._segments[0]
            batch = await asyncio.to_thread(_read_segment, path)
        else:
            batch = [self._memory[i] for i in range(min(self._batch, len(self._memory)))]
        try:
            rejected = await asyncio.to_thread(self._write_isolating, batch)
        except StorageError as exc:
            self._failed(exc, self._holding())
            return False
        except Exception as exc:  # a bug, not the database: keep the records and retry rather than lose them
            if self._available:
                log.exception("storage write failed unexpectedly")
            self._failed(exc, self._holding())
            return False
        self._recovered(f"backlog {len(self._memory) + self.spooled} records ({len(self._memory)} in memory, "
                        f"{self.spooled} spooled)")
        if self._abandoned:
            return True  # drain() spooled memory meanwhile; the spool replay will re-write (idempotently)
        if from_spool:
            path, _ = self._segments.popleft()
            await asyncio.to_thread(_unlink, path)
        else:
            for _ in batch:
                self._memory.popleft()
        self._written += len(batch) - rejected
        return True

    def _write_isolating(self, batch: Sequence[Record]) -> int:
        """Write `batch` (worker thread); a rejected batch is bisected down to the bad records, which go to
        rejected.jsonl. Returns how many were rejected. Raises StorageError when the database is away."""
        if self._store is None:
            try:
                self._store = self._factory()
            except StorageError:
                raise
            except Exception as exc:
                raise StorageUnavailable(f"cannot open the database: {exc}") from exc
        try:
            self._store.write(batch)
            return 0
        except StorageRejected as exc:
            if len(batch) == 1:
                self._reject(batch[0], exc)
                return 1
        half = len(batch) // 2
        return self._write_isolating(batch[:half]) + self._write_isolating(batch[half:])

    def _reject(self, record: Record, exc: StorageError) -> None:
        self._rejected += 1
        log.error("storage refused a %s record, kept in %s: %s", type(record).__name__, REJECTED, exc)
        line = json.dumps({"error": str(exc), "record": json.loads(encode(record))})
        with open(self._dir / REJECTED, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _holding(self) -> str:
        return f"holding writes in memory (then spool {self._dir})"

    def _spill(self, count: int) -> None:
        """Move the oldest `count` records in memory to new spool segments (worker thread, or drain)."""
        while count > 0 and self._memory:
            n = min(count, self._batch, len(self._memory))
            chunk = [self._memory[i] for i in range(n)]
            path = self._dir / f"{self._next_segment:020d}{SUFFIX}"
            tmp = path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(encode(r) + "\n" for r in chunk)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            fsync_dir(self._dir)
            self._next_segment += 1
            self._segments.append((path, n))
            for _ in range(n):
                self._memory.popleft()
            count -= n


def _read_segment(path: Path) -> list[Record]:
    records: list[Record] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    records.append(decode(line))
                except StorageError as exc:  # a corrupt line cannot be retried into shape
                    log.error("storage spool %s line %d skipped: %s", path.name, number, exc)
    return records


def _count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
