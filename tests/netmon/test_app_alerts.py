"""The composition root feeds the alert engine: equipment announcing itself next to a router that the
inventory does not hold raises one `unknown_device` incident for the site."""

from __future__ import annotations

import time

import pytest
from snmpsim_fixture import SnmpSim

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.app import NetmonApp
from netmon.config.loader import Config
from netmon.errors import DeviceUnreachable
from netmon.model import Device, Owner, PollResult, Role, Secret, Site, SnmpSettings, SnmpV2cAuth, Source


def test_unknown_neighbour_raises_one_incident_and_known_ones_none() -> None:
    site = Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")
    router = Device("a-router", "kim-a", Role.ROUTER, "10.20.1.1", (Source.ROUTEROS,), Owner.PEMDA)
    ap = Device("a-ap", "kim-a", Role.AP, "10.20.1.2", (Source.ROUTEROS,), Owner.PEMDA, parent="a-router")
    app = NetmonApp(Config(sites={"kim-a": site}, devices={"a-router": router, "a-ap": ap}))
    now = time.time()
    app.on_result(PollResult("a-router", Source.ROUTEROS, now, 0.1, neighbours=("10.20.1.2",)))
    assert app.alerts.open_incidents() == []
    for i in range(3):
        app.on_result(PollResult("a-router", Source.ROUTEROS, now + 60 * (i + 1), 0.1,
                                 neighbours=("10.20.1.2", "10.20.1.99")))
    incidents = app.alerts.open_incidents()
    assert [(i.rule, i.site) for i in incidents] == [("unknown_device", "kim-a")]
    assert "10.20.1.99" in incidents[0].subject


def _app(*devices: Device) -> NetmonApp:
    site = Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")
    return NetmonApp(Config(sites={"kim-a": site}, devices={d.id: d for d in devices}))


def _incident_facts(app: NetmonApp) -> list[tuple[str, str, str | None, str, str]]:
    return [(i.rule, i.subject, i.site, i.severity.value, i.summary) for i in app.alerts.open_incidents()]


@pytest.mark.integration
async def test_an_snmp_only_router_raises_the_same_unknown_equipment_alert_as_the_api(snmpsim: SnmpSim) -> None:
    """routeros_rb750gr3 (served by snmpsim) hears sw11.mzmol by LLDP at 169.254.9.11, which no inventory
    device has: the SNMP-only router raises exactly what RouterOS `/ip/neighbor` would."""
    snmp_router = Device("a-router", "kim-a", Role.ROUTER, snmpsim.host, (Source.SNMP,), Owner.PEMDA,
                         snmp=SnmpSettings(auth=SnmpV2cAuth(Secret("routeros_rb750gr3")), port=snmpsim.port,
                                           timeout_s=2, retries=1))
    collector = SnmpCollector(load_profiles())
    try:
        result = await collector.poll(snmp_router)
    finally:
        await collector.close()
    assert result.ok and result.neighbours == ("169.254.9.11",)
    over_snmp = _app(snmp_router)
    over_snmp.on_result(result)

    api_router = Device("a-router", "kim-a", Role.ROUTER, "10.20.1.1", (Source.ROUTEROS,), Owner.PEMDA)
    over_api = _app(api_router)
    over_api.on_result(PollResult("a-router", Source.ROUTEROS, result.started_at, result.duration_s,
                                  neighbours=("169.254.9.11",)))
    assert _incident_facts(over_snmp) == _incident_facts(over_api)
    assert [(rule, subject) for rule, subject, *_ in _incident_facts(over_snmp)] == [
        ("unknown_device", "kim-a/ip:169.254.9.11")]


def test_a_router_polled_both_ways_feeds_neighbours_from_one_source_api_first() -> None:
    """As for metrics: the API's `/ip/neighbor` when it answers and has the menu, else SNMP's LLDP/MNDP."""
    router = Device("a-router", "kim-a", Role.ROUTER, "10.20.1.1", (Source.ROUTEROS, Source.SNMP), Owner.PEMDA)
    app = _app(router)
    t = 1_700_000_000.0

    def subjects() -> set[str]:
        return {i.subject for i in app.alerts.open_incidents()}

    app.on_result(PollResult("a-router", Source.ROUTEROS, t, 0.1, neighbours=("10.20.1.99",)))
    app.on_result(PollResult("a-router", Source.SNMP, t + 1, 0.1, neighbours=("10.20.1.99", "10.20.1.50")))
    assert subjects() == {"kim-a/ip:10.20.1.99"}  # SNMP's reading is the API's business while it answers
    app.on_result(PollResult("a-router", Source.ROUTEROS, t + 60, 0.1, neighbours=()))
    app.on_result(PollResult("a-router", Source.SNMP, t + 61, 0.1, neighbours=("10.20.1.50",)))
    assert "kim-a/ip:10.20.1.50" not in subjects()  # the API read /ip/neighbor and found nobody new
    app.on_result(PollResult("a-router", Source.ROUTEROS, t + 120, 0.1, error=DeviceUnreachable("timeout")))
    app.on_result(PollResult("a-router", Source.SNMP, t + 121, 0.1, neighbours=("10.20.1.50",)))
    assert "kim-a/ip:10.20.1.50" in subjects()  # the API does not answer: SNMP's tables take over


def test_snmp_feeds_neighbours_when_the_router_has_no_ip_neighbor_menu() -> None:
    router = Device("a-router", "kim-a", Role.ROUTER, "10.20.1.1", (Source.ROUTEROS, Source.SNMP), Owner.PEMDA)
    app = _app(router)
    t = 1_700_000_000.0
    app.on_result(PollResult("a-router", Source.ROUTEROS, t, 0.1, neighbours=None))  # menu not available
    app.on_result(PollResult("a-router", Source.SNMP, t + 1, 0.1, neighbours=("10.20.1.50",)))
    assert [i.subject for i in app.alerts.open_incidents()] == ["kim-a/ip:10.20.1.50"]
