"""Compute a `Report` from stored history (reads the store; no clock: `now` is given).

Every site is measured within its own zone's bounds of the period (`Period.bounds`), cut at `now` for a
period not yet over. Outages and reboots crossing the bounds are clipped to them. The rules behind each figure
are in `netmon.report.figures` and docs/reports.md; the same store and period always give the same report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from netmon.model import AssetCondition, Cause, Condition, Device, Incident, Outage, Reboot, Role, Site, TimeZone
from netmon.report import span
from netmon.report.figures import (
    AreaFigures,
    AssetRow,
    DayUsage,
    DeviceFigures,
    MissingData,
    OpenIncident,
    Report,
    SiteFigures,
    Uptime,
    Usage,
)
from netmon.report.period import Period
from netmon.storage import AgentGap, DailyUniques, DayBytes, PolledRun, SiteHours, Store

HOUR = 3600.0


def in_scope(sites: Mapping[str, Site], kabupaten: str | None) -> dict[str, Site]:
    """The sites of kabupaten `kabupaten` (case-insensitive), or all of them."""
    if kabupaten is None:
        return dict(sites)
    return {k: s for k, s in sites.items() if s.kabupaten.casefold() == kabupaten.casefold()}


def build_report(store: Store, sites: Mapping[str, Site], devices: Mapping[str, Device], period: Period,
                 conditions: Mapping[str, AssetCondition], *, now: float, kabupaten: str | None = None,
                 gaps: Mapping[str, Sequence[AgentGap]] | None = None) -> Report:
    """The report for `period` over the sites of `kabupaten` (None: every site) and their devices.
    `conditions` holds each asset's condition for the period (missing: not assessed, shown as "—"); `gaps`, per
    site, the results its site agent lost for good (`agent_gaps_by_site`): not covered, and listed."""
    scope = in_scope(sites, kabupaten)
    zones = tuple(z for z in TimeZone if any(s.timezone is z for s in scope.values()))
    bounds = {z: _cut(period.bounds(z), now) for z in zones}
    history = _History.read(store, scope, devices, period, bounds)
    site_figures: list[SiteFigures] = []
    day_bytes: dict[date, int] = defaultdict(int)
    for site in sorted(scope.values(), key=lambda s: (s.kabupaten, s.kecamatan, s.name, s.id)):
        start, end = bounds[site.timezone]
        members = history.members.get(site.id, [])
        unknown = _with_gaps(history.unknown, (gaps or {}).get(site.id, ()))
        figures = tuple(device_figures(d, site, start, end, history.runs.get(d.id, ()), history.outages.get(d.id, ()),
                                       unknown, history.reboots.get(d.id, ())) for d in members)
        usage, by_day = site_usage(members, history.hours.get(site.id), history.bytes, history.uniques.get(site.id, ()))
        for day, used in by_day.items():
            day_bytes[day] += used
        site_figures.append(SiteFigures(site, figures, usage))

    kabupaten_in_scope = {s.kabupaten for s in scope.values()}
    incidents = [i for i in history.incidents if i.kabupaten in kabupaten_in_scope]
    zone_of_kabupaten = {s.kabupaten: s.timezone for s in scope.values()}
    assets = tuple(AssetRow(f, conditions.get(f.device.id)) for s in site_figures for f in s.devices)
    opened = [i for i in incidents if _opened_in(i, bounds, zone_of_kabupaten)]
    areas = _areas(site_figures, conditions, opened)
    total = _area(None, None, site_figures, conditions, opened)
    days = _days(period, now, zones, day_bytes, history.uniques, scope)
    named = sorted(kabupaten_in_scope) if kabupaten is not None else []
    return Report(period=period, kabupaten=named[0] if named else kabupaten, zones=zones, total=total, areas=areas,
                  sites=tuple(site_figures), assets=assets,
                  open_incidents=_open_incidents(store, incidents, bounds, zone_of_kabupaten, scope), days=days,
                  missing=_missing(scope, gaps or {}, bounds))


def agent_gaps_by_site(store: Store, site_agent: Mapping[str, str], since: float) -> dict[str, list[AgentGap]]:
    """Per site served by a site agent (`site_agent`: site -> agent), the agent's lost results since `since`."""
    by_agent: dict[str, list[AgentGap]] = defaultdict(list)
    for gap in store.agent_gaps(since=since):
        by_agent[gap.agent].append(gap)
    return {site: by_agent[agent] for site, agent in site_agent.items() if by_agent.get(agent)}


def _with_gaps(unknown: span.Spans, gaps: Sequence[AgentGap]) -> span.Spans:
    """The spans not covered at a site: the daemon's unknown spans and its agent's lost results."""
    lost = [(g.from_at, g.to_at) for g in gaps if g.from_at is not None and g.to_at is not None]
    return span.union([*unknown, *lost]) if lost else unknown


def _missing(scope: Mapping[str, Site], gaps: Mapping[str, Sequence[AgentGap]],
             bounds: Mapping[TimeZone, tuple[float, float]]) -> tuple[MissingData, ...]:
    """The agents' lost results within each site's period (those without times are listed too)."""
    rows = []
    for site_id, site_gaps in sorted(gaps.items()):
        site = scope.get(site_id)
        if site is None:
            continue
        start, end = bounds[site.timezone]
        for g in site_gaps:
            if g.from_at is not None and g.to_at is not None and (g.to_at < start or g.from_at >= end):
                continue
            rows.append(MissingData(site, g.agent, g.from_at, g.to_at, g.count, g.reason))
    return tuple(rows)


@dataclass
class _History:
    """What the report reads from the store: a few set-based queries per zone, however many devices
    (netmon.storage.aggregate), grouped here by device or site."""

    members: dict[str, list[Device]]  # per site in scope, by id
    unknown: span.Spans
    runs: dict[str, list[PolledRun]] = field(default_factory=dict)
    hours: dict[str, SiteHours] = field(default_factory=dict)
    bytes: dict[str, list[DayBytes]] = field(default_factory=lambda: defaultdict(list))  # per device
    outages: dict[str, list[Outage]] = field(default_factory=lambda: defaultdict(list))
    reboots: dict[str, list[Reboot]] = field(default_factory=lambda: defaultdict(list))
    uniques: dict[str, list[DailyUniques]] = field(default_factory=lambda: defaultdict(list))
    incidents: list[Incident] = field(default_factory=list)

    @classmethod
    def read(cls, store: Store, scope: Mapping[str, Site], devices: Mapping[str, Device], period: Period,
             bounds: Mapping[TimeZone, tuple[float, float]]) -> _History:
        earliest = min((b[0] for b in bounds.values()), default=0.0)
        latest = max((b[1] for b in bounds.values()), default=0.0)
        members: dict[str, list[Device]] = defaultdict(list)
        for d in sorted(devices.values(), key=lambda d: d.id):
            if d.site in scope:
                members[d.site].append(d)
        out = cls(dict(members), span.union((u.start, u.end) for u in store.unknown_spans(since=earliest)))
        for outage in store.outages(since=earliest, until=latest):
            out.outages[outage.device].append(outage)
        for reboot in store.reboots(since=earliest, until=latest):
            out.reboots[reboot.device].append(reboot)
        for row in store.daily_uniques(since=period.first_day, until=period.end_day):
            out.uniques[row.site].append(row)
        for zone, (start, end) in bounds.items():
            site_of = {d.id: d.site for site, ds in out.members.items() if scope[site].timezone is zone for d in ds}
            out.read_zone(store, zone, site_of, start, end)
        out.incidents = store.incidents(since=earliest)
        return out

    def read_zone(self, store: Store, zone: TimeZone, site_of: Mapping[str, str], start: float, end: float) -> None:
        """The rollup aggregates of the devices `site_of` (all in `zone`), over [start, end) and, for the runs
        of polled hours and whether a device counts bytes, one hour either side (whether the period's first and
        last hours continue a run)."""
        since, until = _hour_floor(start) - HOUR, end + HOUR
        self.runs |= {d: runs for d, runs in store.polled_runs(since, until).items() if d in site_of}
        self.hours |= store.site_hours(site_of, start, end)
        for row in store.bytes_by_day(zone.utc_offset_s, since, until, start=start, end=end):
            if row.device in site_of:
                self.bytes[row.device].append(row)


def _cut(bounds: tuple[float, float], now: float) -> tuple[float, float]:
    start, end = bounds
    return start, max(start, min(end, now))


def _hour_floor(ts: float) -> float:
    return (ts // HOUR) * HOUR


def covered(runs: Iterable[PolledRun], unknown: span.Spans, start: float, end: float,
            interval_s: float) -> span.Spans:
    """The time the device was polled, within [start, end), less the unknown spans: every hour with a rollup
    (polls ok or failed), whole, except at the edges of a run of such hours, where it starts at the first poll
    and ends one poll interval after the last (a device added, or the daemon started, mid-hour)."""
    spans = [(r.first_poll_at, min(r.last_hour + HOUR, r.last_poll_at + interval_s)) for r in runs]
    return span.subtract(span.clip(span.union(spans), start, end), span.clip(unknown, start, end))


def device_figures(device: Device, site: Site, start: float, end: float, runs: Iterable[PolledRun],
                   outages: Iterable[Outage], unknown: span.Spans, reboots: Iterable[Reboot]) -> DeviceFigures:
    seen = covered(runs, unknown, start, end, device.interval_s)
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


def site_usage(members: Sequence[Device], hours: SiteHours | None, day_bytes: Mapping[str, Sequence[DayBytes]],
               uniques: Iterable[DailyUniques]) -> tuple[Usage, dict[date, int]]:
    """The site's usage in the period, and the bytes used per local day: the bytes of its routers that count
    bytes, else of every device that does."""
    counting = [d.id for d in members if day_bytes.get(d.id)]
    routers = [d.id for d in members if d.role is Role.ROUTER and d.id in counting]
    by_day: dict[date, int] = defaultdict(int)
    for device in routers or counting:
        for row in day_bytes[device]:
            if row.inside:
                by_day[row.day] += row.bytes_in
    counts = [u.count for u in uniques]
    h = hours or SiteHours("")
    usage = Usage(
        wifi_peak=h.wifi_peak, wifi_mean=h.wifi_mean, hotspot_peak=h.hotspot_peak, hotspot_mean=h.hotspot_mean,
        uniques_mean=_mean(counts), uniques_peak=max(counts, default=None),
        bytes_used=sum(by_day.values()) if counting else None)
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


def _areas(sites: Sequence[SiteFigures], conditions: Mapping[str, AssetCondition],
           opened: Sequence[Incident]) -> tuple[AreaFigures, ...]:
    """Per kecamatan; `opened`: the incidents opened in the period."""
    groups: dict[tuple[str, str], list[SiteFigures]] = defaultdict(list)
    for s in sites:
        groups[(s.site.kabupaten, s.site.kecamatan)].append(s)
    incidents: dict[tuple[str, str], list[Incident]] = defaultdict(list)
    for i in opened:
        incidents[(i.kabupaten, i.kecamatan)].append(i)
    return tuple(_area(kab, kec, members, conditions, incidents.get((kab, kec), []))
                 for (kab, kec), members in sorted(groups.items()))


def _open_incidents(store: Store, incidents: Sequence[Incident], bounds: Mapping[TimeZone, tuple[float, float]],
                    zone_of: Mapping[str, TimeZone], scope: Mapping[str, Site]) -> tuple[OpenIncident, ...]:
    out: list[OpenIncident] = []
    for incident in incidents:
        site = scope.get(incident.site or "")
        zone = site.timezone if site is not None else zone_of[incident.kabupaten]
        end = bounds[zone][1]
        if incident.opened_at >= end or (incident.resolved_at is not None and incident.resolved_at < end):
            continue
        acknowledged = incident.acknowledged_at is not None and incident.acknowledged_at < end
        out.append(OpenIncident(incident, zone, None, "acknowledged" if acknowledged else "open"))
    tickets = {t.incident: t.id for t in store.tickets(incidents=[o.incident.id for o in out])}
    out = [replace(o, ticket=tickets.get(o.incident.id)) for o in out]
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
