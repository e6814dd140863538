"""Menus and moving values (injected clock), v6/v7 formats, and the demo fleet's agreement with SNMP data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netmon.simulate.routeros import load_demo_routers
from netmon.simulate.routeros.clients import duration, timestamp
from netmon.simulate.routeros.data import RouterData
from netmon.simulate.routeros.server import default_spec
from netmon.simulate.variation import daily_count

NIGHT = 1_760_032_800.0  # 2025-10-10 03:00 WIB
EVENING = 1_760_097_600.0  # 2025-10-10 19:00 WIB
DEMO = Path(__file__).resolve().parents[4] / "netmon" / "demo"


@pytest.mark.parametrize(("seconds", "millis", "text"), [
    (0, False, "0s"), (90, False, "1m30s"), (954_614, False, "1w4d1h10m14s"), (1.53, True, "1s530ms"),
    (0.17, True, "170ms"), (300_551, False, "3d11h29m11s"),
])
def test_durations_use_routeros_units(seconds: float, millis: bool, text: str) -> None:
    assert duration(seconds, millis=millis) == text


def test_dates_switch_to_iso_in_routeros_7_10() -> None:
    assert timestamp(1_729_349_672, iso=True) == "2024-10-19 21:54:32"
    assert timestamp(1_507_122_663, iso=False) == "oct/04/2017 20:11:03"


def data(version: str, *, wifi: bool = False) -> RouterData:
    return RouterData(default_spec("r", version, wifi=wifi), started_at=NIGHT - 3600)


def test_clients_follow_the_daily_curve_and_agree_with_the_snmp_count() -> None:
    d = data("7.16")
    night = d.rows(("interface", "wireless", "registration-table"), NIGHT)
    evening = d.rows(("interface", "wireless", "registration-table"), EVENING)
    assert len(night) < len(evening)
    assert len([r for r in evening if r["interface"] == "wlan1"]) == daily_count(EVENING, peak=20, seed="r-wlan1")


def test_counters_and_uptime_grow() -> None:
    d = data("7.16")
    before = {r["name"]: int(r["rx-byte"]) for r in d.rows(("interface",), EVENING)}
    after = {r["name"]: int(r["rx-byte"]) for r in d.rows(("interface",), EVENING + 60)}
    assert all(after[n] >= before[n] for n in before) and after["ether1"] > before["ether1"]
    session = d.rows(("ip", "hotspot", "active"), EVENING)[0]
    later = d.rows(("ip", "hotspot", "active"), EVENING + 60)[0]
    assert session["mac-address"] == later["mac-address"] and int(later["bytes-out"]) > int(session["bytes-out"])
    assert session["user"] == "T-" + session["mac-address"].replace(":", "")


def test_v6_and_v7_health_shapes() -> None:
    (v6,) = data("6.49.10").rows(("system", "health"), EVENING)
    assert set(v6) == {"voltage", "temperature"} and re.fullmatch(r"\d+\.\d", v6["voltage"])
    v7 = data("7.16").rows(("system", "health"), EVENING)
    assert [(r["name"], r["type"]) for r in v7] == [("voltage", "V"), ("temperature", "C")]


def test_registration_pairs_and_leases() -> None:
    row = data("7.16").rows(("interface", "wireless", "registration-table"), EVENING)[0]
    tx, rx = (int(v) for v in row["bytes"].split(","))
    assert tx > rx > 0 and row["mac-address"][1] in "26AE"  # locally administered (invented) MAC
    leases = data("7.16").rows(("ip", "dhcp-server", "lease"), EVENING)
    assert {r["status"] for r in leases} <= {"bound", "waiting"} and any(r["status"] == "bound" for r in leases)


def _snmp(device: str) -> dict[str, str]:
    records = {}
    for line in (DEMO / f"{device}.snmprec").read_text().splitlines():
        if line and not line.startswith("#"):
            oid, _, value = line.split("|", 2)
            records[oid] = value
    return records


def test_demo_routers_match_their_snmp_identity() -> None:
    routers = {r.router_id: r for r in load_demo_routers()}
    for rid in ("kim-karangmangu-router", "kim-ketenger-router", "kim-kotayasa-router"):
        snmp, spec = _snmp(rid), routers[rid].data
        assert spec is not None
        assert spec.serial == snmp["1.3.6.1.4.1.14988.1.1.7.3.0"]
        assert routers[rid].version == snmp["1.3.6.1.4.1.14988.1.1.4.4.0"]
        assert f"RouterOS {spec.model}" == snmp["1.3.6.1.2.1.1.1.0"]
        assert spec.identity == snmp["1.3.6.1.2.1.1.5.0"]
    versions = {r.version for r in routers.values()}
    assert "6.49.10" in versions and "7.18.2" in versions
    assert {r.site_id for r in routers.values()} == {"kim-karangmangu", "kim-ketenger", "kim-kotayasa"}
