"""The Prometheus exporter: the one module that imports prometheus_client.

Families are built fresh on each scrape from a `Snapshot` (a custom Collector on a private registry), so a
device whose last poll failed shows `netmon_device_up 0` and none of its value series. `/healthz` says
whether the scheduler is alive. `render()` is also what `netmon poll --format prometheus` prints. /metrics is
gzip-compressed when the scraper accepts it (Prometheus does). HTTP itself (limits, TLS, basic auth) is
netmon/web.py's.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from netmon.config.webconfig import WebConfig
from netmon.latest import Snapshot
from netmon.model import SampleKind
from netmon.web import Limits, Reply, Request, Route, WebServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricDoc:
    help: str
    kind: str  # prometheus type: gauge | counter | info


CATALOGUE: dict[str, MetricDoc] = {
    "netmon_device_up": MetricDoc("1 if the last poll of this device and source succeeded, else 0.", "gauge"),
    "netmon_device_info": MetricDoc("Identity of a monitored device (always 1).", "gauge"),
    "netmon_device_uptime_seconds": MetricDoc("Time since the device's agent last started.", "gauge"),
    "netmon_wifi_clients": MetricDoc("Wifi clients associated, per radio interface and SSID.", "gauge"),
    "netmon_wifi_frequency_hertz": MetricDoc("Centre frequency of the radio's channel.", "gauge"),
    "netmon_wifi_registrations": MetricDoc("Rows in the device's wireless registration table.", "gauge"),
    "netmon_hotspot_active_users": MetricDoc("Hotspot users logged in now (a count, never names).", "gauge"),
    "netmon_hotspot_hosts": MetricDoc("Devices in the hotspot host table (logged in or not), a count.", "gauge"),
    "netmon_hotspot_bytes_total": MetricDoc(
        "Bytes of hotspot sessions, seen from the router: in = users' upload, out = users' download.", "counter"),
    "netmon_dhcp_leases_active": MetricDoc("Active DHCP leases.", "gauge"),
    "netmon_interface_receive_bytes_total": MetricDoc("Bytes received on the interface.", "counter"),
    "netmon_interface_transmit_bytes_total": MetricDoc("Bytes transmitted on the interface.", "counter"),
    "netmon_interface_up": MetricDoc("1 if the interface is operationally up, else 0.", "gauge"),
    "netmon_device_cpu_load_ratio": MetricDoc("CPU load of the device, 0 to 1.", "gauge"),
    "netmon_device_memory_used_ratio": MetricDoc("Share of the device's RAM in use, 0 to 1.", "gauge"),
    "netmon_device_temperature_celsius": MetricDoc("Temperature reported by the device.", "gauge"),
    "netmon_device_voltage_volts": MetricDoc("Supply voltage reported by the device.", "gauge"),
    "netmon_ping_rtt_seconds": MetricDoc("Average ICMP echo round-trip time of the last probe.", "gauge"),
    "netmon_ping_loss_ratio": MetricDoc("Share of ICMP echo requests of the last probe left unanswered.", "gauge"),
    "netmon_poll_duration_seconds": MetricDoc("Duration of the last poll of this device and source.", "gauge"),
    "netmon_poll_errors_total": MetricDoc(
        "Failed polls by reason (timeout, auth, protocol, unavailable, error).", "counter"),
    "netmon_last_poll_success_timestamp_seconds": MetricDoc(
        "Unix time when the last successful poll of this device and source ended.", "gauge"),
}
PROCESS_GAUGES: dict[str, MetricDoc] = {
    "netmon_scheduler_polls_in_flight": MetricDoc("Polls running now.", "gauge"),
    "netmon_scheduler_devices": MetricDoc("Devices scheduled for polling.", "gauge"),
    "netmon_scheduler_missed_cycles_total": MetricDoc(
        "Poll cycles skipped because the previous poll of the device was still running or late.", "counter"),
    "netmon_scheduler_polls_total": MetricDoc("Polls started since the daemon started.", "counter"),
    "netmon_snmpv3_messages_rejected_total": MetricDoc(
        "SNMPv3 messages refused: by the agent (its usmStats report) or by netmon (failed MAC, time window, "
        "decryption or security level; malformed; unexpected, e.g. a replay), by reason.", "counter"),
    "netmon_device_state": MetricDoc("1 for the device's current availability state, 0 for the others.", "gauge"),
    "netmon_device_outage_active": MetricDoc("1 while the device has an open outage, by cause.", "gauge"),
    "netmon_device_reboots_total": MetricDoc("Reboots detected since the daemon started.", "counter"),
    "netmon_samples_rejected_total": MetricDoc(
        "Samples outside their metric's plausible range (or NaN), not exported, stored or alerted on.", "counter"),
    "netmon_storage_queue_depth": MetricDoc("Records waiting in memory to be written to the database.", "gauge"),
    "netmon_storage_spooled_records": MetricDoc("Records waiting in the on-disk spool (database away).", "gauge"),
    "netmon_storage_available": MetricDoc("1 while the database accepts writes.", "gauge"),
    "netmon_storage_write_failures_total": MetricDoc("Failed attempts to write to the database.", "counter"),
    "netmon_storage_records_written_total": MetricDoc("Records committed to the database.", "counter"),
    "netmon_outbox_pending": MetricDoc("Notifications, ticket updates or MQTT events waiting to be delivered.",
                                       "gauge"),
    "netmon_outbox_available": MetricDoc("1 while the destination accepts deliveries.", "gauge"),
    "netmon_outbox_delivered_total": MetricDoc("Items delivered to the destination.", "counter"),
    "netmon_outbox_failures_total": MetricDoc("Failed delivery attempts (each is retried).", "counter"),
    "netmon_incidents_open": MetricDoc("Open incidents (device, site, area and metric alerts).", "gauge"),
    "netmon_site_info": MetricDoc("A configured KIM site and where it is (always 1).", "gauge"),
    "netmon_agent_outbox_depth": MetricDoc("Results in the site agent's outbox, not yet acknowledged by the broker.",
                                           "gauge"),
    "netmon_agent_outbox_bytes": MetricDoc("Size of the results in the site agent's outbox.", "gauge"),
    "netmon_agent_outbox_oldest_age_seconds": MetricDoc(
        "Age of the oldest result in the site agent's outbox (0 when empty).", "gauge"),
    "netmon_agent_outbox_dropped_total": MetricDoc(
        "Results the site agent's outbox dropped, oldest first, when its size or age bound was hit.", "counter"),
    "netmon_agent_last_seq": MetricDoc("The newest sequence number the site agent assigned to a result.", "gauge"),
    "netmon_agent_results_sent_total": MetricDoc("Results the broker acknowledged since the agent started.",
                                                 "counter"),
    "netmon_agent_broker_connected": MetricDoc("1 while the site agent is connected to the MQTT broker.", "gauge"),
    "netmon_site_unique_clients_today": MetricDoc(
        "Distinct client devices seen at the site since local midnight (counted by keyed hash).", "gauge"),
}


def _family(name: str, doc: MetricDoc | None, fallback_help: str, kind: SampleKind) -> Metric:
    prom_type = doc.kind if doc else ("counter" if kind is SampleKind.COUNTER else "gauge")
    base = name[: -len("_total")] if prom_type == "counter" and name.endswith("_total") else name
    return Metric(base, doc.help if doc else (fallback_help or name), prom_type)


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snap = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snap
        fam: dict[str, Metric] = {}

        def add(name: str, labels: dict[str, str], value: float, kind: SampleKind = SampleKind.GAUGE,
                help_text: str = "") -> None:
            metric = fam.get(name)
            if metric is None:
                metric = fam[name] = _family(name, CATALOGUE.get(name) or PROCESS_GAUGES.get(name),
                                             help_text, kind)
            sample_name = name if metric.type != "counter" else metric.name + "_total"
            metric.add_sample(sample_name, labels, float(value))

        for (device_id, source), result in sorted(snap.results.items()):
            device = snap.devices.get(device_id)
            site = device.site if device else ""
            src = source.value
            add("netmon_device_up", {"device": device_id, "site": site, "source": src}, 1 if result.ok else 0)
            add("netmon_poll_duration_seconds", {"device": device_id, "source": src}, result.duration_s)
            success = snap.last_success.get((device_id, source))
            if success is not None:
                add("netmon_last_poll_success_timestamp_seconds", {"device": device_id, "source": src}, success)
        for device_id in sorted({d for d, _s in snap.results}):
            for _source, sample in snap.values(device_id):
                add(sample.metric, {"device": device_id, **sample.label_dict()}, sample.value, sample.kind,
                    sample.help)
        for device_id in sorted({d for d, _s in snap.identities}):
            identity = snap.identity(device_id)
            if identity is None:
                continue
            device = snap.devices.get(device_id)
            site_record = snap.sites.get(device.site) if device else None
            add("netmon_device_info", {
                "device": device_id,
                "site": device.site if device else "",
                "kecamatan": site_record.kecamatan if site_record else "",
                "owner": device.owner.value if device else "",
                **identity.as_labels(),
            }, 1)
        for (device_id, source, reason), count in sorted(snap.errors.items()):
            add("netmon_poll_errors_total", {"device": device_id, "source": source.value, "reason": reason},
                count, SampleKind.COUNTER)
        for sample in snap.extra:
            add(sample.metric, sample.label_dict(), sample.value, sample.kind, sample.help)
        yield from fam.values()


def render(snapshot: Snapshot) -> bytes:
    """The Prometheus text exposition of a snapshot (exactly what /metrics serves)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (Prometheus always sends `gzip`)."""
    for coding in (accept_encoding or "").split(","):
        token, *params = [part.strip() for part in coding.split(";")]
        if token.lower() not in ("gzip", "*"):
            continue
        quality = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        return quality > 0
    return False


def _render_gzip(snapshot: Snapshot) -> bytes:
    """render(), gzip-compressed at level 1: the text of 10,000 devices (~33 MB) shrinks ~10x for a
    Prometheus on another host, for a few percent of the rendering's CPU (zlib runs without the GIL)."""
    return gzip.compress(render(snapshot), compresslevel=1, mtime=0)


class ExporterServer:
    """/metrics and /healthz on the daemon's web server (netmon/web.py); rendering runs in a thread on a
    snapshot taken in the loop, so no thread touches the live state."""

    def __init__(self, snapshot: Callable[[], Snapshot], healthy: Callable[[], bool],
                 host: str = "127.0.0.1", port: int = 9877, web_config: WebConfig | None = None,
                 limits: Limits | None = None, more: Sequence[Route] = ()) -> None:
        self._snapshot = snapshot
        self._healthy = healthy
        web_config = web_config or WebConfig()
        self._server = WebServer({"/metrics": self._metrics, "/healthz": self._healthz}, host, port,
                                 tls=web_config.tls, users=web_config.users, limits=limits or Limits(), more=more)

    @property
    def port(self) -> int:
        return self._server.port

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    async def _metrics(self, request: Request) -> Reply:
        snap = self._snapshot()
        if accepts_gzip(request.headers.get("Accept-Encoding")):
            body = await asyncio.to_thread(_render_gzip, snap)
            return Reply(200, body, CONTENT_TYPE, (("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")))
        return Reply(200, await asyncio.to_thread(render, snap), CONTENT_TYPE, (("Vary", "Accept-Encoding"),))

    async def _healthz(self, request: Request) -> Reply:
        ok = self._healthy()
        return Reply(200, b"ok\n") if ok else Reply(503, b"scheduler stalled\n")
