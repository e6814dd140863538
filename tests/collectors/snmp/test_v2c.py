"""The v2c fast path (collectors/snmp/v2c.py) against a scripted agent: walk sizing, reply matching."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import rfc1902
from pysnmp.proto.api import v2c

from collectors.snmp.transport import SnmpEngineHandle, SnmpTransport
from netmon.errors import DeviceUnreachable
from netmon.model import Secret, SnmpSettings, SnmpV2cAuth

COLUMN = "1.3.6.1.2.1.2.2.1.10"
OTHER = "1.3.6.1.2.1.2.2.1.16"


def oid(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


class ScriptedAgent(asyncio.DatagramProtocol):
    """Answers GET/GETNEXT/GETBULK from a mutable table; records each request's max-repetitions.
    `before_reply` may send extra datagrams first (stray replies) or suppress the real one (return False)."""

    def __init__(self) -> None:
        self.table: dict[tuple[int, ...], int] = {}
        self.repetitions: list[int] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.before_reply: Callable[[bytes, Any, int], bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def rows(self, column: str, n: int, base: int = 0) -> None:
        for i in range(1, n + 1):
            self.table[(*oid(column), i)] = base + i

    def _next(self, after: tuple[int, ...]) -> tuple[tuple[int, ...], Any]:
        for key in sorted(self.table):
            if key > after:
                return key, rfc1902.Counter32(self.table[key])
        return after, v2c.EndOfMibView("")

    def datagram_received(self, data: bytes, addr: Any) -> None:
        msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
        pdu = v2c.apiMessage.get_pdu(msg)
        oids = [tuple(o) for o, _v in v2c.apiPDU.get_varbinds(pdu)]
        out: list[tuple[Any, Any]] = []
        if isinstance(pdu, v2c.GetBulkRequestPDU):
            reps = int(v2c.apiBulkPDU.get_max_repetitions(pdu))
            self.repetitions.append(reps)
            current = list(oids)
            for _ in range(reps):
                for i, at in enumerate(current):
                    got, value = self._next(at)
                    out.append((rfc1902.ObjectName(got), value))
                    current[i] = got
        else:
            for at in oids:
                got, value = (self._next(at) if isinstance(pdu, v2c.GetNextRequestPDU)
                              else (at, rfc1902.Counter32(self.table[at])))
                out.append((rfc1902.ObjectName(got), value))
        response = v2c.apiPDU.get_response(pdu)
        v2c.apiPDU.set_varbinds(response, out)
        v2c.apiMessage.set_pdu(msg, response)
        reply = encoder.encode(msg)
        request_id = int(v2c.apiPDU.get_request_id(pdu))
        if self.before_reply is not None and not self.before_reply(reply, addr, request_id):
            return
        assert self.transport is not None
        self.transport.sendto(reply, addr)


@pytest.fixture
async def agent() -> AsyncIterator[tuple[ScriptedAgent, int]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(ScriptedAgent, local_addr=("127.0.0.1", 0))
    yield protocol, int(transport.get_extra_info("sockname")[1])
    transport.close()


@pytest.fixture
async def handle() -> AsyncIterator[SnmpEngineHandle]:
    h = SnmpEngineHandle()
    yield h
    h.close()


def settings(port: int, timeout_s: float = 10.0, retries: int = 0) -> SnmpSettings:
    return SnmpSettings(auth=SnmpV2cAuth(Secret("public")), port=port, timeout_s=timeout_s, retries=retries,
                        max_repetitions=25)


async def test_second_walk_asks_for_rows_plus_one_repetitions_and_returns_the_same_values(
        agent: tuple[ScriptedAgent, int], handle: SnmpEngineHandle) -> None:
    peer, port = agent
    peer.rows(COLUMN, 4)
    peer.rows(OTHER, 4, base=100)
    t = await SnmpTransport.open(handle, "127.0.0.1", settings(port))
    first = await t.walk([COLUMN, OTHER])
    assert peer.repetitions == [25]  # nothing known yet: as many as fit
    second = await t.walk([COLUMN, OTHER])
    assert second == first and len(first) == 8
    assert peer.repetitions == [25, 5]  # 4 rows + 1 to see the end


async def test_column_that_grew_between_walks_is_read_to_its_end(
        agent: tuple[ScriptedAgent, int], handle: SnmpEngineHandle) -> None:
    peer, port = agent
    peer.rows(COLUMN, 3)
    t = await SnmpTransport.open(handle, "127.0.0.1", settings(port))
    assert len(await t.walk([COLUMN])) == 3
    peer.rows(COLUMN, 11)
    grown = await t.walk([COLUMN])
    assert sorted(grown) == sorted(f"{COLUMN}.{i}" for i in range(1, 12))
    assert peer.repetitions[1] == 4 and len(peer.repetitions) > 2  # sized for 3 rows, then more rounds


async def test_reply_with_unknown_request_id_is_ignored(
        agent: tuple[ScriptedAgent, int], handle: SnmpEngineHandle) -> None:
    peer, port = agent
    peer.rows(COLUMN, 2)

    def stray_first(reply: bytes, addr: Any, request_id: int) -> bool:
        msg, _ = decoder.decode(reply, asn1Spec=v2c.Message())
        pdu = v2c.apiMessage.get_pdu(msg)
        v2c.apiPDU.set_request_id(pdu, request_id + 7)
        v2c.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(f"{COLUMN}.1"), rfc1902.Counter32(999))])
        assert peer.transport is not None
        peer.transport.sendto(encoder.encode(msg), addr)
        return True

    peer.before_reply = stray_first
    t = await SnmpTransport.open(handle, "127.0.0.1", settings(port))
    assert await t.get([f"{COLUMN}.1"]) == {f"{COLUMN}.1": 1}
    assert handle.v2c is not None and handle.v2c.ignored >= 1


async def test_reply_from_a_wrong_address_is_ignored(
        agent: tuple[ScriptedAgent, int], handle: SnmpEngineHandle) -> None:
    peer, port = agent
    peer.rows(COLUMN, 2)
    loop = asyncio.get_running_loop()
    impostor, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))

    def from_elsewhere(reply: bytes, addr: Any, request_id: int) -> bool:
        impostor.sendto(reply, addr)  # the right request-id, from another port
        return False  # the agent itself stays silent

    peer.before_reply = from_elsewhere
    # a timeout long enough for the impostor's reply to arrive first, however loaded the machine
    t = await SnmpTransport.open(handle, "127.0.0.1", settings(port, timeout_s=2.0))
    try:
        with pytest.raises(DeviceUnreachable, match="no SNMP answer"):
            await t.get([f"{COLUMN}.1"])
    finally:
        impostor.close()
    assert handle.v2c is not None and handle.v2c.ignored == 1


async def test_late_reply_to_the_first_try_is_accepted_after_a_retry(
        agent: tuple[ScriptedAgent, int], handle: SnmpEngineHandle) -> None:
    peer, port = agent
    peer.rows(COLUMN, 1)
    seen: list[int] = []

    def drop_first(reply: bytes, addr: Any, request_id: int) -> bool:
        seen.append(request_id)
        return len(seen) > 1

    peer.before_reply = drop_first
    t = await SnmpTransport.open(handle, "127.0.0.1", settings(port, timeout_s=1.0, retries=1))
    assert await t.get([f"{COLUMN}.1"]) == {f"{COLUMN}.1": 1}
    assert len(seen) == 2 and seen[0] == seen[1]  # a retry resends the same request-id
