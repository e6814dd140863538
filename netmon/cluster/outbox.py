"""`ClusterOutbox`: an outbox (the interface of netmon.outbox.Outbox) whose journal is shared by the nodes of a
cluster, in the database (netmon.storage.outbox.OutboxTable), so a hand-over of the leadership loses nothing.

Every node puts items; only the leader delivers them. The path of an item:

1. `put(item)` (synchronous, never raises) writes it to a LOCAL spool: a `netmon.outbox.Outbox` in `spool_dir`
   (its JSON-lines journal, flushed before put returns), whose destination is the shared journal: its run loop
   appends the items, in order and in batches, to the table (in a worker thread). While the database is away
   the items wait there, retried on the bounded schedule of netmon.backlog, and a restart of the node on the
   same machine appends them first. What is lost: the items put during a database outage, if the MACHINE is
   lost (or its disk) before the database is back; a node that stops cleanly keeps them in its spool for its
   next start, and says so in the log.
2. The leader (`leading()` returns its lease term) claims the oldest items of this outbox in the table, in seq
   order, in its term (a claim by a term that is not the current lease's is refused by the database: the
   fencing token), checks `leading()` again right before it calls `deliver(batch)`, and acknowledges the
   delivered items in the same term (they are deleted). A new leader's outbox simply claims what is left, so
   it delivers, in order, every item nobody acknowledged. A node that does not lead delivers nothing, drops a
   claimed batch it had not delivered yet when it stops leading, and polls every `poll_s` for leadership (the
   daemon's `on_leader` callback may call `retry_now()` to start at once) and, while leading, for items the
   other nodes appended (its own appends wake it at once).
3. A failed `deliver` is retried like Outbox's (the oldest item alone as a probe on the bounded schedule, then
   full batches; `PartialDelivery(n)` acknowledges the first n). A failed claim or ack (the database away) is
   retried on the same schedule; an ack not yet written is retried before anything else is claimed, also after
   this node stopped leading (a late ack is truthful: it spares the next leader a duplicate; it leaves alone
   items a later term has claimed meanwhile).

At-least-once, like Outbox: items carry their idempotency key (`item["id"]`) and receivers dedupe. A duplicate
happens only when a batch was delivered and its ack did not reach the database: the leader died (or lost the
database, or was deposed while `deliver` ran) between the two; or an append committed but the spool never
learnt it (the commit's answer was lost, or a stop gave up on the append while its worker thread still ran) and
appended the batch again. Nothing is delivered twice on a clean hand-over, a clean stop or a restart.
Order is each node's put order; items of different nodes interleave by the order their appends committed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from netmon.backlog import Backlog, RetrySchedule, Sleep, pause
from netmon.cluster.member import RunBlocking
from netmon.cluster.record import Claim, SharedItem
from netmon.errors import PartialDelivery
from netmon.outbox import Deliver, Item, Outbox, OutboxStats

log = logging.getLogger(__name__)

Leading = Callable[[], int | None]  # netmon.cluster.member.ClusterMember.leading
Via = Callable[[str, Item], None]  # (outbox name, item) -> into the shared journal another way
_FAILED = object()


class SharedJournal(Protocol):
    """What the outbox needs of the database (netmon.storage.outbox.OutboxTable). Blocking."""

    def append(self, outbox: str, items: Sequence[Item]) -> None: ...

    def claim(self, outbox: str, term: int, limit: int) -> Claim | None: ...

    def ack(self, outbox: str, seqs: Sequence[int], term: int) -> int: ...


class ClusterOutbox(Backlog):
    """Wiring, in the composition root (one OutboxTable for every outbox of the node)::

        table = OutboxTable.open(url, node_id=node_id)                      # netmon.storage.outbox
        box = ClusterOutbox(name, data_dir / "outbox" / name, deliver, table, member.leading)

    `spool_dir` may be the directory of the node's former file Outbox of that name: what it still held is
    appended to the shared journal first. `sleep`, `rng` and `run_blocking` (asyncio.to_thread) are for tests."""

    def __init__(self, name: str, spool_dir: Path, deliver: Deliver, journal: SharedJournal, leading: Leading, *,
                 batch: int = 50, poll_s: float = 1.0, retry: RetrySchedule | None = None,
                 sleep: Sleep = asyncio.sleep, rng: random.Random | None = None,
                 run_blocking: RunBlocking = asyncio.to_thread, via: Via | None = None) -> None:
        super().__init__(log, f"outbox {name}: destination", retry=retry, sleep=sleep, rng=rng)
        self.name = name
        self._via = via
        self._deliver = deliver
        self._journal = journal
        self._leading = leading
        self._batch = max(1, batch)
        self._poll_s = poll_s
        self._run_blocking = run_blocking
        self._spool = Outbox(f"{name} to the shared journal", spool_dir, self._append, batch=self._batch,
                             retry=retry, sleep=sleep, rng=rng)
        self._held: list[SharedItem] = []  # claimed in _held_term, not delivered yet
        self._held_term: int | None = None
        self._owed: collections.deque[tuple[int, list[int]]] = collections.deque()  # delivered, ack not written
        self._table_pending = 0  # this outbox's items in the shared journal, as the last claim counted them
        self._delivered = 0
        self._db_failing = False
        self._db_failures = 0
        self._db_attempt = 0
        self._dest_attempt = 0
        self._kick = asyncio.Event()  # end a backoff or an idle wait now: retry_now(), drain()
        self._inflight: asyncio.Future[None] | None = None

    # --- producer side (event loop, synchronous) -----------------------------------------------------------

    def put(self, item: Item) -> None:
        """Queue one item: in the local spool's journal when this returns, in the shared journal soon after;
        with `via`, handed to it instead (the leader's storage write queue: the item reaches the journal in the
        same fenced order as the incident it tells of, netmon.storage.record.OutboxAppend)."""
        if self._via is not None:
            self._via(self.name, item)
            return
        self._spool.put(item)

    def retry_now(self) -> None:
        """The destination or the database is back, or this node just became leader: cut the current waits
        short (the local spool's too)."""
        self._kick.set()
        self._wake.set()
        self._spool.retry_now()

    @property
    def stats(self) -> OutboxStats:
        spool = self._spool.stats
        return OutboxStats(
            pending=spool.pending + self._table_pending,
            delivered_total=self._delivered,
            failures_total=self._failures + self._db_failures + spool.failures_total,
            last_error=spool.last_error if not spool.available else self._last_error,
            available=self._available and spool.available and not self._db_failing,
            unjournaled=spool.unjournaled,
        )

    # --- shutting down -------------------------------------------------------------------------------------

    async def drain(self, timeout_s: float) -> None:
        """Shut down: first the local spool goes to the shared journal (where the next leader finds it), then,
        while leading, what is pending there is delivered, all within `timeout_s`. Stops `run()`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        await self._spool.drain(timeout_s)
        await super().drain(max(0.0, deadline - loop.time()))

    def _interrupt_wait(self) -> None:
        self._kick.set()

    async def _give_up(self) -> None:
        self._abandoned = True
        self._wake.set()
        self._kick.set()
        if self._inflight is not None:
            self._inflight.cancel()
        if self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), 5.0)

    async def _after_drain(self) -> None:
        unacked = sum(len(seqs) for _term, seqs in self._owed)
        if unacked:
            log.warning("outbox %s: shut down with %d delivered items unacknowledged in the shared journal; "
                        "the next leader delivers them again", self.name, unacked)

    # --- the spool's destination ---------------------------------------------------------------------------

    async def _append(self, items: list[Item]) -> None:
        await self._run_blocking(lambda: self._journal.append(self.name, items))
        self._wake.set()

    # --- delivering (the leader) ---------------------------------------------------------------------------

    async def _loop(self) -> None:
        spool = asyncio.ensure_future(self._spool.run())
        try:
            await self._deliver_loop()
        finally:
            if not spool.done():
                spool.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await spool

    async def _deliver_loop(self) -> None:
        while not self._abandoned:
            if self._owed and not await self._settle_acks():
                await self._backoff_db()
                continue
            term = self._leading()
            if term != self._held_term:
                self._held, self._held_term = [], term  # another term: the claimed batch is the next leader's
            if term is None:
                self._table_pending = 0
                if self._draining:
                    return
                await self._idle()
                continue
            if not self._held:
                self._wake.clear()  # an append from here on wakes the idle wait below
                claimed = await self._claim(term)
                if claimed is _FAILED:
                    await self._backoff_db()
                    continue
                if not self._held:  # nothing left, or fenced out
                    if self._draining:
                        return
                    await self._idle()
                    continue
            await self._deliver_held(term)

    async def _claim(self, term: int) -> Any:
        """Claim the next batch in `term` into `_held`; _FAILED when the database failed, None when fenced out."""
        claim = await self._db(lambda: self._journal.claim(self.name, term, self._batch))
        if isinstance(claim, Claim):
            self._held = list(claim.items)
            self._table_pending = claim.pending
        elif claim is None:
            log.debug("outbox %s: term %d is not the current lease's; not delivering", self.name, term)
        return claim

    async def _deliver_held(self, term: int) -> None:
        size = self._batch if self._available else 1  # a lost destination is probed with the oldest item
        batch = self._held[:size]
        if self._leading() != term:
            return  # stopped leading since the claim: the loop drops the batch
        self._inflight = asyncio.ensure_future(self._deliver([s.item for s in batch]))
        try:
            await self._inflight
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._abandoned and task is not None and not task.cancelling():
                return  # drain() gave up on this delivery; it stays claimed in the shared journal
            self._inflight.cancel()
            raise
        except Exception as exc:
            done = exc.delivered if isinstance(exc, PartialDelivery) else 0
            if 0 < done <= len(batch):
                self._delivered_now(batch[:done], term)
                self._dest_attempt = 0
            self._failed(exc, f"holding {len(self._held)} claimed items")
            self._dest_attempt += 1
            await self._sleep(self.retry_delay(self._dest_attempt))
            return
        finally:
            self._inflight = None
        self._dest_attempt = 0
        self._kick.clear()  # a stale retry_now() must not shorten a later backoff
        self._delivered_now(batch, term)
        self._recovered(f"{self._table_pending} items pending")

    def _delivered_now(self, batch: list[SharedItem], term: int) -> None:
        del self._held[:len(batch)]
        self._delivered += len(batch)
        self._owed.append((term, [s.seq for s in batch]))

    async def _settle_acks(self) -> bool:
        """Write the acks owed, oldest first; False when the database failed."""
        while self._owed:
            term, seqs = self._owed[0]
            acked = await self._db(lambda: self._journal.ack(self.name, seqs, term))  # noqa: B023 - awaited here
            if acked is _FAILED:
                return False
            self._owed.popleft()
            self._table_pending = max(0, self._table_pending - acked)
            if acked < len(seqs):
                log.info("outbox %s: %d delivered items were claimed by a later leader term before their ack; "
                         "it delivers them again", self.name, len(seqs) - acked)
        return True

    # --- waiting and the database --------------------------------------------------------------------------

    async def _db(self, call: Callable[[], Any]) -> Any:
        """`call` in a worker thread; _FAILED (logged when the database is first lost) when it raised."""
        try:
            result = await self._run_blocking(call)
        except Exception as exc:  # StorageUnavailable; anything else is a bug, which must not stop the outbox
            self._db_failures += 1
            self._db_attempt += 1
            self._last_error = f"{type(exc).__name__}: {exc}"[:300]
            if not self._db_failing:
                self._db_failing = True
                log.warning("outbox %s: shared journal unavailable (%s); %d claimed items and %d acks waiting, "
                            "retrying %s", self.name, self._last_error, len(self._held), len(self._owed),
                            self._retry.describe())
            return _FAILED
        self._db_attempt = 0
        if self._db_failing:
            self._db_failing = False
            log.info("outbox %s: shared journal back", self.name)
        return result

    async def _backoff_db(self) -> None:
        await self._sleep(self.retry_delay(self._db_attempt))

    async def _idle(self) -> None:
        """Wait for an append of this node, retry_now(), a drain, or `poll_s` (leadership, other nodes)."""
        await pause(self._sleep_fn, self._poll_s, self._wake)
        self._wake.clear()

    async def _sleep(self, seconds: float) -> None:
        """Back off; drain() cuts the wait short (one more attempt before its deadline)."""
        if self._draining:
            seconds = min(seconds, 0.2)
        await pause(self._sleep_fn, seconds, self._kick)
        self._kick.clear()
