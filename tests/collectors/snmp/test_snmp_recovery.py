"""An SNMP agent that goes away and comes back (net-snmp's snmpd stopped and started again on the same port, with
its persistent state, as a device does across a power cut): the first poll after it is back succeeds, over v2c
(our own codec) and v3 (pysnmp, whose cached engine boots/time are stale after the agent's restart)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import SNMPD_CONF, free_udp_port, require_tool

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.model import Device, Owner, Role, Secret, SnmpAuth, SnmpSettings, SnmpV2cAuth, SnmpV3Auth, Source

COMMUNITY, USER, AUTH_KEY, PRIV_KEY = "netmon-recovery", "netmonv3", "auth-key-12345", "priv-key-67890"
ENGINE_ID, ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.1.0", "1.3.6.1.6.3.10.2.1.2.0"  # SNMP-FRAMEWORK-MIB


class Snmpd:
    """snmpd that can be stopped (the port then drops every request) and started again like a rebooted device:
    same port, same persistent state (same engine ID, engine boots one higher, engine time from zero), or with
    its state wiped (`start(reset=True)`: a new engine ID, as a replaced or factory-reset device)."""

    def __init__(self, work: Path) -> None:
        self.binary = require_tool("snmpd", "snmpd")
        self.snmpget = require_tool("snmpget", "snmp")
        self.work = work
        self.port = free_udp_port()
        # snmpd reads its configuration, then its persistent state (engine ID, boots), from SNMPCONFPATH only
        self.conf, self.state = work / "conf", work / "state"
        self.conf.mkdir()
        self.state.mkdir()
        (self.conf / "snmpd.conf").write_text(SNMPD_CONF.format(port=self.port, community=COMMUNITY, user=USER,
                                                                auth=AUTH_KEY, priv=PRIV_KEY))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, reset: bool = False) -> None:
        if reset:
            for path in self.state.iterdir():
                if path.is_file():
                    path.unlink()
        env = {**os.environ, "SNMPCONFPATH": f"{self.conf}:{self.state}"}
        self.proc = subprocess.Popen(
            [self.binary, "-f", "-Lf", str(self.work / "snmpd.log"), f"--persistentDir={self.state}",
             "-p", str(self.work / "snmpd.pid")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15  # start-up wait only; never part of an assertion
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.get(ENGINE_BOOTS) is not None:
                return
            time.sleep(0.1)
        log = (self.work / "snmpd.log").read_text() if (self.work / "snmpd.log").exists() else ""
        pytest.fail(f"snmpd did not start: {log[-500:]}")

    def get(self, oid: str) -> str | None:
        probe = subprocess.run([self.snmpget, "-v2c", "-c", COMMUNITY, "-t", "0.5", "-r", "0", "-Oqv",
                                f"127.0.0.1:{self.port}", oid], capture_output=True, text=True)
        return probe.stdout.strip() if probe.returncode == 0 else None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    agent = Snmpd(tmp_path)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


def device(port: int, auth: SnmpAuth) -> Device:
    return Device(id="agent", site="s", role=Role.ROUTER, address="127.0.0.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, snmp=SnmpSettings(auth=auth, port=port, timeout_s=0.3, retries=0))


V2C = SnmpV2cAuth(Secret(COMMUNITY))
V3 = SnmpV3Auth(USER, "sha256", Secret(AUTH_KEY), "aes128", Secret(PRIV_KEY))


@pytest.mark.parametrize("auth", [V2C, V3], ids=["v2c", "v3"])
async def test_first_poll_after_the_agent_is_back_succeeds(snmpd: Snmpd, auth: SnmpAuth) -> None:
    collector = SnmpCollector(load_profiles())
    dev = device(snmpd.port, auth)
    try:
        assert (await collector.poll(dev)).ok
        snmpd.stop()
        for _ in range(3):
            down = await collector.poll(dev)
            assert down.error is not None and down.error.reason == "timeout", down.error
        snmpd.start()
        assert snmpd.get(ENGINE_BOOTS) == "2"
        back = await collector.poll(dev)
        assert back.ok, back.error
    finally:
        await collector.close()


@pytest.mark.parametrize("auth", [V2C, V3], ids=["v2c", "v3"])
async def test_agent_restarted_between_polls_is_polled_at_once(snmpd: Snmpd, auth: SnmpAuth) -> None:
    """A power cut shorter than the interval: no poll failed, the agent's engine boots went up and its engine
    time started again from zero; the next poll still succeeds."""
    collector = SnmpCollector(load_profiles())
    dev = device(snmpd.port, auth)
    try:
        assert (await collector.poll(dev)).ok
        snmpd.stop()
        snmpd.start()
        assert snmpd.get(ENGINE_BOOTS) == "2"
        back = await collector.poll(dev)
        assert back.ok, back.error
    finally:
        await collector.close()


@pytest.mark.parametrize("polled_while_down", [True, False], ids=["polled-while-down", "back-before-next-poll"])
@pytest.mark.parametrize("auth", [V2C, V3], ids=["v2c", "v3"])
async def test_agent_with_a_new_engine_id_is_polled_at_once(snmpd: Snmpd, auth: SnmpAuth,
                                                            polled_while_down: bool) -> None:
    """The unit at the address was replaced or reset (a new SNMP engine ID, boots from 1): the first poll after
    it answers succeeds; SNMPv3 discovers the new engine instead of using the old one's keys and timeline."""
    collector = SnmpCollector(load_profiles())
    dev = device(snmpd.port, auth)
    try:
        assert (await collector.poll(dev)).ok
        old = snmpd.get(ENGINE_ID)
        snmpd.stop()
        if polled_while_down:
            assert (await collector.poll(dev)).error is not None
        snmpd.start(reset=True)
        assert snmpd.get(ENGINE_ID) != old
        back = await collector.poll(dev)
        assert back.ok, back.error
    finally:
        await collector.close()
