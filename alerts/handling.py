"""What a person may do to a ticket by hand (`netmon tickets ack|resolve`), as pure rules: given the stored
tickets and incidents, the records to write, or a `TicketNotApplicable` saying why not.

- ack: the ticket's incident must exist and not be resolved. It records who took it and when (a second ack
  keeps the first one's name and time) and moves the ticket to `acknowledged`; the running daemon picks the
  acknowledgement up from storage and stops escalating.
- resolve: tickets close by themselves when their incident recovers. By hand, a ticket closes only when its
  incident has ended or its device is no longer in the inventory (the daemon could not close it); the
  incident is then marked resolved too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable

from netmon.errors import TicketNotApplicable
from netmon.model import Incident, Ticket, TicketState


def acknowledge(ticket_id: str, tickets: Iterable[Ticket], incidents: Iterable[Incident], *, by: str,
                at: float) -> list[Incident | Ticket]:
    ticket, incident = find(ticket_id, tickets, incidents)
    if incident is None:
        raise TicketNotApplicable(f"no ticket {ticket_id}")
    if incident.resolved_at is not None:
        raise TicketNotApplicable(f"{ticket_id} is already resolved")
    return [dataclasses.replace(incident, acknowledged_at=incident.acknowledged_at or at,
                                acknowledged_by=incident.acknowledged_by or by),
            Ticket(ticket.id, ticket.incident, TicketState.ACKNOWLEDGED, ticket.opened_at, at, ticket.external_refs)]


def resolve(ticket_id: str, tickets: Iterable[Ticket], incidents: Iterable[Incident], *,
            inventory: Collection[str], at: float) -> list[Incident | Ticket]:
    """`inventory`: the device ids of the config (empty without one: any ticket may be closed)."""
    ticket, incident = find(ticket_id, tickets, incidents)
    if incident is not None and incident.resolved_at is None and incident.device in inventory:
        raise TicketNotApplicable(f"{ticket_id}: the incident is still open; it resolves itself on recovery "
                          "(use `netmon tickets ack` to take it)")
    records: list[Incident | Ticket] = [Ticket(ticket.id, ticket.incident, TicketState.RESOLVED, ticket.opened_at, at,
                                               ticket.external_refs)]
    if incident is not None and incident.resolved_at is None:
        records.append(dataclasses.replace(incident, resolved_at=at))
    return records


def find(ticket_id: str, tickets: Iterable[Ticket], incidents: Iterable[Incident]) -> tuple[Ticket, Incident | None]:
    """The ticket and its incident (None when storage lost it); `TicketNotApplicable` when there is no such ticket."""
    ticket = next((t for t in tickets if t.id == ticket_id), None)
    if ticket is None:
        raise TicketNotApplicable(f"no ticket {ticket_id}")
    return ticket, next((i for i in incidents if i.id == ticket.incident), None)
