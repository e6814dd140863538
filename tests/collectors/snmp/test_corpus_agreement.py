"""Our SNMP profiles agree with LibreNMS on the corpus recordings that have a LibreNMS expectation.

Two paths, one pytest id per recording each:
- `test_collector_agrees_over_snmpsim`: the recording served by snmpsim over real UDP, polled by the real
  `SnmpCollector` (pysnmp transport, profile choice with probes, discovery, poll).
- `test_pure_path_agrees`: the same checks on the pure functions, with the plans emulated on the records.

Compared with LibreNMS (`os.discovery.devices[0]`, `ports.poller.ports[]`, `wireless` sensors of class
`clients`): sysName/sysDescr/sysObjectID, firmware (= LibreNMS version), serial, model (= LibreNMS hardware),
uptime, per-interface octet counters (LibreNMS takes them from ifHC* when present) and link state, and
wifi client counts per index and in total. Where our model legitimately differs, `IDENTITY_DIFFERS`
states the value we expect instead and why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from snmp_corpus import expected, read, select, varbinds, with_expected
from snmpsim_fixture import SnmpSim

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.model import (
    Device,
    DeviceIdentity,
    Owner,
    Role,
    Sample,
    Secret,
    SnmpSettings,
    SnmpV2cAuth,
    Source,
)

RECORDINGS = with_expected()

# Identity fields where we deliberately report something else than LibreNMS, per recording.
IDENTITY_DIFFERS: dict[str, dict[str, str]] = {
    # LibreNMS keeps afLTUFirmwareVersion raw (".v1.1.1-BETA2..."); we strip the ".v" as for airOS.
    "airos-af-ltu": {"firmware": "1.1.1-BETA2.00015.180314.0503"},
    # LibreNMS's dedicated 'beagleboard' OS reads the image name and board through its own detection; we
    # treat the board as generic net-snmp Linux: kernel release from sysDescr, no model source.
    "beagleboard": {"firmware": "4.19.94-ti-r48", "model": ""},
    # "Generic x86 64-bit" is LibreNMS's rendering of the kernel architecture, not a model.
    "linux_ntc": {"model": ""},
    # LibreNMS appends the radio's mode (AP/SM) to productTypeName; the mode is not part of the model.
    "pmp_450i": {"model": "PMP 450i"},
    # LibreNMS's template adds masterSlaveMode and hardwareVersion (role and board revision, not model).
    "ptp670": {"model": "PTP 670"},
    # LibreNMS has no hardware rule for Ruijie; ENTITY-MIB entPhysicalModelName.1 names the model.
    "ruijie": {"model": "RG-S6220-48XS4QXS"},
    # The LibreNMS expectation predates its Unifi::discoverOS; the recording's
    # dot11manufacturerProductName.6 is "UAP", which we report (LibreNMS: none).
    "unifi": {"model": "UAP"},
}

# Interface counters where LibreNMS's stored value cannot be derived from the recording, per recording.
PORT_DIFFERS: dict[str, dict[str, tuple[int, int, float]]] = {  # label -> (in, out, up)
    # Two interfaces are named "eth0" (ifIndex 2 and 7). For ifIndex 2 the recording has ifHCOutOctets = 540
    # and ifOperStatus = down(2); LibreNMS stored out 0 and "up", which the recording cannot produce (it
    # seems to mix up the duplicate names). We report what the agent says; ifIndex 7 becomes "eth0#7".
    "airos-af-ltu": {"eth0": (0, 540, 0.0)},
}

Key = tuple[str, str, str]  # (interface, ssid, band)

# Our wifi client series per recording, and which of them each LibreNMS `clients` sensor covers
# (by LibreNMS sensor_index: MikroTik/airOS = table index, PMP = 0, UniFi = SSID name or radio name).
CLIENTS: dict[str, dict[Key, float]] = {
    "routeros": {("wlan1", "WARKOP-KOPIBOSS-B", "2.4GHz"): 7, ("wlan2", "WARKOP-KOPIBOSS-A", "5GHz"): 0,
                 ("wlan3", "WARKOP-KOPIBOSS", ""): 0, ("wlan4", "WARKOP-KOPIBOSS", ""): 4},
    # No IF-MIB rows in this recording, so the interface name is unknown.
    "routeros_ltap-mini": {("", "MikroTik-XXXXXX", "2.4GHz"): 0},
    "airos": {("", "", "5GHz"): 22},  # ubntWlStatSsid was not recorded
    "pmp_450i": {("", "", ""): 34},
    # unifiVapName was not recorded; VAP 1 has an empty SSID (LibreNMS counts it only in the radio total).
    "unifi": {("", "", "2.4GHz"): 0, ("", "Main SSID", "2.4GHz"): 1, ("", "guest", "2.4GHz"): 3,
              ("", "Maintenance", "2.4GHz"): 0},
}
SENSOR_COVERS: dict[str, dict[str, dict[str, str]]] = {  # sensor_index -> label filter on our series
    "routeros": {"1": {"interface": "wlan1"}, "2": {"interface": "wlan2"}, "8": {"interface": "wlan3"},
                 "9": {"interface": "wlan4"}},
    "routeros_ltap-mini": {"2": {"ssid": "MikroTik-XXXXXX"}},
    "airos": {"1": {}},
    "pmp_450i": {"0": {}},
    "unifi": {"guest": {"ssid": "guest"}, "Main SSID": {"ssid": "Main SSID"},
              "Maintenance": {"ssid": "Maintenance"}, "ng": {"band": "2.4GHz"}},
}


def _values(samples: list[Sample], metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {s.labels: s.value for s in samples if s.metric == metric}


def check_agreement(name: str, identity: DeviceIdentity, samples: list[Sample]) -> None:
    data = expected(name)
    device = data["os"]["discovery"]["devices"][0]
    agent = varbinds(name)
    differs = IDENTITY_DIFFERS.get(name, {})

    assert identity.sys_name == device["sysName"]
    assert identity.sys_descr == device["sysDescr"]
    assert identity.sys_object_id == device["sysObjectID"].lstrip(".")
    for ours, theirs in (("firmware", "version"), ("serial", "serial"), ("model", "hardware")):
        assert getattr(identity, ours) == differs.get(ours, device[theirs] or ""), ours

    uptime = _values(samples, "netmon_device_uptime_seconds")
    if "1.3.6.1.2.1.1.3.0" in agent:
        assert uptime == {(): pytest.approx(int(agent["1.3.6.1.2.1.1.3.0"]) / 100)}
    else:
        assert uptime == {}

    ports: list[dict[str, Any]] = (data.get("ports", {}).get("poller") or {}).get("ports", [])
    rx = _values(samples, "netmon_interface_receive_bytes_total")
    tx = _values(samples, "netmon_interface_transmit_bytes_total")
    up = _values(samples, "netmon_interface_up")
    seen: set[str] = set()
    for port in sorted(ports, key=lambda p: int(p["ifIndex"])):
        label = port["ifName"] if port["ifName"] not in seen else f"{port['ifName']}#{port['ifIndex']}"
        seen.add(port["ifName"])
        key = (("interface", label),)
        want = (port["ifInOctets"], port["ifOutOctets"], 1.0 if port["ifOperStatus"] == "up" else 0.0)
        assert (rx.get(key), tx.get(key), up.get(key)) == PORT_DIFFERS.get(name, {}).get(label, want), label

    clients = {tuple(dict(k).get(n, "") for n in ("interface", "ssid", "band")): v
               for k, v in _values(samples, "netmon_wifi_clients").items()}
    assert clients == CLIENTS.get(name, {})
    sensors = [s for s in (data.get("wireless", {}).get("poller") or {}).get("wireless_sensors", [])
               if s["sensor_class"] == "clients"]
    covers = SENSOR_COVERS.get(name, {})
    assert sorted(str(s["sensor_index"]) for s in sensors) == sorted(covers)
    for sensor in sensors:
        wanted = covers[str(sensor["sensor_index"])]
        covered = sum(v for k, v in _values(samples, "netmon_wifi_clients").items()
                      if all(dict(k).get(n) == want for n, want in wanted.items()))
        assert covered == sensor["sensor_current"], sensor["sensor_descr"]
    if sensors:  # totals: the per-radio aggregates if LibreNMS has them, else the sum of all sensors
        aggregates = [s for s in sensors if len(json.loads(s["sensor_oids"])) > 1]
        total = sum(s["sensor_current"] for s in aggregates or sensors)
        assert sum(clients.values()) == total


@pytest.mark.parametrize("name", RECORDINGS)
def test_pure_path_agrees(name: str) -> None:
    agent = varbinds(name)
    profile = select(load_profiles(), agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    check_agreement(name, discovery.identity, profile.samples(read(agent, profile.poll_plan(discovery)),
                                                              discovery))




@pytest.mark.integration
@pytest.mark.parametrize("name", RECORDINGS)
async def test_collector_agrees_over_snmpsim(name: str, snmpsim: SnmpSim) -> None:
    collector = SnmpCollector(load_profiles())
    device = Device(id=name, site="s1", role=Role.OTHER, address=snmpsim.host, sources=(Source.SNMP,),
                    owner=Owner.PEMDA,
                    snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(name)), port=snmpsim.port, timeout_s=10,
                                      retries=1))
    try:
        result = await collector.poll(device)
    finally:
        await collector.close()
    assert result.error is None, result.error
    assert result.identity is not None
    check_agreement(name, result.identity, list(result.samples))
