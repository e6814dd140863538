"""The office's side of a site agent, through the daemon's real pipeline and a real Store (SQLite, PostgreSQL),
with the office's clock injected: a silent agent makes its devices unknown (cause agent) and raises one
`agent_silent` for its site and no device alert; the backlog then fills in history with real times, and only
what is still true at arrival opens a ticket, saying how late. Malformed messages are counted and skipped,
dropped ranges are stored as gaps."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from office_agent_fixture import AGENT, T0, OfficeClock, PlayedAgent, office_config

from alerts.message import render
from netmon.app import NetmonApp
from netmon.model import Cause, Status
from netmon.storage import Store


class Office:
    """The daemon's parts as `netmon run` wires them, storage open and its writer running; time is `clock`."""

    def __init__(self, tmp_path: Path, url: str, clock: OfficeClock) -> None:
        self.clock = clock
        self.url = url
        self.app = NetmonApp(office_config(tmp_path, url, "kim"), agent_clock=clock)
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.app.open_storage()
        assert self.app.storage.queue is not None
        self._writer = asyncio.create_task(self.app.storage.queue.run())

    async def stop(self) -> None:
        self.app.state.flush()
        self.app.storage.final(self.clock.now)
        assert self.app.storage.queue is not None and self._writer is not None
        await self.app.storage.queue.drain(10.0)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.app.close()

    def send(self, messages: list[tuple[str, bytes]]) -> None:
        for topic, payload in messages:
            self.app.agents.receive(topic, payload)

    def housekeeping(self, until: float, step: float = 5.0) -> None:
        """The daemon's housekeeping every `step` s of office time up to `until`."""
        while self.clock.now < until:
            self.clock.now = min(until, self.clock.now + step)
            self.app.state.tick(self.clock.now)
            self.app.agents.tick()
            self.app.alerts.tick(self.clock.now)

    def incidents(self) -> list[tuple[str, str]]:
        return sorted((i.rule, i.subject) for i in self.app.alerts.open_incidents())


async def test_silent_agent_then_backlog_fills_history_and_tickets_only_what_is_still_true(
        tmp_path: Path, database_url: str) -> None:
    clock = OfficeClock(T0 + 1)
    office = Office(tmp_path, database_url, clock)
    await office.start()
    agent = PlayedAgent("kim")
    app = office.app
    try:
        office.send([agent.status(T0)])
        for minute in range(5):  # live: results a second old
            clock.now = T0 + 60 * minute + 1
            office.send(agent.minute(T0 + 60 * minute))
            office.housekeeping(clock.now + 1, step=1)
        states = app.state.states()
        assert {states[d].status for d in ("a-router", "a-ap", "a-sw")} == {Status.UP}

        # the uplink dies: nothing more is heard; 3 minutes later the agent is silent
        office.housekeeping(T0 + 240 + 400)
        states = app.state.states()
        assert [(states[d].status, states[d].unknown_cause) for d in ("a-router", "a-ap", "a-sw")] == \
            [(Status.UNKNOWN, Cause.AGENT)] * 3
        assert office.incidents() == [("agent_silent", "kim-a")]
        office.housekeeping(T0 + 4 * 3600, step=60)  # four hours of silence: still one alert, no device alert
        assert office.incidents() == [("agent_silent", "kim-a")]
        silent = app.alerts.open_incidents()[0]
        assert silent.owner.value == "pemda"
        message = render(silent, app.config.devices, app.config.sites)
        assert "Agen pemantau lokasi KIM Karangturi" in message.subject and "tidak terdengar" in message.subject

        # the backlog: the AP was down 01:00-01:30 (inside the gap), the switch fails at 03:00 and stays down
        clock.now = T0 + 4 * 3600 + 10
        backlog = []
        for minute in range(5, 4 * 60):
            at = T0 + 60 * minute
            down = {"a-ap"} if 60 <= minute < 90 else set()
            down |= {"a-sw"} if minute >= 180 else set()
            backlog += agent.minute(at, down)
        office.send([agent.status(T0 + 4 * 3600, depth=len(backlog), oldest_at=T0 + 300)])
        office.send(backlog)
        for minute in range(4 * 60, 4 * 60 + 4):  # live again; the device_down hold (120 s) runs on office time
            office.send(agent.minute(T0 + 60 * minute, {"a-sw"}))
            office.housekeeping(T0 + 60 * minute + 60)

        assert office.incidents() == [("device_down", "a-sw")]
        late = app.alerts.open_incidents()[0]
        assert late.opened_at == T0 + 180 * 60  # its first failed poll, on the device's own clock
        assert late.detected_at is not None and late.detected_at > T0 + 4 * 3600
        text = render(late, app.config.devices, app.config.sites).body
        assert "Terdeteksi terlambat" in text and "data dari agen tertunda" in text
        assert app.alerts.engine.ticket(late.id) is not None
        assert app.agents.ingest is not None and app.agents.ingest.stats[AGENT].ingested == agent.seq
    finally:
        await office.stop()

    store = Store.open(database_url)
    try:
        ap = store.outages(device="a-ap")
        assert [(o.started_at, o.ended_at, o.cause) for o in ap] == [(T0 + 3600, T0 + 5400, Cause.DEVICE)]
        sw = store.outages(device="a-sw")
        assert [(o.started_at, o.ended_at, o.cause) for o in sw] == [(T0 + 180 * 60, None, Cause.DEVICE)]
        rules = sorted((i.rule, i.subject) for i in store.incidents())
        assert rules == [("agent_silent", "kim-a"), ("device_down", "a-sw")]  # none for the AP
        assert [i.resolved_at is not None for i in store.incidents() if i.rule == "agent_silent"] == [True]
        progress = store.agent_progress()
        assert [(p.agent, p.last_seq) for p in progress] == [(AGENT, agent.seq)]
        changes = [(c.new, c.at) for c in store.state_changes("a-router")]
        assert (Status.UNKNOWN, T0 + 240.05) in changes  # unknown from the last thing the agent said
    finally:
        store.close()


async def test_malformed_messages_are_counted_and_skipped_and_dropped_ranges_stored(
        tmp_path: Path, database_url: str) -> None:
    clock = OfficeClock(T0 + 1)
    office = Office(tmp_path, database_url, clock)
    await office.start()
    agent = PlayedAgent("kim")
    try:
        office.send(agent.minute(T0))
        office.send([
            ("kim/agent/kec-sumbang-1/result", b"\x00not json"),
            ("kim/agent/kec-sumbang-1/result", b'{"v": 1, "agent": "kec-sumbang-1", "seq": 0, "result": {}}'),
            ("kim/agent/nobody/result", agent.sent[0][1]),
            ("kim/agent/kec-sumbang-1/status", b'{"v": 1}'),
        ])
        outsider = PlayedAgent("kim", seq=agent.seq)
        topic, payload = outsider.result("b-router", T0 + 10)  # a device the office polls itself
        office.send([(topic, payload)])
        agent.seq = outsider.seq
        office.send(agent.minute(T0 + 60))  # the ingest goes on
        ingest = office.app.agents.ingest
        assert ingest is not None
        stats = ingest.stats[AGENT]
        assert stats.rejected == {"malformed": 3, "device_not_served": 1}
        assert ingest.unknown_rejected == {"unknown_agent": 1}
        # the skipped seq of the outsider's message is a hole: the next ones wait behind it until the agent
        # says what became of it (here: dropped to its bound, with the period it covered)
        assert stats.ingested == 3 and ingest.sequences[AGENT].waiting == 3
        office.send([agent.status(T0 + 70, dropped=[{"from_seq": 4, "to_seq": 4, "from_at": T0 + 10,
                                                      "to_at": T0 + 10, "count": 1}])])
        assert stats.ingested == 6 and stats.gaps == 1 and ingest.sequences[AGENT].last == agent.seq
        samples = {(s.metric, s.labels): s.value for s in office.app.agents.samples()}
        assert samples[("netmon_agent_messages_rejected_total", (("agent", AGENT), ("reason", "malformed")))] == 3
        assert samples[("netmon_agent_gaps_total", (("agent", AGENT),))] == 1
        assert samples[("netmon_agent_last_seq", (("agent", AGENT),))] == agent.seq
    finally:
        await office.stop()
    store = Store.open(database_url)
    try:
        assert [(g.from_seq, g.to_seq, g.from_at, g.count, g.reason) for g in store.agent_gaps()] == [
            (4, 4, T0 + 10, 1, "dropped")]
    finally:
        store.close()


async def test_a_result_naming_another_agent_than_its_topic_is_rejected_counted_and_logged_once(
        tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The broker's ACL vouches for the topic only: a payload that names another agent is not believed."""
    clock = OfficeClock(T0 + 1)
    office = Office(tmp_path, database_url, clock)
    await office.start()
    impostor = PlayedAgent("kim", agent="kec-other-1")
    try:
        with caplog.at_level("WARNING", logger="netmon.agents.ingest"):
            for _ in range(3):
                _topic, payload = impostor.result("a-router", T0 + 5)
                office.send([(f"kim/agent/{AGENT}/result", payload)])
        ingest = office.app.agents.ingest
        assert ingest is not None
        stats = ingest.stats[AGENT]
        assert stats.rejected == {"agent_mismatch": 3} and stats.ingested == 0
        assert ingest.sequences[AGENT].last == 0 and ingest.sequences[AGENT].waiting == 0
        said = [r.getMessage() for r in caplog.records if "agent_mismatch" in r.getMessage()]
        assert len(said) == 1 and "kec-other-1" in said[0]  # rate-limited: once per agent and reason
        samples = {(s.metric, s.labels): s.value for s in office.app.agents.samples()}
        assert samples[("netmon_agent_messages_rejected_total",
                        (("agent", AGENT), ("reason", "agent_mismatch")))] == 3
    finally:
        await office.stop()
