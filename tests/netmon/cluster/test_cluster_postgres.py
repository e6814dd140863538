"""Cluster members on the real PostgreSQL, in one test process with real clocks and worker threads: three nodes
share the devices and exactly one leads; a leader cut off from the database (its role barred and its sessions
terminated, while the others keep theirs) steps down by its own deadline before another node leads with a higher
term, keeps polling its share, and rejoins without leading; a database away for everyone leaves nobody leading;
a node that leaves hands over at once. Waits end on conditions (HANG_GUARD_S only stops a hung test); the
assertions are about order, never speed."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cluster_database import Database, database_away
from peers import HANG_GUARD_S, PG_USER, pg_admin

from netmon.cluster.member import ClusterMember, MemberTiming
from netmon.cluster.record import LEADER, Lease, Node
from netmon.storage import Store
from netmon.storage.cluster import ClusterStore

TIMING = MemberTiming(heartbeat_s=0.2, dead_after_s=0.8, lease_ttl_s=1.2, lease_margin_s=0.4)
DEVICES = [f"kim-{n:03d}-ap" for n in range(90)]



@contextlib.contextmanager
def own_role(db: Database) -> Iterator[str]:
    """A login role of its own with rights on the cluster tables: its URL, to be cut off alone. Dropped after."""
    role = f"netmon_node_{secrets.token_hex(4)}"
    store = Store.open(db.url)
    with pg_admin() as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        with store._engine.begin() as conn:
            conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON cluster_nodes, cluster_leases TO "{role}"')
        yield db.url.replace(f"//{PG_USER}@", f"//{role}@")
    finally:
        with pg_admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        with store._engine.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')  # its grants, so the role can go
        store.close()
        with pg_admin() as admin:
            admin.execute(f'DROP ROLE "{role}"')


def cut_off(role_url: str, allowed: bool) -> None:
    role = role_url.split("//", 1)[1].split("@", 1)[0]
    with pg_admin() as admin:
        admin.execute(f'ALTER ROLE "{role}" {"LOGIN" if allowed else "NOLOGIN"}')
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))



class Recorded:
    """The real ClusterStore, recording every lease it handed out (for the deadlines)."""

    def __init__(self, store: ClusterStore) -> None:
        self.store = store
        self.leases: list[Lease] = []

    def heartbeat(self, node_id: str, host: str, pid: int, dead_after_s: float) -> list[Node]:
        return self.store.heartbeat(node_id, host, pid, dead_after_s)

    def leave(self, node_id: str) -> None:
        self.store.leave(node_id)

    def acquire(self, name: str, holder: str, ttl_s: float, *, margin_s: float) -> Lease | None:
        return self._keep(self.store.acquire(name, holder, ttl_s, margin_s=margin_s))

    def renew(self, lease: Lease, ttl_s: float, *, margin_s: float) -> Lease | None:
        return self._keep(self.store.renew(lease, ttl_s, margin_s=margin_s))

    def release(self, lease: Lease) -> None:
        self.store.release(lease)

    def _keep(self, lease: Lease | None) -> Lease | None:
        if lease is not None:
            self.leases.append(lease)
        return lease


@dataclass
class Running:
    member: ClusterMember
    backend: Recorded
    leads: list[tuple[float, int | None]] = field(default_factory=list)  # (monotonic, term)
    task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.backend.store.close()


def start(name: str, url: str) -> Running:
    backend = Recorded(ClusterStore.open(url, node_id=name, timeout_s=1.0))
    box: list[Running] = []
    member = ClusterMember(backend, name, DEVICES, timing=TIMING, on_share=lambda _s: None,
                           on_leader=lambda term: box[0].leads.append((time.monotonic(), term)))
    box.append(Running(member, backend))
    box[0].task = asyncio.create_task(member.run())
    return box[0]


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "hung"
        await asyncio.sleep(0.02)


class Sampler:
    """Who leads by `leading()`, every 10 ms, until stopped."""

    def __init__(self, nodes: list[Running]) -> None:
        self.nodes = nodes
        self.seen: list[list[str]] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.seen.append([n.member.node_id for n in self.nodes if n.member.leading() is not None])
            await asyncio.sleep(0.01)

    def stop(self) -> list[list[str]]:
        self.task.cancel()
        return self.seen


def partitioned(nodes: list[Running]) -> bool:
    shares = [n.member.share for n in nodes]
    return sum(map(len, shares)) == len(DEVICES) and frozenset().union(*shares) == frozenset(DEVICES)


def test_a_cut_off_leader_steps_down_before_another_leads_and_keeps_polling(database: Database) -> None:
    async def main(role_url: str) -> None:
        a = start("office-a", role_url)
        await until(lambda: a.member.leading() is not None)
        b, c = start("office-b", database.url), start("office-c", database.url)
        nodes = [a, b, c]
        await until(lambda: all(n.member.stats().live_nodes == 3 for n in nodes) and partitioned(nodes))
        sampler = Sampler(nodes)
        a_share, a_term = a.member.share, a.member.leading()
        assert 0 < len(a_share) < len(DEVICES)

        cut_off(role_url, allowed=False)  # office-a loses the database; office-b and office-c keep it
        await until(lambda: b.member.leading() is not None or c.member.leading() is not None)
        await until(lambda: b.member.share | c.member.share == frozenset(DEVICES))
        new = b if b.member.leading() is not None else c
        took_over, new_term = next((t, term) for t, term in new.leads if term is not None)
        assert a_term is not None and new_term is not None and new_term > a_term
        assert max(lease.deadline for lease in a.backend.leases) <= took_over  # a had stopped by its own clock
        assert a.member.leading() is None and a.leads[-1][1] is None
        assert a.member.share == a_share  # it polls on what it had
        stats = a.member.stats()
        assert not stats.database_available and stats.heartbeat_failures_total > 0

        cut_off(role_url, allowed=True)  # office-a is back: shares again, does not lead
        await until(lambda: all(n.member.stats().live_nodes == 3 for n in nodes) and partitioned(nodes))
        assert a.member.share == a_share and a.member.leading() is None
        assert all(len(who) <= 1 for who in sampler.stop())
        for n in nodes:
            await n.stop()
        check = ClusterStore.open(database.url)
        assert check.live_nodes(60.0) == []  # all left cleanly
        check.close()

    with own_role(database) as role_url:
        asyncio.run(main(role_url))


def test_while_the_database_is_away_nobody_leads_and_the_shares_stay(database: Database) -> None:
    async def main() -> None:
        nodes = [start("office-a", database.url), start("office-b", database.url)]
        await until(lambda: all(n.member.stats().live_nodes == 2 for n in nodes) and partitioned(nodes))
        leader = next(n for n in nodes if n.member.leading() is not None)
        old_term = leader.member.leading()
        shares = [n.member.share for n in nodes]
        sampler = Sampler(nodes)
        with database_away(database):
            await until(lambda: all(n.member.leading() is None for n in nodes))
            await asyncio.sleep(TIMING.lease_ttl_s)  # past the database's expiry: still nobody can take it
            assert all(n.member.leading() is None for n in nodes)
            assert [n.member.share for n in nodes] == shares
        await until(lambda: any(n.member.leading() is not None for n in nodes))
        new_term = next(n.member.leading() for n in nodes if n.member.leading() is not None)
        assert old_term is not None and new_term is not None and new_term > old_term
        assert all(len(who) <= 1 for who in sampler.stop())
        for n in nodes:
            await n.stop()

    asyncio.run(main())


def test_a_leader_that_leaves_releases_its_lease_and_its_row(database: Database) -> None:
    async def main() -> None:
        a = start("office-a", database.url)
        await until(lambda: a.member.leading() is not None)
        b = start("office-b", database.url)
        await until(lambda: b.member.stats().live_nodes == 2)
        a_term = a.member.leading()
        await a.stop()
        check = ClusterStore.open(database.url)
        holder = check.holder(LEADER)
        assert holder is not None and holder.holder == "office-a" and holder.remaining_s < 0
        assert [n.node_id for n in check.live_nodes(60.0)] == ["office-b"]
        check.close()
        await until(lambda: b.member.leading() is not None and b.member.share == frozenset(DEVICES))
        assert a_term is not None and (b.member.leading() or 0) > a_term
        await b.stop()

    asyncio.run(main())
