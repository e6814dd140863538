"""Spreadsheets in and out: the one module that imports openpyxl (XLSX); CSV through the standard library.

Reading gives a `Sheet`: the cell values row by row (1-based row numbers as the spreadsheet shows them), each
with its number format, and the merged ranges. A merged range's value is copied into every cell it covers, so a
header "Nomor" merged over "Pabrik" and "Rangka" reads "Nomor" above both. Formulas read as their cached values
(what the clerk's Excel showed when saved); a file saved by a program that keeps no cached values reads them as
empty. CSV: UTF-8 (a byte-order mark is fine) or, failing that, Windows-1252 as an older Excel saves it; comma
or semicolon separated (Excel in the Indonesian locale writes semicolons).

Writing an XLSX: title rows, one bold header row that stays in view (frozen) with a filter, the data rows with
a number format per column, and column widths that fit the text.

Every problem with the file is a `ConfigError` naming it (bad input, exit 2 at the command line).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from netmon.errors import ConfigError

CellValue = str | int | float | datetime | date | None


@dataclass(frozen=True, slots=True)
class Cell:
    value: CellValue
    number_format: str = "General"


@dataclass(frozen=True, slots=True)
class Merge:
    """A merged range, 1-based and inclusive, as the spreadsheet numbers rows and columns."""

    min_row: int
    min_col: int
    max_row: int
    max_col: int


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    rows: tuple[tuple[Cell, ...], ...]  # rows[0] is spreadsheet row 1; every row as wide as the widest
    merges: tuple[Merge, ...] = ()

    def row(self, number: int) -> tuple[Cell, ...]:
        """Spreadsheet row `number` (1-based); an empty row past the end."""
        if 1 <= number <= len(self.rows):
            return self.rows[number - 1]
        return tuple(Cell(None) for _ in range(self.width))

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0


def read_sheet(path: Path, sheet: str | None = None) -> Sheet:
    """The sheet named `sheet` of an .xlsx/.xlsm file (default: the first), or a .csv file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if sheet is not None:
            raise ConfigError("--sheet is for .xlsx files; a CSV file has one table", file=str(path))
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    raise ConfigError(f"unknown spreadsheet type {suffix or '(none)'!r}: give an .xlsx or .csv file", file=str(path))


def _read_xlsx(path: Path, sheet: str | None) -> Sheet:
    try:
        book = load_workbook(path, data_only=True)
    except FileNotFoundError:
        raise ConfigError("no such file", file=str(path)) from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ConfigError(f"not a readable XLSX workbook: {exc}", file=str(path)) from exc
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise ConfigError(f"no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})", file=str(path))
        width = ws.max_column
        grid = [[Cell(_value(c.value), getattr(c, "number_format", None) or "General") for c in row]
                for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=width)]
        merges = tuple(Merge(r.min_row, r.min_col, r.max_row, r.max_col) for r in ws.merged_cells.ranges)
    finally:
        book.close()
    for m in merges:  # the top-left cell holds the value; spread it over the range
        top = grid[m.min_row - 1][m.min_col - 1]
        for r in range(m.min_row, m.max_row + 1):
            for c in range(m.min_col, m.max_col + 1):
                grid[r - 1][c - 1] = top
    return Sheet(ws.title, tuple(tuple(row) for row in grid), merges)


def _value(raw: object) -> CellValue:
    if raw is None or isinstance(raw, str | int | float | datetime | date):
        return raw if not isinstance(raw, bool) else str(raw)
    return str(raw)


def _read_csv(path: Path) -> Sheet:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    sample = text[:8192]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    width = max((len(r) for r in rows), default=0)
    grid = tuple(tuple(Cell(v if v.strip() else None) for v in [*r, *[""] * (width - len(r))]) for r in rows)
    return Sheet(path.stem, grid)


def write_xlsx(path: Path, *, sheet: str, titles: Sequence[str], header: Sequence[str],
               rows: Sequence[Sequence[CellValue]], formats: Mapping[int, str] | None = None) -> None:
    """One sheet: `titles` (one bold line each, merged across the table), an empty row, the header (bold,
    frozen, filtered), then `rows`. `formats`: a number format per column index (0-based)."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet[:31]  # Excel's limit
    width = len(header)
    for i, title in enumerate(titles, start=1):
        ws.cell(row=i, column=1, value=title).font = Font(bold=True)
        if width > 1:
            ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
    header_row = len(titles) + 2 if titles else 1
    for c, label in enumerate(header, start=1):
        cell = ws.cell(row=header_row, column=c, value=label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for r, values in enumerate(rows, start=header_row + 1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if formats and (c - 1) in formats:
                cell.number_format = formats[c - 1]
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    last = get_column_letter(max(width, 1))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(rows), 1)}"
    for c in range(1, width + 1):
        longest = max([len(str(header[c - 1]))] + [len(str(v[c - 1])) for v in rows if len(v) >= c
                                                    and v[c - 1] is not None])
        ws.column_dimensions[get_column_letter(c)].width = min(max(8, longest + 2), 50)
    try:
        book.save(path)
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror or exc}", file=str(path)) from exc


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[CellValue]]) -> None:
    """UTF-8 with a byte-order mark and semicolons: what Excel in the Indonesian locale opens as a table."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    try:
        path.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror or exc}", file=str(path)) from exc
