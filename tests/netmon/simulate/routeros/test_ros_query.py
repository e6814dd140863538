"""`?` query evaluation against the manual's stack rules."""

import pytest

from netmon.simulate.routeros.query import QueryError, matches

ETHER = {"name": "ether1", "type": "ether", "mtu": "1500", "comment": "uplink"}
VLAN = {"name": "vlan10", "type": "vlan", "mtu": "1500"}
WLAN = {"name": "wlan1", "type": "wlan", "mtu": "1500"}
ROWS = {"ether1": ETHER, "vlan10": VLAN, "wlan1": WLAN}

CASES = [
    ("no query selects all", [], {"ether1", "vlan10", "wlan1"}),
    ("equality", ["?type=ether"], {"ether1"}),
    ("equality with = prefix (librouteros)", ["?=type=vlan"], {"vlan10"}),
    ("has property", ["?comment"], {"ether1"}),
    ("has not property", ["?-comment"], {"vlan10", "wlan1"}),
    ("two words are and-ed", ["?type=ether", "?name=vlan10"], set()),
    ("or of two (manual example)", ["?type=ether", "?type=vlan", "?#|"], {"ether1", "vlan10"}),
    ("not of or (manual example)", ["?type=ether", "?type=vlan", "?#|!"], {"wlan1"}),
    ("less than, text", ["?<name=vlan"], {"ether1"}),
    ("greater than, text", ["?>name=vlan"], {"vlan10", "wlan1"}),
    ("numeric comparison", ["?>mtu=999"], {"ether1", "vlan10", "wlan1"}),
    ("missing property compares false", ["?<comment=zzz"], {"ether1"}),
    ("and operator", ["?type=ether", "?comment", "?#&"], {"ether1"}),
    ("dot copies top", ["?type=wlan", "?#."], {"wlan1"}),
    ("index then end replaces stack", ["?type=ether", "?type=vlan", "?#1"], {"ether1"}),
    ("index then char pushes copy", ["?type=ether", "?type=vlan", "?#1|"], {"ether1"}),
    ("in: librouteros Key.In", ["?=name=ether1", "?=name=wlan1", "?#|"], {"ether1", "wlan1"}),
    ("not equal: librouteros Key !=", ["?=type=ether", "?#!"], {"vlan10", "wlan1"}),
]


@pytest.mark.parametrize(("words", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_query_selects_rows(words: list[str], expected: set[str]) -> None:
    assert {name for name, row in ROWS.items() if matches(words, row)} == expected


@pytest.mark.parametrize("word", ["?#x", "?<=1", "?="])
def test_malformed_query_raises(word: str) -> None:
    with pytest.raises(QueryError):
        matches([word], ETHER)
