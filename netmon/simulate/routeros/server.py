"""The RouterOS API simulator: one asyncio TCP (or API-SSL) listener per simulated router.

```python
sim = RouterOsSimulator()
port = sim.add(SimRouter("kim-karangmangu-router", "7.16", "netmon", "secret"))  # binds 127.0.0.1 now
await sim.start(); ...; await sim.stop()
```

Fault modes (`SimRouter.fault`, changeable with `set_fault`; `netmon.simulate.fault`): `normal`; `hang`
or `silent` (accept and read, never answer); `drop` (log in normally, then close the connection halfway
through the first reply); `garbage` (answer any sentence with random bytes, then close). `stop_router`
closes the listener and the router's connections (the port refuses connections) until `start_router`
listens on the same port again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from netmon.simulate.fault import FAULTS, parse_fault
from netmon.simulate.routeros.data import RouterData
from netmon.simulate.routeros.session import Session
from netmon.simulate.routeros.spec import DhcpSpec, HotspotSpec, InterfaceSpec, RadioSpec, RouterSpec
from netmon.simulate.routeros.tls import anonymous_context, server_context, write_certificates
from netmon.simulate.routeros.wire import SentenceDecoder, WireError, encode_sentence


@dataclass(slots=True)
class SimRouter:
    """One simulated router. `port` 0 asks for a free port; `RouterOsSimulator.add` writes the bound one.

    `data` describes the router (model, interfaces, radios, hotspot, DHCP); None gives a hAP ac^2 with ten
    interfaces. `version` wins over `data.version`. `seed` prefixes the seeds of moving values (default
    router_id). `tls` serves API-SSL (certificate from the simulator's CA; `tls_anonymous` for ADH mode).
    """

    router_id: str
    version: str
    user: str
    password: str
    data: RouterSpec | None = None
    port: int = 0
    tls: bool = False
    site_id: str | None = None
    fault: str = "normal"
    seed: str | None = None
    host: str = "127.0.0.1"
    tls_anonymous: bool = False

    def __repr__(self) -> str:  # the password stays out of logs
        return f"SimRouter({self.router_id!r}, {self.version}, {self.host}:{self.port}, tls={self.tls})"


def default_spec(router_id: str, version: str, *, wifi: bool = False) -> RouterSpec:
    """A hAP ac^2-like router with ten interfaces, two radios, a hotspot and DHCP (for tests, benchmarks)."""
    kind = "wifi" if wifi else "wlan"
    radio = ("wifi1", "wifi2") if wifi else ("wlan1", "wlan2")
    names = ("ether1", "ether2", "ether3", "ether4", "ether5", *radio, "bridge", "vlan10", "vlan20")
    types = ("ether",) * 5 + (kind, kind, "bridge", "vlan", "vlan")
    nics = tuple(InterfaceSpec(name=n, type=t, mac=f"02:4B:49:4D:00:{i:02X}", rx_rate=50_000 * (10 - i),
                               tx_rate=9_000 * (10 - i), rx_initial=10**9 * i, tx_initial=10**8 * i,
                               slave=1 < i < 8 and t != "bridge", running=n not in ("ether3", "ether4"))
                 for i, (n, t) in enumerate(zip(names, types, strict=True), start=1))
    band2, band5 = ("2ghz-ax", "5ghz-ax") if wifi else ("2ghz-b/g/n", "5ghz-a/n/ac")
    radios = (RadioSpec(radio[0], "KIM-Gratis", band2, 2437, peak_clients=20),
              RadioSpec(radio[1], "KIM-Gratis-5G", band5, 5180, "20/40/80mhz-Ceee", peak_clients=10))
    return RouterSpec(router_id=router_id, version=version, interfaces=nics, radios=radios,
                      packages=frozenset({"wifi" if wifi else "wireless", "hotspot", "dhcp"}),
                      hotspots=(HotspotSpec(),), dhcp_servers=(DhcpSpec(hotspot="hotspot1"),))


@dataclass
class _Listener:
    router: SimRouter
    data: RouterData
    sock: socket.socket | None = None
    server: asyncio.Server | None = None
    writers: set[asyncio.StreamWriter] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    logins: int = 0


class RouterOsSimulator:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._listeners: dict[str, _Listener] = {}
        self._running = False
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._tls: ssl.SSLContext | None = None
        self.tls_ca_file: Path | None = None

    # -- registry --------------------------------------------------------------------------------
    def add(self, router: SimRouter) -> int:
        if router.router_id in self._listeners:
            raise ValueError(f"duplicate router {router.router_id}")
        if router.fault not in FAULTS:
            raise ValueError(f"unknown fault {router.fault!r}")
        spec = router.data or default_spec(router.router_id, router.version)
        spec = replace(spec, version=router.version, router_id=router.seed or router.router_id)
        listener = _Listener(router, RouterData(spec, started_at=self._clock()))
        listener.sock = self._bind(router)
        router.port = listener.sock.getsockname()[1]
        if router.tls and not router.tls_anonymous:
            self._certificate_context()
        self._listeners[router.router_id] = listener
        if self._running:
            asyncio.get_running_loop().create_task(self._serve(listener))
        return router.port

    def set_fault(self, router_id: str, fault: str) -> None:
        """Switch `router_id` to `fault` (see `netmon.simulate.fault`); ValueError for an unknown mode,
        KeyError for an unknown router."""
        self._listeners[router_id].router.fault = parse_fault(fault).value

    def connections(self, router_id: str) -> int:
        """Logins accepted so far by this router (a persistent client logs in once)."""
        return self._listeners[router_id].logins

    def data(self, router_id: str) -> RouterData:
        """The router's menus (what its push script reads, netmon.simulate.routeros.push)."""
        return self._listeners[router_id].data

    def routers(self) -> list[SimRouter]:
        return [listener.router for listener in self._listeners.values()]

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._running = True
        for listener in self._listeners.values():
            await self._serve(listener)

    async def stop(self) -> None:
        self._running = False
        for router_id in list(self._listeners):
            await self.stop_router(router_id)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.tls_ca_file = None

    async def stop_router(self, router_id: str) -> None:
        listener = self._listeners[router_id]
        if listener.server is not None:
            listener.server.close()
        elif listener.sock is not None:
            listener.sock.close()
        listener.server = listener.sock = None
        for writer in list(listener.writers):
            writer.close()
        for task in list(listener.tasks):
            task.cancel()
        await asyncio.gather(*listener.tasks, return_exceptions=True)
        listener.writers.clear()
        listener.tasks.clear()

    async def start_router(self, router_id: str) -> None:
        listener = self._listeners[router_id]
        if listener.server is not None:
            return
        if listener.sock is None:
            listener.sock = self._bind(listener.router)
        await self._serve(listener)

    # -- internals -------------------------------------------------------------------------------
    @staticmethod
    def _bind(router: SimRouter) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in router.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((router.host, router.port))
        sock.listen(128)
        sock.setblocking(False)
        return sock

    def _certificate_context(self) -> ssl.SSLContext:
        if self._tls is None or self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="netmon-routeros-")
            ca, cert, key = write_certificates(Path(self._tmp.name))
            self._tls, self.tls_ca_file = server_context(cert, key), ca
        return self._tls

    async def _serve(self, listener: _Listener) -> None:
        if listener.server is not None or listener.sock is None:
            return
        router = listener.router
        context = None
        if router.tls:
            context = anonymous_context() if router.tls_anonymous else self._certificate_context()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._connection(listener, reader, writer)

        listener.server = await asyncio.start_server(handle, sock=listener.sock, ssl=context)

    async def _connection(self, listener: _Listener, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        router = listener.router
        listener.writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            listener.tasks.add(task)

        def logged_in() -> None:
            listener.logins += 1

        session = Session(listener.data, router.user, router.password, self._clock, on_login=logged_in)
        decoder = SentenceDecoder()
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if router.fault in ("hang", "silent"):
                    continue
                if router.fault == "garbage":
                    rng = random.Random(os.urandom(8))
                    writer.write(bytes([0xF8 + rng.randrange(8)]) + rng.randbytes(63))
                    await writer.drain()
                    break
                was_logged_in = session.logged_in
                out, close = self._answer(session, decoder, chunk)
                if router.fault == "drop" and was_logged_in and out:
                    writer.write(out[: max(1, len(out) // 2)])
                    await writer.drain()
                    break
                if out:
                    writer.write(out)
                    await writer.drain()
                if close:
                    break
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a cancelled handler ends quietly (stop/stop_router)
        finally:
            listener.writers.discard(writer)
            if task is not None:
                listener.tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    def _answer(session: Session, decoder: SentenceDecoder, chunk: bytes) -> tuple[bytes, bool]:
        try:
            sentences = decoder.feed(chunk)
        except WireError as exc:
            return encode_sentence(["!fatal", f"protocol error: {exc}"]), True
        out = bytearray()
        for sentence in sentences:
            replies, close = session.handle(sentence)
            for reply in replies:
                out += encode_sentence(reply)
            if close:
                return bytes(out), True
        return bytes(out), False


def load_demo_routers() -> list[SimRouter]:
    """The demo fleet (`netmon/demo/routeros.yaml`); also importable from `netmon.simulate.routeros`."""
    from netmon.simulate.routeros.fleet import load_demo_routers as load

    return load()


def run_forever(routers: list[SimRouter], *, on_started: Callable[[RouterOsSimulator], None] | None = None) -> None:
    """Serve `routers` until SIGINT/SIGTERM (blocking); see `netmon.simulate.routeros.fleet.run_forever`."""
    from netmon.simulate.routeros.fleet import run_forever as run

    run(routers, on_started=on_started)
