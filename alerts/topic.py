"""MQTT topics and payloads of kim-netmon events (docs/mqtt.md). Pure functions: no I/O, no aiomqtt.

Every event is an outbox item `{"id", "topic", "retain", "payload"}`. The payload carries `schema` (its version)
and `id`, the idempotency key: derived from what the event says (not when it was emitted), so the same event
published twice - an outbox replay, or a restart re-announcing a state - has the same id and receivers dedupe by it.

Payloads name devices, sites, desa, kecamatan and kabupaten, statuses and times. They never carry credentials,
addresses, contact details, client data or who acknowledged an incident.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

from netmon.model import Device, DeviceState, Incident, Outage, Site, Status, Ticket

SCHEMA = 1
AREA = "area"  # the segment under a kabupaten that holds area (kecamatan) incidents; no site can use it

_NOT_SLUG = re.compile(r"[^a-z0-9]+")

Payload = dict[str, Any]


def slug(text: str) -> str:
    """One topic segment: lowercase ASCII letters, digits and '-' (no '/', '+', '#', spaces or accents)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-") or "unknown"


def prefix_topic(prefix: str) -> str:
    """The configured prefix with each of its levels slugified ("Diskominfo/NetMon" -> "diskominfo/netmon")."""
    levels = [slug(level) for level in prefix.split("/") if level.strip()]
    return "/".join(levels) or "netmon"


def site_topic(prefix: str, kabupaten: str, site: str) -> str:
    segment = slug(site)
    if segment == AREA:
        segment = f"site-{AREA}"  # keep <kabupaten>/area/ for area incidents
    return f"{prefix_topic(prefix)}/{slug(kabupaten)}/{segment}"


def device_topic(prefix: str, kabupaten: str, site: str, device: str) -> str:
    return f"{site_topic(prefix, kabupaten, site)}/{slug(device)}"


def area_topic(prefix: str, kabupaten: str, kecamatan: str) -> str:
    return f"{prefix_topic(prefix)}/{slug(kabupaten)}/{AREA}/{slug(kecamatan)}"


def status_topic(prefix: str) -> str:
    """The daemon's own availability: retained "online", and "offline" (also the last will)."""
    return f"{prefix_topic(prefix)}/status"


def incident_base(prefix: str, incident: Incident) -> str:
    """Where an incident lives: under its device, its site, or its area (kecamatan)."""
    if incident.kind != "area" and incident.site is not None:
        if incident.kind != "site" and incident.device is not None:
            return device_topic(prefix, incident.kabupaten, incident.site, incident.device)
        return site_topic(prefix, incident.kabupaten, incident.site)
    return area_topic(prefix, incident.kabupaten, incident.kecamatan)


# --- payloads --------------------------------------------------------------------------------------------


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _times(name: str, at: float | None) -> Payload:
    if at is None:
        return {name: None, f"{name}_unix": None}
    return {name: iso(at), f"{name}_unix": round(at, 3)}


def _site_fields(site: Site) -> Payload:
    return {"site": site.id, "site_name": site.name, "desa": site.desa, "kecamatan": site.kecamatan,
            "kabupaten": site.kabupaten}


def _event(event: str, entity: str, topic: str, retain: bool, body: Payload, now: float | None) -> Payload:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{event}\n{entity}\n{canonical}".encode()).hexdigest()[:16]
    event_id = f"{event}/{entity}/{digest}"
    emitted = time.time() if now is None else now
    payload = {"schema": SCHEMA, "id": event_id, "event": event, **body, **_times("emitted_at", emitted)}
    return {"id": event_id, "topic": topic, "retain": retain, "payload": payload}


def device_state_event(prefix: str, device: Device, site: Site, state: DeviceState, *,
                       now: float | None = None) -> Payload:
    body = {"device": device.id, "role": str(device.role), "owner": str(device.owner), **_site_fields(site),
            "status": str(state.status), **_times("since", state.since),
            "consecutive_failures": state.consecutive_failures,
            # an `up` device has no current error: the one the state remembers is history, not news
            "last_error": None if state.status is Status.UP else state.last_error,
            **_times("last_good_poll", state.last_good_poll)}
    topic = device_topic(prefix, site.kabupaten, site.id, device.id) + "/state"
    return _event("device_state", device.id, topic, True, body, now)


def outage_event(prefix: str, device: Device, site: Site, outage: Outage, *, now: float | None = None) -> Payload:
    duration = None if outage.ended_at is None else round(outage.ended_at - outage.started_at, 3)
    body = {"outage": outage.id, "device": device.id, "role": str(device.role), "owner": str(device.owner),
            **_site_fields(site), "status": str(outage.status), "cause": str(outage.cause), "open": outage.open,
            **_times("started_at", outage.started_at), **_times("ended_at", outage.ended_at),
            **_times("detected_at", outage.detected_at), "episode": outage.episode or outage.id,
            "duration_s": duration}
    topic = device_topic(prefix, site.kabupaten, site.id, device.id) + "/outage"
    return _event("outage", outage.id, topic, False, body, now)


def incident_state(incident: Incident) -> str:
    if incident.resolved_at is not None:
        return "resolved"
    if incident.acknowledged_at is not None:
        return "acknowledged"
    return "open"


def _incident_fields(incident: Incident) -> Payload:
    return {"incident": incident.id, "kind": incident.kind, "kabupaten": incident.kabupaten,
            "kecamatan": incident.kecamatan, "site": incident.site, "device": incident.device}


def incident_event(prefix: str, incident: Incident, *, now: float | None = None) -> Payload:
    body = {**_incident_fields(incident), "rule": incident.rule, "subject": incident.subject,
            "severity": str(incident.severity), "owner": str(incident.owner), "state": incident_state(incident),
            "escalated": incident.escalated_at is not None, "members": list(incident.members),
            "summary": incident.summary, **_times("opened_at", incident.opened_at),
            **_times("acknowledged_at", incident.acknowledged_at), **_times("escalated_at", incident.escalated_at),
            **_times("resolved_at", incident.resolved_at)}
    return _event("incident", incident.id, incident_base(prefix, incident) + "/incident", False, body, now)


def ticket_event(prefix: str, ticket: Ticket, incident: Incident, *, now: float | None = None) -> Payload:
    body = {"ticket": ticket.id, **_incident_fields(incident), "state": ticket.state,
            "refs": {sink: ref for sink, ref in ticket.external_refs}, **_times("opened_at", ticket.opened_at),
            **_times("updated_at", ticket.updated_at)}
    return _event("ticket", ticket.id, incident_base(prefix, incident) + "/ticket", False, body, now)
