"""The report as one HTML document (Jinja2 template + CSS in `templates/`), for WeasyPrint to print. The tables
shown are selections of `netmon.report.table` (the PDF is landscape A4: the widest tables are split or trimmed;
the XLSX and CSV files hold every column). Text is autoescaped; only the charts' SVG is inserted as is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from netmon.config.report import ReportConfig
from netmon.model import Condition
from netmon.report import chart
from netmon.report.figures import AssetRow, Report, Uptime
from netmon.report.language import Language
from netmon.report.period import PeriodKind
from netmon.report.table import Cell, Kind, Table, tables, text

TEMPLATES = Path(__file__).parent / "templates"

SITE_AVAILABILITY = ("site", "kecamatan", "desa", "assets", "availability", "coverage", "down_device",
                     "down_site", "down_parent", "down_maintenance", "outages", "downtime_h", "longest_h",
                     "reboots")
SITE_USAGE = ("site", "kecamatan", "wifi_peak", "wifi_mean", "hotspot_peak", "hotspot_mean", "uniques_mean",
              "uniques_peak", "data_gb")
ASSETS = ("no", "kode_barang", "nama_barang", "nomor_register", "merk", "tahun", "seri", "harga", "site",
          "availability", "coverage", "suggested", "evidence", "inspection", "change", "condition")


# Above this many assets (a province, rather than a kabupaten) the PDF prints the summary per kecamatan, the
# charts, the assets that need attention and the open incidents; every site and asset is in the XLSX and CSV.
DETAIL_ASSETS_MAX = 600
CHART_BARS_MAX = 40  # bars of the availability chart that fit under the summary on a page


@dataclass(frozen=True, slots=True)
class Shown:
    """A table as printed: headers, and per row (css class, cell texts)."""

    title: str
    headers: tuple[tuple[str, str], ...]  # (header, css classes: "text"/"num" and "col-KEY")
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    name: str = ""  # the table's name, a css class (column widths of the assets table)


def _shown(table: Table, t: Language, title: str | None = None) -> Shown:
    """The table's cells as text; an empty cell of a row reads "—" (nothing there, not forgotten)."""
    def cell(value: Cell, kind: Kind, key: str) -> str:
        if key == "coverage" and isinstance(value, float) and value < 0.9995:
            return f"{t('incomplete')}: {t.percent(value)}"
        return text(value, kind, t) or "—"

    classes = tuple(f"{'text' if c.kind is Kind.TEXT else 'num'} col-{c.key}" for c in table.columns)
    rows = [("", tuple(cell(v, c.kind, c.key) for v, c in zip(row, table.columns, strict=True)))
            for row in table.rows]
    if table.total is not None:
        rows.append(("total", tuple(text(v, c.kind, t) if v == "" else cell(v, c.kind, c.key)
                                    for v, c in zip(table.total, table.columns, strict=True))))
    return Shown(title or table.title, tuple((c.header, k) for c, k in zip(table.columns, classes, strict=True)),
                 tuple(rows), table.name)


def _worth_explaining(row: AssetRow) -> bool:
    """Whether the PDF prints an asset's evidence: its suggestion is not B, a person confirmed another condition
    than the suggestion, or the condition changed (the XLSX and CSV give every asset's)."""
    c = row.condition
    if c is None:
        return True
    confirmed = c.confirmed.condition if c.confirmed else c.suggested
    return c.suggested is not Condition.GOOD or confirmed is not c.suggested or row.changed


def signed_assets(assets: Table, report: Report) -> Table:
    """The asset table as the PDF prints it: every asset with its evidence up to `DETAIL_ASSETS_MAX` assets (a
    kabupaten: an auditor may ask why a "B" router was down for a week); above it (a province) only the assets
    with something to explain (a province's 3,000 assets made a PDF of 266 pages, 83 s and 1.5 GB in WeasyPrint;
    docs/performance.md), the XLSX and CSV giving every asset."""
    if len(report.assets) <= DETAIL_ASSETS_MAX:
        return assets
    return replace(assets, rows=tuple(row for row, asset in zip(assets.rows, report.assets, strict=True)
                                      if _worth_explaining(asset)))


def _day_label(day: date, monthly: bool, t: Language) -> str:
    if monthly:
        return str(day.day)
    return t.month(day.month)[:3] if day.day == 1 else ""


def charts(report: Report, t: Language) -> dict[str, str]:
    monthly = report.period.kind is PeriodKind.MONTH
    areas = [(a.kecamatan or "", a.uptime.availability) for a in report.areas]
    title = t("chart_availability")
    if len(areas) > CHART_BARS_MAX:  # a bar per kecamatan would run off the page: one per kabupaten
        uptime: dict[str, Uptime] = {}
        for a in report.areas:
            uptime[a.kabupaten or ""] = uptime.get(a.kabupaten or "", Uptime()) + a.uptime
        areas, title = [(k, u.availability) for k, u in sorted(uptime.items())], t("chart_availability_kabupaten")
    return {
        "availability": chart.availability_bars(areas, t.percent, title),
        "bytes": chart.day_bars([(_day_label(d.day, monthly, t), d.bytes_used / 1e9) for d in report.days],
                                t("chart_bytes"), lambda v: t.number(v, 1)),
        "uniques": chart.day_bars([(_day_label(d.day, monthly, t), float(d.uniques)) for d in report.days],
                                  t("chart_uniques"), lambda v: t.number(v)),
    }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report, t: Language, settings: ReportConfig, *, generated: date) -> str:
    """The whole report as HTML; `generated` is the date printed under the signatures."""
    summary, sites, assets, incidents, _days, missing = tables(report, t)
    context = {
        "t": t, "report": report, "settings": settings,
        "period": t.period(report.period),
        "scope": report.kabupaten or t("all_kabupaten"),
        "zones": ", ".join(z.abbreviation for z in report.zones),
        "generated": t.date(generated),
        "total": report.total,
        "conditions": [t.number(report.total.conditions.get(c, 0)) for c in Condition],
        "summary": _shown(summary, t),
        "sites_availability": _shown(sites.select(SITE_AVAILABILITY), t),
        "sites_usage": _shown(sites.select(SITE_USAGE), t),
        "assets": _shown(signed_assets(assets, report).select(ASSETS), t),
        "detailed": len(report.assets) <= DETAIL_ASSETS_MAX,
        "limit": t.number(DETAIL_ASSETS_MAX),
        "incidents": _shown(incidents, t),
        "missing": _shown(missing, t),
        "charts": {k: Markup(v) for k, v in charts(report, t).items()},
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
    }
    return _environment().get_template("report.html.j2").render(context)
