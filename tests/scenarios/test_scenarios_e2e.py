"""Issue 11's scenario suite, with real processes (world.py): the demo's three sites in Kabupaten Banyumas
(Karangmangu and Ketenger in kecamatan Baturraden, Kotayasa in Sumbang), stopped and started through the
simulator's stdin as power cuts and broken devices would. Each test runs two scenarios at once on sites that
cannot interact (different kecamatan, or one of them not a site failure), on one daemon.

For every scenario, asserted exactly: the outage spans (device, cause; start = first failed poll and end = first
good poll, within one poll interval of the simulator's stop/start instant), the incidents (rule, subject, opened
at the episode's first failed poll, resolved at the first good poll that ended it), one ticket per incident, the
mails (ticket open + resolve to the helpdesk, threaded; GANGGUAN + PULIH notification to the Diskominfo channel)
and the MQTT events (outage, incident, ticket; the device's up/down states, which are what the flap detector
counts). docs/state.md and docs/alerts.md ("Scenarios, end to end") list what each scenario produces.

The pure versions of these scenarios, on an injected clock, are tests/alerts/test_alert_causes.py; these agree."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from world import HELPDESK, NOC, TOGETHER_S, World, near, summary, wait_until

from netmon.model import Cause, Incident, Outage

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses loopback simulators")

KARANGMANGU = ("kim-karangmangu-router", "kim-karangmangu-ap")
KOTAYASA = ("kim-kotayasa-router", "kim-kotayasa-ap", "kim-kotayasa-hapax2")  # SNMP+API, SNMP, API only
KETENGER = ("kim-ketenger-router", "kim-ketenger-ap", "kim-ketenger-rb951")  # SNMP+API, SNMP, API only
SITES = ("kim-karangmangu", "kim-ketenger", "kim-kotayasa")
PLACE = {  # how a subject names what failed, and where
    "kim-karangmangu": "Lokasi KIM Sinar Karangmangu (Desa Karangmangu, Baturraden)",
    "kim-kotayasa": "Lokasi KIM Kotayasa Mandiri (Desa Kotayasa, Sumbang)",
    "kim-karangmangu-ap": "AP KIM Sinar Karangmangu (Desa Karangmangu, Baturraden)",
    "kim-kotayasa-ap": "AP KIM Kotayasa Mandiri (Desa Kotayasa, Sumbang)",
}


def settled(w: World, incidents: int) -> None:
    """Until `incidents` incidents exist, all resolved, and no outage is open; then two more rounds of polls, in
    which anything the daemon must not raise (a late device_down) would have its chance. Flapping needs 4 up/down
    transitions of a device: each test asserts from MQTT that every device made exactly 2."""
    def done() -> bool:
        rows = w.incidents()
        return len(rows) >= incidents and not any(i.open for i in rows) and not any(
            o.open for o in w.outages(*SITES))

    wait_until(done, f"{incidents} incidents resolved and no outage open")
    w.wait_polls(2)


def spans(w: World, *sites: str) -> list[tuple[str, Cause]]:
    return sorted((o.device, o.cause) for o in w.outages(*sites))


def span(w: World, device: str, cause: Cause) -> Outage:
    return next(o for o in w.outages(*SITES) if o.device == device and o.cause is cause)


def incident(w: World, rule: str, subject: str) -> Incident:
    found = [i for i in w.incidents() if (i.rule, i.subject) == (rule, subject)]
    assert len(found) == 1, summary(w)
    return found[0]


def down_up(place: str) -> tuple[str, str]:
    return f"{place} tidak terjangkau", f"{place} kembali terjangkau"


AREA = ("Gangguan wilayah Kecamatan Baturraden: 2 lokasi KIM tidak terjangkau",
        "Gangguan wilayah Kecamatan Baturraden berakhir: 2 lokasi KIM kembali terjangkau")


def assert_told(w: World, inc: Incident, phrases: tuple[str, str]) -> None:
    """One ticket; its open and resolve mails to the helpdesk (threaded), GANGGUAN and PULIH to the channel; its
    incident and ticket events on MQTT: opened, resolved."""
    tickets = [t for t in w.tickets() if t.incident == inc.id]
    assert len(tickets) == 1, summary(w)
    ticket = tickets[0].id
    opened, resolved = f"[GANGGUAN] {phrases[0]}", f"[PULIH] {phrases[1]}"

    def helpdesk() -> list[Any]:
        return [m for m in w.mails(HELPDESK) if str(m["Subject"]).startswith(f"[{ticket}] ")]

    def noc() -> list[str]:
        return [str(m["Subject"]) for m in w.mails(NOC) if str(m["Subject"]) in (opened, resolved)]

    def posted() -> list[tuple[str, str]]:
        return [(kind, title) for kind, title in w.posted() if title in (opened, resolved)]

    wait_until(lambda: len(helpdesk()) >= 2 and len(noc()) >= 2 and len(posted()) >= 2, f"the mails of {ticket}")
    assert [(m["X-Netmon-Event"], str(m["Subject"])) for m in helpdesk()] == [
        ("open", f"[{ticket}] {opened}"), ("resolve", f"[{ticket}] {resolved}")], summary(w)
    assert str(helpdesk()[0]["Message-ID"]) in str(helpdesk()[1]["In-Reply-To"])  # one thread
    assert noc() == [opened, resolved], summary(w)
    assert posted() == [("failure", opened), ("success", resolved)]  # critical, then a recovery
    wait_until(lambda: w.incident_events(inc.id) == ["open", "resolved"] and w.ticket_events(ticket) == [
        "open", "resolved"], f"the MQTT events of {inc.id}")


def assert_span(w: World, device: str, cause: Cause, *, began: float, ended: float) -> Outage:
    found = span(w, device, cause)
    assert near(found.started_at, began), (device, found.started_at - began)
    assert near(found.ended_at, ended), (device, (found.ended_at or 0) - ended)
    assert found.detected_at is not None and found.started_at < found.detected_at
    return found


def not_down(w: World, device: str) -> Callable[[], bool]:
    return lambda: w.states().get(device) in ("up", "degraded")


def test_an_ap_fails_alone_and_a_site_loses_power_and_comes_back_together_on_postgresql(
        world: Callable[[str], World]) -> None:
    w = world("postgresql")
    w.stop("kim-kotayasa-ap")
    w.stop(*KARANGMANGU)
    wait_until(lambda: {i.rule for i in w.incidents()} == {"device_down", "site_down"}, "both incidents")
    w.start("kim-kotayasa-ap", *KARANGMANGU)
    settled(w, 2)

    assert spans(w, "kim-kotayasa") == [("kim-kotayasa-ap", Cause.DEVICE)], summary(w)
    ap = assert_span(w, "kim-kotayasa-ap", Cause.DEVICE, began=w.stopped["kim-kotayasa-ap"],
                     ended=w.started["kim-kotayasa-ap"])
    assert spans(w, "kim-karangmangu") == [("kim-karangmangu-ap", Cause.SITE), ("kim-karangmangu-router", Cause.SITE)]
    cut = [assert_span(w, d, Cause.SITE, began=w.stopped[d], ended=w.started[d]) for d in KARANGMANGU]

    assert sorted((i.rule, i.subject) for i in w.incidents()) == [("device_down", "kim-kotayasa-ap"),
                                                                  ("site_down", "kim-karangmangu")]
    down = incident(w, "device_down", "kim-kotayasa-ap")
    assert (down.opened_at, down.resolved_at) == (ap.started_at, ap.ended_at)
    site = incident(w, "site_down", "kim-karangmangu")
    assert (site.opened_at, site.resolved_at) == (min(o.started_at for o in cut), max(o.ended_at or 0 for o in cut))
    assert_told(w, down, down_up(PLACE["kim-kotayasa-ap"]))
    assert_told(w, site, down_up(PLACE["kim-karangmangu"]))
    assert (len(w.smtp.messages), len(w.posted())) == (8, 4)
    assert w.outage_events("kim-kotayasa-ap") == [("device", True), ("device", False)]
    for device in KARANGMANGU:
        assert w.outage_events(device) == [("site", True), ("site", False)]
        assert w.transitions(device) == ["up", "down", "up"]
    assert w.transitions("kim-kotayasa-ap") == ["up", "down", "up"]


def test_power_cuts_with_the_router_back_first_and_with_the_ap_back_first_including_routeros_only_routers(
        world: Callable[[str], World]) -> None:
    """Karangmangu: the router is started and, once it answers, the AP. Kotayasa (its router polled over SNMP and
    the API, and a RouterOS-only hAP ax2): the AP is started and, once it answers, both routers."""
    w = world("sqlite")
    w.stop(*KARANGMANGU, *KOTAYASA)
    wait_until(lambda: sorted(i.subject for i in w.incidents()) == ["kim-karangmangu", "kim-kotayasa"],
               "two site incidents")
    w.start("kim-karangmangu-router", "kim-kotayasa-ap")
    wait_until(lambda: not_down(w, "kim-karangmangu-router")() and not_down(w, "kim-kotayasa-ap")(), "first back")
    w.start("kim-karangmangu-ap", "kim-kotayasa-router", "kim-kotayasa-hapax2")
    settled(w, 2)

    for site, devices in (("kim-karangmangu", KARANGMANGU), ("kim-kotayasa", KOTAYASA)):
        assert spans(w, site) == sorted((d, Cause.SITE) for d in devices), summary(w)
        cut = [assert_span(w, d, Cause.SITE, began=w.stopped[d], ended=w.started[d]) for d in devices]
        inc = incident(w, "site_down", site)
        assert (inc.opened_at, inc.resolved_at) == (min(o.started_at for o in cut),
                                                    max(o.ended_at or 0 for o in cut))
        assert_told(w, inc, down_up(PLACE[site]))
        for device in devices:
            assert w.outage_events(device) == [("site", True), ("site", False)], device
            assert w.transitions(device) == ["up", "down", "up"], device
    assert [i.rule for i in w.incidents()] == ["site_down", "site_down"]  # no device_down, no flapping
    assert (len(w.smtp.messages), len(w.posted())) == (8, 4)


def test_a_kecamatan_power_cut_is_one_area_incident_and_a_parent_failing_after_its_child_is_a_site_failure(
        world: Callable[[str], World]) -> None:
    """Baturraden (Karangmangu and Ketenger, 5 devices, one of them RouterOS-only) loses power; the devices come
    back in two waves. Meanwhile in Sumbang the Kotayasa AP fails alone and, after its device_down is raised,
    the site loses power; all three come back together."""
    w = world("sqlite")
    w.stop("kim-kotayasa-ap")
    wait_until(lambda: [i.subject for i in w.incidents()] == ["kim-kotayasa-ap"], "the AP's device_down")
    w.stop(*KARANGMANGU, *KETENGER, "kim-kotayasa-router", "kim-kotayasa-hapax2")
    wait_until(lambda: sorted(i.rule for i in w.incidents()) == ["area_outage", "device_down", "site_down"],
               "the area incident and Kotayasa's site incident")
    w.start("kim-ketenger-ap", "kim-karangmangu-router")
    wait_until(lambda: not_down(w, "kim-ketenger-ap")() and not_down(w, "kim-karangmangu-router")(), "first wave")
    w.start("kim-karangmangu-ap", "kim-ketenger-router", "kim-ketenger-rb951", *KOTAYASA)
    settled(w, 3)

    baturraden = KARANGMANGU + KETENGER
    assert spans(w, "kim-karangmangu", "kim-ketenger") == sorted((d, Cause.SITE) for d in baturraden), summary(w)
    cut = [assert_span(w, d, Cause.SITE, began=w.stopped[d], ended=w.started[d]) for d in baturraden]
    area = incident(w, "area_outage", "kecamatan:Baturraden")
    assert area.members == ("kim-karangmangu", "kim-ketenger")
    assert (area.opened_at, area.resolved_at) == (min(o.started_at for o in cut), max(o.ended_at or 0 for o in cut))
    assert_told(w, area, AREA)

    assert spans(w, "kim-kotayasa") == sorted([("kim-kotayasa-ap", Cause.DEVICE), ("kim-kotayasa-router", Cause.SITE),
                                               ("kim-kotayasa-hapax2", Cause.SITE)]), summary(w)
    ap = assert_span(w, "kim-kotayasa-ap", Cause.DEVICE, began=w.stopped["kim-kotayasa-ap"],
                     ended=w.started["kim-kotayasa-ap"])
    power = [assert_span(w, d, Cause.SITE, began=w.stopped[d], ended=w.started[d])
             for d in ("kim-kotayasa-router", "kim-kotayasa-hapax2")]
    down = incident(w, "device_down", "kim-kotayasa-ap")
    assert (down.opened_at, down.resolved_at) == (ap.started_at, ap.ended_at)
    site = incident(w, "site_down", "kim-kotayasa")
    assert (site.opened_at, site.resolved_at) == (min(o.started_at for o in power),
                                                  max(o.ended_at or 0 for o in power))
    assert_told(w, down, down_up(PLACE["kim-kotayasa-ap"]))
    assert_told(w, site, down_up(PLACE["kim-kotayasa"]))
    assert (len(w.incidents()), len(w.smtp.messages), len(w.posted())) == (3, 12, 6), summary(w)
    for device in (*baturraden, *KOTAYASA):
        assert w.transitions(device) == ["up", "down", "up"], device
        cause = "device" if device == "kim-kotayasa-ap" else "site"
        assert w.outage_events(device) == [(cause, True), (cause, False)], device


def test_a_router_back_while_its_ap_stays_broken_and_an_smtp_outage_while_an_outage_opens(
        world: Callable[[str], World]) -> None:
    """Karangmangu loses power; the router comes back, the AP does not (it is broken): from the router's return the
    AP's outage is its own (a second span, cause device). Meanwhile the SMTP server is down while the Kotayasa AP
    fails: its mails, and Karangmangu's, go out in order once the server is back, nothing lost."""
    w = world("sqlite")
    w.smtp.stop()
    w.stop(*KARANGMANGU)
    w.stop("kim-kotayasa-ap")
    wait_until(lambda: sorted(i.rule for i in w.incidents()) == ["device_down", "site_down"], "both incidents")
    assert w.smtp.messages == []
    w.smtp.start()
    wait_until(lambda: len(w.smtp.messages) >= 4, "the queued mails, once the SMTP server is back")
    w.start("kim-karangmangu-router")
    wait_until(lambda: sorted(i.subject for i in w.incidents() if i.open) == ["kim-karangmangu-ap", "kim-kotayasa-ap"],
               "the Karangmangu AP's own device_down")
    w.start("kim-karangmangu-ap", "kim-kotayasa-ap")
    settled(w, 3)

    assert spans(w, "kim-karangmangu") == sorted([("kim-karangmangu-router", Cause.SITE),
                                                  ("kim-karangmangu-ap", Cause.SITE),
                                                  ("kim-karangmangu-ap", Cause.DEVICE)]), summary(w)
    router = assert_span(w, "kim-karangmangu-router", Cause.SITE, began=w.stopped["kim-karangmangu-router"],
                         ended=w.started["kim-karangmangu-router"])
    ap_site, ap_own = span(w, "kim-karangmangu-ap", Cause.SITE), span(w, "kim-karangmangu-ap", Cause.DEVICE)
    assert near(ap_site.started_at, w.stopped["kim-karangmangu-ap"])
    assert ap_site.ended_at == router.ended_at == ap_own.started_at  # the site came back: from then on its own
    assert ap_own.episode == ap_site.id != ap_own.id
    assert ap_own.detected_at is not None and ap_own.detected_at >= router.ended_at + TOGETHER_S
    assert near(ap_own.ended_at, w.started["kim-karangmangu-ap"])
    site = incident(w, "site_down", "kim-karangmangu")
    assert (site.opened_at, site.resolved_at) == (min(router.started_at, ap_site.started_at), router.ended_at)
    own = incident(w, "device_down", "kim-karangmangu-ap")
    assert (own.opened_at, own.resolved_at) == (ap_own.started_at, ap_own.ended_at)
    assert w.outage_events("kim-karangmangu-router") == [("site", True), ("site", False)]
    assert w.outage_events("kim-karangmangu-ap") == [("site", True), ("site", False), ("device", True),
                                                     ("device", False)]
    assert w.transitions("kim-karangmangu-ap") == ["up", "down", "up"]  # one failure: nothing to flap

    ap = assert_span(w, "kim-kotayasa-ap", Cause.DEVICE, began=w.stopped["kim-kotayasa-ap"],
                     ended=w.started["kim-kotayasa-ap"])
    down = incident(w, "device_down", "kim-kotayasa-ap")
    assert (down.opened_at, down.resolved_at) == (ap.started_at, ap.ended_at)
    assert len(w.incidents()) == 3
    for inc, place in ((site, PLACE["kim-karangmangu"]), (own, PLACE["kim-karangmangu-ap"]),
                       (down, PLACE["kim-kotayasa-ap"])):
        assert_told(w, inc, down_up(place))
    assert (len(w.smtp.messages), len(w.posted())) == (12, 6)
    # nothing lost and in order: the mails queued while the server was down are the two openings; each
    # destination (the helpdesk's ticket mail, the channel's notifications) gets them in the order they were raised
    # (two incidents raised in one evaluation share their detected_at: then either order is the order raised, but
    # both destinations must agree on it)
    title = {i.id: f"[GANGGUAN] {PLACE[i.subject]} tidak terjangkau" for i in (site, down)}
    noc = [str(m["Subject"]) for m in w.mails(NOC)[:2]]
    assert sorted(noc) == sorted(title.values())
    assert [str(m["Subject"]).split("] ", 1)[1] for m in w.mails(HELPDESK)[:2]] == noc
    if site.detected_at != down.detected_at:
        assert noc == [title[i.id] for i in sorted([site, down], key=lambda i: i.detected_at or 0)]
