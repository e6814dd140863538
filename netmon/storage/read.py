"""Rows back into records (pure)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from netmon.model import (
    AssetRecord,
    Cause,
    Condition,
    Contact,
    Device,
    DeviceState,
    Incident,
    IncidentKind,
    Inspection,
    Outage,
    Owner,
    Role,
    Severity,
    Site,
    Source,
    StateChange,
    Status,
    StoredDiscovery,
    Ticket,
    TicketState,
)

ASSET_FIELDS = tuple(f.name for f in dataclasses.fields(AssetRecord))


def site_from_row(r: Any) -> Site:
    contact = Contact(r.contact_name, r.contact_phone, r.contact_email) if r.contact_name is not None else None
    return Site(r.id, r.name, r.desa, r.kecamatan, r.kabupaten, r.latitude, r.longitude, contact)


def device_from_row(r: Any) -> Device:
    asset = AssetRecord(**{name: getattr(r, name) for name in ASSET_FIELDS})
    sources = tuple(Source(s) for s in r.sources.split(",") if s)
    return Device(r.id, r.site, Role(r.role), r.address, sources, Owner(r.owner), asset, r.profile, r.parent,
                  r.interval_s)


def state_from_row(r: Any) -> DeviceState:
    return DeviceState(device=r.device, status=Status(r.status), since=r.since,
                       consecutive_failures=r.consecutive_failures, consecutive_successes=r.consecutive_successes,
                       last_error=r.last_error, last_good_poll=r.last_good_poll, uptime_s=r.uptime_s,
                       uptime_at=r.uptime_at, failing_since=r.failing_since,
                       answering_since=r.answering_since,
                       unknown_cause=Cause(r.unknown_cause) if r.unknown_cause else None)


def outage_from_row(r: Any) -> Outage:
    return Outage(r.id, r.device, r.site, r.started_at, Cause(r.cause), Status(r.status), r.ended_at,
                  detected_at=r.detected_at, episode=r.episode)


def state_change_from_row(r: Any) -> StateChange:
    return StateChange(r.device, Status(r.old_status), Status(r.new_status), r.at, r.reason)


def incident_from_row(r: Any) -> Incident:
    return Incident(id=r.id, rule=r.rule, subject=r.subject, kind=IncidentKind(r.kind), severity=Severity(r.severity),
                    opened_at=r.opened_at, owner=Owner(r.owner), kabupaten=r.kabupaten, kecamatan=r.kecamatan,
                    site=r.site, device=r.device, members=tuple(json.loads(r.members)),
                    acknowledged_at=r.acknowledged_at, acknowledged_by=r.acknowledged_by,
                    escalated_at=r.escalated_at, resolved_at=r.resolved_at, summary=r.summary,
                    detected_at=r.detected_at)


def ticket_from_row(r: Any) -> Ticket:
    refs = tuple((str(a), str(b)) for a, b in json.loads(r.external_refs))
    return Ticket(id=r.id, incident=r.incident, state=TicketState(r.state), opened_at=r.opened_at,
                  updated_at=r.updated_at, external_refs=refs)


def discovery_from_row(r: Any) -> StoredDiscovery:
    return StoredDiscovery(r.device, Source(r.source), r.discovered_at, r.fingerprint, r.payload)


def inspection_from_row(r: Any) -> Inspection:
    return Inspection(r.device, r.inspected_on, Condition(r.condition), r.note, r.inspected_by, r.recorded_at)
