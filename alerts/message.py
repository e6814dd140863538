"""Human messages for incidents, Bahasa Indonesia (default) or English, from jinja2 templates (pure).

`render` gives a subject that says what failed and where ("[GANGGUAN] AP KIM Ketenger (Desa Ketenger,
Baturraden) tidak terjangkau", "[PULIH] ... kembali terjangkau") and a body naming the site, desa, kecamatan,
device (role and owner in words) and its asset register numbers (kode barang, nomor register), the cause
(saying only what is true of this device), the details in words, since when (the first failed poll, and
"terdeteksi" for when it was declared when the incident knows it; local time of the site's own zone: WIB,
WITA or WIT), the end and duration on resolve and what to check. No internal rule names or raw enum values
reach the text; machine ids stay in the JSON fields of the sinks.

Each message also has its `NotifyType` (what a chat or mail service shows as colour or icon): a recovery is
`success` whatever the incident's severity, an acknowledgement or a merge is `info`, and a problem
(opened, escalated, updated) follows the severity: critical -> `failure`, warning -> `warning`.

Messages carry no secrets (no channel URLs, credentials) and no client data (no MAC addresses, hostnames or
user names): only inventory facts and the incident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from alerts.rules import (
    AGENT_SILENT,
    AREA_OUTAGE,
    ASSET_MISMATCH,
    AUTH_FAILED,
    BUILTIN_RULES,
    DEVICE_DOWN,
    FLAPPING,
    IDLE_AP,
    INTERFACE_DOWN,
    REBOOT_LOOP,
    SITE_DOWN,
    UNKNOWN_DEVICE,
    VOLTAGE,
)
from netmon.model import DEFAULT_TIMEZONE, Device, Incident, Severity, Site, Ticket, TimeZone, site_index

KINDS = ("opened", "escalated", "resolved", "acknowledged", "updated", "folded")
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
UNITS = {"id": ("hari", "jam", "menit"), "en": ("d", "h", "min")}


class NotifyType(StrEnum):
    """How a notification presents itself (apprise's notify types; alerts/notify.py maps them)."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"


PROBLEM_TYPES = {Severity.CRITICAL: NotifyType.FAILURE, Severity.WARNING: NotifyType.WARNING,
                 Severity.INFO: NotifyType.INFO}
# Rules whose end is a recovery ("PULIH": something came back); the others are conditions that ended ("SELESAI").
RECOVERIES = frozenset({DEVICE_DOWN, SITE_DOWN, AREA_OUTAGE, INTERFACE_DOWN, FLAPPING, AGENT_SILENT})


def notify_type(kind: str, severity: Severity) -> NotifyType:
    """The notify type of a message of `kind` about an incident of `severity`."""
    if kind == "resolved":
        return NotifyType.SUCCESS
    if kind in ("acknowledged", "folded"):
        return NotifyType.INFO
    return PROBLEM_TYPES[severity]


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str
    severity: Severity  # the incident's
    notify_type: NotifyType = NotifyType.INFO  # the message's (a recovery is a success)


def local_time(at: float | None, zone: TimeZone = DEFAULT_TIMEZONE, language: str = "id") -> str:
    """"12 Mei 2026 08:15:42 WIB", "12 Mei 2026 09:15:42 WITA": local time in `zone` with its abbreviation, to
    the second, so a message shows the same instant as `netmon outages` and the outage record."""
    if at is None:
        return "-"
    local = zone.local(at)
    return f"{local.day} {MONTHS[language][local.month - 1]} {local.year} {local:%H:%M:%S} {zone.abbreviation}"


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


def number(text: str, language: str = "id") -> str:
    """A decimal as written in `language`: "11,2" in Indonesian, "11.2" in English."""
    return text.replace(".", ",") if language == "id" else text


def percent(text: str, language: str = "id") -> str:
    """A ratio ("0.97") as a percentage ("97%"); what is not a number stays as it is."""
    try:
        return number(f"{float(text) * 100:.0f}", language) + "%"
    except ValueError:
        return text


@cache
def _environment(language: str, zone: TimeZone) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters["local_time"] = lambda at: local_time(at, zone, language)
    env.filters["duration"] = lambda s: duration(s, language)
    env.filters["number"] = lambda text: number(text, language)
    env.filters["percent"] = lambda text: percent(text, language)
    return env


_COUNT_IN_WINDOW = re.compile(r"(?P<count>\d+)x / (?P<window_min>\d+) min")
_MINUTES = re.compile(r"(?P<minutes>\d+) min")
_LOW_VOLTAGE = re.compile(r"(?P<value>[\d.]+) V \(< (?P<limit>[\d.]+) V\)")
_VOLTAGE_SWING = re.compile(r"(?P<low>[\d.]+)-(?P<high>[\d.]+) V")
_THRESHOLD = re.compile(r"(?P<value>-?[\d.e+]+) \((?P<op>[<>=!]=?) (?P<limit>-?[\d.e+]+)\)")
_LATE = re.compile(r"late (?P<late_s>\d+) s")  # news from a site agent's backlog (alerts.availability)
_AGENT = re.compile(r"agent (?P<agent>\S+)")
_MISMATCH = re.compile(r"(?P<field>serial|model) (?P<seen>.*) \(KIB (?P<register>.*)\)")
_PATTERNS: Mapping[str, tuple[re.Pattern[str], ...]] = {
    FLAPPING: (_COUNT_IN_WINDOW,), REBOOT_LOOP: (_COUNT_IN_WINDOW,), IDLE_AP: (_MINUTES,),
    VOLTAGE: (_LOW_VOLTAGE, _VOLTAGE_SWING), DEVICE_DOWN: (_LATE,), SITE_DOWN: (_LATE,), AGENT_SILENT: (_AGENT,),
}


def facts(incident: Incident) -> dict[str, Any]:
    """The incident's details as named values, for the templates to put into words: the engine's summaries
    ("4x / 30 min", "71 (> 65)", "11.2 V (< 11.5 V)", "serial X (KIB Y)") are not shown to people as they are.
    `text` holds a summary in no known shape (shown as it is); `port` the interface of `interface_down`."""
    summary = incident.summary.strip()
    found: dict[str, Any] = {}
    if incident.device and incident.subject.startswith(incident.device + "/"):
        part = {INTERFACE_DOWN: "port", AUTH_FAILED: "source"}.get(incident.rule)
        if part:
            found[part] = incident.subject[len(incident.device) + 1:]
    if not summary:
        return found
    if incident.rule == ASSET_MISMATCH:
        parts = [_MISMATCH.fullmatch(part.strip()) for part in summary.split(";")]
        if all(parts):
            return {**found, "mismatches": [m.groupdict() for m in parts if m]}
    elif incident.rule == UNKNOWN_DEVICE:
        return {**found, "fingerprint": summary}
    for pattern in _PATTERNS.get(incident.rule, (_THRESHOLD,)):
        match = pattern.fullmatch(summary)
        if match:
            return {**found, **match.groupdict()}
    return {**found, "text": summary}


def _device_name(device: Device, site_devices: Sequence[Device]) -> str | None:
    """The device's id when its role alone does not tell it apart at its site (two APs at one site)."""
    twins = [d for d in site_devices if d.role is device.role]
    return device.id if len(twins) > 1 else None


def render(incident: Incident, devices: Mapping[str, Device], sites: Mapping[str, Site], *,
           language: str = "id", kind: str = "opened", ticket: Ticket | None = None,
           into: Ticket | None = None, by_site: Mapping[str, Sequence[Device]] | None = None) -> Message:
    """The message for `incident` after a change of `kind` ("opened" | "escalated" | "resolved", or the
    ticket-only "acknowledged" | "updated" | "folded"; `into` is the ticket a folded incident went into)."""
    if language not in MONTHS:
        raise ValueError(f"unsupported language {language!r}")
    if kind not in KINDS:
        raise ValueError(f"unsupported message kind {kind!r}")
    by_site = site_index(devices) if by_site is None else by_site  # callers keep one: a fleet is large
    device = devices.get(incident.device or "")
    site_id = incident.site or (device.site if device else None)
    site = sites.get(site_id or "") if incident.kind != "area" else None
    member_sites = [sites[m] for m in incident.members if m in sites] if incident.kind == "area" else []
    if device is not None:
        assets = [device]
    elif incident.kind == "site":
        ids = incident.members or tuple(d.id for d in by_site.get(incident.site or "", ()))
        assets = [devices[i] for i in ids if i in devices]
    else:
        assets = []
    parent = devices.get(device.parent or "") if device is not None else None
    template = _environment(language, incident_zone(incident, devices, sites)).get_template(f"incident.{language}.j2")
    text = template.render(
        incident=incident, kind=kind, device=device, site=site, member_sites=member_sites, assets=assets,
        ticket=ticket, into=into, facts=facts(incident), parent=parent,
        device_name=_device_name(device, by_site.get(device.site, ())) if device is not None else None,
        recovery=incident.rule in RECOVERIES, user_rule=incident.rule not in BUILTIN_RULES,
        detected_at=incident.detected_at,
    )
    subject, _, body = text.strip().partition("\n")
    return Message(" ".join(subject.split()), body.strip() + "\n", incident.severity,
                   notify_type(kind, incident.severity))

