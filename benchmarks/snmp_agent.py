"""The agent side of benchmarks/snmp_poll.py: the "standard access point" recording and an SNMP agent in
its own process (netmon.simulate's fast v2c responder over one RecordStore, answering any community, plus a
black-hole port that reads and never answers), with request counters and its own CPU time."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol, cast

from benchmarks.child import ChildProcess
from netmon.simulate.fleet import DEMO_DIR, SimDevice, V3User
from netmon.simulate.snmp_agent import SnmpSimulator
from netmon.simulate.store import RecordStore
from netmon.simulate.v2c import NotHandled, V2cResponder

DEMO_AP = DEMO_DIR / "kim-karangmangu-ap.snmprec"
HOST = "127.0.0.1"
# the SNMPv3 user of the v3 agent (authPriv, SHA-256 + AES-128: what the example config recommends)
V3_USER = V3User("bench", "sha256", "bench-auth-key-0001", "aes128", "bench-priv-key-0001")
IF_COLUMNS = re.compile(r"^(1\.3\.6\.1\.2\.1\.2\.2\.1\.\d+|1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.\d+)\.(\d+)$")
WLAP_COLUMNS = re.compile(r"^(1\.3\.6\.1\.4\.1\.14988\.1\.1\.1\.3\.1\.\d+)\.(\d+)$")
NAME_COLUMNS = ("1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.31.1.1.1.1")  # ifDescr, ifName
EXTRA_NAMES = {1: "ether3", 2: "ether4", 3: "wlan3", 4: "wlan4", 5: "vlan10"}


# --- the standard access point -------------------------------------------------------------------------

def build_standard_ap(dest: Path) -> Path:
    """Our demo cAP ac (kim-karangmangu-ap: 5 interfaces, 2 wireless APs, health gauges) grown to 10
    interfaces and 4 wireless APs: every ifTable/ifXTable row i is copied to i+5 (new names), every
    mtxrWlApTable row to i+5 (a guest SSID). Counters keep their variations, so values move."""
    out: list[str] = []
    for line in DEMO_AP.read_text(encoding="utf-8").splitlines():
        if line.startswith("1.3.6.1.2.1.2.1.0|"):
            line = "1.3.6.1.2.1.2.1.0|2|10"  # ifNumber
        out.append(line)
        if line.startswith("#") or "|" not in line:
            continue
        oid, tag, value = line.split("|", 2)
        if match := IF_COLUMNS.match(oid):
            col, index = match.group(1), int(match.group(2))
            if col in NAME_COLUMNS:
                value = EXTRA_NAMES[index]
            elif col == "1.3.6.1.2.1.2.2.1.1":  # ifIndex
                value = str(index + 5)
            out.append(f"{col}.{index + 5}|{tag}|{value}")
        elif match := WLAP_COLUMNS.match(oid):
            col, index = match.group(1), int(match.group(2))
            if col.endswith(".4"):  # mtxrWlApSsid
                value += "-Guest"
            out.append(f"{col}.{index + 5}|{tag}|{value}")
    path = dest / "standard-ap.snmprec"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


# --- the agent process ---------------------------------------------------------------------------------

class _Agent(asyncio.DatagramProtocol):
    def __init__(self, responder: V2cResponder | None) -> None:
        self.responder = responder  # None: a black hole (reads, never answers)
        self.transport: asyncio.DatagramTransport | None = None
        self.received = 0
        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received += 1
        if self.responder is None or self.transport is None:
            return
        try:
            reply = self.responder.answer(data)
        except NotHandled:
            reply = None
        if reply is not None:
            self.transport.sendto(reply, addr)
            self.answered += 1


def serve_agent(data: str, max_s: float, conn: Connection) -> None:
    """Agent process entry point: answer v2c reads from `data` on one port (any community), swallow
    datagrams on a second one, answer SNMPv3 (user V3_USER, pysnmp's agent: netmon's simulator) on a third;
    report {"port", "blackhole", "v3_port"} then, on "stats"/"stop", its counters (v2c port only)."""
    asyncio.run(_serve_agent(Path(data), conn, max_s))


async def _serve_agent(data: Path, conn: Connection, max_s: float) -> None:
    loop = asyncio.get_running_loop()
    store = RecordStore.from_file(data)
    agent = _Agent(V2cResponder(lambda _community: store))
    hole = _Agent(None)
    endpoints = []
    for protocol in (agent, hole):
        transport, _ = await loop.create_datagram_endpoint(lambda p=protocol: p, local_addr=(HOST, 0))  # type: ignore[misc]
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        endpoints.append(transport)
    v3 = SnmpSimulator()
    v3_port = v3.add(SimDevice("bench-v3", data, community="bench-v3-no-v2c", v3_users=(V3_USER,)))
    await v3.start()
    conn.send({"port": endpoints[0].get_extra_info("sockname")[1],
               "blackhole": endpoints[1].get_extra_info("sockname")[1], "v3_port": v3_port})
    command = asyncio.Event()
    loop.add_reader(conn.fileno(), command.set)
    deadline = time.monotonic() + max_s
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(command.wait(), timeout=1.0)
            if not command.is_set():
                continue
            command.clear()
            while conn.poll():
                what = conn.recv()
                conn.send({"cpu_s": time.process_time(), "at": time.monotonic(), "received": agent.received,
                           "answered": agent.answered, "blackholed": hole.received})
                if what == "stop":
                    return
    finally:
        for transport in endpoints:
            transport.close()
        await v3.stop()


class AgentProcess(ChildProcess):
    """The agent in its own (spawned) process."""

    def __init__(self, data: Path, max_s: float) -> None:
        super().__init__(serve_agent, (str(data), max_s), "snmp-agent")
        ports = self.wait_ready()
        self.port: int = ports["port"]
        self.blackhole: int = ports["blackhole"]
        self.v3_port: int = ports["v3_port"]

    def stats(self) -> dict[str, float]:
        return dict(self.ask("stats"))

    def close(self) -> dict[str, float]:
        """Stop the agent; its final counters."""
        return dict(self.stop() or {})


class Agent(Protocol):
    """What `Window` and the baselines ask of an agent: its ports and its counters (`AgentProcess`, or net-snmp's
    snmpd in benchmarks/snmpd_agent.py)."""

    port: int
    v3_port: int

    def stats(self) -> dict[str, float]:
        """CPU seconds so far (`cpu_s`), requests `received` and `answered`, `blackholed`; `own_requests`: how many
        of those one `stats()` call itself adds (0 when not counted over SNMP)."""
        ...


@dataclass
class Window:
    """CPU of this process and of the agent over one measured stretch."""

    agent: Agent
    cpu0: float = 0.0
    wall0: float = 0.0
    agent0: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    agent_cpu_s: float = 0.0
    received: int = 0
    answered: int = 0
    blackholed: int = 0

    def __enter__(self) -> Window:
        self.agent0 = self.agent.stats()
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cpu_s = time.process_time() - self.cpu0
        self.wall_s = time.perf_counter() - self.wall0
        after = self.agent.stats()
        self.agent_cpu_s = after["cpu_s"] - self.agent0["cpu_s"]
        own = after.get("own_requests", 0)  # the counters read over SNMP count their own reading
        self.received = int(after["received"] - self.agent0["received"] - own)
        self.answered = int(after["answered"] - self.agent0["answered"] - own)
        self.blackholed = int(after["blackholed"] - self.agent0["blackholed"])
