"""netmon's own SNMPv2c codec (collectors/snmp/message.py) against pysnmp/pyasn1 and net-snmp's own requests.

Requests must be byte for byte what pysnmp encodes and what net-snmp's `snmpget`/`snmpbulkwalk` send for
the same request-id; responses encoded by pyasn1 must decode to the values the v3arch path reports
(`transport.to_value`); anything malformed must raise `BerError` and nothing else."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
from typing import Any

import pytest
from peers import require_tool
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import rfc1902
from pysnmp.proto.api import v2c

from collectors.snmp import ber
from collectors.snmp.message import GET, GETBULK, GETNEXT, RESPONSE, decode_response, encode_request, error_name
from collectors.snmp.transport import to_value
from collectors.snmp.varbind import Missing

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
IF_HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
MTXR_AP_CLIENTS = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 3, 1, 6)  # an arc above 127
BIG_ARCS = (1, 3, 6, 1, 4, 1, 4294967295, 2**40, 0)
JOINT = (2, 999, 3)


def pysnmp_request(request_id: int, community: bytes, kind: str, oids: list[tuple[int, ...]],
                   repetitions: int) -> bytes:
    pdu = {"get": v2c.GetRequestPDU, "next": v2c.GetNextRequestPDU, "bulk": v2c.GetBulkRequestPDU}[kind]()
    if kind == "bulk":
        v2c.apiBulkPDU.set_defaults(pdu)
        v2c.apiBulkPDU.set_non_repeaters(pdu, 0)
        v2c.apiBulkPDU.set_max_repetitions(pdu, repetitions)
    else:
        v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), v2c.null) for oid in oids])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


def pysnmp_response(request_id: int, varbinds: list[tuple[tuple[int, ...], Any]], status: int = 0,
                    index: int = 0) -> bytes:
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_error_status(pdu, status)
    v2c.apiPDU.set_error_index(pdu, index)
    v2c.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), value) for oid, value in varbinds])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, b"public")
    v2c.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


@pytest.mark.parametrize(
    ("request_id", "community", "kind", "oids", "repetitions"),
    [
        (1, b"public", "get", [SYS_UPTIME], 0),
        (2**31 - 1, b"public", "get", [SYS_UPTIME, MTXR_AP_CLIENTS, BIG_ARCS], 0),
        (128, b"kim-ro", "next", [(1, 3, 6, 1, 4, 1, 41112)], 0),
        (70000, b"c" * 200, "bulk", [IF_HC_IN, MTXR_AP_CLIENTS], 25),
        (5, b"", "bulk", [IF_HC_IN] * 40, 1),  # a varbind list longer than 255 octets
        (6, b"public", "bulk", [JOINT], 300),
    ],
    ids=["get", "get-big-id-and-arcs", "next", "bulk-long-community", "bulk-long-list", "bulk-joint-iso"],
)
def test_request_is_byte_for_byte_what_pysnmp_encodes(request_id: int, community: bytes, kind: str,
                                                       oids: list[tuple[int, ...]], repetitions: int) -> None:
    ours = encode_request(request_id, community, kind, oids, repetitions)
    assert ours == pysnmp_request(request_id, community, kind, oids, repetitions)
    decoded = decode_response(ours)  # the decoder reads any PDU type; the endpoint keeps responses only
    assert decoded.pdu_type == {"get": GET, "next": GETNEXT, "bulk": GETBULK}[kind]
    assert decoded.request_id == request_id and [oid for oid, _ in decoded.varbinds] == oids


def _capture_netsnmp(args: list[str]) -> bytes:
    """The first datagram a net-snmp command sends to a socket that never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        port = sock.getsockname()[1]
        proc = subprocess.Popen([args[0], "-v2c", "-c", "kim-ro", "-t", "1", "-r", "0", "-On",
                                 f"udp:127.0.0.1:{port}", *args[1:]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            data, _ = sock.recvfrom(65535)
        finally:
            proc.kill()
            proc.wait()
    return data


@pytest.mark.parametrize(
    ("command", "kind", "repetitions"),
    [(["snmpget", "1.3.6.1.2.1.1.3.0", "1.3.6.1.4.1.14988.1.1.1.3.1.6"], "get", 0),
     (["snmpgetnext", "1.3.6.1.4.1.14988.1.1.1.3.1.6"], "next", 0),
     (["snmpbulkget", "-Cr17", "1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.4.1.14988.1.1.1.3.1.6"], "bulk", 17)],
    ids=["snmpget", "snmpgetnext", "snmpbulkget"],
)
def test_request_is_byte_for_byte_what_net_snmp_sends(command: list[str], kind: str, repetitions: int) -> None:
    require_tool(command[0], "snmp")
    theirs = _capture_netsnmp(command)
    parsed = decode_response(theirs)
    oids = [oid for oid, _ in parsed.varbinds]
    assert [".".join(map(str, oid)) for oid in oids] == [a for a in command[1:] if not a.startswith("-")]
    assert encode_request(parsed.request_id, b"kim-ro", kind, oids, repetitions) == theirs


VALUES: list[tuple[str, Any, object]] = [
    ("integer-zero", rfc1902.Integer32(0), 0),
    ("integer-min", rfc1902.Integer32(-(2**31)), -(2**31)),
    ("integer-max", rfc1902.Integer32(2**31 - 1), 2**31 - 1),
    ("counter32-max", rfc1902.Counter32(2**32 - 1), 2**32 - 1),
    ("gauge32", rfc1902.Gauge32(1_000_000_000), 1_000_000_000),
    ("timeticks", rfc1902.TimeTicks(123456789), 123456789),
    ("counter64-max", rfc1902.Counter64(2**64 - 1), 2**64 - 1),
    ("unsigned32", rfc1902.Unsigned32(7), 7),
    ("ip", rfc1902.IpAddress("10.20.30.40"), "10.20.30.40"),
    ("string-empty", rfc1902.OctetString(b""), b""),
    ("string-binary", rfc1902.OctetString(b"\x00\xff\x80ab"), b"\x00\xff\x80ab"),
    ("string-300", rfc1902.OctetString(b"x" * 300), b"x" * 300),
    ("string-65535", rfc1902.OctetString(b"y" * 65535), b"y" * 65535),
    ("oid-value", rfc1902.ObjectName("1.3.6.1.4.1.14988.1"), "1.3.6.1.4.1.14988.1"),
    ("opaque", rfc1902.Opaque(b"\x9f\x78\x04\x41\x20\x00\x00"), b"\x9f\x78\x04\x41\x20\x00\x00"),
    ("null", rfc1902.Null(""), None),
    ("no-such-object", v2c.NoSuchObject(""), Missing.NO_SUCH_OBJECT),
    ("no-such-instance", v2c.NoSuchInstance(""), Missing.NO_SUCH_INSTANCE),
    ("end-of-mib-view", v2c.EndOfMibView(""), Missing.END_OF_MIB_VIEW),
]


@pytest.mark.parametrize(("value", "expected"), [(v, e) for _, v, e in VALUES], ids=[i for i, _, _ in VALUES])
def test_response_values_decode_as_the_v3arch_path_reports_them(value: Any, expected: object) -> None:
    data = pysnmp_response(4242, [(MTXR_AP_CLIENTS, value), (BIG_ARCS, value), (JOINT, value)])
    response = decode_response(data)
    assert response.pdu_type == RESPONSE and response.request_id == 4242
    assert (response.error_status, response.error_index) == (0, 0)
    assert response.varbinds == [(MTXR_AP_CLIENTS, expected), (BIG_ARCS, expected), (JOINT, expected)]
    msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
    pyasn1_values = [to_value(v) for _o, v in v2c.apiPDU.get_varbinds(v2c.apiMessage.get_pdu(msg))]
    assert pyasn1_values == [expected] * 3


def test_error_status_and_index_are_read() -> None:
    response = decode_response(pysnmp_response(9, [(SYS_UPTIME, rfc1902.Null(""))], status=16, index=1))
    assert (response.error_status, response.error_index) == (16, 1)
    assert error_name(16) == "authorizationError" and error_name(1) == "tooBig" and error_name(99).endswith("99")


def test_unsigned_value_sent_without_its_leading_zero_octet_stays_unsigned() -> None:
    """Some agents encode Counter32 4294967295 as ff ff ff ff (no 00 prefix); it is still a counter."""
    assert b"\x41\x05\x00\xff\xff\xff\xff" in pysnmp_response(1, [(IF_HC_IN, rfc1902.Counter32(2**32 - 1))])
    assert decode_response(_message(b"\x41\x04\xff\xff\xff\xff")).varbinds == [(SYS_UPTIME, 2**32 - 1)]
    assert decode_response(_message(b"\x02\x04\xff\xff\xff\xff")).varbinds == [(SYS_UPTIME, -1)]  # INTEGER


def _message(value_tlv: bytes = b"\x05\x00", version: int = 1, name: bytes | None = None) -> bytes:
    """A response with one varbind (sysUpTime.0 = `value_tlv`), built TLV by TLV."""
    oid = name if name is not None else ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body(SYS_UPTIME))
    varbinds = ber.tlv(ber.SEQUENCE, ber.tlv(ber.SEQUENCE, oid + value_tlv))
    pdu = ber.tlv(RESPONSE, b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds)
    return ber.tlv(ber.SEQUENCE, bytes((2, 1, version)) + ber.tlv(ber.OCTET_STRING, b"public") + pdu)


MALFORMED = {
    "empty": b"",
    "not-a-sequence": b"\x04\x03abc",
    "snmpv1": _message(version=0),
    "snmpv3": _message(version=3),
    "indefinite-length": b"\x30\x80" + _message()[2:] + b"\x00\x00",
    "five-octet-length": b"\x30\x85\x00\x00\x00\x00\x0a" + b"\x00" * 10,
    "trailing-bytes": _message() + b"\x00",
    "unknown-value-type": _message(b"\x9f\x10\x01\x00"),
    "ip-of-five-octets": _message(b"\x40\x05\x0a\x00\x00\x01\x02"),
    "empty-integer": _message(b"\x41\x00"),
    "oid-ending-mid-arc": _message(name=b"\x06\x02\x2b\x86"),
}


@pytest.mark.parametrize("data", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_messages_raise_ber_error(data: bytes) -> None:
    with pytest.raises(ber.BerError):
        decode_response(data)


def test_every_truncation_and_random_corruption_raises_only_ber_error() -> None:
    whole = pysnmp_response(77, [(MTXR_AP_CLIENTS, value) for _, value, _ in VALUES[:16]])
    assert decode_response(whole).request_id == 77
    for cut in range(len(whole)):
        with pytest.raises(ber.BerError):
            decode_response(whole[:cut])
    rng = random.Random(20261123)
    for _ in range(3000):
        data = bytearray(whole)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        with contextlib.suppress(ber.BerError):
            decode_response(bytes(data))
