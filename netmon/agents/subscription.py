"""How the office hears its site agents: a `MessageSource` (messages with an `ack`) kept connected by `listen`,
which hands every message to `receive` (AgentIngest), acknowledges it once what it caused is durable, and
reconnects with backoff.

The daemon's source is `BrokerSource`: netmon.mqtt (the one aiomqtt adapter) with a persistent session (a fixed
client id, clean_session=False: the broker keeps the office's subscription and queues the agents' QoS 1 results
while the office is away) and manual acknowledgement, subscribed to `{prefix}/agent/+/result` and
`{prefix}/agent/+/status`. `listen` acknowledges a message (its PUBACK to the broker) only when `durable` says so:
in the daemon, when the storage write queue has committed or spooled (fsync'd) every record put until then,
which includes the records the message caused and the agent's progress mark (netmon.storage.queue
`when_durable`). What a `kill -9` of the office between receipt and that point costs: nothing is lost (the
broker delivers the unacknowledged messages again when the office is back) and nothing counts twice (what was
ingested and stored is at or below the stored mark, so its redelivery is dropped by (agent, seq)). Tests give
a source of their own.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from netmon.config.agents import AgentBroker
from netmon.errors import NetmonError
from netmon.mqtt import BrokerSettings, Message, connect

log = logging.getLogger(__name__)

RETRY_S = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
Durable = Callable[[Callable[[], None]], None]  # durable(done): call done() once what was stored is safe


class MessageSource(Protocol):
    def messages(self) -> AsyncIterator[Message]:
        """Connect (a persistent session: what was published while we were away arrives now), subscribe, and
        yield each message; raises `NetmonError` when the connection cannot be made or is lost."""
        ...


def broker_settings(broker: AgentBroker, *, timeout_s: float = 10.0) -> BrokerSettings:
    """The office's session at the agents' broker: persistent, fixed client id, acknowledged by hand."""
    return BrokerSettings(host=broker.host, port=broker.port, client_id=broker.client_id, username=broker.username,
                          password=broker.password, tls=broker.tls, ca_file=broker.ca_file,
                          keepalive_s=broker.keepalive_s, timeout_s=timeout_s, persistent_session=True,
                          manual_ack=True)


class BrokerSource:
    """The agents' topics at the broker, through netmon.mqtt."""

    def __init__(self, broker: AgentBroker, *, timeout_s: float = 10.0) -> None:
        self._prefix = broker.prefix
        self.settings = broker_settings(broker, timeout_s=timeout_s)

    def topics(self) -> list[str]:
        return [f"{self._prefix}/agent/+/result", f"{self._prefix}/agent/+/status"]

    async def messages(self) -> AsyncIterator[Message]:
        async with connect(self.settings) as connection:
            for topic in self.topics():
                await connection.subscribe(topic)
            async for message in connection.messages():
                yield message


def _at_once(done: Callable[[], None]) -> None:
    done()


async def listen(source: MessageSource, receive: Callable[[str, bytes], None], *, durable: Durable = _at_once,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None) -> None:
    """Hand every message to `receive`, then acknowledge it through `durable`, until cancelled; a lost
    connection is retried after 1, 2, 5, 10, 15, then every 30 s (+-10 %), logged when it is lost and when it
    is back."""
    rng = rng or random.Random()
    failures = 0
    while True:
        reason = "the broker closed the connection"
        try:
            async for message in source.messages():
                if failures:
                    log.info("agents: broker connection is back after %d failed attempts", failures)
                    failures = 0
                _hand(receive, message.topic, message.payload)
                durable(message.ack)
        except NetmonError as exc:
            reason = str(exc)
        if failures == 0:
            log.warning("agents: broker connection lost or refused (%s); retrying", reason)
        failures += 1
        await sleep(RETRY_S[min(failures, len(RETRY_S)) - 1] * rng.uniform(0.9, 1.1))


def _hand(receive: Callable[[str, bytes], None], topic: str, payload: bytes) -> None:
    """The one broad catch of the ingest: a bug on one message must not stop the others."""
    try:
        receive(topic, payload)
    except Exception:
        log.exception("agents: a message on %s could not be ingested (a bug); it is dropped", topic[:200])
