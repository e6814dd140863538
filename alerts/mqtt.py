"""MQTT events (device state, outages, incidents, tickets) through a durable outbox, over netmon/mqtt.py (the one
aiomqtt importer).

The outbox is opened by the caller's `open_queue("mqtt", deliver)` (alerts.queue; the daemon passes one that opens
a `netmon.outbox.Outbox` under its spool directory). `device_state()`, `outage()`, `incident()` and `ticket()` are
synchronous: they build the event (alerts.topic) and put it in the outbox, which journals it before returning.
`run()` keeps one connection to the broker (reconnecting on the outbox's bounded retry schedule: 1, 2, 5, 10, 15 s,
then every 30 s) and lets the outbox publish events in order with QoS 1.
A batch counts as delivered only when the broker acknowledged every message (`Connection.publish_in_order`
returns at the PUBACK of each). While the broker is away events stay in the outbox
and go out, in order, when it is back; a new MqttEvents on the same spool publishes what an earlier one had not.
Delivery is at-least-once: subscribers dedupe by the payload's `id`. Topics and payloads: docs/mqtt.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from alerts import topic
from alerts.queue import OpenQueue, QueueStats
from netmon.errors import BrokerUnavailable, library_message
from netmon.model import Device, DeviceState, Incident, Outage, Secret, Site, Ticket
from netmon.mqtt import BrokerSettings, Connection, Outgoing, Will, connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "netmon"
    client_id: str = "kim-netmon"
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    keepalive_s: int = 30
    timeout_s: float = 10.0  # connect (CONNACK) and PUBACK wait


class MqttEvents:
    def __init__(self, settings: MqttSettings, open_queue: OpenQueue) -> None:
        self._settings = settings
        self._prefix = settings.prefix
        self._outbox = open_queue("mqtt", self._deliver)  # its retry schedule also paces reconnecting
        self._client: Connection | None = None
        self._up = asyncio.Event()
        self._running = False
        self._finished = asyncio.Event()
        self._was_connected = True  # log the first failure to connect, then only transitions
        self._refusal = ""  # why the last connection attempt failed (the broker's or the socket's words)

    # --- events (synchronous; durable once they return) -------------------------------------------------

    def device_state(self, device: Device, site: Site, state: DeviceState) -> None:
        self._outbox.put(topic.device_state_event(self._prefix, device, site, state))

    def outage(self, device: Device, site: Site, outage: Outage) -> None:
        self._outbox.put(topic.outage_event(self._prefix, device, site, outage))

    def incident(self, incident: Incident) -> None:
        self._outbox.put(topic.incident_event(self._prefix, incident))

    def ticket(self, ticket: Ticket, incident: Incident) -> None:
        self._outbox.put(topic.ticket_event(self._prefix, ticket, incident))

    @property
    def stats(self) -> QueueStats:
        return self._outbox.stats

    @property
    def connected(self) -> bool:
        return self._client is not None

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and publish until `drain()`. Cancel-safe: unpublished events stay in the spool."""
        if self._running:
            await self._finished.wait()
            return
        self._running = True
        self._finished.clear()
        connection = asyncio.create_task(self._connection_loop(), name="mqtt-connection")
        try:
            await self._outbox.run()
        finally:
            await self._say_offline()
            connection.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connection
            self._running = False
            self._finished.set()

    async def drain(self, timeout_s: float) -> None:
        """Publish what is pending within `timeout_s`, then disconnect; the rest stays in the spool."""
        runner: asyncio.Task[None] | None = None
        if not self._running:
            runner = asyncio.create_task(self.run())
            await asyncio.sleep(0)
        await self._outbox.drain(timeout_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finished.wait(), 5.0)
        if runner is not None and not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    # --- connection ---------------------------------------------------------------------------------------

    def _broker(self) -> BrokerSettings:
        s = self._settings
        return BrokerSettings(host=s.host, port=s.port, client_id=s.client_id, username=s.username,
                              password=s.password, tls=s.tls, keepalive_s=s.keepalive_s, timeout_s=s.timeout_s)

    async def _connection_loop(self) -> None:
        attempt = 0
        status = topic.status_topic(self._prefix)
        while True:
            try:
                async with connect(self._broker(), will=Will(status, b"offline")) as client:
                    attempt = 0
                    await client.publish(status, b"online", retain=True)
                    self._connected(client)
                    await client.until_lost()
            except Exception as exc:  # BrokerUnavailable, or anything else: keep the daemon's events, keep trying
                self._disconnected(exc)
            finally:
                self._disconnected(None)
            attempt += 1
            await asyncio.sleep(self._outbox.retry_delay(attempt))

    def _connected(self, client: Connection) -> None:
        self._client = client
        self._up.set()
        if not self._was_connected or self.stats.pending:
            log.info("MQTT broker %s:%d connected; %d events pending", self._settings.host, self._settings.port,
                     self.stats.pending)
        self._was_connected = True
        self._outbox.retry_now()  # do not wait out the outbox's backoff

    def _disconnected(self, exc: Exception | None) -> None:
        if exc is not None:
            self._refusal = self._reason(exc)
        if exc is not None and self._was_connected:
            log.warning("MQTT broker %s:%d unavailable (%s); keeping events in the outbox, reconnecting",
                        self._settings.host, self._settings.port, self._refusal)
            self._was_connected = False
        self._client = None
        self._up.clear()

    def _reason(self, exc: BaseException) -> str:
        """The adapter's words (the broker's or the socket's beneath them), without the password."""
        if isinstance(exc, BrokerUnavailable):
            return str(exc)  # netmon.mqtt redacted it already
        return library_message(exc, (self._settings.password,))

    async def _say_offline(self) -> None:
        client = self._client
        if client is not None:
            with contextlib.suppress(BrokerUnavailable, TimeoutError):
                await asyncio.wait_for(client.publish(topic.status_topic(self._prefix), b"offline", retain=True), 2.0)

    # --- delivery (called by the outbox, one batch at a time) ---------------------------------------------

    async def _deliver(self, batch: list[dict[str, Any]]) -> None:
        """Publish `batch` in order with QoS 1; return when the broker acknowledged all of it."""
        if self._client is None:
            with contextlib.suppress(TimeoutError):  # at start-up the connection is usually moments away
                await asyncio.wait_for(self._up.wait(), self._settings.timeout_s)
        client = self._client
        if client is None:
            raise BrokerUnavailable("not connected to the MQTT broker"
                                    + (f": {self._refusal}" if self._refusal else ""))
        # PartialDelivery (the first n acknowledged) and BrokerUnavailable go to the outbox as they are
        await client.publish_in_order([Outgoing(item["topic"], _encode(item["payload"]), bool(item["retain"]))
                                       for item in batch])


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
