"""The site agent at work (`netmon agent`): polls its devices (netmon.polling, the daemon's collectors and
schedulers), puts every result in the durable outbox (netmon.agent.outbox) before anything else, and sends the
outbox to the office's broker (netmon.mqtt), oldest first, deleting only what the broker acknowledged.

    topic {prefix}/agent/{id}/result   QoS 1, payload netmon.wire.encode(agent, seq, result), in seq order
    topic {prefix}/agent/{id}/status   QoS 1, retained, netmon.wire.encode_status: on connect, every
                                       `status_interval_s`, `online: false` on a clean stop and as the will

It only ever connects out. The first connection waits a random boot delay, each reconnect a jittered
exponential backoff (netmon.agent.pacing). Polling never waits for the broker: while the link is down the
results pile up in the outbox (within its bounds) and go out in order when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from netmon import wire
from netmon.agent.outbox import ResultOutbox
from netmon.agent.pacing import Pacing
from netmon.errors import BrokerUnavailable, PartialDelivery, StorageUnavailable
from netmon.model import PollResult
from netmon.mqtt import BrokerSettings, Connection, Outgoing, Will, connect

log = logging.getLogger(__name__)

BATCH = 100  # results per publish_in_order (pipelined up to the connection's max_inflight)
TRIM_S = 60.0  # the age bound is applied at least this often, even when nothing is polled


@dataclass(frozen=True)
class AgentLink:
    """Where the agent's messages go."""

    broker: BrokerSettings
    prefix: str = "netmon"
    status_interval_s: float = 60.0


class AgentSender:
    """Sends an outbox to the broker: connect (after the boot delay, then with backoff), status, results."""

    def __init__(self, outbox: ResultOutbox, link: AgentLink, pacing: Pacing, *,
                 sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.outbox = outbox
        self.link = link
        self.pacing = pacing
        self._sleep = sleep
        self._clock = clock
        self._ready = asyncio.Event()  # set when the outbox may hold something new
        self.connected = False
        self.sent_total = 0
        self.attempts_total = 0
        self._was_up = False
        self._said = ""  # the last failure logged (log on change, not on every retry)

    @property
    def result_topic(self) -> str:
        return wire.result_topic(self.link.prefix, self.outbox.agent)

    @property
    def status_topic(self) -> str:
        return wire.status_topic(self.link.prefix, self.outbox.agent)

    def wake(self) -> None:
        self._ready.set()

    async def run(self) -> None:
        """Connect and send until cancelled."""
        delay = self.pacing.boot_delay()
        log.info("agent %s: connecting to %s:%d in %.1f s (random boot delay)", self.outbox.agent,
                 self.link.broker.host, self.link.broker.port, delay)
        await self._sleep(delay)
        attempt = 0
        while True:
            self._was_up = False
            try:
                await self._session()
            except BrokerUnavailable as exc:
                self._failed(str(exc))
            finally:
                self.connected = False
                self.outbox.release()
            attempt = 1 if self._was_up else attempt + 1  # a connection that worked starts the backoff over
            await self._sleep(self.pacing.backoff(attempt))

    async def _session(self) -> None:
        self.attempts_total += 1
        will = Will(self.status_topic, wire.encode_status(self.outbox.status(online=False)))
        async with connect(self.link.broker, will=will) as conn:
            await conn.publish(self.status_topic, wire.encode_status(self.outbox.status(online=True)), retain=True)
            self.connected = self._was_up = True
            if self._said:
                log.info("agent %s: broker %s:%d connected; %d results waiting", self.outbox.agent,
                         self.link.broker.host, self.link.broker.port, self.outbox.depth)
            self._said = ""
            await _first_of([self._send(conn), self._report(conn), conn.until_lost()])

    def _failed(self, why: str) -> None:
        if why != self._said:
            log.warning("agent %s: broker %s:%d unavailable (%s); %d results kept in the outbox, reconnecting",
                        self.outbox.agent, self.link.broker.host, self.link.broker.port, why, self.outbox.depth)
        self._said = why or "unavailable"

    async def _send(self, conn: Connection) -> None:
        while True:
            self._ready.clear()
            batch = self.outbox.take(self.pacing.batch(BATCH))
            if not batch:
                await self._ready.wait()
                continue
            began = self._clock()
            try:
                await conn.publish_in_order([Outgoing(self.result_topic, p.payload) for p in batch])
            except PartialDelivery as exc:
                self._acknowledge(batch[exc.delivered - 1].seq, exc.delivered)
                raise BrokerUnavailable(str(exc)) from exc
            self._acknowledge(batch[-1].seq, len(batch))
            pause = self.pacing.send_pause(len(batch), self._clock() - began)
            if pause > 0:
                await self._sleep(pause)

    def _acknowledge(self, through: int, count: int) -> None:
        self.outbox.acknowledge(through)
        self.sent_total += count

    async def _report(self, conn: Connection) -> None:
        while True:
            await self._sleep(self.link.status_interval_s)
            await conn.publish(self.status_topic, wire.encode_status(self.outbox.status(online=True)), retain=True)

    async def say_offline(self, timeout_s: float = 2.0) -> None:
        """On a clean stop: the retained status says offline (the will is only for a vanished agent)."""
        with contextlib.suppress(BrokerUnavailable, TimeoutError):
            async with asyncio.timeout(timeout_s), connect(self.link.broker) as conn:
                await conn.publish(self.status_topic, wire.encode_status(self.outbox.status(online=False)),
                                   retain=True)


class ResultIntake:
    """The agent's `on_result`: every result into the outbox (durable), then the sender is woken."""

    def __init__(self, outbox: ResultOutbox, wake: Callable[[], None],
                 also: Callable[[PollResult], object] | None = None) -> None:
        self._outbox = outbox
        self._wake = wake
        self._also = also
        self.failures_total = 0

    def __call__(self, result: PollResult) -> None:
        try:
            self._outbox.put(result)
        except StorageUnavailable as exc:  # a full or broken disk: say so, keep polling
            self.failures_total += 1
            log.error("agent outbox: result of %s not stored: %s", result.device, exc)
            return
        if self._also is not None:
            self._also(result)
        self._wake()


async def trim_periodically(outbox: ResultOutbox, every_s: float = TRIM_S,
                            sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep) -> None:
    while True:
        await sleep(every_s)
        with contextlib.suppress(StorageUnavailable):
            outbox.trim()


async def _first_of(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    """Run them together until the first ends; cancel the rest; its exception (if any) is raised."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

