"""Real protocol peers for the tests: net-snmp's snmpd, promtool, PostgreSQL databases, and UDP endpoints that
misbehave.

`require()` skips with a loud reason when a peer is missing on a user's machine, and fails under CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
# A deadline in a test only stops a hung test; it never asserts speed (that is for benchmarks/). Generous, so a
# machine under load (2 cores shared by many jobs) never reaches it before the condition it waits for.
HANG_GUARD_S = 180.0


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    message = f"REAL PEER MISSING: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true turns this skip into a failure)")
    pytest.skip(message)


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"`{name}` not found; install Debian package `{package}`")
    assert path is not None
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SnmpdAgent:
    port: int
    community: str
    v3_user: str
    v3_auth_key: str
    v3_priv_key: str


SNMPD_CONF = """\
agentAddress udp:127.0.0.1:{port}
rocommunity {community} 127.0.0.1
createUser {user} SHA-256 "{auth}" AES "{priv}"
rouser {user} priv
sysName netmon-test-agent
sysLocation test bench
sysContact nobody@example.invalid
"""


@pytest.fixture(scope="session")
def snmpd_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdAgent]:
    """net-snmp's snmpd on a free loopback port (v2c community + one SNMPv3 SHA-256/AES user)."""
    snmpd = require_tool("snmpd", "snmpd")
    snmpget = require_tool("snmpget", "snmp")
    work: Path = tmp_path_factory.mktemp("snmpd")
    agent = SnmpdAgent(free_udp_port(), "netmon-test-ro", "netmonv3", "auth-key-12345", "priv-key-67890")
    conf = work / "snmpd.conf"
    conf.write_text(SNMPD_CONF.format(port=agent.port, community=agent.community, user=agent.v3_user,
                                      auth=agent.v3_auth_key, priv=agent.v3_priv_key))
    proc = subprocess.Popen(
        [snmpd, "-f", "-C", "-c", str(conf), "-Lf", str(work / "snmpd.log"), f"--persistentDir={work}",
         "-p", str(work / "snmpd.pid")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [snmpget, "-v2c", "-c", agent.community, "-t", "0.5", "-r", "0",
                 f"127.0.0.1:{agent.port}", "1.3.6.1.2.1.1.5.0"], capture_output=True, text=True)
            if probe.returncode == 0:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        else:
            probe = None  # type: ignore[assignment]
        log = (work / "snmpd.log").read_text() if (work / "snmpd.log").exists() else ""
        require(probe is not None and probe.returncode == 0, f"snmpd did not start: {log[-500:]}")
        yield agent
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.received = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        if self.answer is not None and self.transport is not None:
            self.transport.sendto(self.answer, addr)


async def udp_endpoint(answer: bytes | None) -> tuple[int, _Endpoint]:
    """A UDP port on loopback that swallows requests (answer=None: black hole) or answers `answer`."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Endpoint(answer),
                                                              local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    return int(port), protocol


def promtool_check(text: bytes) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool", "prometheus")
    return subprocess.run([promtool, "check", "metrics"], input=text.decode(), capture_output=True,
                          text=True, timeout=30)


REPO = Path(__file__).resolve().parents[1]
NETMON = [sys.executable, "-m", "netmon.cli"]


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any], wait_s: float = 15) -> None:
    """SIGTERM, and SIGKILL if it is still there after `wait_s` (a test's own peers and daemons)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def fetch(url: str) -> tuple[int, str]:
    """GET over HTTP: (status, body); (0, "") when nothing answers."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


@contextlib.contextmanager
def simulated_demo(work: Path, *, interval_s: float = 5,
                   extra: Callable[[dict[str, Any]], None] | None = None,
                   wrap: Sequence[str] = ()) -> Iterator[tuple[Path, Any]]:
    """`netmon simulate demo --write-config` in a subprocess that takes `stop ID`/`start ID` on stdin,
    with the written config tuned for tests (short interval and tolerances, a database in `work`).
    `wrap` is put before the command (`ip netns exec NS`: the devices in a network namespace).
    Yields (config path, simulator process)."""
    import yaml

    config = work / "demo.yaml"
    sim = subprocess.Popen([*wrap, *NETMON, "simulate", "demo", "--write-config", str(config)], cwd=REPO,
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while not config.exists() and sim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert config.exists(), "the simulator wrote no config"  # written whole (renamed into place)
        doc = yaml.safe_load(config.read_text())
        doc["defaults"]["interval_s"] = interval_s
        # a simulator starved for a second by a loaded machine is not a device going down
        doc["defaults"]["snmp"] = {**doc["defaults"].get("snmp", {}), "timeout_s": 2.0, "retries": 1}
        doc["scheduler"]["jitter_s"] = 0.2
        doc["state"] = {"down_after_failures": 2, "down_after_s": 12, "up_after_successes": 1}
        doc["storage"] = {"data_dir": str(work / "data")}
        if extra is not None:
            extra(doc)
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        yield config, sim
    finally:
        if sim.stdin is not None:
            sim.stdin.close()  # end of the control input: the thread reading it ends, so the process can exit
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()


def command(sim: Any, line: str) -> None:
    """Send a control line (`stop ID`, `start ID`, `fault ID MODE`) to a `simulated_demo` simulator."""
    sim.stdin.write(line + "\n")
    sim.stdin.flush()


PG_HOST = os.environ.get("NETMON_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NETMON_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("NETMON_TEST_PG_USER", "postgres")


def pg_admin() -> Any:
    """A connection to the PostgreSQL server's `postgres` database (autocommit), for creating and dropping."""
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
                           connect_timeout=3)


@contextlib.contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database on the server at PG_HOST:PG_PORT (127.0.0.1:5432 by default, user postgres),
    dropped afterwards. Yields (its name, its SQLAlchemy URL). No server: a loud skip, a failure under CI."""
    import secrets

    try:
        admin = pg_admin()
    except Exception as exc:
        require(False, f"PostgreSQL not reachable at {PG_USER}@{PG_HOST}:{PG_PORT}: {exc}")
        raise
    dbname = f"netmon_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield dbname, f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"
    finally:
        with pg_admin() as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
