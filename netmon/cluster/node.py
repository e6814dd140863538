"""`ClusterNode`: what makes one `netmon run` a node of a cluster (config `cluster:`, docs/deploy.md "Several
nodes"), built by the composition root (netmon/app.py), which hands it functions, never parts.

- **Shares by site.** The member (netmon.cluster.member) shares the SITES between the live nodes by rendezvous
  hashing, so a site's router and access points are polled by one node; `on_share(device ids)` gets the devices
  of this node's sites whenever they change (at the first heartbeat, when a node dies or joins).
- **Every node's results to the leader.** What this node polls goes into the result stream
  (netmon.cluster.results, the cluster outbox `results`); the leader hands every node's results to the fleet
  pipeline (state, outages, rollups, alerts).
- **Leading.** When the member wins the leader lease, `lead(term)` runs (the app reads states, outages, open
  incidents and tickets back from the database and starts the leader's work); only once it returned does
  `leading()` give the term, so the cluster outboxes (the results and the alerts' outboxes, which deliver only
  while `leading()`) start on a restored leader. A node that stops leading (its lease lost, or taken over after
  the database was away) calls `deposed()`: the app stops the process, and its service manager starts it again
  as a follower: a clean slate, instead of undoing the leader's state in place. Writes it still queued as leader
  are fenced out by the database (netmon.storage.queue), the results they came from are still in the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from netmon.cluster.member import ClusterMember, MemberStats, MemberTiming
from netmon.cluster.outbox import ClusterOutbox, Via
from netmon.cluster.record import WriteFence
from netmon.cluster.results import NAME as RESULTS
from netmon.cluster.results import ResultStream, WhenDurable
from netmon.config.schema import ClusterConfig
from netmon.model import Device, PollResult, Sample, SampleKind
from netmon.outbox import Deliver
from netmon.storage.cluster import ClusterStore
from netmon.storage.outbox import OutboxTable

log = logging.getLogger(__name__)

NODE_ID_ENV = "NETMON_NODE_ID"
COUNTER = SampleKind.COUNTER
SHARE_FILE = "cluster-share.json"  # in storage.data_dir: the sites this node polled when it last heard the cluster
RESULTS_BATCH = 500  # results per claim: a 10,000-device fleet at 60 s sends ~170 a second


def node_id_of(settings: ClusterConfig, env: Mapping[str, str] = os.environ) -> str:
    """NETMON_NODE_ID, else `cluster.node_id`, else the host name (first label, at most 64 characters)."""
    return (env.get(NODE_ID_ENV) or settings.node_id or socket.gethostname().split(".")[0] or "node")[:64]


class ClusterNode:
    def __init__(self, settings: ClusterConfig, url: str, devices: Mapping[str, Device], data_dir: Path, *,
                 on_share: Callable[[frozenset[str]], None], lead: Callable[[int], Awaitable[None]],
                 deposed: Callable[[], None], fleet: Callable[[PollResult], None], when_durable: WhenDurable,
                 node_id: str | None = None) -> None:
        self.node_id = node_id or node_id_of(settings)
        self._devices = devices
        self._data_dir = data_dir
        self._on_share = on_share
        self._lead = lead
        self._deposed = deposed
        self._cluster = ClusterStore.open(url, node_id=self.node_id)
        self._table = OutboxTable.open(url, node_id=self.node_id)
        self._heartbeat_s = settings.heartbeat_s
        timing = MemberTiming(settings.heartbeat_s, settings.dead_after_s, settings.lease_ttl_s,
                              settings.lease_margin_s)
        sites = {d.site for d in devices.values()}
        self.member = ClusterMember(self._cluster, self.node_id, sites, on_share=self._shared,
                                    on_leader=self._leader, timing=timing, unit="sites",
                                    on_database_back=self._database_back)
        self.results = ResultStream(self.node_id, time.time(), fleet, when_durable)
        self._results_box = self.open_outbox(RESULTS, self.results.deliver, batch=RESULTS_BATCH)
        self.results.attach(self._results_box)
        self._outboxes: list[ClusterOutbox] = [self._results_box]
        self._ready: int | None = None  # the term whose leader's work has started
        self._becoming: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._was_leader = False
        self._leaving = False

    # --- what the app reads ------------------------------------------------------------------------------

    def leading(self) -> int | None:
        """The term while this node leads AND its leader's work runs; else None."""
        term = self.member.leading()
        return term if term is not None and term == self._ready else None

    def stats(self) -> MemberStats:
        return self.member.stats()

    def fence(self) -> WriteFence | None:
        """What the storage write queue notes with each record (netmon.storage.queue): this node and its term
        while it holds the lease (also while the leader's work starts: what reading back stores is the
        leader's), so that what it wrote as leader never lands after another node has led."""
        term = self.member.leading()
        return None if term is None else WriteFence(self.node_id, term)

    def may_lead(self) -> bool:
        """False once this node no longer leads (or never did): the leader's work must not act."""
        return self.leading() is not None

    def samples(self) -> list[Sample]:
        """netmon_cluster_*: this node's part in the cluster."""
        st, node = self.member.stats(), (("node", self.node_id),)
        return [Sample("netmon_cluster_leader", 1 if self.leading() is not None else 0, node),
                Sample("netmon_cluster_live_nodes", st.live_nodes, node),
                Sample("netmon_cluster_sites", st.devices_owned, node),
                Sample("netmon_cluster_database_available", 1 if st.database_available else 0, node),
                Sample("netmon_cluster_heartbeat_failures_total", st.heartbeat_failures_total, node, COUNTER),
                Sample("netmon_cluster_results_sent_total", self.results.put_total, node, COUNTER),
                Sample("netmon_cluster_results_handed_total", self.results.handed_total, node, COUNTER),
                Sample("netmon_cluster_results_rejected_total", self.results.rejected_total, node, COUNTER),
                Sample("netmon_cluster_results_stale_total", self.results.stale_total, node, COUNTER)]

    def open_outbox(self, name: str, deliver: Deliver, *, batch: int = 50, via: Via | None = None) -> ClusterOutbox:
        """An outbox whose journal the nodes share; it delivers only while this node leads (`leading`). `via`:
        how its items reach the journal instead of the local spool (netmon.cluster.outbox)."""
        box = ClusterOutbox(name, self._data_dir / "outbox" / name, deliver, self._table, self.leading,
                            batch=batch, via=via)
        if name != RESULTS:
            self._outboxes.append(box)
        return box

    def put(self, result: PollResult) -> None:
        """A result this node polled: to the leader."""
        self.results.put(result)

    # --- running -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """The member (heartbeat, shares, lease) and the result stream, as tasks."""
        self._tasks = [asyncio.create_task(self.member.run(), name="cluster-member"),
                       asyncio.create_task(self._results_box.run(), name=f"outbox:{RESULTS}"),
                       asyncio.create_task(self._share_without_database(2 * self._heartbeat_s),
                                           name="cluster-share-kept")]

    async def stop(self) -> None:
        """The result stream first goes to the shared journal (the next leader finds it there), then the member
        leaves: it stops leading, releases the lease and deletes its row, so the others take over at once."""
        self._leaving = True  # the member steps down as it leaves: that is no deposition
        await self._results_box.drain(5.0)
        if self._becoming is not None:
            self._becoming.cancel()
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._cluster.close()
        self._table.close()

    # --- the member's callbacks (on the event loop) ------------------------------------------------------

    def _database_back(self) -> None:
        """What waited for the database goes now, not at the end of its backoff: the results this node polled
        meanwhile first of all (the leader hands the ones older than what it has as stale)."""
        for box in self._outboxes:
            box.retry_now()

    def _shared(self, sites: frozenset[str]) -> None:
        self._keep_share(sites)
        self._on_share(frozenset(d.id for d in self._devices.values() if d.site in sites))

    def _keep_share(self, sites: frozenset[str]) -> None:
        """The share on disk, for a start while the database is away (`_share_without_database`)."""
        path = self._data_dir / SHARE_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"node": self.node_id, "sites": sorted(sites)}))
            tmp.replace(path)
        except OSError as exc:
            log.warning("cluster: could not keep this node's share in %s (%s)", path, exc.strerror or exc)

    async def _share_without_database(self, wait_s: float) -> None:
        """A node that starts while the database is away owns nothing (the others never saw it); if it had a
        share when it last heard the cluster (a restart, a deposed leader), it polls that meanwhile, so the
        sites it had are not left unpolled while the others keep theirs. The first heartbeat that reaches the
        database gives the real share."""
        await asyncio.sleep(wait_s)
        if self.member.live_nodes:
            return
        try:
            kept = json.loads((self._data_dir / SHARE_FILE).read_text())
            sites = frozenset(str(s) for s in kept["sites"]) if kept.get("node") == self.node_id else frozenset()
        except (OSError, ValueError, KeyError, TypeError):
            return
        if sites and not self.member.live_nodes:
            log.warning("cluster: node %s cannot reach the database; polling the %d sites it had when it last heard "
                        "the cluster until it can", self.node_id, len(sites))
            self._on_share(frozenset(d.id for d in self._devices.values() if d.site in sites))

    def _leader(self, term: int | None) -> None:
        if term is not None:
            self._was_leader = True
            self._becoming = asyncio.create_task(self._become(term), name="cluster-lead")
            return
        if self._was_leader and not self._leaving:
            log.warning("cluster: node %s stopped leading; stopping so that it starts again as a follower",
                        self.node_id)
            self._ready = None
            self._deposed()

    async def _become(self, term: int) -> None:
        log.info("cluster: node %s leads (term %d): reading state and open incidents back, then the leader's work "
                 "starts", self.node_id, term)
        try:
            await self._lead(term)
        except Exception as exc:  # the database went away meanwhile, or a bug: start again as a follower
            log.error("cluster: node %s could not start leading (%s: %s); stopping so that it starts again",
                      self.node_id, type(exc).__name__, exc)
            self._deposed()
            return
        self._ready = term
        for box in self._outboxes:
            box.retry_now()
        log.info("cluster: node %s leader's work runs (term %d)", self.node_id, term)

    def outboxes(self) -> dict[str, Any]:
        """The result stream's outbox, for `netmon_outbox_*`."""
        return {RESULTS: self._results_box}
