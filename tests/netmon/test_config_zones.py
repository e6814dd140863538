"""Time zones in the config: a zone per kabupaten and a default; every site carries its effective zone; bad
zones name file, line and key; maintenance windows in local time follow each device's own zone."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner
from zones_fleet import CONFIG, load, local, utc, write

from netmon.cli import app
from netmon.config import load_config
from netmon.errors import ConfigError
from netmon.model import TimeZone
from netmon.state.maintenance import in_maintenance, occurrence_end


def test_every_site_gets_its_kabupaten_zone_or_the_default(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    zones = {site.id: site.timezone for site in cfg.sites.values()}
    assert zones == {"kim-karangsalam": TimeZone.WIB, "kim-sesetan": TimeZone.WITA,  # written as the alias
                     "kim-hinekombe": TimeZone.WIT, "kim-kotayasa": TimeZone.WIB}  # no entry: the default
    assert cfg.timezone is TimeZone.WIB and cfg.zone_of("kim-sesetan") is TimeZone.WITA
    assert cfg.zone_of("no-such-site") is TimeZone.WIB


def test_the_default_zone_applies_to_kabupaten_without_one(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(CONFIG.replace("timezone: Asia/Jakarta\n", "timezone: WIT\n", 1), encoding="utf-8")
    cfg = load_config(path)
    assert cfg.timezone is TimeZone.WIT and cfg.sites["kim-kotayasa"].timezone is TimeZone.WIT
    assert cfg.sites["kim-karangsalam"].timezone is TimeZone.WIB  # its kabupaten says so


def test_no_timezone_anywhere_is_wib(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text("defaults: {sources: [ping]}\nsites:\n  - {id: a, name: A, desa: A, kecamatan: K, "
                    "kabupaten: Banyumas}\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.timezone is TimeZone.WIB and cfg.sites["a"].timezone is TimeZone.WIB


BAD = [
    ("kabupaten-zone-not-indonesian", ("Kota Denpasar: {timezone: WITA}", "Kota Denpasar: {timezone: Asia/Bangkok}"),
     5, "kabupaten.Kota Denpasar.timezone", "Asia/Makassar (WITA)"),
    ("default-zone-utc", ("timezone: Asia/Jakarta", "timezone: UTC"), 1, "timezone", "unknown time zone 'UTC'"),
    ("pontianak-is-not-accepted", ("Jayapura: {timezone: Asia/Jayapura}", "Jayapura: {timezone: Asia/Pontianak}"),
     6, "kabupaten.Jayapura.timezone", "Asia/Jakarta (WIB)"),
    ("alias-in-lower-case", ("Kota Denpasar: {timezone: WITA}", "Kota Denpasar: {timezone: wita}"), 5,
     "kabupaten.Kota Denpasar.timezone", "unknown time zone 'wita'"),
    ("zone-missing", ("Jayapura: {timezone: Asia/Jayapura}", "Jayapura: {}"), 6, "kabupaten.Jayapura.timezone",
     "required"),
    ("unknown-key", ("Jayapura: {timezone: Asia/Jayapura}", "Jayapura: {timezone: WIT, zone: WIT}"), 6,
     "kabupaten.Jayapura.zone", "not permitted"),
    ("kabupaten-named-by-no-site", ("  Jayapura: {timezone", "  Kabupaten Jayapura: {timezone"), 6,
     "kabupaten.Kabupaten Jayapura", "no site is in kabupaten 'Kabupaten Jayapura'"),
]


@pytest.mark.parametrize(("edit", "line", "key", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_zone_names_file_line_and_key(tmp_path: Path, edit: tuple[str, str], line: int, key: str,
                                          message: str) -> None:
    assert edit[0] in CONFIG
    path = tmp_path / "netmon.yaml"
    path.write_text(CONFIG.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    exc = info.value
    assert (exc.file, exc.line, exc.key) == (str(path), line, key)
    assert message in str(exc) and f"netmon.yaml:{line}" in str(exc)


def test_kabupaten_in_an_included_file_and_twice_is_an_error(tmp_path: Path) -> None:
    papua = tmp_path / "papua.yaml"
    papua.write_text("kabupaten:\n  Jayapura: {timezone: WIT}\n", encoding="utf-8")
    main = write(tmp_path, "include: [papua.yaml]\n")
    with pytest.raises(ConfigError, match="kabupaten 'Jayapura' is described twice") as info:
        load_config(main)
    assert info.value.file == str(papua) and info.value.line == 2 and info.value.key == "kabupaten.Jayapura"


def test_a_kabupaten_file_may_bring_its_own_zone(tmp_path: Path) -> None:
    (tmp_path / "mimika.yaml").write_text(
        "kabupaten:\n  Mimika: {timezone: Asia/Jayapura}\nsites:\n"
        "  - {id: kim-timika, name: KIM Timika, desa: Timika Jaya, kecamatan: Mimika Baru, kabupaten: Mimika}\n",
        encoding="utf-8")
    cfg = load(tmp_path, "include: [mimika.yaml]\n")
    assert cfg.sites["kim-timika"].timezone is TimeZone.WIT


def test_check_config_shows_each_kabupatens_zone(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check-config", str(write(tmp_path))])
    assert result.exit_code == 0, result.output
    rows = {cells[0]: cells[1] for line in result.output.splitlines()
            if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 9}
    assert rows == {"Banyumas": "Asia/Jakarta (WIB)", "Kota Denpasar": "Asia/Makassar (WITA)",
                    "Jayapura": "Asia/Jayapura (WIT)", "Banyumas Timur": "Asia/Jakarta (WIB)"}


def test_default_zone_only_in_the_main_file(tmp_path: Path) -> None:
    (tmp_path / "papua.yaml").write_text("timezone: WIT\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="main file") as info:
        load(tmp_path, "include: [papua.yaml]\n")
    assert info.value.key == "timezone" and info.value.line == 1


# --- maintenance windows ---------------------------------------------------------------------------------

NIGHTLY = """\
maintenance:
  - name: nightly
    start: 2026-11-30T02:00:00
    end: 2026-11-30T04:00:00
    every: day
    sites: [kim-karangsalam, kim-sesetan, kim-hinekombe]
  - name: uplink-swap
    start: 2026-12-02T09:00:00+08:00
    duration_s: 3600
    kecamatan: [Baturraden, Denpasar Selatan, Sentani]
"""


@pytest.mark.parametrize("site", ["kim-karangsalam", "kim-sesetan", "kim-hinekombe"])
def test_a_window_in_local_time_is_local_at_each_device(tmp_path: Path, site: str) -> None:
    cfg = load(tmp_path, NIGHTLY)
    prefix = {"kim-karangsalam": "ks", "kim-sesetan": "ss", "kim-hinekombe": "hk"}[site]
    device, where = cfg.devices[f"{prefix}-router"], cfg.sites[site]
    for at, covered in (("2026-12-03T01:59:59", False), ("2026-12-03T02:00", True), ("2026-12-03T03:59", True),
                        ("2026-12-03T04:00", False)):
        window = in_maintenance(cfg.maintenance, device, where, local(site, at))
        assert (window is not None) == covered, (site, at)
        if window is not None:
            assert window.name == "nightly" and window.zone is where.timezone
            assert occurrence_end(window, local(site, at)) == local(site, "2026-12-03T04:00")


def test_a_window_with_an_offset_is_one_instant_everywhere(tmp_path: Path) -> None:
    cfg = load(tmp_path, NIGHTLY)
    swap = [w for w in cfg.maintenance if w.name == "uplink-swap"]
    assert len(swap) == 1 and swap[0].zone is None and swap[0].start == utc("2026-12-02T01:00")
    at = utc("2026-12-02T01:30")  # 08:30 WIB, 09:30 WITA, 10:30 WIT: the same instant at all three
    for prefix, site in (("ks", "kim-karangsalam"), ("ss", "kim-sesetan"), ("hk", "kim-hinekombe")):
        window = in_maintenance(cfg.maintenance, cfg.devices[f"{prefix}-router"], cfg.sites[site], at)
        assert window is not None and window.name == "uplink-swap"


def test_a_local_window_is_one_record_per_zone_it_covers(tmp_path: Path) -> None:
    cfg = load(tmp_path, NIGHTLY)
    nightly = sorted((w for w in cfg.maintenance if w.name == "nightly"), key=lambda w: w.start)
    assert [(w.zone, w.start) for w in nightly] == [
        (TimeZone.WIT, utc("2026-11-29T17:00")), (TimeZone.WITA, utc("2026-11-29T18:00")),
        (TimeZone.WIB, utc("2026-11-29T19:00"))]


def test_a_window_with_one_offset_and_one_local_time_is_an_error(tmp_path: Path) -> None:
    bad = NIGHTLY.replace("end: 2026-11-30T04:00:00", "end: 2026-11-30T04:00:00+09:00")
    with pytest.raises(ConfigError, match="both an offset") as info:
        load(tmp_path, bad)
    assert info.value.key == "maintenance[0]" and info.value.line is not None
