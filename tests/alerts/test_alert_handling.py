"""The rules of `netmon tickets ack|resolve` (alerts.handling), without a database: what is written, and what
is refused with which one line."""

from __future__ import annotations

import dataclasses

import pytest

from alerts.handling import acknowledge, resolve
from netmon.errors import TicketNotApplicable
from netmon.model import Incident, Owner, Severity, Ticket

T0 = 1_780_000_000.0
NOW = T0 + 600
INCIDENT = Incident("inc-1", "device_down", "ap-1", "device", Severity.CRITICAL, T0, Owner.PEMDA, "Banyumas",
                    "Baturraden", site="kim-a", device="ap-1")
TICKET = Ticket("NETMON-2026-000001", "inc-1", "open", T0, T0, (("mail", "<m1@netmon>"),))


def test_ack_records_who_and_when_and_moves_the_ticket_to_acknowledged() -> None:
    incident, ticket = acknowledge(TICKET.id, [TICKET], [INCIDENT], by="Budi", at=NOW)
    assert incident == dataclasses.replace(INCIDENT, acknowledged_at=NOW, acknowledged_by="Budi")
    assert ticket == Ticket(TICKET.id, "inc-1", "acknowledged", T0, NOW, TICKET.external_refs)


def test_a_second_ack_keeps_the_first_ones_name_and_time() -> None:
    taken = dataclasses.replace(INCIDENT, acknowledged_at=T0 + 60, acknowledged_by="Budi")
    incident, ticket = acknowledge(TICKET.id, [TICKET], [taken], by="Sari", at=NOW)
    assert (incident.acknowledged_by, incident.acknowledged_at) == ("Budi", T0 + 60)
    assert (ticket.state, ticket.updated_at) == ("acknowledged", NOW)


@pytest.mark.parametrize(("tickets", "incidents", "message"), [
    pytest.param([], [INCIDENT], "no ticket NETMON-2026-000001", id="no-such-ticket"),
    pytest.param([TICKET], [], "no ticket NETMON-2026-000001", id="incident-lost"),
    pytest.param([TICKET], [dataclasses.replace(INCIDENT, resolved_at=T0 + 60)],
                 "NETMON-2026-000001 is already resolved", id="already-resolved"),
])
def test_ack_refuses(tickets: list[Ticket], incidents: list[Incident], message: str) -> None:
    with pytest.raises(TicketNotApplicable) as raised:
        acknowledge(TICKET.id, tickets, incidents, by="Budi", at=NOW)
    assert str(raised.value) == message


def test_resolve_refuses_an_open_incident_of_a_device_in_the_inventory() -> None:
    with pytest.raises(TicketNotApplicable, match="the incident is still open; it resolves itself on recovery"):
        resolve(TICKET.id, [TICKET], [INCIDENT], inventory={"ap-1"}, at=NOW)


def test_resolve_closes_the_ticket_and_the_incident_of_a_device_gone_from_the_inventory() -> None:
    ticket, incident = resolve(TICKET.id, [TICKET], [INCIDENT], inventory={"other"}, at=NOW)
    assert ticket == Ticket(TICKET.id, "inc-1", "resolved", T0, NOW, TICKET.external_refs)
    assert incident == dataclasses.replace(INCIDENT, resolved_at=NOW)


@pytest.mark.parametrize("incidents", [
    pytest.param([dataclasses.replace(INCIDENT, resolved_at=T0 + 60)], id="incident-ended"),
    pytest.param([], id="incident-lost"),
])
def test_resolve_of_an_ended_or_lost_incident_writes_the_ticket_alone(incidents: list[Incident]) -> None:
    assert resolve(TICKET.id, [TICKET], incidents, inventory={"ap-1"}, at=NOW) == [
        Ticket(TICKET.id, "inc-1", "resolved", T0, NOW, TICKET.external_refs)]


def test_resolve_of_an_unknown_ticket_says_so() -> None:
    with pytest.raises(TicketNotApplicable, match=r"^no ticket NETMON-2026-999999$"):
        resolve("NETMON-2026-999999", [TICKET], [INCIDENT], inventory=(), at=NOW)
