"""`ClusterMember`: one netmon node's part in the cluster, driven by one asyncio task.

Every `heartbeat_s` one round runs in a worker thread (`ClusterBackend`, netmon.storage.cluster in the daemon):
heartbeat, read the live nodes, then try the leader lease (acquire when not leading, renew when leading). From
the round's answer the member recomputes its share of the devices (netmon.cluster.rendezvous) and calls
`on_share(devices)` when it changed, and `on_leader(term)` / `on_leader(None)` when leadership changed.

While the database is away (a round fails, or is still running when the next is due) the failure is logged once,
counted, and the member carries on: it keeps its last share, so polling goes on, and it stops leading when its
lease's local monotonic deadline passes (netmon.storage.cluster explains why that is always before anyone else
can acquire). At most one round runs at a time: a round stuck on a dead connection is waited for, not stacked.

`on_leader` says when to start and stop the leader's background work; an action that must not be done by two
nodes checks `leading()` (the term, or None) right before it acts and carries the term as its fencing token:
a callback may run late when the event loop is busy, `leading()` reads the clock.

A node that has never reached the database owns nothing (the others, who never saw it, poll everything); a node
that leaves (the task is cancelled) stops leading, releases the lease and deletes its row, so the others take over
at their next heartbeat instead of after `dead_after_s`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from netmon.cluster.record import LEADER, Lease, Node
from netmon.cluster.rendezvous import share
from netmon.errors import StorageError

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
RunBlocking = Callable[[Callable[[], Any]], Awaitable[Any]]


class ClusterBackend(Protocol):
    """What the member needs of the database (netmon.storage.cluster.ClusterStore). Blocking."""

    def heartbeat(self, node_id: str, host: str, pid: int, dead_after_s: float) -> list[Node]: ...

    def leave(self, node_id: str) -> None: ...

    def acquire(self, name: str, holder: str, ttl_s: float, *, margin_s: float) -> Lease | None: ...

    def renew(self, lease: Lease, ttl_s: float, *, margin_s: float) -> Lease | None: ...

    def release(self, lease: Lease) -> None: ...


@dataclass(frozen=True, slots=True)
class MemberTiming:
    """A node is dead `dead_after_s` after its last heartbeat (by the database's clock); the leader lease lasts
    `lease_ttl_s` in the database, and its holder stops acting `lease_margin_s` before that by its own clock.
    The devices of a dead node move within dead_after_s + heartbeat_s."""

    heartbeat_s: float = 5.0
    dead_after_s: float = 15.0
    lease_ttl_s: float = 15.0
    lease_margin_s: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.lease_margin_s < self.lease_ttl_s:
            raise ValueError("lease_margin_s must be above 0 and below lease_ttl_s")
        if not 0 < self.heartbeat_s < self.lease_ttl_s - self.lease_margin_s:
            raise ValueError("heartbeat_s must be below lease_ttl_s - lease_margin_s, or the leader cannot renew")
        if self.dead_after_s <= self.heartbeat_s:
            raise ValueError("dead_after_s must be above heartbeat_s, or live nodes look dead between heartbeats")


@dataclass(frozen=True, slots=True)
class MemberStats:
    """For metrics: `term` while leading; `heartbeat_failures_total` counts rounds that failed and rounds
    skipped because the previous one was still running."""

    node_id: str
    is_leader: bool
    term: int | None
    live_nodes: int
    devices_owned: int
    heartbeat_failures_total: int
    database_available: bool


@dataclass(frozen=True, slots=True)
class _Round:
    sent_with: Lease | None  # the lease renewed, or None: an acquire
    live: list[Node]
    lease: Lease | None


class ClusterMember:
    """One node's membership. Wiring, in the composition root::

        store = ClusterStore.open(url, node_id=node_id)            # netmon.storage.cluster
        member = ClusterMember(store, node_id, device_ids, on_share=..., on_leader=..., timing=...)
        task = asyncio.create_task(member.run())                   # cancel it to leave; then store.close()

    `node_id` must be unique among the running nodes (a restarted node may reuse its own). The callbacks run on
    the event loop and must not block; an exception they raise is logged and does not stop the member.
    `clock`, `sleep` and `run_blocking` (asyncio.to_thread) are for tests."""

    def __init__(self, backend: ClusterBackend, node_id: str, devices: Iterable[str], *,
                 on_share: Callable[[frozenset[str]], None], on_leader: Callable[[int | None], None],
                 timing: MemberTiming | None = None, host: str | None = None, pid: int | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep,
                 run_blocking: RunBlocking = asyncio.to_thread, unit: str = "devices",
                 on_database_back: Callable[[], None] = lambda: None) -> None:
        self._backend = backend
        self._unit = unit  # what `devices` are, for the log: devices, or sites (netmon.cluster.node)
        self._on_database_back = on_database_back  # a round succeeded after failures: what waits may go now
        self.node_id = node_id
        self._devices = frozenset(devices)
        self._on_share = on_share
        self._on_leader = on_leader
        self._timing = timing or MemberTiming()
        self._host = host or socket.gethostname()
        self._pid = os.getpid() if pid is None else pid
        self._clock = clock
        self._sleep = sleep
        self._run_blocking = run_blocking
        self._live: tuple[str, ...] | None = None  # None until the first round succeeds
        self._share: frozenset[str] | None = None
        self._lease: Lease | None = None
        self._pending: asyncio.Future[_Round] | None = None
        self._failures = 0
        self._failing = False

    # --- what the daemon reads -------------------------------------------------------------------------

    def leading(self) -> int | None:
        """The term while this node may act as leader (its local deadline not passed), else None."""
        lease = self._lease
        return lease.term if lease is not None and self._clock() < lease.deadline else None

    @property
    def share(self) -> frozenset[str]:
        """The devices this node polls now (empty until it first reached the database)."""
        return self._share or frozenset()

    @property
    def live_nodes(self) -> tuple[str, ...]:
        return self._live or ()

    def stats(self) -> MemberStats:
        term = self.leading()
        return MemberStats(self.node_id, term is not None, term, len(self.live_nodes), len(self.share),
                           self._failures, not self._failing)

    def set_devices(self, devices: Iterable[str]) -> None:
        """The inventory changed: recompute the share (on_share if it changed)."""
        self._devices = frozenset(devices)
        self._reshare()

    # --- the loop --------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Heartbeat, share and lead until cancelled; then leave the cluster (bounded by one heartbeat)."""
        try:
            while True:
                tick_end = self._clock() + self._timing.heartbeat_s
                self._start_round()
                await self._wait_until(tick_end)
        finally:
            await self._leave()

    def _start_round(self) -> None:
        if self._pending is not None:
            self._failed("the previous round is still running")
            return
        lease = self._lease if self.leading() is not None else None
        self._pending = asyncio.ensure_future(self._run_blocking(lambda: self._round(lease)))

    def _round(self, lease: Lease | None) -> _Round:
        """In the worker thread: heartbeat and live set, then the lease."""
        t = self._timing
        live = self._backend.heartbeat(self.node_id, self._host, self._pid, t.dead_after_s)
        if lease is None:
            got = self._backend.acquire(LEADER, self.node_id, t.lease_ttl_s, margin_s=t.lease_margin_s)
        else:
            got = self._backend.renew(lease, t.lease_ttl_s, margin_s=t.lease_margin_s)
        return _Round(lease, live, got)

    async def _wait_until(self, until: float) -> None:
        """Until `until` (monotonic): take the round's answer when it comes, step down at the lease deadline."""
        while True:
            self._expire()
            now = self._clock()
            if self._pending is not None and self._pending.done():
                self._finish(self._pending)
                continue
            if now >= until:
                return
            wake = until if self._lease is None else min(until, self._lease.deadline)
            await self._sleep_or_round(max(0.0, wake - now))

    async def _sleep_or_round(self, seconds: float) -> None:
        if self._pending is None:
            await self._sleep(seconds)
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        either: set[asyncio.Future[Any]] = {self._pending, sleeper}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            # waited for, not awaited under suppress(CancelledError): a stop() arriving meanwhile must not be
            # swallowed with the sleeper's own cancellation
            await asyncio.wait({sleeper})

    def _finish(self, pending: asyncio.Future[_Round]) -> None:
        self._pending = None
        try:
            answer = pending.result()
        except StorageError as exc:
            self._failed(str(exc))
            return
        except Exception as exc:  # a bug must not stop the heartbeat either
            log.error("cluster: round failed unexpectedly (%s)", type(exc).__name__, exc_info=True)
            self._failed(type(exc).__name__)
            return
        if self._failing:
            log.info("cluster: database back after %d failed heartbeats", self._failures)
            self._failing = False
            self._call(lambda _none: self._on_database_back(), None)
        self._take_live(answer.live)
        self._take_lease(answer)

    def _failed(self, why: str) -> None:
        self._failures += 1
        if not self._failing:
            self._failing = True
            lead = self._lease
            leading = f", leading until its local deadline (term {lead.term})" if lead else ""
            log.warning("cluster: node %s cannot reach the database (%s); keeping its %d %s%s", self.node_id,
                        why, len(self.share), self._unit, leading)

    def _take_live(self, nodes: list[Node]) -> None:
        live = tuple(sorted({n.node_id for n in nodes} | {self.node_id}))
        if live != self._live:
            log.info("cluster: live nodes %s (was %s)", ", ".join(live),
                     "none" if self._live is None else ", ".join(self._live))
            self._live = live
            self._reshare()

    def _take_lease(self, answer: _Round) -> None:
        if answer.sent_with is not None and answer.sent_with is not self._lease:
            return  # a renewal that answered after this node stepped down: the next round acquires afresh
        if answer.lease is None:
            if self._lease is not None:
                self._step_down("the lease was taken over")
            return
        became = self._lease is None
        self._lease = answer.lease
        if self.leading() is None:  # the answer came after its own deadline
            self._lease = None
            if not became:
                self._step_down("the renewal answered too late")
            return
        if became:
            log.info("cluster: node %s leads (term %d)", self.node_id, answer.lease.term)
            self._call(self._on_leader, answer.lease.term)

    def _expire(self) -> None:
        if self._lease is not None and self.leading() is None:
            self._step_down("its lease's local deadline passed")

    def _step_down(self, why: str) -> None:
        lease, self._lease = self._lease, None
        log.warning("cluster: node %s no longer leads (term %s): %s", self.node_id,
                    lease.term if lease else "-", why)
        self._call(self._on_leader, None)

    def _reshare(self) -> None:
        if self._live is None:
            return
        mine = share(self._devices, self._live, self.node_id)
        if mine != self._share:
            log.info("cluster: node %s polls %d of %d %s (%d live nodes)", self.node_id, len(mine),
                     len(self._devices), self._unit, len(self._live))
            self._share = mine
            self._call(self._on_share, mine)

    def _call(self, callback: Callable[[Any], None], value: Any) -> None:
        try:
            callback(value)
        except Exception:
            log.exception("cluster: a callback of node %s failed", self.node_id)

    async def _leave(self) -> None:
        """Stop leading first, then release the lease and delete this node's row (each bounded by one
        heartbeat; a database that is away just lets them expire). A round still running is waited for, also
        one heartbeat, so a lease it took or renewed is released too."""
        lease = self._lease
        if lease is not None:
            self._step_down("leaving")
        pending, self._pending = self._pending, None
        if pending is not None:
            await asyncio.wait({pending}, timeout=self._timing.heartbeat_s)
            if pending.done() and not pending.cancelled() and pending.exception() is None:
                lease = pending.result().lease or lease
        await self._quietly(lambda: self._backend.release(lease) if lease is not None else None)
        await self._quietly(lambda: self._backend.leave(self.node_id))

    async def _quietly(self, fn: Callable[[], None]) -> None:
        try:
            await asyncio.wait_for(self._run_blocking(fn), self._timing.heartbeat_s)
        except (StorageError, TimeoutError) as exc:
            log.info("cluster: node %s left without telling the database (%s)", self.node_id,
                     str(exc) or type(exc).__name__)

