"""An SNMP agent simulating many devices on asyncio: the one module of `netmon.simulate` importing pysnmp.

One pysnmp `SnmpEngine` (building one costs ~0.7 s, so devices share it) with one UDP socket per endpoint
on 127.0.0.1. An endpoint is either one `SimDevice` (its own port, community and v3 users) or a directory
of `.snmprec` files on one port (community or v3 context name = file stem, as snmpsim does). pysnmp's
Get/Next/BulkCommandResponder run the protocol (v1, v2c, v3 USM); `_Instrum` stands in for pysnmp's MIB
instrumentation and answers from a `RecordStore`, choosing it by the port the request came in on.

Requests not meant for an endpoint (a community or v3 user of another device) are dropped, as a real
agent drops a wrong community. v3 users live in the shared engine: a user name has one set of keys
across the simulator. All devices share one snmpEngineID.

Faults, per device: "silent" reads and drops every request; "garbage" answers with random bytes.
`stop_device` closes the device's socket (timeouts, port refused), `start_device` rebinds the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.error import PySnmpError
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.rfc1902 import OctetString

from netmon.errors import ConfigError
from netmon.simulate.fault import parse_fault
from netmon.simulate.fleet import FAULTS, SimDevice, V3User, load_demo_fleet
from netmon.simulate.store import Miss, RecordStore, Served
from netmon.simulate.v2c import NotHandled, V2cResponder

log = logging.getLogger(__name__)

_AUTH = {"none": config.USM_AUTH_NONE, "sha": config.USM_AUTH_HMAC96_SHA,
         "sha256": config.USM_AUTH_HMAC192_SHA256}
_PRIV = {"none": config.USM_PRIV_NONE, "aes128": config.USM_PRIV_CFB128_AES,
         "aes256": config.USM_PRIV_CFB256_AES}
_TYPES: dict[int, Any] = {2: rfc1902.Integer32, 4: rfc1902.OctetString, 6: rfc1902.ObjectIdentifier,
                          64: rfc1902.IpAddress, 65: rfc1902.Counter32, 66: rfc1902.Gauge32,
                          67: rfc1902.TimeTicks, 68: rfc1902.Opaque, 70: rfc1902.Counter64}
_MISS = {Miss.NO_SUCH_OBJECT: rfc1905.noSuchObject, Miss.NO_SUCH_INSTANCE: rfc1905.noSuchInstance,
         Miss.END_OF_MIB_VIEW: rfc1905.endOfMibView}
_REQUEST = "rfc3412.receiveMessage:request"


def to_pysnmp(tag: int, value: object) -> Any:
    """A recorded value as the pysnmp type of its BER tag; out-of-range integers wrap like a device's."""
    if tag == 5 or value is None:
        return rfc1902.Null("")
    if tag == 2 and isinstance(value, int):
        value = (value + 2**31) % 2**32 - 2**31
    elif tag in (65, 66, 67) and isinstance(value, int):
        value %= 2**32
    elif tag == 70 and isinstance(value, int):
        value %= 2**64
    return _TYPES[tag](value)


class _Endpoint(udp.UdpAsyncioTransport):
    """One UDP socket: pysnmp's transport plus faults and the stores it serves."""

    def __init__(self, key: str, sock: socket.socket, stores: dict[bytes, RecordStore],
                 communities: frozenset[str] | None, users: frozenset[str] | None) -> None:
        super().__init__()
        self.key = key
        self.sock: socket.socket | None = sock
        self.port: int = sock.getsockname()[1]
        self.host: str = sock.getsockname()[0]
        self.stores = stores  # community / context name -> store; b"" = the device itself
        self.communities = communities  # None: any community naming a store (data-dir mode)
        self.users = users  # v3 user names allowed; None: any configured user
        self.fault = "normal"
        self.dropped = False  # fault "drop": whether the last request went unanswered
        self.domain: tuple[int, ...] = ()
        self.v2c: V2cResponder | None = None
        self.registered = False  # with the engine's transport dispatcher
        self.down = False  # stopped by stop_device
        self.lost: asyncio.Future[None] | None = None  # resolves when asyncio has closed the socket

    def connection_made(self, transport: Any) -> None:
        self.lost = asyncio.get_running_loop().create_future()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)

    def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:
        if self.fault in ("silent", "hang"):
            return
        if self.fault == "drop":
            self.dropped = not self.dropped
            if self.dropped:
                return
        if self.fault == "garbage":
            if self.transport is not None:
                self.transport.sendto(os.urandom(17 + len(datagram) % 64), transportAddress)
            return
        if self.v2c is not None:
            try:
                reply = self.v2c.answer(datagram)
            except NotHandled:
                pass
            else:
                if reply is not None and self.transport is not None:
                    self.transport.sendto(reply, transportAddress)
                return
        super().datagram_received(datagram, transportAddress)

    def store_for_community(self, community: bytes) -> RecordStore | None:
        if self.communities is not None:
            return self.stores[b""] if community.decode("utf-8", "replace") in self.communities else None
        return self.stores.get(community) if community else None

    def select(self, security_model: int, security_name: bytes, context_name: bytes) -> RecordStore:
        """The store a request addresses, or PySnmpError: the responder then sends nothing."""
        if security_model in (1, 2):
            store = self.store_for_community(security_name)
            if store is not None:
                return store
        elif self.users is None or security_name.decode("utf-8", "replace") in self.users:
            store = self.stores.get(context_name)
            if store is not None:
                return store
        raise PySnmpError("request not for this endpoint")


class _Instrum:
    """pysnmp MIB instrumentation API (read_variables / read_next_variables) over the endpoints' stores."""

    def __init__(self, endpoints: dict[tuple[int, ...], _Endpoint]) -> None:
        self._endpoints = endpoints
        self._static: dict[tuple[int, tuple[int, ...]], Any] = {}  # (id(store), oid) -> pysnmp value

    def _store(self, snmp_engine: engine.SnmpEngine) -> tuple[RecordStore, bool]:
        ctx = snmp_engine.observer.get_execution_context(_REQUEST)
        endpoint = self._endpoints.get(tuple(ctx["transportDomain"]))
        if endpoint is None:
            raise PySnmpError("unknown transport")
        model = int(ctx["securityModel"])
        store = endpoint.select(model, bytes(OctetString(ctx["securityName"])), bytes(ctx["contextName"]))
        return store, model == 1

    def _value(self, store: RecordStore, served: Served) -> Any:
        if served.record.variation is not None:
            return to_pysnmp(served.tag, served.value)
        key = (id(store), served.oid)
        cached = self._static.get(key)
        if cached is None:
            cached = self._static[key] = to_pysnmp(served.tag, served.value)
        return cached

    def read_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        store, _ = self._store(context["snmpEngine"])
        now = store.clock()
        out = []
        for name, _value in var_binds:
            found = store.get(tuple(name), now)
            out.append((name, _MISS[found] if isinstance(found, Miss) else self._value(store, found)))
        return out

    def read_next_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        store, v1 = self._store(context["snmpEngine"])
        now = store.clock()
        out: list[tuple[Any, Any]] = []
        for name, _value in var_binds:
            oid = tuple(name)
            found = store.next(oid, now)
            while v1 and isinstance(found, Served) and found.tag == 70:  # RFC 2576 4.1.2.1: skip
                found = store.next(found.oid, now)
            if isinstance(found, Miss):
                out.append((name, _MISS[found]))
            else:
                out.append((rfc1902.ObjectName(found.oid), self._value(store, found)))
        return out


class _BulkResponder(cmdrsp.BulkCommandResponder):
    """GETBULK per RFC 3416 4.2.3, stopping after the first repetition that is all endOfMibView (as
    net-snmp does) and before the response outgrows a UDP datagram (instead of failing with tooBig)."""

    MAX_RESPONSE_BYTES = 60000

    def handle_management_operation(self, snmpEngine: Any, stateReference: Any, contextName: Any,
                                    PDU: Any) -> None:
        from pysnmp.proto.api import v2c

        var_binds = list(v2c.apiPDU.get_varbinds(PDU))
        n = min(max(int(v2c.apiBulkPDU.get_non_repeaters(PDU)), 0), len(var_binds))
        m = max(int(v2c.apiBulkPDU.get_max_repetitions(PDU)), 0)
        r = len(var_binds) - n
        read_next = self.snmpContext.get_mib_instrum(contextName).read_next_variables
        ctx = {"snmpEngine": snmpEngine, "acFun": self.verify_access, "cbCtx": self.cbCtx}
        response = read_next(*var_binds[:n], **ctx) if n else []
        size = sum(_size(vb) for vb in response)
        repeat = var_binds[n:]
        while m > 0 and r > 0:
            row = read_next(*repeat, **ctx)
            size += sum(_size(vb) for vb in row)
            if size > self.MAX_RESPONSE_BYTES and len(response) > n:
                break
            response.extend(row)
            if all(value is rfc1905.endOfMibView for _, value in row):
                break
            repeat = row
            m -= 1
        self.send_varbinds(snmpEngine, stateReference, 0, 0, response)
        self.release_state_information(stateReference)


def _size(var_bind: tuple[Any, Any]) -> int:
    name, value = var_bind
    encoded = value.asOctets() if isinstance(value, rfc1902.OctetString) else b""
    return len(name) * 2 + len(encoded) + 16


class SnmpSimulator:
    """Many simulated agents in one asyncio loop. `add`/`add_directory` bind at once and return the port
    (so they work before or after `start`); requests are answered once `start` has run."""

    def __init__(self, *, engine_id: bytes | None = None, fast_v2c: bool = True) -> None:
        """`fast_v2c=False` sends v2c through pysnmp too (slower; tests compare both paths)."""
        self._fast_v2c = fast_v2c
        eid = engine_id or b"\x80\x00\x4f\xb8\x05" + hashlib.blake2b(b"kim-netmon", digest_size=8).digest()
        self._engine = engine.SnmpEngine(snmpEngineID=OctetString(eid))
        self._endpoints: dict[tuple[int, ...], _Endpoint] = {}
        self._by_key: dict[str, _Endpoint] = {}
        self._communities: set[str] = set()
        self._users: dict[str, V3User] = {}
        self._instrum = _Instrum(self._endpoints)
        self._context = context.SnmpContext(self._engine)
        self._context.unregister_context_name(b"")
        self._context.register_context_name(b"", self._instrum)
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, _BulkResponder):
            responder(self._engine, self._context)
        self._started = False
        self._next_domain = 1
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def engine_id(self) -> bytes:
        return bytes(self._context.contextEngineId)

    def add(self, device: SimDevice) -> int:
        """Serve `device` (its data file is read now) and return the bound port, also written to
        `device.port`. Raises ConfigError for a duplicate id, a busy port or bad data."""
        if device.device_id in self._by_key:
            raise ConfigError(f"device {device.device_id} added twice")
        if device.fault not in FAULTS:
            raise ConfigError(f"unknown fault {device.fault!r}")
        store = RecordStore.from_file(device.data)
        for user in device.v3_users:
            self._add_user(user)
        self._add_community(device.community)
        users = frozenset(u.name for u in device.v3_users)
        endpoint = self._bind(device.device_id, device.host, device.port, {b"": store},
                              frozenset({device.community}), users)
        endpoint.fault = device.fault
        device.port = endpoint.port
        return endpoint.port

    def add_directory(self, directory: Path, *, host: str = "127.0.0.1", port: int = 0,
                      v3_users: Iterable[V3User] = ()) -> int:
        """Serve every `*.snmprec` under `directory` on one port: community / v3 context = file stem."""
        stores = {p.stem.encode(): RecordStore.from_file(p) for p in sorted(directory.glob("*.snmprec"))}
        if not stores:
            raise ConfigError("no .snmprec files", file=str(directory))
        for community in stores:
            self._add_community(community.decode())
        for user in v3_users:
            self._add_user(user)
        return self._bind(f"dir:{directory}", host, port, stores, None, None).port

    def port(self, device_id: str) -> int:
        return self._endpoint(device_id).port

    def store(self, device_id: str) -> RecordStore:
        """The device's records (tests move `clock`/`boot` through it)."""
        return self._endpoint(device_id).stores[b""]

    def reboot(self, device_id: str, at: float | None = None) -> None:
        """Simulate a reboot: uptime and counters restart from their recorded initial values."""
        self.store(device_id).reboot(at)

    def set_fault(self, device_id: str, fault: str) -> None:
        self._endpoint(device_id).fault = parse_fault(fault).value

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for endpoint in self._endpoints.values():
            if endpoint.sock is None and endpoint.transport is None and not endpoint.down:
                endpoint.sock = _bind_socket(endpoint.host, endpoint.port)  # start again after stop
            await self._open(endpoint)

    async def stop(self) -> None:
        lost = [e.lost for e in self._endpoints.values() if e.transport is not None and e.lost is not None]
        for endpoint in self._endpoints.values():
            self._close(endpoint)
            endpoint.registered = False
        if lost:
            await asyncio.wait_for(asyncio.gather(*lost), 5.0)
        if self._started and self._engine.transport_dispatcher is not None:
            self._engine.close_dispatcher()
        self._started = False

    async def stop_device(self, device_id: str) -> None:
        """Close the device's socket: requests get no answer until `start_device`."""
        endpoint = self._endpoint(device_id)
        endpoint.down = True
        lost = endpoint.lost if endpoint.transport is not None else None
        self._close(endpoint)
        if lost is not None:
            await asyncio.wait_for(lost, 5.0)

    async def start_device(self, device_id: str, *, reboot: bool = False) -> None:
        """Reopen the device's socket on the same port (`reboot=True` also restarts its uptime)."""
        endpoint = self._endpoint(device_id)
        endpoint.down = False
        if reboot:
            self.reboot(device_id)
        if endpoint.sock is None and endpoint.transport is None:
            endpoint.sock = _bind_socket(endpoint.host, endpoint.port)
        if self._started:
            await self._open(endpoint)

    def _endpoint(self, device_id: str) -> _Endpoint:
        try:
            return self._by_key[device_id]
        except KeyError:
            raise KeyError(f"no simulated device {device_id!r}") from None

    def _bind(self, key: str, host: str, port: int, stores: dict[bytes, RecordStore],
              communities: frozenset[str] | None, users: frozenset[str] | None) -> _Endpoint:
        endpoint = _Endpoint(key, _bind_socket(host, port), stores, communities, users)
        if self._fast_v2c:
            endpoint.v2c = V2cResponder(endpoint.store_for_community)
        endpoint.domain = (*udp.DOMAIN_NAME, self._next_domain)
        self._next_domain += 1
        self._endpoints[endpoint.domain] = endpoint
        self._by_key[key] = endpoint
        if self._started:
            task = asyncio.get_running_loop().create_task(self._open(endpoint))  # add() after start()
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return endpoint

    async def _open(self, endpoint: _Endpoint) -> None:
        if endpoint.transport is not None or endpoint.sock is None:
            return
        if not endpoint.registered:
            config.add_transport(self._engine, endpoint.domain, endpoint)
            endpoint.registered = True
        endpoint._writeQ.clear()
        sock, endpoint.sock = endpoint.sock, None
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: endpoint, sock=sock)

    @staticmethod
    def _close(endpoint: _Endpoint) -> None:
        if endpoint.transport is not None:
            endpoint.transport.close()
            endpoint.transport = None
        if endpoint.sock is not None:
            endpoint.sock.close()
            endpoint.sock = None

    def _add_community(self, community: str) -> None:
        if community not in self._communities:
            self._communities.add(community)
            config.add_v1_system(self._engine, f"c{len(self._communities)}", community,
                                 securityName=community)

    def _add_user(self, user: V3User) -> None:
        known = self._users.get(user.name)
        if known is not None:
            if known != user:
                raise ConfigError(f"v3 user {user.name} configured twice with different keys")
            return
        self._users[user.name] = user
        config.add_v3_user(self._engine, user.name, _AUTH[user.auth_protocol], user.auth_key,
                           _PRIV[user.priv_protocol], user.priv_key)


def _bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot bind UDP {host}:{port}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


def run_forever(devices: Iterable[SimDevice] | None = None, *, data_dir: Path | None = None,
                host: str = "127.0.0.1", port: int = 0,
                on_started: Callable[[SnmpSimulator], None] | None = None) -> None:
    """Blocking entry point for `netmon simulate snmp`: serve until interrupted (Ctrl-C).

    Serves `devices` (the demo fleet when neither `devices` nor `data_dir` is given), each on its own port
    written back to `device.port`, and/or every file of `data_dir` on `host:port`. `on_started(sim)` runs
    once all sockets are open."""
    if devices is None:
        devices = [] if data_dir is not None else load_demo_fleet()

    async def main() -> None:
        sim = SnmpSimulator()
        for device in devices:
            sim.add(device)
            log.info("simulating %s on udp %s:%d", device.device_id, device.host, device.port)
        if data_dir is not None:
            bound = sim.add_directory(data_dir, host=host, port=port)
            log.info("serving %s on udp %s:%d (community = file stem)", data_dir, host, bound)
        await sim.start()
        if on_started is not None:
            on_started(sim)
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
