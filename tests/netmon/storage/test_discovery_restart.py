"""Discovery kept across restarts, against real agents and real databases: every corpus recording (and the
demo AP, whose uptime moves) served by the project's SNMP simulator, polled by a collector whose
discoveries go through the write queue into SQLite or PostgreSQL, then stopped and started again on the
same database. The agents count what they are asked: a discovery GETs sysObjectID.0 (choosing the profile)
and reads its profile's discovery plan (identity scalars, table label columns), which no poll reads.

The clock of the collector and of the simulated agents is injected; nothing waits on the wall clock."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from peers import require
from storage_backends import Backend, backend

from collectors.snmp import stored as stored_form
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.mapping import Discovery
from collectors.snmp.profile import PACKAGED_DIR, ProfileSet, load_profiles
from collectors.snmp.varbind import oid_tuple
from netmon.app import NetmonApp
from netmon.config.loader import Config
from netmon.config.schema import SchedulerConfig, StorageConfig
from netmon.model import (
    Device,
    Owner,
    PollResult,
    Role,
    Secret,
    Site,
    SnmpSettings,
    SnmpV2cAuth,
    Source,
    StoredDiscovery,
)
from netmon.simulate.fleet import SimDevice
from netmon.simulate.snmp_agent import SnmpSimulator
from netmon.simulate.store import RecordStore
from netmon.storage import WriteQueue
from netmon.storage import schema as t
from netmon.worker import ShardedSnmpPoller, WorkerSettings, shard_of

__all__ = ["backend"]

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO.parent / "shared" / "corpus" / "snmprec"
RECORDINGS = sorted([*CORPUS.glob("*.snmprec"), *(REPO / "tests" / "fixtures" / "snmprec").glob("*.snmprec")])
DEMO = [REPO / "netmon" / "demo" / f"{name}.snmprec" for name in ("kim-karangmangu-ap", "kim-ketenger-ap")]
# the demo devices' uptime moves with the clock (a recording's stands still): they show reboots
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
T0 = 1_750_000_000.0
SIX_HOURS = 6 * 3600.0
KEY = bytes(range(32))
PROFILES = load_profiles()
SITE = Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class Asked:
    """What one agent was asked: the OIDs of GETs, and the OIDs that GETNEXT/GETBULK walked from."""

    get: Counter[tuple[int, ...]] = dataclasses.field(default_factory=Counter)
    next: Counter[tuple[int, ...]] = dataclasses.field(default_factory=Counter)


@dataclasses.dataclass
class Agents:
    """The simulated agents, the devices polling them, and what each agent was asked."""

    sim: SnmpSimulator
    clock: Clock
    devices: dict[str, Device]
    asked: dict[str, Asked]
    profile: dict[str, str] = dataclasses.field(default_factory=dict)  # agent -> the profile its device got

    def reset(self) -> None:
        for asked in self.asked.values():
            asked.get.clear()
            asked.next.clear()

    def discovered(self) -> set[str]:
        """Agents asked for anything only a discovery reads."""
        return {agent for agent in self.asked if self.discovery_requests(agent)}

    def discovery_requests(self, agent: str) -> int:
        asked = self.asked[agent]
        if agent not in self.profile:
            return asked.get[SYS_OBJECT_ID]
        profile = PROFILES.get(self.profile[agent])
        discovery, poll = profile.discovery_plan(), profile.poll_plan(self.discovery_of(agent))
        only_get = {oid_tuple(o) for o in set(discovery.get) - set(poll.get)} | {SYS_OBJECT_ID}
        only_walk = {oid_tuple(o) for o in set(discovery.walk) - set(poll.walk)}  # a walk starts at its column
        return sum(asked.get[o] for o in only_get) + sum(asked.next[o] for o in only_walk)

    def discovery_of(self, agent: str) -> Discovery:
        """The agent's discovery, from its records as an agent would answer the discovery plan."""
        values = {r.oid_text: r.value for r in self.sim.store(agent).records if r.value is not None}
        profile = PROFILES.get(self.profile[agent])
        plan = profile.discovery_plan()
        read = {o: values[o] for o in plan.get if o in values}
        for col in plan.walk:
            read.update({o: v for o, v in values.items() if o.startswith(col + ".")})
        return profile.discover(read)

    def gets(self) -> dict[str, Counter[tuple[int, ...]]]:
        return {agent: Counter(asked.get) for agent, asked in self.asked.items()}

    def add(self, agent: str, data: Path, community: str, host: str = "127.0.0.1", port: int = 0) -> int:
        port = self.sim.add(SimDevice(agent, data, community=community, host=host, port=port))
        store = self.sim.store(agent)
        store.clock, store.boot = self.clock, T0
        self.asked[agent] = _count(store)
        return port


def _count(store: RecordStore) -> Asked:
    asked = Asked()
    get, next_ = store.get, store.next

    def counting_get(oid: tuple[int, ...], now: float | None = None) -> Any:
        asked.get[oid] += 1
        return get(oid, now)

    def counting_next(oid: tuple[int, ...], now: float | None = None) -> Any:
        asked.next[oid] += 1
        return next_(oid, now)

    store.get, store.next = counting_get, counting_next  # type: ignore[method-assign]
    return asked


def snmp_device(device_id: str, port: int, community: str, address: str = "127.0.0.1") -> Device:
    return Device(id=device_id, site=SITE.id, role=Role.AP, address=address, sources=(Source.SNMP,),
                  owner=Owner.KIM, interval_s=3600.0,
                  snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(community)), port=port, timeout_s=2.0, retries=1))


@pytest.fixture
async def agents() -> AsyncIterator[Agents]:
    require(bool(RECORDINGS), f"no SNMP recordings at {CORPUS} (../shared/corpus beside the checkout)")
    clock = Clock()
    agents = Agents(SnmpSimulator(), clock, {}, {})
    for path in [*RECORDINGS, *DEMO]:
        community = f"kim-{path.stem}"
        agents.devices[path.stem] = snmp_device(path.stem, agents.add(path.stem, path, community), community)
    await agents.sim.start()
    yield agents
    await agents.sim.stop()


async def run(backend: Backend, spool: Path, devices: list[Device], clock: Clock, *, polls: int = 1,
              profiles: ProfileSet | None = None) -> tuple[SnmpCollector, list[dict[str, PollResult]]]:
    """One daemon run as far as discovery goes: load what is stored, poll `polls` times, store what was
    discovered through the write queue, stop."""
    store = backend.upgraded()
    kept = store.load_discoveries(Source.SNMP)
    store.close()
    queue = WriteQueue(backend.open, spool, max_memory=1000, flush_interval_s=0.05)
    writer = asyncio.create_task(queue.run())
    collector = SnmpCollector(profiles or load_profiles(), clock=clock)
    collector.keep_discoveries(kept, queue.put, KEY)
    rounds = []
    try:
        for _ in range(polls):
            results = await asyncio.gather(*(collector.poll(d) for d in devices))
            rounds.append({r.device: r for r in results})
            clock.now += 30.0
    finally:
        await queue.drain(10.0)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await collector.close()
    assert queue.stats.depth == 0 and queue.stats.spooled == 0, queue.stats
    return collector, rounds


def stored(backend: Backend) -> dict[str, StoredDiscovery]:
    store = backend.open()
    try:
        return {k.device: k for k in store.load_discoveries(Source.SNMP)}
    finally:
        store.close()


async def test_restart_sends_no_discovery_for_fresh_stored_facts_and_exports_the_same_samples(
        agents: Agents, backend: Backend, tmp_path: Path) -> None:
    devices = list(agents.devices.values())
    first, (_, steady) = await run(backend, tmp_path / "spool", devices, agents.clock, polls=2)
    assert all(r.ok for r in steady.values()), {d: r.error for d, r in steady.items() if not r.ok}
    assert first.discoveries_total == len(devices) and first.restored_total == 0
    assert set(stored(backend)) == set(agents.devices)
    agents.profile.update({d: r.identity.profile for d, r in steady.items() if r.identity is not None})
    assert agents.discovered() == set(agents.devices)  # what counts as discovery is seen when it happens

    agents.reset()
    agents.clock.now -= 30.0  # the agents answer as they did for the second poll of the first run
    restarted, (after,) = await run(backend, tmp_path / "spool", devices, agents.clock)
    restarted_gets = agents.gets()
    assert restarted.discoveries_total == 0 and restarted.restored_total == len(devices)
    assert agents.discovered() == set()
    for device_id, result in after.items():
        assert result.ok, (device_id, result.error)
        assert result.samples == steady[device_id].samples, device_id
        assert result.identity == steady[device_id].identity, device_id

    agents.reset()  # what a steady poll asks for, with the first run's discovery still in memory
    agents.clock.now -= 30.0
    collector = SnmpCollector(load_profiles(), clock=agents.clock)
    try:
        for device in devices:
            await collector.poll(device)
        agents.reset()
        for device in devices:
            await collector.poll(device)
        steady_gets = agents.gets()
    finally:
        await collector.close()
    assert restarted_gets == steady_gets  # the restarted daemon's first poll GETs what an ordinary poll does


SUBSET = ("routeros_wifi", "unifi", "kim-karangmangu-ap")


async def first_run(agents: Agents, backend: Backend, spool: Path, subset: tuple[str, ...] = SUBSET) -> list[Device]:
    devices = [agents.devices[d] for d in subset]
    collector, (results,) = await run(backend, spool, devices, agents.clock)
    agents.profile.update({d: r.identity.profile for d, r in results.items() if r.identity is not None})
    agents.profile.update({"unifi@2": "unifi", "unifi-new": "unifi"})
    assert collector.discoveries_total == len(subset) and set(stored(backend)) == set(subset)
    agents.reset()
    return devices


@pytest.mark.parametrize(("elapsed_s", "rediscovered"), [
    (SIX_HOURS - 60, set()),  # before rediscover_s: the stored facts are used
    (SIX_HOURS * 1.25 + 1, set(SUBSET)),  # past every device's spread rediscovery point
    (-3600.0, set(SUBSET)),  # the clock was set back an hour: a discovery "from the future" is not trusted
], ids=["fresh", "stale", "clock-set-back"])
async def test_stored_facts_past_rediscover_s_are_discovered_again(
        agents: Agents, backend: Backend, tmp_path: Path, elapsed_s: float, rediscovered: set[str]) -> None:
    devices = await first_run(agents, backend, tmp_path / "spool")
    before = stored(backend)
    agents.clock.now = T0 + elapsed_s
    collector, (after,) = await run(backend, tmp_path / "spool", devices, agents.clock)
    assert all(r.ok for r in after.values())
    assert collector.discoveries_total == len(rediscovered)
    assert agents.discovered() == rediscovered
    now = stored(backend)
    assert {d for d in SUBSET if now[d].discovered_at != before[d].discovered_at} == rediscovered


async def test_a_reboot_while_stopped_rediscovers_that_device_only(
        agents: Agents, backend: Backend, tmp_path: Path) -> None:
    demo = ("kim-karangmangu-ap", "kim-ketenger-ap")
    devices = await first_run(agents, backend, tmp_path / "spool", demo)
    agents.clock.now += 600.0  # stopped for ten minutes, during which the AP rebooted
    agents.sim.reboot("kim-karangmangu-ap", at=agents.clock.now - 300.0)
    collector, (first_poll, second_poll) = await run(backend, tmp_path / "spool", devices, agents.clock, polls=2)
    assert collector.restored_total == len(demo)
    assert collector.discoveries_total == 1  # at the poll after the one that saw the new boot time
    assert agents.discovered() == {"kim-karangmangu-ap"}
    assert all(r.ok for r in [*first_poll.values(), *second_poll.values()])


def _edited_profiles(tmp_path: Path) -> ProfileSet:
    copy = tmp_path / "profiles"
    shutil.copytree(PACKAGED_DIR, copy)
    with open(copy / "unifi.yaml", "a", encoding="utf-8") as f:
        f.write("# a changed profile file\n")
    return load_profiles(copy)


def _edit_stored_format(backend: Backend) -> None:
    """The row as a later netmon (another serialization version) would have written it."""
    engine = sa.create_engine(backend.url)
    row = t.device_discovery.c.device == "unifi"
    with engine.begin() as conn:
        body = json.loads(conn.execute(sa.select(t.device_discovery.c.payload).where(row)).scalar_one())
        body["v"] = stored_form.FORMAT + 1
        conn.execute(sa.update(t.device_discovery).where(row).values(payload=json.dumps(body)))
    engine.dispose()


@pytest.mark.parametrize("change", ["address", "port-and-community", "profile", "profile-files", "format"])
async def test_a_stored_discovery_that_no_longer_fits_is_discarded_and_the_device_discovered(
        agents: Agents, backend: Backend, tmp_path: Path, change: str) -> None:
    devices = await first_run(agents, backend, tmp_path / "spool")
    unifi = agents.devices["unifi"]
    assert unifi.snmp is not None
    profiles: ProfileSet | None = None
    rediscovered = {"unifi"}
    if change == "address":  # the same recording answering on another loopback address, same port
        agent_port = agents.add("unifi@2", CORPUS / "unifi.snmprec", "kim-unifi", host="127.0.0.2",
                                port=unifi.snmp.port)
        changed = dataclasses.replace(unifi, address="127.0.0.2")
        rediscovered = {"unifi@2"}
        assert agent_port == unifi.snmp.port
    elif change == "port-and-community":
        port = agents.add("unifi-new", CORPUS / "unifi.snmprec", "kim-baru")
        changed = dataclasses.replace(unifi, snmp=dataclasses.replace(unifi.snmp, port=port,
                                                                      auth=SnmpV2cAuth(Secret("kim-baru"))))
        rediscovered = {"unifi-new"}
    elif change == "profile":  # named in the config now (the profile it was auto-detected with)
        changed = dataclasses.replace(unifi, profile="unifi")
    elif change == "profile-files":
        changed, profiles = unifi, _edited_profiles(tmp_path)
        rediscovered = {"routeros_wifi", "unifi", "kim-karangmangu-ap"}  # every device: any file may change any choice
    else:
        changed = unifi
        _edit_stored_format(backend)
    devices = [changed if d.id == "unifi" else d for d in devices]
    collector, (after,) = await run(backend, tmp_path / "spool", devices, agents.clock, profiles=profiles)
    assert all(r.ok for r in after.values()), {d: r.error for d, r in after.items()}
    assert agents.discovered() == rediscovered
    assert collector.discoveries_total == len(rediscovered)
    assert collector.restored_total == len(SUBSET) - collector.discoveries_total
    assert stored(backend)["unifi"].discovered_at == agents.clock.now - 30.0  # the new discovery is stored


# --- the daemon, with its SNMP polling in two worker processes -------------------------------------------

async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def daemon_run(backend: Backend, data_dir: Path, devices: list[Device]) -> dict[str, PollResult]:
    """`NetmonApp` with storage and two SNMP worker processes, until every device has a result and every
    discovery made is written; then stopped as `serve` stops."""
    config = Config(sites={SITE.id: SITE}, devices={d.id: d for d in devices},
                    scheduler=SchedulerConfig(workers=2, jitter_s=0),
                    storage=StorageConfig(database_url=backend.url, data_dir=str(data_dir)))
    app = NetmonApp(config)
    poller = app.schedulers[0]
    assert isinstance(poller, ShardedSnmpPoller)
    await app.open_storage()
    assert app.queue is not None
    writer = asyncio.create_task(app.queue.run())
    polling = asyncio.create_task(poller.run())
    try:
        def polled() -> bool:
            results = app.snapshot().results
            return all((d.id, Source.SNMP) in results for d in devices)

        await until(polled, 120)
        await app.queue.drain(10.0)
        return {d.id: app.snapshot().results[(d.id, Source.SNMP)] for d in devices}
    finally:
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await app.close()


async def test_daemon_with_worker_processes_keeps_discoveries_across_a_restart(
        agents: Agents, backend: Backend, tmp_path: Path) -> None:
    devices = list(agents.devices.values())
    before = await daemon_run(backend, tmp_path / "data", devices)
    assert all(r.ok for r in before.values()), {d: r.error for d, r in before.items() if not r.ok}
    agents.profile.update({d: r.identity.profile for d, r in before.items() if r.identity is not None})
    assert agents.discovered() == set(agents.devices)
    kept = stored(backend)
    assert set(kept) == set(agents.devices)
    assert (tmp_path / "data" / "discovery.key").stat().st_mode & 0o777 == 0o600
    agents.reset()

    after = await daemon_run(backend, tmp_path / "data", devices)
    assert agents.discovered() == set()  # no worker discovered anything
    for device_id, result in after.items():
        assert result.ok, (device_id, result.error)
        assert result.samples == before[device_id].samples, device_id
        assert result.identity == before[device_id].identity, device_id
    assert stored(backend) == kept


async def test_a_worker_restarted_after_a_crash_starts_from_the_discoveries_its_predecessor_made(
        agents: Agents) -> None:
    """Nothing was stored when the workers started: the parent keeps what they send back."""
    devices = list(agents.devices.values())
    saved: list[StoredDiscovery] = []
    seen: dict[str, float] = {}
    poller = ShardedSnmpPoller(devices, 2, WorkerSettings(max_in_flight=16, jitter_s=0.0, deadline_s=5.0),
                               lambda r: seen.__setitem__(r.device, time.monotonic()), restart_delay_s=0.1)
    poller.keep_discoveries([], saved.append, KEY)
    victims = {d.id for d in devices if shard_of(d.id, 2) == 0}
    assert victims and victims != set(agents.devices)
    task = asyncio.create_task(poller.run())
    try:
        await until(lambda: {s.device for s in saved} == set(agents.devices), 120)
        agents.profile.update({s.device: stored_form.loads(s.payload).profile for s in saved})
        assert agents.discovered() == set(agents.devices)
        agents.reset()
        os.kill(poller.worker_info()[0]["pid"], signal.SIGKILL)
        await until(lambda: poller.worker_info()[0]["restarts"] == 1, 30)  # the old one's results are all in
        restarted_at = time.monotonic()
        await until(lambda: all(seen[d] > restarted_at for d in victims), 60)  # the new worker's first polls
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert agents.discovered() == set()
    assert len(saved) == len(agents.devices)  # and nothing new to store
