"""A fast SNMPv2c responder for GET, GETNEXT and GETBULK, straight from BER to a `RecordStore`.

pysnmp's agent answers roughly a thousand small GETs per CPU-second; the benchmark needs the agent side not
to be the bottleneck, so v2c reads take this path and everything else (SNMPv1, SNMPv3, SET, malformed
messages) falls through to pysnmp (`NotHandled`). Semantics follow RFC 3416 4.2.1-4.2.3 as the pysnmp path
does: noSuchObject / noSuchInstance for GET, endOfMibView past the last record, GETBULK non-repeaters then
max-repetitions rows, stopping after a row that is all endOfMibView or before the datagram grows past
`MAX_RESPONSE_BYTES`. Varbinds of static records are encoded once and reused. With `reuse_s`, the varbinds
of a whole request are reused for that many seconds of the store's clock (benchmarks/daemon.py: thousands
of devices serving one recording, whose counters then move once per `reuse_s`, not at every request).
"""

from __future__ import annotations

from collections.abc import Callable

from collectors.snmp import ber
from netmon.simulate.store import Miss, Oid, RecordStore, Served

GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5
MAX_RESPONSE_BYTES = 60000
_TOO_BIG = b"\x02\x01\x01\x02\x01\x00"
_NO_ERROR = b"\x02\x01\x00\x02\x01\x00"
_MISS_BYTES = {Miss.NO_SUCH_OBJECT: b"\x80\x00", Miss.NO_SUCH_INSTANCE: b"\x81\x00",
               Miss.END_OF_MIB_VIEW: b"\x82\x00"}


class NotHandled(Exception):
    """Not a v2c read request: let the full (pysnmp) agent decide."""


class V2cResponder:
    """Answers one endpoint's v2c reads; `select(community)` names the store, None drops the request."""

    def __init__(self, select: Callable[[bytes], RecordStore | None], *, reuse_s: float = 0.0) -> None:
        self._select = select
        self._static: dict[tuple[int, Oid], bytes] = {}
        self._reuse_s = reuse_s
        self._reused: dict[tuple[object, ...], tuple[float, bytes]] = {}  # request -> (until, varbinds)

    def answer(self, datagram: bytes) -> bytes | None:
        """The encoded response, or None to drop the request (wrong community, malformed BER)."""
        try:
            request = _parse(datagram)
        except ber.BerError:
            return None
        community, pdu_type, request_id, a, b, oids = request
        store = self._select(community)
        if store is None:
            return None
        now = store.clock()
        if self._reuse_s > 0:
            key = (id(store), pdu_type, a, b, *oids)
            until, body = self._reused.get(key, (0.0, b""))
            if now >= until:
                body = self._varbinds(store, pdu_type, a, b, oids, now)
                if len(self._reused) > 100_000:
                    self._reused.clear()
                self._reused[key] = (now + self._reuse_s, body)
        else:
            body = self._varbinds(store, pdu_type, a, b, oids, now)
        if len(body) > MAX_RESPONSE_BYTES:
            return _message(community, request_id, _TOO_BIG, b"")
        return _message(community, request_id, _NO_ERROR, body)

    def _varbinds(self, store: RecordStore, pdu_type: int, a: int, b: int, oids: list[Oid], now: float) -> bytes:
        if pdu_type == GET:
            return b"".join([self._get(store, oid, now) for oid in oids])
        if pdu_type == GETNEXT:
            return b"".join([self._next(store, oid, now)[0] for oid in oids])
        return b"".join(self._bulk(store, oids, a, b, now))

    def _bulk(self, store: RecordStore, oids: list[Oid], non_repeaters: int, max_repetitions: int,
              now: float) -> list[bytes]:
        n = min(max(non_repeaters, 0), len(oids))
        out = [self._next(store, oid, now)[0] for oid in oids[:n]]
        size = sum(map(len, out))
        repeat = oids[n:]
        for _ in range(max(max_repetitions, 0) if repeat else 0):
            row = [self._next(store, oid, now) for oid in repeat]
            encoded = [vb for vb, _ in row]
            size += sum(map(len, encoded))
            if size > MAX_RESPONSE_BYTES and len(out) > n:
                break
            out.extend(encoded)
            if all(next_oid is None for _, next_oid in row):
                break
            repeat = [found if found is not None else oid
                      for (_, found), oid in zip(row, repeat, strict=True)]
        return out

    def _get(self, store: RecordStore, oid: Oid, now: float) -> bytes:
        found = store.get(oid, now)
        if isinstance(found, Miss):
            return _miss(oid, found)
        return self._encode(store, found)

    def _next(self, store: RecordStore, oid: Oid, now: float) -> tuple[bytes, Oid | None]:
        found = store.next(oid, now)
        if isinstance(found, Miss):
            return _miss(oid, found), None
        return self._encode(store, found), found.oid

    def _encode(self, store: RecordStore, served: Served) -> bytes:
        static = served.record.variation is None
        if static:
            cached = self._static.get((id(store), served.oid))
            if cached is not None:
                return cached
        name = ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body(served.oid))
        vb = ber.tlv(ber.SEQUENCE, name + ber.value(served.tag, served.value))
        if static:
            self._static[(id(store), served.oid)] = vb
        return vb


def _miss(oid: Oid, miss: Miss) -> bytes:
    return ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body(oid)) + _MISS_BYTES[miss])


def _message(community: bytes, request_id: bytes, status: bytes, varbinds: bytes) -> bytes:
    pdu = ber.tlv(RESPONSE, request_id + status + ber.tlv(ber.SEQUENCE, varbinds))
    return ber.tlv(ber.SEQUENCE, b"\x02\x01\x01" + ber.tlv(ber.OCTET_STRING, community) + pdu)


def _parse(d: bytes) -> tuple[bytes, int, bytes, int, int, list[Oid]]:
    """(community, PDU type, raw request-id TLV, error-status/non-repeaters, error-index/max-reps, OIDs)."""
    tag, start, _ = ber.read(d, 0)
    if tag != ber.SEQUENCE:
        raise ber.BerError("not a message")
    version, pos = ber.read_integer(d, start)
    if version != 1:
        raise NotHandled
    tag, cs, ce = ber.read(d, pos)
    if tag != ber.OCTET_STRING:
        raise ber.BerError("no community")
    pdu_type, ps, pe = ber.read(d, ce)
    if pdu_type not in (GET, GETNEXT, GETBULK):
        raise NotHandled
    _, _, rid_end = ber.read(d, ps)
    request_id = d[ps:rid_end]
    ber.read_integer(d, ps)
    a, pos = ber.read_integer(d, rid_end)
    b, pos = ber.read_integer(d, pos)
    tag, vs, ve = ber.read(d, pos)
    if tag != ber.SEQUENCE or ve > pe:
        raise ber.BerError("no varbind list")
    oids: list[Oid] = []
    while vs < ve:
        tag, s, e = ber.read(d, vs)
        otag, os_, oe = ber.read(d, s)
        if tag != ber.SEQUENCE or otag != ber.OBJECT_IDENTIFIER:
            raise ber.BerError("bad varbind")
        oids.append(ber.decode_oid(d[os_:oe]))
        vs = e
    return d[cs:ce], pdu_type, request_id, a, b, oids
