"""Every corpus recording, including the 1-3 line detection stubs, picks the right profile (candidates plus
probe resolution emulated on the records, as the collector does over SNMP)."""

from __future__ import annotations

import pytest
from snmp_corpus import recordings, select, varbinds

from collectors.snmp.profile import load_profiles

EXPECTED_PROFILE = {
    "airos": "airos",
    "airos-af-ltu": "airos",  # net-snmp sysObjectID .8072.3.2.10: only the probe on .41112.1.10 tells
    "beagleboard": "generic",
    "cnpilote": "cambium_cnpilot",
    "epmp": "cambium_epmp",  # tests/fixtures: .17713.21, beside .17713.11 (PTP 670) and .17713.22 (cnPilot)
    "linux_ntc": "generic",  # .8072.3.2.10 too, but the airFiber probe finds nothing
    "pmp_450i": "cambium_pmp",
    "ptp670": "cambium_ptp",
    "routeros": "mikrotik",
    "routeros_1": "mikrotik",
    "routeros_ltap-mini": "mikrotik",
    "routeros_rb2011il": "mikrotik",
    "routeros_rb750gr3": "mikrotik",
    "routeros_rb760igs": "mikrotik",
    "routeros_rb952ui": "mikrotik",
    "routeros_station": "mikrotik",
    "routeros_wifi": "mikrotik",
    "ruijie": "ruijie",
    "tplink_sg2008": "tplink",
    "tplink_td-w9970": "tplink",
    "unifi": "unifi",  # Frogfoot .10002.1 + "Linux ..." like airOS: the probe on .41112.1.6 decides
    "unifi_560": "unifi",
    "unifi_achd": "unifi",  # .8072.3.2.10 with sysDescr "UAP-AC-HD ...": no probe needed
}


def test_every_recording_has_an_expectation() -> None:
    assert sorted(EXPECTED_PROFILE) == recordings()


@pytest.mark.parametrize("name", sorted(EXPECTED_PROFILE))
def test_recording_selects_profile(name: str) -> None:
    assert select(load_profiles(), varbinds(name)).name == EXPECTED_PROFILE[name]


@pytest.mark.parametrize(
    ("sys_object_id", "sys_descr", "names"),
    [
        pytest.param("1.3.6.1.4.1.10002.1", "Linux 3.3.8 #1", ["airos", "unifi", "generic"], id="frogfoot"),
        pytest.param("1.3.6.1.4.1.8072.3.2.10", "Linux box 5.10", ["airos", "generic"], id="net-snmp-linux"),
        pytest.param("1.3.6.1.4.1.14988.1", "router", ["mikrotik", "generic"], id="routeros-edited-descr"),
        pytest.param("", "RouterOS CCR2004", ["mikrotik", "generic"], id="routeros-by-descr-only"),
        pytest.param("1.3.6.1.4.1.9.1.1", "Cisco IOS", ["generic"], id="unknown"),
        pytest.param("1.3.6.1.4.1.140", "", ["generic"], id="prefix-on-arc-boundary"),  # not .14988
        pytest.param("1.3.6.1.4.1.17713.21", "Cambium ePMP", ["cambium_epmp", "generic"], id="epmp"),
        pytest.param("1.3.6.1.4.1.17713.21.9.37", "", ["cambium_epmp", "generic"], id="epmp-under-root"),
        pytest.param("1.3.6.1.4.1.17713.2", "", ["generic"], id="cambium-arc-2-is-not-epmp"),
        pytest.param("1.3.6.1.4.1.17713.211", "", ["generic"], id="cambium-arc-211-is-not-epmp"),
    ],
)
def test_candidates_most_specific_first_ending_with_generic(sys_object_id: str, sys_descr: str,
                                                            names: list[str]) -> None:
    assert [p.name for p in load_profiles().candidates(sys_object_id, sys_descr)] == names


def test_probe_is_set_only_where_the_match_rule_needs_it() -> None:
    profiles = load_profiles()
    frogfoot = profiles.candidates("1.3.6.1.4.1.10002.1", "Linux 2.6.32")
    assert [p.probe for p in frogfoot] == ["1.3.6.1.4.1.41112.1.4", "1.3.6.1.4.1.41112.1.6", None]
    assert profiles.candidates("1.3.6.1.4.1.41112", "UAP-nanoHD 5.60.3")[0].probe is None
    assert profiles.get("unifi").probe is None  # named in the inventory: no probe
