"""BER primitives (collectors/snmp/ber.py), shared by the collector's v2c codec and the simulator."""

from __future__ import annotations

import pytest

from collectors.snmp import ber


@pytest.mark.parametrize(
    ("oid", "hex_body"),
    [((1, 3, 6, 1, 2, 1, 1, 1, 0), "2b06010201010100"), ((1, 3, 6, 1, 4, 1, 14988, 1), "2b06010401f50c01"),
     ((2, 999, 3), "883703")],
    ids=["sysDescr", "mikrotik", "joint-iso"],
)
def test_oid_encoding_round_trips(oid: tuple[int, ...], hex_body: str) -> None:
    assert ber.oid_body(oid).hex() == hex_body
    assert ber.decode_oid(bytes.fromhex(hex_body)) == oid


@pytest.mark.parametrize(
    ("tag", "value", "encoded"),
    [(2, 0, "020100"), (2, 127, "02017f"), (2, 128, "02020080"), (2, -128, "020180"), (2, -129, "0202ff7f"),
     (65, 2**32 - 1, "410500ffffffff"), (65, 2**32, "410100"), (70, 2**64 - 1, "460900ffffffffffffffff"),
     (64, "10.0.0.1", "40040a000001"), (4, b"", "0400"), (5, None, "0500")],
    ids=["zero", "127", "128", "-128", "-129", "counter32-max", "counter32-wraps", "counter64-max", "ip",
         "empty-string", "null"],
)
def test_value_encoding(tag: int, value: object, encoded: str) -> None:
    assert ber.value(tag, value).hex() == encoded


def test_long_lengths() -> None:
    assert ber.tlv(4, b"x" * 200)[:3].hex() == "0481c8"
    assert ber.tlv(4, b"x" * 300)[:4].hex() == "0482012c"
    assert ber.read(ber.tlv(4, b"x" * 300), 0) == (4, 4, 304)
