"""Uptime and reboot detection with each uptime source, against net-snmp's snmpd (a real agent).

One snmpd serves three communities whose views hide what some agents do not have: `full` answers
sysUpTime.0; `no-sysuptime` hides it (so hrSystemUptime.0 is used); `engine-only` also hides
hrSystemUptime.0 (so snmpEngineTime.0 is used). Each is polled by the real `SnmpCollector` with an injected
clock and its results go through `netmon.state`'s `AvailabilityTracker`: a reading whose uptime is smaller
than the time since the previous reading is a reboot, one that kept counting is not.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from peers import free_udp_port, require, require_tool

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.model import (
    Device,
    Owner,
    PollResult,
    Reboot,
    Role,
    Secret,
    SnmpSettings,
    SnmpV2cAuth,
    Source,
    StatePolicy,
)
from netmon.state.availability import AvailabilityTracker

pytestmark = pytest.mark.integration

CONF = """\
agentAddress udp:127.0.0.1:{port}
view all included .1
view no-sysuptime included .1
view no-sysuptime excluded .1.3.6.1.2.1.1.3
view engine-only included .1
view engine-only excluded .1.3.6.1.2.1.1.3
view engine-only excluded .1.3.6.1.2.1.25.1.1
rocommunity full 127.0.0.1 -V all
rocommunity no-sysuptime 127.0.0.1 -V no-sysuptime
rocommunity engine-only 127.0.0.1 -V engine-only
sysName uptime-sources
"""
UPTIME = "netmon_device_uptime_seconds"
T0 = 1_750_000_000.0  # injected wall clock of the first poll
TEN_DAYS = 10 * 86400.0


@dataclass(frozen=True)
class Agent:
    port: int


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    snmpd = require_tool("snmpd", "snmpd")
    snmpget = require_tool("snmpget", "snmp")
    work: Path = tmp_path_factory.mktemp("snmpd-uptime")
    port = free_udp_port()
    (work / "snmpd.conf").write_text(CONF.format(port=port))
    proc = subprocess.Popen([snmpd, "-f", "-C", "-c", str(work / "snmpd.conf"), "-Lf", str(work / "log"),
                             f"--persistentDir={work}", "-p", str(work / "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None and not ready:
            ready = subprocess.run([snmpget, "-v2c", "-c", "full", "-t", "0.5", "-r", "0", f"127.0.0.1:{port}",
                                    "1.3.6.1.2.1.1.5.0"], capture_output=True).returncode == 0
        log = (work / "log").read_text() if (work / "log").exists() else ""
        require(ready, f"snmpd did not start: {log[-500:]}")
        yield Agent(port)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def device(community: str, port: int) -> Device:
    return Device(id=f"ap-{community}", site="s1", role=Role.AP, address="127.0.0.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(community)), port=port,
                                                        timeout_s=2, retries=1))


async def poll_at(collector: SnmpCollector, dev: Device, at: list[float]) -> PollResult:
    result = await collector.poll(dev)
    assert result.error is None, result.error
    assert result.started_at == at[0]
    return result


def uptime_of(result: PollResult) -> float:
    values = [s.value for s in result.samples if s.metric == UPTIME]
    assert len(values) == 1
    return values[0]


def host_uptime_s() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


@pytest.mark.parametrize("community", ["full", "no-sysuptime", "engine-only"])
async def test_reboot_detected_with_each_uptime_source(agent: Agent, community: str) -> None:
    dev = device(community, agent.port)
    now = [T0]
    collector = SnmpCollector(load_profiles(), clock=lambda: now[0])
    tracker = AvailabilityTracker({dev.id: dev}, StatePolicy(), started_at=T0)
    try:
        first = await poll_at(collector, dev, now)
        now[0] = T0 + 1.0  # one second later the agent has kept counting: no reboot
        second = await poll_at(collector, dev, now)
        now[0] = T0 + 1.0 + TEN_DAYS  # ten days later it says it started minutes ago: it rebooted
        third = await poll_at(collector, dev, now)
    finally:
        await collector.close()

    uptime = uptime_of(first)
    if community == "no-sysuptime":  # hrSystemUptime: the host's uptime, not the agent's
        assert abs(uptime - host_uptime_s()) < 120
    else:  # sysUpTime (hundredths) or snmpEngineTime (whole seconds) of an agent started for this test
        assert 0 <= uptime < 600
    if community == "engine-only":
        assert all(uptime_of(r) == int(uptime_of(r)) for r in (first, second, third))
    assert [e for e in tracker.observe(first) if isinstance(e, Reboot)] == []
    assert [e for e in tracker.observe(second) if isinstance(e, Reboot)] == []
    reboots = [e for e in tracker.observe(third) if isinstance(e, Reboot)]
    assert reboots == [Reboot(dev.id, booted_at=now[0] - uptime_of(third), detected_at=now[0])]
