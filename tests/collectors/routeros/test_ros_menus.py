"""Rows -> samples against every real reply in ../shared/corpus/routeros/fixtures/.

The fixtures are read in place, never copied. On the wire every RouterOS value is a string, but the
napalm-ros and Home Assistant fixtures were recorded through librouteros, which types values (digits ->
int, true/yes -> True); Telegraf's are REST strings. `wire()` turns fixture values back into what the
binary API sends (`str(int)`, bools -> "true"/"false", floats as Python prints them, e.g. HA's `50.0`)
before they reach the pure layer, whose input is exactly `client.print()`'s `dict[str, str]` rows.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collectors.routeros.menus import (
    PROPLISTS,
    HotspotTraffic,
    client_macs,
    dhcp_lease_samples,
    health_samples,
    hotspot_active_samples,
    hotspot_host_samples,
    identity,
    interface_samples,
    registration_samples,
    resource_samples,
    wireless_interfaces,
    with_idle_interfaces,
)
from collectors.routeros.parse import Rows
from netmon.model import DeviceIdentity, Sample, SampleKind

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "routeros" / "fixtures"
Row = dict[str, str]
Key = tuple[str, tuple[tuple[str, str], ...]]


def wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def wire_rows(items: list[dict[str, Any]]) -> list[Row]:
    return [{k: wire(v) for k, v in item.items()} for item in items]


def _raw(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


def rows(source: str) -> list[Row]:
    """`file` or `file#KEY` (a key of the HA fixture) as wire rows, whatever the file's wrapping."""
    path, _, key = source.partition("#")
    data = _raw(path)
    if key:
        data = data[key]
    elif isinstance(data, dict) and "data" in data:  # napalm-ros
        data = data["data"]
    elif isinstance(data, dict) and "replies" in data:  # octo-librouteros
        data = data["replies"]
    if isinstance(data, dict):  # telegraf's single-object menus
        data = [data]
    return wire_rows(data)


def fetched(source: str, menu: str) -> list[Row]:
    """Rows as the collector gets them: only the `.proplist` fields (when the menu has one)."""
    proplist = PROPLISTS[menu]
    full = rows(source)
    return [{k: v for k, v in r.items() if k in proplist} for r in full] if proplist else full


def by_key(samples: list[Sample]) -> dict[Key, float]:
    keyed = {(s.metric, s.labels): s.value for s in samples}
    assert len(keyed) == len(samples), "duplicate series"
    return keyed


TG = "telegraf/"
NP = "napalm-ros/"
HA = "home-assistant/ha_core_mikrotik_test_data.json"
OCTO = "octo-librouteros/registration_table_ros4.json"
CCR = NP + "test_get_environment__CCR2004-16G-2Splus__system_"
PC = NP + "test_get_facts__pc__system_"

# every fixture file: which test reads it, or why none does (a menu we do not read)
FIXTURE_USE = {
    HA: "resource, health, registration (wireless, wifiwave2), dhcp, macs",
    OCTO: "registration (legacy, RouterOS 4), macs",
    NP + "test_get_arp_table__normal__ip_arp_print.json": "not read: /ip/arp (privacy check only)",
    CCR + "health_print.json": "health",
    CCR + "resource_cpu_print.json": "not read: /system/resource/cpu (cpu-load of /system/resource suffices)",
    CCR + "resource_print.json": "resource, identity",
    PC + "identity_print.json": "not read: /system/identity (the inventory names devices)",
    PC + "resource_print.json": "resource, identity",
    PC + "routerboard_print.json": "identity",
    NP + "test_get_interfaces__last-link-up-time__interface_print.json": "interface",
    NP + "test_get_interfaces_counters__normal__interface_print.json": "interface",
    NP + "test_get_interfaces_counters__running_false__interface_print.json": "interface",
    NP + "test_get_lldp_neighbors__with_parent__ip_neighbor_print.json": "not read: /ip/neighbor (privacy check)",
    NP + "test_get_mac_address_table__static_and_dynamic__interface_bridge_host_print.json":
        "not read: /interface/bridge/host (privacy check only)",
    TG + "interface.json": "interface",
    TG + "interface_wireless_registration.json": "registration, macs",
    TG + "ip_dhcp_server_lease.json": "dhcp, macs",
    TG + "system_resourses.json": "resource, identity",
    TG + "system_routerboard.json": "identity",
}


def test_every_fixture_file_is_accounted_for() -> None:
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json")}
    assert on_disk == set(FIXTURE_USE)


# --- /system/resource ---------------------------------------------------------------------------------

UPTIME, CPU, MEMORY = "netmon_device_uptime_seconds", "netmon_device_cpu_load_ratio", "netmon_device_memory_used_ratio"


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param(TG + "system_resourses.json", {
        UPTIME: 604800 + 3600 + 600 + 14, CPU: 0.0, MEMORY: (134217728 - 50106368) / 134217728}, id="tg-hap-7.16"),
    pytest.param(CCR + "resource_print.json", {
        UPTIME: 604800 + 4 * 86400 + 23 * 3600 + 26 * 60 + 9, CPU: 0.0,
        MEMORY: (4227858432 - 3950641152) / 4227858432}, id="np-ccr2004-7.4"),
    pytest.param(PC + "resource_print.json", {UPTIME: 90}, id="np-x86-6.33-minimal"),
    pytest.param(HA + "#SYSTEM_DATA", {UPTIME: 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5, CPU: 0.15, MEMORY: 0.8},
                 id="ha-system"),
])
def test_resource_samples(source: str, expected: dict[str, float]) -> None:
    samples = resource_samples(fetched(source, "/system/resource"))
    assert {s.metric: s.value for s in samples} == pytest.approx(expected)
    assert all(s.kind is SampleKind.GAUGE and s.labels == () for s in samples)


def test_resource_values_that_do_not_parse_are_skipped_not_zero() -> None:
    samples = resource_samples([{"uptime": "soon", "cpu-load": "", "total-memory": "0", "free-memory": "0"}])
    assert samples == []
    assert resource_samples([]) == []


# --- identity -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("resource", "board", "model", "firmware", "serial"), [
    pytest.param(TG + "system_resourses.json", TG + "system_routerboard.json", "RBD52G-5HacD2HnD", "7.16",
                 "123456789", id="tg-hap-routerboard"),
    pytest.param(CCR + "resource_print.json", None, "CCR2004-16G-2S+", "7.4", "", id="np-ccr2004-no-board-reply"),
    pytest.param(PC + "resource_print.json", PC + "routerboard_print.json", "x86", "6.33.3", "",
                 id="np-x86-routerboard-false"),
])
def test_identity(resource: str, board: str | None, model: str, firmware: str, serial: str) -> None:
    board_rows = fetched(board, "/system/routerboard") if board else []
    found = identity(fetched(resource, "/system/resource"), board_rows)
    assert found == DeviceIdentity(profile="routeros-api", vendor="MikroTik", model=model, firmware=firmware,
                                   serial=serial)


def test_identity_of_nothing_is_vendor_only() -> None:
    assert identity([], []) == DeviceIdentity(profile="routeros-api", vendor="MikroTik")


# --- /system/health -----------------------------------------------------------------------------------

TEMP, VOLT = "netmon_device_temperature_celsius", "netmon_device_voltage_volts"


@pytest.mark.parametrize(("health", "expected"), [
    pytest.param(rows(CCR + "health_print.json"), {TEMP: 58.0}, id="np-ccr2004-v7-rows-hottest-is-cpu"),
    pytest.param(rows(HA + "#HEALTH_DATA"), {TEMP: 50.0, VOLT: 24.2}, id="ha-name-value-rows"),
    pytest.param([{"voltage": "24.1", "temperature": "37", "cpu-temperature": "45"}], {TEMP: 45.0, VOLT: 24.1},
                 id="v6-one-row-shape"),
    pytest.param([{"name": "psu1-voltage", "value": "12.1", "type": "V"},
                  {"name": "psu2-voltage", "value": "12.3", "type": "V"}], {VOLT: 12.1}, id="v7-first-volt-row"),
    pytest.param([{"name": "psu1-voltage", "value": "12.1", "type": "V"},
                  {"name": "voltage", "value": "24.0", "type": "V"}], {VOLT: 24.0}, id="v7-voltage-by-name"),
    pytest.param([{"name": "temperature", "value": "", "type": "C"}, {"name": "fan1-speed", "value": "6090",
                                                                      "type": "RPM"}], {}, id="unparsable-skipped"),
    pytest.param([], {}, id="empty"),
])
def test_health_samples(health: list[Row], expected: dict[str, float]) -> None:
    samples = health_samples(health)
    assert {s.metric: s.value for s in samples} == expected
    assert all(s.labels == () for s in samples)


# --- /interface ---------------------------------------------------------------------------------------

RX, TX, UP = "netmon_interface_receive_bytes_total", "netmon_interface_transmit_bytes_total", "netmon_interface_up"


def _iface(name: str, rx: int, tx: int, up: int) -> dict[Key, float]:
    labels = (("interface", name),)
    return {(RX, labels): rx, (TX, labels): tx, (UP, labels): up}


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param(NP + "test_get_interfaces__last-link-up-time__interface_print.json", _iface("ether1", 3910, 4005, 1),
                 id="np-last-link-up-time"),
    pytest.param(NP + "test_get_interfaces_counters__normal__interface_print.json", {
        **_iface("ether2", 0, 0, 0), **_iface("ether3", 38784330741, 70881296060, 0),
        **_iface("ether4", 0, 0, 0), **_iface("ether5", 0, 0, 0), **_iface("wan", 151198672881, 45385807833, 1),
        **_iface("wlan-lan", 5996500782, 79768416691, 1), **_iface("br-lan", 44515285975, 150213935361, 1),
        **_iface("eoip1", 341, 16508647, 0)}, id="np-counters-normal"),
    pytest.param(NP + "test_get_interfaces_counters__running_false__interface_print.json",
                 _iface("ether1poe", 0, 0, 0), id="np-running-false"),
    pytest.param(TG + "interface.json", {
        **_iface("ether1", 194632346152, 15355309685, 1), **_iface("ether2", 0, 0, 0),
        **_iface("ether2#*3", 0, 0, 0)}, id="tg-duplicate-name-and-trailing-empty-row"),
])
def test_interface_samples(source: str, expected: dict[Key, float]) -> None:
    samples = interface_samples(fetched(source, "/interface"))
    assert by_key(samples) == expected
    assert {s.kind for s in samples if s.metric.endswith("_total")} == {SampleKind.COUNTER}
    assert {s.kind for s in samples if s.metric == UP} == {SampleKind.GAUGE}


def test_interfaces_named_after_users_and_bad_values_are_skipped() -> None:
    samples = interface_samples([
        {"name": "<pppoe-budi>", "type": "pppoe-in", "rx-byte": "1", "tx-byte": "1", "running": "true"},
        {"name": "<l2tp-siti>", "type": "", "rx-byte": "1", "tx-byte": "1", "running": "true"},
        {"name": "ether1", "rx-byte": "", "tx-byte": "n/a", "running": "maybe", "disabled": "false"},
        {"name": "ether2", "rx-byte": "5", "tx-byte": "6", "running": "true", "disabled": "true"},
    ])
    assert by_key(samples) == {(RX, (("interface", "ether2"),)): 5, (TX, (("interface", "ether2"),)): 6,
                               (UP, (("interface", "ether2"),)): 0}


# --- wireless -----------------------------------------------------------------------------------------

WIRELESS_ROWS = [
    {"name": "wlan1", "ssid": "KIM Desa", "band": "2ghz-b/g/n", "frequency": "2412"},
    {"name": "wlan2", "ssid": "KIM Tamu", "master-interface": "wlan1"},
    {"name": "wlan3", "ssid": "Balai", "band": "", "frequency": "5180"},
    {"name": "wlan4", "ssid": "Auto", "frequency": "auto"},
    {"name": "wifi1", "configuration.ssid": "KIM-7", "channel.band": "5ghz-ax"},
    {"name": "wifi2", "configuration": "cfg1"},
    {"ssid": "nameless"},
]


def test_wireless_interfaces_of_all_packages() -> None:
    assert wireless_interfaces(WIRELESS_ROWS) == {
        "wlan1": ("KIM Desa", "2.4GHz"), "wlan2": ("KIM Tamu", "2.4GHz"), "wlan3": ("Balai", "5GHz"),
        "wlan4": ("Auto", ""), "wifi1": ("KIM-7", "5GHz"), "wifi2": ("", ""),
    }


def test_wireless_proplist_keeps_what_wireless_interfaces_reads() -> None:
    legacy = [r for r in WIRELESS_ROWS if not r.get("name", "").startswith("wifi")]
    trimmed = [{k: v for k, v in r.items() if k in PROPLISTS["/interface/wireless"]} for r in legacy]
    assert wireless_interfaces(trimmed) == wireless_interfaces(legacy)


CLIENTS = "netmon_wifi_clients"


def _clients(interface: str, ssid: str, band: str) -> Key:
    return CLIENTS, (("band", band), ("interface", interface), ("ssid", ssid))


SSIDS = {"wlan2": ("KIM Desa", "5GHz"), "wifi1": ("from-interface", "5GHz")}


@pytest.mark.parametrize(("source", "menu", "interfaces", "expected"), [
    pytest.param(TG + "interface_wireless_registration.json", "/interface/wireless/registration-table", {},
                 {_clients("wlan2", "", ""): 2}, id="tg-legacy-no-interface-info"),
    pytest.param(TG + "interface_wireless_registration.json", "/interface/wireless/registration-table", SSIDS,
                 {_clients("wlan2", "KIM Desa", "5GHz"): 2}, id="tg-legacy-with-ssid"),
    pytest.param(HA + "#WIRELESS_DATA", "/interface/wireless/registration-table", {},
                 {_clients("wlan1", "", ""): 3}, id="ha-legacy"),
    pytest.param(HA + "#WIFIWAVE2_DATA", "/interface/wifiwave2/registration-table", SSIDS,
                 {_clients("wifi1", "test-ssid", "5GHz"): 1}, id="ha-wifiwave2-row-ssid-wins"),
    pytest.param(OCTO, "/interface/wireless/registration-table", {},
                 {_clients("wlan2", "", ""): 0}, id="octo-ros4-peer-is-an-ap"),
])
def test_registration_samples(source: str, menu: str, interfaces: dict[str, tuple[str, str]],
                              expected: dict[Key, float]) -> None:
    samples = registration_samples(fetched(source, menu), interfaces)
    assert by_key(samples) == expected


def test_capsman_rows_carry_interface_ssid_and_band() -> None:
    capsman = [{"interface": "cap1", "ssid": "Home", "band": "5ghz-ac", "mac-address": "00:00:00:00:00:09"},
               {"interface": "cap1", "ssid": "Home", "mac-address": "00:00:00:00:00:0A"},
               {"interface": "cap2", "ssid": "Guest", "mac-address": "00:00:00:00:00:0B"}]
    samples = registration_samples(capsman, {"cap1": ("", "5GHz")})
    assert by_key(samples) == {_clients("cap1", "Home", "5GHz"): 2, _clients("cap2", "Guest", ""): 1}


def test_idle_radios_read_zero_once_per_poll() -> None:
    legacy = registration_samples(rows(TG + "interface_wireless_registration.json"), SSIDS)
    capsman = registration_samples([], SSIDS)
    samples = with_idle_interfaces([*legacy, *capsman], SSIDS)
    assert by_key(samples) == {_clients("wlan2", "KIM Desa", "5GHz"): 2, _clients("wifi1", "from-interface", "5GHz"): 0}


# --- hotspot ------------------------------------------------------------------------------------------

# No recorded /ip/hotspot reply exists in the corpus (FIELDS.md); rows use the documented property names.
ACTIVE = [
    {".id": "*1", "server": "hs-balai", "user": "budi", "address": "10.5.50.2", "mac-address": "AA:BB:CC:00:00:01",
     "uptime": "5m", "bytes-in": "1000", "bytes-out": "5000"},
    {".id": "*2", "server": "hs-balai", "user": "T-AA:BB:CC:00:00:02", "mac-address": "AA:BB:CC:00:00:02",
     "uptime": "1h", "bytes-in": "10", "bytes-out": "20"},
    {".id": "*3", "server": "hs-posyandu", "user": "siti", "mac-address": "aa-bb-cc-00-00-03",
     "bytes-in": "7", "bytes-out": "8"},
]


def test_hotspot_active_users_per_server() -> None:
    samples = hotspot_active_samples([*ACTIVE, {}])
    assert by_key(samples) == {("netmon_hotspot_active_users", (("server", "hs-balai"),)): 2,
                               ("netmon_hotspot_active_users", (("server", "hs-posyandu"),)): 1}
    assert hotspot_active_samples([]) == []


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param([{"server": "hs-balai", "mac-address": "AA:BB:CC:00:00:01"}, {"server": "hs-balai"}, {}],
                 {"hs-balai": 2}, id="rows"),
    pytest.param({"hs-balai": 4, "hs-posyandu": 0}, {"hs-balai": 4, "hs-posyandu": 0}, id="counts-per-server"),
    pytest.param(7, {"all": 7}, id="one-total-count"),
    pytest.param([{"mac-address": "AA:BB:CC:00:00:01"}], {"unknown": 1}, id="row-without-server"),
])
def test_hotspot_hosts(given: Any, expected: dict[str, int]) -> None:
    samples = hotspot_host_samples(given)
    assert by_key(samples) == {("netmon_hotspot_hosts", (("server", s),)): n for s, n in expected.items()}


BYTES = "netmon_hotspot_bytes_total"


def _traffic(samples: list[Sample]) -> dict[tuple[str, str], float]:
    assert all(s.kind is SampleKind.COUNTER and s.metric == BYTES for s in samples)
    return {(s.label_dict()["server"], s.label_dict()["direction"]): s.value for s in samples}


def _session(sid: str, bytes_in: str, bytes_out: str, uptime: str | None = None, server: str = "hs") -> Row:
    row = {".id": sid, "server": server, "bytes-in": bytes_in, "bytes-out": bytes_out}
    if uptime is not None:
        row["uptime"] = uptime
    return row


@pytest.mark.parametrize(("polls", "expected"), [
    pytest.param([[_session("*1", "100", "1000")], [_session("*1", "150", "1600")]],
                 {("hs", "in"): 150, ("hs", "out"): 1600}, id="session-continues"),
    pytest.param([[_session("*1", "100", "1000"), _session("*2", "5", "50")], [_session("*2", "6", "60")]],
                 {("hs", "in"): 106, ("hs", "out"): 1060}, id="ended-session-keeps-its-bytes"),
    pytest.param([[_session("*1", "100", "1000")], [], [_session("*1", "30", "300")]],
                 {("hs", "in"): 130, ("hs", "out"): 1300}, id="new-session-reusing-id-after-a-gap"),
    pytest.param([[_session("*1", "100", "1000")], [_session("*1", "40", "400")]],
                 {("hs", "in"): 140, ("hs", "out"): 1400}, id="counter-went-down-counts-from-zero"),
    pytest.param([[_session("*1", "100", "1000", "1h")], [_session("*1", "120", "1200", "2m")]],
                 {("hs", "in"): 220, ("hs", "out"): 2200}, id="uptime-went-down-new-session"),
    pytest.param([[_session("*1", "100", "1000")], [_session("*1", "", "x")], [_session("*1", "110", "1100")]],
                 {("hs", "in"): 110, ("hs", "out"): 1100}, id="unparsable-reading-skipped"),
    pytest.param([[_session("*1", "1", "2", server="a"), _session("*2", "3", "4", server="b")], []],
                 {("a", "in"): 1, ("a", "out"): 2, ("b", "in"): 3, ("b", "out"): 4}, id="servers-stay-after-logout"),
    pytest.param([[], []], {}, id="never-anyone"),
])
def test_hotspot_traffic_accumulates_monotonic_counters(polls: list[list[Row]],
                                                        expected: dict[tuple[str, str], float]) -> None:
    traffic = HotspotTraffic()
    history = [_traffic(traffic.update(rows)) for rows in polls]
    assert history[-1] == expected
    for before, after in itertools.pairwise(history):  # never decreasing
        assert all(after[key] >= value for key, value in before.items())


def test_hotspot_traffic_forgets_ended_sessions() -> None:
    traffic = HotspotTraffic()
    traffic.update([_session(f"*{i}", "1", "1") for i in range(1000)])
    traffic.update([])
    assert traffic._sessions == {}


# --- /ip/dhcp-server/lease ----------------------------------------------------------------------------

LEASES = "netmon_dhcp_leases_active"


@pytest.mark.parametrize(("leases", "expected"), [
    pytest.param(fetched(TG + "ip_dhcp_server_lease.json", "/ip/dhcp-server/lease"), {"lan_dhcp": 2}, id="tg-bound"),
    pytest.param(rows(HA + "#DHCP_DATA"), {}, id="ha-trimmed-no-status-no-server"),
    pytest.param([{"server": "kim", "status": "waiting"}, {"server": "kim", "status": "offered"},
                  {"server": "", "active-server": "tamu", "status": "bound"}], {"kim": 0, "tamu": 1},
                 id="waiting-offered-and-active-server"),
])
def test_dhcp_lease_samples(leases: list[Row], expected: dict[str, int]) -> None:
    assert by_key(dhcp_lease_samples(leases)) == {(LEASES, (("server", s),)): n for s, n in expected.items()}


# --- client MACs and privacy --------------------------------------------------------------------------

@pytest.mark.parametrize(("sources", "expected"), [
    pytest.param([TG + "interface_wireless_registration.json", TG + "ip_dhcp_server_lease.json"],
                 {"00:11:22:33:44:55"}, id="tg-anonymised-all-alike"),
    pytest.param([HA + "#WIRELESS_DATA", HA + "#WIFIWAVE2_DATA", HA + "#DHCP_DATA"],
                 {f"00:00:00:00:00:0{i}" for i in range(1, 5)}, id="ha-registration-and-leases"),
    pytest.param([OCTO], set(), id="octo-peer-is-an-ap-not-a-client"),
])
def test_client_macs(sources: list[str], expected: set[str]) -> None:
    assert client_macs(*(rows(s) for s in sources)) == expected


def test_client_macs_prefers_active_mac_and_skips_unbound_leases() -> None:
    leases = [{"status": "bound", "active-mac-address": "aa:bb:cc:dd:ee:01", "mac-address": "AA:BB:CC:DD:EE:99"},
              {"status": "waiting", "mac-address": "AA:BB:CC:DD:EE:02"}]
    assert client_macs(leases, ACTIVE) == {"AA:BB:CC:DD:EE:01", "AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02",
                                           "AA:BB:CC:00:00:03"}


def _all_row_lists() -> list[tuple[str, list[Row]]]:
    found: list[tuple[str, list[Row]]] = []
    for path in sorted(FIXTURE_USE):
        if path == HA:
            data = _raw(HA)
            for key, value in data.items():
                if isinstance(value, list):
                    found.append((f"{HA}#{key}", rows(f"{HA}#{key}")))
                elif key.startswith("DEVICE_"):
                    found.append((f"{HA}#{key}", wire_rows([value])))
        else:
            found.append((path, rows(path)))
    return [*found, ("hotspot-documented-shape", [dict(r) for r in ACTIVE])]


SENSITIVE_KEYS = {"mac-address", "active-mac-address", "host-name", "user", "last-ip", "address", "active-address",
                  "address4", "radio-name", "client-id", "active-client-id", "comment", "identity"}
MAC_OR_IP = re.compile(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}|\d{1,3}(\.\d{1,3}){3}")
ALL_FUNCTIONS: list[Callable[[Rows], list[Sample]]] = [
    resource_samples, health_samples, interface_samples, hotspot_active_samples, hotspot_host_samples,
    dhcp_lease_samples, lambda r: registration_samples(r, wireless_interfaces(r)), lambda r: HotspotTraffic().update(r),
]


SENSITIVE = {v for _n, rl in _all_row_lists() for r in rl for k, v in r.items() if k in SENSITIVE_KEYS and v}


def test_privacy_check_has_identifiers_to_look_for() -> None:
    assert {"00:11:22:33:44:55", "Mac-mini", "10.10.10.252", "000C423AECCF", "budi", "123"} <= SENSITIVE


@pytest.mark.parametrize(("name", "row_list"), [pytest.param(n, rl, id=n) for n, rl in _all_row_lists()])
def test_no_label_value_is_a_client_identifier(name: str, row_list: list[Row]) -> None:
    """Every function over every recorded row list (whether or not it is its menu): no crash, and no label
    value is a MAC, IP, host name, user name or comment from any input."""
    sensitive = SENSITIVE
    for function in ALL_FUNCTIONS:
        for sample in function(row_list):
            assert sample.metric.startswith("netmon_")
            assert (sample.kind is SampleKind.COUNTER) == sample.metric.endswith("_total")
            for label, value in sample.labels:
                assert value not in sensitive, (name, sample.metric, label)
                assert not MAC_OR_IP.search(value), (name, sample.metric, label)


def test_neighbour_addresses_from_the_recorded_ip_neighbor_reply() -> None:
    import json

    from collectors.routeros.menus import neighbour_addresses

    path = FIXTURES / "napalm-ros" / "test_get_lldp_neighbors__with_parent__ip_neighbor_print.json"
    rows = [{k: str(v) for k, v in row.items()} for row in json.loads(path.read_text())["data"]]
    assert neighbour_addresses(rows) == ("172.31.1.12",)
    assert neighbour_addresses([{"address": "fe80::1"}, {"address": ""}, {"address4": "10.0.0.9"}]) == ("10.0.0.9",)
