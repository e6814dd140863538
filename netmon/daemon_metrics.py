"""The daemon's own metrics and liveness: what `/metrics` shows besides the devices' samples, and what
`/healthz` answers.

`DaemonMetrics.samples()` gathers, at each scrape, from the parts it was given (no part reaches another):
the schedulers (`netmon_scheduler_*`), the sites (`netmon_site_info`), the daily unique clients, device states,
open outages and reboots (`netmon_device_state`, `netmon_device_outage_active`, `netmon_device_reboots_total`),
the alert outboxes (`netmon_outbox_*`), open incidents and the storage write queue
(`netmon_storage_*`, only while storage is attached), the SNMPv3 messages refused
(`netmon_snmpv3_messages_rejected_total`), the garbage collector's pauses (`netmon_gc_*`, under `netmon run`).
`polling_alive` is the health check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from netmon.model import Device, DeviceState, Outage, Sample, SampleKind, Site, Status
from netmon.scheduler import SchedulerStats
from netmon.storage import QueueStats

COUNTER = SampleKind.COUNTER


class Polling(Protocol):
    """A scheduler (or the sharded SNMP poller): its devices and counters."""

    @property
    def devices(self) -> list[Device]: ...
    @property
    def stats(self) -> SchedulerStats: ...


class OutputStats(Protocol):
    @property
    def pending(self) -> int: ...
    @property
    def delivered_total(self) -> int: ...
    @property
    def failures_total(self) -> int: ...
    @property
    def available(self) -> bool: ...


class HasStats(Protocol):
    @property
    def stats(self) -> OutputStats: ...


class StateView(Protocol):
    reboots: dict[str, int]

    def states(self) -> dict[str, DeviceState]: ...
    def open_outages(self) -> list[Outage]: ...


@dataclass(frozen=True, slots=True)
class MetricSources:
    """Where each family comes from (functions, called at each scrape)."""

    pollers: Sequence[Polling]
    sites: Mapping[str, Site]
    state: StateView
    unique_clients: Callable[[], Mapping[str, int]]  # site -> distinct clients today
    outputs: Callable[[], Mapping[str, HasStats]]  # outbox name -> output
    open_incidents: Callable[[], int]
    storage: Callable[[], QueueStats | None]  # None: no storage attached (`netmon poll`)
    agents: Callable[[], list[Sample]] = list  # site agents' families (netmon.agents.metrics), if any
    snmpv3_rejected: Callable[[], Mapping[tuple[str, str], int]] = dict  # (by, reason) -> SNMPv3 messages refused
    gc: Callable[[], list[Sample]] = list  # the main process's garbage collections (netmon.heap), when watched


class DaemonMetrics:
    def __init__(self, sources: MetricSources) -> None:
        self._src = sources
        self._kept = KeptSamples()

    def samples(self) -> list[Sample]:
        src = self._src
        return [*scheduler_samples(src.pollers), *site_samples(src.sites.values()),
                *(Sample("netmon_site_unique_clients_today", count, (("site", site),))
                  for site, count in sorted(src.unique_clients().items())),
                *state_samples(src.state.states(), src.state.open_outages(), src.state.reboots, self._kept),
                *outbox_samples(src.outputs()),
                Sample("netmon_incidents_open", src.open_incidents()), *storage_samples(src.storage()),
                *src.agents(), *snmpv3_samples(src.snmpv3_rejected()), *src.gc()]


def snmpv3_samples(rejected: Mapping[tuple[str, str], int]) -> list[Sample]:
    """netmon_snmpv3_messages_rejected_total{by, reason}: refused by the agent (its report) or by netmon."""
    return [Sample("netmon_snmpv3_messages_rejected_total", count, (("by", by), ("reason", reason)), COUNTER)
            for (by, reason), count in sorted(rejected.items())]


def scheduler_samples(pollers: Sequence[Polling]) -> list[Sample]:
    stats = [p.stats for p in pollers]
    return [
        Sample("netmon_scheduler_polls_in_flight", sum(s.in_flight for s in stats)),
        Sample("netmon_scheduler_devices", sum(len(p.devices) for p in pollers)),
        Sample("netmon_scheduler_missed_cycles_total", sum(s.missed_cycles_total for s in stats), kind=COUNTER),
        Sample("netmon_scheduler_polls_total", sum(s.polls_total for s in stats), kind=COUNTER),
    ]


def site_samples(sites: Iterable[Site]) -> list[Sample]:
    return [Sample("netmon_site_info", 1, (("site", site.id), ("name", site.name), ("desa", site.desa),
                                           ("kecamatan", site.kecamatan), ("kabupaten", site.kabupaten)))
            for site in sorted(sites, key=lambda site: site.id)]


class KeptSamples:
    """The per-device samples of the last scrape (`netmon_device_state`, `netmon_device_reboots_total`), made
    again only for a device whose status or reboot count changed: at 30,000 devices a scrape would otherwise
    make 180,000 Samples (~0.6 s), and the exposition keeps the text of a Sample it is handed again
    (netmon.exposition)."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[Status, tuple[Sample, ...]]] = {}
        self._reboots: dict[str, Sample] = {}

    def states(self, states: Mapping[str, DeviceState]) -> list[Sample]:
        out: list[Sample] = []
        kept: dict[str, tuple[Status, tuple[Sample, ...]]] = {}
        for device_id, state in sorted(states.items()):
            found = self._states.get(device_id)
            if found is None or found[0] is not state.status:
                found = (state.status, tuple(Sample("netmon_device_state", 1 if state.status is status else 0,
                                                    (("device", device_id), ("state", status.value)))
                                             for status in Status))
            kept[device_id] = found
            out += found[1]
        self._states = kept
        return out

    def reboots(self, reboots: Mapping[str, int]) -> list[Sample]:
        kept: dict[str, Sample] = {}
        for device_id, count in sorted(reboots.items()):
            found = self._reboots.get(device_id)
            if found is None or found.value != count:
                found = Sample("netmon_device_reboots_total", count, (("device", device_id),), COUNTER)
            kept[device_id] = found
        self._reboots = kept
        return list(kept.values())


def state_samples(states: Mapping[str, DeviceState], open_outages: Iterable[Outage],
                  reboots: Mapping[str, int], kept: KeptSamples | None = None) -> list[Sample]:
    kept = kept or KeptSamples()
    out = kept.states(states)
    out += [Sample("netmon_device_outage_active", 1, (("device", outage.device), ("cause", outage.cause.value)))
            for outage in sorted(open_outages, key=lambda o: o.device)]
    out += kept.reboots(reboots)
    return out


def outbox_samples(outputs: Mapping[str, HasStats]) -> list[Sample]:
    out: list[Sample] = []
    for name, output in sorted(outputs.items()):
        stats = output.stats
        labels = (("outbox", name),)
        out += [Sample("netmon_outbox_pending", stats.pending, labels),
                Sample("netmon_outbox_available", 1 if stats.available else 0, labels),
                Sample("netmon_outbox_delivered_total", stats.delivered_total, labels, COUNTER),
                Sample("netmon_outbox_failures_total", stats.failures_total, labels, COUNTER)]
    return out


def storage_samples(q: QueueStats | None) -> list[Sample]:
    if q is None:
        return []
    return [
        Sample("netmon_storage_queue_depth", q.depth),
        Sample("netmon_storage_spooled_records", q.spooled),
        Sample("netmon_storage_available", 1 if q.available else 0),
        Sample("netmon_storage_write_failures_total", q.failures_total, kind=COUNTER),
        Sample("netmon_storage_records_written_total", q.written_total, kind=COUNTER),
    ]


def polling_alive(pollers: Iterable[Polling], *, started: float, slack_s: float,
                  now: Callable[[], float] = time.monotonic) -> bool:
    """Alive while every scheduler keeps starting polls (or has nothing to poll): none has gone twice its
    longest interval (plus `slack_s`) without starting one. `started`: monotonic time of the daemon's start."""
    for poller in pollers:
        devices = poller.devices
        if not devices:
            continue
        longest = max(d.interval_s for d in devices) * 2 + slack_s
        if now() - (poller.stats.last_tick or started) >= longest:
            return False
    return True
