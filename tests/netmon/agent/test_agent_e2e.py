"""The site agent with real parts: the project's simulated KIM devices (SNMP agents and RouterOS routers in a
subprocess), a Mosquitto of the test's own, the office's persistent subscription through netmon.mqtt, the agent
in-process or as a real `netmon agent` subprocess killed with SIGKILL. Polls run at the simulator's real 5 s
interval; waits are for conditions, bounded only by the hang guard."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from agent_peer import Mosquitto, Office, agent_section, office_settings, site_config, wait_for
from peers import NETMON, REPO, simulated_demo

from netmon import wire
from netmon.agent.site import SiteAgent
from netmon.config.site_agent import load_site_config
from netmon.model import Secret
from netmon.mqtt import BrokerSettings, connect
from netmon.simulate.routeros.tls import write_certificates, write_client_certificate

pytestmark = pytest.mark.integration

AGENT = "kec-baturraden-1"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Path]:
    with simulated_demo(tmp_path, interval_s=5) as (config, _sim):
        yield config


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    own = Mosquitto(tmp_path / "broker")
    own.start()
    try:
        yield own
    finally:
        own.stop()


@contextlib.asynccontextmanager
async def start_office(port: int, name: str = "netmon-office-test", **changes: Any) -> AsyncIterator[Office]:
    office = Office(office_settings(port, name, **changes))
    task = asyncio.create_task(office.run())
    try:
        await wait_for(office.subscribed.is_set, "the office's subscription")
        yield office
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class RunningAgent:
    """A SiteAgent in this process, stopped cleanly at the end."""

    def __init__(self, config: Path, clock: Callable[[], float] = time.time) -> None:
        self.agent = SiteAgent(load_site_config(config), rng=random.Random(7), clock=clock)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.agent.serve(self.stop))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 60)


def assert_nothing_lost(received: list[int], last_seq: int, kept: Sequence[int] = ()) -> None:
    """Every seq from 1 to last_seq arrived or is still in the outbox; the first arrival of each is in order."""
    assert set(received) | set(kept) == set(range(1, last_seq + 1))
    first_seen = list(dict.fromkeys(received))
    assert first_seen == sorted(first_seen)


def _outbox_seqs(path: Path) -> tuple[list[int], int]:
    """(seqs kept, last seq assigned); ([], 0) while the agent is still creating the file."""
    with sqlite3.connect(path) as db:
        try:
            kept = [int(r[0]) for r in db.execute("SELECT seq FROM outbox ORDER BY seq")]
            row = db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        except sqlite3.OperationalError:  # no tables yet
            return [], 0
    return kept, 0 if row is None else int(row[0])


async def test_results_arrive_in_seq_order_with_the_devices_real_times(demo: Path, broker: Mosquitto,
                                                                       tmp_path: Path) -> None:
    config = site_config(demo, tmp_path / "site.yaml", agent_section(AGENT, broker.port, tmp_path / "o.sqlite"))
    began = time.time()
    async with start_office(broker.port) as office:
        running = RunningAgent(config)
        await wait_for(lambda: len(office.seqs(AGENT)) >= 12, "12 results at the office")
        await running.close()
        ended = time.time()
        last = running.agent.outbox.last_seq
        await wait_for(lambda: any(not s.online for s in office.statuses), "the offline status")
    seqs = office.seqs(AGENT)
    assert seqs[:12] == list(range(1, 13))
    kept, last = _outbox_seqs(tmp_path / "o.sqlite")  # sent but not yet deleted at the stop: sent again later
    assert_nothing_lost(seqs, last, kept)
    results = office.decoded(AGENT)
    assert all(began <= r.started_at <= ended for r in results.values())  # polled by the agent, then
    assert {r.device for r in results.values()} >= {"kim-karangmangu-router", "kim-ketenger-ap"}
    online = [s for s in office.statuses if s.online]
    assert online and online[0].agent == AGENT
    final = office.statuses[-1]
    assert not final.online and final.last_seq == last and final.dropped == ()


async def test_a_broker_away_for_a_while_loses_nothing_and_the_backlog_arrives_in_order(
        demo: Path, broker: Mosquitto, tmp_path: Path) -> None:
    config = site_config(demo, tmp_path / "site.yaml", agent_section(AGENT, broker.port, tmp_path / "o.sqlite"))
    async with start_office(broker.port) as office:
        running = RunningAgent(config)
        agent = running.agent
        await wait_for(lambda: len(office.seqs(AGENT)) >= 3, "the first results")
        broker.stop()
        await wait_for(lambda: not agent.sender.connected, "the agent to notice")
        before = agent.outbox.last_seq
        await wait_for(lambda: agent.outbox.depth >= 15, "a backlog of 15 results")  # polling goes on
        assert agent.outbox.last_seq >= before + 15
        samples = {s.metric: s.value for s in agent.snapshot().extra if s.metric.startswith("netmon_agent_")}
        assert samples["netmon_agent_broker_connected"] == 0 and samples["netmon_agent_outbox_depth"] >= 15
        assert samples["netmon_agent_outbox_oldest_age_seconds"] > 0
        broker.start()  # same port, same persistence file: the office's session is still there
        await wait_for(lambda: agent.outbox.depth == 0 and agent.sender.connected, "the backlog to drain")
        last = agent.outbox.last_seq
        await wait_for(lambda: set(range(1, last + 1)) <= set(office.seqs(AGENT)), "every result at the office")
        await running.close()
    assert_nothing_lost(office.seqs(AGENT), last)


def _spawn(config: Path, seed: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*NETMON, "agent", "--config", str(config), "--seed", str(seed)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_kill_9_of_the_agent_in_the_middle_of_a_backlog_loses_nothing_and_repeats_only_same_seqs(
        demo: Path, broker: Mosquitto, tmp_path: Path) -> None:
    outbox = tmp_path / "o.sqlite"
    config = site_config(demo, tmp_path / "site.yaml", agent_section(AGENT, broker.port, outbox))
    async with start_office(broker.port) as office:
        broker.stop()  # the uplink is down: a backlog builds up
        proc = _spawn(config, 1)
        try:
            await wait_for(lambda: outbox.exists() and len(_outbox_seqs(outbox)[0]) >= 20, "a backlog of 20")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        broker.start()
        proc = _spawn(config, 2)  # sends the backlog ... and is killed in the middle of it
        try:
            await wait_for(lambda: len(office.seqs(AGENT)) >= 1, "the first of the backlog")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        proc = _spawn(config, 3)
        try:
            await wait_for(lambda: _outbox_seqs(outbox)[1] >= 40 and not _outbox_seqs(outbox)[0],
                           "40 results assigned and the outbox empty")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        kept, last = _outbox_seqs(outbox)
        await wait_for(lambda: set(range(1, last + 1)) - set(kept) <= set(office.seqs(AGENT)),
                       "every result sent to reach the office")
    received = office.seqs(AGENT)
    assert_nothing_lost(received, last, kept)
    payloads: dict[int, bytes] = {}
    for agent, seq, payload in office.results:
        assert payloads.setdefault(seq, payload) == payload, f"seq {seq} arrived twice with different contents"
        assert agent == AGENT


async def test_a_backlog_over_its_age_bound_drops_the_oldest_counts_them_and_says_so(
        demo: Path, broker: Mosquitto, tmp_path: Path) -> None:
    offset = [0.0]

    def clock() -> float:
        return time.time() + offset[0]

    config = site_config(demo, tmp_path / "site.yaml", agent_section(
        AGENT, broker.port, tmp_path / "o.sqlite", outbox={"path": str(tmp_path / "o.sqlite"), "max_age_s": 86400}))
    async with start_office(broker.port) as office:
        broker.stop()
        running = RunningAgent(config, clock=clock)
        agent = running.agent
        await wait_for(lambda: agent.outbox.depth >= 10, "a backlog of 10")
        offset[0] = 2 * 86400.0  # the link stays down for two (agent-clock) days: the bound is one day
        await wait_for(lambda: agent.outbox.dropped_total >= 10, "the oldest to be dropped")
        [dropped] = agent.outbox.dropped
        assert dropped.from_seq == 1 and dropped.count == dropped.to_seq
        samples = {s.metric: s.value for s in agent.snapshot().extra}
        assert samples["netmon_agent_outbox_dropped_total"] == dropped.count
        broker.start()
        await wait_for(lambda: any(s.dropped for s in office.statuses), "a status naming the dropped range")
        await wait_for(lambda: agent.outbox.depth == 0, "the rest to drain")
        last = agent.outbox.last_seq
        await wait_for(lambda: set(range(dropped.to_seq + 1, last + 1)) <= set(office.seqs(AGENT)), "the rest")
        await running.close()
    status = next(s for s in office.statuses if s.dropped)
    assert status.dropped == (dropped,) and dropped.from_at <= dropped.to_at
    received = office.seqs(AGENT)
    assert not set(received) & set(range(1, dropped.to_seq + 1))
    assert_nothing_lost(received, last, list(range(1, dropped.to_seq + 1)))


ACL = REPO / "deploy" / "mosquitto" / "acl"


async def test_tls_and_password_to_a_broker_whose_acl_lets_an_agent_write_only_its_own_topics(
        demo: Path, tmp_path: Path) -> None:
    ca, cert, key = write_certificates(tmp_path / "pki")
    passwords = {"netmon-office": "office-pw", AGENT: "agent-pw", "kec-other-2": "other-pw"}
    broker = Mosquitto(tmp_path / "tls-broker", tls=(ca, cert, key), passwords=passwords, acl=ACL)
    broker.start()
    (tmp_path / "agent.secret").write_text("agent-pw\n")
    tls_broker = {"host": "127.0.0.1", "port": broker.port, "tls": True, "ca_file": str(ca), "username": AGENT,
                  "password": {"file": str(tmp_path / "agent.secret")}, "timeout_s": 5}
    config = site_config(demo, tmp_path / "site.yaml",
                         agent_section(AGENT, broker.port, tmp_path / "o.sqlite", broker=tls_broker))
    try:
        async with start_office(broker.port, tls=True, ca_file=str(ca), username="netmon-office",
                                         password=Secret("office-pw")) as office:
            running = RunningAgent(config)
            await wait_for(lambda: len(office.seqs(AGENT)) >= 3, "results over TLS")
            # another agent's credentials cannot write this agent's topic (the broker drops it silently)
            other = BrokerSettings("127.0.0.1", broker.port, "kec-other-2", "kec-other-2", Secret("other-pw"),
                                   tls=True, ca_file=str(ca))
            forged = wire.encode(AGENT, 999_999, office.decoded(AGENT)[1])
            async with connect(other) as conn:
                await conn.publish(wire.result_topic("netmon", AGENT), forged)
                await conn.publish(wire.result_topic("netmon", "kec-other-2"), forged)  # its own topic: allowed
            # (on its own topic it may write, but a payload naming another agent is not believed). Mosquitto
            # forwards one client's messages in order: once the second is here, the first would have been too.
            await wait_for(lambda: office.mismatched >= 1, "the other agent's message on its own topic")
            mark = len(office.seqs(AGENT))
            await wait_for(lambda: len(office.seqs(AGENT)) >= mark + 3, "more of this agent's results")
            await running.close()
        assert 999_999 not in office.seqs(AGENT) and office.mismatched == 1
        kept, last = _outbox_seqs(tmp_path / "o.sqlite")
        assert_nothing_lost(office.seqs(AGENT), last, kept)

        # a wrong password: refused, and the agent keeps its results
        (tmp_path / "agent.secret").write_text("not-the-password\n")
        refused = RunningAgent(config)
        await wait_for(lambda: refused.agent.sender.attempts_total >= 2, "two refused attempts")
        await wait_for(lambda: refused.agent.outbox.depth >= 1, "a result kept")
        assert not refused.agent.sender.connected
        await refused.close()
    finally:
        broker.stop()


async def test_client_certificates_log_in_by_their_common_name_and_the_acl_holds(demo: Path, tmp_path: Path) -> None:
    """A broker that requires a client certificate and takes its CN as the username (the deploy/ ACL's %u):
    the agent logs in with its certificate alone; a certificate of another agent cannot write this agent's
    topic; a box without a certificate, or with one from another CA, is refused and keeps its results."""
    pki = tmp_path / "pki"
    ca, cert, key = write_certificates(pki)
    agent_cert, agent_key = write_client_certificate(pki, AGENT)
    office_cert, office_key = write_client_certificate(pki, "netmon-office")
    other_cert, other_key = write_client_certificate(pki, "kec-other-2")
    broker = Mosquitto(tmp_path / "cert-broker", tls=(ca, cert, key), acl=ACL,
                       extra=("require_certificate true", "use_identity_as_username true"))
    broker.start()
    tls = {"host": "127.0.0.1", "port": broker.port, "tls": True, "ca_file": str(ca), "timeout_s": 5}
    config = site_config(demo, tmp_path / "site.yaml", agent_section(
        AGENT, broker.port, tmp_path / "o.sqlite",
        broker={**tls, "cert_file": str(agent_cert), "key_file": str(agent_key)}))
    try:
        async with start_office(broker.port, tls=True, ca_file=str(ca), cert_file=str(office_cert),
                                key_file=str(office_key)) as office:
            running = RunningAgent(config)
            await wait_for(lambda: len(office.seqs(AGENT)) >= 3, "results from the agent's certificate")
            other = BrokerSettings("127.0.0.1", broker.port, "kec-other-2", tls=True, ca_file=str(ca),
                                   cert_file=str(other_cert), key_file=str(other_key))
            forged = wire.encode(AGENT, 999_999, office.decoded(AGENT)[1])
            async with connect(other) as conn:
                await conn.publish(wire.result_topic("netmon", AGENT), forged)
                await conn.publish(wire.result_topic("netmon", "kec-other-2"), forged)
            await wait_for(lambda: office.mismatched >= 1, "the other agent's message on its own topic")
            mark = len(office.seqs(AGENT))
            await wait_for(lambda: len(office.seqs(AGENT)) >= mark + 2, "more of this agent's results")
            await running.close()
        assert 999_999 not in office.seqs(AGENT) and office.mismatched == 1
        kept, last = _outbox_seqs(tmp_path / "o.sqlite")
        assert_nothing_lost(office.seqs(AGENT), last, kept)

        write_certificates(tmp_path / "other-pki")  # a CA the broker does not trust
        stranger_cert, stranger_key = write_client_certificate(tmp_path / "other-pki", AGENT)
        for name, broker_section in (("none", tls),
                                     ("stranger", {**tls, "cert_file": str(stranger_cert),
                                                   "key_file": str(stranger_key)})):
            refused_config = site_config(demo, tmp_path / f"site-{name}.yaml", agent_section(
                AGENT, broker.port, tmp_path / f"{name}.sqlite", broker=broker_section))
            refused = RunningAgent(refused_config)
            await wait_for(lambda r=refused: r.agent.sender.attempts_total >= 2, f"two refused attempts ({name})")
            await wait_for(lambda r=refused: r.agent.outbox.depth >= 1, f"a result kept ({name})")
            assert not refused.agent.sender.connected
            await refused.close()
    finally:
        broker.stop()
