"""Baselines of benchmarks/snmp_poll.py: the floor (the same PDUs sent with pysnmp alone, through its v3arch
command generator and through its v1arch message API; and through netmon's own v2c codec alone) and
net-snmp's CLI run as one process per request."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from pyasn1.codec.ber import decoder, encoder
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    UdpTransportTarget,
    UsmUserData,
    usmAesCfb128Protocol,
    usmHMAC192SHA256AuthProtocol,
)
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto.api import v2c

from benchmarks.snmp_agent import HOST, Agent
from collectors.snmp.message import decode_response, encode_request
from netmon.simulate.fleet import V3User

NETSNMP_FLAGS = ["-OQXUte", "-On"]  # LibreNMS NetSnmpQuery: DEFAULT_FLAGS + numeric()


# --- the floor ----------------------------------------------

class V3Floor:
    """The same PDUs through pysnmp's v3arch command generator (the engine netmon uses), no netmon code."""

    def __init__(self) -> None:
        self.engine = SnmpEngine()
        self.lcd = CommandGeneratorLcdConfigurator()
        self.targets: list[str] = []

    async def add(self, community_name: str, port: int) -> None:
        await self.add_auth(CommunityData(community_name, mpModel=1), port)

    async def add_v3(self, user: V3User, port: int) -> None:
        """An SNMPv3 authPriv target (SHA-256, AES-128), as netmon's transport configures one."""
        assert (user.auth_protocol, user.priv_protocol) == ("sha256", "aes128")
        await self.add_auth(UsmUserData(user.name, authKey=user.auth_key, privKey=user.priv_key,
                                        authProtocol=usmHMAC192SHA256AuthProtocol,
                                        privProtocol=usmAesCfb128Protocol), port)

    async def add_auth(self, auth: CommunityData | UsmUserData, port: int) -> None:
        target = await UdpTransportTarget.create((HOST, port), timeout=2.0, retries=1)
        addr_name, _ = self.lcd.configure(self.engine, auth, target, b"")
        self.targets.append(addr_name)

    async def request(self, target: str, kind: str, pairs: list[tuple[Any, Any]], repetitions: int) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(_e: Any, _h: Any, err_ind: Any, _s: Any, _i: Any, var_binds: Any, _c: Any) -> None:
            if not future.done():
                future.set_result((err_ind, var_binds))

        if kind == "get":
            cmdgen.GetCommandGenerator().send_varbinds(self.engine, target, None, b"", pairs, done)
        elif kind == "next":
            cmdgen.NextCommandGenerator().send_varbinds(self.engine, target, None, b"", pairs, done)
        else:
            cmdgen.BulkCommandGenerator().send_varbinds(self.engine, target, None, b"", 0, repetitions,
                                                        pairs, done)
        err_ind, var_binds = await future
        if err_ind:
            raise RuntimeError(f"floor request failed: {err_ind}")
        return var_binds

    async def poll(self, target: str, plan: list[tuple[str, list[tuple[Any, Any]], int]]) -> int:
        got = 0
        for kind, pairs, repetitions in plan:
            got += len(await self.request(target, kind, pairs, repetitions))
        return got

    def close(self) -> None:
        if self.engine.transport_dispatcher is not None:
            self.engine.transport_dispatcher.close_dispatcher()


class _SocketFloor(asyncio.DatagramProtocol):
    """The same PDUs over one plain UDP socket, matched by request-id; subclasses encode and decode."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def decode(self, data: bytes) -> tuple[int, list[Any]]:
        raise NotImplementedError

    def encode(self, request_id: int, community_name: str, kind: str, oids: list[Any], repetitions: int) -> bytes:
        raise NotImplementedError

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        request_id, varbinds = self.decode(data)
        future = self.pending.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(varbinds)

    async def request(self, community_name: str, port: int, kind: str, oids: list[Any], repetitions: int) -> Any:
        request_id, self.next_id = self.next_id, self.next_id + 1
        data = self.encode(request_id, community_name, kind, oids, repetitions)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        assert self.transport is not None
        self.transport.sendto(data, (HOST, port))
        return await asyncio.wait_for(future, 4.0)

    async def poll(self, community_name: str, port: int, plan: list[tuple[str, list[Any], int]]) -> int:
        got = 0
        for kind, oids, repetitions in plan:
            got += len(await self.request(community_name, port, kind, oids, repetitions))
        return got


class RawFloor(_SocketFloor):
    """The same PDUs built and parsed with pysnmp's v1arch message API (pyasn1) over one plain UDP socket."""

    PDU: ClassVar[dict[str, Any]] = {"get": v2c.GetRequestPDU, "next": v2c.GetNextRequestPDU,
                                     "bulk": v2c.GetBulkRequestPDU}

    def decode(self, data: bytes) -> tuple[int, list[Any]]:
        msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
        pdu = v2c.apiMessage.get_pdu(msg)
        return int(v2c.apiPDU.get_request_id(pdu)), list(v2c.apiPDU.get_varbinds(pdu))

    def encode(self, request_id: int, community_name: str, kind: str, oids: list[Any], repetitions: int) -> bytes:
        pdu = self.PDU[kind]()
        api = v2c.apiBulkPDU if kind == "bulk" else v2c.apiPDU
        api.set_defaults(pdu)
        v2c.apiPDU.set_request_id(pdu, request_id)
        if kind == "bulk":
            v2c.apiBulkPDU.set_non_repeaters(pdu, 0)
            v2c.apiBulkPDU.set_max_repetitions(pdu, repetitions)
        v2c.apiPDU.set_varbinds(pdu, [(oid, v2c.null) for oid in oids])
        msg = v2c.Message()
        v2c.apiMessage.set_defaults(msg)
        v2c.apiMessage.set_community(msg, community_name)
        v2c.apiMessage.set_pdu(msg, pdu)
        return bytes(encoder.encode(msg))


class CodecFloor(_SocketFloor):
    """The same PDUs through netmon's own v2c codec (`collectors/snmp/message.py`) over one plain UDP socket:
    the floor of netmon's fast path, without the collector around it (OIDs as tuples)."""

    def decode(self, data: bytes) -> tuple[int, list[Any]]:
        response = decode_response(data)
        return response.request_id, response.varbinds

    def encode(self, request_id: int, community_name: str, kind: str, oids: list[Any], repetitions: int) -> bytes:
        return encode_request(request_id, community_name.encode(), kind, oids, repetitions)


# --- part (b): net-snmp, one process per request -------------------------------------------------------

@dataclass
class NetSnmpReport:
    variant: str
    polls: int
    processes_per_poll: int
    children_cpu_ms: float  # net-snmp processes, per device-poll
    parent_cpu_ms: float  # this process forking/reading, per device-poll
    varbinds_per_poll: int
    wall_ms: float
    command: str


def netsnmp_v3_args(user: V3User) -> list[str]:
    """net-snmp's options for `user` (authPriv SHA-256 + AES-128, as the benchmark's v3 agent has it)."""
    assert (user.auth_protocol, user.priv_protocol) == ("sha256", "aes128")
    assert user.auth_key is not None and user.priv_key is not None
    return ["-v3", "-l", "authPriv", "-u", user.name, "-a", "SHA-256", "-A", user.auth_key, "-x", "AES",
            "-X", user.priv_key]


def netsnmp_commands(port: int, community_name: str, get: Sequence[str], walk: Sequence[str],
                     extra: Sequence[str], v3: V3User | None = None) -> list[list[str]]:
    version = netsnmp_v3_args(v3) if v3 is not None else ["-v2c", "-c", community_name]
    common = [*version, *NETSNMP_FLAGS, *extra, "-t", "2", "-r", "1", f"udp:{HOST}:{port}"]
    commands = [["snmpget", *common, *get]] if get else []
    commands += [["snmpbulkwalk", *common, column] for column in walk]
    return commands


def bench_netsnmp(agent: Agent, community_name: str, get: Sequence[str], walk: Sequence[str],
                  polls: int, v3: V3User | None = None) -> list[NetSnmpReport]:
    """CPU of net-snmp's processes per device-poll: one snmpget for the scalars, one snmpbulkwalk per column
    (SNMPv3 authPriv as `v3` against the v3 agent when given: each process then discovers the engine and
    hashes both passwords, as a poller running net-snmp's commands does)."""
    if shutil.which("snmpget") is None or shutil.which("snmpbulkwalk") is None:
        return []
    variants = {"net-snmp (LibreNMS flags)": [], "net-snmp, no MIBs loaded": ["-m", "", "-M", os.devnull]}
    if v3 is not None:
        variants = {f"net-snmp v3 authPriv{name[8:]}": extra for name, extra in variants.items()}
    reports = []
    for variant, extra in variants.items():
        commands = netsnmp_commands(agent.v3_port if v3 else agent.port, community_name, get, walk, extra, v3)
        lines = 0
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(polls):
            lines = 0
            for command in commands:
                done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
                if done.returncode != 0:
                    raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()}")
                lines += sum(1 for line in done.stdout.splitlines() if " = " in line)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        shown = " ".join(commands[-1]).replace(community_name, "COMMUNITY")
        if v3 is not None and v3.auth_key and v3.priv_key:
            shown = shown.replace(v3.auth_key, "AUTH-KEY").replace(v3.priv_key, "PRIV-KEY")
        reports.append(NetSnmpReport(variant, polls, len(commands), child / polls * 1000,
                                     (time.process_time() - cpu0) / polls * 1000, lines,
                                     (time.perf_counter() - wall0) / polls * 1000, shown))
    return reports
