"""Menus and moving values (injected clock), v6/v7 formats, and the demo fleet's agreement with SNMP data."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from pathlib import Path

import pytest

from netmon.errors import ConfigError
from netmon.simulate import snmprec
from netmon.simulate.fleet import load_demo_fleet
from netmon.simulate.routeros import load_demo_routers, population
from netmon.simulate.routeros.clients import duration, timestamp
from netmon.simulate.routeros.data import RouterData
from netmon.simulate.routeros.server import default_spec
from netmon.simulate.routeros.spec import RouterSpec, router_spec
from netmon.simulate.snmprec import SnmpRecord
from netmon.simulate.variation import daily_count, value_at

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


# -- one client population per router ----------------------------------------------------------------
MIDNIGHT = 1_760_029_200.0  # 2025-10-10 00:00 WIB


def tables(spec: RouterSpec, now: float) -> dict[str, list[dict[str, str]]]:
    d = RouterData(spec, started_at=now - 3600)
    registration = [menu for menu in (("interface", "wireless", "registration-table"),
                                      ("interface", "wifi", "registration-table")) if menu in d.menus()]
    return {"radio": [row for menu in registration for row in d.rows(menu, now)],
            "host": d.rows(("ip", "hotspot", "host"), now), "active": d.rows(("ip", "hotspot", "active"), now),
            "lease": d.rows(("ip", "dhcp-server", "lease"), now)}


@pytest.mark.parametrize("router_id", ["kim-karangmangu-router", "kim-kotayasa-router", "kim-ketenger-rb951",
                                       "kim-kotayasa-hapax2"])
def test_one_population_feeds_every_client_table(router_id: str) -> None:
    spec = next(r for r in load_demo_routers() if r.router_id == router_id).data
    assert spec is not None
    net = population.network(spec.hotspots[0].network)
    wired_seen = departed_seen = manual_seen = 0
    for hour in (9.0, 13.5, 19.0, 21.0, 23.5):
        t = tables(spec, MIDNIGHT + hour * 3600)
        hosts = {r["mac-address"]: r for r in t["host"]}
        leases = {r["mac-address"]: r for r in t["lease"]}
        for row in t["radio"]:  # a phone on the radio: host and lease with the same MAC and address
            mac = row["mac-address"]
            assert mac in hosts and mac in leases, mac
            assert hosts[mac]["address"] == leases[mac]["address"] == row.get("last-ip", leases[mac]["address"])
            assert ipaddress.IPv4Address(leases[mac]["address"]) in net
        for row in t["active"]:  # logged in: an authorized host
            assert hosts[row["mac-address"]]["authorized"] == "true"
            assert row["address"] == hosts[row["mac-address"]]["address"]
        radio = {r["mac-address"] for r in t["radio"]}
        for mac, host in hosts.items():  # DHCP: true exactly when there is a lease
            assert (host["DHCP"] == "true") == (mac in leases and leases[mac]["status"] == "bound"), mac
            wired_seen += mac not in radio and host["bypassed"] == "false"
            manual_seen += host["DHCP"] == "false"
        departed_seen += sum(1 for mac, lease in leases.items() if lease["dynamic"] == "true" and mac not in hosts)
        assert len({r["address"] for r in t["lease"]}) == len(t["lease"])  # no address given twice
    assert wired_seen and departed_seen  # wired users and phones that left but keep their lease
    if router_id == "kim-karangmangu-router":
        assert manual_seen  # a laptop with a manually set address


def test_addresses_follow_the_router_networks() -> None:
    routers = {r.router_id: r.data for r in load_demo_routers()}
    for rid, prefix in (("kim-kotayasa-router", "172.16.2"), ("kim-ketenger-rb951", "10.5.60."),
                        ("kim-kotayasa-hapax2", "10.5.70.")):
        spec = routers[rid]
        assert spec is not None
        t = tables(spec, MIDNIGHT + 20 * 3600)
        assert t["lease"] and all(r["address"].startswith(prefix) for r in t["lease"] + t["host"]), rid


def test_population_is_deterministic_for_a_time_and_seed() -> None:
    spec = default_spec("r", "7.16")
    at = MIDNIGHT + 19.5 * 3600
    assert population.present(spec, at) == population.present(spec, at)
    assert tables(spec, at) == tables(spec, at)
    other = default_spec("other-seed", "7.16")
    assert {c.mac for c in population.present(spec, at)} != {c.mac for c in population.present(other, at)}


def test_a_slot_refilled_later_is_a_new_phone() -> None:
    spec = default_spec("r", "7.16")
    day = [MIDNIGHT + b * 300 + 1 for b in range(288)]
    distinct = population.clients_seen(spec, day)
    most_at_once = max(len(population.present(spec, at)) for at in day)
    assert len(distinct) > most_at_once


def test_package_and_neighbor_menus_exist_on_every_router() -> None:
    for router in load_demo_routers():
        assert router.data is not None
        d = RouterData(router.data, started_at=EVENING)
        packages = d.rows(("system", "package"), EVENING)
        assert packages[0]["name"] == ("routeros" if router.data.v7 else f"routeros-{router.data.architecture}")
        assert all(p["version"] == router.version.split(" ")[0] for p in packages)
        neighbours = d.rows(("ip", "neighbor"), EVENING)
        assert [n["address"] for n in neighbours] == [n.address for n in router.data.neighbors]
        assert all(n["system-description"].startswith("MikroTik RouterOS ") for n in neighbours)
    wifi = RouterData(default_spec("ax", "7.18.2", wifi=True), started_at=EVENING).rows(("system", "package"), 0)
    assert [p["name"] for p in wifi] == ["routeros", "wifi-qcom-ac"]


# -- access points bridged behind a gateway ----------------------------------------------------------------
def _daily_records(device: str) -> list[SnmpRecord]:
    """The `daily` records of a demo recording: its client counts (and a router's DHCP lease count)."""
    return [r for r in snmprec.load(DEMO / f"{device}.snmprec") if r.variation == "daily"]


def _daily_counts(device: str) -> set[tuple[str | None, int]]:
    return {(r.arg("seed"), int(r.arg("peak") or 0)) for r in _daily_records(device)}


def test_demo_gateways_bridge_their_sites_access_points_with_the_aps_own_seeds() -> None:
    """Every demo AP (fleet.yaml) is bridged behind the gateway of its site, with the seeds and peaks of its
    recording's client counts; a gateway's own radios are its recording's."""
    aps = {d.device_id: d for d in load_demo_fleet() if d.role == "ap"}
    routers = {r.router_id: r for r in load_demo_routers()}
    bridged = {ap.device_id: (r.site_id, ap) for r in routers.values() if r.data for ap in r.data.bridged_aps}
    assert set(bridged) == set(aps)
    for device_id, (site, ap) in bridged.items():
        assert site == aps[device_id].site_id
        assert {(population.radio_seed(RouterSpec("x", "7.16"), radio, ap), radio.peak_clients)
                for radio in ap.radios} == _daily_counts(device_id)
    for rid in ("kim-karangmangu-router", "kim-ketenger-router", "kim-kotayasa-router"):
        spec = routers[rid].data
        assert spec is not None
        own = {(r.seed, r.peak_clients) for r in spec.radios}
        assert own == {(seed, peak) for seed, peak in _daily_counts(rid) if not (seed or "").endswith("-dhcp")}


@pytest.mark.parametrize("router_id", ["kim-karangmangu-router", "kim-ketenger-router", "kim-kotayasa-router"])
def test_bridged_ap_clients_are_gateway_hosts_and_leases_but_not_its_registrations(router_id: str) -> None:
    spec = next(r for r in load_demo_routers() if r.router_id == router_id).data
    assert spec is not None and spec.bridged_aps
    (ap,) = spec.bridged_aps
    recording = _daily_records(ap.device_id)
    net = population.network(spec.hotspots[0].network)
    for hour in (3.0, 9.0, 13.5, 19.0, 21.0, 23.5):
        now = MIDNIGHT + hour * 3600 + 1
        t = tables(spec, now)
        hosts = {r["mac-address"]: r for r in t["host"]}
        leases = {r["mac-address"]: r for r in t["lease"]}
        radio = {r["mac-address"] for r in t["radio"]}
        on_ap = [c for c in population.present(spec, now) if c.ap]
        assert {c.ap for c in on_ap} <= {ap.device_id}
        for radio_spec in ap.radios:  # as many as the AP's SNMP simulator reports now
            seed = population.radio_seed(spec, radio_spec, ap)
            served = {value_at(r, now=now, boot=MIDNIGHT) for r in recording if r.arg("seed") == seed}
            assert served == {sum(c.radio == radio_spec for c in on_ap)}
        for client in on_ap:  # in the gateway's hotspot and DHCP, with an address of its network
            assert client.mac not in radio
            assert client.mac in hosts and client.mac in leases
            assert hosts[client.mac]["address"] == leases[client.mac]["address"] == client.address
            assert ipaddress.IPv4Address(client.address) in net
        own = len(t["radio"])
        wired = sum(1 for mac, h in hosts.items() if mac not in radio and h["bypassed"] == "false") - len(on_ap)
        bypassed = sum(h["bypassed"] == "true" for h in hosts.values())
        assert len(hosts) == own + len(on_ap) + wired + bypassed  # every radio client, plus the exceptions
        assert 0 <= wired <= spec.hotspots[0].wired_peak
        assert len({c.mac for c in on_ap}) == len(on_ap) and len({r["address"] for r in t["lease"]}) == len(leases)
    assert population.clients_seen(spec, [MIDNIGHT + 20 * 3600]) > population.clients_seen(
        replace(spec, bridged_aps=()), [MIDNIGHT + 20 * 3600])


def test_bridged_ap_radios_need_a_known_hotspot_and_room_in_the_network() -> None:
    base = {"router_id": "gw", "version": "7.16", "hotspots": [{"name": "hs", "network": "10.5.50.0/24"}],
            "radios": [{"name": "wlan1", "ssid": "KIM", "peak_clients": 20}]}
    ap = {"device_id": "ap1", "radios": [{"name": "wlan1", "ssid": "KIM", "peak_clients": 30}]}
    spec = router_spec({**base, "bridged_aps": [ap]})
    assert population.radio_seed(spec, spec.bridged_aps[0].radios[0], spec.bridged_aps[0]) == "ap1-wlan1"
    with pytest.raises(ConfigError, match="no hotspot 'nope'"):
        router_spec({**base, "bridged_aps": [{**ap, "radios": [{"name": "w", "ssid": "K", "hotspot": "nope"}]}]})
    with pytest.raises(ConfigError, match="unknown key"):
        router_spec({**base, "bridged_aps": [{**ap, "ssid": "KIM"}]})
    with pytest.raises(ConfigError, match=r"do not fit in 10\.5\.50\.0/24"):
        router_spec({**base, "bridged_aps": [{"device_id": "ap1", "radios": [
            {"name": "wlan1", "ssid": "KIM", "peak_clients": 140}]}]})
