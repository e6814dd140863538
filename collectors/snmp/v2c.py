"""The SNMPv2c fast path: our own message codec (`message.py`) over one asyncio UDP socket.

pysnmp's v3arch engine keeps one LCD/target entry per device (~7 ms of CPU and ~56 KB each), and every new
target invalidates its community caches, so each reply then pays a rebuild that grows with the number of
targets; and decoding a reply with pyasn1 costs ~100 us per varbind. A v2c request needs none of that: encode
the PDU, send it, decode the reply, match it by request-id and source address. `V2cEndpoint` does exactly
that for every v2c device of a process over one socket; SNMPv3 stays on pysnmp's v3arch engine
(`transport.py`). Imports no third-party library.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import Sequence
from typing import Any, cast

from collectors.snmp import ber
from collectors.snmp.message import RESPONSE, Oid, Response, decode_response, encode_request

log = logging.getLogger(__name__)

RCVBUF_BYTES = 4 * 1024 * 1024
_rcvbuf_logged = False

Address = tuple[str, int]


class V2cTimeout(Exception):
    """No reply after every try (internal: the transport turns it into DeviceUnreachable or a protocol error)."""


class _Pending:
    """A request waiting for its answer in `table` under `key` (request-id, or an SNMPv3 msgID)."""

    __slots__ = ("address", "context", "data", "future", "key", "table", "timeout_s", "timer", "tries_left")

    def __init__(self, address: Address, data: bytes, future: asyncio.Future[Any], timeout_s: float,
                 tries_left: int, table: dict[int, _Pending], key: int, context: Any = None) -> None:
        self.address = address
        self.data = data
        self.future = future
        self.timeout_s = timeout_s
        self.tries_left = tries_left
        self.table = table
        self.key = key
        self.context = context  # what the endpoint needs to accept an answer (SNMPv3: user, keys, timeline)
        self.timer: asyncio.TimerHandle | None = None


class V2cEndpoint(asyncio.DatagramProtocol):
    """One UDP socket for every v2c device of a process; replies matched by request-id and source address."""

    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, _Pending] = {}
        self._next_id = random.randrange(1, 2**30)
        self.garbage_at: dict[Address, float] = {}  # peer -> when it last sent something undecodable
        self.ignored = 0  # replies with an unknown request-id or from the wrong address

    @classmethod
    async def open(cls, rcvbuf_bytes: int = RCVBUF_BYTES) -> V2cEndpoint:
        loop = asyncio.get_running_loop()
        _transport, endpoint = await loop.create_datagram_endpoint(cls, local_addr=("0.0.0.0", 0),
                                                                   family=socket.AF_INET)
        endpoint.set_rcvbuf(rcvbuf_bytes)
        return endpoint

    def set_rcvbuf(self, wanted: int) -> None:
        global _rcvbuf_logged
        assert self._transport is not None
        sock = self._transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
            got = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        except OSError:
            got = 0
        # Linux reports twice the granted size (bookkeeping overhead included)
        if got // 2 < wanted and got < wanted and not _rcvbuf_logged:
            _rcvbuf_logged = True
            log.warning("SNMP receive buffer capped at %d bytes (asked %d); raise net.core.rmem_max so "
                        "bursts of replies are not dropped", got, wanted)

    @property
    def port(self) -> int:
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.: wait for the timeout
        pass

    def close(self) -> None:
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.cancel()
        self._pending.clear()
        if self._transport is not None:
            self._transport.close()

    async def request(self, address: Address, community: bytes, kind: str, oids: Sequence[Oid], repetitions: int,
                      timeout_s: float, retries: int) -> Response:
        """Send one request (resent `retries` times with the same request-id); return the response."""
        assert self._transport is not None, "V2cEndpoint is not open"
        request_id = self._next_id
        self._next_id = self._next_id + 1 if self._next_id < 2**31 - 1 else 1
        data = encode_request(request_id, community, kind, oids, repetitions)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        return await self._roundtrip(_Pending(address, data, future, timeout_s, retries, self._pending,
                                              request_id))

    async def _roundtrip(self, pending: _Pending) -> Any:
        """Send `pending` (again after each timeout while tries are left); its answer, or `V2cTimeout`."""
        pending.table[pending.key] = pending
        self._send(pending)
        try:
            return await pending.future
        finally:
            if pending.table.get(pending.key) is pending:
                del pending.table[pending.key]
            if pending.timer is not None:
                pending.timer.cancel()

    def _send(self, pending: _Pending) -> None:
        assert self._transport is not None
        self._transport.sendto(pending.data, pending.address)
        pending.timer = asyncio.get_running_loop().call_later(pending.timeout_s, self._expired, pending)

    def _expired(self, pending: _Pending) -> None:
        if pending.table.get(pending.key) is not pending or pending.future.done():
            return
        if pending.tries_left > 0:
            pending.tries_left -= 1
            self._send(pending)
        else:
            pending.future.set_exception(V2cTimeout())

    def datagram_received(self, data: bytes, addr: Any) -> None:
        peer = (str(addr[0]), int(addr[1]))
        try:
            response = decode_response(data)
        except ber.BerError:
            self.garbage_at[peer] = time.monotonic()
            return
        pending = self._pending.get(response.request_id)
        if pending is None or pending.address != peer or response.pdu_type != RESPONSE:
            self.ignored += 1
            return
        if not pending.future.done():
            pending.future.set_result(response)

