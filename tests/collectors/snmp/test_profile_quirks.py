"""Device quirks handled as profile data: the `subtract` and `when` metric keys (docs/profiles.md), the memory
of Linux agents without buffers and page cache, the airOS temperature scaled on some firmware, and the
uptime sources an agent without sysUpTime.0 falls back to. Values come from the corpus recordings; where
a case has no recording, the test says where its numbers come from."""

from __future__ import annotations

from pathlib import Path

import pytest
from snmp_corpus import read, select, varbinds

from collectors.snmp.profile import Profile, load_profiles
from collectors.snmp.varbind import SnmpValue
from netmon.errors import ConfigError
from netmon.model import Sample

MEMORY = "netmon_device_memory_used_ratio"
TEMPERATURE = "netmon_device_temperature_celsius"
UPTIME = "netmon_device_uptime_seconds"
UCD_MEMORY = "1.3.6.1.4.1.2021.4."  # UCD-SNMP-MIB::memory
MEM_TOTAL, MEM_AVAIL, MEM_BUFFER, MEM_CACHED = (f"{UCD_MEMORY}{n}.0" for n in (5, 6, 14, 15))
HR_USED, HR_SIZE = "1.3.6.1.2.1.25.2.3.1.6", "1.3.6.1.2.1.25.2.3.1.5"
SYS_UPTIME, HR_SYSTEM_UPTIME, ENGINE_TIME = "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.25.1.1.0", "1.3.6.1.6.3.10.2.1.3.0"
AIRMAX_TEMPERATURE = "1.3.6.1.4.1.41112.1.4.8.4.0"
DOT11_VERSION = "1.2.840.10036.3.1.2.1.4"


def run(profile: Profile, agent: dict[str, SnmpValue]) -> list[Sample]:
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    return profile.samples(read(agent, profile.poll_plan(discovery)), discovery)


def value(samples: list[Sample], metric: str) -> float | None:
    found = [s.value for s in samples if s.metric == metric and not s.labels]
    assert len(found) <= 1
    return found[0] if found else None


def number(agent: dict[str, SnmpValue], oid: str) -> float:
    raw = agent[oid]
    assert isinstance(raw, int)
    return float(raw)


def without(agent: dict[str, SnmpValue], *prefixes: str) -> dict[str, SnmpValue]:
    """The recording as an agent answers whose view excludes these subtrees (noSuchObject)."""
    def hidden(oid: str) -> bool:
        return any(oid == p or oid.startswith(p if p.endswith(".") else p + ".") for p in prefixes)

    return {k: v for k, v in agent.items() if not hidden(k)}


# --- memory: used without buffers and page cache ------------------------------------------------------------

@pytest.mark.parametrize("name", ["beagleboard", "airos-af-ltu"])
def test_linux_memory_leaves_out_buffers_and_page_cache(name: str) -> None:
    agent = varbinds(name)
    total = number(agent, MEM_TOTAL)
    free, buffers, cached = (number(agent, o) for o in (MEM_AVAIL, MEM_BUFFER, MEM_CACHED))
    expected = (total - free - buffers - cached) / total
    assert value(run(select(load_profiles(), agent), agent), MEMORY) == pytest.approx(expected)
    # hrStorageRam alone ("Physical memory" used / size) counts buffers and cache as used: the old, wrong value.
    overstated = number(agent, f"{HR_USED}.1") / number(agent, f"{HR_SIZE}.1")
    assert overstated > expected + 0.1


@pytest.mark.parametrize("name", ["beagleboard", "airos-af-ltu"])
def test_linux_memory_without_ucd_mib_subtracts_the_hrstorage_buffer_and_cache_rows(name: str) -> None:
    agent = without(varbinds(name), UCD_MEMORY)
    used, buffers, cached = (number(agent, f"{HR_USED}.{i}") for i in (1, 6, 7))
    expected = (used - buffers - cached) / number(agent, f"{HR_SIZE}.1")
    assert value(run(select(load_profiles(), agent), agent), MEMORY) == pytest.approx(expected)


def test_memory_falls_back_to_the_plain_ram_row_when_nothing_else_answers() -> None:
    agent = without(varbinds("beagleboard"), UCD_MEMORY, f"{HR_USED}.6", f"{HR_USED}.7")
    expected = number(agent, f"{HR_USED}.1") / number(agent, f"{HR_SIZE}.1")
    assert value(run(select(load_profiles(), agent), agent), MEMORY) == pytest.approx(expected)


def test_routeros_main_memory_row_is_used_as_is() -> None:
    agent = varbinds("routeros_rb750gr3")  # "main memory", index 65536: no buffer/cache rows on RouterOS
    expected = number(agent, f"{HR_USED}.65536") / number(agent, f"{HR_SIZE}.65536")
    assert value(run(select(load_profiles(), agent), agent), MEMORY) == pytest.approx(expected)


# --- airOS 8.7.4 to 8.7.6: ubntHostTemperature x 10^7 ------------------------------------------------------

def airos_with(firmware: str | None, temperature: int | None) -> dict[str, SnmpValue]:
    """The airos recording (8.5.1, 66 degrees C) with the firmware and temperature of another unit."""
    agent = varbinds("airos")
    version_oid = next(k for k in agent if k.startswith(DOT11_VERSION + "."))
    if firmware is not None:  # the recording's string with only the version replaced
        raw = agent[version_oid]
        assert isinstance(raw, bytes)
        agent[version_oid] = raw.replace(b".v8.5.1.", f".v{firmware}.".encode())
    if temperature is not None:
        agent[AIRMAX_TEMPERATURE] = temperature
    return agent


@pytest.mark.parametrize(
    ("firmware", "raw", "celsius"),
    [
        pytest.param(None, None, 66.0, id="recording-8.5.1"),
        # LibreNMS issue #13647: an airOS 8.7.5 unit at 30-40 degrees C graphed as "385.88 M°C".
        pytest.param("8.7.5", 385_880_000, 38.588, id="8.7.5-scaled"),
        pytest.param("8.7.4", 385_880_000, 38.588, id="8.7.4-scaled"),
        pytest.param("8.7.6", 385_880_000, 38.588, id="8.7.6-scaled"),
        pytest.param("8.7.3", None, 66.0, id="8.7.3-plain"),
        pytest.param("8.7.7", None, 66.0, id="8.7.7-plain"),
    ],
)
def test_airos_temperature_divisor_depends_on_firmware(firmware: str | None, raw: int | None,
                                                       celsius: float) -> None:
    agent = airos_with(firmware, raw)
    profile = select(load_profiles(), agent)
    assert profile.name == "airos"
    assert value(run(profile, agent), TEMPERATURE) == pytest.approx(celsius)


# --- uptime without sysUpTime.0 -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("hidden", "source", "scale"),
    [
        pytest.param((), SYS_UPTIME, 0.01, id="sysUpTime"),
        pytest.param((SYS_UPTIME,), HR_SYSTEM_UPTIME, 0.01, id="hrSystemUptime"),
        pytest.param((SYS_UPTIME, HR_SYSTEM_UPTIME), ENGINE_TIME, 1.0, id="snmpEngineTime"),
    ],
)
@pytest.mark.parametrize("name", ["linux_ntc", "beagleboard", "unifi"])
def test_uptime_falls_back_to_hrsystemuptime_then_snmpenginetime(name: str, hidden: tuple[str, ...],
                                                                 source: str, scale: float) -> None:
    agent = without(varbinds(name), *hidden)
    profile = select(load_profiles(), agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    plan = profile.poll_plan(discovery)
    assert [o for o in plan.get if o in (SYS_UPTIME, HR_SYSTEM_UPTIME, ENGINE_TIME)] == [source]
    samples = profile.samples(read(agent, plan), discovery)
    assert value(samples, UPTIME) == pytest.approx(number(agent, source) * scale)


def test_no_uptime_source_gives_no_uptime_sample() -> None:
    agent = without(varbinds("linux_ntc"), SYS_UPTIME, HR_SYSTEM_UPTIME, ENGINE_TIME)
    assert value(run(select(load_profiles(), agent), agent), UPTIME) is None


# --- the language: subtract and when -------------------------------------------------------------------------

def write(tmp_path: Path, metrics: str) -> Path:
    generic = Path(__file__).resolve().parents[3] / "collectors/snmp/profiles/generic.yaml"
    (tmp_path / "generic.yaml").write_text(generic.read_text())
    (tmp_path / "vendor.yaml").write_text("name: vendor\nextends: generic\nmatch:\n"
                                          "  - sys_object_id: [1.3.6.1.4.1.99999]\nmetrics:\n" + metrics)
    return tmp_path


SYSTEM: dict[str, SnmpValue] = {"1.3.6.1.2.1.1.1.0": b"Linux ap 4.14.0 mips", "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.99999",
                                "1.3.6.1.2.1.1.5.0": b"ap"}
DIFFERENCE = """\
  - id: free
    metric: netmon_x
    get: [1.3.6.1.4.1.99999.1.0]
    subtract: [1.3.6.1.4.1.99999.2.0, 1.3.6.1.4.1.99999.3.0]
    divide_by: [1.3.6.1.4.1.99999.1.0]
  - id: col
    metric: netmon_y
    table: interface
    walk: [1.3.6.1.4.1.99999.5]
    subtract: [1.3.6.1.4.1.99999.6]
"""


@pytest.mark.parametrize(
    ("scalars", "expected"),
    [
        pytest.param({1: 100, 2: 30, 3: 20}, 0.5, id="total-minus-parts-over-total"),
        pytest.param({1: 100, 2: 30}, None, id="a-part-absent-at-discovery-no-entry"),
        pytest.param({1: 100, 2: 80, 3: 30}, None, id="negative-result-skipped"),
        pytest.param({1: 100, 2: b"x", 3: 20}, None, id="garbage-part-skipped"),
    ],
)
def test_subtract_on_scalars(tmp_path: Path, scalars: dict[int, SnmpValue], expected: float | None) -> None:
    profile = load_profiles(write(tmp_path, DIFFERENCE)).get("vendor")
    agent = {**SYSTEM, **{f"1.3.6.1.4.1.99999.{k}.0": v for k, v in scalars.items()}}
    assert {s.metric: s.value for s in run(profile, agent)}.get("netmon_x") == expected


def test_subtract_on_columns_uses_the_same_row(tmp_path: Path) -> None:
    profile = load_profiles(write(tmp_path, DIFFERENCE)).get("vendor")
    agent = {**SYSTEM, "1.3.6.1.2.1.31.1.1.1.1.1": b"ath0", "1.3.6.1.2.1.31.1.1.1.1.2": b"ath1",
             "1.3.6.1.2.1.31.1.1.1.1.3": b"ath2",
             "1.3.6.1.4.1.99999.5.1": 50, "1.3.6.1.4.1.99999.6.1": 20,
             "1.3.6.1.4.1.99999.5.2": 50, "1.3.6.1.4.1.99999.6.3": 1}  # row 2 has no part: no sample
    assert {s.label_dict()["interface"]: s.value for s in run(profile, agent) if s.metric == "netmon_y"} == {
        "ath0": 30.0}


WHEN = """\
  - id: scaled
    metric: netmon_t
    when: {firmware: '^2\\.', model: '^AP'}
    get: [1.3.6.1.4.1.99999.4.0]
    scale: 0.1
  - id: plain
    metric: netmon_t
    get: [1.3.6.1.4.1.99999.4.0]
"""


@pytest.mark.parametrize(
    ("firmware", "model", "expected"),
    [
        pytest.param("2.1", "AP-1", 41.0, id="all-match-first-entry"),
        pytest.param("1.9", "AP-1", 410.0, id="firmware-differs-next-entry"),
        pytest.param("2.1", "XX", 410.0, id="model-differs-next-entry"),
        pytest.param(None, "AP-1", 410.0, id="unknown-firmware-never-matches"),
    ],
)
def test_when_selects_an_entry_by_identity(tmp_path: Path, firmware: str | None, model: str,
                                           expected: float) -> None:
    identity = "identity:\n  model: [{get: 1.3.6.1.4.1.99999.7.0}]\n  firmware: [{get: 1.3.6.1.4.1.99999.8.0}]\n"
    root = write(tmp_path, WHEN)
    vendor = root / "vendor.yaml"
    vendor.write_text(vendor.read_text().replace("metrics:\n", identity + "metrics:\n"))
    agent: dict[str, SnmpValue] = {**SYSTEM, "1.3.6.1.4.1.99999.4.0": 410, "1.3.6.1.4.1.99999.7.0": model.encode()}
    if firmware is not None:
        agent["1.3.6.1.4.1.99999.8.0"] = firmware.encode()
    samples = run(load_profiles(root).get("vendor"), agent)
    assert {s.metric: s.value for s in samples}["netmon_t"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("metrics", "line", "key", "message"),
    [
        pytest.param("  - id: x\n    metric: m\n    get: [1.3.6]\n    when: {colour: red}\n", 9,
                     "metrics[0].when.colour", "unknown identity field", id="when-unknown-field"),
        pytest.param("  - id: x\n    metric: m\n    get: [1.3.6]\n    when: {firmware: '('}\n", 9,
                     "metrics[0].when.firmware", "bad regex", id="when-bad-regex"),
        pytest.param("  - id: x\n    metric: m\n    get: [1.3.6]\n    when: []\n", 9,
                     "metrics[0].when", "when needs a mapping", id="when-not-a-mapping"),
        pytest.param("  - id: x\n    metric: m\n    count: 1.3.6\n    subtract: [1.3.7]\n", 9,
                     "metrics[0].subtract", "subtract needs get or walk", id="subtract-with-count"),
        pytest.param("  - id: x\n    metric: m\n    get: [1.3.6]\n    subtract: [free]\n", 9,
                     "metrics[0].subtract", "not a numeric OID", id="subtract-bad-oid"),
    ],
)
def test_subtract_and_when_errors_name_file_line_and_key(tmp_path: Path, metrics: str, line: int, key: str,
                                                         message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_profiles(write(tmp_path, metrics))
    assert caught.value.file is not None and caught.value.file.endswith("vendor.yaml")
    assert caught.value.line == line
    assert caught.value.key == key


# --- vendor objects no corpus recording answers (rows made by hand after the MIBs, on the real stubs) ------

def test_cnpilot_identity_and_clients_from_cambium_mib_scalars() -> None:
    agent = {**varbinds("cnpilote"),  # the real detection stub: sysDescr and sysObjectID
             "1.3.6.1.4.1.17713.22.1.1.1.4.0": b"W8VE0123ABCD",  # cambiumAPSerialNum.0
             "1.3.6.1.4.1.17713.22.1.1.1.8.0": b"4.2.2-r5",  # cambiumAPSWVersion.0
             "1.3.6.1.4.1.17713.22.1.1.1.10.0": b"E500",  # cambiumAPHWType.0
             "1.3.6.1.4.1.17713.22.1.1.1.14.0": 12}  # cambiumAPTotalClients.0
    profile = select(load_profiles(), agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    assert (profile.name, discovery.identity.model, discovery.identity.firmware, discovery.identity.serial) == (
        "cambium_cnpilot", "E500", "4.2.2-r5", "W8VE0123ABCD")
    samples = profile.samples(read(agent, profile.poll_plan(discovery)), discovery)
    assert [(s.metric, s.value) for s in samples if s.metric == "netmon_wifi_clients"] == [
        ("netmon_wifi_clients", 12.0)]


def test_cnpilot_stub_alone_keeps_the_sysdescr_model() -> None:
    agent = varbinds("cnpilote")
    profile = select(load_profiles(), agent)
    assert profile.discover(read(agent, profile.discovery_plan())).identity.model == "cnPilot E500"


def test_ruijie_health_tables_cpu_mean_memory_ratio_hottest_sensor() -> None:
    base = "1.3.6.1.4.1.4881.1.1.10.2."
    agent = {**varbinds("ruijie"),
             f"{base}36.1.2.1.5.1": 12, f"{base}36.1.2.1.5.2": 30,  # ruijieNodeCPUTotal5min, two nodes
             f"{base}35.1.1.1.6.1": 1000, f"{base}35.1.1.1.7.1": 250,  # ruijieMemoryPoolSize / Used
             f"{base}1.1.44.1.5.1.1": 41, f"{base}1.1.44.1.5.1.2": 47}  # ruijieSystemMultipleTemperatureCurrent
    samples = run(select(load_profiles(), agent), agent)
    assert value(samples, "netmon_device_cpu_load_ratio") == pytest.approx(0.21)
    assert value(samples, MEMORY) == pytest.approx(0.25)
    assert value(samples, TEMPERATURE) == 47.0
