"""The one MQTT adapter: the only module that imports aiomqtt (house rule: one adapter per library).

Small on purpose. Its users: alerts/mqtt.py (the daemon's events), netmon/agent (a site agent's results and
status) and the office's subscription to agent results.

    settings = BrokerSettings(host="broker.example", port=8883, client_id="kec-sumbang-1", tls=True,
                              ca_file="/etc/netmon/ca.pem", username="kec-sumbang-1", password=Secret("..."))
    async with connect(settings, will=Will("netmon/agent/kec-sumbang-1/status", b'{"online":false}')) as conn:
        await conn.publish("netmon/agent/x/status", b"...", retain=True)   # QoS 1: returns at PUBACK
        acked = await conn.publish_in_order([Outgoing(topic, payload), ...])  # pipelined, PUBACK of each
        await conn.subscribe("netmon/agent/+/result")                        # QoS 1
        async for message in conn.messages():                               # ends with BrokerUnavailable
            ...; message.ack()                                               # with manual_ack=True only
    # or, for a publisher that only wants to know when the connection drops: await conn.until_lost()

- `connect()` raises `BrokerUnavailable` (the broker's or the socket's words, password redacted) when the
  connection cannot be made: refused login, TLS failure, nothing listening, CONNACK timeout.
- Every publish is QoS 1 and returns only when the broker's PUBACK arrived (aiomqtt's `publish(qos=1)` returns
  when paho's on_publish fires, which for QoS 1 is the PUBACK). A publish that cannot complete (connection
  lost, `timeout_s` without PUBACK) raises `BrokerUnavailable`; `publish_in_order` raises `PartialDelivery`
  with the number of leading items acknowledged when some were.
- `persistent_session=True` is MQTT's clean_session=False: the broker keeps this `client_id`'s
  subscriptions and queues QoS 1 messages for it while it is away (mosquitto: `persistence true`, sized by
  `max_queued_messages`). Use a fixed `client_id` with it.
- `manual_ack=True`: a received QoS 1 message is acknowledged to the broker only when `Message.ack()` is
  called (after it is safely stored), so a crash between receipt and storage makes the broker deliver it again.
  Without it, paho acknowledges on receipt.
- The connection reads the broker's packets in one task of its own: `messages()` (one consumer) and
  `until_lost()` may be used together.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiomqtt

from netmon.errors import BrokerUnavailable, PartialDelivery, library_message
from netmon.model import Secret

QOS = 1


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and who we are to it."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "kim-netmon"
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    ca_file: str | None = None  # with tls: trust this CA (PEM); None: the system's trust store
    cert_file: str | None = None  # with tls: a client certificate (PEM) ...
    key_file: str | None = None  # ... and its key
    keepalive_s: int = 30
    timeout_s: float = 10.0  # CONNACK, SUBACK and each PUBACK
    persistent_session: bool = False  # clean_session=False
    manual_ack: bool = False
    max_inflight: int = 20  # QoS 1 messages sent and not yet acknowledged


@dataclass(frozen=True)
class Will:
    """The message the broker publishes (QoS 1) when the connection ends without a DISCONNECT."""

    topic: str
    payload: bytes
    retain: bool = True


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True)
class Message:
    """A received message. `ack()` acknowledges it (with `manual_ack`; a no-op otherwise)."""

    topic: str
    payload: bytes
    retain: bool
    qos: int
    ack: Callable[[], None]


def tls_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    """The TLS context of `settings` (None without tls). Raises OSError/ssl.SSLError on unreadable files."""
    if not settings.tls:
        return None
    context = ssl.create_default_context(cafile=settings.ca_file)
    if settings.cert_file is not None:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    return context


def _reason(exc: BaseException, settings: BrokerSettings) -> str:
    """aiomqtt's words (and the socket's beneath them), without the password."""
    secrets = (settings.password,)
    said = library_message(exc, secrets)
    cause = exc.__cause__
    return said if cause is None else f"{said} ({library_message(cause, secrets)})"


class Connection:
    """One open connection (made by `connect`)."""

    def __init__(self, client: aiomqtt.Client, settings: BrokerSettings) -> None:
        self._client = client
        self._settings = settings
        self._inbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self._lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(), name=f"mqtt-reader:{settings.client_id}")

    @property
    def lost(self) -> bool:
        return self._lost.done()

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish with QoS 1; return at the broker's PUBACK. `BrokerUnavailable` otherwise."""
        await self.publish_in_order([Outgoing(topic, payload, retain)])

    async def publish_in_order(self, items: Sequence[Outgoing]) -> int:
        """Publish `items` in order with QoS 1, pipelined (up to `max_inflight` unacknowledged); return
        len(items) when the broker acknowledged every one. `PartialDelivery(n)` when only the first n were,
        `BrokerUnavailable` when none was."""
        # aiomqtt warns once per publish call beyond `pending_calls_threshold` awaiting its PUBACK: a batch is
        # published at once by design (12,000 warnings at a 20,000-device start otherwise)
        self._client.pending_calls_threshold = max(self._client.pending_calls_threshold, len(items))
        # The tasks start in creation order, so paho queues and sends the PUBLISH packets in this order.
        tasks = [asyncio.ensure_future(self._client.publish(item.topic, item.payload, qos=QOS, retain=item.retain,
                                                            timeout=self._settings.timeout_s))
                 for item in items]
        acked = 0
        lost: asyncio.Future[Any] = self._lost
        try:
            for task in tasks:
                await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
                if not task.done():
                    raise BrokerUnavailable("connection to the MQTT broker lost before PUBACK")
                task.result()
                acked += 1
        except (aiomqtt.MqttError, BrokerUnavailable) as exc:
            message = f"publish failed after {acked} of {len(items)}: {_reason(exc, self._settings)}"
            if acked:
                raise PartialDelivery(acked, message) from exc
            raise BrokerUnavailable(message) from exc
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # retrieve every outcome
        return acked

    async def subscribe(self, topic_filter: str) -> None:
        """Subscribe with QoS 1 (with a persistent session the broker keeps it across reconnects)."""
        try:
            await self._client.subscribe(topic_filter, qos=QOS, timeout=self._settings.timeout_s)
        except aiomqtt.MqttError as exc:
            raise BrokerUnavailable(f"subscribe failed: {_reason(exc, self._settings)}") from exc

    async def messages(self) -> AsyncIterator[Message]:
        """The messages received, in order; ends with `BrokerUnavailable` when the connection drops."""
        while True:
            message = await self._inbox.get()
            if message is None:
                self._inbox.put_nowait(None)  # for any later reader too
                raise BrokerUnavailable(self._lost.result())
            yield message

    async def until_lost(self) -> None:
        """Wait while connected; raise `BrokerUnavailable` (why) when the connection drops."""
        raise BrokerUnavailable(await asyncio.shield(self._lost))

    async def _read(self) -> None:
        why = "disconnected"
        try:
            async for received in self._client.messages:
                self._inbox.put_nowait(self._message(received))
        except aiomqtt.MqttError as exc:
            why = _reason(exc, self._settings)
        finally:
            if not self._lost.done():
                self._lost.set_result(why)
            self._inbox.put_nowait(None)

    def _message(self, received: aiomqtt.Message) -> Message:
        payload = received.payload
        body = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload or "").encode()
        mid, qos = received.mid, received.qos
        paho = self._client._client  # paho: aiomqtt does not wrap manual acks

        def ack() -> None:
            if self._settings.manual_ack and qos > 0 and not self._lost.done():
                paho.ack(mid, qos)

        return Message(received.topic.value, body, bool(received.retain), qos, ack)

    async def _close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        if not self._lost.done():
            self._lost.set_result("closed")


@contextlib.asynccontextmanager
async def connect(settings: BrokerSettings, *, will: Will | None = None) -> AsyncIterator[Connection]:
    """Connect (CONNACK within `timeout_s`), yield the connection, disconnect at the end (the will is not
    sent on a clean disconnect). `BrokerUnavailable` when the connection cannot be made."""
    try:
        client = _client(settings, will)
        await client.__aenter__()
    except (aiomqtt.MqttError, OSError, ssl.SSLError, ValueError) as exc:
        raise BrokerUnavailable(_reason(exc, settings)) from exc
    connection = Connection(client, settings)
    try:
        yield connection
    finally:
        await connection._close()
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError, OSError):
            await asyncio.wait_for(client.__aexit__(None, None, None), settings.timeout_s)


def _client(settings: BrokerSettings, will: Will | None) -> aiomqtt.Client:
    client = aiomqtt.Client(
        settings.host, settings.port, identifier=settings.client_id, username=settings.username,
        password=settings.password.reveal() if settings.password is not None else None,
        keepalive=settings.keepalive_s, timeout=settings.timeout_s, tls_context=tls_context(settings),
        clean_session=not settings.persistent_session, max_inflight_messages=settings.max_inflight,
        will=None if will is None else aiomqtt.Will(will.topic, will.payload, qos=QOS, retain=will.retain),
    )
    if settings.manual_ack:
        client._client.manual_ack_set(True)
    # aiomqtt warns on every publish beyond 10 awaiting their PUBACK; `publish_in_order` keeps up to
    # `max_inflight` so by design, and a backlog would fill the log with the warning
    client.pending_calls_threshold = max(client.pending_calls_threshold, settings.max_inflight)
    return client
