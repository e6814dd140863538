"""Compute a `Report` from stored history (reads the store; no clock: `now` is given).

Every site is measured within its own zone's bounds of the period (`Period.bounds`), cut at `now` for a
period not yet over. Outages and reboots crossing the bounds are clipped to them. The rules behind each figure
are in `netmon.report.figures` and docs/reports.md; the same store and period always give the same report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from netmon.model import AssetCondition, Cause, Condition, Device, Incident, Outage, Reboot, Role, Site, TimeZone
from netmon.report import span
from netmon.report.figures import (
    AreaFigures,
    AssetRow,
    DayUsage,
    DeviceFigures,
    OpenIncident,
    Report,
    SiteFigures,
    Uptime,
    Usage,
)
from netmon.report.period import Period
from netmon.storage import DailyUniques, HourlyRollup, Store

HOUR = 3600.0


def in_scope(sites: Mapping[str, Site], kabupaten: str | None) -> dict[str, Site]:
    """The sites of kabupaten `kabupaten` (case-insensitive), or all of them."""
    if kabupaten is None:
        return dict(sites)
    return {k: s for k, s in sites.items() if s.kabupaten.casefold() == kabupaten.casefold()}


def build_report(store: Store, sites: Mapping[str, Site], devices: Mapping[str, Device], period: Period,
                 conditions: Mapping[str, AssetCondition], *, now: float, kabupaten: str | None = None) -> Report:
    """The report for `period` over the sites of `kabupaten` (None: every site) and their devices.
    `conditions` holds each asset's condition for the period (missing: not assessed, shown as "—")."""
    scope = in_scope(sites, kabupaten)
    zones = tuple(z for z in TimeZone if any(s.timezone is z for s in scope.values()))
    bounds = {z: _cut(period.bounds(z), now) for z in zones}
    earliest = min((b[0] for b in bounds.values()), default=0.0)
    unknown = span.union((u.start, u.end) for u in store.unknown_spans(since=earliest))
    outages: dict[str, list[Outage]] = defaultdict(list)
    for outage in store.outages(since=earliest):
        outages[outage.device].append(outage)
    reboots: dict[str, list[Reboot]] = defaultdict(list)
    for reboot in store.reboots():
        reboots[reboot.device].append(reboot)
    uniques: dict[str, list[DailyUniques]] = defaultdict(list)
    for row in store.daily_uniques(since=period.first_day, until=period.end_day):
        uniques[row.site].append(row)

    site_figures: list[SiteFigures] = []
    day_bytes: dict[date, int] = defaultdict(int)
    for site in sorted(scope.values(), key=lambda s: (s.kabupaten, s.kecamatan, s.name, s.id)):
        start, end = bounds[site.timezone]
        members = sorted((d for d in devices.values() if d.site == site.id), key=lambda d: d.id)
        # one hour either side: whether the period's first and last hours continue a run of polled hours
        rollups = {d.id: store.rollups(device=d.id, since=_hour_floor(start) - HOUR, until=end + HOUR)
                   for d in members}
        figures = tuple(device_figures(d, site, start, end, rollups[d.id], outages.get(d.id, ()), unknown,
                                       reboots.get(d.id, ())) for d in members)
        usage, by_day = site_usage(site, members, rollups, uniques.get(site.id, ()), start, end)
        for day, used in by_day.items():
            day_bytes[day] += used
        site_figures.append(SiteFigures(site, figures, usage))

    incidents = [i for i in store.incidents(since=earliest) if i.kabupaten in {s.kabupaten for s in scope.values()}]
    zone_of_kabupaten = {s.kabupaten: s.timezone for s in scope.values()}
    assets = tuple(AssetRow(f, conditions.get(f.device.id)) for s in site_figures for f in s.devices)
    areas = _areas(site_figures, conditions, incidents, bounds, zone_of_kabupaten)
    total = _area(None, None, site_figures, conditions, [i for i in incidents if _opened_in(i, bounds,
                                                                                           zone_of_kabupaten)])
    days = _days(period, now, zones, day_bytes, uniques, scope)
    named = sorted({s.kabupaten for s in scope.values()}) if kabupaten is not None else []
    return Report(period=period, kabupaten=named[0] if named else kabupaten, zones=zones, total=total, areas=areas,
                  sites=tuple(site_figures), assets=assets,
                  open_incidents=_open_incidents(store, incidents, bounds, zone_of_kabupaten, scope), days=days)


def _cut(bounds: tuple[float, float], now: float) -> tuple[float, float]:
    start, end = bounds
    return start, max(start, min(end, now))


def _hour_floor(ts: float) -> float:
    return (ts // HOUR) * HOUR


def covered(rollups: Iterable[HourlyRollup], unknown: span.Spans, start: float, end: float,
            interval_s: float) -> span.Spans:
    """The time the device was polled, within [start, end), less the unknown spans: every hour with a rollup
    (polls ok or failed), whole, except at the edges of a run of such hours, where it starts at the first poll
    and ends one poll interval after the last (a device added, or the daemon started, mid-hour)."""
    hours = {r.hour_start: r for r in rollups if r.polls_ok + r.polls_failed > 0}
    spans = []
    for hour, r in hours.items():
        low = hour if hour - HOUR in hours else r.first_poll_at
        high = hour + HOUR if hour + HOUR in hours else min(hour + HOUR, r.last_poll_at + interval_s)
        spans.append((low, high))
    return span.subtract(span.clip(span.union(spans), start, end), span.clip(unknown, start, end))


def device_figures(device: Device, site: Site, start: float, end: float, rollups: Sequence[HourlyRollup],
                   outages: Iterable[Outage], unknown: span.Spans, reboots: Iterable[Reboot]) -> DeviceFigures:
    seen = covered(rollups, unknown, start, end, device.interval_s)
    down: dict[Cause, float] = defaultdict(float)
    episodes: dict[str, float] = defaultdict(float)
    for outage in outages:
        spell = span.union([(outage.started_at, end if outage.ended_at is None else outage.ended_at)])
        seconds = span.length(span.intersect(seen, spell))
        if seconds > 0:
            down[outage.cause] += seconds
            episodes[outage.episode or outage.id] += seconds
    uptime = Uptime(end - start, span.length(seen), dict(down))
    booted = sum(1 for r in reboots if start <= r.booted_at < end)
    return DeviceFigures(device, site, uptime, len(episodes), max(episodes.values(), default=0.0), booted)


def site_usage(site: Site, members: Sequence[Device], rollups: Mapping[str, Sequence[HourlyRollup]],
               uniques: Iterable[DailyUniques], start: float, end: float) -> tuple[Usage, dict[date, int]]:
    """The site's usage in [start, end), and the bytes used per local day."""
    wifi_max: dict[float, float] = defaultdict(float)
    wifi_avg: dict[float, float] = defaultdict(float)
    hot_max: dict[float, float] = defaultdict(float)
    hot_avg: dict[float, float] = defaultdict(float)
    routers = [d.id for d in members if d.role is Role.ROUTER]
    counted = [d for d in routers if any(r.bytes_in is not None for r in rollups[d])] or \
        [d.id for d in members if any(r.bytes_in is not None for r in rollups[d.id])]
    by_day: dict[date, int] = defaultdict(int)
    for device in members:
        for r in rollups[device.id]:
            if not start <= r.hour_start < end:
                continue
            if r.wifi_clients_n:
                wifi_max[r.hour_start] += r.wifi_clients_max or 0.0
                wifi_avg[r.hour_start] += r.wifi_clients_avg or 0.0
            if r.hotspot_users_n:
                hot_max[r.hour_start] += r.hotspot_users_max or 0.0
                hot_avg[r.hour_start] += r.hotspot_users_avg or 0.0
            if device.id in counted and r.bytes_in is not None:
                by_day[site.timezone.date_at(r.hour_start)] += r.bytes_in
    counts = [u.count for u in uniques]
    usage = Usage(
        wifi_peak=max(wifi_max.values(), default=None), wifi_mean=_mean(wifi_avg.values()),
        hotspot_peak=max(hot_max.values(), default=None), hotspot_mean=_mean(hot_avg.values()),
        uniques_mean=_mean(counts), uniques_peak=max(counts, default=None),
        bytes_used=sum(by_day.values()) if counted else None)
    return usage, dict(by_day)


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def _opened_in(incident: Incident, bounds: Mapping[TimeZone, tuple[float, float]],
               zone_of: Mapping[str, TimeZone]) -> bool:
    start, end = bounds[zone_of[incident.kabupaten]]
    return start <= incident.opened_at < end


def _area(kabupaten: str | None, kecamatan: str | None, sites: Sequence[SiteFigures],
          conditions: Mapping[str, AssetCondition], incidents: Sequence[Incident]) -> AreaFigures:
    counts = dict.fromkeys(Condition, 0)
    unassessed = 0
    for s in sites:
        for d in s.devices:
            found = conditions.get(d.device.id)
            if found is None:
                unassessed += 1
            else:
                counts[found.condition] += 1
    return AreaFigures(kabupaten, kecamatan, len(sites), sum(len(s.devices) for s in sites),
                       sum((s.uptime for s in sites), Uptime()), counts, unassessed, len(incidents))


def _areas(sites: Sequence[SiteFigures], conditions: Mapping[str, AssetCondition], incidents: Sequence[Incident],
           bounds: Mapping[TimeZone, tuple[float, float]], zone_of: Mapping[str, TimeZone]) -> tuple[AreaFigures, ...]:
    groups: dict[tuple[str, str], list[SiteFigures]] = defaultdict(list)
    for s in sites:
        groups[(s.site.kabupaten, s.site.kecamatan)].append(s)
    return tuple(_area(kab, kec, members, conditions,
                       [i for i in incidents if (i.kabupaten, i.kecamatan) == (kab, kec)
                        and _opened_in(i, bounds, zone_of)])
                 for (kab, kec), members in sorted(groups.items()))


def _open_incidents(store: Store, incidents: Sequence[Incident], bounds: Mapping[TimeZone, tuple[float, float]],
                    zone_of: Mapping[str, TimeZone], scope: Mapping[str, Site]) -> tuple[OpenIncident, ...]:
    tickets = {t.incident: t.id for t in store.tickets()}
    out: list[OpenIncident] = []
    for incident in incidents:
        site = scope.get(incident.site or "")
        zone = site.timezone if site is not None else zone_of[incident.kabupaten]
        end = bounds[zone][1]
        if incident.opened_at >= end or (incident.resolved_at is not None and incident.resolved_at < end):
            continue
        acknowledged = incident.acknowledged_at is not None and incident.acknowledged_at < end
        out.append(OpenIncident(incident, zone, tickets.get(incident.id), "acknowledged" if acknowledged else "open"))
    return tuple(sorted(out, key=lambda o: (o.incident.opened_at, o.incident.id)))


def _days(period: Period, now: float, zones: Sequence[TimeZone], day_bytes: Mapping[date, int],
          uniques: Mapping[str, Sequence[DailyUniques]], scope: Mapping[str, Site]) -> tuple[DayUsage, ...]:
    """Every local day of the period that has begun somewhere in scope, with the bytes and distinct clients
    of all sites on their own local day."""
    counts: dict[date, int] = defaultdict(int)
    for site, rows in uniques.items():
        if site in scope:
            for row in rows:
                counts[row.day] += row.count
    today = max((z.date_at(now) for z in zones), default=period.first_day)
    out: list[DayUsage] = []
    day = period.first_day
    while day < period.end_day and day <= today:
        out.append(DayUsage(day, day_bytes.get(day, 0), counts.get(day, 0)))
        day += timedelta(days=1)
    return tuple(out)
