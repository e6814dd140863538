"""Human messages for incidents, Bahasa Indonesia (default) or English, from jinja2 templates (pure).

`render` names the site, desa, kecamatan, device and its asset register numbers (kode barang, nomor
register), the cause, since when (in the site's own zone: WIB, WITA or WIT), the duration on resolve and what
to check. Messages carry no
secrets (no channel URLs, credentials) and no client data (no MAC addresses, hostnames or user names):
only inventory facts and the incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from netmon.model import DEFAULT_TIMEZONE, Device, Incident, Severity, Site, Ticket, TimeZone

KINDS = ("opened", "escalated", "resolved", "acknowledged", "updated", "folded")
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
UNITS = {"id": ("hari", "jam", "menit"), "en": ("d", "h", "min")}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str
    severity: Severity


def local_time(at: float | None, zone: TimeZone = DEFAULT_TIMEZONE, language: str = "id") -> str:
    """"12 Mei 2026 08:15 WIB", "12 Mei 2026 09:15 WITA": local time in `zone` with its abbreviation."""
    if at is None:
        return "-"
    local = zone.local(at)
    return f"{local.day} {MONTHS[language][local.month - 1]} {local.year} {local:%H:%M} {zone.abbreviation}"


def incident_zone(incident: Incident, devices: Mapping[str, Device], sites: Mapping[str, Site],
                  default: TimeZone = DEFAULT_TIMEZONE) -> TimeZone:
    """Where the incident happened, as a zone: its site's, its device's site's, or (an area) its first
    member site's (an area lies in one kecamatan, so in one zone); `default` when none is known."""
    device = devices.get(incident.device or "")
    for site_id in (incident.site, device.site if device else None, *incident.members):
        site = sites.get(site_id or "")
        if site is not None:
            return site.timezone
    return default


def duration(seconds: float, language: str = "id") -> str:
    """"2 jam 5 menit" / "2 h 5 min"; under a minute counts as one minute."""
    day, hour, minute = UNITS[language]
    total = max(1, round(seconds / 60))
    days, rest = divmod(total, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} {day}" if days else "", f"{hours} {hour}" if hours else "", f"{minutes} {minute}" if minutes
             else ""]
    return " ".join(p for p in parts if p)


@cache
def _environment(language: str, zone: TimeZone) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters["local_time"] = lambda at: local_time(at, zone, language)
    env.filters["duration"] = lambda s: duration(s, language)
    return env


def render(incident: Incident, devices: Mapping[str, Device], sites: Mapping[str, Site], *,
           language: str = "id", kind: str = "opened", ticket: Ticket | None = None,
           into: Ticket | None = None) -> Message:
    """The message for `incident` after a change of `kind` ("opened" | "escalated" | "resolved", or the
    ticket-only "acknowledged" | "updated" | "folded"; `into` is the ticket a folded incident went into)."""
    if language not in MONTHS:
        raise ValueError(f"unsupported language {language!r}")
    if kind not in KINDS:
        raise ValueError(f"unsupported message kind {kind!r}")
    device = devices.get(incident.device or "")
    site = sites.get(incident.site or "") if incident.kind != "area" else None
    member_sites = [sites[m] for m in incident.members if m in sites] if incident.kind == "area" else []
    if device is not None:
        assets = [device]
    elif incident.kind == "site":
        ids = incident.members or tuple(d.id for d in devices.values() if d.site == incident.site)
        assets = [devices[i] for i in ids if i in devices]
    else:
        assets = []
    template = _environment(language, incident_zone(incident, devices, sites)).get_template(f"incident.{language}.j2")
    text = template.render(
        incident=incident, kind=kind, device=device, site=site, member_sites=member_sites, assets=assets,
        ticket=ticket, into=into,
    )
    subject, _, body = text.strip().partition("\n")
    return Message(subject.strip(), body.strip() + "\n", incident.severity)
