"""The period a report covers: a calendar month, semester or year (pure, no I/O).

A period is a span of local calendar days. Its instants depend on the zone: November 2026 in a WITA kabupaten
starts at 2026-11-01 00:00 WITA, an hour before it starts in a WIB one. `bounds(zone)` gives the unix times
[start, end) of the period in one zone; the report computes each site's figures within its own zone's bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from netmon.model import TimeZone


class PeriodKind(StrEnum):
    MONTH = "month"
    SEMESTER = "semester"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Period:
    """`index` is the month (1-12) of a month, the semester (1-2) of a semester, 1 for a year."""

    kind: PeriodKind
    year: int
    index: int = 1

    @property
    def first_day(self) -> date:
        month = {PeriodKind.MONTH: self.index, PeriodKind.SEMESTER: 6 * (self.index - 1) + 1}.get(self.kind, 1)
        return date(self.year, month, 1)

    @property
    def end_day(self) -> date:
        """The first day after the period."""
        months = {PeriodKind.MONTH: 1, PeriodKind.SEMESTER: 6, PeriodKind.YEAR: 12}[self.kind]
        first = self.first_day
        n = first.month - 1 + months
        return date(first.year + n // 12, n % 12 + 1, 1)

    @property
    def days(self) -> int:
        return (self.end_day - self.first_day).days

    def bounds(self, zone: TimeZone) -> tuple[float, float]:
        """Unix times of local midnight starting the period and local midnight after it, in `zone`."""
        return _midnight(self.first_day, zone), _midnight(self.end_day, zone)

    @property
    def slug(self) -> str:
        """For file names: "2026-11", "2026-S2", "2026"."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.year}-{self.index:02d}"
        if self.kind is PeriodKind.SEMESTER:
            return f"{self.year}-S{self.index}"
        return str(self.year)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind is PeriodKind.YEAR or self.index == 1:
            last = {PeriodKind.MONTH: 12, PeriodKind.SEMESTER: 2, PeriodKind.YEAR: 1}[self.kind]
            return Period(self.kind, self.year - 1, last)
        return Period(self.kind, self.year, self.index - 1)


def _midnight(day: date, zone: TimeZone) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone.tzinfo).timestamp()


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_SEMESTER = re.compile(r"^(\d{4})-(?:S)?([12])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(*, month: str | None = None, semester: str | None = None, year: str | None = None) -> Period:
    """Exactly one of `--month 2026-11`, `--semester 2026-2` (or 2026-S2), `--year 2026`; ValueError (one line,
    naming the option) for anything else."""
    given = [(name, value) for name, value in (("--month", month), ("--semester", semester), ("--year", year))
             if value is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of --month YYYY-MM, --semester YYYY-1|2 or --year YYYY")
    name, text = given[0]
    text = text.strip()
    pattern, kind, example = {"--month": (_MONTH, PeriodKind.MONTH, "2026-11"),
                              "--semester": (_SEMESTER, PeriodKind.SEMESTER, "2026-2"),
                              "--year": (_YEAR, PeriodKind.YEAR, "2026")}[name]
    found = pattern.match(text)
    if found is None:
        raise ValueError(f"{name} {text!r}: write it like {example}")
    number = int(found.group(1))
    index = int(found.group(2)) if kind is not PeriodKind.YEAR else 1
    if not 2000 <= number <= 2100:
        raise ValueError(f"{name} {text!r}: the year must be 2000-2100")
    if kind is PeriodKind.MONTH and not 1 <= index <= 12:
        raise ValueError(f"{name} {text!r}: the month must be 01-12")
    return Period(kind, number, index)
