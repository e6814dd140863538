"""Incidents: alert events turned into the episodes people act on (pure, no I/O).

* One open incident per (rule, subject). A "firing" event for a pair that already has an open incident
  changes nothing (or updates its members); a "resolved" event closes it with the recovery time.
* The id is derived from rule, subject and the episode start rounded to the minute (`incident_id`), so a
  restarted daemon that re-derives the same episode gets the same id; `restore` adopts the open incidents
  kept by storage so nothing is opened twice.
* Folding: an area incident takes in the open site incidents of its member sites, and a flapping incident
  the open availability incident of its subject. A folded incident is closed with a "folded" change that
  names the incident it went into (no "recovered" message: it has not recovered).
* Escalation: an open incident of at least `escalate_min_severity` not acknowledged within
  `escalate_after_s` is escalated, once. The clock starts when the incident was raised (its episode may have
  begun earlier, e.g. an outage held back by a maintenance window); after a restart, at `opened_at`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from alerts.rules import AGENT_SILENT, AREA_OUTAGE, AVAILABILITY_RULES, DEVICE_DOWN, FLAPPING, SITE_DOWN
from netmon.model import AlertEvent, Device, Incident, IncidentKind, Owner, Severity, Site, Transition, site_index

ChangeKind = Literal["opened", "updated", "acknowledged", "escalated", "resolved", "folded"]
FOLDS: dict[str, tuple[str, ...]] = {AREA_OUTAGE: (SITE_DOWN,), FLAPPING: AVAILABILITY_RULES}
KINDS = {DEVICE_DOWN: IncidentKind.DEVICE, SITE_DOWN: IncidentKind.SITE, AREA_OUTAGE: IncidentKind.AREA}
OWNERS = {AGENT_SILENT: Owner.PEMDA}  # Diskominfo runs the agents and their uplinks, whoever owns the site's devices
RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class IncidentChange:
    kind: ChangeKind
    incident: Incident  # the incident after the change
    at: float
    into: str | None = None  # "folded": the id of the incident it was folded into


def incident_id(rule: str, subject: str, opened_at: float, *, exact: bool = False) -> str:
    """Stable id: the same rule, subject and episode start (to the minute) always give the same id. `exact`: to
    the millisecond, for a second episode that began in the same minute as one already closed (a flapping
    uplink): it must be an incident of its own, not an update of the closed one."""
    start = f"{opened_at:.3f}" if exact else str(int(opened_at // 60))
    digest = hashlib.sha256(f"{rule}|{subject}|{start}".encode()).hexdigest()
    return f"inc-{digest[:16]}"


def owner_of(devices: Iterable[Device]) -> Owner:
    """Who must hear of a failure involving `devices`: pemda if any is pemda's, else kim, else other."""
    owners = {d.owner for d in devices}
    return next((o for o in (Owner.PEMDA, Owner.KIM) if o in owners), Owner.OTHER)


class IncidentBook:
    def __init__(self, devices: Mapping[str, Device], sites: Mapping[str, Site], *,
                 escalate_after_s: float | None = 1800.0,
                 escalate_min_severity: Severity = Severity.WARNING) -> None:
        self._devices = devices
        self._sites = sites
        self._by_site = site_index(devices)
        self._escalate_after_s = escalate_after_s
        self._escalate_min = escalate_min_severity
        self._open: dict[tuple[str, str], Incident] = {}
        self._raised: dict[str, float] = {}  # incident id -> when this book opened it (escalation clock)
        self._closed: dict[str, float] = {}  # ids of incidents this book resolved -> when (the last hour's)

    # --- inputs ---

    def apply(self, event: AlertEvent, *, started_at: float | None = None) -> list[IncidentChange]:
        """Open, update or resolve the incident of `event`. `started_at` dates the episode (default `at`)."""
        key = (event.rule, event.subject)
        current = self._open.get(key)
        if event.transition is Transition.RESOLVED:
            if current is None:
                return []
            del self._open[key]
            self._raised.pop(current.id, None)
            self._closed = {i: at for i, at in self._closed.items() if at > event.at - 3600} | {current.id: event.at}
            return [IncidentChange("resolved", replace(current, resolved_at=event.at), event.at)]
        if current is not None:  # the alert fires on: at most new members (its level, after every step)
            members = tuple(dict.fromkeys((*current.members, *_members(event))))
            if members == current.members:
                return []
            updated = self._open[key] = replace(current, members=members)
            return [IncidentChange("updated", updated, event.at), *self._fold(updated, event.at)]
        incident = self._open[key] = self._build(event, event.at if started_at is None else started_at)
        self._raised[incident.id] = event.at
        return [IncidentChange("opened", incident, event.at), *self._fold(incident, event.at)]

    def ack(self, incident_id: str, by: str, at: float) -> list[IncidentChange]:
        for key, incident in self._open.items():
            if incident.id == incident_id and incident.acknowledged_at is None:
                acked = self._open[key] = replace(incident, acknowledged_at=at, acknowledged_by=by)
                return [IncidentChange("acknowledged", acked, at)]
        return []

    def tick(self, at: float) -> list[IncidentChange]:
        if self._escalate_after_s is None:
            return []
        changes = []
        for key, incident in sorted(self._open.items(), key=lambda kv: (kv[1].opened_at, kv[0])):
            if incident.acknowledged_at is not None or incident.escalated_at is not None:
                continue
            if RANK[incident.severity] < RANK[self._escalate_min]:
                continue
            raised = max(incident.opened_at, self._raised.get(incident.id, incident.opened_at))
            if at - raised >= self._escalate_after_s:
                escalated = self._open[key] = replace(incident, escalated_at=at)
                changes.append(IncidentChange("escalated", escalated, at))
        return changes

    def restore(self, open_incidents: Iterable[Incident]) -> None:
        """Adopt incidents left open before a restart (resolved ones are ignored; the earliest wins)."""
        for incident in open_incidents:
            key = (incident.rule, incident.subject)
            kept = self._open.get(key)
            if incident.open and (kept is None or incident.opened_at < kept.opened_at):
                self._open[key] = incident

    # --- output ---

    def find(self, rule: str, subject: str) -> Incident | None:
        return self._open.get((rule, subject))

    def open_incidents(self) -> list[Incident]:
        return sorted(self._open.values(), key=lambda i: (i.opened_at, i.id))

    # --- helpers ---

    def _new_id(self, rule: str, subject: str, opened_at: float) -> str:
        """The id of a new episode: by the minute it began, unless an episode of the same rule and subject that
        began in that minute is already closed (then to the millisecond)."""
        minute = incident_id(rule, subject, opened_at)
        return incident_id(rule, subject, opened_at, exact=True) if minute in self._closed else minute

    def _fold(self, into: Incident, at: float) -> list[IncidentChange]:
        rules = FOLDS.get(into.rule, ())
        subjects = {into.subject, *into.members}
        changes = []
        for key in sorted(k for k in self._open if k[0] in rules and k[1] in subjects):
            folded = replace(self._open.pop(key), resolved_at=at)
            self._raised.pop(folded.id, None)
            changes.append(IncidentChange("folded", folded, at, into=into.id))
        return changes

    def _build(self, event: AlertEvent, opened_at: float) -> Incident:
        labels = dict(event.labels)
        device = self._devices.get(labels.get("device", ""))
        site_id = labels.get("site") or (device.site if device else None)
        members = _members(event)
        kind = KINDS.get(event.rule, IncidentKind.METRIC)
        if event.rule == AREA_OUTAGE:
            involved = [d for m in members for d in self._by_site.get(m, ())]
            kecamatan = labels.get("kecamatan", "")
            kabupaten = next((self._sites[m].kabupaten for m in members if m in self._sites), "")
            site_id = None
        else:
            site = self._sites.get(site_id or "")
            kecamatan, kabupaten = (site.kecamatan, site.kabupaten) if site else ("", "")
            involved = [device] if device else self._by_site.get(site_id or "", [])
        return Incident(
            id=self._new_id(event.rule, event.subject, opened_at), rule=event.rule, subject=event.subject,
            kind=kind, severity=event.severity, opened_at=opened_at,
            owner=OWNERS.get(event.rule) or owner_of(involved),
            kabupaten=kabupaten, kecamatan=kecamatan, site=site_id, device=device.id if device else None,
            members=members, summary=event.summary, detected_at=event.at,
        )


def _members(event: AlertEvent) -> tuple[str, ...]:
    """The member sites (or devices) an event names: an area's sites, a site's down devices."""
    return tuple(m for m in dict(event.labels).get("members", "").split(",") if m)
