"""`AgentSubscription`: the agents' MQTT topics as a `MessageSource` (netmon.agents.subscription).

TO BE FOLDED INTO netmon/mqtt.py (the generic aiomqtt adapter of issue #14, not on this branch yet): this is
the second module that imports aiomqtt (alerts/mqtt.py is the first) only until then.

A persistent session: a fixed client id and clean_session=False, so the broker keeps the office's subscription
and queues agents' results (QoS 1) while the office is away; subscribed with QoS 1 to
`{prefix}/agent/+/result` and `{prefix}/agent/+/status`. paho acknowledges a QoS 1 message (PUBACK) when it
has been handed to this iterator; from then on it is the office's (docs/agents-office.md says what a crash of the
office in between costs).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiomqtt

from netmon.config.agents import AgentBroker
from netmon.errors import BrokerUnavailable, library_message


class AgentSubscription:
    def __init__(self, broker: AgentBroker, *, timeout_s: float = 10.0) -> None:
        self._broker = broker
        self._timeout_s = timeout_s

    def topics(self) -> list[str]:
        return [f"{self._broker.prefix}/agent/+/result", f"{self._broker.prefix}/agent/+/status"]

    async def messages(self) -> AsyncIterator[tuple[str, bytes]]:
        b = self._broker
        tls = ssl.create_default_context(cafile=b.ca_file) if b.tls else None
        client = aiomqtt.Client(b.host, b.port, identifier=b.client_id, clean_session=False,
                                username=b.username, password=b.password.reveal() if b.password else None,
                                tls_context=tls, keepalive=b.keepalive_s, timeout=self._timeout_s,
                                max_queued_incoming_messages=10000)
        secrets = (b.password.reveal(),) if b.password else ()
        try:
            async with client:
                for topic in self.topics():
                    await client.subscribe(topic, qos=1)
                async for message in client.messages:
                    payload = message.payload
                    yield str(message.topic), bytes(payload) if isinstance(payload, bytes | bytearray) else b""
        except aiomqtt.MqttError as exc:
            raise BrokerUnavailable(f"agents' broker {b.host}:{b.port}: "
                                    f"{library_message(exc, secrets)}") from exc
