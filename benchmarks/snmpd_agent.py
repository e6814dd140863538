"""net-snmp's snmpd as an agent of benchmarks/snmp_poll.py: a C agent for the SNMPv3 rows (a `createUser`
SHA-256/AES-128 user, the same `V3_USER` as pysnmp's agent) and a v2c row (one community).

It serves the standard access point, not its host: every record of the recording becomes an `override` line
(net-snmp's fixed-value instances), and snmpd initialises only the modules the benchmark needs (`-I`: override,
the SNMPv2-MIB `snmp` counters, VACM and USM configuration), so no host MIB module answers beside them. Values
are the recording's at start-up and do not move (CPU per poll does not depend on them). Two deviations, because
`override` has no such types: Counter64 records are served as Counter32 (the value modulo 2^32; BER sizes within
a byte) and IpAddress records are left out (the poll reads none). netmon's profile detection (sysObjectID) then
picks the same `mikrotik` profile and the poll is the same request sequence as against the Python agent.

It runs as a normal process under `timeout`, so it stops by itself like the Python agent. Its CPU time comes from
the kernel (snmpd's process CPU clock), its request counters from its own SNMPv2-MIB
`snmp` group (snmpInPkts, snmpOutPkts), read with `snmpget` at the edges of a measured window: so `Window`
measures it exactly as it measures the Python agent.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

from benchmarks.snmp_agent import HOST, V3_USER
from netmon.simulate.store import Miss, RecordStore

COMMUNITY = "bench-snmpd"
IN_PKTS, OUT_PKTS = "1.3.6.1.2.1.11.1.0", "1.3.6.1.2.1.11.2.0"  # SNMPv2-MIB snmpInPkts, snmpOutPkts
CONF = """\
agentAddress udp:{host}:{port}
rocommunity {community} {host}
createUser {user} SHA-256 "{auth}" AES "{priv}"
rouser {user} priv
dontLogTCPWrappersConnects yes
"""
MODULES = "override,snmp_mib,vacm_conf,usmConf,usmUser,snmpv3mibs"  # snmpd -I: nothing of the host's own MIB
COUNTER32 = 1 << 32


def overrides(recording: Path) -> list[str]:
    """The recording's records as snmpd `override` lines, values as served at this moment."""
    store = RecordStore.from_file(recording)
    lines = []
    for record in store.records:
        served = store.get(record.oid)
        if isinstance(served, Miss) or served.value is None or record.tag not in _TYPES:
            continue
        value = served.value
        if record.tag == 4:
            raw = value if isinstance(value, bytes) else str(value).encode()
            text = "0x" + raw.hex() if raw else '""'
        elif record.tag == 6:
            text = "." + str(value).lstrip(".")
        else:
            text = str(int(value) % COUNTER32 if record.tag == 70 else int(value))
        lines.append(f"override .{record.oid_text.lstrip('.')} {_TYPES[record.tag]} {text}")
    return lines


_TYPES = {2: "integer", 4: "octet_str", 6: "object_id", 65: "counter", 66: "unsigned", 67: "timeticks",
          70: "counter"}


def available() -> bool:
    return all(shutil.which(tool) is not None for tool in ("snmpd", "snmpget", "timeout"))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _cpu_clock(pid: int) -> int | None:
    """The CPU-time clock of process `pid` (for `time.clock_gettime`), None where libc has none."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        clock = ctypes.c_int(0)
        if libc.clock_getcpuclockid(pid, ctypes.byref(clock)) == 0:
            return clock.value
    return None


class SnmpdProcess:
    """snmpd on a free loopback port serving `recording`, with community `COMMUNITY` and the SNMPv3 user
    `V3_USER` (authPriv)."""

    community = COMMUNITY
    user = V3_USER

    def __init__(self, recording: Path, work: Path, max_s: float) -> None:
        snmpd = shutil.which("snmpd")
        if snmpd is None or not available():
            raise RuntimeError("net-snmp's snmpd, snmpget and coreutils' timeout must be on PATH")
        user = self.user
        assert user.auth_key is not None and user.priv_key is not None
        self.port = self.v3_port = _free_udp_port()  # one port for both (bench_netsnmp asks for either)
        self.work = work
        conf = work / "snmpd.conf"
        conf.write_text(CONF.format(host=HOST, port=self.port, community=COMMUNITY, user=user.name,
                                    auth=user.auth_key, priv=user.priv_key)
                        + "\n".join(overrides(recording)) + "\n")
        conf.chmod(0o600)
        self._pid_file = work / "snmpd.pid"
        # -C: no other configuration file; -I: only MODULES; persistent state (engine ID, the localized user)
        # in `work`; MIBS: no MIB files parsed at start-up (snmpd needs none)
        self._proc = subprocess.Popen(
            ["timeout", f"{max_s:.0f}", snmpd, "-f", "-C", "-c", str(conf), "-I", MODULES,
             "-Lf", str(work / "snmpd.log"), f"--persistentDir={work}", "-p", str(self._pid_file)],
            env={**os.environ, "SNMPCONFPATH": str(work), "MIBS": ""},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._pid = 0
        self._clock: int | None = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self._proc.poll() is None:
            if self._pid_file.exists() and self._get(IN_PKTS) is not None:
                self._pid = int(self._pid_file.read_text().split()[0])
                self._clock = _cpu_clock(self._pid)
                return
            time.sleep(0.1)
        self.close()
        log = (work / "snmpd.log").read_text()[-500:] if (work / "snmpd.log").exists() else ""
        raise RuntimeError(f"snmpd did not start: {log}")

    def _get(self, oid: str) -> int | None:
        probe = subprocess.run(["snmpget", "-v2c", "-c", COMMUNITY, "-t", "1", "-r", "1", "-Oqv", "-m", "",
                                f"udp:{HOST}:{self.port}", oid], capture_output=True, text=True, check=False)
        return int(probe.stdout.split()[0]) if probe.returncode == 0 and probe.stdout.strip() else None

    def cpu_s(self) -> float:
        """snmpd's CPU time so far: its process CPU clock (ns; clock_getcpuclockid), else user + system time from
        /proc in clock ticks (10 ms: coarse for short windows)."""
        if self._clock is not None:
            with contextlib.suppress(OSError):
                return time.clock_gettime(self._clock)
        fields = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def stats(self) -> dict[str, float]:
        """As `AgentProcess.stats`: CPU so far and the requests received and answered (this read's own request
        and response included: `Window` subtracts one read from a difference, see `snmp_agent.Window`)."""
        received, answered = self._get(IN_PKTS), self._get(OUT_PKTS)
        if received is None or answered is None:
            raise RuntimeError("snmpd did not answer its counters")
        # the read of snmpInPkts counts itself, the read of snmpOutPkts the response to the first read: a
        # difference of two stats() over an idle stretch is then 2 in and 2 out
        return {"cpu_s": self.cpu_s(), "received": received, "answered": answered, "blackholed": 0,
                "own_requests": 2}

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
