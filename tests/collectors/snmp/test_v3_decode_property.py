"""Property tests (hypothesis) of the SNMPv3 decoder (collectors/snmp/v3message.py, v3.py's `accept_answer`):
random bytes, and real authPriv responses truncated, cut into or with bytes changed, only ever give a response,
a report, `BerError` or `UsmRejected` (our two documented refusals); and a changed byte is never accepted as a
response with other contents. Derandomized: the same examples on every run."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.snmp import ber
from collectors.snmp.message import RESPONSE, Response
from collectors.snmp.usm import Timeline, UsmUser
from collectors.snmp.v3 import Exchange, Report, accept_answer
from collectors.snmp.v3message import Outgoing, UsmRejected, decode_header, encode_request

FAST = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
ENGINE_ID = b"\x80\x00\x1f\x88\x04fuzz"
USER = UsmUser("netmon", "sha256", "fuzz-auth-pass", "aes128", "fuzz-priv-pass")
KEYS = USER.keys(ENGINE_ID)


def response(request_id: int, count: int, value: bytes) -> bytes:
    varbinds = b"".join(ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body((1, 3, 6, 1, 2, 1, 1, i)))
                                + ber.tlv(ber.OCTET_STRING, value)) for i in range(count))
    pdu = ber.tlv(RESPONSE, ber.tlv(ber.INTEGER, ber.integer_body(request_id)) + b"\x02\x01\x00\x02\x01\x00"
                  + ber.tlv(ber.SEQUENCE, varbinds))
    return encode_request(request_id, pdu, Outgoing(USER, KEYS, ENGINE_ID, 3, 1000, b"saltsalt"))


responses = st.builds(response, st.integers(1, 2**31 - 1), st.integers(0, 12), st.binary(max_size=40))


@st.composite
def damaged(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(the original, a damaged copy): truncated, with a slice cut out, or with a few bytes changed."""
    original = draw(responses)
    data = bytearray(original)
    how = draw(st.sampled_from(["truncate", "cut", "change"]))
    if how == "truncate":
        return original, bytes(data[:draw(st.integers(0, len(data) - 1))])
    if how == "cut":
        start = draw(st.integers(0, len(data) - 1))
        return original, bytes(data[:start] + data[draw(st.integers(start + 1, len(data))):])
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return original, bytes(data)


def read(data: bytes) -> Response | Report | None:
    """What the endpoint would make of `data` as the answer to the request it claims to answer."""
    try:
        inbound = decode_header(data)
        exchange = Exchange(USER, KEYS, ENGINE_ID, Timeline(3, 1000, lambda: 0.0), inbound.msg_id)
        return accept_answer(data, inbound, exchange)
    except (ber.BerError, UsmRejected):
        return None


def test_a_real_response_is_read() -> None:
    answer = read(response(7, 3, b"abc"))
    assert isinstance(answer, Response) and answer.request_id == 7 and len(answer.varbinds) == 3


@FAST
@given(st.binary(max_size=600))
def test_random_bytes_are_refused_with_our_errors_only(data: bytes) -> None:
    read(data)


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_after_a_v3_header_are_refused_with_our_errors_only(tail: bytes) -> None:
    read(ber.tlv(ber.SEQUENCE, b"\x02\x01\x03" + tail))


@FAST
@given(damaged())
def test_damaged_responses_are_refused_never_read_as_something_else(pair: tuple[bytes, bytes]) -> None:
    original, data = pair
    answer = read(data)
    if answer is not None and data != original:
        # only an encoding change the MAC does not cover could pass: none should
        assert isinstance(answer, Response) and answer.varbinds == read(original).varbinds  # type: ignore[union-attr]
