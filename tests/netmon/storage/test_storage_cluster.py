"""The cluster tables against real SQLite and PostgreSQL (netmon.storage.cluster): heartbeats and the live set by
the database's clock, the leader lease's conditional acquire, renew and release with a strictly increasing term,
a race of acquirers, and the local monotonic deadline. Real waits only where the database's clock must pass."""

from __future__ import annotations

import threading
import time

import pytest
from storage_backends import Backend, backend

from netmon.cluster.record import LEADER, Lease
from netmon.errors import StorageUnavailable
from netmon.storage.cluster import ClusterStore

__all__ = ["backend"]


def cluster(b: Backend, clock: float | None = None) -> ClusterStore:
    b.upgraded().close()
    if clock is None:
        return ClusterStore.open(b.url, node_id="test", timeout_s=2.0)
    return ClusterStore.open(b.url, node_id="test", timeout_s=2.0, clock=lambda: clock)


def test_heartbeats_make_nodes_live_and_silence_makes_them_dead(backend: Backend) -> None:
    store = cluster(backend)
    assert [n.node_id for n in store.heartbeat("office-a", "host-a", 11, 60.0)] == ["office-a"]
    live = store.heartbeat("office-b", "host-b", 22, 60.0)
    assert [(n.node_id, n.host, n.pid) for n in live] == [("office-a", "host-a", 11), ("office-b", "host-b", 22)]
    assert all(n.started_at <= n.heartbeat_at for n in live)
    time.sleep(0.5)  # the database's clock must pass: office-a is silent from here
    assert [n.node_id for n in store.heartbeat("office-b", "host-b", 22, 0.4)] == ["office-b"]
    assert [n.node_id for n in store.live_nodes(60.0)] == ["office-a", "office-b"]  # rows stay, just not live
    store.close()


def test_a_node_keeps_its_start_time_until_another_process_takes_its_id(backend: Backend) -> None:
    store = cluster(backend)
    [first] = store.heartbeat("office-a", "host-a", 11, 60.0)
    time.sleep(0.05)
    [again] = store.heartbeat("office-a", "host-a", 11, 60.0)
    assert again.started_at == first.started_at and again.heartbeat_at > first.heartbeat_at
    [restarted] = store.heartbeat("office-a", "host-a", 12, 60.0)
    assert restarted.started_at > first.started_at and restarted.pid == 12
    store.close()


def test_a_node_that_leaves_is_gone_at_once(backend: Backend) -> None:
    store = cluster(backend)
    store.heartbeat("office-a", "host-a", 11, 60.0)
    store.heartbeat("office-b", "host-b", 22, 60.0)
    store.leave("office-a")
    store.leave("office-a")  # twice is fine
    assert [n.node_id for n in store.live_nodes(60.0)] == ["office-b"]
    store.close()


def test_the_lease_goes_to_one_holder_and_its_term_only_grows(backend: Backend) -> None:
    store = cluster(backend, clock=100.0)
    a = store.acquire(LEADER, "office-a", 30.0, margin_s=5.0)
    assert a == Lease(LEADER, "office-a", 1, 125.0)  # the local deadline: monotonic at send + ttl - margin
    assert store.acquire(LEADER, "office-b", 30.0, margin_s=5.0) is None
    assert store.renew(a, 30.0, margin_s=5.0) == a  # same term, deadline from this send
    holder = store.holder(LEADER)
    assert holder is not None and (holder.holder, holder.term) == ("office-a", 1) and 29 < holder.remaining_s <= 30

    again = store.acquire(LEADER, "office-a", 30.0, margin_s=5.0)  # a restarted office-a: a new term
    assert again is not None and again.term == 2
    assert store.renew(a, 30.0, margin_s=5.0) is None  # the old term cannot renew
    store.release(a)  # nor release
    assert store.acquire(LEADER, "office-b", 30.0, margin_s=5.0) is None

    store.release(again)
    b = store.acquire(LEADER, "office-b", 30.0, margin_s=5.0)
    assert b is not None and b.term == 3
    assert store.renew(again, 30.0, margin_s=5.0) is None
    assert store.holder("other") is None
    store.close()


def test_an_expired_lease_passes_to_another_node_with_a_higher_term(backend: Backend) -> None:
    store = cluster(backend)
    a = store.acquire(LEADER, "office-a", 0.3, margin_s=0.1)
    assert a is not None and store.acquire(LEADER, "office-b", 0.3, margin_s=0.1) is None
    time.sleep(0.45)  # the database's clock passes the expiry
    b = store.acquire(LEADER, "office-b", 0.3, margin_s=0.1)
    assert b is not None and b.term == a.term + 1
    assert store.renew(a, 0.3, margin_s=0.1) is None
    store.close()


def test_the_local_deadline_is_before_the_databases_expiry(backend: Backend) -> None:
    store = cluster(backend)
    before = time.monotonic()
    lease = store.acquire(LEADER, "office-a", 2.0, margin_s=0.5)
    holder = store.holder(LEADER)
    after = time.monotonic()
    assert lease is not None and holder is not None
    assert before + 1.5 <= lease.deadline <= after + 1.5
    assert lease.deadline < after + holder.remaining_s  # the database lets go later than the holder stops
    store.close()


def test_of_racing_acquirers_exactly_one_wins(backend: Backend) -> None:
    stores = [cluster(backend) for _ in range(6)]
    start = threading.Barrier(len(stores))
    won: list[Lease | None] = [None] * len(stores)

    def race(i: int) -> None:
        start.wait()
        won[i] = stores[i].acquire(LEADER, f"office-{i}", 30.0, margin_s=5.0)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = [lease for lease in won if lease is not None]
    assert len(winners) == 1 and winners[0].term == 1
    for store in stores:
        store.close()


@pytest.mark.parametrize("call", ["heartbeat", "acquire"])
def test_a_database_away_is_unavailable_and_the_password_never_shows(backend: Backend, call: str) -> None:
    backend.upgraded().close()
    url = backend.url.replace("postgres@", "postgres:s3cret-pw@") if backend.dbname else backend.url
    store = ClusterStore.open(url, node_id="test", timeout_s=0.3)
    store.heartbeat("office-a", "host-a", 11, 60.0)  # a pooled connection, then the database goes away
    with backend.away(), pytest.raises(StorageUnavailable) as caught:
        if call == "heartbeat":
            store.heartbeat("office-a", "host-a", 11, 60.0)
        else:
            store.acquire(LEADER, "office-a", 30.0, margin_s=5.0)
    assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in repr(store)
    assert "cluster: database unavailable" in str(caught.value)
    store.close()
