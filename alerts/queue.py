"""What the alerting parts need of their outputs, as Protocols: a durable queue (`netmon.outbox.Outbox` is one)
and an event publisher (alerts.mqtt's `MqttEvents` is one); tests pass fakes. alerts/ never imports
netmon.outbox; the composition root passes an `OpenQueue` in.

A queue takes JSON items (`put`, durable once it returns, never raises) and hands them, in order and in
batches, to the `Deliver` function it was opened with; `deliver` may raise `netmon.errors.PartialDelivery(n)`
to acknowledge the first n items of a failed batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from netmon.model import Device, DeviceState, Incident, Outage, Site, Ticket

Item = dict[str, Any]
Deliver = Callable[[list[Item]], Awaitable[None]]


class Sink(Protocol):
    """Where an alerting output puts items (a notification, a ticket mail, an MQTT event)."""

    def put(self, item: Item) -> None: ...


class QueueStats(Protocol):
    @property
    def pending(self) -> int: ...
    @property
    def delivered_total(self) -> int: ...
    @property
    def failures_total(self) -> int: ...
    @property
    def available(self) -> bool: ...


class Output(Protocol):
    """Something that delivers in the background: an outbox, MQTT events. The daemon runs `run()` as a task,
    `drain()`s it on stop and exports its `stats`."""

    async def run(self) -> None: ...
    async def drain(self, timeout_s: float) -> None: ...
    @property
    def stats(self) -> QueueStats: ...


class DurableQueue(Sink, Output, Protocol):
    def retry_now(self) -> None: ...
    def retry_delay(self, failures: int) -> float: ...


class EventPublisher(Output, Protocol):
    """Events for other systems (alerts.mqtt): device states, outages, incidents, tickets."""

    def device_state(self, device: Device, site: Site, state: DeviceState) -> None: ...
    def outage(self, device: Device, site: Site, outage: Outage) -> None: ...
    def incident(self, incident: Incident) -> None: ...
    def ticket(self, ticket: Ticket, incident: Incident) -> None: ...


# (name, deliver) -> a queue journaled under the spool directory of that name
OpenQueue = Callable[[str, Deliver], DurableQueue]
