"""Report periods: parsing `--month/--semester/--year`, their days, and their bounds in each zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from netmon.model import TimeZone
from netmon.report.period import Period, PeriodKind, parse_period


@pytest.mark.parametrize(("option", "text", "kind", "first", "end"), [
    ("month", "2026-11", PeriodKind.MONTH, date(2026, 11, 1), date(2026, 12, 1)),
    ("month", "2026-12", PeriodKind.MONTH, date(2026, 12, 1), date(2027, 1, 1)),
    ("month", "2024-2", PeriodKind.MONTH, date(2024, 2, 1), date(2024, 3, 1)),
    ("semester", "2026-1", PeriodKind.SEMESTER, date(2026, 1, 1), date(2026, 7, 1)),
    ("semester", "2026-S2", PeriodKind.SEMESTER, date(2026, 7, 1), date(2027, 1, 1)),
    ("year", "2026", PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1)),
], ids=["november", "december-rolls-the-year", "leap-february", "semester-1", "semester-2", "year"])
def test_a_period_covers_its_local_days(option: str, text: str, kind: PeriodKind, first: date, end: date) -> None:
    period = parse_period(**{option: text})
    assert (period.kind, period.first_day, period.end_day) == (kind, first, end)
    assert period.days == (end - first).days


def test_bounds_are_local_midnights_an_hour_apart_per_zone() -> None:
    november = Period(PeriodKind.MONTH, 2026, 11)
    utc = {z: tuple(datetime.fromtimestamp(b, UTC).isoformat() for b in november.bounds(z)) for z in TimeZone}
    assert utc == {TimeZone.WIB: ("2026-10-31T17:00:00+00:00", "2026-11-30T17:00:00+00:00"),
                   TimeZone.WITA: ("2026-10-31T16:00:00+00:00", "2026-11-30T16:00:00+00:00"),
                   TimeZone.WIT: ("2026-10-31T15:00:00+00:00", "2026-11-30T15:00:00+00:00")}


@pytest.mark.parametrize(("period", "previous", "slug"), [
    (Period(PeriodKind.MONTH, 2026, 1), Period(PeriodKind.MONTH, 2025, 12), "2026-01"),
    (Period(PeriodKind.SEMESTER, 2026, 2), Period(PeriodKind.SEMESTER, 2026, 1), "2026-S2"),
    (Period(PeriodKind.YEAR, 2026), Period(PeriodKind.YEAR, 2025), "2026"),
], ids=["month", "semester", "year"])
def test_previous_period_and_file_slug(period: Period, previous: Period, slug: str) -> None:
    assert (period.previous(), period.slug) == (previous, slug)
