"""Closed sets are enums (StrEnum): the strings stored in the database and sent in MQTT/JSON payloads stay what
they were, and what storage reads back is the enum again."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from alerts import topic
from netmon.model import Incident, IncidentKind, Owner, Severity, Ticket, TicketState, Transition
from netmon.storage.read import incident_from_row, ticket_from_row

T0 = 1_767_225_600.0
INCIDENT = Incident("inc-1", "device_down", "kim-a-router", IncidentKind.DEVICE, Severity.CRITICAL, T0, Owner.PEMDA,
                    "Banyumas", "Baturraden", site="kim-a", device="kim-a-router")
TICKET = Ticket("NETMON-2026-000001", "inc-1", TicketState.ACKNOWLEDGED, T0, T0 + 60)


@pytest.mark.parametrize(("enum", "values"), [
    (Transition, ["firing", "resolved"]),
    (IncidentKind, ["device", "site", "area", "metric"]),
    (TicketState, ["open", "acknowledged", "resolved"]),
], ids=["transition", "incident-kind", "ticket-state"])
def test_enum_values_are_the_strings_stored_and_sent_before(enum: type, values: list[str]) -> None:
    assert [member.value for member in enum] == values
    assert all(enum(value) == value and str(enum(value)) == value for value in values)


def test_payloads_carry_the_plain_strings() -> None:
    incident = json.loads(json.dumps(topic.incident_event("netmon", INCIDENT)["payload"]))
    ticket = json.loads(json.dumps(topic.ticket_event("netmon", TICKET, INCIDENT)["payload"]))
    assert incident["kind"] == "device" and ticket["state"] == "acknowledged" and ticket["kind"] == "device"


def test_rows_read_back_as_enums() -> None:
    row = SimpleNamespace(id="inc-1", rule="site_down", subject="kim-a", kind="site", severity="critical",
                          opened_at=T0, owner="pemda", kabupaten="Banyumas", kecamatan="Baturraden", site="kim-a",
                          device=None, members="[]", acknowledged_at=None, acknowledged_by=None, escalated_at=None,
                          resolved_at=None, summary="", detected_at=None)
    assert incident_from_row(row).kind is IncidentKind.SITE
    ticket = ticket_from_row(SimpleNamespace(id=TICKET.id, incident="inc-1", state="resolved", opened_at=T0,
                                             updated_at=T0, external_refs="[]"))
    assert ticket.state is TicketState.RESOLVED
    assert replace(ticket, state=TicketState.OPEN).state == "open"
