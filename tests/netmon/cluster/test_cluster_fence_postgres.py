"""The write fence and the leader lease serialise on the real PostgreSQL (netmon.storage.store `Store.write`
with a fence share-locks the lease row until its commit): another node's acquire waits for a fenced write in
flight, and a fenced write that meets an acquire in flight waits for it and is then refused. Each transaction is
held open at a known statement by an event hook, and the waits are seen in pg_stat_activity: no timing involved
(HANG_GUARD_S only stops a hung test)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from cluster_database import Database
from peers import HANG_GUARD_S, pg_admin

from netmon.cluster.record import LEADER, Lease, WriteFence
from netmon.model import StateChange, Status
from netmon.storage import Store
from netmon.storage import schema as t
from netmon.storage.cluster import ClusterStore
from netmon.storage.store import StorageFenced

T0 = 1_750_000_000.0


class Pause:
    """Holds the engine's connection right after it ran a statement containing `marker` (its transaction still
    open) until `go` is set; `reached` is set when it got there."""

    def __init__(self, engine: sa.Engine, marker: str) -> None:
        self.reached = threading.Event()
        self.go = threading.Event()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if marker in statement and not self.reached.is_set():
                self.reached.set()
                assert self.go.wait(HANG_GUARD_S), "never let go"


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def leases(db: Database, node: str) -> ClusterStore:
    return ClusterStore.open(db.url, node_id=node, timeout_s=HANG_GUARD_S)  # its lock wait outlasts the test


def expire(db: Database) -> None:
    engine = sa.create_engine(db.url)
    with engine.begin() as conn:
        conn.execute(sa.update(t.cluster_leases).where(t.cluster_leases.c.name == LEADER).values(expires_at=0.0))
    engine.dispose()


def waiting_for_a_lock(db: Database) -> int:
    with pg_admin() as admin:
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                            (db.name,)).fetchone()
    return int(row[0])


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def change(i: int) -> StateChange:
    return StateChange("ketenger-ap", Status.UP, Status.DOWN, T0 + i, f"#{i}")


def take(store: ClusterStore, node: str) -> Lease | None:
    return store.acquire(LEADER, node, 30.0, margin_s=5.0)


def test_another_nodes_acquire_waits_for_a_fenced_write_in_flight(database: Database,
                                                                   pool: ThreadPoolExecutor) -> None:
    a, b, store = leases(database, "office-a"), leases(database, "office-b"), Store.open(database.url)
    lease = take(a, "office-a")
    assert lease is not None
    fence = WriteFence("office-a", lease.term)
    expire(database)  # office-a stopped renewing: office-b may take the lease, once the write lets it
    paused = Pause(store._engine, "FOR SHARE")
    writing: Future[None] = pool.submit(store.write, [change(0)], fence=fence)
    assert paused.reached.wait(HANG_GUARD_S)  # the fence checked, the write's transaction still open
    acquiring: Future[Lease | None] = pool.submit(take, b, "office-b")
    until(lambda: waiting_for_a_lock(database) == 1)
    assert not acquiring.done()
    paused.go.set()
    writing.result(HANG_GUARD_S)
    got = acquiring.result(HANG_GUARD_S)
    assert got is not None and got.term == lease.term + 1
    assert [c.reason for c in store.state_changes()] == ["#0"]  # committed before the hand-over
    with pytest.raises(StorageFenced):
        store.write([change(1)], fence=fence)  # and nothing of office-a's after it
    assert [c.reason for c in store.state_changes()] == ["#0"]
    for closing in (a, b, store):
        closing.close()


def test_a_fenced_write_meeting_an_acquire_in_flight_waits_for_it_and_is_refused(database: Database,
                                                                               pool: ThreadPoolExecutor) -> None:
    a, b, store = leases(database, "office-a"), leases(database, "office-b"), Store.open(database.url)
    lease = take(a, "office-a")
    assert lease is not None
    expire(database)
    paused = Pause(b._engine, "cluster_leases")  # office-b's upsert ran; its transaction still open
    acquiring: Future[Lease | None] = pool.submit(take, b, "office-b")
    assert paused.reached.wait(HANG_GUARD_S)
    writing: Future[None] = pool.submit(store.write, [change(0)], fence=WriteFence("office-a", lease.term))
    until(lambda: waiting_for_a_lock(database) == 1)
    assert not writing.done()
    paused.go.set()
    assert acquiring.result(HANG_GUARD_S) is not None
    with pytest.raises(StorageFenced):
        writing.result(HANG_GUARD_S)  # the row re-read after office-b's commit: no longer office-a's
    assert store.state_changes() == []
    for closing in (a, b, store):
        closing.close()
