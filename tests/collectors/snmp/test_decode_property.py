"""Property tests (hypothesis) of the SNMPv2c response decoder (collectors/snmp/message.py on ber.py): random
bytes, and real responses (varbinds from a corpus recording) truncated, cut into or with bytes changed, only
ever give a `Response` or `BerError`, the one error the module documents. Derandomized: the same examples on
every run, so they never flake; each runs in well under a second."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snmpsim_fixture import CORPUS

from collectors.snmp import ber
from collectors.snmp.message import RESPONSE, VERSION_2C, Response, decode_response
from netmon.simulate.snmprec import load

FAST = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
RECORDS = [r for r in load(CORPUS / "snmprec" / "routeros_rb750gr3.snmprec") if r.variation is None][:400]


def response(request_id: int, start: int, count: int) -> bytes:
    """A well-formed v2c response carrying `count` recorded varbinds from `start` on."""
    varbinds = b"".join(ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body(r.oid))
                                + ber.value(r.tag, r.value))
                        for r in RECORDS[start:start + count])
    pdu = ber.tlv(RESPONSE, ber.tlv(ber.INTEGER, ber.integer_body(request_id)) + b"\x02\x01\x00\x02\x01\x00"
                  + ber.tlv(ber.SEQUENCE, varbinds))
    return ber.tlv(ber.SEQUENCE, VERSION_2C + ber.tlv(ber.OCTET_STRING, b"public") + pdu)


responses = st.builds(response, st.integers(-2**31, 2**31 - 1), st.integers(0, len(RECORDS) - 1),
                      st.integers(0, 12))


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real response, truncated, with a slice cut out, or with a few bytes changed."""
    data = bytearray(draw(responses))
    how = draw(st.sampled_from(["truncate", "cut", "change"]))
    if how == "truncate":
        return bytes(data[:draw(st.integers(0, len(data) - 1))])
    if how == "cut":
        start = draw(st.integers(0, len(data) - 1))
        return bytes(data[:start] + data[draw(st.integers(start + 1, len(data))):])
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def decodes_or_ber_error(data: bytes) -> None:
    try:
        decoded = decode_response(data)
    except ber.BerError:
        return
    assert isinstance(decoded, Response)
    assert all(isinstance(oid, tuple) for oid, _value in decoded.varbinds)


def test_recorded_responses_decode_to_their_varbinds() -> None:
    decoded = decode_response(response(7, 0, 12))
    assert decoded.request_id == 7 and [oid for oid, _ in decoded.varbinds] == [r.oid for r in RECORDS[:12]]


@FAST
@given(st.binary(max_size=600))
def test_random_bytes_give_a_response_or_ber_error(data: bytes) -> None:
    decodes_or_ber_error(data)


@FAST
@given(damaged())
def test_damaged_responses_give_a_response_or_ber_error(data: bytes) -> None:
    decodes_or_ber_error(data)


@FAST
@given(st.binary(min_size=1, max_size=40))
def test_ber_primitives_raise_only_ber_error(data: bytes) -> None:
    for read in (lambda: ber.read(data, 0), lambda: ber.read_integer(data, 0), lambda: ber.decode_oid(data)):
        with contextlib.suppress(ber.BerError):
            read()
