"""Our SNMP profiles agree with LibreNMS on the corpus recordings that have a LibreNMS expectation.

Two paths, one pytest id per recording each:
- `test_collector_agrees_over_snmpsim`: the recording served by snmpsim over real UDP, polled by the real
  `SnmpCollector` (pysnmp transport, profile choice with probes, discovery, poll).
- `test_pure_path_agrees`: the same checks on the pure functions, with the plans emulated on the records.

Compared with LibreNMS, every metric kind netmon exports (`CHECKED`; a new kind fails the test until it is
compared here):
- identity (`os.discovery.devices[0]`): sysName/sysDescr/sysObjectID, firmware (= LibreNMS version), serial,
  model (= LibreNMS hardware);
- uptime: LibreNMS's Core module keeps max(sysUpTime, snmpEngineTime, hrSystemUptime), computed here from
  the recording;
- per-interface octet counters (LibreNMS takes them from ifHC* when present) and link state (`ports`);
- wifi client counts per index and in total (`wireless` sensors of class `clients`);
- CPU (`processors`: the mean of all processors), memory (`mempools`: the `system` pool, after LibreNMS's
  buffers/cache availability calculation), device temperature and supply voltage (`sensors` outside the
  transceiver and port groups), DHCP leases (`sensors` count mtxrDHCPLeaseCount);
- hotspot users: LibreNMS does not read the hotspot table; ours must equal its row count in the recording.
Where we deliberately differ (docs/profiles.md, "Where netmon departs from LibreNMS"), `IDENTITY_DIFFERS`,
`PORT_DIFFERS`, `HEALTH_DIFFERS` and `UPTIME_DIFFERS` state the value we expect instead and why.
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
    # LibreNMS's hardware for ePMP is the radio's mode ("ePTP Master" from wirelessInterfaceMode and
    # cambiumSubModeType), not a model; we read cambiumHWInfo, which this recording lacks (tests/fixtures).
    "epmp": {"model": ""},
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

UPTIME, CPU, MEMORY = "netmon_device_uptime_seconds", "netmon_device_cpu_load_ratio", "netmon_device_memory_used_ratio"
TEMPERATURE, VOLTAGE = "netmon_device_temperature_celsius", "netmon_device_voltage_volts"
DHCP, HOTSPOT, CLIENTS_METRIC = "netmon_dhcp_leases_active", "netmon_hotspot_active_users", "netmon_wifi_clients"
RX, TX, LINK = ("netmon_interface_receive_bytes_total", "netmon_interface_transmit_bytes_total",
                "netmon_interface_up")
FREQUENCY = "netmon_wifi_frequency_hertz"
CHECKED = {UPTIME, CPU, MEMORY, TEMPERATURE, VOLTAGE, DHCP, HOTSPOT, CLIENTS_METRIC, RX, TX, LINK, FREQUENCY}
SYS_UPTIME, HR_SYSTEM_UPTIME, ENGINE_TIME = "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.25.1.1.0", "1.3.6.1.6.3.10.2.1.3.0"
HOTSPOT_ROWS = "1.3.6.1.4.1.14988.1.1.5.1.1.2."  # MIKROTIK-MIB::mtxrHotspotActiveUserServerID

# Health values where we deliberately report something else than LibreNMS: recording -> metric -> our value
# (None: no sample). The numbers are the recording's own.
HEALTH_DIFFERS: dict[str, dict[str, float | None]] = {
    # RouterOS 6 without mtxrGaugeTable: LibreNMS reads the device temperature only from the gauge table (since
    # its PR #15289) and shows just the SFP's; we fall back to mtxrHlTemperature.0 (0.1 degrees C): 330.
    "routeros": {TEMPERATURE: 33.0},
    # Same on RouterOS 7.1.1 (hEX S): mtxrHlTemperature.0 = 350, no gauge table in the recording.
    "routeros_rb760igs": {TEMPERATURE: 35.0},
    # LibreNMS's 'beagleboard' OS reads five temperatures from a board-specific NET-SNMP-EXTEND script
    # (nsExtendOutLine "beagleboard"); netmon treats the board as generic Linux and reads no extend output.
    "beagleboard": {TEMPERATURE: None},
    # UniFi's Frogfoot memory: used = memTotal - memFree - memBuffer - memCache (the Linux rule everywhere);
    # LibreNMS: memTotal - memFree. Recording: 62384, 38688, 8, 0 (kB).
    "unifi": {MEMORY: (62384 - 38688 - 8 - 0) / 62384},
}

# Recordings where LibreNMS's uptime (the largest of the three sources) is not sysUpTime.0, which we keep:
# one source per device between discoveries, so reboot detection compares like with like. hrSystemUptime is
# the host's uptime, sysUpTime the agent's: they differ by however long the host ran before snmpd started.
UPTIME_DIFFERS = {"airos-af-ltu", "beagleboard", "linux_ntc", "unifi"}

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
    # cambiumAPNumberOfConnectedSTA (here the ePTP slave); band from cambiumSTAConnectedRFFrequency 5210 MHz,
    # cambiumEffectiveSSID was not recorded.
    "epmp": {("", "", "5GHz"): 1},
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
    "epmp": {"0": {}},
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

    check_uptime(name, agent, _values(samples, UPTIME))

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
    check_health(name, data, agent, samples)
    check_frequency(data, samples)
    assert {s.metric for s in samples} <= CHECKED, "a metric kind the agreement test does not compare"


def check_frequency(data: dict[str, Any], samples: list[Sample]) -> None:
    """Every channel frequency we export is one LibreNMS reads (its `frequency` sensors are MHz)."""
    theirs = sorted(float(s["sensor_current"]) * 1e6 for s in _rows(data, "wireless", "wireless_sensors")
                    if s["sensor_class"] == "frequency")
    ours = sorted(_values(samples, FREQUENCY).values())
    if ours:
        assert ours == theirs


def _rows(data: dict[str, Any], module: str, key: str) -> list[dict[str, Any]]:
    part = data.get(module, {})
    phase = part.get("poller") if isinstance(part.get("poller"), dict) else part.get("discovery")
    return list((phase or {}).get(key, []))


def _number(agent: dict[str, Any], oid: str) -> float | None:
    raw = agent.get(oid)
    return float(raw) if isinstance(raw, int) else None


def check_uptime(name: str, agent: dict[str, Any], uptime: dict[Any, float]) -> None:
    sys_uptime, hr_uptime, engine = (_number(agent, o) for o in (SYS_UPTIME, HR_SYSTEM_UPTIME, ENGINE_TIME))
    ours = sys_uptime / 100 if sys_uptime is not None else hr_uptime / 100 if hr_uptime is not None else engine
    assert uptime == ({(): pytest.approx(ours)} if ours is not None else {})
    librenms = max(round((sys_uptime or 0) / 100), engine or 0, round((hr_uptime or 0) / 100))
    if librenms and name not in UPTIME_DIFFERS:
        assert uptime[()] == pytest.approx(librenms, abs=1)
    else:
        assert name not in UPTIME_DIFFERS or abs(uptime[()] - librenms) > 1


def _librenms_health(data: dict[str, Any]) -> dict[str, float | None]:
    """What LibreNMS's expectation says for each of our health metrics (None: it has no such value)."""
    processors = [p["processor_usage"] for p in _rows(data, "processors", "processors")]
    system = [m for m in _rows(data, "mempools", "mempools") if m["mempool_class"] == "system"]
    device_sensors = [s for s in _rows(data, "sensors", "sensors") if s["group"] not in ("transceiver", "Ports")]
    temperatures = [s["sensor_current"] for s in device_sensors if s["sensor_class"] == "temperature"]
    voltages = [s["sensor_current"] for s in device_sensors if s["sensor_class"] == "voltage"]
    assert len(set(voltages)) <= 1  # RouterOS 7: mtxrHlVoltage and the gauge table's voltage agree
    leases = [s["sensor_current"] for s in device_sensors if s["sensor_index"].startswith("mtxrDHCPLeaseCount")]
    return {
        CPU: sum(processors) / len(processors) / 100 if processors else None,
        MEMORY: system[0]["mempool_used"] / system[0]["mempool_total"] if system else None,
        TEMPERATURE: max(temperatures) if temperatures else None,
        VOLTAGE: voltages[0] if voltages else None,
        DHCP: leases[0] if leases else None,
    }


def check_health(name: str, data: dict[str, Any], agent: dict[str, Any], samples: list[Sample]) -> None:
    expected = {**_librenms_health(data), **HEALTH_DIFFERS.get(name, {})}
    for metric, want in expected.items():
        got = {labels: v for labels, v in _values(samples, metric).items()}
        wanted = {} if want is None else {(("server", "all"),) if metric == DHCP else (): pytest.approx(want)}
        assert got == wanted, metric
    hotspot = _values(samples, HOTSPOT)
    if hotspot:  # LibreNMS has no hotspot sensor: the count is the recording's number of rows
        assert hotspot == {(("server", "all"),): sum(1 for oid in agent if oid.startswith(HOTSPOT_ROWS))}


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
