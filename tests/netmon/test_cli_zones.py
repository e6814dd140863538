"""`netmon status`, `outages` and `tickets` over a fleet in WIB, WITA and WIT: each record's time in its site's
zone with the abbreviation for people, RFC 3339 with the offset in JSON and CSV; `outages --since` is a local
date (the config's default zone, or `--tz`). The store is a real SQLite database written through `Store`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from zones_fleet import CONFIG, utc

from netmon.cli import app
from netmon.config import load_config
from netmon.model import Cause, DeviceState, Incident, Outage, Owner, Severity, Status, Ticket
from netmon.storage import Store, database_url

OPENED = utc("2026-11-30T14:15")  # 21:15 WIB, 22:15 WITA, 23:15 WIT


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NETMON_DATABASE_URL", raising=False)
    path = tmp_path / "netmon.yaml"
    path.write_text(CONFIG + f"storage: {{data_dir: {tmp_path / 'data'}}}\n", encoding="utf-8")
    cfg = load_config(path)
    store = Store.open(database_url(cfg.storage))
    try:
        store.upgrade()
        store.sync_inventory(cfg.sites, cfg.devices, OPENED - 86400)
        papua = Incident("inc-hk", "device_down", "hk-router", "device", Severity.CRITICAL, OPENED, Owner.PEMDA,
                         "Jayapura", "Sentani", "kim-hinekombe", "hk-router", resolved_at=utc("2026-11-30T16:00"))
        store.write([
            Outage("o-ks", "ks-ap", "kim-karangsalam", OPENED, Cause.DEVICE, ended_at=utc("2026-11-30T14:45")),
            Outage("o-ss", "ss-ap", "kim-sesetan", OPENED, Cause.DEVICE),
            Outage("o-hk", "hk-router", "kim-hinekombe", OPENED, Cause.SITE, ended_at=utc("2026-11-30T16:00")),
            DeviceState("ss-ap", Status.DOWN, OPENED), DeviceState("hk-router", Status.UP, utc("2026-11-30T16:00")),
            papua, Ticket("NETMON-2026-000001", "inc-hk", "resolved", OPENED, utc("2026-11-30T16:00")),
        ])
    finally:
        store.close()
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_status_shows_since_in_each_sites_zone(config: Path) -> None:
    out = run("status", "--config", str(config))
    lines = {cells[2]: cells for line in out.splitlines()
             if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 8}
    assert lines["ss-ap"][6] == "2026-11-30 22:15:00 WITA"  # down since 14:15 UTC, in Bali
    assert lines["hk-router"][6] == "2026-12-01 01:00:00 WIT"  # up since 16:00 UTC, in Papua


def test_outages_json_is_rfc3339_with_each_sites_offset(config: Path) -> None:
    rows = json.loads(run("outages", "--config", str(config), "--format", "json"))
    assert {r["id"]: (r["started"], r["ended"]) for r in rows} == {
        "o-ks": ("2026-11-30T21:15:00+07:00", "2026-11-30T21:45:00+07:00"),
        "o-ss": ("2026-11-30T22:15:00+08:00", None),
        "o-hk": ("2026-11-30T23:15:00+09:00", "2026-12-01T01:00:00+09:00"),
    }


def test_outages_csv_is_rfc3339_and_the_table_names_the_zone(config: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run("outages", "--config", str(config), "--format", "csv"))))
    assert {r["id"]: r["started"] for r in rows} == {"o-ks": "2026-11-30T21:15:00+07:00",
                                                    "o-ss": "2026-11-30T22:15:00+08:00",
                                                    "o-hk": "2026-11-30T23:15:00+09:00"}
    table = run("outages", "--config", str(config))
    for started in ("2026-11-30 21:15:00 WIB", "2026-11-30 22:15:00 WITA", "2026-11-30 23:15:00 WIT",
                    "2026-12-01 01:00:00 WIT"):
        assert started in table


@pytest.mark.parametrize(("tz", "expected"), [
    (None, {"o-ss"}),  # 1 Dec 00:00 WIB (the config's default) = 30 Nov 17:00 UTC: only the open one
    ("Asia/Jayapura", {"o-ss", "o-hk"}),  # 1 Dec 00:00 WIT = 30 Nov 15:00 UTC: Papua's ended at 16:00
    ("WIT", {"o-ss", "o-hk"}),
    ("Asia/Makassar", {"o-ss", "o-hk"}),  # 1 Dec 00:00 WITA = 30 Nov 16:00 UTC, ended at/after it
], ids=["default-wib", "wit", "wit-alias", "wita"])
def test_outages_since_is_midnight_in_the_chosen_zone(config: Path, tz: str | None, expected: set[str]) -> None:
    args = ["outages", "--config", str(config), "--since", "2026-12-01", "--format", "json"]
    rows = json.loads(run(*args, *(["--tz", tz] if tz else [])))
    assert {r["id"] for r in rows} == expected


def test_outages_rejects_a_zone_outside_indonesia(config: Path) -> None:
    result = CliRunner().invoke(app, ["outages", "--config", str(config), "--tz", "Asia/Bangkok"])
    assert result.exit_code == 2 and "Asia/Makassar (WITA)" in result.output


def test_tickets_in_the_incidents_zone(config: Path) -> None:
    rows = json.loads(run("tickets", "list", "--config", str(config), "--format", "json"))
    assert rows[0]["opened"] == "2026-11-30T23:15:00+09:00" and rows[0]["updated"] == "2026-12-01T01:00:00+09:00"
    assert "2026-11-30 23:15:00 WIT" in run("tickets", "list", "--config", str(config))
    shown = run("tickets", "show", "NETMON-2026-000001", "--config", str(config))
    assert "opened 2026-11-30 23:15:00 WIT" in shown and "resolved 2026-12-01 01:00:00 WIT" in shown
