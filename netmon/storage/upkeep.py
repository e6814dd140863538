"""`StorageUpkeep`: storage as the daemon runs it, from start to stop.

- `open()`: opens the database, migrates it, syncs the inventory and reads back what a restart needs (device
  states, open outages, open incidents and their tickets, kept SNMP discoveries, the last heartbeat), then
  starts buffering writes in the `WriteQueue` (run by the caller as a task). A database that is away at start
  does not stop the daemon: nothing is restored (state starts unknown) and records queue, spilling to disk,
  until it returns. The time since the last heartbeat is stored as an `UnknownSpan`.
- `store(record)`: puts a record in the write queue (dropped before `open()`: `netmon poll --once` stores
  nothing).
- `observe(result)`: hourly rollups of a poll result.
- `tick(now)`: the timers: rollups of ended hours (and, every `checkpoint_s` when set, of the running hour so
  far), a heartbeat every `HEARTBEAT_S`, daily unique-client counts every `UNIQUES_EVERY_S`, retention pruning
  every `PRUNE_EVERY_S`.
- `final(now)`: at stop, the open hour's rollups and a last heartbeat.

`AckPickup.tick(now)` reads, every `ACKS_EVERY_S` once storage is open, the acknowledgements made with
`netmon tickets ack` of the incidents `awaiting_ack()` names (the alerts' open, unacknowledged ones) and hands
them to `on_acks` (the alerts stop escalating them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from netmon.config.schema import StorageConfig
from netmon.keyfile import load_or_create
from netmon.model import Device, DeviceState, Incident, Outage, PollResult, Site, Source, StoredDiscovery, Ticket
from netmon.storage.queue import FenceOf, QueueStats, WriteQueue
from netmon.storage.record import AgentGap, AgentProgress, DailyUniques, Heartbeat, Record, UnknownSpan
from netmon.storage.rollup import RollupAccumulator
from netmon.storage.store import StorageUnavailable, Store
from netmon.storage.url import announce_database, database_url

log = logging.getLogger(__name__)

HEARTBEAT_S = 30.0  # bounds the `unknown` span after a crash
UNIQUES_EVERY_S = 300.0
PRUNE_EVERY_S = 24 * 3600.0
ACKS_EVERY_S = 10.0  # `netmon tickets ack` writes to the database; the daemon picks it up this often


@dataclass(frozen=True, slots=True)
class Restored:
    """What storage kept for a restart (all empty when the database was away at start)."""

    states: list[DeviceState] = field(default_factory=list)
    open_outages: list[Outage] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)  # the open ones
    tickets: list[Ticket] = field(default_factory=list)  # of the open incidents
    discoveries: list[StoredDiscovery] = field(default_factory=list)
    last_heartbeat: float | None = None
    at: float | None = None  # when they were read
    agent_progress: list[AgentProgress] = field(default_factory=list)  # site agents' ingest marks (issue #14)
    agent_gaps: list[AgentGap] = field(default_factory=list)


class StorageUpkeep:
    def __init__(self, settings: StorageConfig, sites: Mapping[str, Site], devices: Mapping[str, Device], *,
                 daily_uniques: Callable[[], Iterable[tuple[str, date, int]]] = list,
                 clock: Callable[[], float] = time.time) -> None:
        """`daily_uniques()`: (site, local date, distinct clients) to store, netmon.privacy's `daily`."""
        self.settings = settings
        self._sites = sites
        self._devices = devices
        self._daily_uniques = daily_uniques
        self._clock = clock
        self.rollups = RollupAccumulator()
        self.queue: WriteQueue | None = None
        self.data_dir = Path(settings.data_dir).expanduser().resolve()
        self._last_beat = self._last_uniques = 0.0
        self._last_prune = self._last_checkpoint = clock()
        # a cluster's leader (netmon.cluster.node) writes the running hour's rollups this often, so that a
        # kill -9 of it loses at most that much of the hour's counts (one daemon: the hour, at a crash)
        self.checkpoint_s: float | None = None

    @property
    def stats(self) -> QueueStats | None:
        return self.queue.stats if self.queue is not None else None

    def store(self, record: Record) -> None:
        if self.queue is not None:
            self.queue.put(record)

    def when_durable(self, done: Callable[[], None]) -> None:
        """`done()` once what was stored so far is committed or spooled (at once while storage is not open)."""
        if self.queue is None:
            done()
        else:
            self.queue.when_durable(done)

    def observe(self, result: PollResult) -> None:
        for rollup in self.rollups.add(result):
            self.store(rollup)

    async def open(self, *, fence: FenceOf | None = None) -> Restored:
        """Start the write queue and read back what storage kept (see the module docstring). `fence`: a cluster
        node's write fence (netmon.storage.queue)."""
        url = database_url(self.settings)
        self.queue = WriteQueue(lambda: Store.open(url), self.data_dir / "spool", max_memory=self.settings.queue_max,
                                fence=fence)
        now = self._clock()
        announce_database(url, self.settings)
        try:
            restored = await asyncio.to_thread(self._prepare, url, now)
        except StorageUnavailable as exc:
            log.error("storage unavailable at start (%s); state starts unknown, writes are queued", exc)
            return Restored()
        if restored.last_heartbeat is not None and now > restored.last_heartbeat:
            self.store(UnknownSpan(restored.last_heartbeat, now))
        if restored.states or restored.open_outages:
            log.info("restored %d device states and %d open outages from storage", len(restored.states),
                     len(restored.open_outages))
        if restored.discoveries:
            log.info("%d stored SNMP discoveries: devices whose facts still fit are not discovered again",
                     len(restored.discoveries))
        return restored

    def discovery_key(self) -> bytes:
        """The key of the kept discoveries' fingerprints, in a file beside the database."""
        return load_or_create(self.data_dir / "discovery.key")

    async def tick(self, now: float) -> None:
        checkpoint = self.checkpoint_s is not None and now - self._last_checkpoint >= self.checkpoint_s
        if checkpoint:  # the running hour so far too: written rollups of one hour add up (rollup.combine)
            self._last_checkpoint = now
        for rollup in self.rollups.flush(now, final=checkpoint):
            self.store(rollup)
        if now - self._last_beat >= HEARTBEAT_S:
            self.store(Heartbeat(now))
            self._last_beat = now
        if now - self._last_uniques >= UNIQUES_EVERY_S:
            for site, day, count in self._daily_uniques():  # each site's local date
                self.store(DailyUniques(site, day, count))
            self._last_uniques = now
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            await asyncio.to_thread(self._prune, now)

    def final(self, now: float) -> None:
        for rollup in self.rollups.flush(now, final=True):
            self.store(rollup)
        self.store(Heartbeat(now))

    async def reread(self, *, unknown_after_s: float) -> Restored:
        """A cluster node that starts to lead (netmon.cluster.node): what the last leader left in the database
        (states, open outages, open incidents and their tickets, its last heartbeat). A heartbeat older than
        HEARTBEAT_S + `unknown_after_s` (nobody led meanwhile) is an `UnknownSpan`, as after a restart. Raises
        StorageUnavailable."""
        now = self._clock()
        restored = await asyncio.to_thread(self._read_back, database_url(self.settings), now)
        if restored.last_heartbeat is not None and now - restored.last_heartbeat > HEARTBEAT_S + unknown_after_s:
            self.store(UnknownSpan(restored.last_heartbeat, now))
        log.info("leading: read back %d device states, %d open outages and %d open incidents", len(restored.states),
                 len(restored.open_outages), len(restored.incidents))
        return restored

    def _prepare(self, url: str, now: float) -> Restored:
        store = Store.open(url)
        try:
            store.upgrade()
            store.sync_inventory(self._sites, self._devices, now)
            return self._restored(store, now, discoveries=store.load_discoveries(Source.SNMP))
        finally:
            store.close()

    def _read_back(self, url: str, now: float) -> Restored:
        store = Store.open(url)
        try:
            return self._restored(store, now)
        finally:
            store.close()

    @staticmethod
    def _restored(store: Store, now: float, *, discoveries: list[StoredDiscovery] | None = None) -> Restored:
        incidents = store.incidents(open_only=True)
        wanted = {i.id for i in incidents}
        return Restored(states=store.load_states(), open_outages=store.load_open_outages(),
                        incidents=incidents, tickets=[t for t in store.tickets() if t.incident in wanted],
                        discoveries=discoveries or [], last_heartbeat=store.last_heartbeat(),
                        at=now, agent_progress=store.agent_progress(), agent_gaps=store.agent_gaps())

    def _prune(self, now: float) -> None:
        try:
            store = Store.open(database_url(self.settings))
            try:
                store.prune(now, self.settings.rollup_retention_days)
            finally:
                store.close()
        except StorageUnavailable as exc:
            log.warning("retention pruning skipped: %s", exc)


class AckPickup:
    def __init__(self, storage: StorageUpkeep, awaiting_ack: Callable[[], set[str]],
                 on_acks: Callable[[list[Incident], float], None]) -> None:
        self._storage = storage
        self._awaiting_ack = awaiting_ack
        self._on_acks = on_acks
        self._last = 0.0

    async def tick(self, now: float) -> None:
        if now - self._last >= ACKS_EVERY_S and self._storage.queue is not None:
            self._last = now
            await self._pick_up(now)

    async def _pick_up(self, now: float) -> None:
        pending = self._awaiting_ack()
        if not pending:
            return

        def read() -> list[Incident]:
            store = Store.open(database_url(self._storage.settings))
            try:
                return [i for i in store.incidents(open_only=True) if i.id in pending and i.acknowledged_at]
            finally:
                store.close()

        try:
            acked = await asyncio.to_thread(read)
        except StorageUnavailable:
            return
        self._on_acks(acked, now)
