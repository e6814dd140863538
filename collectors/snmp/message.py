"""SNMPv2c messages on the manager side: encode GET / GETNEXT / GETBULK requests, decode responses.

The collector's v2c fast path (`v2c.py`) sends and reads these directly, without pyasn1: decoding replies
with pyasn1 was ~73 % of a poll's CPU (docs/performance.md). Values come out as the plain Python values of
`varbind.py` (and `Missing` for the RFC 3416 exceptions); anything that is not a well-formed SNMPv2c
message raises `BerError`, which the endpoint counts as garbage from that peer.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from collectors.snmp import ber
from collectors.snmp.varbind import Missing, ReplyValue

GET, GETNEXT, RESPONSE, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8
PDU_TYPES = {"get": GET, "next": GETNEXT, "bulk": GETBULK}
VERSION_2C = b"\x02\x01\x01"
_NULL = b"\x05\x00"
_UNSIGNED = frozenset({0x41, 0x42, 0x43, 0x46, 0x47})  # Counter32, Gauge32, TimeTicks, Counter64, UInteger32
_MISSING = {ber.NO_SUCH_OBJECT: Missing.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE: Missing.NO_SUCH_INSTANCE,
            ber.END_OF_MIB_VIEW: Missing.END_OF_MIB_VIEW}

# RFC 3416 error-status names (as net-snmp and pysnmp print them)
ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType",
                "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue",
                "resourceUnavailable", "commitFailed", "undoFailed", "authorizationError", "notWritable",
                "inconsistentName")

Oid = tuple[int, ...]
Varbind = tuple[Oid, ReplyValue]


class Response:
    """A decoded response PDU (or another PDU type, which the endpoint ignores)."""

    __slots__ = ("error_index", "error_status", "pdu_type", "request_id", "varbinds")

    def __init__(self, pdu_type: int, request_id: int, error_status: int, error_index: int,
                 varbinds: list[Varbind]) -> None:
        self.pdu_type = pdu_type
        self.request_id = request_id
        self.error_status = error_status
        self.error_index = error_index
        self.varbinds = varbinds


def error_name(status: int) -> str:
    return ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else f"error-status {status}"


def encode_request(request_id: int, community: bytes, kind: str, oids: Sequence[Oid], repetitions: int = 0
                   ) -> bytes:
    """A v2c GET / GETNEXT / GETBULK (non-repeaters 0) for `oids`, values NULL."""
    return ber.tlv(ber.SEQUENCE, VERSION_2C + ber.tlv(ber.OCTET_STRING, community)
                   + encode_pdu(request_id, kind, oids, repetitions))


def encode_pdu(request_id: int, kind: str, oids: Sequence[Oid], repetitions: int = 0) -> bytes:
    """The GET / GETNEXT / GETBULK PDU alone (v2c messages and SNMPv3 scoped PDUs carry the same)."""
    pdu_type = PDU_TYPES[kind]
    tlv, oid_body = ber.tlv, ber.oid_body
    varbinds = b"".join(tlv(ber.SEQUENCE, tlv(ber.OBJECT_IDENTIFIER, oid_body(oid)) + _NULL) for oid in oids)
    second = b"\x02\x01\x00"  # error-status / non-repeaters
    third = tlv(ber.INTEGER, ber.integer_body(repetitions)) if kind == "bulk" else b"\x02\x01\x00"
    return tlv(pdu_type, tlv(ber.INTEGER, ber.integer_body(request_id)) + second + third
               + tlv(ber.SEQUENCE, varbinds))


def decode_response(data: bytes) -> Response:
    """Decode one v2c message; raise `BerError` for anything malformed."""
    read = ber.read
    tag, pos, end = read(data, 0)
    if tag != ber.SEQUENCE or end != len(data):
        raise ber.BerError("not an SNMP message")
    version, pos = ber.read_integer(data, pos)
    if version != 1:
        raise ber.BerError("not SNMPv2c")
    tag, _start, pos = read(data, pos)
    if tag != ber.OCTET_STRING:
        raise ber.BerError("no community")
    return decode_pdu(data, pos, end)


def decode_pdu(data: bytes, pos: int, end: int) -> Response:
    """The PDU at `pos`, which must end at `end` (a v2c message's, or an SNMPv3 scoped PDU's); `BerError` for
    anything malformed."""
    read = ber.read
    pdu_type, pos, pdu_end = read(data, pos)
    if pdu_end != end:
        raise ber.BerError("PDU length")
    request_id, pos = ber.read_integer(data, pos)
    error_status, pos = ber.read_integer(data, pos)
    error_index, pos = ber.read_integer(data, pos)
    tag, pos, list_end = read(data, pos)
    if tag != ber.SEQUENCE or list_end != pdu_end:
        raise ber.BerError("no varbind list")
    return Response(pdu_type, request_id, error_status, error_index, _varbinds(data, pos, list_end))


def _varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    """The varbind list; the hot loop of a poll, so short lengths are read inline."""
    read, names = ber.read, _NAMES
    out: list[Varbind] = []
    append = out.append
    try:
        while pos < end:
            size = data[pos + 1]
            if data[pos] != ber.SEQUENCE:
                raise ber.BerError("bad varbind")
            if size & 0x80:
                _tag, start, vb_end = read(data, pos)
            else:
                start, vb_end = pos + 2, pos + 2 + size
            size = data[start + 1]
            if vb_end > end or data[start] != ber.OBJECT_IDENTIFIER or size & 0x80:
                raise ber.BerError("bad varbind")
            name_end = start + 2 + size
            name = data[start + 2:name_end]
            oid = names.get(name)
            if oid is None:
                oid = _name(name)
            tag, start, value_end = read(data, name_end)
            if value_end != vb_end:
                raise ber.BerError("bad varbind")
            append((oid, _value(tag, data[start:value_end])))
            pos = vb_end
    except IndexError:
        raise ber.BerError("truncated") from None
    return out


_NAMES: dict[bytes, Oid] = {}  # encoded name -> OID: the same rows come back poll after poll
_NAMES_MAX = 1 << 16  # ~16 MB at most; cleared when full (rows that come and go, e.g. hotspot sessions)


def _name(body: bytes) -> Oid:
    oid = ber.decode_oid(body)
    if len(_NAMES) >= _NAMES_MAX:
        _NAMES.clear()
    _NAMES[body] = oid
    return oid


def _value(tag: int, body: bytes) -> ReplyValue:
    if tag == ber.OCTET_STRING or tag == ber.OPAQUE:
        return body
    if tag in _UNSIGNED:
        if not body:
            raise ber.BerError("empty integer")
        return int.from_bytes(body, "big")  # unsigned even when an agent drops the leading zero octet
    if tag == ber.INTEGER:
        if not body:
            raise ber.BerError("empty integer")
        return int.from_bytes(body, "big", signed=True)
    if tag in _MISSING:
        return _MISSING[tag]
    if tag == ber.OBJECT_IDENTIFIER:
        return ".".join(map(str, ber.decode_oid(body)))
    if tag == ber.IP_ADDRESS:
        if len(body) != 4:
            raise ber.BerError(f"IpAddress of {len(body)} octets")
        return socket.inet_ntoa(body)
    if tag == ber.NULL:
        return None
    raise ber.BerError(f"unsupported value type 0x{tag:02x}")
