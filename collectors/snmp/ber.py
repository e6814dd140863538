"""The few BER encodings SNMPv2c needs (X.690 definite lengths, minimal integers), without pyasn1.

Pure: TLV reading and writing, INTEGER, OCTET STRING, OBJECT IDENTIFIER, the SMI application types and the
RFC 3416 exception values. Both sides use it: the collector's v2c messages (`message.py`) and the
simulator's fast responder (`netmon.simulate.v2c`). RFC 3417 section 8 allows only the definite length
form, so an indefinite length is malformed here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
OPAQUE = 0x44
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

# snmprec tag (decimal BER tag number) -> BER identifier octet
UNSIGNED_TAGS = frozenset({0x41, 0x42, 0x43, 0x46})  # Counter32, Gauge32, TimeTicks, Counter64
_WRAP = {0x02: 2**32, 0x41: 2**32, 0x42: 2**32, 0x43: 2**32, 0x46: 2**64}


class BerError(ValueError):
    """Malformed or unsupported BER."""


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + length(len(body)) + body


def integer_body(value: int) -> bytes:
    size = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    return value.to_bytes(size, "big", signed=True)


def oid_body(oid: Iterable[int]) -> bytes:
    if isinstance(oid, tuple):
        return _oid_body(oid)
    return _oid_body(tuple(oid))


@functools.lru_cache(maxsize=1 << 16)  # a poll asks for the same OIDs (and the same last rows) every time
def _oid_body(oid: tuple[int, ...]) -> bytes:
    arcs = list(oid)
    if len(arcs) < 2:
        arcs = [*arcs, 0, 0][:2]
    out = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = bytearray()
        while arc:
            chunk.append((arc & 0x7F) | 0x80)
            arc >>= 7
        chunk[0] &= 0x7F
        out += chunk[::-1]
    return bytes(out)


def value(tag: int, data: object) -> bytes:
    """An SNMP value TLV for a snmprec tag number (2, 4, 5, 6, 64, 65, 66, 67, 68, 70)."""
    if tag == 5 or data is None:
        return b"\x05\x00"
    if tag in _WRAP and isinstance(data, int):
        if tag == 0x02:
            data = (data + 2**31) % 2**32 - 2**31
        else:
            data %= _WRAP[tag]
        return tlv(tag, integer_body(data))
    if tag == OBJECT_IDENTIFIER and isinstance(data, str):
        return tlv(tag, oid_body(int(arc) for arc in data.strip(".").split(".") if arc))
    if tag == IP_ADDRESS:
        if isinstance(data, str):
            return tlv(tag, bytes(int(octet) for octet in data.split(".")))
        if isinstance(data, bytes):
            return tlv(tag, data)
    if isinstance(data, bytes) and tag in (OCTET_STRING, OPAQUE):
        return tlv(tag, data)
    raise BerError(f"cannot encode tag {tag} value {type(data).__name__}")


def read(buf: bytes, pos: int) -> tuple[int, int, int]:
    """One TLV at `pos`: (tag, start of contents, end of contents)."""
    try:
        tag = buf[pos]
        first = buf[pos + 1]
    except IndexError:
        raise BerError("truncated") from None
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise BerError("unsupported length")
        size = int.from_bytes(buf[pos:pos + count], "big")
        pos += count
    else:
        size = first
    end = pos + size
    if end > len(buf):
        raise BerError("truncated")
    return tag, pos, end


def read_integer(buf: bytes, pos: int) -> tuple[int, int]:
    tag, start, end = read(buf, pos)
    if tag != INTEGER or start == end:
        raise BerError("expected INTEGER")
    return int.from_bytes(buf[start:end], "big", signed=True), end


def decode_oid(body: bytes) -> tuple[int, ...]:
    arcs: list[int] = []
    arc = 0
    for byte in body:
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(arc)
            arc = 0
    if not arcs or body[-1] & 0x80:
        raise BerError("bad OBJECT IDENTIFIER")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])
