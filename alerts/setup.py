"""The alerting parts the `alerts:` config section asks for: the engine's `AlertConfig`, one notification
channel per KIM contact, and the outputs (notification and ticket-sink outboxes, MQTT events).

The outboxes are opened through the caller's `open_queue(name, deliver)` (alerts.queue); the daemon passes one
that opens a `netmon.outbox.Outbox` in `<data_dir>/outbox/<name>`. Their names are the `outbox` label of the
`netmon_outbox_*` metrics: `notify`, `ticket-mail`, `ticket-webhook`, `alertmanager` and `mqtt`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alerts.mqtt import MqttEvents, MqttSettings
from alerts.notify import Notifier
from alerts.queue import DurableQueue, EventPublisher, OpenQueue, Output
from alerts.route import AlertConfig, Channel, Escalation, RouteRule
from alerts.rules import MetricRule, OpeningHours, RuleSettings, Tolerance
from alerts.sinks.mail import MailTicketSink
from alerts.sinks.webhook import AlertmanagerWebhookSink, WebhookTicketSink
from netmon.config.alerting import AlertSettings
from netmon.model import Secret, Site


@dataclass(slots=True)
class AlertOutputs:
    """Where delivered alerts go; an output the config does not ask for is None."""

    notify: DurableQueue | None = None  # notifications to channels and KIM contacts (apprise)
    ticket_mail: DurableQueue | None = None
    ticket_webhook: DurableQueue | None = None
    alertmanager: DurableQueue | None = None
    mqtt: EventPublisher | None = None  # alerts.mqtt's MqttEvents

    def named(self) -> dict[str, Output]:
        """Every output there is, by its outbox name: the outboxes first, MQTT last."""
        named: dict[str, Output | None] = {"notify": self.notify, "ticket-mail": self.ticket_mail,
                                           "ticket-webhook": self.ticket_webhook,
                                           "alertmanager": self.alertmanager, "mqtt": self.mqtt}
        return {name: output for name, output in named.items() if output is not None}

    def ticket_sinks(self) -> list[DurableQueue]:
        """The sinks that get a ticket mail item (opened / updated / resolved)."""
        return [q for q in (self.ticket_mail, self.ticket_webhook) if q is not None]


def alert_config(settings: AlertSettings) -> AlertConfig:
    """The alert engine's configuration from the `alerts:` section."""
    a = settings.section
    r = a.rules
    channels = tuple(Channel(name, url, c.language) for name, c in a.channels.items()
                     if (url := settings.secret(f"channels.{name}")) is not None)
    routes = tuple(RouteRule(channels=tuple(x.channels), owner=x.owner, min_severity=x.min_severity,
                             kabupaten=frozenset(x.kabupaten), kim_contact=x.kim_contact) for x in a.routes)
    rules = RuleSettings(
        device_down=Tolerance(r.device_down_for_s, r.device_down_clear_s),
        site_down=Tolerance(r.site_down_for_s, r.site_down_clear_s),
        area_min_sites=r.area_min_sites, area_window_s=r.area_window_s, area_clear_for_s=r.area_clear_s,
        temperature_max_c=r.temperature_max_c,
        voltage_min_v=r.voltage_min_v, cpu_max_ratio=r.cpu_max_ratio, idle_ap_s=r.idle_ap_s,
        opening_hours=OpeningHours(float(r.opening_hours[0]), float(r.opening_hours[1])),
        reboot_loop_count=r.reboot_loop_count, flap_changes=r.flap_changes, flap_window_s=r.flap_window_s,
        flap_for_s=r.flap_for_s, flap_calm_s=r.flap_calm_s)
    metric_rules = tuple(MetricRule(m.name, m.metric, m.op, m.threshold, m.for_s, m.clear_for_s, m.severity,
                                    tuple(sorted(m.labels.items())), m.summary) for m in a.metric_rules)
    return AlertConfig(channels=channels, routes=routes,
                       escalation=Escalation(a.escalation.after_s, tuple(a.escalation.channels)),
                       rules=rules, metric_rules=metric_rules, language=a.language, ticket_prefix=a.ticket_prefix)


def contact_channels(settings: AlertSettings, sites: Iterable[Site]) -> dict[str, Secret]:
    """One notification channel per KIM contact with an email, `kim:<email>`, through `alerts.kim_contact_url`
    (its URL with `to=<email>` added)."""
    base = settings.secret("kim_contact_url")
    if base is None:
        return {}
    url = base.reveal()
    joiner = "&" if "?" in url else "?"
    return {f"kim:{site.kim_contact.email}": Secret(f"{url}{joiner}to={site.kim_contact.email}")
            for site in sites if site.kim_contact and site.kim_contact.email}


def open_outputs(settings: AlertSettings, config: AlertConfig, contacts: dict[str, Secret],
                 open_queue: OpenQueue, *, node: str | None = None) -> AlertOutputs:
    """The outboxes of notifications and ticket sinks, and MQTT events, as the config asks. `node`: the cluster
    node's id, appended to the MQTT client id (a broker disconnects a client whose id another one takes)."""
    tickets = settings.section.tickets
    channels = {c.name: c.url for c in config.channels} | contacts
    out = AlertOutputs()
    if channels:
        out.notify = open_queue("notify", Notifier(channels).deliver)
    if (mail := tickets.mail) is not None:
        sink = MailTicketSink(host=mail.host, port=mail.port, sender=mail.sender, recipient=mail.recipient,
                              starttls=mail.starttls, implicit_tls=mail.implicit_tls, user=mail.user,
                              password=settings.secret("mail.password"), domain=mail.domain)
        out.ticket_mail = open_queue("ticket-mail", sink.deliver)
    secret = settings.secret("webhook.secret")
    if tickets.webhook is not None and secret is not None:
        out.ticket_webhook = open_queue("ticket-webhook", WebhookTicketSink(tickets.webhook.url, secret).deliver)
    if tickets.alertmanager is not None:
        out.alertmanager = open_queue("alertmanager", AlertmanagerWebhookSink(tickets.alertmanager.url).deliver)
    if (m := settings.section.mqtt) is not None:
        client_id = m.client_id if node is None else f"{m.client_id}-{node}"
        out.mqtt = MqttEvents(MqttSettings(host=m.host, port=m.port, prefix=m.prefix, client_id=client_id,
                                           username=m.username, password=settings.secret("mqtt.password"),
                                           tls=m.tls), open_queue)
    return out
