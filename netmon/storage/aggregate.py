"""Reads of the hourly rollups for a period that the database groups, so that a report over thousands of devices
reads a few thousand rows instead of every device's every hour (docs/performance.md, "Monthly report").

Each is one query over all devices (`Store` runs it in a read transaction):

- `polled_runs`: per device, its runs of consecutive clock hours with at least one poll (answered or failed),
  each with the first poll of its first hour and the last poll of its last hour: what "covered" is made of;
- `site_hours`: per site (the device -> site mapping given, through a temporary table), the hourly sums over
  its devices of the wifi clients' and hotspot users' hourly maximum and mean, reduced to the highest such
  sum and the mean of the sums over the hours where some device had the metric;
- `bytes_by_day`: per device with byte counts, the bytes received per local day (days counted in a zone given
  by its UTC offset), apart for the hours inside and outside [start, end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from netmon.storage import schema as t

HOUR = 3600.0
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class PolledRun:
    """Consecutive clock hours [first_hour, last_hour + 1 h) of one device, each with a poll."""

    device: str
    first_hour: float
    first_poll_at: float  # the first poll of the first hour
    last_hour: float
    last_poll_at: float  # the last poll of the last hour


@dataclass(frozen=True, slots=True)
class SiteHours:
    """A site's hourly sums over its devices (None: no device had the metric in any hour)."""

    site: str
    wifi_peak: float | None = None  # the highest hourly sum of the devices' wifi_clients_max
    wifi_mean: float | None = None  # the mean over hours of the sum of the devices' wifi_clients_avg
    hotspot_peak: float | None = None
    hotspot_mean: float | None = None


@dataclass(frozen=True, slots=True)
class DayBytes:
    device: str
    day: date  # the local day
    inside: bool  # the hours inside [start, end), or (False) those read around it
    bytes_in: int


def hours_in(conn: sa.Connection, since: float, until: float) -> sa.ColumnElement[bool]:
    """Hourly rollups of the hours starting in [since, until). On SQLite the `hour_start` index is bypassed
    (`hour_start + 0`): a period is a large share of the table, and reading it through that index (a table
    lookup per row, in hour order) took ten times as long as scanning the table (docs/performance.md)."""
    column: Any = t.hourly_rollups.c.hour_start
    if conn.dialect.name == "sqlite":
        column = column + 0
    return sa.and_(column >= since, column < until)


def polled_runs(conn: sa.Connection, since: float, until: float) -> dict[str, list[PolledRun]]:
    """Runs of hours starting in [since, until), per device, in order."""
    c = t.hourly_rollups.c
    rows = (sa.select(c.device, c.hour_start, c.first_poll_at, c.last_poll_at,
                      sa.func.lag(c.hour_start).over(partition_by=c.device, order_by=c.hour_start).label("prev"),
                      sa.func.lead(c.hour_start).over(partition_by=c.device, order_by=c.hour_start).label("next"))
            .where(hours_in(conn, since, until), c.polls_ok + c.polls_failed > 0).subquery())
    starts = sa.or_(rows.c.prev.is_(None), rows.c.prev != rows.c.hour_start - HOUR)
    ends = sa.or_(rows.c.next.is_(None), rows.c.next != rows.c.hour_start + HOUR)
    query = (sa.select(rows.c.device, rows.c.hour_start, rows.c.first_poll_at, rows.c.last_poll_at,
                       starts.label("starts"), ends.label("ends"))
             .where(sa.or_(starts, ends)).order_by(rows.c.device, rows.c.hour_start))
    out: dict[str, list[PolledRun]] = {}
    opened: tuple[float, float] | None = None
    for r in conn.execute(query):
        if r.starts:
            opened = (r.hour_start, r.first_poll_at)
        if r.ends and opened is not None:
            out.setdefault(r.device, []).append(PolledRun(r.device, *opened, r.hour_start, r.last_poll_at))
            opened = None
    return out


def site_hours(conn: sa.Connection, site_of: Mapping[str, str], since: float, until: float) -> dict[str, SiteHours]:
    """Per site of `site_of` (device -> site), its usage sums over the hours starting in [since, until)."""
    members = sa.Table("netmon_report_members", sa.MetaData(), sa.Column("device", sa.String(64), primary_key=True),
                       sa.Column("site", sa.String(64), nullable=False), prefixes=["TEMPORARY"])
    members.create(conn)
    try:
        if site_of:
            conn.execute(sa.insert(members), [{"device": d, "site": s} for d, s in site_of.items()])
        c = t.hourly_rollups.c

        def summed(n: Any, column: Any, name: str) -> Any:
            return sa.func.sum(sa.case((n > 0, sa.func.coalesce(column, 0.0)), else_=None)).label(name)

        hourly = (sa.select(members.c.site, summed(c.wifi_clients_n, c.wifi_clients_max, "w_max"),
                            summed(c.wifi_clients_n, c.wifi_clients_avg, "w_avg"),
                            summed(c.hotspot_users_n, c.hotspot_users_max, "h_max"),
                            summed(c.hotspot_users_n, c.hotspot_users_avg, "h_avg"))
                  .join_from(t.hourly_rollups, members, members.c.device == c.device)
                  .where(hours_in(conn, since, until))
                  .group_by(members.c.site, c.hour_start).subquery())
        query = sa.select(hourly.c.site, sa.func.max(hourly.c.w_max), sa.func.avg(hourly.c.w_avg),
                          sa.func.max(hourly.c.h_max), sa.func.avg(hourly.c.h_avg)).group_by(hourly.c.site)
        return {r[0]: SiteHours(*r) for r in conn.execute(query)}
    finally:
        members.drop(conn)


def bytes_by_day(conn: sa.Connection, utc_offset_s: int, since: float, until: float, start: float,
                 end: float) -> list[DayBytes]:
    """Bytes received per device and local day, from the hours starting in [since, until), those in
    [start, end) apart; devices without byte counts there are absent."""
    c = t.hourly_rollups.c
    day = sa.cast(c.hour_start + utc_offset_s, sa.BigInteger) // 86400  # hour starts are whole seconds
    inside = sa.and_(c.hour_start >= start, c.hour_start < end)
    query = (sa.select(c.device, day.label("day"), inside.label("inside"), sa.func.sum(c.bytes_in).label("bytes"))
             .where(hours_in(conn, since, until), c.bytes_in.is_not(None))
             .group_by(c.device, day, inside).order_by(c.device, day))
    return [DayBytes(r.device, EPOCH + timedelta(days=int(r.day)), bool(r.inside), int(r.bytes))
            for r in conn.execute(query)]
