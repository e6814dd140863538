"""The composition root: the one module that builds collectors, schedulers, state, storage, alerts and the
exporter, and connects them. Wiring only: every part gets what it needs as arguments (records, stores,
functions) and none reaches another through the app.

How a `PollResult` flows (docs/architecture.md): a scheduler (or an SNMP worker process) calls
`on_result`, a `ResultPipeline` (netmon.pipeline) that screens it (netmon.rejection) and hands it to
`LatestResults`, `DeviceTexts` (which re-renders the device's series for /metrics from it), the unique-client
counter, storage's rollups
(`StorageUpkeep.observe`), the `StateKeeper` (whose state changes, outages and reboots go to storage and,
through `AlertFeed`/`AlertDelivery`, to MQTT and the alert engine) and the `AlertFeed`. Nothing comes back here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alerts.delivery import AlertDelivery
from alerts.engine import AlertEngine
from alerts.feed import AlertFeed
from alerts.queue import Deliver, Output
from alerts.setup import alert_config, contact_channels, open_outputs
from alerts.sinks.report_mail import open_report_mail
from collectors.snmp.profile import ProfileSet, load_profiles
from netmon.agents.office import OfficeAgents
from netmon.cluster.node import ClusterNode
from netmon.cluster.outbox import ClusterOutbox
from netmon.config import Config
from netmon.config.webconfig import WebConfig, load_web_config
from netmon.daemon_metrics import DaemonMetrics, MetricSources, polling_alive
from netmon.errors import ConfigError
from netmon.exporter import ExporterServer
from netmon.exposition import DeviceTexts, Page, flat
from netmon.heap import GcWatch
from netmon.latest import LatestResults, Snapshot
from netmon.lock import DaemonLock
from netmon.model import PollResult
from netmon.outbox import Outbox
from netmon.pipeline import ResultPipeline, client_counter
from netmon.polling import Polling
from netmon.privacy import DailyUniqueClients
from netmon.push.endpoint import PushEndpoint
from netmon.push.watch import PushWatch
from netmon.rejection import RejectionTracker
from netmon.report.schedule import ReportSchedule, SharedRecord
from netmon.state import AvailabilityTracker, OutageTracker, in_maintenance
from netmon.state.cause import ancestors
from netmon.state.keeper import StateKeeper, StateOutputs
from netmon.storage import Store, WriteQueue
from netmon.storage.record import OutboxAppend, ReportQueued
from netmon.storage.upkeep import AckPickup, Restored, StorageUpkeep
from netmon.storage.url import database_url
from netmon.worker import ShardedSnmpPoller

log = logging.getLogger(__name__)

EX_TEMPFAIL = 75  # a cluster node that stopped leading exits with it; its service manager starts it again
HOUSEKEEPING_S = 5.0  # the time edges: state machine, outage causes, alert tolerances, storage timers
CHECKPOINT_S = 300.0  # a cluster's leader writes the running hour's rollups this often (a kill -9 loses less)


class NetmonApp:
    def __init__(self, config: Config, profiles: ProfileSet | None = None, *,
                 agent_clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.agents = OfficeAgents(config.agents, config.devices, clock=agent_clock)  # sites behind site agents
        self.profiles = profiles or load_profiles()
        self._started = time.monotonic()
        self.gc_watch = GcWatch()  # installed by serve(): the garbage collector's pauses for /metrics
        self.reports: ReportSchedule | None = None  # report.schedule, opened by serve()
        self.report_outputs: dict[str, Output] = {}
        self.report_clock: Callable[[], float] = time.time  # the report schedule's wall clock (tests set one)
        self.rejections = RejectionTracker()  # implausible samples stop here (netmon.plausibility)
        self.latest = LatestResults(config.sites, config.devices, self.rejections)
        self.exposition = DeviceTexts(self.latest.part, config.devices)  # each device's /metrics text
        self.uniques = DailyUniqueClients({s.id: s.timezone for s in config.sites.values()},
                                          default=config.timezone)
        self.storage = StorageUpkeep(config.storage, config.sites, config.devices, daily_uniques=self.uniques.daily)
        self._wire_alerts()
        self.state = StateKeeper(
            AvailabilityTracker(config.devices, config.state, started_at=time.time()),
            OutageTracker(config.devices, config.sites, config.maintenance, policy=config.state),
            StateOutputs(store=self.storage.store, on_state=self.delivery.device_state,
                         on_outage=self.delivery.outage, on_reboot=self.agents.gate.reboots(self.alerts.observe_reboot),
                         on_states=self.agents.gate.states(self.alerts.observe_state),
                         judged=self.agents.gate.judges, on_agent_states=self.agents.gate.note),
            config.devices, agent_of=self.agents.agent_of)
        fleet = [client_counter(self.uniques.add, config.devices), self.storage.observe, self.state.observe,
                 self.agents.gate.results(self.alerts.observe_result)]
        self.node: ClusterNode | None = None  # a node of a cluster (config `cluster:`), made by serve()
        self.exit_code = 0  # 75 (EX_TEMPFAIL) when a cluster node stopped because it no longer leads
        if config.cluster is None:
            self.on_result = ResultPipeline(self.rejections.screen, [
                self.latest.record, self.exposition.observe, *fleet])
        else:  # what this node polls goes to the leader, whose fleet pipeline takes every node's results
            self.fleet = ResultPipeline(_as_is, fleet)
            self.on_result = ResultPipeline(self.rejections.screen, [
                self.latest.record, self.exposition.observe, self._to_leader])
        self.agents.attach(self.on_result, self.state, self.storage.store, self.alerts.observe_agents,
                           durable=self.storage.when_durable)
        self._wire_collectors()
        self.push_watch = PushWatch(config.devices.values(), self.on_result, started_at=time.time())
        self.push = PushEndpoint(config.devices, self.on_result, self.push_watch)  # routers that push (docs/push.md)
        self.metrics = DaemonMetrics(MetricSources(
            pollers=self.schedulers, sites=config.sites, state=self.state, unique_clients=self.uniques.counts,
            outputs=lambda: self._outputs() | (self.node.outboxes() if self.node is not None else {}),
            open_incidents=lambda: len(self.alerts.open_incidents()), storage=lambda: self.storage.stats,
            agents=self.agents.samples, snmpv3_rejected=self.polling.snmpv3_rejected, gc=self.gc_watch.samples,
            pages=lambda: self.exporter.cost() if self.exporter is not None else None,
            fleet=lambda: config.cluster is None or (self.node is not None and self.node.leading() is not None),
            cluster=lambda: self.node.samples() if self.node is not None else []))
        self.exporter: ExporterServer | None = None
        self._leader_tasks: list[asyncio.Task[None]] = []  # the time edges and the report (a cluster's leader)

    def _wire_alerts(self) -> None:
        config = self.config
        self.alert_config = alert_config(config.alerts)
        engine = AlertEngine(config.devices, config.sites, self.alert_config,
                             maintenance=functools.partial(in_maintenance, config.maintenance),
                             ancestors=functools.partial(ancestors, devices=config.devices))
        self.delivery = AlertDelivery(config.devices, config.sites, self.alert_config, store=self.storage.store,
                                      ticket=engine.ticket,
                                      contacts=contact_channels(config.alerts, config.sites.values()))
        self.alerts = AlertFeed(engine, config.devices, self.delivery.deliver,
                                neighbour_source=self.latest.neighbour_source)
        self.acks = AckPickup(self.storage, self.alerts.awaiting_ack, self.alerts.acknowledged)

    def _wire_collectors(self) -> None:
        self.polling = Polling(self.config.polled_devices(), self.config.scheduler, self.profiles, self.on_result,
                               fingerprint=self.uniques.fingerprint)
        self.snmp, self.routeros, self.ping = self.polling.snmp, self.polling.routeros, self.polling.ping
        self.pollers, self.schedulers = self.polling.pollers, self.polling.schedulers

    @property
    def queue(self) -> WriteQueue | None:
        """The storage write queue (None until `open_storage`)."""
        return self.storage.queue

    def snapshot(self) -> Snapshot:
        return self.latest.snapshot(flat(self.metrics.samples()))

    def page(self) -> Page:
        """What /metrics shows: every device's kept text and the daemon's own samples."""
        return self.exposition.page(self.metrics.samples())

    def healthy(self) -> bool:
        """Alive while every scheduler keeps starting polls (or has nothing to poll)."""
        return polling_alive(self.schedulers, started=self._started, slack_s=self.config.scheduler.poll_deadline_s)

    async def poll_once(self, device_ids: Iterable[str] | None = None) -> Snapshot:
        for result in await self.polling.poll_once(device_ids):
            self.on_result(result)
        return self.latest.snapshot([s for s in flat(self.metrics.samples())
                                     if not s.metric.startswith(("netmon_scheduler_", "netmon_storage_"))])

    async def open_storage(self) -> None:
        """Open storage (netmon.storage.upkeep) and hand what it kept to the parts: stored SNMP discoveries to
        the collector (or its workers), states and outages to the state keeper, open incidents and their
        tickets to the alerts (a cluster node does that when it starts to lead: `_lead`)."""
        restored = await self.storage.open(fence=self.node.fence if self.node is not None else None)
        key = self.storage.discovery_key()
        self.snmp.keep_discoveries(restored.discoveries, self.storage.store, key)
        for poller in self.schedulers:
            if isinstance(poller, ShardedSnmpPoller):
                poller.keep_discoveries(restored.discoveries, self.storage.store, key)
        if self.node is None:
            self._restore(restored)

    def _restore(self, restored: Restored) -> None:
        self.state.restore(restored.states, restored.open_outages)
        self.alerts.restore(restored.incidents, restored.tickets, at=restored.at or time.time())
        self.agents.restore(restored.agent_progress, restored.agent_gaps)

    # --- a node of a cluster (netmon.cluster.node) ---------------------------------------------------------

    def _to_leader(self, result: PollResult) -> None:
        if self.node is not None:  # `netmon poll --once` with a cluster config: not a node, nothing to send
            self.node.put(result)

    def _join_cluster(self, stop: asyncio.Event) -> ClusterNode:
        settings = self.config.cluster
        assert settings is not None

        def deposed() -> None:
            self.exit_code = EX_TEMPFAIL
            for task in self._leader_tasks:  # at once: nothing of the leader's may act from now on
                task.cancel()
            stop.set()

        return ClusterNode(settings, database_url(self.config.storage), self.config.polled_devices(),
                           self.storage.data_dir, on_share=self._share, lead=self._lead, deposed=deposed,
                           fleet=self.fleet, when_durable=self.storage.when_durable)

    def _journal_item(self, outbox: str, item: dict[str, Any]) -> None:
        """A leader's notification, ticket update, event or report mail goes to the shared journal through the
        write queue, after the incident it tells of: both are written, or (fenced) neither."""
        assert self.node is not None
        self.storage.store(OutboxAppend(outbox, json.dumps(item, separators=(",", ":"), ensure_ascii=False),
                                        self.node.node_id))

    def _share(self, devices: frozenset[str]) -> None:
        """This node's devices changed: poll them and export them, no others."""
        gone = {d.id for s in self.schedulers for d in s.devices} - devices
        self.polling.set_share(devices)
        self.latest.forget(gone)
        self.exposition.keep_only(devices)

    async def _lead(self, term: int) -> None:
        """This node leads from now on: read states, outages, open incidents and tickets back (the last leader
        left them in the database), then start the leader's work (the time edges, the scheduled report)."""
        restored = await self.storage.reread(unknown_after_s=self._cluster_gap_s())
        self.storage.checkpoint_s = CHECKPOINT_S
        self._restore(restored)
        self._leader_tasks = [asyncio.create_task(self.housekeeping(), name="housekeeping"),
                              *self._start_reports()]

    def _cluster_gap_s(self) -> float:
        """A leader's heartbeat older than this means nobody led (a whole cluster down): an unknown span."""
        settings = self.config.cluster
        assert settings is not None
        return settings.lease_ttl_s + settings.dead_after_s + 2 * settings.heartbeat_s

    async def housekeeping(self) -> None:
        """The time edges, every HOUSEKEEPING_S: state machine and outage causes, alert tolerances and
        escalation, storage timers (rollups, heartbeat, unique counts, retention), picked-up acknowledgements."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            if self.node is not None and not self.node.may_lead():
                continue  # a cluster node that stopped leading: it stops, its state is no one's to keep
            now = time.time()
            self.state.tick(now)
            self.agents.tick()
            self.alerts.tick(now)
            await self.storage.tick(now)
            await self.acks.tick(now)

    def _web_config(self) -> WebConfig | None:
        """The exporter's web config file (TLS, basic auth), relative to the main config file."""
        name = self.config.exporter.web_config_file
        if name is None:
            return None
        base = Path(self.config.files[0]).parent if self.config.files else Path.cwd()
        return load_web_config(base / Path(name).expanduser())

    def _open_outbox(self, name: str, deliver: Deliver) -> Outbox | ClusterOutbox:
        if self.node is not None:  # the journal in the database: only the leader delivers, a hand-over loses nothing
            return self.node.open_outbox(name, deliver, via=self._journal_item)
        return Outbox(name, self.storage.data_dir / "outbox" / name, deliver)

    def _outputs(self) -> dict[str, Output]:
        """Every outbox (and MQTT) by name: the alerts' outputs and the report mail's."""
        return self.delivery.outputs.named() | self.report_outputs

    def _open_reports(self) -> None:
        """The scheduled report (netmon.report.schedule) and its `report-mail` outbox, when report.schedule
        asks for them (started by `_start_reports`)."""
        opened = open_report_mail(self.config.report, self.config.report_secrets, self.config.alerts,
                                  self._open_outbox)
        if opened is None:
            return
        mail, self.report_outputs["report-mail"] = opened
        shared = None if self.node is None else SharedRecord(
            read=self._stored_schedule, write=lambda key, at: self.storage.store(ReportQueued(key, at)))
        self.reports = ReportSchedule(self.config, mail.post, backlog=lambda: self.storage.stats,
                                      clock=self.report_clock, shared=shared)

    def _stored_schedule(self) -> dict[str, float]:
        """A cluster's scheduled report: what was queued (blocking)."""
        store = Store.open(database_url(self.config.storage))
        try:
            return store.report_schedule()
        finally:
            store.close()

    def _start_reports(self) -> list[asyncio.Task[None]]:
        return [] if self.reports is None else [asyncio.create_task(self.reports.run(), name="report-schedule")]

    async def serve(self, stop: asyncio.Event, *, started: Callable[[], object] = lambda: None) -> None:
        """Run the daemon until `stop` is set; `started` is called once everything runs (`netmon run` settles
        the garbage collector there, netmon.heap)."""
        web_config = self._web_config()  # a bad web config file stops the start before anything runs
        if self.config.cluster is not None:
            self._check_cluster_storage()
            self.node = self._join_cluster(stop)
            self.polling.set_share(frozenset())  # nothing until the first heartbeat says what is this node's
            self.exposition.keep_only(())
        # one daemon per storage; in a cluster one per data directory (the nodes share the database)
        self._lock = await asyncio.to_thread(DaemonLock.acquire, self.config.storage,
                                             shared=self.node is not None)
        await self.open_storage()
        assert self.storage.queue is not None
        writer = asyncio.create_task(self.storage.queue.run(), name="storage")
        self.delivery.attach(open_outputs(self.config.alerts, self.alert_config,
                                          contact_channels(self.config.alerts, self.config.sites.values()),
                                          self._open_outbox, node=self.node.node_id if self.node else None))
        self._open_reports()
        senders = [asyncio.create_task(output.run(), name=f"outbox:{name}" if name != "mqtt" else "mqtt")
                   for name, output in self._outputs().items()]
        self._leader_tasks = []
        if self.node is None:
            self._leader_tasks = [asyncio.create_task(self.housekeeping(), name="housekeeping"),
                                  *self._start_reports()]
        exp = self.config.exporter
        self.exporter = ExporterServer(self.page, self.healthy, exp.listen, exp.port, web_config,
                                       more=[self.push.route()])
        await self.exporter.start()
        log.info("polling %d devices at %d sites (%s)", len(self.config.devices), len(self.config.sites),
                 self.polling.summary() if self.node is None else f"node {self.node.node_id} of a cluster: its "
                 "share once it has heard the others")
        pollers = self.polling.tasks()
        pollers.append(asyncio.create_task(self.push_watch.run(), name="push-watch"))
        pollers.append(asyncio.create_task(self.agents.run(), name="agents"))
        if self.node is not None:
            self.node.start()
        self.gc_watch.install()
        started()
        try:
            await stop.wait()
        finally:
            self.gc_watch.remove()
            await self._shut_down(pollers, senders, writer)

    def _check_cluster_storage(self) -> None:
        if not database_url(self.config.storage).startswith("postgresql"):
            raise ConfigError("several nodes need one PostgreSQL database: set storage.database_url (or "
                              "NETMON_DATABASE_URL) to it", file=self.config.files[0] if self.config.files else None,
                              line=self.config.cluster_line, key="cluster")

    async def _shut_down(self, polling: list[asyncio.Task[None]], senders: list[asyncio.Task[None]],
                         writer: asyncio.Task[None]) -> None:
        """Polls end, then what is queued is delivered: outboxes and MQTT 5 s each, the database 10 s."""
        log.info("stopping: polls end, then what is queued is delivered (outboxes 5 s each, database 10 s)")
        await _cancel(polling)
        leading = self.node is None or self.node.leading() is not None
        await _cancel(self._leader_tasks)
        if self.exporter is not None:
            await self.exporter.stop()
        if leading:
            self.state.flush()  # state changes of the last second, before storage is drained
            self.storage.final(time.time())
        outputs = self._outputs()
        for output in outputs.values():
            await output.drain(5.0)
        for task in senders:
            task.cancel()
        if self.node is not None:
            await self.node.stop()  # what this node polled to the shared journal, then it leaves the cluster
        assert self.storage.queue is not None
        await self.storage.queue.drain(10.0)
        await _cancel([writer])
        await self.close()
        kept = {name: output.stats.pending for name, output in outputs.items() if output.stats.pending}
        q = self.storage.queue.stats
        log.info("stopped: %d records written to the database since start; kept for the next start: "
                 "%d records in the spool, %s", q.written_total, q.spooled + q.depth,
                 ", ".join(f"{n} {name} items" for name, n in kept.items()) or "no undelivered items")

    async def close(self) -> None:
        if (lock := getattr(self, "_lock", None)) is not None:
            lock.release()
        await self.polling.close()


def _as_is(result: PollResult) -> PollResult:
    return result  # the leader's fleet pipeline: every result was screened by the node that polled it


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
