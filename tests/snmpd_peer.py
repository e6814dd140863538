"""net-snmp's snmpd that can be stopped and started again, as a device across a power cut (tests/peers.py's
`snmpd_agent` is one agent for the whole session). Used by the recovery tests."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import SNMPD_CONF, free_udp_port, require_tool

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
def restartable_snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    agent = Snmpd(tmp_path)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()
