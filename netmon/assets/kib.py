"""The KIB B layout (Kartu Inventaris Barang B, Peralatan dan Mesin) as clerks keep it in a spreadsheet (pure).

Reading (`read_kib`) is tolerant, as the clerks' files differ:

- the header row is found (the row, within the first 40, naming the most KIB B columns) unless given;
- a two-row header (a group cell such as "Nomor" merged over "Pabrik", "Rangka", "Mesin"; or cells merged down
  over both rows) is read as one label per column ("Nomor Pabrik"), and a row of column numbers under the
  header (1, 2, 3, ...) is skipped;
- labels are compared without case, spaces or punctuation, and the usual variants are known: "No. Register",
  "Nomor Register", "No Reg"; "Merk/Type", "Merk / Tipe", "Merek"; "Nomor Pabrik/Seri", "No. Seri", "Nomor
  Pabrik"; "Asal Usul", "Asal-usul/Cara Perolehan"; "Harga (Rp)", "Harga", "Nilai Perolehan"; "Tahun
  Pembelian", "Tahun Perolehan"; "Nama/Jenis Barang", "Jenis Barang / Nama Barang"; "Keterangan", "Ket." ...;
  the columns may come in any order; columns not known (Nomor Rangka, Mesin, Polisi, BPKB) are ignored;
- a title line "SKPD: ..." / "OPD: ..." / "Unit Kerja: ..." above the header gives the unit of every row
  without a unit column of its own;
- values: Harga as a number (any format, e.g. Rupiah) or as text ("Rp 2.750.000,00", "2,750,000.00");
  Tahun as a number, text or a date; codes and numbers kept as text, with the zero padding a format such as
  "0000" shows ("0001"); an empty cell or "-" is no value; rows without any identifying value and the
  "Jumlah"/"Total" line are skipped.

Writing (`kib_header`, `kib_values`): the KIB B columns in their official order, then the netmon columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from netmon.assets.spreadsheet import Cell, CellValue, Sheet
from netmon.errors import ConfigError
from netmon.model import AssetRecord


class Column(StrEnum):
    """What a column holds: an AssetRecord field, the row number, or a netmon column."""

    NO = "no"
    KODE_BARANG = "kode_barang"
    NAME = "name"
    NOMOR_REGISTER = "nomor_register"
    MODEL = "model"
    SIZE = "size"
    MATERIAL = "material"
    YEAR = "year_acquired"
    SERIAL = "serial"
    ORIGIN = "origin"
    VALUE = "value_idr"
    REMARKS = "remarks"
    UNIT = "unit"
    DEVICE = "device"  # netmon's device id (written by export; lets an exported register match exactly)
    MONITORING = "monitoring"  # the other columns export adds: read back as nothing


# KIB B in the official order, with the labels export writes
KIB_COLUMNS: tuple[tuple[Column, str], ...] = (
    (Column.NO, "No"), (Column.KODE_BARANG, "Kode Barang"), (Column.NAME, "Nama/Jenis Barang"),
    (Column.NOMOR_REGISTER, "Nomor Register"), (Column.MODEL, "Merk/Type"), (Column.SIZE, "Ukuran"),
    (Column.MATERIAL, "Bahan"), (Column.YEAR, "Tahun Pembelian"), (Column.SERIAL, "Nomor Pabrik/Seri"),
    (Column.ORIGIN, "Asal-usul"), (Column.VALUE, "Harga (Rp)"), (Column.REMARKS, "Keterangan"),
)
UNIT_LABEL = "OPD/Unit"
DEVICE_LABEL = "ID Perangkat (netmon)"
MONITORING_LABELS = ("Lokasi", "Terakhir Terlihat", "Seri Terbaca", "Model Terbaca", "Selisih", "Kondisi Terakhir")

# first match wins: the netmon columns before "seri"/"model", whose names they share
_PATTERNS: tuple[tuple[Column, re.Pattern[str]], ...] = tuple((c, re.compile(p)) for c, p in (
    (Column.DEVICE, r"^(idperangkat|deviceid|perangkatnetmon|netmon)"),
    (Column.MONITORING, r"^(lokasi|terakhirterlihat|seriterbaca|modelterbaca|selisih|kondisiterakhir)"),
    (Column.NO, r"^(no|nomor|nourut|nomorurut)$"),
    (Column.KODE_BARANG, r"^kode(barang)?$"),
    (Column.NOMOR_REGISTER, r"^(nomor|no)?reg(ister)?$"),
    (Column.NAME, r"^(nama|jenis)"),
    (Column.MODEL, r"^(merk|merek|type|tipe)"),
    (Column.SIZE, r"^ukuran"),
    (Column.MATERIAL, r"^bahan"),
    (Column.YEAR, r"^(tahun|thn)"),
    (Column.SERIAL, r"^(nomor|no)?(pabrik|seri|serial|sn$)"),
    (Column.ORIGIN, r"^(asal|cara)"),
    (Column.VALUE, r"^(harga|nilai)"),
    (Column.REMARKS, r"^ket"),
    (Column.UNIT, r"^(opd|skpd|unit|satuankerja)"),
))
IDENTIFYING = (Column.KODE_BARANG, Column.NOMOR_REGISTER, Column.SERIAL)
_UNIT_TITLE = re.compile(r"^\s*(SKPD|OPD|Unit\s*Kerja|Unit|Satuan\s*Kerja)\s*[:：]\s*(.+?)\s*$", re.IGNORECASE)
_SUM_ROW = re.compile(r"^\s*(jumlah|total|sub\s*total)\b", re.IGNORECASE)
SCAN_ROWS = 40


def column_of(label: str) -> Column | None:
    key = re.sub(r"[^a-z0-9]", "", label.casefold())
    for column, pattern in _PATTERNS:
        if pattern.search(key):
            return column
    return None


@dataclass(frozen=True, slots=True)
class KibRow:
    """One register row: its line in the file, the fields it gives (None: empty), and netmon's device id when
    the file has that column."""

    line: int
    asset: AssetRecord
    device: str | None = None

    def label(self) -> str:
        a = self.asset
        parts = [a.kode_barang, f"reg {a.nomor_register}" if a.nomor_register else None,
                 f"seri {a.serial}" if a.serial else None, a.name]
        return ", ".join(p for p in parts if p) or "(no identifying value)"


@dataclass(frozen=True, slots=True)
class Kib:
    rows: tuple[KibRow, ...]
    columns: tuple[Column, ...]  # the fields the file has a column for
    ignored: tuple[str, ...]  # labels of columns not read
    header_rows: tuple[int, int]  # first and last header row


def read_kib(sheet: Sheet, path: Path, header_row: int | None = None) -> Kib:
    """The register rows of `sheet` (read from `path`, named in errors)."""
    if header_row is None:
        header_row = _find_header(sheet, path)
    elif not 1 <= header_row <= len(sheet.rows):
        raise ConfigError(f"--header-row {header_row}: the sheet has {len(sheet.rows)} rows", file=str(path))
    last = _header_end(sheet, header_row)
    labels = _labels(sheet, header_row, last)
    columns = {i: column_of(label) for i, label in enumerate(labels) if label}
    found = [c for c in columns.values() if c is not None]
    if not any(c in found for c in IDENTIFYING):
        raise ConfigError(f"row {header_row} is not a KIB B header: no Kode Barang, Nomor Register or Nomor "
                          "Pabrik/Seri column (give --header-row)", file=str(path), line=header_row)
    for column in set(found) - {Column.MONITORING}:
        if found.count(column) > 1:
            both = [labels[i] for i, c in columns.items() if c is column]
            raise ConfigError(f"two columns for {column.value}: {' and '.join(map(repr, both))}", file=str(path),
                              line=header_row)
    ignored = tuple(labels[i] for i, c in columns.items() if c is None)
    unit = _title_unit(sheet, header_row)
    first = last + 1
    if _numbering(sheet.row(first)):
        first += 1
    by_column: dict[Column, int] = {c: i for i, c in columns.items() if c is not None and c is not Column.MONITORING}
    rows = []
    for number in range(first, len(sheet.rows) + 1):
        row = _row(sheet.row(number), number, by_column, labels, path, unit)
        if row is not None:
            rows.append(row)
    return Kib(tuple(rows), tuple(c for c in by_column if c is not Column.NO), ignored, (header_row, last))


def _find_header(sheet: Sheet, path: Path) -> int:
    best, best_count = None, 0
    for number in range(1, min(SCAN_ROWS, len(sheet.rows)) + 1):
        labels = _labels(sheet, number, _header_end(sheet, number))
        found = {column_of(label) for label in labels if label} - {None, Column.MONITORING}
        if any(c in found for c in IDENTIFYING) and len(found) > best_count:
            best, best_count = number, len(found)
    if best is None or best_count < 3:
        raise ConfigError(f"no KIB B header in the first {SCAN_ROWS} rows (a row naming Kode Barang, Nomor "
                          "Register, Nomor Pabrik/Seri, ...); give --header-row", file=str(path))
    return best


def _header_end(sheet: Sheet, header_row: int) -> int:
    """The header's last row: the next one too when a merged cell starts on the header row and goes down, or
    groups columns across (the "Nomor" over "Pabrik | Rangka | Mesin" of the official form)."""
    for m in sheet.merges:
        if m.min_row == header_row and (m.max_row > header_row or m.max_col > m.min_col):
            return min(max(m.max_row, header_row + 1), len(sheet.rows))
    return header_row


def _labels(sheet: Sheet, first: int, last: int) -> list[str]:
    labels = []
    for col in range(sheet.width):
        parts: list[str] = []
        for number in range(first, last + 1):
            text = _text(sheet.row(number)[col])
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        labels.append(" ".join(parts))
    return labels


def _numbering(row: Sequence[Cell]) -> bool:
    """A row of column numbers (1, 2, 3, ...) under the header."""
    values = [c.value for c in row if c.value not in (None, "")]
    if len(values) < 3:
        return False
    try:
        numbers = [int(str(v).strip()) for v in values]
    except ValueError:
        return False
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _title_unit(sheet: Sheet, header_row: int) -> str | None:
    for number in range(1, header_row):
        line = " ".join(t for t in (_text(c) for c in _distinct(sheet.row(number))) if t)
        found = _UNIT_TITLE.match(line)
        if found:
            return found.group(2)
    return None


def _distinct(row: Sequence[Cell]) -> list[Cell]:
    """A row's cells without the copies a merged title spreads across (consecutive equal values)."""
    out: list[Cell] = []
    for cell in row:
        if not out or cell != out[-1]:
            out.append(cell)
    return out


def _row(cells: Sequence[Cell], number: int, by_column: dict[Column, int], labels: list[str], path: Path,
         unit: str | None) -> KibRow | None:
    def cell(column: Column) -> Cell:
        i = by_column.get(column)
        return cells[i] if i is not None else Cell(None)

    if any(isinstance(c.value, str) and _SUM_ROW.match(c.value) for c in cells[:4]):
        return None
    values: dict[str, object] = {}
    for column in by_column:
        if column in (Column.NO, Column.DEVICE):
            continue
        try:
            values[column.value] = _convert(column, cell(column))
        except ValueError as exc:
            raise ConfigError(str(exc), file=str(path), line=number, key=labels[by_column[column]]) from None
    if values.get("unit") is None and unit is not None:
        values["unit"] = unit
    asset = AssetRecord(**{f.name: values.get(f.name) for f in fields(AssetRecord)})  # type: ignore[arg-type]
    device = _text(cell(Column.DEVICE))
    if not any((asset.kode_barang, asset.nomor_register, asset.serial, asset.name, device)):
        return None
    return KibRow(number, asset, device)


def _convert(column: Column, cell: Cell) -> object:
    if column is Column.YEAR:
        return _year(cell)
    if column is Column.VALUE:
        return _rupiah(cell)
    return _text(cell)


def _text(cell: Cell) -> str | None:
    """A cell as text: numbers without ".0", padded as a "0000" format shows them; "-" and blanks are None."""
    v = cell.value
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        fmt = cell.number_format
        return str(v).zfill(len(fmt)) if re.fullmatch(r"0{2,}", fmt) else str(v)
    text = str(v).strip()
    return None if text in ("", "-", "--", "—") else text


def _year(cell: Cell) -> int | None:
    v = cell.value
    if isinstance(v, datetime | date):
        return v.year
    if isinstance(v, int | float) and float(v).is_integer():
        return _sane_year(int(v))
    text = _text(cell)
    if text is None:
        return None
    found = re.fullmatch(r"(\d{4})(?:[-/.]\d{1,2}(?:[-/.]\d{1,2})?)?|\d{1,2}[-/.]\d{1,2}[-/.](\d{4})", text)
    if not found:
        raise ValueError(f"not a year: {text!r}")
    return _sane_year(int(found.group(1) or found.group(2)))


def _sane_year(year: int) -> int:
    if not 1990 <= year <= 2100:
        raise ValueError(f"not a year of purchase: {year}")
    return year


def _rupiah(cell: Cell) -> int | None:
    """Harga in whole Rupiah: a number, or text as either locale writes it ("Rp 2.750.000,00", "2,750,000.00")."""
    v = cell.value
    if isinstance(v, int | float):
        if v < 0:
            raise ValueError(f"a negative price: {v}")
        return round(v)
    text = _text(cell)
    if text is None:
        return None
    raw = re.sub(r"^(rp\.?|idr)\s*", "", text.strip(), flags=re.IGNORECASE).replace(" ", "").removesuffix(",-")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?|\d+,\d{1,2}", raw):  # Indonesian: 2.750.000,00
        number = float(raw.replace(".", "").replace(",", "."))
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?", raw):  # English: 2,750,000.00
        number = float(raw.replace(",", ""))
    else:
        raise ValueError(f"not an amount in Rupiah: {text!r}")
    return round(number)


def kib_header(*, unit: bool) -> list[str]:
    """The export's header: KIB B, the unit (when the rows differ in it), netmon's columns."""
    return [label for _c, label in KIB_COLUMNS] + ([UNIT_LABEL] if unit else []) + [DEVICE_LABEL,
                                                                                    *MONITORING_LABELS]


def kib_values(number: int, asset: AssetRecord, *, unit: bool) -> list[CellValue]:
    """The KIB B cells of one asset (and its unit when `unit`), in `kib_header` order."""
    values: list[CellValue] = [number if column is Column.NO else getattr(asset, column.value)
                               for column, _label in KIB_COLUMNS]
    return values + ([asset.unit] if unit else [])
