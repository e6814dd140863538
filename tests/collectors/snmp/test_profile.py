"""Profiles as data: loading errors, plans, and the pure varbinds -> samples mapping on hand-made tables
(including bad data: absent objects, truncated tables, garbage types)."""

from __future__ import annotations

from pathlib import Path

import pytest
from snmp_corpus import read, varbinds

from collectors.snmp.profile import Profile, load_profiles
from collectors.snmp.varbind import SnmpValue
from netmon.errors import ConfigError, DeviceProtocolError
from netmon.model import Sample, SampleKind

SYSTEM: dict[str, SnmpValue] = {
    "1.3.6.1.2.1.1.1.0": b"RouterOS RB951Ui-2HnD",
    "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.14988.1",
    "1.3.6.1.2.1.1.3.0": 12345,
    "1.3.6.1.2.1.1.5.0": b"kantor-desa",
}
IF_NAME, IF_DESCR, IF_OPER = "1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"
HC_IN, HC_OUT, IN32, OUT32 = "1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.31.1.1.1.10", "1.3.6.1.2.1.2.2.1.10", \
    "1.3.6.1.2.1.2.2.1.16"
HOTSPOT_SERVER, HOTSPOT_NAME = "1.3.6.1.4.1.14988.1.1.5.1.1.2", "1.3.6.1.4.1.14988.1.1.5.1.1.3"
RTAB_STRENGTH = "1.3.6.1.4.1.14988.1.1.1.2.1.3"


def run(profile: Profile, agent: dict[str, SnmpValue]) -> list[Sample]:
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    return profile.samples(read(agent, profile.poll_plan(discovery)), discovery)


def by_metric(samples: list[Sample], metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {s.labels: s.value for s in samples if s.metric == metric}


def two_interfaces() -> dict[str, SnmpValue]:
    return {
        **SYSTEM,
        f"{IF_NAME}.1": b"ether1", f"{IF_NAME}.2": b"wlan1",
        f"{IF_OPER}.1": 1, f"{IF_OPER}.2": 2,
        f"{HC_IN}.1": 2**40, f"{HC_OUT}.1": 7,  # ether1 has 64-bit counters
        f"{IN32}.1": 1, f"{OUT32}.1": 1, f"{IN32}.2": 300, f"{OUT32}.2": 400,  # wlan1 only 32-bit
    }


# --- loading ---------------------------------------------------------------------------------------------

def test_packaged_profiles_load() -> None:
    assert load_profiles().names == ["airos", "cambium_cnpilot", "cambium_epmp", "cambium_pmp", "cambium_ptp",
                                     "generic", "mikrotik", "ruijie", "tplink", "unifi"]


def test_unknown_profile_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown SNMP profile 'mikrotk'"):
        load_profiles().get("mikrotk")


def write(tmp_path: Path, text: str, name: str = "vendor.yaml") -> Path:
    generic = Path(__file__).resolve().parents[3] / "collectors/snmp/profiles/generic.yaml"
    (tmp_path / "generic.yaml").write_text(generic.read_text())
    (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        pytest.param("name: v\nextends: generic\nmatch:\n  - sys_objectid: [1.3.6.1.4.1.9]\n", 4,
                     "match.0.sys_objectid", "unknown key", id="unknown-key"),
        pytest.param("name: v\nextends: generic\nmetrics:\n  - id: x\n    metric: netmon_x\n"
                     "    get: [1.3.x]\n", 6, "metrics[0].get", "not a numeric OID", id="bad-oid"),
        pytest.param("name: v\nextends: nothing\n", 2, "extends", "unknown profile", id="unknown-parent"),
        pytest.param("name: v\nidentity:\n  colour: [{value: red}]\n", 3, "identity.colour",
                     "unknown identity field", id="unknown-identity-field"),
        pytest.param("name: v\nmetrics:\n  - id: x\n    metric: m\n    kind: histogram\n"
                     "    get: [1.3.6]\n", 5, "metrics[0].kind", "kind must be", id="bad-kind"),
        pytest.param("name: v\n  bad: [indent\n", 2, None, "invalid YAML", id="invalid-yaml"),
    ],
)
def test_profile_errors_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str | None,
                                               message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_profiles(write(tmp_path, text))
    assert caught.value.file is not None and caught.value.file.endswith("vendor.yaml")
    assert caught.value.line == line
    assert caught.value.key == key


def test_a_profile_set_needs_generic(tmp_path: Path) -> None:
    (tmp_path / "only.yaml").write_text("name: only\n")
    with pytest.raises(ConfigError, match="no 'generic' profile"):
        load_profiles(tmp_path)


# --- plans -----------------------------------------------------------------------------------------------

def test_discovery_plan_reads_identity_labels_and_counter_presence() -> None:
    plan = load_profiles().get("mikrotik").discovery_plan()
    for oid in ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.4.1.14988.1.1.7.3.0",
                "1.3.6.1.4.1.14988.1.1.4.4.0"):
        assert oid in plan.get
    for column in (IF_NAME, IF_DESCR, HC_IN, HC_OUT, "1.3.6.1.4.1.14988.1.1.1.3.1.4"):
        assert column in plan.walk
    assert IN32 not in plan.walk  # the 32-bit column is the fallback: no need to see it at discovery


def test_poll_plan_has_only_what_a_poll_exports() -> None:
    profile = load_profiles().get("generic")
    agent = {k: v for k, v in two_interfaces().items() if not k.startswith((HC_IN, HC_OUT))}
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    plan = profile.poll_plan(discovery)
    assert plan.get == ("1.3.6.1.2.1.1.3.0",)
    assert set(plan.walk) == {IF_OPER, IN32, OUT32}  # no ifName/ifDescr, no HC columns, no empty tables


def test_hc_counters_per_interface_with_32_bit_fallback() -> None:
    samples = run(load_profiles().get("generic"), two_interfaces())
    assert by_metric(samples, "netmon_interface_receive_bytes_total") == {
        (("interface", "ether1"),): float(2**40), (("interface", "wlan1"),): 300.0}
    assert by_metric(samples, "netmon_interface_transmit_bytes_total") == {
        (("interface", "ether1"),): 7.0, (("interface", "wlan1"),): 400.0}
    assert by_metric(samples, "netmon_interface_up") == {
        (("interface", "ether1"),): 1.0, (("interface", "wlan1"),): 0.0}
    assert {s.kind for s in samples if s.metric.endswith("_bytes_total")} == {SampleKind.COUNTER}


def test_ifdescr_names_interfaces_without_ifxtable() -> None:
    samples = run(load_profiles().get("tplink"), varbinds("tplink_td-w9970"))
    assert by_metric(samples, "netmon_interface_receive_bytes_total")[(("interface", "wl0"),)] == 530041548


def test_uptime_in_seconds_and_labels_never_carry_device() -> None:
    samples = run(load_profiles().get("generic"), two_interfaces())
    assert by_metric(samples, "netmon_device_uptime_seconds") == {(): 123.45}
    assert all("device" not in s.label_dict() for s in samples)


def test_routeros7_gauge_table_wins_over_old_health_scalars() -> None:
    profile = load_profiles().get("mikrotik")
    agent = varbinds("routeros_rb750gr3")
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    assert "1.3.6.1.4.1.14988.1.1.3.8.0" not in profile.poll_plan(discovery).get  # mtxrHlVoltage: not polled
    samples = profile.samples(read(agent, profile.poll_plan(discovery)), discovery)
    assert by_metric(samples, "netmon_device_voltage_volts") == {(): pytest.approx(24.3)}
    assert by_metric(samples, "netmon_device_temperature_celsius") == {(): 38.0}


# --- counts: hotspot users and registration table (never per-client data) ----------------------------------

def test_hotspot_users_are_counted_from_one_column() -> None:
    profile = load_profiles().get("mikrotik")
    agent = {**SYSTEM, f"{HOTSPOT_SERVER}.11": 1, f"{HOTSPOT_SERVER}.12": 1, f"{HOTSPOT_SERVER}.15": 2,
             f"{HOTSPOT_NAME}.11": b"budi", f"{HOTSPOT_NAME}.12": b"siti", f"{HOTSPOT_NAME}.15": b"tamu"}
    discovery = profile.discover(read(agent, profile.discovery_plan()), role="router")
    plan = profile.poll_plan(discovery)
    assert HOTSPOT_SERVER in plan.walk and HOTSPOT_NAME not in plan.walk
    samples = profile.samples(read(agent, plan), discovery)
    assert by_metric(samples, "netmon_hotspot_active_users") == {(("server", "all"),): 3.0}
    assert not any(v in ("budi", "siti", "tamu") for s in samples for _, v in s.labels)


@pytest.mark.parametrize(("role", "want"), [
    ("router", {(("server", "all"),): 0.0}),  # a gateway's hotspot with nobody logged in: 0, not a gap
    ("other", {(("server", "all"),): 0.0}),
    ("ap", {}),  # an access point runs no hotspot: an empty table means none, so no series
    ("switch", {}),
], ids=["router", "other", "ap", "switch"])
def test_an_empty_hotspot_table_is_zero_users_on_a_router_and_no_series_elsewhere(
        role: str, want: dict[tuple[tuple[str, str], ...], float]) -> None:
    profile = load_profiles().get("mikrotik")
    agent = varbinds("routeros")  # a RouterOS wireless AP recording: no hotspot table
    assert not any(k.startswith(HOTSPOT_SERVER + ".") for k in agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()), role=role)
    assert (HOTSPOT_SERVER in profile.poll_plan(discovery).walk) is bool(want)
    samples = profile.samples(read(agent, profile.poll_plan(discovery)), discovery)
    assert by_metric(samples, "netmon_hotspot_active_users") == want


def test_registration_table_counts_clients_when_no_ap_table() -> None:
    agent = {**SYSTEM, f"{IF_NAME}.5": b"wlan1", f"{IF_NAME}.6": b"wlan2",
             f"{RTAB_STRENGTH}.0.39.16.50.237.96.5": -63, f"{RTAB_STRENGTH}.8.140.44.21.110.185.5": -49,
             f"{RTAB_STRENGTH}.48.90.58.61.187.76.6": -85}
    samples = run(load_profiles().get("mikrotik"), agent)
    assert by_metric(samples, "netmon_wifi_clients") == {
        (("band", ""), ("interface", "wlan1"), ("ssid", "")): 2.0,
        (("band", ""), ("interface", "wlan2"), ("ssid", "")): 1.0}


def test_registration_table_is_not_polled_when_the_ap_table_has_rows() -> None:
    profile = load_profiles().get("mikrotik")
    agent = varbinds("routeros")  # AP table with 11 clients, and 11 registration-table rows
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    assert RTAB_STRENGTH not in profile.poll_plan(discovery).walk
    assert len([k for k in agent if k.startswith(RTAB_STRENGTH + ".")]) == 11
    samples = profile.samples(read(agent, profile.poll_plan(discovery)), discovery)
    assert sum(by_metric(samples, "netmon_wifi_clients").values()) == 11


# --- bad data ---------------------------------------------------------------------------------------------

def test_no_system_group_is_a_protocol_error() -> None:
    with pytest.raises(DeviceProtocolError):
        load_profiles().get("generic").discover({})


def test_absent_objects_give_no_samples_not_zeros() -> None:
    profile = load_profiles().get("mikrotik")
    agent: dict[str, SnmpValue] = {"1.3.6.1.2.1.1.1.0": b"RouterOS RB951G-2HnD"}  # everything else noSuchObject
    discovery = profile.discover(read(agent, profile.discovery_plan()), role="router")
    samples = profile.samples(read(agent, profile.poll_plan(discovery)), discovery)
    assert {s.metric for s in samples} == {"netmon_hotspot_active_users"}  # a router's empty table counts 0


def test_truncated_table_keeps_the_rows_that_arrived() -> None:
    profile = load_profiles().get("generic")
    agent = two_interfaces()
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    answer = read(agent, profile.poll_plan(discovery))
    del answer[f"{IN32}.2"]  # the walk stopped early
    samples = profile.samples(answer, discovery)
    assert by_metric(samples, "netmon_interface_receive_bytes_total") == {(("interface", "ether1"),): 2.0**40}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(b"\xff\xfe\x00garbage", None, id="bytes-garbage"),
        pytest.param(b"1500", 1500.0, id="number-as-text"),
        pytest.param("1.3.6.1.2", None, id="oid-string"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_garbage_types_are_skipped(value: SnmpValue, expected: float | None) -> None:
    agent = {**two_interfaces(), f"{HC_IN}.1": value}
    rx = by_metric(run(load_profiles().get("generic"), agent), "netmon_interface_receive_bytes_total")
    assert rx.get((("interface", "ether1"),)) == expected
    assert rx[(("interface", "wlan1"),)] == 300.0


def test_garbage_label_text_falls_back() -> None:
    agent = {**two_interfaces(), f"{IF_NAME}.1": b"\x01\x02", f"{IF_DESCR}.1": b"ether1-descr"}
    rx = by_metric(run(load_profiles().get("generic"), agent), "netmon_interface_receive_bytes_total")
    assert (("interface", "ether1-descr"),) in rx


def test_rows_named_alike_get_their_index_appended() -> None:
    agent = {**two_interfaces(), f"{IF_NAME}.2": b"ether1", f"{HC_IN}.2": 5}
    rx = by_metric(run(load_profiles().get("generic"), agent), "netmon_interface_receive_bytes_total")
    assert rx == {(("interface", "ether1"),): float(2**40), (("interface", "ether1#2"),): 5.0}
