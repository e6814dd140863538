"""Helpdesk tickets: exactly one per incident, opened, updated and resolved by itself (pure, no I/O).

`TicketBook.apply(change)` turns incident changes into `TicketAction`s for the ticket sinks. Ids look like
"NETMON-2026-123456": the year (local, in the site's zone) the incident began and six digits from a hash of
the incident id, so a restart or a retried change re-derives the same ticket; `restore` adopts the tickets kept
by storage, and a (rare) hash collision with another incident's ticket takes the next free number. A change the book has
already turned into an action (same ticket and kind of change) yields nothing: sinks see each action once
per book, and `TicketAction.key` lets a durable outbox drop duplicates across restarts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from alerts.incident import IncidentChange
from alerts.message import incident_zone, render
from netmon.model import DEFAULT_TIMEZONE, Device, Incident, Site, Ticket, TicketState, TimeZone, site_index

TicketKind = Literal["open", "update", "resolve"]


@dataclass(frozen=True, slots=True)
class TicketAction:
    kind: TicketKind
    ticket: Ticket
    incident: Incident
    at: float
    text: str  # plain text for the helpdesk: what happened, where, what to check
    reason: str = ""  # the incident change behind it: opened, escalated, acknowledged, updated, resolved, folded
    subject: str = ""  # the message's subject line ("[PULIH] AP KIM Ketenger (...) kembali terjangkau")

    @property
    def key(self) -> str:
        """Idempotency key for outboxes and sinks: the same for a re-derived or retried action."""
        if self.reason == "updated":
            return f"{self.ticket.id}:updated:{','.join(self.incident.members)}"
        return f"{self.ticket.id}:{self.reason or self.kind}"


def ticket_id(incident: Incident, *, prefix: str = "NETMON", salt: int = 0,
              zone: TimeZone = DEFAULT_TIMEZONE) -> str:
    year = zone.local(incident.opened_at).year
    number = (int(hashlib.sha256(incident.id.encode()).hexdigest(), 16) + salt) % 1_000_000
    return f"{prefix}-{year}-{number:06d}"


class TicketBook:
    def __init__(self, devices: Mapping[str, Device], sites: Mapping[str, Site], *, prefix: str = "NETMON",
                 language: str = "id") -> None:
        self._devices = devices
        self._sites = sites
        self._by_site = site_index(devices)
        self._prefix = prefix
        self._language = language
        self._by_incident: dict[str, Ticket] = {}
        self._ids: dict[str, str] = {}  # ticket id -> incident id

    def apply(self, change: IncidentChange) -> list[TicketAction]:
        incident, at = change.incident, change.at
        ticket = self._by_incident.get(incident.id)
        if change.kind == "opened":
            if ticket is not None:
                return []  # a retried or re-derived "opened": the ticket exists already
            ticket = self._store(Ticket(self._new_id(incident), incident.id, TicketState.OPEN, at, at))
            text, subject = self._text(incident, "opened")
            return [TicketAction("open", ticket, incident, at, text, "opened", subject)]
        if ticket is None or ticket.state is TicketState.RESOLVED:
            return []
        if change.kind in ("resolved", "folded"):
            ticket = self._store(replace(ticket, state=TicketState.RESOLVED, updated_at=at))
            text, subject = self._text(incident, change.kind, into=change.into)
            return [TicketAction("resolve", ticket, incident, at, text, change.kind, subject)]
        if change.kind == "acknowledged":
            if ticket.state is TicketState.ACKNOWLEDGED:
                return []
            ticket = self._store(replace(ticket, state=TicketState.ACKNOWLEDGED, updated_at=at))
        else:
            ticket = self._store(replace(ticket, updated_at=at))
        text, subject = self._text(incident, change.kind)
        return [TicketAction("update", ticket, incident, at, text, change.kind, subject)]

    def restore(self, tickets: Iterable[Ticket]) -> None:
        for ticket in tickets:
            kept = self._by_incident.get(ticket.incident)
            if kept is None or ticket.opened_at < kept.opened_at:
                self._store(ticket)

    def get(self, incident_id: str) -> Ticket | None:
        return self._by_incident.get(incident_id)

    def tickets(self) -> list[Ticket]:
        return sorted(self._by_incident.values(), key=lambda t: (t.opened_at, t.id))

    def _store(self, ticket: Ticket) -> Ticket:
        self._by_incident[ticket.incident] = ticket
        self._ids[ticket.id] = ticket.incident
        return ticket

    def _new_id(self, incident: Incident) -> str:
        salt = 0
        while True:
            candidate = ticket_id(incident, prefix=self._prefix, salt=salt,
                                  zone=incident_zone(incident, self._devices, self._sites))
            if self._ids.get(candidate, incident.id) == incident.id:
                return candidate
            salt += 1

    def _text(self, incident: Incident, kind: str, *, into: str | None = None) -> tuple[str, str]:
        """The helpdesk text (subject line, blank line, body) and the subject."""
        ticket = self._by_incident.get(incident.id)
        into_ticket = self._by_incident.get(into) if into else None
        message = render(incident, self._devices, self._sites, language=self._language, kind=kind,
                         ticket=ticket, into=into_ticket, by_site=self._by_site)
        return f"{message.subject}\n\n{message.body}", message.subject
