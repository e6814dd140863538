"""AlertDelivery alone: the output of a real engine (an alert day) goes to storage, MQTT, the notification
outbox (routed per channel and KIM contact) and the ticket sinks, through fakes of the alerts.queue Protocols."""

from __future__ import annotations

import dataclasses
from typing import Any

from alert_day import DAY, Day, config

from alerts.delivery import AlertDelivery, ticket_subject
from alerts.engine import AlertOutput
from alerts.setup import AlertOutputs
from netmon.model import Cause, Contact, Device, DeviceState, Incident, Outage, Site, Status, Ticket

KIM_EMAIL = "pengelola@kotayasa.example"


class FakeQueue:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put(self, item: dict[str, Any]) -> None:
        self.items.append(item)


class FakeEvents:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def device_state(self, device: Device, site: Site, state: DeviceState) -> None:
        self.events.append(("device_state", f"{site.id}/{device.id}"))

    def outage(self, device: Device, site: Site, outage: Outage) -> None:
        self.events.append(("outage", f"{site.id}/{device.id}"))

    def incident(self, incident: Incident) -> None:
        self.events.append(("incident", incident.id))

    def ticket(self, ticket: Ticket, incident: Incident) -> None:
        self.events.append(("ticket", ticket.id))


def an_alert_day() -> tuple[Day, AlertOutput]:
    """A PEMDA access point and the KIM-owned one at Kotayasa down from 08:00 to 08:20 (not escalated)."""
    day = Day.start()
    kotayasa = day.sites["kotayasa"]
    day.sites["kotayasa"] = dataclasses.replace(kotayasa, kim_contact=Contact("Pengelola Kotayasa", email=KIM_EMAIL))
    day.run_until("08:00")
    day.fail("kim-ketenger-ap", "kim-kotayasa-ap")
    day.run_until("08:20")
    day.repair("kim-ketenger-ap", "kim-kotayasa-ap")
    day.run_until("08:50")
    return day, day.out


def delivery_for(day: Day, stored: list[Incident | Ticket]) -> AlertDelivery:
    return AlertDelivery(day.devices, day.sites, config(), store=stored.append, ticket=day.engine.ticket,
                         contacts={f"kim:{KIM_EMAIL}"})


def test_without_outputs_only_storage_hears_of_it() -> None:
    day, output = an_alert_day()
    stored: list[Incident | Ticket] = []
    delivery_for(day, stored).deliver(output)
    assert stored == [c.incident for c in output.changes] + [a.ticket for a in output.actions]
    assert {c.kind for c in output.changes} >= {"opened", "resolved"} and output.actions


def test_each_change_goes_to_its_routed_channels_and_each_ticket_action_to_every_sink() -> None:
    day, output = an_alert_day()
    stored: list[Incident | Ticket] = []
    notify, mail, hook, alertmanager, events = FakeQueue(), FakeQueue(), FakeQueue(), FakeQueue(), FakeEvents()
    delivery = delivery_for(day, stored)
    delivery.attach(AlertOutputs(notify=notify, ticket_mail=mail, ticket_webhook=hook,  # type: ignore[arg-type]
                                 alertmanager=alertmanager, mqtt=events))  # type: ignore[arg-type]
    delivery.deliver(output)

    opened = {c.incident.device: c.incident for c in output.changes if c.kind == "opened"}
    assert set(opened) == {"kim-ketenger-ap", "kim-kotayasa-ap"}
    sent = {(item["channel"], item["id"].split(".")[1]) for item in notify.items}
    # PEMDA equipment goes to Diskominfo, the KIM's own to its contact (DEFAULT_ROUTES), opened and resolved
    assert sent == {("diskominfo", "opened"), ("diskominfo", "resolved"),
                    (f"kim:{KIM_EMAIL}", "opened"), (f"kim:{KIM_EMAIL}", "resolved")}
    ketenger_ticket = day.engine.ticket(opened["kim-ketenger-ap"].id)
    assert ketenger_ticket is not None
    assert any(ketenger_ticket.id in item["subject"] or ketenger_ticket.id in item["body"] for item in notify.items)

    assert mail.items == hook.items
    assert [item["id"] for item in mail.items] == [a.key for a in output.actions]
    assert [item["subject"] for item in mail.items] == [ticket_subject(a) for a in output.actions]
    assert all(item["subject"].startswith(f"[{a.ticket.id}] ") for item, a in zip(mail.items, output.actions,
                                                                                   strict=True))
    assert len(alertmanager.items) == len(output.actions)
    assert events.events == ([("incident", c.incident.id) for c in output.changes]
                             + [("ticket", a.ticket.id) for a in output.actions])


def test_a_contact_without_its_channel_is_not_notified() -> None:
    day, output = an_alert_day()
    notify = FakeQueue()
    delivery = AlertDelivery(day.devices, day.sites, config(), store=lambda record: None, ticket=day.engine.ticket)
    delivery.attach(AlertOutputs(notify=notify))  # type: ignore[arg-type]
    delivery.deliver(output)
    assert {item["channel"] for item in notify.items} == {"diskominfo"}


def test_device_states_and_outages_go_to_mqtt_for_inventory_devices_only() -> None:
    day, _ = an_alert_day()
    events = FakeEvents()
    delivery = delivery_for(day, [])
    up = DeviceState("kim-ketenger-ap", Status.UP, DAY)
    outage = Outage("out-1", "kim-ketenger-ap", "ketenger", DAY, Cause.DEVICE)
    delivery.device_state("kim-ketenger-ap", up)
    delivery.outage(outage)
    assert events.events == []  # no MQTT attached
    delivery.attach(AlertOutputs(mqtt=events))  # type: ignore[arg-type]
    delivery.device_state("kim-ketenger-ap", up)
    delivery.outage(outage)
    delivery.device_state("gone", dataclasses.replace(up, device="gone"))
    delivery.outage(dataclasses.replace(outage, device="gone"))
    assert events.events == [("device_state", "ketenger/kim-ketenger-ap"), ("outage", "ketenger/kim-ketenger-ap")]
