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

from netmon.exposition import SampleRun
from netmon.model import Device, Outage, Sample, SampleKind, Site, Status
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

    def statuses(self) -> dict[str, Status]: ...
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
    pages: Callable[[], tuple[int, float, float] | None] = lambda: None  # /metrics pages, their CPU (netmon.exporter)
    fleet: Callable[[], bool] = lambda: True  # False on a cluster node that does not lead: no fleet-wide families
    cluster: Callable[[], list[Sample]] = list  # netmon_cluster_* of a cluster node


def page_samples(pages: tuple[int, float, float] | None) -> list[Sample]:
    """(pages, CPU s on the loop, CPU s in the writing thread): netmon_exporter_*."""
    if pages is None:
        return []
    count, loop_s, writing_s = pages
    return [Sample("netmon_exporter_pages_total", count, kind=COUNTER),
            Sample("netmon_exporter_page_cpu_seconds_total", loop_s, (("part", "loop"),), COUNTER),
            Sample("netmon_exporter_page_cpu_seconds_total", writing_s, (("part", "writing"),), COUNTER)]


class DaemonMetrics:
    def __init__(self, sources: MetricSources) -> None:
        self._src = sources
        self._kept = KeptSamples()

    def samples(self) -> list[Sample | SampleRun]:
        """The daemon's own series (SampleRuns for what is kept between scrapes; `flat` takes them apart)."""
        src = self._src
        return [*scheduler_samples(src.pollers), *self._fleet_wide(),
                *outbox_samples(src.outputs()),
                Sample("netmon_incidents_open", src.open_incidents()), *storage_samples(src.storage()),
                *src.agents(), *snmpv3_samples(src.snmpv3_rejected()), *src.gc(),
                *page_samples(src.pages()), *src.cluster()]

    def _fleet_wide(self) -> list[Sample | SampleRun]:
        """Sites, unique clients, device states, outages and reboots: on one daemon, or on the cluster node
        that leads (the others have none to show; Prometheus scraping every node sees each device once)."""
        src = self._src
        if not src.fleet():
            return []
        return [*self._kept.sites(src.sites), *self._kept.unique_clients(src.unique_clients()),
                *state_samples(src.state.statuses(), src.state.open_outages(), src.state.reboots, self._kept)]


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
    """The per-device and per-site samples of the last scrape, made again only where something changed: a
    device's `netmon_device_state` series (one SampleRun per device) when its status changed, the
    `netmon_device_reboots_total` series (one run) when a count changed, a site's unique clients when its
    count changed, `netmon_site_info` (one run) once. At 30,000 devices a scrape would otherwise make
    ~190,000 Samples (~0.6 s), and the exposition keeps the text of a Sample or run it is handed again
    (netmon.exposition.KeptLines), one step per run."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[Status, SampleRun]] = {}
        self._reboots: tuple[dict[str, int], list[SampleRun]] = ({}, [])
        self._uniques: dict[str, Sample] = {}
        self._sites: tuple[Mapping[str, Site] | None, list[SampleRun]] = (None, [])

    def states(self, statuses: Mapping[str, Status]) -> list[Sample | SampleRun]:
        """(Sorted ids, not items: a scrape that made a tuple per device, 30,000 at once, set off a young
        garbage collection nearly every time, and at 30,000 devices a middle one every few scrapes.)"""
        out: list[Sample | SampleRun] = []
        kept: dict[str, tuple[Status, SampleRun]] = {}
        for device_id in sorted(statuses):
            now = statuses[device_id]
            found = self._states.get(device_id)
            if found is None or found[0] is not now:
                found = (now, SampleRun(tuple(
                    Sample("netmon_device_state", 1 if now is status else 0,
                           (("device", device_id), ("state", status.value))) for status in Status)))
            kept[device_id] = found
            out.append(found[1])
        self._states = kept
        return out

    def reboots(self, reboots: Mapping[str, int]) -> list[SampleRun]:
        counts, run = self._reboots
        if counts != reboots:
            counts = dict(reboots)
            samples = tuple(Sample("netmon_device_reboots_total", count, (("device", device_id),), COUNTER)
                            for device_id, count in sorted(counts.items()))
            self._reboots = counts, run = counts, [SampleRun(samples)] if samples else []
        return run

    def unique_clients(self, counts: Mapping[str, int]) -> list[Sample]:
        kept: dict[str, Sample] = {}
        for site in sorted(counts):
            count = counts[site]
            found = self._uniques.get(site)
            if found is None or found.value != count:
                found = Sample("netmon_site_unique_clients_today", count, (("site", site),))
            kept[site] = found
        self._uniques = kept
        return list(kept.values())

    def sites(self, sites: Mapping[str, Site]) -> list[SampleRun]:
        """`netmon_site_info`, made again only for another mapping of sites (the config's is fixed)."""
        if self._sites[0] is not sites:
            samples = tuple(site_samples(sites.values()))
            self._sites = sites, [SampleRun(samples)] if samples else []
        return self._sites[1]


def state_samples(statuses: Mapping[str, Status], open_outages: Iterable[Outage],
                  reboots: Mapping[str, int], kept: KeptSamples | None = None) -> list[Sample | SampleRun]:
    """`statuses`: each device's status (a scrape needs no more of its state, which is costlier to build)."""
    kept = kept or KeptSamples()
    out = kept.states(statuses)
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
        Sample("netmon_storage_fenced_records_total", q.fenced_total, kind=COUNTER),
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
