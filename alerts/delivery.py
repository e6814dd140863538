"""Where the alert engine's output goes: `AlertDelivery.deliver(output)`.

For each incident change: store the incident, publish it on MQTT, and put one notification per routed channel
(alerts.route, rendered by alerts.message in the channel's language) and per routed KIM contact (in Indonesian)
in the `notify` outbox. For each ticket action: store the ticket, publish it on MQTT, put a ticket mail item
in every ticket sink (mail, webhook) and an Alertmanager alert in the `alertmanager` outbox. Device states and
outages (from netmon.state) go to MQTT through `device_state()` and `outage()`.

Storage comes in as a function (`store`), the outputs as `AlertOutputs` (alerts.setup), attached when the daemon
opens them; until then (and in `netmon poll --once`) only storage sees anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from alerts.engine import AlertOutput
from alerts.incident import IncidentChange
from alerts.message import render
from alerts.notify import Notification
from alerts.queue import Sink
from alerts.route import AlertConfig, route
from alerts.setup import AlertOutputs
from alerts.sinks.mail import TicketMail
from alerts.sinks.webhook import AlertmanagerAlert
from alerts.ticket import TicketAction
from netmon.model import Device, DeviceState, Incident, Outage, Site, Ticket, site_index


class AlertDelivery:
    def __init__(self, devices: Mapping[str, Device], sites: Mapping[str, Site], config: AlertConfig, *,
                 store: Callable[[Incident | Ticket], None], ticket: Callable[[str], Ticket | None],
                 contacts: Collection[str] = ()) -> None:
        """`ticket(incident_id)`: the incident's ticket (its id goes into messages); `contacts`: the names
        of the KIM contacts' channels (`kim:<email>`, alerts.setup.contact_channels)."""
        self._devices = devices
        self._by_site = site_index(devices)
        self._sites = sites
        self._config = config
        self._store = store
        self._ticket = ticket
        self._contacts = frozenset(contacts)
        self.outputs = AlertOutputs()

    def attach(self, outputs: AlertOutputs) -> None:
        self.outputs = outputs

    def deliver(self, output: AlertOutput) -> None:
        """Incident changes and ticket actions: store them, publish them, tell people and the helpdesk."""
        for change in output.changes:
            self._store(change.incident)
            if self.outputs.mqtt is not None:
                self.outputs.mqtt.incident(change.incident)
            if self.outputs.notify is not None:
                self._notify(change, self.outputs.notify)
        for action in output.actions:
            self._store(action.ticket)
            if self.outputs.mqtt is not None:
                self.outputs.mqtt.ticket(action.ticket, action.incident)
            self._to_helpdesk(action)

    def device_state(self, device_id: str, state: DeviceState) -> None:
        device = self._devices.get(device_id)
        if self.outputs.mqtt is not None and device is not None and device.site in self._sites:
            self.outputs.mqtt.device_state(device, self._sites[device.site], state)

    def outage(self, outage: Outage) -> None:
        device = self._devices.get(outage.device)
        if self.outputs.mqtt is not None and device is not None and device.site in self._sites:
            self.outputs.mqtt.outage(device, self._sites[device.site], outage)

    def _notify(self, change: IncidentChange, notify: Sink) -> None:
        incident, kind = change.incident, change.kind
        delivery = route(incident, self._sites, self._config, kind=kind)
        ticket = self._ticket(incident.id)
        for channel in delivery.channels:
            message = render(incident, self._devices, self._sites, language=channel.language, kind=kind,
                             ticket=ticket, by_site=self._by_site)
            notify.put(Notification(f"{incident.id}.{kind}.{channel.name}", channel.name, message.subject,
                                    message.body, message.notify_type.value).to_item())
        for contact in delivery.contacts:
            name = f"kim:{contact.email}"
            if contact.email and name in self._contacts:
                message = render(incident, self._devices, self._sites, language="id", kind=kind, ticket=ticket,
                                 by_site=self._by_site)
                notify.put(Notification(f"{incident.id}.{kind}.{name}", name, message.subject, message.body,
                                        message.notify_type.value).to_item())

    def _to_helpdesk(self, action: TicketAction) -> None:
        mail = TicketMail(action.key, action.ticket.id, action.kind, ticket_subject(action), action.text,
                          action.at).to_item()
        for sink in self.outputs.ticket_sinks():
            sink.put(mail)
        if self.outputs.alertmanager is not None:
            self.outputs.alertmanager.put(
                AlertmanagerAlert.from_incident(action.incident, id=action.key, summary=action.subject,
                                                description=action.text).to_item())


def ticket_subject(action: TicketAction) -> str:
    """"[NETMON-2026-000123] [GANGGUAN] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau": the ticket
    tag (helpdesks thread by it) and the message's subject in the ticket language, different for open and
    resolve."""
    return f"[{action.ticket.id}] {action.subject}"
