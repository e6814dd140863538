"""Neighbour tables (LLDP-MIB lldpRemTable, MikroTik MNDP mtxrNeighborTable) -> neighbours, on the corpus
recordings and on the forms the recordings lack, plus the `neighbours:` profile section's validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from snmp_corpus import RecordedReader, read, recordings, select, varbinds
from snmpsim_fixture import SnmpSim

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.neighbour import Neighbour, neighbour_addresses, neighbours
from collectors.snmp.profile import load_profiles
from collectors.snmp.varbind import SnmpValue
from netmon.errors import ConfigError, DeviceProtocolError
from netmon.model import Device, Owner, Role, Secret, SnmpSettings, SnmpV2cAuth, Source

MAC = re.compile(r"([0-9a-f]{1,2}[:-]){5}[0-9a-f]{1,2}", re.IGNORECASE)
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"  # LLDP-MIB::lldpRemEntry
LLDP_MAN = "1.0.8802.1.1.2.1.4.2.1"  # LLDP-MIB::lldpRemManAddrEntry
MNDP = "1.3.6.1.4.1.14988.1.1.11.1.1"  # MIKROTIK-MIB::mtxrNeighborTableEntry


def extract(name: str) -> list[Neighbour]:
    """What the collector extracts from a recording: the chosen profile's discovery, then its neighbour plan."""
    agent = varbinds(name)
    profile = select(load_profiles(), agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    return profile.neighbours(read(agent, profile.neighbour_plan()), discovery)


# --- the corpus ------------------------------------------------------------------------------------------

# routeros_rb750gr3 (RouterOS 7.20beta2): two LLDP neighbours; RouterOS serves lldpRemManAddrSubtype/
# lldpRemManAddr as values at the neighbour's own index (0.6.2: ipV4 "169.254.9.11"; 0.10.1: ipV6 only).
# lldpRemChassisId is of subtype macAddress(4) in both rows, so no chassis id is kept. MNDP has only
# mtxrNeighborInterfaceID: 1 -> ifIndex 10, 2 -> ifIndex 6 (the same local ports as lldpRemLocalPortNum).
RB750GR3 = [
    Neighbour("lldp", "0.6.2", address="169.254.9.11", name="sw11.mzmol",
              description="MES2324B 28-port 1G/10G Managed Switch, Software version: 4.0.24.1",
              port_id="trunk: Up (p24)"),
    Neighbour("lldp", "0.10.1", name="r1.soada",
              description="MikroTik RouterOS 7.19.1 (stable) 2025-05-23 14:27:17 RB5009UG+S+",
              port_id="trunk: switch (br1)/trunk: MzMol (eoip1)"),
    Neighbour("mndp", "1", interface="trunk: SoAda (eoip1)"),
    Neighbour("mndp", "2", interface="trunk: Down (eth5)"),
]
# routeros_wifi (RBLHGG-60ad): each LLDP neighbour is recorded twice (indexes 3/11 and 4/12), no management
# address; the MNDP rows name the interface (ifIndex 4 = wlan60-station-1) only.
ROUTEROS_WIFI = [
    Neighbour("lldp", "0.0.3", name="Spoj Jizak-Kupeckeho-60G",
              description="MikroTik RouterOS 6.48.2 (stable) RBLHGG-60ad", port_id="bridge/wlan60-1"),
    Neighbour("lldp", "0.0.4", name="Jizak", port_id="eth1-kupeckeho_lan"),
    Neighbour("lldp", "0.0.11", name="Spoj Jizak-Kupeckeho-60G",
              description="MikroTik RouterOS 6.48.2 (stable) RBLHGG-60ad", port_id="bridge/wlan60-1"),
    Neighbour("lldp", "0.0.12", name="Jizak", port_id="eth1-kupeckeho_lan"),
    *(Neighbour("mndp", str(i), interface="wlan60-station-1") for i in (3, 4, 11, 12, 35, 36)),
]


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("routeros_rb750gr3", RB750GR3, id="routeros_rb750gr3"),
    pytest.param("routeros_wifi", ROUTEROS_WIFI, id="routeros_wifi"),
])
def test_neighbours_match_the_recording(name: str, expected: list[Neighbour]) -> None:
    assert extract(name) == expected


def test_multi_line_descriptions_are_folded_and_c_padding_cut() -> None:
    found = {n.index: n for n in extract("routeros") if n.table == "lldp"}
    # lldpRemSysDesc.1 is hex: "H3C Comware ... 2221P04-US\nH3C S5120-28C-PWR-EI\r\nCopyright ..."
    assert found["1"].description == ("H3C Comware Platform Software, Software Version 5.20 Release 2221P04-US "
                                      "H3C S5120-28C-PWR-EI Copyright (c) 2004-2014 Hangzhou H3C Tech. Co., "
                                      "Ltd. All rights reserved.")
    # lldpRemSysName.0.0.1 is "peca-sw02" NUL-padded, followed by garbage after the padding
    assert {n.name for n in extract("routeros_rb760igs") if n.table == "lldp"} >= {"peca-sw02", "peca-mkt"}


# Addresses announced per recording; every other recording announces none (no management address, no MNDP
# IpAddress column recorded) or has no neighbour table at all.
ADDRESSES = {"routeros_rb750gr3": ("169.254.9.11",)}


@pytest.mark.parametrize("name", recordings())
def test_addresses_fed_to_the_rule_per_recording(name: str) -> None:
    assert neighbour_addresses(extract(name)) == ADDRESSES.get(name, ())


@pytest.mark.parametrize("name", recordings())
def test_no_mac_address_leaves_the_mapping(name: str) -> None:
    for neighbour in extract(name):
        assert not MAC.search(repr(neighbour)), neighbour


def test_mac_columns_are_not_even_read() -> None:
    plan = load_profiles().get("mikrotik").neighbour_plan()
    assert f"{MNDP}.3" not in plan.walk  # mtxrNeighborMacAddress
    assert f"{LLDP_REM}.5" in plan.walk  # lldpRemChassisId: read, but kept only for non-MAC subtypes


def test_neighbour_tables_are_not_part_of_a_poll() -> None:
    profile = load_profiles().get("mikrotik")
    agent = varbinds("routeros_rb750gr3")
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    columns = set(profile.neighbour_plan().walk)
    assert not columns & set(profile.poll_plan(discovery).walk)
    assert not columns & set(profile.discovery_plan().walk)


# --- forms the corpus lacks ------------------------------------------------------------------------------

def lldp_row(index: str, **extra: SnmpValue) -> dict[str, SnmpValue]:
    return {f"{LLDP_REM}.4.{index}": 4, f"{LLDP_REM}.9.{index}": b"core-sw", **extra}


@pytest.mark.parametrize(("agent", "address"), [
    # The standard form: lldpRemManAddrTable has no readable address column; the address is in the index
    # (<subtype>.<length>.<octets>), e.g. ".1.0.8802.1.1.2.1.4.2.1.3.0.257.1.1.4.62.243.146.245" from IOS.
    pytest.param({**lldp_row("0.257.1"), f"{LLDP_MAN}.3.0.257.1.1.4.62.243.146.245": 2}, "62.243.146.245",
                 id="address-in-index"),
    pytest.param({**lldp_row("0.257.1"), f"{LLDP_MAN}.3.0.257.1.1.62.243.146.245": 2}, "62.243.146.245",
                 id="address-in-index-without-length"),
    pytest.param({**lldp_row("0.257.1"), f"{LLDP_MAN}.3.0.257.1.2.16.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1": 2},
                 "", id="ipv6-only"),
    pytest.param({**lldp_row("0.257.1"), f"{LLDP_MAN}.3.0.25.1.1.4.10.0.0.4": 2}, "", id="other-neighbour"),
    # chassis id of subtype networkAddress(5): IANA family ipV4(1) and four octets
    pytest.param(lldp_row("0.3.1", **{f"{LLDP_REM}.4.0.3.1": 5, f"{LLDP_REM}.5.0.3.1": b"\x01\x0a\x14\x01\x07"}),
                 "10.20.1.7", id="chassis-network-address"),
    pytest.param(lldp_row("0.3.1", **{f"{LLDP_REM}.4.0.3.1": 5, f"{LLDP_REM}.5.0.3.1": b"\x02\x0a\x14"}),
                 "", id="chassis-network-address-garbage"),
    # RouterOS form with raw octets instead of text
    pytest.param({**lldp_row("0.6.2"), f"{LLDP_MAN}.1.0.6.2": 1, f"{LLDP_MAN}.2.0.6.2": b"\x0a\x14\x01\x09"},
                 "10.20.1.9", id="routeros-raw-octets"),
    pytest.param({**lldp_row("0.6.2"), f"{LLDP_MAN}.1.0.6.2": 2, f"{LLDP_MAN}.2.0.6.2": b"fdfd:0:2:1::1"},
                 "", id="routeros-ipv6"),
])
def test_lldp_management_address(agent: dict[str, SnmpValue], address: str) -> None:
    spec = load_profiles().get("generic").spec
    [found] = neighbours(spec, agent, {})
    assert found.address == address


@pytest.mark.parametrize(("value", "address"), [
    pytest.param("10.20.1.9", "10.20.1.9", id="ip-address"),
    pytest.param("0.0.0.0", "", id="unspecified"),
    pytest.param(b"\x0a\x14\x01\x09", "10.20.1.9", id="octets"),
    pytest.param(7, "", id="integer"),
    pytest.param(b"not an address", "", id="text"),
])
def test_mndp_address(value: SnmpValue, address: str) -> None:
    spec = load_profiles().get("mikrotik").spec
    agent = {f"{MNDP}.2.5": value, f"{MNDP}.6.5": b"kim-ap-2", f"{MNDP}.8.5": 3}
    rows = {"interface": {"3": {"interface": "ether3"}}}
    [found] = neighbours(spec, agent, rows)
    assert (found.address, found.name, found.interface) == (address, "kim-ap-2", "ether3")


def test_a_mac_in_a_text_field_is_dropped_and_the_row_kept() -> None:
    spec = load_profiles().get("mikrotik").spec
    agent = {f"{MNDP}.2.1": "10.20.1.9", f"{MNDP}.6.1": b"B8:69:F4:7F:41:70", f"{MNDP}.5.1": b"MikroTik"}
    [found] = neighbours(spec, agent, {})
    assert (found.address, found.name, found.platform) == ("10.20.1.9", "", "MikroTik")


def test_addresses_are_unique_and_sorted_numerically() -> None:
    found = [Neighbour("mndp", "1", address="10.20.1.10"), Neighbour("lldp", "0.0.1", address="10.20.1.9"),
             Neighbour("lldp", "0.0.2", address="10.20.1.10"), Neighbour("lldp", "0.0.3")]
    assert neighbour_addresses(found) == ("10.20.1.9", "10.20.1.10")


# --- the profile section ---------------------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    generic = Path(__file__).resolve().parents[3] / "collectors/snmp/profiles/generic.yaml"
    (tmp_path / "generic.yaml").write_text(generic.read_text())
    (tmp_path / "vendor.yaml").write_text("name: v\nextends: generic\nneighbours:\n  cdp:\n" + text)
    return tmp_path


def test_a_neighbours_section_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    generic = Path(__file__).resolve().parents[3] / "collectors/snmp/profiles/generic.yaml"
    (tmp_path / "generic.yaml").write_text(generic.read_text())
    (tmp_path / "vendor.yaml").write_text("name: v\nextends: generic\nneighbours:\n  - {rows: [1.3.6]}\n")
    with pytest.raises(ConfigError, match="expected a mapping") as caught:
        load_profiles(tmp_path)
    assert (caught.value.key, caught.value.line) == ("neighbours", 3)


@pytest.mark.parametrize(("text", "key", "message"), [
    pytest.param("    rows: [1.3.6.1.4.1.9.9.23.1.2.1.1.6]\n", "neighbours.cdp", "needs rows and fields",
                 id="no-fields"),
    pytest.param("    rows: [1.3.6]\n    fields:\n      colour: {walk: 1.3.6}\n", "neighbours.cdp.fields.colour",
                 "unknown key", id="unknown-field"),
    pytest.param("    rows: [1.3.6]\n    fields:\n      address: {walk: 1.3.6}\n", "neighbours.cdp.fields.address.walk",
                 "address needs decode", id="address-as-text"),
    pytest.param("    rows: [1.3.6]\n    fields:\n      name: {walk: 1.3.6, decode: ipv4}\n",
                 "neighbours.cdp.fields.name.decode", "other fields are text", id="name-as-address"),
    pytest.param("    rows: [1.3.6]\n    fields:\n      address: {walk: 1.3.6, decode: inet_index}\n",
                 "neighbours.cdp.fields.address.decode", "index_of goes with", id="inet-index-without-index-of"),
    pytest.param("    rows: [1.3.6]\n    fields:\n      name: {walk: 1.3.6, index_of: 1.3.7}\n",
                 "neighbours.cdp.fields.name", "exactly one of walk, index_of", id="walk-and-index-of"),
    pytest.param("    rows: [1.3.6]\n    fields:\n      interface: {walk: 1.3.6, lookup: ports}\n",
                 "neighbours.cdp.fields.interface.lookup", "unknown table", id="unknown-lookup"),
    pytest.param("    rows: [1.3.6]\n    fields:\n      name: {walk: 1.3.6, decode: base64}\n",
                 "neighbours.cdp.fields.name.decode", "decode must be one of", id="unknown-decode"),
    pytest.param("    rows: [1.3.x]\n    fields:\n      name: {walk: 1.3.6}\n",
                 "neighbours.cdp.rows", "not a numeric OID", id="bad-oid"),
])
def test_neighbour_section_errors_name_file_and_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_profiles(write(tmp_path, text))
    assert caught.value.file is not None and caught.value.file.endswith("vendor.yaml")
    assert caught.value.key == key
    assert caught.value.line is not None


def test_a_child_inherits_the_parents_neighbour_tables_and_adds_its_own() -> None:
    profiles = load_profiles()
    assert list(profiles.get("generic").spec.neighbours) == ["lldp"]
    assert list(profiles.get("mikrotik").spec.neighbours) == ["lldp", "mndp"]
    assert profiles.get("mikrotik").spec.neighbours["lldp"] is profiles.get("generic").spec.neighbours["lldp"]


# --- the real collector over snmpsim ---------------------------------------------------------------------

def corpus_device(name: str, snmpsim: SnmpSim) -> Device:
    return Device(id=name, site="kim-a", role=Role.ROUTER, address=snmpsim.host, sources=(Source.SNMP,),
                  owner=Owner.PEMDA, snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(name)), port=snmpsim.port,
                                                       timeout_s=2, retries=1))


@pytest.mark.integration
@pytest.mark.parametrize("name", ["routeros_rb750gr3", "routeros_wifi", "routeros", "ruijie", "linux_ntc"])
async def test_collector_reports_the_recorded_neighbour_addresses(name: str, snmpsim: SnmpSim) -> None:
    collector = SnmpCollector(load_profiles())
    try:
        result = await collector.poll(corpus_device(name, snmpsim))
    finally:
        await collector.close()
    assert result.error is None, result.error
    assert result.neighbours == ADDRESSES.get(name, ())


# --- the collector on a recording (an SnmpReader fake: the wire is not what these are about) ---------------

def recorded_device(name: str) -> Device:
    return Device(id=name, site="kim-a", role=Role.ROUTER, address="192.0.2.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(name))))


async def test_neighbour_tables_are_read_at_their_own_slow_cadence() -> None:
    agent = RecordedReader(varbinds("routeros_rb750gr3"))
    now = [1_000_000.0]
    collector = SnmpCollector(load_profiles(), clock=lambda: now[0], neighbours_s=900, open_reader=agent.open)
    device = recorded_device("routeros_rb750gr3")
    lldp_column = f"{LLDP_REM}.4"
    results = []
    try:
        for at in (0, 60, 120, 900 * 1.25 + 1):  # due again after 900 s, at the latest 1.25 x that
            now[0] = 1_000_000.0 + at
            agent.walked.clear()
            results.append((await collector.poll(device), any(lldp_column in cols for cols in agent.walked)))
    finally:
        await collector.close()
    assert [read for _, read in results] == [True, False, False, True]
    assert all(r.ok and r.neighbours == ("169.254.9.11",) for r, _ in results)  # carried between readings


async def test_unreadable_neighbour_tables_leave_the_poll_alone_and_are_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    agent = RecordedReader(varbinds("routeros_rb750gr3"))
    # as an agent whose LLDP subtree answers out of order would
    agent.failing[f"{LLDP_REM}.4"] = DeviceProtocolError("agent returned OIDs out of order in a table walk")
    now = [1_000_000.0]
    collector = SnmpCollector(load_profiles(), clock=lambda: now[0], neighbours_s=900, open_reader=agent.open)
    device = recorded_device("routeros_rb750gr3")
    try:
        first = await collector.poll(device)
        now[0] += 3600  # a second reading, failing the same way
        second = await collector.poll(device)
    finally:
        await collector.close()
    assert first.ok and second.ok and first.samples
    assert first.neighbours is None and second.neighbours is None  # no feed, rather than "nobody there"
    assert sum("neighbour tables unreadable" in r.getMessage() for r in caplog.records) == 1
