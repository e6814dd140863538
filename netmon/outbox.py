"""A durable, ordered, at-least-once outbox of JSON items for ONE destination (MQTT, a notifier, a ticket sink).

`put(item)` appends the item to a journal file (`<spool_dir>/journal.jsonl`) and flushes it to the kernel before it
returns, so the item survives a crash of the daemon (even kill -9) from that moment on. fsync - what survives a
power cut - is batched: the first put of a burst schedules one fsync in a worker thread for the whole burst, so
the event loop never waits for the disk (docs/mqtt.md, "Durability", has the measurements).

`run()` hands the oldest items, in order and up to `batch` at a time, to `deliver(batch)`. When `deliver` returns the
batch is acknowledged: an ack record is appended to the journal and the items leave memory. When it raises, the
destination is lost: it is probed with the oldest item alone on the bounded retry schedule of netmon.backlog (1, 2,
5, 10, 15 s, then every 30 s, +-10 %), and once that item is through the rest follows in full batches, in order. The
log says when the destination is lost and when it is back (with the backlog), not on every retry. `deliver` may
raise `PartialDelivery(n)` to acknowledge the first `n` items of a failed batch, so they are not sent again.

Delivery is at-least-once: an item can be delivered twice if the process dies after `deliver` succeeded and before
the ack record reached the journal. Every item must therefore carry its own idempotency key (e.g. `item["id"]`) and
receivers dedupe by it.

A new Outbox on the same spool_dir replays, first and in order, what the previous one had not delivered. The
journal is compacted (rewritten, without delivered items, to a temporary file that is fsync'd and renamed) when the
dead lines outnumber both `compact_every` and the pending items, so rewriting costs O(1) per delivered item; the
bulk of the rewrite runs in a worker thread.

`put` never raises. When the journal cannot be written (disk full, read-only or missing directory) the error is
logged once, the item is kept in memory (counted in `stats.unjournaled`, lost on a crash) and delivered as usual;
each later put tries the journal again, and writes the held items first, in order. An item that is not JSON
serialisable is a bug of the caller: logged and dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from netmon.backlog import Backlog, RetrySchedule, Sleep, fsync_dir, pause
from netmon.errors import PartialDelivery

log = logging.getLogger(__name__)

__all__ = ["JOURNAL", "Deliver", "Item", "Outbox", "OutboxStats", "PartialDelivery"]

JOURNAL = "journal.jsonl"
Item = dict[str, Any]
Deliver = Callable[[list[Item]], Awaitable[None]]


@dataclass(frozen=True)
class OutboxStats:
    pending: int  # items not yet delivered (journal + memory)
    delivered_total: int  # items acknowledged by the destination since start
    failures_total: int  # failed deliver() calls since start
    last_error: str | None  # of the last failed deliver() (bounded)
    available: bool  # False while the destination is lost
    unjournaled: int = 0  # pending items held only in memory because the journal could not be written


@dataclass(slots=True)
class _Entry:
    seq: int
    item: Item
    line: str  # the journal line, without newline
    journaled: bool


class Outbox(Backlog):
    def __init__(self, name: str, spool_dir: Path, deliver: Deliver, *, batch: int = 50,
                 retry: RetrySchedule | None = None, compact_every: int = 1000, sleep: Sleep = asyncio.sleep,
                 rng: random.Random | None = None) -> None:
        super().__init__(log, f"outbox {name}: destination", retry=retry, sleep=sleep, rng=rng)
        self.name = name
        self._dir = Path(spool_dir)
        self._path = self._dir / JOURNAL
        self._deliver = deliver
        self._batch = max(1, batch)
        self._compact_every = max(1, compact_every)
        self._pending: collections.deque[_Entry] = collections.deque()
        self._file: IO[str] | None = None
        self._next_seq = 1
        self._acked_seq = 0
        self._dead = 0  # journal lines that no longer matter (delivered items, ack records)
        self._unjournaled = 0
        self._journal_error: str | None = None
        self._fsync_scheduled = False
        self._delivered = 0
        self._kick = asyncio.Event()  # end the backoff now: retry_now(), drain()
        self._inflight: asyncio.Future[None] | None = None
        self._load()

    # --- producer side (event loop, synchronous) -----------------------------------------------------------

    def put(self, item: Item) -> None:
        """Queue one item. Durable (survives kill -9) once this returns, unless the journal is failing."""
        try:
            line = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
            # the item delivered now is the one a restart would read back (tuples become lists, and so on)
            entry = _Entry(self._next_seq, json.loads(line), f'{{"s":{self._next_seq},"i":{line}}}', False)
        except (TypeError, ValueError):
            log.exception("outbox %s: dropped an item that is not JSON serialisable", self.name)
            return
        except Exception:  # put never raises
            log.exception("outbox %s: dropped an item", self.name)
            return
        self._next_seq += 1
        self._pending.append(entry)
        self._unjournaled += 1
        try:
            self._journal_pending()
        except Exception:  # pragma: no cover - _journal_pending handles OSError; anything else is a bug
            log.exception("outbox %s: journal write failed unexpectedly", self.name)
        self._wake.set()  # wakes an idle run(), not one backing off

    def retry_now(self) -> None:
        """The destination is back (e.g. a reconnect): cut the current backoff short."""
        self._kick.set()

    @property
    def stats(self) -> OutboxStats:
        return OutboxStats(len(self._pending), self._delivered, self._failures, self._last_error, self._available,
                           self._unjournaled)

    # --- consumer side ------------------------------------------------------------------------------------

    async def _after_run(self) -> None:
        self._sync_now()

    def _interrupt_wait(self) -> None:
        self._kick.set()

    async def _give_up(self) -> None:
        """Give up on the destination for now (run() returns); the journal keeps the rest for the next start."""
        self._abandoned = True
        self._wake.set()
        self._kick.set()
        if self._inflight is not None:
            self._inflight.cancel()
        if self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), 5.0)

    async def _after_drain(self) -> None:
        self._sync_now()
        if self._pending:
            log.warning("outbox %s: shut down with %d items undelivered, kept in %s", self.name,
                        len(self._pending), self._path)

    async def _loop(self) -> None:
        attempt = 0
        while not self._abandoned:
            if not self._pending:
                if self._draining:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._unjournaled:
                self._journal_pending()
            size = self._batch if self._available else 1  # a lost destination is probed with the oldest item
            batch = [self._pending[i] for i in range(min(size, len(self._pending)))]
            self._inflight = asyncio.ensure_future(self._deliver([e.item for e in batch]))
            try:
                await self._inflight
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._abandoned and task is not None and not task.cancelling():
                    return  # drain() gave up on this delivery; it stays pending in the journal
                self._inflight.cancel()
                raise
            except Exception as exc:
                done = exc.delivered if isinstance(exc, PartialDelivery) else 0
                if 0 < done <= len(batch):
                    self._ack(batch[:done])
                    attempt = 0
                self._failed(exc, f"holding {len(self._pending)} items")
                attempt += 1
                await self._sleep(self.retry_delay(attempt))
                continue
            finally:
                self._inflight = None
            attempt = 0
            self._kick.clear()  # a stale retry_now() must not shorten a later backoff
            self._ack(batch)
            self._recovered(f"{len(self._pending)} items pending")
            if self._dead >= self._compact_every and self._dead >= len(self._pending):
                await self._compact()

    async def _sleep(self, seconds: float) -> None:
        """Back off; drain() cuts the wait short (one more attempt before its deadline)."""
        if self._draining:
            seconds = min(seconds, 0.2)
        await pause(self._sleep_fn, seconds, self._kick)
        self._kick.clear()

    def _ack(self, entries: list[_Entry]) -> None:
        for e in entries:
            self._pending.popleft()
            if not e.journaled:
                self._unjournaled -= 1
        self._delivered += len(entries)
        self._dead += len(entries)
        self._acked_seq = entries[-1].seq
        if self._file is not None and self._journal_error is None:
            try:
                self._file.write(json.dumps({"a": self._acked_seq}) + "\n")
                self._file.flush()  # not fsync'd: a lost ack only means a duplicate delivery
                self._dead += 1
            except OSError as exc:
                self._journal_failed(exc)

    # --- journal ----------------------------------------------------------------------------------------

    def _load(self) -> None:
        """Read what an earlier run left, then rewrite the journal with only the pending items."""
        entries: dict[int, _Entry] = {}
        acked = 0
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            for stray in self._dir.glob(JOURNAL + ".*.tmp"):
                stray.unlink()
            if self._path.exists():
                with open(self._path, encoding="utf-8") as f:
                    for number, raw in enumerate(f, 1):
                        try:
                            record = json.loads(raw)
                            if "a" in record:
                                acked = max(acked, int(record["a"]))
                            else:
                                seq = int(record["s"])
                                entries[seq] = _Entry(seq, record["i"], raw.rstrip("\n"), True)
                        except (ValueError, KeyError, TypeError):
                            if raw.strip():
                                log.error("outbox %s: journal line %d unreadable (torn write?), skipped", self.name,
                                          number)
        except OSError as exc:
            self._journal_failed(exc)
            return
        for seq in sorted(entries):
            if seq > acked:
                self._pending.append(entries[seq])
        self._next_seq = max([acked, *entries]) + 1
        self._acked_seq = acked
        if self._pending:
            log.info("outbox %s: %d undelivered items from an earlier run, delivering them first", self.name,
                     len(self._pending))
        try:
            self._rewrite([e.line for e in self._pending])
            self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 - held for the outbox's life
        except OSError as exc:
            self._journal_failed(exc)

    def _journal_pending(self) -> None:
        """Append the entries not yet in the journal (normally just the newest), in order, and flush."""
        try:
            if self._file is None:
                self._dir.mkdir(parents=True, exist_ok=True)
                self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115
            # unjournaled entries are always the newest ones: each put writes all of them, oldest first
            todo = list(itertools.islice(reversed(self._pending), self._unjournaled))[::-1]
            self._file.writelines(e.line + "\n" for e in todo)
            self._file.flush()
        except OSError as exc:
            self._journal_failed(exc)
            with contextlib.suppress(OSError):
                if self._file is not None:
                    self._file.close()
            self._file = None
            return
        for e in todo:
            e.journaled = True
        self._unjournaled -= len(todo)
        if self._journal_error is not None:
            log.warning("outbox %s: journal writable again (%s)", self.name, self._path)
            self._journal_error = None
        self._schedule_fsync()

    def _journal_failed(self, exc: OSError) -> None:
        if self._journal_error is None:
            log.error("outbox %s: cannot write the journal %s (%s); holding items in memory only, "
                      "they are lost if the daemon stops", self.name, self._path, exc)
        self._journal_error = str(exc)

    def _schedule_fsync(self) -> None:
        """One fsync per burst of puts, in a worker thread; inline when no event loop runs."""
        if self._fsync_scheduled or self._file is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._sync_now()
            return
        self._fsync_scheduled = True
        loop.call_soon(self._start_fsync)

    def _start_fsync(self) -> None:
        self._fsync_scheduled = False
        if self._file is None:
            return
        try:
            fd = os.dup(self._file.fileno())  # the thread owns the duplicate: compaction may close the original
        except OSError:
            return
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, _fsync_close, fd)

    def _sync_now(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError, ValueError):
                self._file.flush()
                os.fsync(self._file.fileno())

    def _rewrite(self, lines: list[str]) -> None:
        tmp = self._dir / f"{JOURNAL}.{os.getpid()}.tmp"
        _write_lines(tmp, lines)
        os.replace(tmp, self._path)
        fsync_dir(self._dir)
        self._dead = 0

    async def _compact(self) -> None:
        """Rewrite the journal with the pending items only. The snapshot is written and fsync'd in a thread while
        puts keep appending to the old journal; the items put meanwhile are then appended to the new one on the
        loop (a short write), which atomically replaces the old."""
        if self._file is None or self._journal_error is not None or self._unjournaled:
            return
        snapshot = list(self._pending)
        last = snapshot[-1].seq if snapshot else 0
        tmp = self._dir / f"{JOURNAL}.{os.getpid()}.tmp"
        started = time.perf_counter()
        try:
            await asyncio.to_thread(_write_lines, tmp, [e.line for e in snapshot])
            tail = [e.line for e in self._pending if e.seq > last]
            with open(tmp, "a", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in tail)
                f.flush()
                if tail:
                    os.fsync(f.fileno())
            os.replace(tmp, self._path)
            old, self._file = self._file, open(self._path, "a", encoding="utf-8")  # noqa: SIM115
            with contextlib.suppress(OSError):
                old.close()
            self._dead = 0
            await asyncio.to_thread(fsync_dir, self._dir)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.warning("outbox %s: journal compaction failed (%s); keeping the old journal", self.name, exc)
            return
        log.debug("outbox %s: journal compacted to %d items in %.1f ms", self.name, len(self._pending),
                  (time.perf_counter() - started) * 1000)


def _write_lines(path: Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
        f.flush()
        os.fsync(f.fileno())


def _fsync_close(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
