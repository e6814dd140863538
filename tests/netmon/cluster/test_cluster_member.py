"""ClusterMember on virtual time (tests/virtual_time.py) with an in-memory fake of ClusterBackend that keeps the
real tables' rules: every node's clock is offset from the others' and from the database's, leadership never
overlaps, the share follows the live set, and a node cut off from the database keeps polling its share and stops
leading at its local deadline, before the database lets anyone else lead. The same against the real PostgreSQL:
test_cluster_postgres.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from virtual_time import run_virtual

from netmon.cluster.member import ClusterMember, MemberTiming
from netmon.cluster.record import Lease, Node
from netmon.errors import StorageUnavailable

TIMING = MemberTiming(heartbeat_s=1.0, dead_after_s=3.0, lease_ttl_s=4.0, lease_margin_s=1.0)
DEVICES = [f"kim-{n:03d}-ap" for n in range(60)]


@dataclass
class FakeDatabase:
    """The two tables, on the database's clock (the loop's time plus an offset no node shares)."""

    now: Callable[[], float]
    nodes: dict[str, tuple[str, int, float, float]] = field(default_factory=dict)
    leases: dict[str, tuple[str, int, float]] = field(default_factory=dict)


class FakeBackend:
    """One node's connection to the FakeDatabase; `away` makes every call fail like a refused connection."""

    def __init__(self, db: FakeDatabase, node_clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = node_clock
        self.away = False

    def _reach(self) -> None:
        if self.away:
            raise StorageUnavailable("cluster: database unavailable: connection refused")

    def heartbeat(self, node_id: str, host: str, pid: int, dead_after_s: float) -> list[Node]:
        self._reach()
        now = self.db.now()
        old = self.db.nodes.get(node_id)
        started = old[2] if old is not None and old[:2] == (host, pid) else now
        self.db.nodes[node_id] = (host, pid, started, now)
        return [Node(k, *v) for k, v in sorted(self.db.nodes.items()) if v[3] >= now - dead_after_s]

    def leave(self, node_id: str) -> None:
        self._reach()
        self.db.nodes.pop(node_id, None)

    def acquire(self, name: str, holder: str, ttl_s: float, *, margin_s: float) -> Lease | None:
        sent = self.clock()
        self._reach()
        now = self.db.now()
        old = self.db.leases.get(name)
        if old is not None and not (old[2] < now or old[0] == holder):
            return None
        term = 1 if old is None else old[1] + 1
        self.db.leases[name] = (holder, term, now + ttl_s)
        return Lease(name, holder, term, sent + ttl_s - margin_s)

    def renew(self, lease: Lease, ttl_s: float, *, margin_s: float) -> Lease | None:
        sent = self.clock()
        self._reach()
        old = self.db.leases.get(lease.name)
        if old is None or old[:2] != (lease.holder, lease.term):
            return None
        self.db.leases[lease.name] = (lease.holder, lease.term, self.db.now() + ttl_s)
        return Lease(lease.name, lease.holder, lease.term, sent + ttl_s - margin_s)

    def release(self, lease: Lease) -> None:
        self._reach()
        old = self.db.leases.get(lease.name)
        if old is not None and old[:2] == (lease.holder, lease.term):
            self.db.leases[lease.name] = (lease.holder, lease.term, self.db.now() - 1.0)


async def inline(fn: Callable[[], object]) -> object:
    return fn()


@dataclass
class Running:
    """A member with its backend, its clock's offset and what its callbacks saw (at the loop's time)."""

    member: ClusterMember
    backend: FakeBackend
    shares: list[tuple[float, frozenset[str]]] = field(default_factory=list)
    leads: list[tuple[float, int | None]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.member.run())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def cluster(names: list[str], devices: list[str] = DEVICES) -> tuple[FakeDatabase, dict[str, Running]]:
    loop = asyncio.get_running_loop()
    db = FakeDatabase(lambda: loop.time() + 1_796_000_000.0)
    nodes: dict[str, Running] = {}
    for i, name in enumerate(names):
        offset = 1000.0 * (i + 1) * (-1) ** i  # every node's monotonic clock is its own

        def clock(offset: float = offset) -> float:
            return loop.time() + offset

        backend = FakeBackend(db, clock)
        holder: list[Running] = []
        member = ClusterMember(backend, name, devices, timing=TIMING, host="h", pid=i, clock=clock,
                               run_blocking=inline,
                               on_share=lambda s, h=holder: h[0].shares.append((loop.time(), s)),
                               on_leader=lambda t, h=holder: h[0].leads.append((loop.time(), t)))
        holder.append(Running(member, backend))
        nodes[name] = holder[0]
    return db, nodes


def leaders(nodes: dict[str, Running]) -> list[str]:
    return [name for name, n in nodes.items() if n.member.leading() is not None]


async def watch(nodes: dict[str, Running], seconds: float, step: float = 0.05) -> list[list[str]]:
    """Who leads (by `leading()`), every `step` for `seconds`."""
    seen = []
    for _ in range(round(seconds / step)):
        seen.append(leaders(nodes))
        await asyncio.sleep(step)
    return seen


def test_one_member_polls_everything_and_leads_from_its_first_round() -> None:
    async def main() -> None:
        _db, nodes = cluster(["office-a"])
        a = nodes["office-a"]
        a.start()
        await asyncio.sleep(0.5)
        assert a.shares == [(0.0, frozenset(DEVICES))]
        assert a.leads == [(0.0, 1)]
        stats = a.member.stats()
        assert (stats.is_leader, stats.term, stats.live_nodes, stats.devices_owned) == (True, 1, 1, 60)
        await asyncio.sleep(30)  # renewing keeps the same term
        assert a.leads == [(0.0, 1)] and a.member.leading() == 1
        await a.stop()
        assert a.leads[-1][1] is None

    run_virtual(main)


def test_three_members_share_the_devices_and_exactly_one_leads_at_any_time() -> None:
    async def main() -> None:
        db, nodes = cluster(["office-a", "office-b", "office-c"])
        for n in nodes.values():
            n.start()
            await asyncio.sleep(0.3)  # staggered starts
        seen = await watch(nodes, 10.0)
        assert all(len(who) == 1 for who in seen[20:])
        assert len({who[0] for who in seen[20:]}) == 1  # and it stays the same node
        shares = [n.member.share for n in nodes.values()]
        assert sum(map(len, shares)) == len(DEVICES) and frozenset().union(*shares) == frozenset(DEVICES)
        assert all(n.member.stats().live_nodes == 3 for n in nodes.values())
        for n in nodes.values():
            await n.stop()
        assert db.nodes == {}  # all left cleanly

    run_virtual(main)


def test_a_member_cut_off_from_the_database_steps_down_before_another_takes_over() -> None:
    async def main() -> None:
        _db, nodes = cluster(["office-a", "office-b"])
        a, b = nodes["office-a"], nodes["office-b"]
        a.start()
        await asyncio.sleep(0.5)
        b.start()
        await asyncio.sleep(5.0)
        a_share = a.member.share
        assert leaders(nodes) == ["office-a"] and 0 < len(a_share) < len(DEVICES)
        a.backend.away = True  # office-a loses the database; office-b still has it
        cut = asyncio.get_running_loop().time()
        seen = await watch(nodes, 10.0)
        assert all(len(who) <= 1 for who in seen)
        stepped_down = next(t for t, term in a.leads if term is None)
        took_over, term = next((t, term) for t, term in b.leads if term is not None)
        assert stepped_down <= cut + TIMING.lease_ttl_s - TIMING.lease_margin_s
        assert stepped_down + TIMING.lease_margin_s <= took_over  # the margin, by the database's clock
        assert term == 2
        assert a.member.share == a_share  # office-a polls on with what it had
        assert b.member.share == frozenset(DEVICES)  # office-b took office-a's devices after dead_after_s
        stats = a.member.stats()
        assert not stats.database_available and stats.heartbeat_failures_total >= 9 and not stats.is_leader

        a.backend.away = False  # office-a is back: it shares again and does not lead
        await asyncio.sleep(2.0)
        assert leaders(nodes) == ["office-b"]
        assert a.member.share | b.member.share == frozenset(DEVICES) and not a.member.share & b.member.share
        assert a.member.share == a_share  # the same devices as before: rendezvous
        for n in (a, b):
            await n.stop()

    run_virtual(main)


def test_a_round_stuck_on_a_dead_connection_does_not_keep_a_member_leading() -> None:
    async def main() -> None:
        _db, nodes = cluster(["office-a"])
        a = nodes["office-a"]
        stuck = False
        never: asyncio.Future[object] = asyncio.get_running_loop().create_future()

        async def run_blocking(fn: Callable[[], object]) -> object:
            return await never if stuck else fn()

        a.member._run_blocking = run_blocking
        a.start()
        await asyncio.sleep(2.2)
        assert a.member.leading() == 1
        stuck = True  # the round from 3.0 on never answers
        await asyncio.sleep(10.0)
        stepped_down = next(t for t, term in a.leads if term is None)
        assert 3.0 < stepped_down <= 2.0 + TIMING.lease_ttl_s - TIMING.lease_margin_s  # renewed at 2.0, last
        assert a.member.stats().heartbeat_failures_total >= 8  # the rounds skipped behind it
        assert a.member.share == frozenset(DEVICES)
        await a.stop()

    run_virtual(main)


def test_a_member_that_leaves_hands_over_at_the_next_heartbeat_not_after_the_ttl() -> None:
    async def main() -> None:
        _db, nodes = cluster(["office-a", "office-b"])
        a, b = nodes["office-a"], nodes["office-b"]
        a.start()
        await asyncio.sleep(0.5)
        b.start()
        await asyncio.sleep(3.0)
        await a.stop()
        left = asyncio.get_running_loop().time()
        assert a.leads[-1] == (left, None)
        await asyncio.sleep(1.1)
        assert b.leads == [(pytest.approx(left, abs=1.1), 2)]
        assert b.shares[-1][1] == frozenset(DEVICES)
        await b.stop()

    run_virtual(main)


def test_new_devices_are_shared_at_once_and_a_failing_callback_does_not_stop_the_member(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        _db, nodes = cluster(["office-a"])
        a = nodes["office-a"]
        calls: list[frozenset[str]] = []

        def on_share(devices: frozenset[str]) -> None:
            calls.append(devices)
            raise RuntimeError("the scheduler broke")

        a.member._on_share = on_share
        a.start()
        await asyncio.sleep(0.5)
        a.member.set_devices(["kim-new-ap"])
        assert calls == [frozenset(DEVICES), frozenset({"kim-new-ap"})]
        await asyncio.sleep(3.0)
        assert a.member.leading() == 1
        await a.stop()

    with caplog.at_level(logging.ERROR):
        run_virtual(main)
    assert "a callback of node office-a failed" in caplog.text


def test_a_database_away_is_logged_once_and_its_return_once(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        _db, nodes = cluster(["office-a"])
        a = nodes["office-a"]
        a.start()
        await asyncio.sleep(0.5)
        a.backend.away = True
        await asyncio.sleep(10.0)
        a.backend.away = False
        await asyncio.sleep(2.0)
        await a.stop()

    with caplog.at_level(logging.INFO, logger="netmon.cluster"):
        run_virtual(main)
    assert caplog.text.count("cannot reach the database (cluster: database unavailable: connection refused)") == 1
    assert caplog.text.count("database back after 10 failed heartbeats") == 1


def test_the_databases_return_is_called_back_once_per_outage() -> None:
    """What waits for the database (a node's outboxes in their backoff) is told when a round succeeds again."""
    backs: list[float] = []

    async def main() -> None:
        _db, nodes = cluster(["office-a"])
        a = nodes["office-a"]
        a.member._on_database_back = lambda: backs.append(asyncio.get_running_loop().time())
        a.start()
        await asyncio.sleep(0.5)
        for _ in range(2):
            a.backend.away = True
            await asyncio.sleep(10.0)
            a.backend.away = False
            await asyncio.sleep(2.0)
        await a.stop()

    run_virtual(main)
    assert len(backs) == 2  # once for each outage, none for the first round


@pytest.mark.parametrize(("timing", "complaint"), [
    ({"lease_margin_s": 0.0}, "lease_margin_s must be above 0"),
    ({"lease_margin_s": 15.0}, "below lease_ttl_s"),
    ({"heartbeat_s": 12.0}, "heartbeat_s must be below"),
    ({"dead_after_s": 5.0}, "dead_after_s must be above heartbeat_s"),
], ids=["no-margin", "margin-eats-ttl", "heartbeat-too-slow-to-renew", "dead-before-next-heartbeat"])
def test_timings_that_cannot_work_are_refused(timing: dict[str, float], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        MemberTiming(**timing)



def test_a_stop_that_comes_while_the_member_waits_for_its_sleeper_is_not_swallowed() -> None:
    """The round answered, so the member cancels its sleeper and waits for it; a `stop()` that comes in that
    moment must still stop it (a swallowed cancellation once kept a node heartbeating and leading after
    `stop()`, and the test that stopped it waited for ever)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gate, cancelling = asyncio.Event(), asyncio.Event()

        async def sleep(seconds: float) -> None:  # a sleeper slow to finish cancelling
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                cancelling.set()
                await gate.wait()
                raise

        db = FakeDatabase(lambda: loop.time() + 1_796_000_000.0)
        member = ClusterMember(FakeBackend(db, loop.time), "a", DEVICES, timing=TIMING, host="h", pid=1,
                               clock=loop.time, sleep=sleep, run_blocking=inline, on_share=lambda _s: None,
                               on_leader=lambda _t: None)
        answered: asyncio.Future[object] = loop.create_future()
        member._pending = answered  # type: ignore[assignment]  # a round in flight
        waiting = asyncio.ensure_future(member._sleep_or_round(60.0))
        await asyncio.sleep(0)
        answered.set_result(None)  # the round answers: the member cancels its sleeper and waits for it
        await cancelling.wait()
        waiting.cancel()  # stop() now
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert waiting.cancelled()

    run_virtual(main)
