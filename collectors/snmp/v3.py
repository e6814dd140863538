"""The SNMPv3 fast path: our USM (`usm.py`, `v3message.py`) over the v2c fast path's one UDP socket.

`V3Endpoint` is a `V2cEndpoint` that also speaks SNMPv3: one socket per process for every v2c and v3 device,
replies told apart by their version, v3 ones matched by msgID and source address. Per agent address it keeps
what RFC 3414 asks a manager to know: the engine ID (discovered with the empty-engine-ID probe and its
usmStatsUnknownEngineIDs report) and the agent's timeline (engineBoots/engineTime, advancing with a monotonic
clock, resynchronised by a notInTimeWindow report, then the request is sent once more). Keys are localized once
per user and engine (`UsmUser.keys`).

An agent that answers a request with a usmStatsUnknownEngineIDs report (a replaced unit: a new engine ID at
the same address) is discovered again and asked once more; so is one that sent anything since a request timed
out; a plain timeout forgets the engine, so the next request discovers it. Reports of an unknown user, a wrong
digest, a decryption error or an unsupported security level end the request with `AuthenticationFailed`.

Every message refused - by the agent (its reports) or by us (malformed, unexpected, failing the MAC, the
time window, decryption or the security level) - is counted in `rejected[(by, reason)]`.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from collectors.snmp import ber, usm
from collectors.snmp.message import REPORT, RESPONSE, Oid, Response, encode_pdu
from collectors.snmp.usm import Reason, Timeline, UsmUser
from collectors.snmp.v2c import RCVBUF_BYTES, Address, V2cEndpoint, V2cTimeout, _Pending
from collectors.snmp.v3message import (
    Inbound,
    Outgoing,
    UsmRejected,
    decode_header,
    decode_scoped,
    encode_probe,
    encode_request,
    is_v3,
    open_scoped,
)
from netmon.errors import AuthenticationFailed, DeviceProtocolError

BY_AGENT, BY_NETMON = "agent", "netmon"
_LEVEL = 0x03  # msgFlags' auth and priv bits


@dataclass(slots=True)
class Engine:
    """What we know of the SNMP engine at one address."""

    engine_id: bytes | None = None
    timeline: Timeline | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A report PDU that answered one of our messages (matched by msgID)."""

    reason: Reason | None  # None: a report we do not know (not a usmStats one)
    inbound: Inbound
    authentic: bool
    oid: Oid | None


@dataclass(slots=True)
class Exchange:
    """What an answer to one of our v3 messages is checked against."""

    user: UsmUser | None  # None: the discovery probe
    keys: usm.LocalKeys | None
    engine_id: bytes
    timeline: Timeline | None
    request_id: int


class V3Endpoint(V2cEndpoint):
    """The process's SNMP socket for v2c and v3 (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = self.clock = clock
        self._v3_pending: dict[int, _Pending] = {}
        self._engines: dict[Address, Engine] = {}
        self._next_msg_id = random.randrange(1, 2**30)
        self._salt = random.getrandbits(64)
        self.heard_at: dict[Address, float] = {}  # peer -> when it last sent anything v3
        self.rejected_at: dict[Address, tuple[float, Reason]] = {}  # peer -> when and why we last refused it
        self.rejected: Counter[tuple[str, Reason]] = Counter()

    @classmethod
    async def open(cls, rcvbuf_bytes: int = RCVBUF_BYTES, clock: Callable[[], float] = time.monotonic
                   ) -> V3Endpoint:
        loop = asyncio.get_running_loop()
        _transport, endpoint = await loop.create_datagram_endpoint(lambda: cls(clock), local_addr=("0.0.0.0", 0),
                                                                   family=socket.AF_INET)
        endpoint.set_rcvbuf(rcvbuf_bytes)
        return endpoint

    def engine(self, address: Address) -> Engine:
        return self._engines.setdefault(address, Engine())

    def forget_engine(self, address: Address) -> None:
        self._engines.pop(address, None)

    def close(self) -> None:
        for pending in self._v3_pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.cancel()
        self._v3_pending.clear()
        super().close()

    async def request_v3(self, address: Address, user: UsmUser, kind: str, oids: Sequence[Oid], repetitions: int,
                         timeout_s: float, retries: int) -> Response:
        """One request to the agent at `address` as `user`; discovers its engine first when needed."""
        rediscovered = resynced = False
        while True:
            engine = self.engine(address)
            sent_at = self._clock()
            try:
                if engine.engine_id is None or engine.timeline is None:
                    await self._discover(address, engine, timeout_s, retries)
                    rediscovered = True
                answer = await self._exchange(address, engine, user, kind, oids, repetitions, timeout_s, retries)
            except V2cTimeout:
                self.forget_engine(address)
                if rediscovered or self.heard_at.get(address, float("-inf")) < sent_at:
                    raise
                rediscovered = True  # it answered something we could not use: a new engine? once more
                continue
            if isinstance(answer, Response):
                return answer
            if answer.reason is Reason.NOT_IN_TIME_WINDOW and not resynced:
                resynced = True
                self._resync(engine, answer)
                continue
            if answer.reason is Reason.UNKNOWN_ENGINE_ID and not rediscovered:
                self.forget_engine(address)
                rediscovered = True
                continue
            raise _report_error(answer)

    def _resync(self, engine: Engine, report: Report) -> None:
        if report.authentic and engine.timeline is not None:
            return  # `accept_answer` reset the timeline from the authentic report
        engine.timeline = Timeline(report.inbound.boots, report.inbound.time, self._clock, provisional=True)

    async def _discover(self, address: Address, engine: Engine, timeout_s: float, retries: int) -> None:
        request_id = self._request_id()
        msg_id = self._msg_id()
        exchange = Exchange(None, None, b"", None, request_id)
        answer = await self._send_v3(address, msg_id, encode_probe(msg_id, request_id), exchange, timeout_s,
                                     retries)
        if isinstance(answer, Response) or answer.reason is not Reason.UNKNOWN_ENGINE_ID \
                or not answer.inbound.engine_id:
            raise DeviceProtocolError("SNMPv3 engine discovery: the agent did not report its engine ID")
        inbound = answer.inbound
        engine.engine_id = inbound.engine_id
        engine.timeline = Timeline(inbound.boots, inbound.time, self._clock, provisional=True)

    async def _exchange(self, address: Address, engine: Engine, user: UsmUser, kind: str, oids: Sequence[Oid],
                        repetitions: int, timeout_s: float, retries: int) -> Response | Report:
        assert engine.engine_id is not None and engine.timeline is not None
        keys = user.keys(engine.engine_id)
        request_id, msg_id = self._request_id(), self._msg_id()
        self._salt = (self._salt + 1) & 0xFFFF_FFFF_FFFF_FFFF
        outgoing = Outgoing(user, keys, engine.engine_id, engine.timeline.boots, engine.timeline.now(),
                            self._salt.to_bytes(8, "big"))
        data = encode_request(msg_id, encode_pdu(request_id, kind, oids, repetitions), outgoing)
        exchange = Exchange(user, keys, engine.engine_id, engine.timeline, request_id)
        return await self._send_v3(address, msg_id, data, exchange, timeout_s, retries)

    async def _send_v3(self, address: Address, msg_id: int, data: bytes, exchange: Exchange, timeout_s: float,
                       retries: int) -> Response | Report:
        assert self._transport is not None, "V3Endpoint is not open"
        future: asyncio.Future[Response | Report] = asyncio.get_running_loop().create_future()
        answer: Response | Report = await self._roundtrip(
            _Pending(address, data, future, timeout_s, retries, self._v3_pending, msg_id, exchange))
        if isinstance(answer, Report) and exchange.user is not None and answer.reason is not None:
            self.rejected[(BY_AGENT, answer.reason)] += 1
        return answer

    def _request_id(self) -> int:
        request_id = self._next_id
        self._next_id = self._next_id + 1 if self._next_id < 2**31 - 1 else 1
        return request_id

    def _msg_id(self) -> int:
        msg_id = self._next_msg_id
        self._next_msg_id = msg_id + 1 if msg_id < 2**31 - 1 else 1
        return msg_id

    # --- receiving -------------------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not is_v3(data):
            super().datagram_received(data, addr)
            return
        peer = (str(addr[0]), int(addr[1]))
        now = self._clock()
        self.heard_at[peer] = now
        try:
            inbound = decode_header(data)
            pending = self._v3_pending.get(inbound.msg_id)
            if pending is None or pending.address != peer or pending.future.done():
                raise UsmRejected(Reason.UNEXPECTED)
            answer = accept_answer(data, inbound, pending.context)
        except ber.BerError:
            self.garbage_at[peer] = time.monotonic()
            self._refused(peer, now, Reason.MALFORMED)
            return
        except UsmRejected as exc:
            self._refused(peer, now, exc.reason)
            return
        pending.future.set_result(answer)

    def _refused(self, peer: Address, now: float, reason: Reason) -> None:
        self.rejected[(BY_NETMON, reason)] += 1
        if reason is not Reason.UNEXPECTED:
            self.rejected_at[peer] = (now, reason)

    def rejected_since(self, address: Address, since: float) -> Reason | None:
        """Why we last refused a message from `address`, if at or after `since` (this endpoint's clock)."""
        seen = self.rejected_at.get(address)
        return seen[1] if seen is not None and seen[0] >= since else None


def accept_answer(data: bytes, inbound: Inbound, exchange: Exchange) -> Response | Report:
    """Check an answer to `exchange` (RFC 3412 section 7.2, RFC 3414 section 3.2); the response or report, or
    `UsmRejected` / `BerError`."""
    user, keys = exchange.user, exchange.keys
    if not inbound.authenticated:
        return _accept_plain(data, inbound, exchange)
    if user is None or keys is None or user.auth is None:
        raise UsmRejected(Reason.UNSUPPORTED_SECURITY_LEVEL)
    if inbound.engine_id != exchange.engine_id:
        raise UsmRejected(Reason.UNKNOWN_ENGINE_ID)
    if inbound.user_name != user.name:
        raise UsmRejected(Reason.UNKNOWN_USER_NAME)
    buf, pos = open_scoped(data, inbound, user, keys)
    _engine, pdu = decode_scoped(buf, pos, inbound.encrypted)
    timeline = exchange.timeline
    assert timeline is not None
    if pdu.pdu_type == REPORT:
        report = _report(pdu, inbound, authentic=True)
        if report.reason is Reason.NOT_IN_TIME_WINDOW:
            timeline.reset(inbound.boots, inbound.time)  # RFC 3414 section 4: the authentic resync
            return report
    if not timeline.accept(inbound.boots, inbound.time):
        raise UsmRejected(Reason.NOT_IN_TIME_WINDOW)
    if pdu.pdu_type == REPORT:
        return _report(pdu, inbound, authentic=True)
    if inbound.flags & _LEVEL != user.flags & _LEVEL:
        raise UsmRejected(Reason.UNSUPPORTED_SECURITY_LEVEL)
    return _response(pdu, exchange)


def _accept_plain(data: bytes, inbound: Inbound, exchange: Exchange) -> Response | Report:
    """An unauthenticated answer: a report (of any request), or the response to a noAuthNoPriv request."""
    _engine, pdu = decode_scoped(data, inbound.data_at, False)
    if pdu.pdu_type == REPORT:
        return _report(pdu, inbound, authentic=False)
    if exchange.user is None:
        raise UsmRejected(Reason.UNEXPECTED)  # the probe is answered with a report
    if exchange.user.flags & _LEVEL:
        raise UsmRejected(Reason.UNSUPPORTED_SECURITY_LEVEL)  # a plain response to a secured request
    return _response(pdu, exchange)


def _response(pdu: Response, exchange: Exchange) -> Response:
    if pdu.pdu_type != RESPONSE or pdu.request_id != exchange.request_id:
        raise UsmRejected(Reason.UNEXPECTED)
    return pdu


def _report(pdu: Response, inbound: Inbound, *, authentic: bool) -> Report:
    oid = pdu.varbinds[0][0] if pdu.varbinds else None
    return Report(usm.REPORT_REASONS.get(oid) if oid is not None else None, inbound, authentic, oid)


def _report_error(report: Report) -> Exception:
    reason = report.reason
    if reason in usm.AUTH_REASONS:
        return AuthenticationFailed(f"SNMPv3 authentication failed: the agent reported {reason} "
                                    f"({usm.REPORT_NAMES[reason]})")
    if reason is None:
        named = ".".join(map(str, report.oid)) if report.oid else "no varbind"
        return DeviceProtocolError(f"SNMPv3 agent sent a report ({named})")
    return DeviceProtocolError(f"SNMPv3 agent reported {reason} ({usm.REPORT_NAMES[reason]}) again after "
                               "resynchronising")
