"""Live device shares (`Scheduler.set_share`, issue #16): which devices a running scheduler polls changes when
another node dies or joins.

Timing on virtual time (tests/virtual_time.py), as tests/netmon/test_scheduler.py: the scheduler's clock is the
loop's, every sleep is exact whatever the machine's load, so first polls are checked at their exact slots. The
last test polls real simulated SNMP agents (netmon.simulate) through counting UDP relays on an injected
jumping clock: which devices are asked, seen from the network."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import pytest
from counting_relay import CountingRelay, relayed_agents
from peers import HANG_GUARD_S
from virtual_time import JumpingClock, run_virtual

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.config.schema import SchedulerConfig
from netmon.model import Device, Owner, PollResult, Role, Source
from netmon.polling import Polling
from netmon.scheduler import Scheduler
from netmon.worker import ShardedSnmpPoller

Share = frozenset[str] | None


def device(did: str, interval_s: float = 1.0) -> Device:
    return Device(id=did, site="s", role=Role.AP, address="127.0.0.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, interval_s=interval_s)


def now() -> float:
    return asyncio.get_running_loop().time()


class Recorder:
    """The poll function: records when each device's polls start and how many of one device run at once.
    `cleanup_s`: how long a cancelled poll takes to end (a poll that cannot stop at once)."""

    def __init__(self, delays: dict[str, float] | None = None, cleanup_s: float = 0.0) -> None:
        self.delays = delays or {}
        self.cleanup_s = cleanup_s
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.cancelled: dict[str, int] = defaultdict(int)
        self.running: dict[str, int] = defaultdict(int)
        self.max_running_per_device = 0

    async def poll(self, dev: Device) -> PollResult:
        self.starts[dev.id].append(now())
        self.running[dev.id] += 1
        self.max_running_per_device = max(self.max_running_per_device, self.running[dev.id])
        try:
            await asyncio.sleep(self.delays.get(dev.id, 0.01))
            return PollResult(dev.id, Source.SNMP, now(), 0.01)
        except asyncio.CancelledError:
            self.cancelled[dev.id] += 1
            if self.cleanup_s:
                await asyncio.shield(asyncio.sleep(self.cleanup_s))
            raise
        finally:
            self.running[dev.id] -= 1


class Delivered:
    """on_result: (virtual time, device) of every result delivered."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str]] = []

    def __call__(self, result: PollResult) -> None:
        self.seen.append((now(), result.device))

    def of(self, device_id: str) -> list[float]:
        return [t for t, d in self.seen if d == device_id]


def scheduler(devices: list[Device], rec: Recorder, on_result: Callable[[PollResult], None], **kwargs: float
              ) -> Scheduler:
    """A scheduler without jitter on the (virtual) loop's clock; run() starts at virtual time 0."""
    return Scheduler(devices, rec.poll, on_result, jitter_s=0, clock=now, wall=now, **kwargs)  # type: ignore[arg-type]


async def run_with_changes(sched: Scheduler, seconds: float, changes: list[tuple[float, Share]]) -> None:
    """Run `sched` from virtual time 0 for `seconds`, calling set_share(share) at each (time, share)."""
    loop = asyncio.get_running_loop()
    for at, share in changes:
        loop.call_at(at, sched.set_share, share)
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def slots(sched: Scheduler, dev: Device, start: float, end: float) -> list[float]:
    """The device's slots (its offset plus whole intervals from 0) in [start, end)."""
    first = math.ceil((start - sched.offset(dev)) / dev.interval_s - 1e-9)
    k = max(first, 0)
    out = []
    while (t := sched.offset(dev) + k * dev.interval_s) < end:
        out.append(t)
        k += 1
    return out


def test_a_device_that_leaves_the_share_is_no_longer_polled() -> None:
    rec, got = Recorder(), Delivered()
    a, b, c = device("a"), device("b"), device("c")
    sched = scheduler([a, b, c], rec, got)
    run_virtual(lambda: run_with_changes(sched, 4.5, [(1.5, frozenset({"a", "c"}))]))
    assert rec.starts["b"] == pytest.approx(slots(sched, b, 0, 1.5))
    assert got.of("b") and max(got.of("b")) < 1.5
    for dev in (a, c):  # the others keep their slots
        assert rec.starts[dev.id] == pytest.approx(slots(sched, dev, 0, 4.5)), dev.id
    assert [d.id for d in sched.devices] == ["a", "c"] and sched.share == {"a", "c"}


def test_a_joining_device_is_first_polled_at_its_next_slot_within_one_interval() -> None:
    rec, got = Recorder(), Delivered()
    a, b = device("a", 10.0), device("b", 10.0)
    sched = scheduler([a, b], rec, got)
    sched.set_share(frozenset({"a"}))  # before run(): only recorded
    joined = 23.7
    run_virtual(lambda: run_with_changes(sched, 60.0, [(joined, frozenset({"a", "b"}))]))
    first = rec.starts["b"][0]
    assert joined <= first < joined + b.interval_s
    assert rec.starts["b"] == pytest.approx(slots(sched, b, joined, 60.0))  # its own slots, then every interval
    assert rec.starts["a"] == pytest.approx(slots(sched, a, 0, 60.0))


def test_a_dead_nodes_devices_arriving_at_once_keep_their_spread() -> None:
    rec, got = Recorder(), Delivered()
    own = [device(f"own-{i}", 10.0) for i in range(100)]
    orphans = [device(f"orphan-{i}", 10.0) for i in range(200)]
    sched = scheduler([*own, *orphans], rec, got, max_in_flight=1000)
    sched.set_share(frozenset(d.id for d in own))
    died = 31.4  # the other node's 200 devices join at once
    run_virtual(lambda: run_with_changes(sched, 45.0, [(died, None)]))
    firsts = {d.id: rec.starts[d.id][0] for d in orphans}
    for dev in orphans:  # each at the next slot of its own offset: within one interval of joining
        assert firsts[dev.id] == pytest.approx(slots(sched, dev, died, died + 10.0)[0]), dev.id
        assert died <= firsts[dev.id] < died + 10.0
    # spread over the interval, not a burst: every second of it holds a share of them, none more than 2x its due
    per_second = [sum(1 for t in firsts.values() if died + k <= t < died + k + 1) for k in range(10)]
    assert all(5 <= n <= 40 for n in per_second), per_second
    assert not any(rec.starts[d.id] for d in orphans if rec.starts[d.id][0] < died)


def test_none_restores_every_device() -> None:
    rec, got = Recorder(), Delivered()
    devices = [device("a"), device("b"), device("c")]
    sched = scheduler(devices, rec, got)
    sched.set_share(frozenset({"a"}))
    run_virtual(lambda: run_with_changes(sched, 5.0, [(2.5, None)]))
    assert rec.starts["a"] == pytest.approx(slots(sched, devices[0], 0, 5.0))
    for dev in devices[1:]:
        assert rec.starts[dev.id] == pytest.approx(slots(sched, dev, 2.5, 5.0)), dev.id
    assert sched.share is None and [d.id for d in sched.devices] == ["a", "b", "c"]


def test_a_poll_in_flight_when_its_device_leaves_is_cancelled_and_never_delivered() -> None:
    rec, got = Recorder(delays={"b": 0.5}), Delivered()
    a, b = device("a"), device("b")
    sched = scheduler([a, b], rec, got)
    left = sched.offset(b) + 1.0 + 0.25  # in the middle of b's second poll
    run_virtual(lambda: run_with_changes(sched, 3.0, [(left, frozenset({"a"}))]))
    assert len(rec.starts["b"]) == 2 and rec.cancelled["b"] == 1
    assert got.of("b") == pytest.approx([sched.offset(b) + 0.5])  # only the first poll's result
    assert sched.stats.in_flight == 0


def test_a_result_that_finishes_as_its_device_leaves_is_dropped() -> None:
    """The share changes while the poll itself is finishing (Python 3.11's wait_for may then hand the result
    back instead of the cancellation): the result is still dropped and the device not polled again."""
    got = Delivered()
    holder: list[Scheduler] = []

    async def poll(dev: Device) -> PollResult:
        if dev.id == "b":
            holder[0].set_share(frozenset({"a"}))
        return PollResult(dev.id, Source.SNMP, now(), 0.0)

    sched = Scheduler([device("a"), device("b")], poll, got, jitter_s=0, clock=now, wall=now)
    holder.append(sched)
    run_virtual(lambda: run_with_changes(sched, 3.0, []))
    assert got.of("b") == [] and len(got.of("a")) == 3


def test_a_device_that_comes_back_while_its_last_poll_ends_is_never_polled_twice_at_once() -> None:
    rec, got = Recorder(delays={"b": 0.8}, cleanup_s=1.5), Delivered()  # a cancelled poll takes 1.5 s to end
    a, b = device("a"), device("b")
    sched = scheduler([a, b], rec, got)
    left = sched.offset(b) + 0.2
    run_virtual(lambda: run_with_changes(sched, 4.0, [(left, frozenset({"a"})), (left + 0.01, None)]))
    assert rec.max_running_per_device == 1
    # the old poll ends at left + 1.5, past b's next slot: the first poll after coming back starts then, late
    # (and lasts 0.8 s: the slot it overran is skipped, as ever)
    assert rec.starts["b"][:2] == pytest.approx([sched.offset(b), left + 1.5])
    assert rec.starts["b"][2:] == pytest.approx(slots(sched, b, left + 1.5 + 0.8, 4.0))


def test_devices_and_poll_once_follow_the_share() -> None:
    rec = Recorder()
    sched = scheduler([device("a"), device("b"), device("c")], rec, lambda r: None)
    sched.set_share(frozenset({"c", "a", "not-here"}))  # ids of devices it does not poll are ignored
    assert [d.id for d in sched.devices] == ["a", "c"]
    results = run_virtual(sched.poll_once)
    assert sorted(r.device for r in results) == ["a", "c"]
    sched.set_share(None)
    assert [d.id for d in sched.devices] == ["a", "b", "c"]


def test_polling_forwards_the_share_to_every_scheduler_and_its_summary_shows_it() -> None:
    devices = {d.id: d for d in (device("a"), device("b"), device("c"))}
    for workers in (1, 2):
        polling = Polling(devices, SchedulerConfig(workers=workers), load_profiles(), lambda r: None)
        assert polling.summary() == "3 over snmp, 0 over routeros, 0 over ping"
        polling.set_share(frozenset({"a", "c"}))
        assert polling.summary() == "2 of 3 over snmp, 0 of 0 over routeros, 0 of 0 over ping"
        snmp = polling.schedulers[0]
        assert isinstance(snmp, ShardedSnmpPoller if workers > 1 else Scheduler)
        assert [d.id for d in snmp.devices] == ["a", "c"]
        polling.set_share(None)
        assert polling.summary() == "3 over snmp, 0 over routeros, 0 over ping"


# --- real agents: who is asked, seen from the network ------------------------------------------------------

@pytest.fixture
async def relayed() -> AsyncIterator[tuple[list[Device], dict[str, CountingRelay]]]:
    """Three simulated agents, each behind a relay counting the requests it gets."""
    async with relayed_agents(("a", "b", "c"), site="s", interval_s=60.0) as (devices, relays):
        yield devices, relays


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(HANG_GUARD_S):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_real_scheduler_stops_asking_a_device_that_left_and_asks_it_again_when_it_returns(
        relayed: tuple[list[Device], dict[str, CountingRelay]]) -> None:
    devices, relays = relayed
    collector = SnmpCollector(load_profiles())
    time = JumpingClock()  # no waiting between polls; the requests and replies are real
    results: dict[str, list[PollResult]] = defaultdict(list)
    sched = Scheduler(devices, collector.poll, lambda r: results[r.device].append(r), jitter_s=0, deadline_s=10,
                      clock=time.clock, sleep=time.sleep)

    def polled(n: int, *ids: str) -> Callable[[], bool]:
        counts = {i: len(results[i]) for i in ids}
        return lambda: all(len(results[i]) >= counts[i] + n for i in ids)

    task = asyncio.create_task(sched.run())
    try:
        await until(polled(2, "a", "b", "c"))
        sched.set_share(frozenset({"a", "c"}))
        delivered_b = len(results["b"])
        await until(polled(1, "a", "c"))  # whatever b sent before it left has reached its relay by now
        asked_b = relays["b"].requests
        await until(polled(3, "a", "c"))
        assert relays["b"].requests == asked_b and len(results["b"]) == delivered_b
        sched.set_share(None)
        await until(polled(2, "b"))
        assert relays["b"].requests > asked_b
        assert all(r.ok for rs in results.values() for r in rs)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await collector.close()
