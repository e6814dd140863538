"""Each asset's condition for a report's period, from the condition rules of `netmon.assets` (docs/assets.md),
taken in the zone of the asset's kabupaten.

- A month: the month's history, up to `now` when the month is not over; the previous condition is the previous
  month's.
- A semester or a year states the condition **at the period's end**, for the official inventory reports: the
  history of the period's last month (the month of `now` while the period is not over), with the inspections
  that count by then; the previous condition is the one at the end of the previous period (its last month). The
  rules' thresholds are monthly figures (10 reboots, 97 % available); over a whole year they would call an asset
  repaired in March "RR" in December.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta

from netmon.assets.condition import assess
from netmon.config.assets import ConditionRules
from netmon.model import DEFAULT_TIMEZONE, AssetCondition, Device, Site, TimeZone
from netmon.report.period import Period, PeriodKind
from netmon.storage import Store


def assessed_month(period: Period, zone: TimeZone, now: float) -> Period:
    """The month whose history gives the condition stated for `period` (module docstring)."""
    if period.kind is PeriodKind.MONTH:
        return period
    last = period.end_day - timedelta(days=1)
    day = max(period.first_day, min(last, zone.date_at(now)))
    return Period(PeriodKind.MONTH, day.year, day.month)


def _assess_month(store: Store, devices: Mapping[str, Device], month: Period, zone: TimeZone, rules: ConditionRules,
                  now: float) -> dict[str, AssetCondition]:
    start, end = month.bounds(zone)
    return assess(store, devices, start, max(start, min(end, now)), rules,
                  previous_start=month.previous().bounds(zone)[0])


def conditions_for(store: Store, devices: Mapping[str, Device], sites: Mapping[str, Site], period: Period,
                   rules: ConditionRules, now: float) -> dict[str, AssetCondition]:
    """Each asset's condition for `period` as of `now` (module docstring)."""
    by_zone: dict[TimeZone, dict[str, Device]] = {}
    for device_id, device in devices.items():
        site = sites.get(device.site)
        by_zone.setdefault(site.timezone if site else DEFAULT_TIMEZONE, {})[device_id] = device
    found: dict[str, AssetCondition] = {}
    for zone, members in sorted(by_zone.items()):
        at_end = _assess_month(store, members, assessed_month(period, zone, now), zone, rules, now)
        if period.kind is not PeriodKind.MONTH:
            before = _assess_month(store, members, assessed_month(period.previous(), zone, now), zone, rules, now)
            at_end = {d: dataclasses.replace(c, previous=before[d].condition) for d, c in at_end.items()}
        found |= at_end
    return found
