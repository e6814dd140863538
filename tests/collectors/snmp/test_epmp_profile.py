"""Cambium ePMP (`cambium_epmp`): the values LibreNMS derives from its epmp recording beyond what the common
agreement test compares (CPU, frequency, SNMP identity), on the pure path and through snmpsim.

The recording and LibreNMS's expectation are in tests/fixtures (see its README); the common checks (identity,
uptime, interface counters, wifi clients) run in test_corpus_agreement.py.
"""

from __future__ import annotations

import pytest
from snmp_corpus import expected, read, select, varbinds
from snmpsim_fixture import SnmpSim

from collectors.radio import band_of_mhz
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from collectors.snmp.varbind import SnmpValue
from netmon.model import Device, DeviceIdentity, Owner, Role, Sample, Secret, SnmpSettings, SnmpV2cAuth, Source

NAME = "epmp"
HW_INFO = "1.3.6.1.4.1.17713.21.1.1.2.0"  # CAMBIUM-PMP80211-MIB::cambiumHWInfo.0


def _by_metric(samples: list[Sample]) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for s in samples:
        out.setdefault(s.metric, {})[s.labels] = s.value
    return out


def _pure(agent: dict[str, SnmpValue]) -> tuple[DeviceIdentity, list[Sample]]:
    profile = select(load_profiles(), agent)
    assert profile.name == "cambium_epmp"
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    return discovery.identity, profile.samples(read(agent, profile.poll_plan(discovery)), discovery)


def check_librenms_values(samples: list[Sample]) -> None:
    data = expected(NAME)
    metrics = _by_metric(samples)
    (processor,) = data["processors"]["discovery"]["processors"]
    assert metrics["netmon_device_cpu_load_ratio"] == {(): pytest.approx(processor["processor_usage"] / 100)}
    sensors = {s["sensor_class"]: s for s in data["wireless"]["poller"]["wireless_sensors"]}
    mhz = sensors["frequency"]["sensor_current"]
    assert metrics["netmon_wifi_frequency_hertz"] == {(("interface", ""),): mhz * 1_000_000}
    assert band_of_mhz(mhz) == "5GHz"  # physically a 5 GHz channel, and the clients' band label says so
    assert [dict(k)["band"] for k in metrics["netmon_wifi_clients"]] == ["5GHz"]
    assert sum(metrics["netmon_wifi_clients"].values()) == sensors["clients"]["sensor_current"]
    # Not exported (no netmon metric for them): LibreNMS's snr sensor, DFS state and DFS count sensors.
    assert not any(m.startswith(("netmon_wifi_snr", "netmon_wifi_rssi")) for m in metrics)


def test_pure_path_reports_librenms_cpu_frequency_and_clients() -> None:
    identity, samples = _pure(varbinds(NAME))
    assert (identity.vendor, identity.firmware, identity.serial) == ("Cambium", "4.5.6", "E2NF3572D8XT")
    check_librenms_values(samples)


@pytest.mark.parametrize(
    ("sku", "model"),
    [  # cambiumHWInfo values as the MIB's DESCRIPTION (release 4.7.0) documents them (the recording lacks the object)
        pytest.param(10, "ePMP 2000", id="epmp-2000"),
        pytest.param(13, "5 GHz Force 190 Radio (ROW/ETSI)", id="force-190"),
        pytest.param(37, "ePMP3000 (FCC)", id="epmp-3000"),
        pytest.param(53288, "5 GHz ePMP4000 8x8 (FCC)", id="epmp-4000"),
        pytest.param(121, "ePMP Elevate RM5-XW-V2", id="elevate"),
        pytest.param(0, "5 GHz Connectorized Radio with Sync", id="sku-0-is-a-model-too"),
        pytest.param(-1, "", id="not-available"),
        pytest.param(7, "", id="undocumented-sku-gives-no-model"),
    ],
)
def test_model_is_the_mib_name_of_the_hardware_sku(sku: int, model: str) -> None:
    identity, _ = _pure({**varbinds(NAME), HW_INFO: sku})
    assert identity.model == model


def test_station_without_the_ap_only_client_count_exports_no_clients() -> None:
    # cambiumAPNumberOfConnectedSTA is "Device Allocation: AP": an SM does not have it. No 0 is invented.
    agent = {k: v for k, v in varbinds(NAME).items() if not k.startswith("1.3.6.1.4.1.17713.21.1.2.10.")}
    _, samples = _pure(agent)
    metrics = _by_metric(samples)
    assert "netmon_wifi_clients" not in metrics
    assert metrics["netmon_wifi_frequency_hertz"] == {(("interface", ""),): 5_210_000_000}


@pytest.mark.integration
async def test_collector_over_snmpsim_reports_librenms_cpu_frequency_and_clients(snmpsim: SnmpSim) -> None:
    collector = SnmpCollector(load_profiles())
    device = Device(id=NAME, site="s1", role=Role.AP, address=snmpsim.host, sources=(Source.SNMP,),
                    owner=Owner.PEMDA,
                    snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(NAME)), port=snmpsim.port, timeout_s=2, retries=1))
    try:
        result = await collector.poll(device)
    finally:
        await collector.close()
    assert result.error is None, result.error
    assert result.identity is not None
    assert result.identity.profile == "cambium_epmp"
    check_librenms_values(list(result.samples))
