"""The simulated devices of benchmarks/daemon.py, in their own process: netmon.simulate's fast v2c responder
over the standard access point's RecordStore on one UDP port, one community per device.

Besides answering, it notes when each device's polls begin (the first request of a community after a quiet
gap of a third of the interval: a poll's later requests and its retries come sooner), and it can make devices
fail (drop their requests, as a device that lost power) and come back, on command. Times are wall clock
(`time.time()`), comparable with the daemon's rows and the benchmark's own instants.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

from benchmarks.child import ChildProcess
from netmon.simulate.store import RecordStore
from netmon.simulate.v2c import NotHandled, V2cResponder

HOST = "127.0.0.1"
REUSE_S = 1.0  # a request's varbinds are made once a second (V2cResponder): the devices cost less than the daemon


class _Devices(asyncio.DatagramProtocol):
    def __init__(self, store: RecordStore, gap_s: float) -> None:
        self.store = store
        self.gap_s = gap_s
        self.responder = V2cResponder(self._select, reuse_s=REUSE_S)
        self.transport: asyncio.DatagramTransport | None = None
        self.failing: set[bytes] = set()
        self.last: dict[bytes, float] = {}
        self.starts: defaultdict[bytes, list[float]] = defaultdict(list)
        self.received = self.answered = self.dropped = 0

    def _select(self, community: bytes) -> RecordStore | None:
        now = time.time()
        if now - self.last.get(community, 0.0) > self.gap_s:
            self.starts[community].append(now)
        self.last[community] = now
        return None if community in self.failing else self.store

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received += 1
        try:
            reply = self.responder.answer(data)
        except NotHandled:
            reply = None
        if reply is None:
            self.dropped += 1
        elif self.transport is not None:
            self.transport.sendto(reply, addr)
            self.answered += 1

    def handle(self, what: tuple[str, Any]) -> Any:
        kind, arg = what
        if kind == "fail":
            self.failing.update(c.encode() for c in arg)
        elif kind == "recover":
            self.failing.difference_update(c.encode() for c in arg)
        elif kind == "starts":  # poll starts at or after `arg`, by community
            return {c.decode(): [t for t in ts if t >= arg] for c, ts in self.starts.items()}
        return {"cpu_s": time.process_time(), "at": time.time(), "received": self.received,
                "answered": self.answered, "dropped": self.dropped}


def serve_devices(data: str, gap_s: float, max_s: float, conn: Connection) -> None:
    """Process entry point: report {"port"}, then answer ("fail"|"recover", communities), ("starts", since),
    ("stats", None); end on "stop"."""
    asyncio.run(_serve(Path(data), gap_s, max_s, conn))


async def _serve(data: Path, gap_s: float, max_s: float, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    devices = _Devices(RecordStore.from_file(data), gap_s)
    transport, _ = await loop.create_datagram_endpoint(lambda: devices, local_addr=(HOST, 0))
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    conn.send({"port": transport.get_extra_info("sockname")[1]})
    command = asyncio.Event()
    loop.add_reader(conn.fileno(), command.set)
    deadline = time.monotonic() + max_s
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(command.wait(), timeout=1.0)
            command.clear()
            while conn.poll():
                what = conn.recv()
                if what == "stop":
                    conn.send(devices.handle(("stats", None)))
                    return
                conn.send(devices.handle(what))
    finally:
        transport.close()


class DeviceFleet(ChildProcess):
    """The simulated devices in their own (spawned) process."""

    def __init__(self, data: Path, gap_s: float, max_s: float) -> None:
        super().__init__(serve_devices, (str(data), gap_s, max_s), "simulated-devices")
        self.port: int = self.wait_ready()["port"]

    @property
    def pid(self) -> int:
        return int(self._proc.pid or 0)

    def fail(self, communities: list[str]) -> dict[str, float]:
        return dict(self.ask(("fail", communities)))

    def recover(self, communities: list[str]) -> dict[str, float]:
        return dict(self.ask(("recover", communities)))

    def stats(self) -> dict[str, float]:
        return dict(self.ask(("stats", None)))

    def starts(self, since: float) -> dict[str, list[float]]:
        return dict(self.ask(("starts", since), timeout_s=60))
