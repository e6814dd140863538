"""Routing, durations and ticket records, table-driven (message texts: test_alert_messages.py)."""

from __future__ import annotations

import pytest
from alert_day import fleet, wib

from alerts.incident import IncidentChange, incident_id
from alerts.message import duration
from alerts.route import DEFAULT_ROUTES, AlertConfig, Channel, Escalation, RouteRule, route
from alerts.ticket import TicketBook, ticket_id
from netmon.errors import ConfigError
from netmon.model import Incident, Owner, Secret, Severity, Ticket

SITES, DEVICES = fleet()
CONFIG = AlertConfig(
    channels=(Channel("diskominfo", Secret("tgram://1:tok/-1")), Channel("kabid", Secret("mailto://a:b@c")),
              Channel("noc-purwokerto", Secret("json://noc.example/hook"), "en")),
    routes=(*DEFAULT_ROUTES,
            RouteRule(channels=("noc-purwokerto",), min_severity=Severity.CRITICAL,
                      kabupaten=frozenset({"Banyumas"}))),
    escalation=Escalation(1800.0, ("kabid",)),
)


def incident(rule: str = "device_down", subject: str = "kim-ketenger-ap", *, kind: str = "device",
             owner: Owner = Owner.PEMDA, severity: Severity = Severity.CRITICAL, kabupaten: str = "Banyumas",
             site: str | None = "ketenger", device: str | None = "kim-ketenger-ap",
             members: tuple[str, ...] = (), **extra: object) -> Incident:
    return Incident(incident_id(rule, subject, wib("10:01")), rule, subject, kind, severity, wib("10:01"), owner,
                    kabupaten, "Baturraden", site, device, members, **extra)  # type: ignore[arg-type]


ROUTES = {
    "pemda-critical": (incident(), "opened", ("diskominfo", "noc-purwokerto"), ()),
    "pemda-warning": (incident(severity=Severity.WARNING), "opened", ("diskominfo",), ()),
    "kim-owned": (incident(owner=Owner.KIM, severity=Severity.WARNING), "opened", (), ("Pengelola Ketenger",)),
    "other-kabupaten": (incident(kabupaten="Cilacap"), "opened", ("diskominfo",), ()),
    "escalated": (incident(escalated_at=wib("10:31")), "escalated", ("diskominfo", "noc-purwokerto", "kabid"), ()),
    "resolved-after-escalation": (incident(escalated_at=wib("10:31"), resolved_at=wib("11:00")), "resolved",
                                  ("diskominfo", "noc-purwokerto", "kabid"), ()),
    "ticket-only-change": (incident(), "acknowledged", (), ()),
    "kim-area": (incident("area_outage", "kecamatan:Baturraden", kind="area", owner=Owner.KIM, site=None,
                          device=None, members=("ketenger", "kemutug"), severity=Severity.WARNING),
                 "opened", (), ("Pengelola Ketenger", "Pengelola Kemutug")),
}


@pytest.mark.parametrize(("inc", "kind", "channels", "contacts"), ROUTES.values(), ids=ROUTES.keys())
def test_route(inc: Incident, kind: str, channels: tuple[str, ...], contacts: tuple[str, ...]) -> None:
    delivery = route(inc, SITES, CONFIG, kind=kind)
    assert tuple(c.name for c in delivery.channels) == channels
    assert tuple(c.name for c in delivery.contacts) == contacts


def test_config_rejects_unknown_channels_and_languages() -> None:
    with pytest.raises(ConfigError, match="unknown channel"):
        AlertConfig(routes=DEFAULT_ROUTES)
    with pytest.raises(ConfigError, match="language"):
        AlertConfig(language="jv")


def test_channel_url_never_shows_its_token() -> None:
    assert "tok" not in repr(CONFIG.channels[0]) and "tok" not in str(CONFIG)


@pytest.mark.parametrize(("seconds", "language", "text"), [
    (20, "id", "1 menit"), (3600, "id", "1 jam"), (90061, "id", "1 hari 1 jam 1 menit"), (5400, "en", "1 h 30 min"),
])
def test_duration(seconds: float, language: str, text: str) -> None:
    assert duration(seconds, language) == text


def test_one_ticket_per_incident_whatever_the_retries() -> None:
    book = TicketBook(DEVICES, SITES)
    inc = incident()
    opened = book.apply(IncidentChange("opened", inc, wib("10:02")))
    assert book.apply(IncidentChange("opened", inc, wib("10:03"))) == []
    escalated = book.apply(IncidentChange("escalated", inc, wib("10:32")))
    resolved = book.apply(IncidentChange("resolved", inc, wib("11:00")))
    assert book.apply(IncidentChange("resolved", inc, wib("11:01"))) == []
    assert [a.kind for a in opened + escalated + resolved] == ["open", "update", "resolve"]
    assert [a.subject for a in opened + escalated + resolved] == [
        "[GANGGUAN] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
        "[ESKALASI] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
        "[PULIH] AP KIM Ketenger (Desa Ketenger, Baturraden) kembali terjangkau"]
    assert opened[0].text.startswith(opened[0].subject + "\n\n")
    assert len({a.ticket.id for a in opened + escalated + resolved}) == 1
    assert opened[0].ticket.id == ticket_id(inc) and opened[0].ticket.id.startswith("NETMON-2026-")
    restored = TicketBook(DEVICES, SITES)
    restored.restore(book.tickets())
    assert restored.apply(IncidentChange("opened", inc, wib("10:05"))) == []


def test_ticket_id_collision_takes_the_next_number() -> None:
    book = TicketBook(DEVICES, SITES)
    first, second = incident(), incident(subject="kim-other-ap")
    taken = ticket_id(second)
    book.apply(IncidentChange("opened", first, wib("10:02")))
    book.restore([Ticket(taken, "someone-else", "open", 0.0, 0.0)])
    [action] = book.apply(IncidentChange("opened", second, wib("10:02")))
    assert action.ticket.id != taken and action.ticket.id.startswith("NETMON-2026-")
