"""The report as tables (pure): the same rows feed the PDF, the XLSX sheets and the CSV files. Cells hold plain
values (ratios as fractions, hours, gigabytes, rupiah, dates); each renderer formats them by the column's kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from netmon.model import Cause, Condition
from netmon.report.figures import AreaFigures, AssetRow, Report, SiteFigures, Uptime
from netmon.report.language import Language

Cell = str | int | float | date | None
GB = 1e9


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"  # a count
    NUMBER = "number"  # one decimal (a mean)
    RATIO = "ratio"  # a fraction shown as a percentage
    HOURS = "hours"
    GIGABYTES = "gigabytes"
    RUPIAH = "rupiah"
    YEAR = "year"
    DATE = "date"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # stable, for file and sheet names: summary, sites, assets, incidents, days, missing
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: tuple[Cell, ...] | None = None  # a last row set apart (the summary's whole-scope line)

    def select(self, keys: Sequence[str]) -> Table:
        """The same table with only the columns `keys`, in that order."""
        index = [next(i for i, c in enumerate(self.columns) if c.key == k) for k in keys]
        return Table(self.name, self.title, tuple(self.columns[i] for i in index),
                     tuple(tuple(row[i] for i in index) for row in self.rows),
                     None if self.total is None else tuple(self.total[i] for i in index))


def _columns(t: Language, spec: Sequence[tuple[str, Kind]]) -> tuple[Column, ...]:
    return tuple(Column(key, t(key), kind) for key, kind in spec)


def _hours(seconds: float) -> float:
    return round(seconds / 3600.0, 2)


def _uptime_cells(u: Uptime) -> tuple[Cell, ...]:
    return (u.availability, u.coverage, *(u.down_share(c) for c in (Cause.DEVICE, Cause.SITE, Cause.PARENT,
                                                                      Cause.MAINTENANCE)))


UPTIME = (("availability", Kind.RATIO), ("coverage", Kind.RATIO), ("down_device", Kind.RATIO),
          ("down_site", Kind.RATIO), ("down_parent", Kind.RATIO), ("down_maintenance", Kind.RATIO))


def summary_table(report: Report, t: Language) -> Table:
    spec = (("kabupaten", Kind.TEXT), ("kecamatan", Kind.TEXT), ("sites", Kind.INT), ("assets", Kind.INT),
            ("availability", Kind.RATIO), ("coverage", Kind.RATIO), ("cond_b", Kind.INT), ("cond_rr", Kind.INT),
            ("cond_rb", Kind.INT), ("unassessed", Kind.INT), ("incidents", Kind.INT))

    def row(a: AreaFigures, kabupaten: str, kecamatan: str) -> tuple[Cell, ...]:
        return (kabupaten, kecamatan, a.sites, a.assets, a.uptime.availability, a.uptime.coverage,
                a.conditions.get(Condition.GOOD, 0), a.conditions.get(Condition.MINOR, 0),
                a.conditions.get(Condition.MAJOR, 0), a.unassessed, a.incidents)

    return Table("summary", t("summary"), _columns(t, spec),
                 tuple(row(a, a.kabupaten or "", a.kecamatan or "") for a in report.areas),
                 row(report.total, t("total"), ""))


def _site_row(s: SiteFigures) -> tuple[Cell, ...]:
    u = s.usage
    return (s.site.kabupaten, s.site.kecamatan, s.site.name, s.site.desa, len(s.devices), *_uptime_cells(s.uptime),
            s.outages, _hours(s.uptime.total_down_s), _hours(s.longest_down_s), s.reboots, u.wifi_peak,
            u.wifi_mean, u.hotspot_peak, u.hotspot_mean, u.uniques_mean, u.uniques_peak,
            None if u.bytes_used is None else round(u.bytes_used / GB, 3))


def sites_table(report: Report, t: Language) -> Table:
    spec = (("kabupaten", Kind.TEXT), ("kecamatan", Kind.TEXT), ("site", Kind.TEXT), ("desa", Kind.TEXT),
            ("assets", Kind.INT), *UPTIME, ("outages", Kind.INT), ("downtime_h", Kind.HOURS),
            ("longest_h", Kind.HOURS), ("reboots", Kind.INT), ("wifi_peak", Kind.INT), ("wifi_mean", Kind.NUMBER),
            ("hotspot_peak", Kind.INT), ("hotspot_mean", Kind.NUMBER), ("uniques_mean", Kind.NUMBER),
            ("uniques_peak", Kind.INT), ("data_gb", Kind.GIGABYTES))
    return Table("sites", t("sites_section"), _columns(t, spec), tuple(_site_row(s) for s in report.sites))


def _inspection(row: AssetRow, t: Language) -> str:
    c = row.condition
    if c is None or c.confirmed is None:
        return ""
    i = c.confirmed
    return f"{i.condition.value}, {t.date(i.on)}, {i.by}: {i.note}"


def _change(row: AssetRow, t: Language) -> str:
    c = row.condition
    if c is None or c.previous is None:
        return ""
    return f"{c.previous.value} → {c.condition.value}" if row.changed else t("unchanged")


def assets_table(report: Report, t: Language) -> Table:
    spec = (("no", Kind.INT), ("kode_barang", Kind.TEXT), ("nama_barang", Kind.TEXT),
            ("nomor_register", Kind.TEXT), ("merk", Kind.TEXT), ("ukuran", Kind.TEXT), ("bahan", Kind.TEXT),
            ("tahun", Kind.YEAR), ("seri", Kind.TEXT), ("asal", Kind.TEXT), ("harga", Kind.RUPIAH),
            ("keterangan", Kind.TEXT), ("kecamatan", Kind.TEXT), ("site", Kind.TEXT), ("device", Kind.TEXT),
            ("availability", Kind.RATIO), ("coverage", Kind.RATIO), ("down_device", Kind.RATIO),
            ("reboots", Kind.INT), ("suggested", Kind.TEXT), ("evidence", Kind.TEXT), ("confirmed", Kind.TEXT),
            ("inspection", Kind.TEXT), ("previous", Kind.TEXT), ("change", Kind.TEXT), ("condition", Kind.TEXT))
    rows = []
    for n, row in enumerate(report.assets, 1):
        d, a, c = row.figures.device, row.figures.device.asset, row.condition
        rows.append((n, a.kode_barang, a.name or d.role.value, a.nomor_register, a.model, a.size, a.material,
                     a.year_acquired, a.serial, a.origin, a.value_idr, a.remarks, row.figures.site.kecamatan,
                     row.figures.site.name, d.id, row.figures.uptime.availability, row.figures.uptime.coverage,
                     row.figures.uptime.down_share(Cause.DEVICE), row.figures.reboots,
                     t.condition(c.suggested) if c else "—", c.evidence if c else t("not_assessed"),
                     t.condition(c.confirmed.condition) if c and c.confirmed else "", _inspection(row, t),
                     t.condition(c.previous) if c and c.previous else "", _change(row, t),
                     t.condition(c.condition) if c else "—"))
    return Table("assets", t("assets_section"), _columns(t, spec), tuple(rows))


def incidents_table(report: Report, t: Language) -> Table:
    spec = (("incident", Kind.TEXT), ("ticket", Kind.TEXT), ("state", Kind.TEXT), ("kecamatan", Kind.TEXT),
            ("site", Kind.TEXT), ("device", Kind.TEXT), ("opened", Kind.TEXT), ("what", Kind.TEXT))
    rows = tuple((o.incident.id, o.ticket or "", t(o.state), o.incident.kecamatan, o.incident.site or "",
                  o.incident.device or "", o.zone.stamp(o.incident.opened_at), o.incident.summary)
                 for o in report.open_incidents)
    return Table("incidents", t("incidents_section"), _columns(t, spec), rows)


def days_table(report: Report, t: Language) -> Table:
    spec = (("day", Kind.DATE), ("data_gb", Kind.GIGABYTES), ("uniques", Kind.INT))
    return Table("days", t("days_section"), _columns(t, spec),
                 tuple((d.day, round(d.bytes_used / GB, 3), d.uniques) for d in report.days))


def missing_table(report: Report, t: Language) -> Table:
    """Site agents' results lost for good (issue #14): the periods the history cannot tell."""
    spec = (("site", Kind.TEXT), ("kecamatan", Kind.TEXT), ("agent", Kind.TEXT), ("from", Kind.TEXT),
            ("to", Kind.TEXT), ("results", Kind.INT), ("why", Kind.TEXT))
    rows = tuple((m.site.name, m.site.kecamatan, m.agent,
                  m.site.timezone.stamp(m.from_at) if m.from_at is not None else "",
                  m.site.timezone.stamp(m.to_at) if m.to_at is not None else "", m.results, t(f"gap_{m.reason}"))
                 for m in report.missing)
    return Table("missing", t("missing_section"), _columns(t, spec), rows)


def tables(report: Report, t: Language) -> tuple[Table, ...]:
    """Every table of the report, in reading order."""
    return (summary_table(report, t), sites_table(report, t), assets_table(report, t), incidents_table(report, t),
            days_table(report, t), missing_table(report, t))


def text(value: Cell, kind: Kind, t: Language) -> str:
    """A cell as people read it in the PDF."""
    if value is None or value == "":
        return "—" if kind is not Kind.TEXT else ""
    if isinstance(value, date):
        return t.date(value)
    if isinstance(value, str):
        return value
    formats = {Kind.RATIO: lambda v: t.percent(v), Kind.HOURS: lambda v: t.number(v, 1),
               Kind.GIGABYTES: lambda v: t.number(v, 2), Kind.NUMBER: lambda v: t.number(v, 1),
               Kind.RUPIAH: lambda v: t.number(v), Kind.YEAR: lambda v: str(int(v)),
               Kind.INT: lambda v: t.number(v)}
    return formats.get(kind, str)(value)
