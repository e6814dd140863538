"""The composition root: the one module that builds collectors, schedulers, exporter (and later state,
storage and alerts) and connects them. Everything else receives what it needs as arguments."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from alerts.engine import AlertEngine, AlertOutput
from alerts.message import render
from alerts.mqtt import MqttEvents, MqttSettings
from alerts.notify import Notification, Notifier
from alerts.route import AlertConfig, Channel, Escalation, RouteRule, route
from alerts.rules import MetricRule, OpeningHours, RuleSettings, Tolerance
from alerts.sinks.mail import MailTicketSink, TicketMail
from alerts.sinks.webhook import AlertmanagerAlert, AlertmanagerWebhookSink, WebhookTicketSink
from alerts.ticket import TicketAction
from collectors.ping.collector import PingCollector
from collectors.routeros.collector import RouterOsCollector
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import ProfileSet, load_profiles
from netmon.config import Config
from netmon.config.alerting import AlertSettings
from netmon.config.webconfig import WebConfig, load_web_config
from netmon.exporter import ExporterServer
from netmon.keyfile import load_or_create
from netmon.latest import LatestResults, Snapshot
from netmon.lock import DaemonLock
from netmon.model import (
    Device,
    DeviceState,
    Incident,
    Outage,
    PollResult,
    Reboot,
    Sample,
    SampleKind,
    Secret,
    Source,
    StateChange,
    Status,
    StoredDiscovery,
    Ticket,
)
from netmon.outbox import Outbox
from netmon.privacy import DailyUniqueClients
from netmon.rejection import RejectionTracker
from netmon.scheduler import PollFn, Scheduler
from netmon.state import AvailabilityTracker, OutageTracker
from netmon.storage import (
    DailyUniques,
    Heartbeat,
    Record,
    RollupAccumulator,
    StorageUnavailable,
    Store,
    UnknownSpan,
    WriteQueue,
    announce_database,
    database_url,
)
from netmon.worker import ShardedSnmpPoller, WorkerSettings

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 5.0  # state machine time edge, outage reclassification
OUTAGES_EVERY_S = 1.0  # at most one re-derivation of outages and availability alerts per second
HEARTBEAT_S = 30.0  # bounds the `unknown` span after a crash
UNIQUES_EVERY_S = 300.0
PRUNE_EVERY_S = 24 * 3600.0
ACKS_EVERY_S = 10.0  # `netmon tickets ack` writes to the database; the daemon picks it up this often


class NetmonApp:
    def __init__(self, config: Config, profiles: ProfileSet | None = None) -> None:
        self.config = config
        self.profiles = profiles or load_profiles()
        self._validate_profiles(config.devices.values())
        self.latest = LatestResults(config.sites, config.devices)
        self.rejections = RejectionTracker()  # implausible samples stop here (netmon.plausibility)
        self.uniques = DailyUniqueClients({s.id: s.timezone for s in config.sites.values()},
                                          default=config.timezone)
        self.snmp = SnmpCollector(self.profiles)
        self._routeros_threads = ThreadPoolExecutor(max_workers=config.scheduler.routeros_threads,
                                                    thread_name_prefix="routeros")
        self.routeros = RouterOsCollector(self._routeros_threads, fingerprint=self.uniques.fingerprint)
        self.ping = PingCollector()
        self.pollers: dict[Source, PollFn] = {Source.SNMP: self.snmp.poll, Source.ROUTEROS: self.routeros.poll,
                                              Source.PING: self.ping.poll}
        self.schedulers: list[Scheduler | ShardedSnmpPoller] = [
            self._sharded_snmp() if source is Source.SNMP and config.scheduler.workers > 1
            else self._scheduler(config.devices.values(), source)
            for source in self.pollers]
        self.exporter: ExporterServer | None = None
        self._started = time.monotonic()
        now = time.time()
        self.availability = AvailabilityTracker(config.devices, config.state, started_at=now)
        self.outages = OutageTracker(config.devices, config.sites, config.maintenance, policy=config.state)
        self.rollups = RollupAccumulator()
        self.reboots: dict[str, int] = dict.fromkeys(config.devices, 0)  # 0 from the first scrape: increase()
        self.queue: WriteQueue | None = None  # storage is attached by serve(); `poll --once` stores nothing
        self.alert_config = alert_config(config.alerts)
        self.alerts = AlertEngine(config.devices, config.sites, self.alert_config, windows=config.maintenance)
        self.outboxes: dict[str, Outbox] = {}  # notifications and ticket sinks, attached by serve()
        self._outages_at = 0.0  # time of the latest state change not yet re-derived into outages
        self._outages_last = float("-inf")  # loop time of the last re-derivation
        self._outages_pending = False
        self.mqtt: MqttEvents | None = None

    def _sharded_snmp(self) -> ShardedSnmpPoller:
        """SNMP polling in `scheduler.workers` processes, each over a stable shard of the devices."""
        sched = self.config.scheduler
        settings = WorkerSettings(max_in_flight=sched.max_in_flight, jitter_s=sched.jitter_s,
                                  deadline_s=sched.poll_deadline_s,
                                  log_level=logging.getLogger().getEffectiveLevel())
        return ShardedSnmpPoller(self.config.devices.values(), sched.workers, settings, self.on_result)

    def _scheduler(self, devices: Iterable[Device], source: Source, *, jitter_s: float | None = None) -> Scheduler:
        sched = self.config.scheduler
        return Scheduler(devices, self.pollers[source], self.on_result, source=source,
                         max_in_flight=sched.max_in_flight,
                         jitter_s=sched.jitter_s if jitter_s is None else jitter_s,
                         deadline_s=sched.poll_deadline_s)

    def _validate_profiles(self, devices: Iterable[Device]) -> None:
        for device in devices:
            if device.profile:
                self.profiles.get(device.profile)  # raises ConfigError naming the unknown profile

    def on_result(self, result: PollResult) -> None:
        result = self.rejections.screen(result)
        self.latest.record(result)
        device = self.config.devices.get(result.device)
        if result.fingerprints and device is not None:
            self.uniques.add(device.site, result.fingerprints)
        events = self.availability.observe(result)
        for rollup in self.rollups.add(result):
            self._store(rollup)
        at = result.started_at + result.duration_s
        self._after(events, at)
        self._alert(self.alerts.observe_result(result, at))
        if device is not None and result.neighbours and self.latest.neighbour_source(device.id) is result.source:
            for address in result.neighbours:
                if address not in self._known_addresses:  # equipment the inventory does not hold
                    self._alert(self.alerts.observe_unknown_device(device.site, f"ip:{address}", at))

    def _after(self, events: Iterable[StateChange | Reboot], at: float) -> None:
        """Record state changes and reboots, and re-derive outages when the picture changed."""
        events = list(events)
        if not events:
            return  # the common case: no need to build the states of every device
        changed = False
        for event in events:
            self._store(event)
            if isinstance(event, Reboot):
                self.reboots[event.device] = self.reboots.get(event.device, 0) + 1
                self._alert(self.alerts.observe_reboot(event))
                log.info("device %s rebooted at %s", event.device,
                         datetime.fromtimestamp(event.booted_at, UTC).isoformat(timespec="seconds"),
                         extra={"device": event.device})
                continue
            changed = True
            state = self.availability.state(event.device)
            self._store(state)
            self._publish_state(event.device, state)
            if event.old is not Status.UNKNOWN or event.new is not Status.UP:
                log.info("device %s: %s -> %s (%s)", event.device, event.old.value, event.new.value, event.reason,
                         extra={"device": event.device, "state": event.new.value})
        if changed:
            self._outages_changed(at)

    def _outages_changed(self, at: float) -> None:
        """Re-derive outages and availability alerts after state changes: at once, but at most once per
        OUTAGES_EVERY_S while changes keep coming (each pass looks at every device, and a fleet coming up
        at start changes thousands of states within a minute); the last pass of a burst comes
        OUTAGES_EVERY_S after the one before. Without a running event loop (tests, `netmon poll`): at once."""
        self._outages_at = max(at, self._outages_at)
        if self._outages_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._update_outages(self._outages_at)
            return
        wait = self._outages_last + OUTAGES_EVERY_S - loop.time()
        if wait <= 0:
            self._outages_last = loop.time()
            self._update_outages(self._outages_at)
            return
        self._outages_pending = True
        loop.call_later(wait, self._flush_outages)

    def _flush_outages(self) -> None:
        if self._outages_pending:
            self._outages_pending = False
            self._outages_last = asyncio.get_running_loop().time()
            self._update_outages(self._outages_at)

    def _update_outages(self, at: float) -> None:
        closed = []
        states = self.availability.states()
        for event in self.outages.update(states, at):
            self._store(event.outage)
            if event.outage.ended_at is not None:
                closed.append(event.outage)
            device = self.config.devices.get(event.outage.device)
            if self.mqtt is not None and device is not None and device.site in self.config.sites:
                self.mqtt.outage(device, self.config.sites[device.site], event.outage)
            outage = event.outage
            log.warning("outage %s: device %s, cause %s%s", event.kind, outage.device, outage.cause.value,
                        f" (was {event.previous_cause.value})" if event.previous_cause else "",
                        extra={"device": outage.device, "cause": outage.cause.value, "outage": outage.id})

        outages = self.outages.open_outages() + closed
        self._alert(self.alerts.observe_state(states, outages, at))

    def _publish_state(self, device_id: str, state: DeviceState) -> None:
        device = self.config.devices.get(device_id)
        if self.mqtt is not None and device is not None and device.site in self.config.sites:
            self.mqtt.device_state(device, self.config.sites[device.site], state)

    def _alert(self, output: AlertOutput) -> None:
        """Incident changes and ticket actions: store them, publish them, tell people and the helpdesk."""
        devices, sites = self.config.devices, self.config.sites
        for change in output.changes:
            incident = change.incident
            self._store(incident)
            if self.mqtt is not None:
                self.mqtt.incident(incident)
            notify = self.outboxes.get("notify")
            if notify is None:
                continue
            delivery = route(incident, sites, self.alert_config, kind=change.kind)
            ticket = self.alerts.ticket(incident.id)
            for channel in delivery.channels:
                message = render(incident, devices, sites, language=channel.language, kind=change.kind, ticket=ticket)
                notify.put(Notification(f"{incident.id}.{change.kind}.{channel.name}", channel.name, message.subject,
                                        message.body, message.notify_type.value).to_item())
            for contact in delivery.contacts:
                name = f"kim:{contact.email}"
                if contact.email and name in self._contact_channels:
                    message = render(incident, devices, sites, language="id", kind=change.kind, ticket=ticket)
                    notify.put(Notification(f"{incident.id}.{change.kind}.{name}", name, message.subject,
                                            message.body, message.notify_type.value).to_item())
        for action in output.actions:
            self._store(action.ticket)
            if self.mqtt is not None:
                self.mqtt.ticket(action.ticket, action.incident)
            mail = TicketMail(action.key, action.ticket.id, action.kind, _ticket_subject(action), action.text,
                              action.at).to_item()
            for name in ("ticket-mail", "ticket-webhook"):
                if name in self.outboxes:
                    self.outboxes[name].put(mail)
            if "alertmanager" in self.outboxes:
                self.outboxes["alertmanager"].put(
                    AlertmanagerAlert.from_incident(action.incident, id=action.key, summary=action.subject,
                                                    description=action.text).to_item())

    @functools.cached_property
    def _known_addresses(self) -> frozenset[str]:
        return frozenset(d.address for d in self.config.devices.values())

    @property
    def _contact_channels(self) -> dict[str, Secret]:
        """One notification channel per KIM contact with an email, through `alerts.kim_contact_url`."""
        base = self.config.alerts.secret("kim_contact_url")
        if base is None:
            return {}
        url = base.reveal()
        joiner = "&" if "?" in url else "?"
        return {f"kim:{site.kim_contact.email}": Secret(f"{url}{joiner}to={site.kim_contact.email}")
                for site in self.config.sites.values() if site.kim_contact and site.kim_contact.email}

    def start_alert_outputs(self, spool: Path) -> None:
        """The outboxes of notifications and ticket sinks, and MQTT events, as the config asks."""
        settings = self.config.alerts
        section = settings.section
        channels = {c.name: c.url for c in self.alert_config.channels} | self._contact_channels
        if channels:
            self.outboxes["notify"] = Outbox("notify", spool / "notify", Notifier(channels).deliver)
        mail = section.tickets.mail
        if mail is not None:
            sink = MailTicketSink(host=mail.host, port=mail.port, sender=mail.sender, recipient=mail.recipient,
                                  starttls=mail.starttls, implicit_tls=mail.implicit_tls, user=mail.user,
                                  password=settings.secret("mail.password"), domain=mail.domain)
            self.outboxes["ticket-mail"] = Outbox("ticket-mail", spool / "ticket-mail", sink.deliver)
        hook = section.tickets.webhook
        secret = settings.secret("webhook.secret")
        if hook is not None and secret is not None:
            self.outboxes["ticket-webhook"] = Outbox("ticket-webhook", spool / "ticket-webhook",
                                                     WebhookTicketSink(hook.url, secret).deliver)
        am = section.tickets.alertmanager
        if am is not None:
            self.outboxes["alertmanager"] = Outbox("alertmanager", spool / "alertmanager",
                                                   AlertmanagerWebhookSink(am.url).deliver)
        if section.mqtt is not None:
            m = section.mqtt
            self.mqtt = MqttEvents(MqttSettings(host=m.host, port=m.port, prefix=m.prefix, client_id=m.client_id,
                                                username=m.username, password=settings.secret("mqtt.password"),
                                                tls=m.tls), spool / "mqtt")

    def _store(self, record: Record) -> None:
        if self.queue is not None:
            self.queue.put(record)

    def process_samples(self) -> list[Sample]:
        stats = [s.stats for s in self.schedulers]
        counter = SampleKind.COUNTER
        out = [
            Sample("netmon_scheduler_polls_in_flight", sum(s.in_flight for s in stats)),
            Sample("netmon_scheduler_devices", sum(len(s.devices) for s in self.schedulers)),
            Sample("netmon_scheduler_missed_cycles_total", sum(s.missed_cycles_total for s in stats), kind=counter),
            Sample("netmon_scheduler_polls_total", sum(s.polls_total for s in stats), kind=counter),
        ]
        out += [Sample("netmon_site_info", 1, (("site", site.id), ("name", site.name), ("desa", site.desa),
                                                ("kecamatan", site.kecamatan), ("kabupaten", site.kabupaten)))
                for site in sorted(self.config.sites.values(), key=lambda site: site.id)]
        out += [Sample("netmon_site_unique_clients_today", count, (("site", site),))
                for site, count in sorted(self.uniques.counts().items())]
        out += self.state_samples()
        out += self.rejections.samples()
        boxes = dict(self.outboxes) | ({"mqtt": self.mqtt} if self.mqtt is not None else {})
        for name, box in sorted(boxes.items()):
            box_stats = box.stats
            labels = (("outbox", name),)
            out += [Sample("netmon_outbox_pending", box_stats.pending, labels),
                    Sample("netmon_outbox_available", 1 if box_stats.available else 0, labels),
                    Sample("netmon_outbox_delivered_total", box_stats.delivered_total, labels, counter),
                    Sample("netmon_outbox_failures_total", box_stats.failures_total, labels, counter)]
        out.append(Sample("netmon_incidents_open", len(self.alerts.open_incidents())))
        if self.queue is not None:
            q = self.queue.stats
            out += [
                Sample("netmon_storage_queue_depth", q.depth),
                Sample("netmon_storage_spooled_records", q.spooled),
                Sample("netmon_storage_available", 1 if q.available else 0),
                Sample("netmon_storage_write_failures_total", q.failures_total, kind=counter),
                Sample("netmon_storage_records_written_total", q.written_total, kind=counter),
            ]
        return out

    def state_samples(self) -> list[Sample]:
        out: list[Sample] = []
        for device_id, state in sorted(self.availability.states().items()):
            out += [Sample("netmon_device_state", 1 if state.status is status else 0,
                           (("device", device_id), ("state", status.value))) for status in Status]
        for outage in sorted(self.outages.open_outages(), key=lambda o: o.device):
            out.append(Sample("netmon_device_outage_active", 1, (("device", outage.device),
                                                                  ("cause", outage.cause.value))))
        out += [Sample("netmon_device_reboots_total", count, (("device", device_id),), SampleKind.COUNTER)
                for device_id, count in sorted(self.reboots.items())]
        return out

    def snapshot(self) -> Snapshot:
        return self.latest.snapshot(self.process_samples())

    def healthy(self) -> bool:
        """Alive while every scheduler keeps starting polls (or has nothing to poll)."""
        slack = self.config.scheduler.poll_deadline_s
        for scheduler in self.schedulers:
            devices = scheduler.devices
            if not devices:
                continue
            longest = max(d.interval_s for d in devices) * 2 + slack
            last = scheduler.stats.last_tick or self._started
            if time.monotonic() - last >= longest:
                return False
        return True

    async def poll_once(self, device_ids: Iterable[str] | None = None) -> Snapshot:
        wanted = set(device_ids) if device_ids else None
        devices = [d for d in self.config.devices.values() if wanted is None or d.id in wanted]
        once = [self._scheduler(devices, source, jitter_s=0) for source in self.pollers]
        for results in await asyncio.gather(*(s.poll_once() for s in once)):
            for result in results:
                self.on_result(result)
        return self.latest.snapshot([s for s in self.process_samples()
                                     if not s.metric.startswith(("netmon_scheduler_", "netmon_storage_"))])

    async def open_storage(self) -> None:
        """Open the database, migrate it, sync the inventory, restore state after a restart (clean or not),
        and start the write queue. A database that is away at start-up does not stop the daemon: state
        starts unknown and records queue (and spill to disk) until it returns."""
        url = database_url(self.config.storage)
        data_dir = Path(self.config.storage.data_dir).expanduser().resolve()
        self.queue = WriteQueue(lambda: Store.open(url), data_dir / "spool", max_memory=self.config.storage.queue_max)
        now = time.time()
        announce_database(url, self.config.storage)
        try:
            restored = await asyncio.to_thread(self._prepare_store, url, now)
        except StorageUnavailable as exc:
            log.error("storage unavailable at start (%s); state starts unknown, writes are queued", exc)
            self._keep_discoveries([], data_dir)
            return
        states, open_outages, last_heartbeat, incidents, tickets, discoveries = restored
        self._keep_discoveries(discoveries, data_dir)
        self.availability.restore(states)
        self.outages.restore(open_outages, states)
        self.alerts.restore(incidents, tickets, at=now)
        if last_heartbeat is not None and now > last_heartbeat:
            self._store(UnknownSpan(last_heartbeat, now))
        if states or open_outages:
            log.info("restored %d device states and %d open outages from storage", len(states),
                     len(open_outages))

    def _keep_discoveries(self, kept: list[StoredDiscovery], data_dir: Path) -> None:
        """SNMP discoveries kept across restarts: stored ones to the collector (or its workers), new ones
        through the write queue; their fingerprints are keyed by a file beside the database."""
        key = load_or_create(data_dir / "discovery.key")
        if kept:
            log.info("%d stored SNMP discoveries: devices whose facts still fit are not discovered again", len(kept))
        self.snmp.keep_discoveries(kept, self._store, key)
        for poller in self.schedulers:
            if isinstance(poller, ShardedSnmpPoller):
                poller.keep_discoveries(kept, self._store, key)

    def _prepare_store(self, url: str, now: float) -> tuple[list[DeviceState], list[Outage], float | None,
                                                             list[Incident], list[Ticket], list[StoredDiscovery]]:
        store = Store.open(url)
        try:
            store.upgrade()
            store.sync_inventory(self.config.sites, self.config.devices, now)
            incidents = store.incidents(open_only=True)
            wanted = {i.id for i in incidents}
            tickets = [t for t in store.tickets() if t.incident in wanted]
            return (store.load_states(), store.load_open_outages(), store.last_heartbeat(), incidents, tickets,
                    store.load_discoveries(Source.SNMP))
        finally:
            store.close()

    async def housekeeping(self) -> None:
        """Periodic work: the state machine's time edge, heartbeats, daily unique counts, retention."""
        last_beat = last_uniques = last_acks = 0.0
        last_prune = time.time()
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            now = time.time()
            self._after(self.availability.tick(now), now)
            if self.outages.open_outages():
                self._outages_changed(now)  # causes settle on time too (a device not back with its site)
            self._alert(self.alerts.tick(now))
            for rollup in self.rollups.flush(now):
                self._store(rollup)
            if now - last_beat >= HEARTBEAT_S:
                self._store(Heartbeat(now))
                last_beat = now
            if now - last_uniques >= UNIQUES_EVERY_S:
                for site, day, count in self.uniques.daily():  # each site's local date
                    self._store(DailyUniques(site, day, count))
                last_uniques = now
            if now - last_acks >= ACKS_EVERY_S and self.queue is not None:
                last_acks = now
                await self._pick_up_acks(now)
            if now - last_prune >= PRUNE_EVERY_S:
                last_prune = now
                await asyncio.to_thread(self._prune, now)

    async def _pick_up_acks(self, now: float) -> None:
        """Acknowledgements made with `netmon tickets ack` (stored) stop escalation and update the ticket."""
        pending = {i.id for i in self.alerts.open_incidents() if i.acknowledged_at is None}
        if not pending:
            return

        def read() -> list[Incident]:
            store = Store.open(database_url(self.config.storage))
            try:
                return [i for i in store.incidents(open_only=True) if i.id in pending and i.acknowledged_at]
            finally:
                store.close()

        try:
            acked = await asyncio.to_thread(read)
        except StorageUnavailable:
            return
        for incident in acked:
            self._alert(self.alerts.ack(incident.id, incident.acknowledged_by or "helpdesk",
                                        incident.acknowledged_at or now))

    def _prune(self, now: float) -> None:
        try:
            store = Store.open(database_url(self.config.storage))
            try:
                store.prune(now, self.config.storage.rollup_retention_days)
            finally:
                store.close()
        except StorageUnavailable as exc:
            log.warning("retention pruning skipped: %s", exc)

    def _web_config(self) -> WebConfig | None:
        """The exporter's web config file (TLS, basic auth), relative to the main config file."""
        name = self.config.exporter.web_config_file
        if name is None:
            return None
        base = Path(self.config.files[0]).parent if self.config.files else Path.cwd()
        return load_web_config(base / Path(name).expanduser())

    async def serve(self, stop: asyncio.Event) -> None:
        """Run the daemon until `stop` is set."""
        web_config = self._web_config()  # a bad web config file stops the start before anything runs
        self._lock = await asyncio.to_thread(DaemonLock.acquire, self.config.storage)  # one daemon per storage
        await self.open_storage()
        assert self.queue is not None
        writer = asyncio.create_task(self.queue.run(), name="storage")
        spool = Path(self.config.storage.data_dir).expanduser().resolve() / "outbox"
        self.start_alert_outputs(spool)
        senders = [asyncio.create_task(box.run(), name=f"outbox:{name}") for name, box in self.outboxes.items()]
        if self.mqtt is not None:
            senders.append(asyncio.create_task(self.mqtt.run(), name="mqtt"))
        keeper = asyncio.create_task(self.housekeeping(), name="housekeeping")
        exp = self.config.exporter
        self.exporter = ExporterServer(self.snapshot, self.healthy, exp.listen, exp.port, web_config)
        await self.exporter.start()
        counts = ", ".join(f"{len(s.devices)} over {src.value}" for s, src in zip(self.schedulers, self.pollers,
                                                                                   strict=True))
        log.info("polling %d devices at %d sites (%s)", len(self.config.devices), len(self.config.sites), counts)
        pollers = [asyncio.create_task(s.run(), name=f"scheduler:{src.value}")
                   for s, src in zip(self.schedulers, self.pollers, strict=True)]
        try:
            await stop.wait()
        finally:
            log.info("stopping: polls end, then what is queued is delivered (outboxes 5 s each, database 10 s)")
            for task in [*pollers, keeper]:
                task.cancel()
            for task in [*pollers, keeper]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.exporter.stop()
            self._flush_outages()  # state changes of the last second, before storage is drained
            now = time.time()
            for rollup in self.rollups.flush(now, final=True):
                self._store(rollup)
            self._store(Heartbeat(now))
            for box in self.outboxes.values():
                await box.drain(5.0)
            if self.mqtt is not None:
                await self.mqtt.drain(5.0)
            for task in senders:
                task.cancel()
            await self.queue.drain(10.0)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await self.close()
            boxes = dict(self.outboxes) | ({"mqtt": self.mqtt} if self.mqtt is not None else {})
            kept = {name: box.stats.pending for name, box in boxes.items() if box.stats.pending}
            q = self.queue.stats
            log.info("stopped: %d records written to the database since start; kept for the next start: "
                     "%d records in the spool, %s", q.written_total, q.spooled + q.depth,
                     ", ".join(f"{n} {name} items" for name, n in kept.items()) or "no undelivered items")

    async def close(self) -> None:
        if (lock := getattr(self, "_lock", None)) is not None:
            lock.release()
        await self.snmp.close()
        await self.routeros.close()
        self._routeros_threads.shutdown(wait=False, cancel_futures=True)


def alert_config(settings: AlertSettings) -> AlertConfig:
    """The alert engine's configuration from the `alerts:` section."""
    a = settings.section
    r = a.rules
    channels = tuple(Channel(name, url, c.language) for name, c in a.channels.items()
                     if (url := settings.secret(f"channels.{name}")) is not None)
    routes = tuple(RouteRule(channels=tuple(x.channels), owner=x.owner, min_severity=x.min_severity,
                             kabupaten=frozenset(x.kabupaten), kim_contact=x.kim_contact) for x in a.routes)
    rules = RuleSettings(
        device_down=Tolerance(r.device_down_for_s, r.device_down_clear_s),
        site_down=Tolerance(r.site_down_for_s, r.site_down_clear_s),
        area_min_sites=r.area_min_sites, area_window_s=r.area_window_s, area_clear_for_s=r.area_clear_s,
        temperature_max_c=r.temperature_max_c,
        voltage_min_v=r.voltage_min_v, cpu_max_ratio=r.cpu_max_ratio, idle_ap_s=r.idle_ap_s,
        opening_hours=OpeningHours(float(r.opening_hours[0]), float(r.opening_hours[1])),
        reboot_loop_count=r.reboot_loop_count, flap_changes=r.flap_changes, flap_window_s=r.flap_window_s,
        flap_for_s=r.flap_for_s, flap_calm_s=r.flap_calm_s)
    metric_rules = tuple(MetricRule(m.name, m.metric, m.op, m.threshold, m.for_s, m.clear_for_s, m.severity,
                                    tuple(sorted(m.labels.items())), m.summary) for m in a.metric_rules)
    return AlertConfig(channels=channels, routes=routes,
                       escalation=Escalation(a.escalation.after_s, tuple(a.escalation.channels)),
                       rules=rules, metric_rules=metric_rules, language=a.language, ticket_prefix=a.ticket_prefix)


def _ticket_subject(action: TicketAction) -> str:
    """"[NETMON-2026-000123] [GANGGUAN] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau": the ticket
    tag (helpdesks thread by it) and the message's subject in the ticket language, different for open and
    resolve."""
    return f"[{action.ticket.id}] {action.subject}"


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
