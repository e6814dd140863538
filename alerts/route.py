"""Alert configuration types and routing: who hears of an incident (pure, no I/O).

Plain frozen dataclasses (no pydantic): the YAML schema in `netmon.config` maps onto them. Routing:

* every `RouteRule` whose owner (None: any), kabupaten (empty: any) and minimum severity match the incident
  contributes its channels, and the site's KIM contact when `kim_contact` is set. Typical set-up:
  `owner: pemda` -> the Diskominfo channels, `owner: kim` -> `kim_contact: true`;
* an escalated incident also goes to the escalation channels, for the escalation and for its resolve;
* only "opened", "escalated" and "resolved" reach people; other incident changes are ticket updates only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alerts.rules import BUILTIN_RULES, MetricRule, RuleSettings
from netmon.errors import ConfigError
from netmon.model import Contact, Incident, Owner, Secret, Severity, Site

RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
LANGUAGES = ("id", "en")
MESSAGE_KINDS = ("opened", "escalated", "resolved")


@dataclass(frozen=True, slots=True)
class Channel:
    """A notification target. `url` is an apprise URL and may hold a token: it is a Secret."""

    name: str
    url: Secret
    language: str = "id"


@dataclass(frozen=True, slots=True)
class RouteRule:
    channels: tuple[str, ...] = ()
    owner: Owner | None = None  # None: any owner
    min_severity: Severity = Severity.WARNING
    kabupaten: frozenset[str] = frozenset()  # empty: any kabupaten
    kim_contact: bool = False  # also the site's KIM contact

    def matches(self, incident: Incident) -> bool:
        return ((self.owner is None or self.owner is incident.owner)
                and RANK[incident.severity] >= RANK[self.min_severity]
                and (not self.kabupaten or incident.kabupaten in self.kabupaten))


@dataclass(frozen=True, slots=True)
class Escalation:
    after_s: float | None = 1800.0  # None: never escalate
    channels: tuple[str, ...] = ()
    min_severity: Severity = Severity.WARNING


DEFAULT_ROUTES = (
    RouteRule(channels=("diskominfo",), owner=Owner.PEMDA),
    RouteRule(owner=Owner.KIM, kim_contact=True),
)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    channels: tuple[Channel, ...] = ()
    routes: tuple[RouteRule, ...] = ()  # DEFAULT_ROUTES is the usual start (needs a "diskominfo" channel)
    escalation: Escalation = Escalation()
    rules: RuleSettings = field(default_factory=RuleSettings)
    metric_rules: tuple[MetricRule, ...] = ()
    language: str = "id"  # tickets; each channel has its own
    ticket_prefix: str = "NETMON"

    def __post_init__(self) -> None:
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ConfigError("duplicate channel name", key="alerts.channels")
        for channel in self.channels:
            if channel.language not in LANGUAGES:
                raise ConfigError(f"language must be one of {LANGUAGES}", key=f"alerts.channels.{channel.name}")
        if self.language not in LANGUAGES:
            raise ConfigError(f"language must be one of {LANGUAGES}", key="alerts.language")
        wanted = [n for r in self.routes for n in r.channels] + list(self.escalation.channels)
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise ConfigError(f"unknown channel(s): {', '.join(unknown)}", key="alerts.routes")
        rule_names = [r.name for r in self.metric_rules]
        if len(set(rule_names)) != len(rule_names) or set(rule_names) & set(BUILTIN_RULES):
            raise ConfigError("rule names must be unique and not built-in names", key="alerts.rules")

    def channel(self, name: str) -> Channel:
        return next(c for c in self.channels if c.name == name)


@dataclass(frozen=True, slots=True)
class Delivery:
    channels: tuple[Channel, ...] = ()
    contacts: tuple[Contact, ...] = ()  # KIM contacts reached directly (the notifier knows how)


def route(incident: Incident, sites: Mapping[str, Site], config: AlertConfig, *,
          kind: str = "opened") -> Delivery:
    """Who hears of `incident` for a change of `kind`."""
    if kind not in MESSAGE_KINDS:
        return Delivery()
    names: list[str] = []
    want_contacts = False
    for rule in config.routes:
        if rule.matches(incident):
            names.extend(rule.channels)
            want_contacts = want_contacts or rule.kim_contact
    escalated = kind == "escalated" or (kind == "resolved" and incident.escalated_at is not None)
    if escalated:
        names.extend(config.escalation.channels)
    contacts: list[Contact] = []
    if want_contacts:
        site_ids = incident.members if incident.kind == "area" else (incident.site,)
        for site_id in site_ids:
            site = sites.get(site_id or "")
            if site is not None and site.kim_contact is not None and site.kim_contact not in contacts:
                contacts.append(site.kim_contact)
    channels = tuple(config.channel(n) for n in dict.fromkeys(names))
    return Delivery(channels, tuple(contacts))
