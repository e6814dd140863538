"""A UDP relay in front of a real agent that counts the requests it passes on: who asks which device, seen from
the network (tests of which devices a poller polls, e.g. live device shares). Requests go to the agent from one
socket per client, so each reply finds its way back."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netmon.model import Device

Address = tuple[Any, ...]


class _Front(asyncio.DatagramProtocol):
    def __init__(self, relay: CountingRelay) -> None:
        self._relay = relay

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._relay.forward(data, addr)


class CountingRelay:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.requests = 0  # datagrams passed on to the agent
        self.port = 0
        self._front: asyncio.DatagramTransport | None = None
        self._backs: dict[Address, socket.socket] = {}

    async def start(self, host: str = "127.0.0.1") -> int:
        loop = asyncio.get_running_loop()
        self._front, _ = await loop.create_datagram_endpoint(lambda: _Front(self), local_addr=(host, 0))
        self.port = self._front.get_extra_info("sockname")[1]
        return self.port

    def forward(self, data: bytes, addr: Address) -> None:
        self.requests += 1
        back = self._backs.get(addr)
        if back is None:
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.setblocking(False)
            back.connect(self.target)
            asyncio.get_running_loop().add_reader(back.fileno(), self._reply, back, addr)
            self._backs[addr] = back
        with contextlib.suppress(OSError):
            back.send(data)

    def _reply(self, back: socket.socket, addr: Address) -> None:
        try:
            data = back.recv(65535)
        except OSError:  # e.g. refused: the agent is not there
            return
        if self._front is not None and not self._front.is_closing():
            self._front.sendto(data, addr)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for back in self._backs.values():
            loop.remove_reader(back.fileno())
            back.close()
        self._backs.clear()
        if self._front is not None:
            self._front.close()


DEMO_AP = Path(__file__).resolve().parents[1] / "netmon" / "demo" / "kim-karangmangu-ap.snmprec"


@contextlib.asynccontextmanager
async def relayed_agents(ids: Sequence[str], *, site: str, interval_s: float
                         ) -> AsyncIterator[tuple[list[Device], dict[str, CountingRelay]]]:
    """One simulated agent per id (the demo's access point recording), each behind a relay counting the
    requests it gets; the devices point at the relays."""
    from netmon.model import Device, Owner, Role, Secret, SnmpSettings, SnmpV2cAuth, Source
    from netmon.simulate.fleet import SimDevice
    from netmon.simulate.snmp_agent import SnmpSimulator

    sim = SnmpSimulator()
    devices: list[Device] = []
    relays: dict[str, CountingRelay] = {}
    for i, did in enumerate(ids):
        port = sim.add(SimDevice(did, DEMO_AP, community=f"kim-{i}"))
        relays[did] = relay = CountingRelay(("127.0.0.1", port))
        await relay.start()
        settings = SnmpSettings(auth=SnmpV2cAuth(Secret(f"kim-{i}")), port=relay.port, timeout_s=1.0, retries=1)
        devices.append(Device(id=did, site=site, role=Role.AP, address="127.0.0.1", sources=(Source.SNMP,),
                              owner=Owner.KIM, interval_s=interval_s, snmp=settings))
    await sim.start()
    try:
        yield devices, relays
    finally:
        for relay in relays.values():
            relay.close()
        await sim.stop()
