"""Agent results over a real Mosquitto (127.0.0.1:1883) into the office's real pipeline and Store (SQLite,
PostgreSQL): published with QoS 1 by an in-test agent (netmon.wire), each ingested once even when
republished, and an office restarted mid-stream continues from its stored mark with the persistent session
(what was published while it was away arrives; nothing is counted twice)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path

import pytest
from mqtt_peer import mosquitto_reachable
from office_agent_fixture import AGENT, T0, OfficeClock, PlayedAgent, office_config
from peers import HANG_GUARD_S, require

from netmon.agents.subscription import BrokerSource
from netmon.app import NetmonApp
from netmon.mqtt import BrokerSettings, Outgoing, connect
from netmon.storage import Store

pytestmark = pytest.mark.integration


async def publish(messages: list[tuple[str, bytes]]) -> None:
    """Publish with QoS 1, each awaited until the broker's PUBACK."""
    async with connect(BrokerSettings(client_id=f"agent-{secrets.token_hex(4)}")) as conn:
        await conn.publish_in_order([Outgoing(topic, payload, retain=topic.endswith("/status"))
                                     for topic, payload in messages])


async def until(condition: object, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_GUARD_S  # only stops a hung test
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, f"hung waiting for {what}"
        await asyncio.sleep(0.02)


class RunningOffice:
    def __init__(self, tmp_path: Path, url: str, prefix: str, client_id: str, clock: OfficeClock) -> None:
        self.app = NetmonApp(office_config(tmp_path, url, prefix, client_id=client_id), agent_clock=clock)
        self.clock = clock
        self.subscription = BrokerSource(self.app.config.agents.broker)

    async def __aenter__(self) -> RunningOffice:
        await self.app.open_storage()
        assert self.app.storage.queue is not None
        self._writer = asyncio.create_task(self.app.storage.queue.run())
        self._listener = asyncio.create_task(self.app.agents.run(self.subscription))
        return self

    async def subscribed(self) -> None:
        """The subscription is in place (a retained probe on our own status topic comes back)."""
        probe = PlayedAgent(self.app.config.agents.broker.prefix)
        topic, payload = probe.status(self.clock.now)
        await publish([(topic, payload)])
        ingest = self.app.agents.ingest
        assert ingest is not None
        await until(lambda: ingest.stats[AGENT].status is not None, "the office's subscription")

    async def __aexit__(self, *exc: object) -> None:
        self._listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._listener
        self.app.storage.final(self.clock.now)
        assert self.app.storage.queue is not None
        await self.app.storage.queue.drain(10.0)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.app.close()

    @property
    def ingested(self) -> int:
        assert self.app.agents.ingest is not None
        return self.app.agents.ingest.stats[AGENT].ingested


def polls_in_store(url: str) -> int:
    store = Store.open(url)
    try:
        return sum(r.polls_ok + r.polls_failed for r in store.rollups()
                   if r.device in ("a-router", "a-ap", "a-sw"))
    finally:
        store.close()


async def test_results_over_the_broker_are_ingested_once_across_republish_and_office_restart(
        tmp_path: Path, database_url: str) -> None:
    require(mosquitto_reachable(), "Mosquitto not reachable at 127.0.0.1:1883 (Debian package `mosquitto`)")
    prefix, client_id = f"t{secrets.token_hex(4)}", f"netmon-office-{secrets.token_hex(4)}"
    clock = OfficeClock(T0 + 1)
    agent = PlayedAgent(prefix)
    first = [m for minute in range(10) for m in agent.minute(T0 + 60 * minute)]
    async with RunningOffice(tmp_path, database_url, prefix, client_id, clock) as office:
        await office.subscribed()
        await publish(first[:15])
        await publish(first[:15] + first[15:])  # the agent restarted and republished what it had not seen acked
        await until(lambda: office.ingested == len(first), "the first results")
        assert office.app.agents.ingest is not None
        assert office.app.agents.ingest.stats[AGENT].duplicates == 15

    # the office is away: the broker keeps its session and queues what the agent publishes meanwhile,
    # including a republish of results the office already has
    second = [m for minute in range(10, 20) for m in agent.minute(T0 + 60 * minute)]
    await publish(first[-6:] + second)
    clock.now = T0 + 1200
    async with RunningOffice(tmp_path, database_url, prefix, client_id, clock) as office:
        await until(lambda: office.ingested == len(second), "the results queued while the office was away")
        assert office.app.agents.ingest is not None
        assert office.app.agents.ingest.sequences[AGENT].last == agent.seq
        # the 6 republished, plus what the first office had received but not acknowledged when it stopped
        # (acknowledged only once stored): the broker delivers those again and the (agent, seq) mark drops them
        assert office.app.agents.ingest.stats[AGENT].duplicates >= 6

    assert polls_in_store(database_url) == len(first) + len(second)  # every poll once in the hourly rollups
    store = Store.open(database_url)
    try:
        assert [(p.agent, p.last_seq) for p in store.agent_progress()] == [(AGENT, agent.seq)]
    finally:
        store.close()
    await publish([(f"{prefix}/agent/{AGENT}/status", b"")])  # clears the retained probe
