"""The SNMPv3 fast path's endpoint (collectors/snmp/v3.py) against an agent that misbehaves on purpose: a small
SNMPv3 agent written here with the same USM (its keys are the test's), which can tamper with its answers, send
them twice, replay an earlier one, answer from a stale timeline, reboot, change its engine ID or drop security.
Every refused message is counted by reason. The endpoint's clock is injected: time windows never depend on the
wall clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest

from collectors.snmp import ber
from collectors.snmp.message import REPORT, RESPONSE
from collectors.snmp.usm import Reason, UsmUser
from collectors.snmp.v2c import V2cTimeout
from collectors.snmp.v3 import BY_AGENT, BY_NETMON, V3Endpoint
from collectors.snmp.v3message import Outgoing, decode_header, decode_scoped, encode_request, open_scoped
from netmon.errors import AuthenticationFailed

SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
USER = ("netmon", "sha256", "agent-auth-pass", "aes128", "agent-priv-pass")
SALT = bytes(8)


class Clock:
    def __init__(self) -> None:
        self.now = 50_000.0

    def __call__(self) -> float:
        return self.now


class FakeAgent(asyncio.DatagramProtocol):
    """An SNMPv3 agent answering sysName; `mode` says how it misbehaves."""

    def __init__(self, user: UsmUser) -> None:
        self.user = user
        self.engine_id = b"\x80\x00\x1f\x88\x04fake-1"
        self.boots, self.time = 5, 1000
        self.mode = "normal"
        self.transport: asyncio.DatagramTransport | None = None
        self.answered: list[bytes] = []
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        for reply in self.replies(data):
            self.transport.sendto(reply, addr)

    def replies(self, data: bytes) -> list[bytes]:
        inbound = decode_header(data)
        if not inbound.engine_id or inbound.engine_id != self.engine_id:  # probe, or an old engine ID
            return [self.report(inbound.msg_id, 0, 4, secured=False)]
        self.requests += 1
        keys = self.user.keys(self.engine_id)
        buf, pos = open_scoped(data, inbound, self.user, keys)
        _context, request = decode_scoped(buf, pos, True)
        if inbound.boots != self.boots or abs(inbound.time - self.time) > 150:
            return [self.report(inbound.msg_id, request.request_id, 2, secured=True)]
        value = ber.tlv(ber.OCTET_STRING, b"fake-agent")
        varbind = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body(SYS_NAME)) + value)
        answer = self.message(inbound.msg_id, _pdu(RESPONSE, request.request_id, varbind),
                              secured=self.mode != "plain")
        return self.misbehave(answer)

    def misbehave(self, answer: bytes) -> list[bytes]:
        previous = self.answered[-1:] if self.answered else []
        self.answered.append(answer)
        if self.mode == "tamper":
            changed = bytearray(answer)
            changed[-1] ^= 0x80
            return [bytes(changed)]
        if self.mode == "twice":
            return [answer, answer]
        if self.mode == "replay":
            return [*previous, answer]
        if self.mode == "garbage":
            return [b"\x30\x05\x02\x01\x03\x30\x00", answer[:-1]]
        return [answer]

    def report(self, msg_id: int, request_id: int, stat: int, *, secured: bool) -> bytes:
        counter = ber.tlv(0x41, b"\x01")
        varbind = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body((*USM_STATS, stat, 0)))
                          + counter)
        return self.message(msg_id, _pdu(REPORT, request_id, varbind), secured=secured, auth_only=True)

    def message(self, msg_id: int, pdu: bytes, *, secured: bool, auth_only: bool = False) -> bytes:
        if not secured:
            scoped = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OCTET_STRING, self.engine_id) + b"\x04\x00" + pdu)
            params = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OCTET_STRING, self.engine_id) + _int(self.boots)
                             + _int(self.time) + b"\x04\x00\x04\x00\x04\x00")
            header = ber.tlv(ber.SEQUENCE, _int(msg_id) + _int(65507) + b"\x04\x01\x00\x02\x01\x03")
            return ber.tlv(ber.SEQUENCE, b"\x02\x01\x03" + header + ber.tlv(ber.OCTET_STRING, params) + scoped)
        user = UsmUser(*USER[:3], None, None) if auth_only else self.user
        return encode_request(msg_id, pdu, Outgoing(user, user.keys(self.engine_id), self.engine_id, self.boots,
                                                    self.time, SALT))


def _int(value: int) -> bytes:
    return ber.tlv(ber.INTEGER, ber.integer_body(value))


def _pdu(pdu_type: int, request_id: int, varbind: bytes) -> bytes:
    return ber.tlv(pdu_type, _int(request_id) + b"\x02\x01\x00\x02\x01\x00" + ber.tlv(ber.SEQUENCE, varbind))


@pytest.fixture
async def rig() -> AsyncIterator[tuple[V3Endpoint, FakeAgent, Clock, Callable[..., Any]]]:
    user = UsmUser(*USER)
    agent = FakeAgent(user)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    clock = Clock()
    endpoint = await V3Endpoint.open(clock=clock)

    async def get(timeout_s: float = 2.0) -> Any:
        return await endpoint.request_v3(("127.0.0.1", port), user, "get", [SYS_NAME], 0, timeout_s, 0)

    yield endpoint, agent, clock, get
    endpoint.close()
    transport.close()


Rig = tuple[V3Endpoint, FakeAgent, Clock, Callable[..., Any]]


async def test_discovers_the_engine_then_reads(rig: Rig) -> None:
    endpoint, agent, _clock, get = rig
    response = await get()
    assert response.varbinds == [(SYS_NAME, b"fake-agent")]
    assert agent.requests == 1 and not endpoint.rejected  # the probe's report is expected, not a rejection


async def test_agent_rebooted_notintimewindow_resynchronises_and_asks_once_more(rig: Rig) -> None:
    endpoint, agent, clock, get = rig
    await get()
    agent.boots, agent.time = 6, 2  # rebooted (same engine ID)
    clock.now += 10
    assert (await get()).varbinds == [(SYS_NAME, b"fake-agent")]
    assert agent.requests == 3
    assert endpoint.rejected == {(BY_AGENT, Reason.NOT_IN_TIME_WINDOW): 1}


async def test_replaced_unit_with_a_new_engine_id_is_discovered_again(rig: Rig) -> None:
    endpoint, agent, _clock, get = rig
    await get()
    agent.engine_id, agent.boots, agent.time = b"\x80\x00\x1f\x88\x04fake-2", 1, 10
    assert (await get()).varbinds == [(SYS_NAME, b"fake-agent")]
    assert endpoint.rejected == {(BY_AGENT, Reason.UNKNOWN_ENGINE_ID): 1}


async def test_an_answer_from_a_stale_engine_time_is_refused(rig: Rig) -> None:
    """The agent's clock stands still (or an attacker replays its old timeline) while ours advances 1000 s: its
    authentic answers are more than 150 s behind our notion of its engine time."""
    endpoint, agent, clock, get = rig
    await get()
    clock.now += 1000
    agent.time += 1000  # agrees with our request's time, so it answers ...
    agent.mode = "stale"
    original = agent.message

    def stale(msg_id: int, pdu: bytes, *, secured: bool, auth_only: bool = False) -> bytes:
        if pdu[0] != RESPONSE:
            return original(msg_id, pdu, secured=secured, auth_only=auth_only)
        agent.time -= 1000  # ... with its old time
        try:
            return original(msg_id, pdu, secured=secured, auth_only=auth_only)
        finally:
            agent.time += 1000

    agent.message = stale  # type: ignore[method-assign]
    # refused; then, as the agent did answer (a new engine?), discovered again and asked once more: a timeline
    # learnt by discovery is taken from the first authentic answer, so the agent's own clock is believed
    assert (await get(timeout_s=0.3)).varbinds == [(SYS_NAME, b"fake-agent")]
    assert endpoint.rejected == {(BY_NETMON, Reason.NOT_IN_TIME_WINDOW): 1}


@pytest.mark.parametrize(("mode", "reason"), [("tamper", Reason.WRONG_DIGEST),
                                              ("plain", Reason.UNSUPPORTED_SECURITY_LEVEL)])
async def test_tampered_or_unsecured_answers_are_refused_and_counted(rig: Rig, mode: str, reason: Reason) -> None:
    endpoint, agent, _clock, get = rig
    await get()
    agent.mode = mode
    with pytest.raises(V2cTimeout):
        await get(timeout_s=0.3)
    assert endpoint.rejected == {(BY_NETMON, reason): 2}  # the answer, and the one to the request asked again
    assert endpoint.rejected_since(("127.0.0.1", agent.transport.get_extra_info("sockname")[1]),  # type: ignore
                                   0.0) is reason


@pytest.mark.parametrize("mode", ["twice", "replay"])
async def test_duplicated_and_replayed_answers_are_refused_and_the_right_one_taken(rig: Rig, mode: str) -> None:
    endpoint, agent, _clock, get = rig
    await get()
    agent.mode = mode
    assert (await get()).varbinds == [(SYS_NAME, b"fake-agent")]
    await asyncio.sleep(0.05)  # let the duplicate arrive (nothing waits for it)
    assert endpoint.rejected == {(BY_NETMON, Reason.UNEXPECTED): 1}


async def test_malformed_messages_are_counted_and_the_good_answer_still_taken(rig: Rig) -> None:
    endpoint, agent, _clock, get = rig
    await get()
    agent.mode = "garbage"
    with pytest.raises(V2cTimeout):  # the good answer was cut short too
        await get(timeout_s=0.3)
    assert endpoint.rejected == {(BY_NETMON, Reason.MALFORMED): 4}  # two, and two after asking again


@pytest.mark.parametrize(("stat", "reason"), [(3, Reason.UNKNOWN_USER_NAME), (5, Reason.WRONG_DIGEST),
                                              (6, Reason.DECRYPTION_ERROR), (1, Reason.UNSUPPORTED_SECURITY_LEVEL)])
async def test_auth_reports_are_authentication_failures_without_secrets(rig: Rig, stat: int, reason: Reason) -> None:
    endpoint, agent, _clock, get = rig
    await get()
    agent.replies = lambda data: [agent.report(decode_header(data).msg_id, 0, stat, secured=False)]  # type: ignore
    with pytest.raises(AuthenticationFailed) as failed:
        await get()
    assert reason.value in str(failed.value)
    assert all(secret not in str(failed.value) for secret in USER[2:])
    assert endpoint.rejected == {(BY_AGENT, reason): 1}
