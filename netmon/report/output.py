"""Write a built `Report` in the formats asked for (pdf, xlsx, csv) into a directory; returns the files written.
File names carry the period and scope: `laporan-aset-2026-11[-banyumas].pdf`, `...xlsx`, `...-summary.csv`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path

from netmon.config.report import ReportConfig
from netmon.report.figures import Report
from netmon.report.language import Language
from netmon.report.table import tables


class Format(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"
    CSV = "csv"


def parse_formats(text: str) -> tuple[Format, ...]:
    """"pdf,xlsx,csv" -> formats in that order; ValueError naming the bad one."""
    out: list[Format] = []
    for part in (p.strip().lower() for p in text.split(",")):
        try:
            out.append(Format(part))
        except ValueError:
            raise ValueError(f"--format {part!r}: use pdf, xlsx and/or csv, comma-separated") from None
    return tuple(dict.fromkeys(out))


def stem(report: Report) -> str:
    scope = "" if report.kabupaten is None else "-" + re.sub(r"[^a-z0-9]+", "-", report.kabupaten.lower()).strip("-")
    return f"laporan-aset-{report.period.slug}{scope}"


def write_report(report: Report, formats: Sequence[Format], t: Language, settings: ReportConfig, out: Path, *,
                 generated: date) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    name = stem(report)
    written: list[Path] = []
    # the agents' lost data only where there is some (most deployments have no site agents)
    all_tables = tuple(table for table in tables(report, t) if table.name != "missing" or table.rows)
    for fmt in formats:
        if fmt is Format.PDF:
            from netmon.report.html import render_html
            from netmon.report.render_pdf import write_pdf

            written.append(write_pdf(render_html(report, t, settings, generated=generated), out / f"{name}.pdf"))
        elif fmt is Format.XLSX:
            from netmon.report.render_xlsx import write_xlsx

            title = f"{t('title')}: {t.period(report.period)}"
            written.append(write_xlsx(all_tables, out / f"{name}.xlsx", title=title))
        else:
            from netmon.report.render_csv import write_csv

            written += [write_csv(table, out / f"{name}-{table.name}.csv") for table in all_tables]
    return written
