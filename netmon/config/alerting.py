"""The `alerts:` section of the config (pydantic schema) and its resolved form (secrets read).

`alerts/setup.py` turns `AlertSettings` into the alert engine's own configuration
and the notification, ticket and MQTT adapters, so this module depends on neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from netmon.config.base import SecretRef, Strict
from netmon.model import Owner, Secret, Severity


class ChannelConfig(Strict):
    url: SecretRef = Field(description="apprise URL (mailto://, tgram://, ...): it may hold a token")
    language: Literal["id", "en"] = "id"


class RouteConfig(Strict):
    channels: list[str] = Field(default_factory=list)
    owner: Owner | None = None
    min_severity: Severity = Severity.WARNING
    kabupaten: list[str] = Field(default_factory=list)
    kim_contact: bool = Field(default=False, description="also notify the site's KIM contact (by email)")


class EscalationConfig(Strict):
    after_s: float | None = Field(default=1800, gt=0, description="not acknowledged within this: escalate")
    channels: list[str] = Field(default_factory=list)


class RulesConfig(Strict):
    device_down_for_s: float = Field(default=120, ge=0, description="hold before a device-down alert fires, "
                                     "so a site failure seen device by device is one site alert")
    device_down_clear_s: float = Field(default=300, ge=0, description="recovered this long before it resolves")
    site_down_for_s: float = Field(default=120, ge=0, description="hold (also the wait for an area to form)")
    site_down_clear_s: float = Field(default=300, ge=0)
    area_min_sites: int = Field(default=3, ge=2, description="sites of one kecamatan down together: an area")
    area_window_s: float = Field(default=600, gt=0, description="their site outages began within this")
    area_clear_s: float = Field(default=300, ge=0, description="no member site down this long: the area resolves")
    temperature_max_c: float = 70
    voltage_min_v: float = 10.5
    cpu_max_ratio: float = Field(default=0.9, gt=0, le=1)
    idle_ap_s: float = Field(default=7200, gt=0)
    opening_hours: tuple[float, float] = (8, 21)
    reboot_loop_count: int = Field(default=3, ge=2)
    flap_changes: int = Field(default=4, ge=2, description="up/down transitions of a device (or site, interface) ...")
    flap_window_s: float = Field(default=1800, gt=0, description="... within this window: flapping")
    flap_for_s: float = Field(default=300, ge=0, description="hold: that many transitions stay within the window "
                              "this long before the flapping alert fires")
    flap_calm_s: float = Field(default=1800, gt=0, description="no transition this long: flapping clears")


class MetricRuleConfig(Strict):
    name: str
    metric: str = Field(pattern=r"^netmon_[a-z0-9_]+$")
    op: Literal[">", ">=", "<", "<=", "==", "!="]
    threshold: float
    for_s: float = Field(default=0, ge=0)
    clear_for_s: float = Field(default=0, ge=0)
    severity: Severity = Severity.WARNING
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str = ""


class MailConfig(Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    sender: str
    recipient: str = Field(description="the helpdesk's ticket address")
    starttls: bool = True
    implicit_tls: bool = False
    user: str | None = None
    password: SecretRef | None = None
    domain: str = "netmon.local"


class WebhookConfig(Strict):
    url: str
    secret: SecretRef


class AlertmanagerConfig(Strict):
    url: str


class MqttConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    prefix: str = "netmon"
    client_id: str = "kim-netmon"
    username: str | None = None
    password: SecretRef | None = None
    tls: bool = False


class TicketsConfig(Strict):
    mail: MailConfig | None = None
    webhook: WebhookConfig | None = None
    alertmanager: AlertmanagerConfig | None = None


class AlertsConfig(Strict):
    language: Literal["id", "en"] = "id"
    ticket_prefix: str = Field(default="NETMON", pattern=r"^[A-Z][A-Z0-9]{1,15}$")
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=list)
    escalation: EscalationConfig = EscalationConfig()
    rules: RulesConfig = RulesConfig()
    metric_rules: list[MetricRuleConfig] = Field(default_factory=list)
    kim_contact_url: SecretRef | None = Field(
        default=None, description="apprise mailto:// URL used to reach KIM contacts; `to=` is added per contact")
    tickets: TicketsConfig = TicketsConfig()
    mqtt: MqttConfig | None = None


@dataclass(frozen=True)
class AlertSettings:
    """`alerts:` with every secret read (from env vars or files)."""

    section: AlertsConfig = field(default_factory=AlertsConfig)
    secrets: dict[str, Secret] = field(default_factory=dict)  # "channels.<name>", "mail.password", ...

    def secret(self, key: str) -> Secret | None:
        return self.secrets.get(key)
