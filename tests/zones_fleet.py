"""A fleet in all three Indonesian time zones, loaded through the real config loader: a kabupaten in Jawa
(WIB, UTC+7), one in Bali (WITA, UTC+8) and one in Papua (WIT, UTC+9), plus a kabupaten that describes no
zone (the config's default). Times in tests are built from UTC instants, never from the machine's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from netmon.config import Config, load_config

CONFIG = """\
timezone: Asia/Jakarta
defaults: {sources: [ping]}
kabupaten:
  Banyumas: {timezone: Asia/Jakarta}
  Kota Denpasar: {timezone: WITA}
  Jayapura: {timezone: Asia/Jayapura}
sites:
  - {id: kim-karangsalam, name: KIM Karangsalam, desa: Karangsalam, kecamatan: Baturraden, kabupaten: Banyumas}
  - {id: kim-sesetan, name: KIM Sesetan, desa: Sesetan, kecamatan: Denpasar Selatan, kabupaten: Kota Denpasar}
  - {id: kim-hinekombe, name: KIM Hinekombe, desa: Hinekombe, kecamatan: Sentani, kabupaten: Jayapura}
  - {id: kim-kotayasa, name: KIM Kotayasa, desa: Kotayasa, kecamatan: Sumbang, kabupaten: Banyumas Timur}
devices:
  - {id: ks-router, site: kim-karangsalam, role: router, address: 10.1.0.1}
  - {id: ks-ap, site: kim-karangsalam, role: ap, address: 10.1.0.2, parent: ks-router}
  - {id: ss-router, site: kim-sesetan, role: router, address: 10.2.0.1}
  - {id: ss-ap, site: kim-sesetan, role: ap, address: 10.2.0.2, parent: ss-router}
  - {id: hk-router, site: kim-hinekombe, role: router, address: 10.3.0.1}
  - {id: hk-ap, site: kim-hinekombe, role: ap, address: 10.3.0.2, parent: hk-router}
  - {id: kt-ap, site: kim-kotayasa, role: ap, address: 10.4.0.2}
"""
# site -> (device prefix, zone abbreviation, UTC offset in hours)
SITES = {"kim-karangsalam": ("ks", "WIB", 7), "kim-sesetan": ("ss", "WITA", 8), "kim-hinekombe": ("hk", "WIT", 9),
         "kim-kotayasa": ("kt", "WIB", 7)}


def write(directory: Path, extra: str = "") -> Path:
    path = directory / "netmon.yaml"
    path.write_text(CONFIG + extra, encoding="utf-8")
    return path


def load(directory: Path, extra: str = "") -> Config:
    return load_config(write(directory, extra))


def utc(text: str) -> float:
    """Unix time of "2026-11-30T16:00" read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def local(site: str, text: str) -> float:
    """Unix time of the wall-clock time `text` ("2026-11-30T08:00") at `site`."""
    return utc(text) - SITES[site][2] * 3600
