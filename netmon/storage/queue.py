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

The write fence (issue #16, several nodes on one database): given `fence`, a callable that says under which
`WriteFence` (node, leader term) the producer is acting right now (None: not as leader), `put()` notes it with the
record, and every batch holds records of one fence only. `Store.write(batch, fence=...)` writes it only while that
node has led without a break since that term; otherwise (another node has led since: it owns the states and
incidents now) the batch is DROPPED, never retried, counted in `fenced_total` and logged. In memory the fences are
kept as runs (one entry per change of fence, not per record); a segment of fenced records is named
`<number>.fenced.jsonl` and starts with the line `{"fence": {"holder": ..., "term": ...}}`, so a spool replayed
after a restart is fenced too (and a version that knows no fence skips such segments rather than write them
unfenced). Without `fence` nothing of this happens: the spool and the writes are as they were.
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
from netmon.cluster.record import WriteFence
from netmon.errors import StorageError
from netmon.storage.codec import decode, encode
from netmon.storage.record import Record
from netmon.storage.store import StorageFenced, StorageRejected, StorageUnavailable, Store

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
FENCED = ".fenced" + SUFFIX  # a segment of records put under a fence: its first line is the fence
REJECTED = "rejected.jsonl"

FenceOf = Callable[[], WriteFence | None]


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int  # records in memory
    spooled: int  # records in spool segments on disk
    failures_total: int  # failed write attempts
    written_total: int  # records committed
    rejected_total: int  # records the database refused (kept in rejected.jsonl)
    last_error: str | None
    available: bool  # False while the database is away
    fenced_total: int = 0  # records dropped unwritten: put as leader, and another node has led since


@dataclass(slots=True)
class _Run:
    """`count` consecutive records in memory, put under one fence."""

    fence: WriteFence | None
    count: int


class WriteQueue(Backlog):
    def __init__(self, store_factory: Callable[[], Store], spool_dir: Path, *, max_memory: int,
                 batch_size: int = 500, flush_interval_s: float = 1.0, retry: RetrySchedule | None = None,
                 sleep: Sleep = asyncio.sleep, rng: random.Random | None = None, fence: FenceOf | None = None) -> None:
        """`fence`: called by every `put()` (on the event loop; it must not block or raise), the fence the
        record is produced under, or None (see the module docstring). Without it, records are written unfenced."""
        super().__init__(log, "storage: database", retry=retry, sleep=sleep, rng=rng)
        self._factory = store_factory
        self._dir = Path(spool_dir)
        self._max_memory = max(1, max_memory)
        self._batch = max(1, batch_size)
        self._interval = flush_interval_s
        self._memory: collections.deque[Record] = collections.deque()
        self._fence_of = fence
        self._runs: collections.deque[_Run] = collections.deque()  # with `fence`: memory's fences, oldest first
        self._spilling = asyncio.Lock()
        self._store: Store | None = None
        self._written = 0
        self._rejected = 0
        self._fenced = 0
        self._fenced_last: WriteFence | None = None  # the fence of the last batch dropped (one warning per fence)
        self._put_total = 0  # records put in this run
        self._durable_waiting: collections.deque[tuple[int, Callable[[], None]]] = collections.deque()
        self._dir.mkdir(parents=True, exist_ok=True)
        self._segments: collections.deque[tuple[Path, int]] = collections.deque()  # (file, records)
        numbered = [(n, path) for path in self._dir.glob("*" + SUFFIX) if (n := _segment_number(path)) is not None]
        for _, path in sorted(numbered):
            self._segments.append((path, _count_records(path)))
        for stray in self._dir.glob("*.tmp"):
            stray.unlink()  # a spill that never completed: its records are still in that run's memory/lost
        self._next_segment = max(n for n, _ in numbered) + 1 if numbered else 1
        if self._segments:
            log.info("storage spool from an earlier run: %d records to write first", self.spooled)

    # --- event-loop side -------------------------------------------------------------------------------

    def put(self, record: Record) -> None:
        """Queue one record (under the producer's fence now, given `fence`). O(1); never blocks, never raises."""
        self._memory.append(record)
        if self._fence_of is not None:
            fence = self._fence_of()
            runs = self._runs
            if runs and runs[-1].fence == fence:
                runs[-1].count += 1
            else:
                runs.append(_Run(fence, 1))
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
                          self._last_error, self._available, self._fenced)

    async def _after_run(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            await asyncio.to_thread(store.close)

    async def _after_drain(self) -> None:
        """Whatever is left in memory goes to the spool."""
        if self._memory:
            self._abandoned = True  # an in-flight write must not pop what is about to be spooled
            count = len(self._memory)
            await self._spill(count)
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
                await self._spill(len(self._memory) - self._max_memory // 2)
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
                    await self._spill(len(self._memory) - self._max_memory // 2)
                    self._release_durable()
        finally:
            sleeper.cancel()

    async def _write_next(self) -> bool:
        """Write the oldest batch: the first spool segment, else the head of memory. False: database away."""
        from_spool = bool(self._segments)
        if from_spool:
            path, _ = self._segments[0]
            fence, batch = await asyncio.to_thread(_read_segment, path)
        else:
            fence, run = self._head()
            batch = [self._memory[i] for i in range(min(self._batch, run))]
        try:
            dropped = await asyncio.to_thread(self._write_isolating, batch, fence)
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
            self._pop(len(batch))
        self._written += len(batch) - dropped
        return True

    def _head(self) -> tuple[WriteFence | None, int]:
        """The fence of the oldest records in memory and how many in a row share it."""
        if self._runs:
            return self._runs[0].fence, self._runs[0].count
        return None, len(self._memory)

    def _pop(self, count: int) -> None:
        """Forget the oldest `count` records in memory (written, dropped or spooled), and their fences."""
        for _ in range(count):
            self._memory.popleft()
        while count > 0 and self._runs:
            head = self._runs[0]
            taken = min(count, head.count)
            head.count -= taken
            count -= taken
            if head.count == 0:
                self._runs.popleft()

    def _write_isolating(self, batch: Sequence[Record], fence: WriteFence | None) -> int:
        """Write `batch` (worker thread) under `fence`; a rejected batch is bisected down to the bad records,
        which go to rejected.jsonl; a fenced one is dropped. Returns how many were not written (rejected or
        dropped). Raises StorageError when the database is away."""
        store = self._open_store()
        try:
            if fence is None:
                store.write(batch)
            else:
                store.write(batch, fence=fence)
            return 0
        except StorageFenced:
            self._drop_fenced(len(batch), fence)
            return len(batch)
        except StorageRejected as exc:
            if len(batch) == 1:
                self._reject(batch[0], exc)
                return 1
        half = len(batch) // 2
        return self._write_isolating(batch[:half], fence) + self._write_isolating(batch[half:], fence)

    def _open_store(self) -> Store:
        if self._store is None:
            try:
                self._store = self._factory()
            except StorageError:
                raise
            except Exception as exc:
                raise StorageUnavailable(f"cannot open the database: {exc}") from exc
        return self._store

    def _drop_fenced(self, count: int, fence: WriteFence | None) -> None:
        """Another node has led since `fence`'s term: these records can never be written (one warning per
        fence; later batches of the same fence are logged at info)."""
        self._fenced += count
        if fence is None:
            return
        first = fence != self._fenced_last
        self._fenced_last = fence
        log.log(logging.WARNING if first else logging.INFO,
                "storage: dropped %d records queued by node %s as leader in term %d: another node has led since "
                "(write fence)", count, fence.holder, fence.term)

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

    async def _spill(self, count: int) -> None:
        """Move the oldest `count` records in memory to new spool segments, one fence per segment (the files
        are written in a worker thread; memory and its fences change only here, on the event loop)."""
        async with self._spilling:
            while count > 0 and self._memory:
                fence, run = self._head()
                n = min(count, self._batch, run)
                chunk = [self._memory[i] for i in range(n)]
                path = self._dir / f"{self._next_segment:020d}{SUFFIX if fence is None else FENCED}"
                self._next_segment += 1
                await asyncio.to_thread(_write_segment, path, fence, chunk)
                self._segments.append((path, n))
                self._pop(n)
                count -= n


def _write_segment(path: Path, fence: WriteFence | None, chunk: Sequence[Record]) -> None:
    """A whole segment or none: written under a temporary name, fsync'd, renamed."""
    tmp = path.parent / (path.name.split(".", 1)[0] + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        if fence is not None:
            f.write(json.dumps({"fence": {"holder": fence.holder, "term": fence.term}}) + "\n")
        f.writelines(encode(r) + "\n" for r in chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _read_segment(path: Path) -> tuple[WriteFence | None, list[Record]]:
    """The segment's fence (None: unfenced) and records; a corrupt record line is skipped. A fenced segment
    whose fence line is unreadable yields no records: they can never be written safely."""
    fence: WriteFence | None = None
    records: list[Record] = []
    with open(path, encoding="utf-8") as f:
        lines = enumerate(f, 1)
        if path.name.endswith(FENCED):
            number, header = next(lines, (1, ""))
            try:
                body = json.loads(header)["fence"]
                fence = WriteFence(str(body["holder"]), int(body["term"]))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("storage spool %s: its fence (line %d) is unreadable, its records are dropped: %r",
                          path.name, number, exc)
                return None, []
        for number, line in lines:
            if line.strip():
                try:
                    records.append(decode(line))
                except StorageError as exc:  # a corrupt line cannot be retried into shape
                    log.error("storage spool %s line %d skipped: %s", path.name, number, exc)
    return fence, records


def _segment_number(path: Path) -> int | None:
    """The number of a spool segment (`<number>.jsonl` or `<number>.fenced.jsonl`), else None."""
    stem = path.name.removesuffix(FENCED) if path.name.endswith(FENCED) else path.name.removesuffix(SUFFIX)
    return int(stem) if stem.isdigit() else None


def _count_records(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        lines = sum(1 for line in f if line.strip())
    return lines - 1 if path.name.endswith(FENCED) and lines else lines


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
