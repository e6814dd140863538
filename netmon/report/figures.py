"""The report's figures (frozen records, pure): what every table, chart and file shows, computed by
`netmon.report.build` from stored history only. docs/reports.md explains each figure.

Time is counted in seconds of *covered* time: the time the daemon was polling the device (an hour with a stored
rollup for it) minus the spans it was not running (unknown spans), within the period and before the report's
`now`. Time not covered is neither up nor down; it shows as coverage below 100 % ("data tidak lengkap").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from netmon.model import AssetCondition, Cause, Condition, Device, Incident, Site, TimeZone
from netmon.report.period import Period

CAUSES = (Cause.DEVICE, Cause.SITE, Cause.PARENT, Cause.MAINTENANCE)


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True, slots=True)
class Uptime:
    """Seconds of one device, or summed over devices: the period (to `now`), covered, and down by cause."""

    period_s: float = 0.0
    covered_s: float = 0.0
    down_s: Mapping[Cause, float] = field(default_factory=dict)

    @property
    def total_down_s(self) -> float:
        return sum(self.down_s.values())

    @property
    def up_s(self) -> float:
        return self.covered_s - self.total_down_s

    @property
    def availability(self) -> float | None:
        """Up over covered time (None: nothing covered)."""
        return ratio(self.up_s, self.covered_s)

    @property
    def coverage(self) -> float | None:
        """Covered over the period's time (None: the period has not begun)."""
        return ratio(self.covered_s, self.period_s)

    def down_share(self, cause: Cause) -> float | None:
        return ratio(self.down_s.get(cause, 0.0), self.covered_s)

    def __add__(self, other: Uptime) -> Uptime:
        down = {c: self.down_s.get(c, 0.0) + other.down_s.get(c, 0.0) for c in CAUSES}
        return Uptime(self.period_s + other.period_s, self.covered_s + other.covered_s,
                      {c: s for c, s in down.items() if s})


@dataclass(frozen=True, slots=True)
class DeviceFigures:
    device: Device
    site: Site
    uptime: Uptime
    outages: int  # outage episodes with covered downtime in the period
    longest_down_s: float  # the longest episode's covered downtime in the period
    reboots: int


@dataclass(frozen=True, slots=True)
class Usage:
    """A site's use by the public in the period (None: no device reported it)."""

    wifi_peak: float | None = None  # highest hourly maximum of wifi clients (summed over the site's devices)
    wifi_mean: float | None = None  # mean of the hourly means (summed over devices), over hours with data
    hotspot_peak: float | None = None
    hotspot_mean: float | None = None
    uniques_mean: float | None = None  # distinct client devices per local day, mean over days counted
    uniques_peak: int | None = None  # the highest day
    bytes_used: int | None = None  # bytes the site's router(s) received on all interfaces


@dataclass(frozen=True, slots=True)
class SiteFigures:
    site: Site
    devices: tuple[DeviceFigures, ...]
    usage: Usage

    @property
    def uptime(self) -> Uptime:
        return sum((d.uptime for d in self.devices), Uptime())

    @property
    def outages(self) -> int:
        return sum(d.outages for d in self.devices)

    @property
    def longest_down_s(self) -> float:
        return max((d.longest_down_s for d in self.devices), default=0.0)

    @property
    def reboots(self) -> int:
        return sum(d.reboots for d in self.devices)


@dataclass(frozen=True, slots=True)
class AreaFigures:
    """One kecamatan (or, with kecamatan None, the whole report's scope)."""

    kabupaten: str | None
    kecamatan: str | None
    sites: int
    assets: int
    uptime: Uptime
    conditions: Mapping[Condition, int]  # assets by the condition the report states
    unassessed: int  # assets without a condition
    incidents: int  # incidents opened in the period


@dataclass(frozen=True, slots=True)
class AssetRow:
    figures: DeviceFigures
    condition: AssetCondition | None

    @property
    def changed(self) -> bool:
        c = self.condition
        return c is not None and c.previous is not None and c.previous is not c.condition


@dataclass(frozen=True, slots=True)
class OpenIncident:
    incident: Incident
    zone: TimeZone
    ticket: str | None  # the ticket id, when one was opened
    state: str  # "open" | "acknowledged" at the period's end


@dataclass(frozen=True, slots=True)
class DayUsage:
    """All sites of the scope on one local day (each site's own zone)."""

    day: date
    bytes_used: int
    uniques: int


@dataclass(frozen=True, slots=True)
class MissingData:
    """Results of a site agent that will never arrive (its outbox bound dropped them, or the office gave up
    waiting: `reason` "dropped"/"missing"), for a site it serves, within the period: that time is not covered
    (neither up nor down) for the site's devices, and the report says so."""

    site: Site
    agent: str
    from_at: float | None
    to_at: float | None
    results: int
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    kabupaten: str | None  # the scope: one kabupaten, or None for every configured site
    zones: tuple[TimeZone, ...]  # the zones of the sites in scope
    total: AreaFigures
    areas: tuple[AreaFigures, ...]
    sites: tuple[SiteFigures, ...]
    assets: tuple[AssetRow, ...]
    open_incidents: tuple[OpenIncident, ...]
    days: tuple[DayUsage, ...]
    missing: tuple[MissingData, ...] = ()  # site agents' results lost for good (issue #14)
