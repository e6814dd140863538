"""The report as one XLSX workbook, a sheet per table (the only module importing XlsxWriter; the asset register's
spreadsheet import reads with openpyxl elsewhere). Numbers stay numbers with a number format (percentages,
hours, gigabytes, rupiah, dates), the header row is frozen and has an autofilter, and the summary's total row is
bold. Written with `constant_memory`, row by row, so a province-sized report stays small in memory."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from netmon.report.table import Kind, Table

FORMATS = {Kind.RATIO: "0.0%", Kind.HOURS: "#,##0.0", Kind.GIGABYTES: "#,##0.00", Kind.NUMBER: "#,##0.0",
           Kind.RUPIAH: "#,##0", Kind.INT: "#,##0", Kind.YEAR: "0", Kind.DATE: "yyyy-mm-dd"}
WIDTHS = {Kind.TEXT: 22, Kind.DATE: 12, Kind.RUPIAH: 14}


def write_xlsx(tables: tuple[Table, ...], path: Path, *, title: str) -> Path:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                "strings_to_formulas": False, "strings_to_urls": False})
    # fixed metadata: the same report gives the same file content
    workbook.set_properties({"title": title, "author": "kim-netmon", "created": datetime(2000, 1, 1)})
    header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DCE6F1",
                                  "border": 1})
    formats: dict[tuple[Kind, bool], Any] = {}

    def cell_format(kind: Kind, bold: bool = False) -> Any:
        if (kind, bold) not in formats:
            spec: dict[str, Any] = {"bold": bold}
            if kind in FORMATS:
                spec["num_format"] = FORMATS[kind]
            formats[(kind, bold)] = workbook.add_format(spec)
        return formats[(kind, bold)]

    for table in tables:
        sheet = workbook.add_worksheet(table.name)
        for col, column in enumerate(table.columns):
            sheet.set_column(col, col, WIDTHS.get(column.kind, 12))
            sheet.write_string(0, col, column.header, header)
        rows = [*table.rows, *((table.total,) if table.total else ())]
        for r, row in enumerate(rows, 1):
            bold = table.total is not None and r == len(rows)
            for col, (value, column) in enumerate(zip(row, table.columns, strict=True)):
                fmt = cell_format(column.kind, bold)
                if value is None or value == "":
                    sheet.write_blank(r, col, None, fmt)
                elif isinstance(value, date):
                    sheet.write_datetime(r, col, datetime(value.year, value.month, value.day), fmt)
                elif isinstance(value, str):
                    sheet.write_string(r, col, value, fmt)
                else:
                    sheet.write_number(r, col, value, fmt)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(rows), 1), len(table.columns) - 1)
    workbook.close()
    return path
