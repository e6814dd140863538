"""The register in and out of the clerk's spreadsheet: a real-looking KIB B workbook (title rows, a two-row
header with merged cells, a column-number row, Rupiah formats, Indonesian headers in their usual variants) is
imported with the real command; export -> import of the same register changes nothing; inspections are
recorded and shown; bad input is one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Alignment, Font
from peers import HANG_GUARD_S, NETMON, REPO

from netmon.assets.kib import Column, column_of, read_kib
from netmon.assets.spreadsheet import read_sheet
from netmon.config import load_config
from netmon.errors import ConfigError
from netmon.model import AssetRecord

UNIT = "Dinas Komunikasi dan Informatika Kabupaten Banyumas"
CONFIG = """\
storage: {data_dir: data}
sites:
  - {id: kim-ketenger, name: KIM Ketenger, desa: Ketenger, kecamatan: Baturraden, kabupaten: Banyumas}
devices:
  - id: ketenger-router
    site: kim-ketenger
    role: router
    address: 10.0.0.1
    sources: []
    asset: {serial: HFG09ABC123, kode_barang: "02.06.02.01.003"}
  - id: ketenger-ap
    site: kim-ketenger
    role: ap
    address: 10.0.0.2
    sources: []
    asset: {kode_barang: "02.06.02.01.004", nomor_register: "0001"}
  - id: ketenger-switch
    site: kim-ketenger
    role: switch
    address: 10.0.0.3
    sources: []
"""


def clerk_workbook(path: Path) -> None:
    """As a pengurus barang's file looks: title lines, SKPD line split over cells, a header of two rows (the
    "Nomor" group over Pabrik/Rangka/Mesin, the other cells merged down), column numbers, Rupiah formats."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "KIB B 2026"
    ws["A1"] = "KARTU INVENTARIS BARANG (KIB) B"
    ws["A2"] = "PERALATAN DAN MESIN"
    for cell in ("A1", "A2"):
        ws[cell].font = Font(bold=True)
    ws.merge_cells("A1:O1")
    ws.merge_cells("A2:O2")
    ws["A4"], ws["C4"], ws["D4"] = "SKPD", ":", UNIT
    ws["A5"], ws["C5"], ws["D5"] = "KABUPATEN", ":", "BANYUMAS"
    top = ["No.", "Kode Barang", "Jenis Barang / Nama Barang", "No. Reg", "Merk / Tipe", "Ukuran/CC", "Bahan",
           "Tahun Perolehan", "Nomor", None, None, "Asal-usul/Cara Perolehan", "Harga (Rp)", "Ket.", "Kondisi"]
    for col, label in enumerate(top, start=1):
        if label is not None:
            ws.cell(row=7, column=col, value=label).alignment = Alignment(wrap_text=True)
    for col, label in ((9, "Pabrik / Seri"), (10, "Rangka"), (11, "Mesin")):
        ws.cell(row=8, column=col, value=label)
    ws.merge_cells(start_row=7, start_column=9, end_row=7, end_column=11)
    for col in [*range(1, 9), *range(12, 16)]:
        ws.merge_cells(start_row=7, start_column=col, end_row=8, end_column=col)
    for col in range(1, 16):
        ws.cell(row=9, column=col, value=col)  # the column numbers under the header
    rows = [
        [1, "02.06.02.01.003", "Router", 1, "MikroTik hAP ac2", "-", "Plastik", 2023, "HFG09ABC123", "-", "-",
         "Pembelian", 2750000, "APBD 2023", "B"],
        [2, "02.06.02.01.004", "Access Point", "0001", "MikroTik cAP ac", None, "Plastik", "2024", None, None, None,
         "Hibah", "Rp 1.250.000,00", None, "B"],
        [3, "02.06.03.05.001", "Printer", 7, "Epson L3110", None, None, 2021, "X5DY123456", None, None, "Pembelian",
         2100000.0, "ruang sekretariat", "RR"],
        [None, None, "JUMLAH", None, None, None, None, None, None, None, None, None, "=SUM(M10:M12)", None, None],
    ]
    for r, values in enumerate(rows, start=10):
        for c, value in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=value)
    ws["D10"].number_format = "0000"
    ws["D12"].number_format = "0000"
    for r in (10, 12, 13):
        ws.cell(row=r, column=13).number_format = '_("Rp"* #,##0.00_);_("Rp"* (#,##0.00);_("Rp"* "-"??_);_(@_)'
    book.create_sheet("Rekap")
    book.save(path)


def netmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NETMON_DATABASE_URL"} | {"PYTHONPATH": str(REPO)}
    return subprocess.run([*NETMON, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S,
                          check=False)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "netmon.yaml").write_text(CONFIG, encoding="utf-8")
    clerk_workbook(tmp_path / "KIB-B.xlsx")
    return tmp_path


@pytest.mark.parametrize(("label", "column"), [
    ("No.", Column.NO), ("Nomor Register", Column.NOMOR_REGISTER), ("No. Register", Column.NOMOR_REGISTER),
    ("No Reg", Column.NOMOR_REGISTER), ("Merk/Type", Column.MODEL), ("Merk / Tipe", Column.MODEL),
    ("Merek", Column.MODEL), ("Nomor Pabrik/Seri", Column.SERIAL), ("No. Seri", Column.SERIAL),
    ("Nomor Pabrik / Seri", Column.SERIAL), ("Asal Usul", Column.ORIGIN), ("Asal-usul/Cara Perolehan", Column.ORIGIN),
    ("Harga (Rp)", Column.VALUE), ("Harga", Column.VALUE), ("Tahun Pembelian", Column.YEAR),
    ("Tahun Perolehan", Column.YEAR), ("Nama/Jenis Barang", Column.NAME), ("Jenis Barang / Nama Barang", Column.NAME),
    ("KODE BARANG", Column.KODE_BARANG), ("Ukuran/CC", Column.SIZE), ("Bahan", Column.MATERIAL),
    ("Keterangan", Column.REMARKS), ("Ket.", Column.REMARKS), ("OPD/Unit", Column.UNIT),
    ("Seri Terbaca", Column.MONITORING), ("ID Perangkat (netmon)", Column.DEVICE),
    ("Nomor Rangka", None), ("Nomor Mesin", None), ("Kondisi", None),
], ids=lambda v: str(v))
def test_header_spellings_are_recognised(label: str, column: Column | None) -> None:
    assert column_of(label) is column


def test_a_clerks_workbook_with_merged_two_row_headers_reads_as_register_rows(site: Path) -> None:
    path = site / "KIB-B.xlsx"
    kib = read_kib(read_sheet(path), path)
    assert kib.header_rows == (7, 8)
    assert set(kib.ignored) == {"Nomor Rangka", "Nomor Mesin", "Kondisi"}
    assert [r.line for r in kib.rows] == [10, 11, 12]  # the column numbers and JUMLAH skipped
    assert kib.rows[0].asset == AssetRecord(
        kode_barang="02.06.02.01.003", nomor_register="0001", serial="HFG09ABC123", model="MikroTik hAP ac2",
        year_acquired=2023, value_idr=2_750_000, name="Router", size=None, material="Plastik", origin="Pembelian",
        remarks="APBD 2023", unit=UNIT)
    assert kib.rows[1].asset.value_idr == 1_250_000 and kib.rows[1].asset.year_acquired == 2024
    assert kib.rows[2].asset.nomor_register == "0007"
    assert read_kib(read_sheet(path, "KIB B 2026"), path, header_row=7).rows == kib.rows


def test_import_shows_the_changes_and_writes_a_fragment_the_config_includes(site: Path) -> None:
    dry = netmon("assets", "import", "KIB-B.xlsx", "-c", "netmon.yaml", "--dry-run", "--format", "json", cwd=site)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert [(m["line"], m["device"], m["by"]) for m in report["matched"]] == [
        (10, "ketenger-router", "serial"), (11, "ketenger-ap", "kode barang + register")]
    assert [(u["line"], u["reason"]) for u in report["unmatched_rows"]] == [
        (12, "no device has this serial or register number")]
    assert report["unmatched_devices"] == ["ketenger-switch"]
    assert {"device": "ketenger-ap", "field": "value_idr", "old": None, "new": 1250000} in report["changes"]
    assert not any(c["field"] == "kode_barang" for c in report["changes"])  # already equal
    assert not (site / "register.yaml").exists()

    out = netmon("assets", "import", "KIB-B.xlsx", "-c", "netmon.yaml", "--out", "register.yaml", cwd=site)
    assert out.returncode == 0, out.stderr
    assert "unmatched row KIB-B.xlsx:12" in out.stdout and "add it to the main config's include" in out.stdout
    (site / "netmon.yaml").write_text("include: [register.yaml]\n" + CONFIG, encoding="utf-8")
    cfg = load_config(site / "netmon.yaml")
    assert cfg.devices["ketenger-ap"].asset == AssetRecord(
        kode_barang="02.06.02.01.004", nomor_register="0001", model="MikroTik cAP ac", year_acquired=2024,
        value_idr=1_250_000, name="Access Point", material="Plastik", origin="Hibah", unit=UNIT)
    again = netmon("assets", "import", "KIB-B.xlsx", "-c", "netmon.yaml", "--format", "json", cwd=site)
    assert json.loads(again.stdout)["changes"] == []


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_of_the_same_register_changes_nothing(site: Path, fmt: str) -> None:
    assert netmon("assets", "import", "KIB-B.xlsx", "-c", "netmon.yaml", "--out", "register.yaml",
                  cwd=site).returncode == 0
    (site / "netmon.yaml").write_text("include: [register.yaml]\n" + CONFIG, encoding="utf-8")
    before = load_config(site / "netmon.yaml").devices
    assert netmon("db", "upgrade", "-c", "netmon.yaml", cwd=site).returncode == 0
    exported = netmon("assets", "export", "-c", "netmon.yaml", "--format", fmt, "--out", f"register.{fmt}", cwd=site)
    assert exported.returncode == 0, exported.stderr
    back = netmon("assets", "import", f"register.{fmt}", "-c", "netmon.yaml", "--out", "register.yaml",
                  "--format", "json", cwd=site)
    assert back.returncode == 0, back.stderr
    report = json.loads(back.stdout)
    assert report["changes"] == [] and report["unmatched_rows"] == [] and report["unmatched_devices"] == []
    assert {m["by"] for m in report["matched"]} == {"device id"}
    assert load_config(site / "netmon.yaml").devices == before
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(site / "register.xlsx").active
        assert ws is not None
        header = [c.value for c in ws[4]]
        assert header[:12] == ["No", "Kode Barang", "Nama/Jenis Barang", "Nomor Register", "Merk/Type", "Ukuran",
                               "Bahan", "Tahun Pembelian", "Nomor Pabrik/Seri", "Asal-usul", "Harga (Rp)",
                               "Keterangan"]
        assert header[12:] == ["OPD/Unit", "ID Perangkat (netmon)", "Lokasi", "Terakhir Terlihat", "Seri Terbaca",
                               "Model Terbaca", "Selisih", "Kondisi Terakhir"]
        assert ws.freeze_panes == "A5" and ws.auto_filter.ref is not None


def test_an_inspection_is_kept_and_shown_with_the_condition(site: Path) -> None:
    assert netmon("db", "upgrade", "-c", "netmon.yaml", cwd=site).returncode == 0
    for day, condition, note in (("2026-10-02", "KB", "konektor longgar"), ("2026-11-20", "B", "diganti")):
        done = netmon("assets", "inspect", "ketenger-ap", "-c", "netmon.yaml", "--condition", condition,
                      "--note", note, "--by", "Budi Santoso", "--date", day, cwd=site)
        assert done.returncode == 0, done.stderr
    shown = netmon("assets", "show", "ketenger-ap", "-c", "netmon.yaml", "--month", "2026-11", "--format", "json",
                   cwd=site)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert [(i["on"], i["condition"]) for i in record["inspections"]] == [("2026-10-02", "RR"), ("2026-11-20", "B")]
    c = record["condition"]
    assert (c["confirmed"], c["confirmed_on"], c["condition"], c["previous"]) == ("B", "2026-11-20", "B", "RR")
    assert c["evidence"] == "tidak ada data pemantauan pada periode ini"
    assert record["register"]["kode_barang"] == "02.06.02.01.004"


@pytest.mark.parametrize(("args", "fragment"), [
    (("assets", "inspect", "nope", "--condition", "B", "--note", "x", "--by", "y"), "unknown device 'nope'"),
    (("assets", "inspect", "ketenger-ap", "--condition", "BAIK", "--note", "x", "--by", "y"), "use B, RR"),
    (("assets", "inspect", "ketenger-ap", "--condition", "B", "--note", "x", "--by", "y", "--date", "1/2/2026"),
     "use YYYY-MM-DD"),
    (("assets", "inspect", "ketenger-ap", "--condition", "B", "--note", "x", "--by", "y", "--date", "2999-01-01"),
     "in the future"),
    (("assets", "import", "missing.xlsx"), "no such file"),
    (("assets", "import", "KIB-B.xlsx", "--sheet", "Lampiran"), "no sheet 'Lampiran'"),
    (("assets", "import", "KIB-B.xlsx", "--header-row", "2"), "not a KIB B header"),
    (("assets", "import", "netmon.yaml"), "give an .xlsx or .csv file"),
    (("assets", "show", "ketenger-ap", "--month", "2026-13"), "use YYYY-MM"),
], ids=["unknown-device", "condition", "date", "future", "missing", "sheet", "header", "type", "month"])
def test_bad_input_is_one_line_and_exit_2(site: Path, args: tuple[str, ...], fragment: str) -> None:
    assert netmon("db", "upgrade", "-c", "netmon.yaml", cwd=site).returncode == 0
    result = netmon(*args, "-c", "netmon.yaml", cwd=site)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert fragment in lines[0] and "Traceback" not in result.stderr


def test_a_bad_price_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "kib.csv"
    path.write_text("No;Kode Barang;Nomor Register;Harga (Rp)\n1;02.06;0001;dua juta\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kib.csv:2: Harga \(Rp\): not an amount in Rupiah: 'dua juta'"):
        read_kib(read_sheet(path), path)


def test_register_entries_for_unknown_devices_and_rules_outside_the_main_file_are_errors(tmp_path: Path) -> None:
    (tmp_path / "netmon.yaml").write_text("include: [reg.yaml]\n" + CONFIG, encoding="utf-8")
    (tmp_path / "reg.yaml").write_text("assets:\n  register:\n    ghost: {serial: X}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reg.yaml:3: assets.register.ghost: register entry for unknown device"):
        load_config(tmp_path / "netmon.yaml")
    (tmp_path / "reg.yaml").write_text("assets:\n  condition: {not_seen: RR}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reg.yaml:2: assets.condition: .* only be set in the main file"):
        load_config(tmp_path / "netmon.yaml")
    (tmp_path / "netmon.yaml").write_text(CONFIG + "assets:\n  condition: {availability: {rr_below: 0.9, "
                                          "rb_below: 0.95}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rb_below must not be above rr_below"):
        load_config(tmp_path / "netmon.yaml")
