"""One CSV file per table (UTF-8, comma-separated, a header row of the column names in the report's language).
Values are plain for machines: percentages as numbers with two decimals (99.52, header "... (%)"), hours and
gigabytes with a decimal point, dates as YYYY-MM-DD, nothing as an empty field."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from netmon.report.table import Cell, Kind, Table


def _value(value: Cell, kind: Kind) -> Cell:
    if value is None:
        return ""
    if kind is Kind.RATIO and isinstance(value, float | int):
        return round(100.0 * value, 2)
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(table: Table, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.header + (" (%)" if c.kind is Kind.RATIO else "") for c in table.columns])
        for row in (*table.rows, *((table.total,) if table.total else ())):
            writer.writerow([_value(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    return path
