"""How the office hears its site agents: a `MessageSource` (an async iterator of (topic, payload)) kept
connected by `listen`, which hands every message to `receive` (AgentIngest) and reconnects with backoff.

The source is `netmon.agents.mqtt_source.AgentSubscription` in the daemon (aiomqtt; to be folded into the
generic `netmon/mqtt.py` of issue #14) and anything of the same shape in tests.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from netmon.errors import NetmonError

log = logging.getLogger(__name__)

RETRY_S = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)


class MessageSource(Protocol):
    def messages(self) -> AsyncIterator[tuple[str, bytes]]:
        """Connect (a persistent session: what was published while we were away arrives now), subscribe, and
        yield each message; raises `NetmonError` when the connection cannot be made or is lost."""
        ...


async def listen(source: MessageSource, receive: Callable[[str, bytes], None], *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None) -> None:
    """Hand every message to `receive` until cancelled; a lost connection is retried after 1, 2, 5, 10, 15,
    then every 30 s (+-10 %), logged when it is lost and when it is back."""
    rng = rng or random.Random()
    failures = 0
    while True:
        reason = "the broker closed the connection"
        try:
            async for topic, payload in source.messages():
                if failures:
                    log.info("agents: broker connection is back after %d failed attempts", failures)
                    failures = 0
                _hand(receive, topic, payload)
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
