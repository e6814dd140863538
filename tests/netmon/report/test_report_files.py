"""`netmon report monthly` on the scenario month, read back as a person and a spreadsheet would: the PDF's text
(pdftotext) for the figures and the Indonesian (or English) wording, its pages rendered to PNG (pdftoppm), the
XLSX through openpyxl (formats, frozen header, filters), the CSV files; and its one-line errors (exit 2).

Nothing is patched: each asset's condition comes from the rules of netmon.assets over the scenario's stored
history, and the per-asset rows are checked against a recount of the raw rows (condition_recount), on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import subprocess
from datetime import datetime
from pathlib import Path

import condition_recount as recount
import openpyxl
import pytest
import report_scenario as sc
import yaml
from peers import require_tool
from typer.testing import CliRunner

from netmon.cli import app
from netmon.model import TimeZone
from netmon.storage import Store

SIGNED = {"pemda": "Pemerintah Kabupaten Banyumas", "opd": "Dinas Komunikasi dan Informatika", "place": "Purwokerto",
          "signatories": {
              "kepala_bidang": {"name": "Ir. Siti Rahayu, M.T.", "nip": "197805122005012003",
                                "title": "Kepala Bidang Aplikasi Informatika"},
              "kepala_dinas": {"name": "Drs. Bambang Wijaya, M.Si.", "nip": "196903151994031005",
                               "title": "Kepala Dinas Komunikasi dan Informatika"}}}


def scenario_config(tmp_path: Path, url: str) -> Path:
    """The scenario's sites and devices as a config (no secret is read: the report is read-only), its history in
    the database at `url`."""
    store = Store.open(url)
    store.upgrade()
    sc.fill(store)
    store.close()
    doc = {
        "storage": {"database_url": url},
        "credentials": {"snmp": {"snmp_v2c": {"community": {"env": "NETMON_TEST_UNSET_COMMUNITY"}}}},
        "defaults": {"credential": "snmp"},
        "report": SIGNED,
        "kabupaten": {"Badung": {"timezone": "WITA"}, "Banyumas": {"timezone": "WIB"}},
        "sites": [{"id": s.id, "name": s.name, "desa": s.desa, "kecamatan": s.kecamatan, "kabupaten": s.kabupaten}
                  for s in sc.SITES.values()],
        "devices": [{"id": d.id, "site": d.site, "role": d.role.value, "address": d.address, "parent": d.parent,
                     "asset": {k: v for k, v in {
                         "kode_barang": d.asset.kode_barang, "nomor_register": d.asset.nomor_register,
                         "serial": d.asset.serial, "model": d.asset.model, "year_acquired": d.asset.year_acquired,
                         "value_idr": d.asset.value_idr, "name": d.asset.name}.items() if v is not None}}
                    for d in sc.DEVICES.values()],
    }
    path = tmp_path / "netmon.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return scenario_config(tmp_path, f"sqlite:///{tmp_path / 'netmon.sqlite3'}")


def report(config: Path, out: Path, *args: str) -> list[Path]:
    result = CliRunner().invoke(app, ["report", "monthly", "--config", str(config), "--out", str(out),
                                      "--now", str(sc.NOW), *args])
    assert result.exit_code == 0, result.output
    return [Path(line) for line in result.stdout.splitlines()]


def pdf_text(path: Path) -> str:
    tool = require_tool("pdftotext", "poppler-utils")
    return subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_pdf_reads_in_indonesian_with_the_figures_pages_and_signatures(config: Path, tmp_path: Path) -> None:
    files = report(config, tmp_path / "out", "--month", "2026-11", "--format", "pdf")
    assert [f.name for f in files] == ["laporan-aset-2026-11.pdf"]
    text = pdf_text(files[0])
    pages = text.count("\f")
    for words in ("PEMERINTAH KABUPATEN BANYUMAS", "Dinas Komunikasi dan Informatika",
                  "Laporan Kondisi Aset Jaringan KIM", "Periode", "November 2026", "Zona waktu", "WIB, WITA",
                  "Ringkasan per Kecamatan", "Rincian per Lokasi", "Kondisi Aset (KIB B)",
                  "Gangguan dan Tiket Terbuka pada Akhir Periode", "Mengetahui,", "Purwokerto, 1 Desember 2026",
                  "Drs. Bambang Wijaya, M.Si.", "NIP. 196903151994031005", "Ir. Siti Rahayu, M.T.",
                  "NIP. 197805122005012003", f"Halaman 1 dari {pages}", f"Halaman {pages} dari {pages}"):
        assert words in text, words
    # Kuta: (2 x 684 h covered - 32 h down) / 1368 h; 36 h of 720 h not covered
    assert "97,7 %" in text and "data tidak lengkap: 95,0 %" in text
    assert "1.250.000" in text and "2.06.02.01.003" in text and "HB1234" in text  # KIB B: Harga, Kode, Seri
    assert "NETMON-2026-000041" in text and "ditangani" in text and "2026-11-29 18:05:00 WITA" in text
    assert "RR → B" in text and "B, 18 November" in text  # the change, and why (the inspection, wrapped)
    png = require_tool("pdftoppm", "poppler-utils")
    subprocess.run([png, "-r", "40", "-png", str(files[0]), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages >= 5
    assert all(i.stat().st_size > 2000 for i in images)  # not blank


def test_english_pdf_with_english_numbers_and_dates(config: Path, tmp_path: Path) -> None:
    text = pdf_text(report(config, tmp_path, "--month", "2026-11", "--format", "pdf", "--lang", "en")[0])
    for words in ("KIM Network Asset Condition Report", "Summary by Kecamatan", "Purwokerto, December 1, 2026",
                  "97.7%", "incomplete data: 95.0%", "1,250,000", "Page 1 of"):
        assert words in text, words


def test_xlsx_has_every_table_as_a_sheet_with_numbers_formats_frozen_headers_and_filters(
        config: Path, tmp_path: Path) -> None:
    [path] = report(config, tmp_path, "--month", "2026-11", "--format", "xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["summary", "sites", "assets", "incidents", "days"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref, sheet.title
    summary = book["summary"]
    header = [c.value for c in summary[1]]
    assert header[:6] == ["Kabupaten/Kota", "Kecamatan", "Lokasi", "Aset", "Ketersediaan", "Cakupan data"]
    kuta = next(r for r in summary.iter_rows(min_row=2) if r[1].value == "Kuta")
    assert kuta[4].value == pytest.approx((2 * 684 - 32) / 1368) and kuta[4].number_format == "0.0%"
    total = [c.value for c in summary[summary.max_row]]
    assert total[:4] == ["Jumlah", None, 3, 6] and total[10] == 5
    assets = book["assets"]
    rows = {r[14].value: [c.value for c in r] for r in assets.iter_rows(min_row=2)}
    ap = rows["ketenger-ap"]
    head = [c.value for c in assets[1]]
    assert ap[head.index("Kondisi usulan")] == "B" and ap[head.index("Kondisi")] == "B"
    assert "kabel PoE diganti" in ap[head.index("Pemeriksaan")] and ap[head.index("Perubahan")] == "RR → B"
    assert rows["ketenger-router"][head.index("Harga (Rp)")] == 1_250_000
    days = book["days"]
    assert days.max_row == 31 and days["A2"].number_format == "yyyy-mm-dd"


def test_csv_per_table_with_plain_values(config: Path, tmp_path: Path) -> None:
    files = report(config, tmp_path, "--month", "2026-11", "--format", "csv")
    assert [f.name for f in files] == [f"laporan-aset-2026-11-{n}.csv"
                                       for n in ("summary", "sites", "assets", "incidents", "days")]
    with files[0].open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # six assets: (6 x (720 h - the 36 h 1 min gap) - the Kotayasa router's first 63 h 20 min) / (6 x 720 h)
    assert rows[-1]["Kabupaten/Kota"] == "Jumlah" and rows[-1]["Cakupan data (%)"] == "93.53"
    with files[3].open(encoding="utf-8") as f:
        assert [r["Gangguan"] for r in csv.DictReader(f)] == ["i-kap", "i-open", "i-late"]


def _month(month: int, zone: TimeZone) -> tuple[float, float]:
    """[start, end) of a month of 2026 in `zone`."""
    return (datetime(2026, month, 1, tzinfo=zone.tzinfo).timestamp(),
            datetime(2026 + month // 12, month % 12 + 1, 1, tzinfo=zone.tzinfo).timestamp())


def _unspaced(text: str) -> str:
    return "".join(text.split())


def _pdf_rows(text: str) -> dict[str, str]:
    """The per-asset rows of the PDF (pdftotext -raw: cell by cell), by serial number, without white space (the
    cells wrap)."""
    section = _unspaced(text.split("Kondisi Aset (KIB B)", 1)[1].split("Kondisi: B = Baik", 1)[0])
    serials = sorted((section.index(d.asset.serial), d.id) for d in sc.DEVICES.values() if d.asset.serial)
    ends = [at for at, _ in serials[1:]] + [len(section)]
    return {device: section[at:end] for (at, device), end in zip(serials, ends, strict=True)}


def check_asset_rows(files: list[Path], want: dict[str, recount.Expected]) -> None:
    """The XLSX, the CSV and the PDF state, per asset, the suggestion, its evidence, the inspection, the
    previous condition, the change and the condition of `want`."""
    [pdf] = [f for f in files if f.suffix == ".pdf"]
    [xlsx] = [f for f in files if f.suffix == ".xlsx"]
    [assets_csv] = [f for f in files if f.name.endswith("-assets.csv")]
    sheet = openpyxl.load_workbook(xlsx)["assets"]
    head = [c.value for c in sheet[1]]
    with assets_csv.open(encoding="utf-8") as f:
        from_csv = {r["Perangkat"]: r for r in csv.DictReader(f)}
    pdf_rows = _pdf_rows(subprocess.run([require_tool("pdftotext", "poppler-utils"), "-raw", str(pdf), "-"],
                                        capture_output=True, text=True, check=True).stdout)
    for row in sheet.iter_rows(min_row=2, values_only=True):
        cells = dict(zip(head, row, strict=True))
        w = want[str(cells["Perangkat"])]
        stated = {"Kondisi usulan": w.suggested, "Bukti": w.evidence, "Kondisi terkonfirmasi": w.confirmed,
                  "Kondisi sebelumnya": w.previous, "Perubahan": w.change, "Kondisi": w.condition}
        assert {k: cells[k] for k in stated} == stated, cells["Perangkat"]
        assert (cells["Pemeriksaan"] or "").endswith(w.note or ""), cells["Perangkat"]
        assert {k: from_csv[str(cells["Perangkat"])][k] for k in stated} == \
            {k: v or "" for k, v in stated.items()}, cells["Perangkat"]
        printed = pdf_rows[str(cells["Perangkat"])]
        # suggestion and evidence, then the inspection ("B, 18 November 2026, Budi: note", or "—"), the change
        # and the condition
        evidence = _unspaced(f"{w.suggested}{w.evidence}")
        assert evidence in printed, (printed, w)
        after = printed.split(evidence, 1)[1]
        assert after.startswith(_unspaced(f"{w.confirmed}, ") if w.confirmed else "—"), (printed, w)
        assert _unspaced(f"{w.note or '—'}{w.change}{w.condition}") in after, (printed, w)
    assert len(pdf_rows) == sheet.max_row - 1 == len(want)


def test_each_asset_row_states_the_condition_the_raw_rows_give(database_url: str, tmp_path: Path) -> None:
    """The real rules over the scenario's history (no patching), on SQLite and PostgreSQL: every per-asset row
    of the PDF, XLSX and CSV against the recount of the raw rows, and the verdicts read off by hand."""
    config = scenario_config(tmp_path, database_url)
    files = report(config, tmp_path / "out", "--month", "2026-11")
    raw = recount.read(database_url)
    want = {}
    for d in sc.DEVICES.values():
        zone = sc.SITES[d.site].timezone
        want[d.id] = recount.expected(raw, d, sc.DEVICES, zone, _month(11, zone), _month(10, zone))
    assert {k: (w.suggested, w.confirmed, w.previous, w.condition) for k, w in want.items()} == {
        "ketenger-router": ("B", None, "B", "B"),  # its site's outage and reboots are not its failure
        "ketenger-ap": ("B", "B", "RR", "B"),  # inspected RR in October, B on 18 November
        "kotayasa-router": ("RR", "B", "B", "B"),  # 34 h of its own (95,0 %), but inspected B on 28 November
        "kotayasa-ap": ("RB", None, "B", "RB"),  # its own outage open for 8 days 5 h at the end
        "kedonganan-router": ("RR", None, "RR", "RR"),  # swapped: an RB750Gr3 answers, since October
        "kedonganan-ap": ("B", None, "B", "B"),  # 2 h of its own at the end of the month (WITA)
    }
    assert want["kedonganan-router"].evidence.startswith(
        "tanpa gangguan perangkat (100 % tersedia), nomor seri terbaca 6F3A071688EA ≠ register HD1111, model "
        "terbaca RB750Gr3 ≠ register MikroTik RB4011")
    assert want["kotayasa-router"].evidence.startswith("gangguan perangkat 34 jam (95,0 % tersedia)")
    check_asset_rows(files, want)


def test_a_semester_states_the_condition_at_its_end(tmp_path: Path) -> None:
    """Semester 2 of 2026, made after it ended: each asset's condition is that of December (the inspections
    holding at the end), the previous one that of June (the end of semester 1: no data, B), per docs/reports.md;
    availability and coverage are the whole semester's."""
    url = f"sqlite:///{tmp_path / 'netmon.sqlite3'}"
    config = scenario_config(tmp_path, url)
    later = str(sc.at("2027-01-10T00:00"))
    result = CliRunner().invoke(app, ["report", "monthly", "--config", str(config), "--out", str(tmp_path / "out"),
                                      "--now", later, "--semester", "2026-2"])
    assert result.exit_code == 0, result.output
    files = [Path(line) for line in result.stdout.splitlines()]
    raw = recount.read(url)
    want = {}
    for d in sc.DEVICES.values():
        zone = sc.SITES[d.site].timezone
        june = recount.expected(raw, d, sc.DEVICES, zone, _month(6, zone), _month(5, zone))
        want[d.id] = recount.expected(raw, d, sc.DEVICES, zone, _month(12, zone), _month(11, zone), june.condition)
    assert {k: (w.suggested, w.confirmed, w.previous, w.condition) for k, w in want.items()} == {
        "ketenger-router": ("B", None, "B", "B"), "ketenger-ap": ("B", "B", "B", "B"),
        "kotayasa-router": ("B", "B", "B", "B"),  # December is quiet; its November inspection still holds
        "kotayasa-ap": ("RB", None, "B", "RB"),  # no answer in December at all, still down
        "kedonganan-router": ("RR", None, "B", "RR"), "kedonganan-ap": ("B", None, "B", "B")}
    assert want["kotayasa-ap"].evidence.startswith("tidak terlihat sama sekali, gangguan perangkat 31 hari")
    check_asset_rows(files, want)
    text = pdf_text(next(f for f in files if f.suffix == ".pdf"))
    assert "Semester 2 Tahun 2026" in text and "kondisi pada akhir periode" in text


def test_semester_and_year_and_a_kabupaten_name_the_files_and_period(config: Path, tmp_path: Path) -> None:
    [semester] = report(config, tmp_path, "--semester", "2026-2", "--format", "pdf", "--kabupaten", "badung")
    assert semester.name == "laporan-aset-2026-S2-badung.pdf"
    text = pdf_text(semester)
    assert "Semester 2 Tahun 2026" in text and "Badung" in text and "Banyumas" not in text.split("\f", 1)[1]
    assert "Kedonganan" in text and "Ketenger" not in text
    [year] = report(config, tmp_path, "--year", "2026", "--format", "xlsx")
    assert year.name == "laporan-aset-2026.xlsx"


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026-13"], "--month '2026-13': the month must be 01-12"),
    (["--month", "11-2026"], "--month '11-2026': write it like 2026-11"),
    (["--month", "2026-11", "--year", "2026"], "give exactly one of"),
    ([], "give exactly one of"),
    (["--semester", "2026-3"], "--semester '2026-3': write it like 2026-2"),
    (["--month", "2026-11", "--format", "docx"], "--format 'docx': use pdf, xlsx and/or csv"),
    (["--month", "2026-11", "--lang", "jv"], "--lang 'jv': use id"),
    (["--month", "2026-11", "--kabupaten", "Cilacap"], "--kabupaten 'Cilacap': no site is in it (kabupaten: "
                                                       "Badung, Banyumas)"),
], ids=["month-13", "month-order", "two-periods", "no-period", "semester-3", "format", "lang", "kabupaten"])
def test_bad_input_is_one_line_and_exit_2(config: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["report", "monthly", "--config", str(config), "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not list(tmp_path.glob("laporan-*"))
