"""The leader lease's since_term and the storage write fence against real SQLite and PostgreSQL
(netmon.storage.cluster `acquire`, netmon.storage.store `Store.write(..., fence=...)`): a leader's records are
written only while their node has led without a break since the term they were produced in. A lease expires
here by setting its expiry in the past (the database's clock is never waited for)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from storage_backends import Backend, backend
from test_storage_store import migrate

from netmon.cluster.record import LEADER, WriteFence
from netmon.model import DeviceState, StateChange, Status
from netmon.storage import Store
from netmon.storage import schema as t
from netmon.storage.cluster import ClusterStore
from netmon.storage.store import StorageFenced

__all__ = ["backend"]

T0 = 1_750_000_000.0


def cluster(b: Backend) -> ClusterStore:
    return ClusterStore.open(b.url, node_id="test", timeout_s=5.0)


def expire(b: Backend) -> None:
    """The leader lease expires now by the database's clock (as if its holder had stopped renewing)."""
    engine = sa.create_engine(b.url)
    with engine.begin() as conn:
        conn.execute(sa.update(t.cluster_leases).where(t.cluster_leases.c.name == LEADER).values(expires_at=0.0))
    engine.dispose()


def acquire(store: ClusterStore, holder: str) -> int:
    lease = store.acquire(LEADER, holder, 30.0, margin_s=5.0)
    assert lease is not None, f"{holder} could not acquire"
    return lease.term


def since(store: ClusterStore) -> tuple[str, int, int]:
    lease = store.holder(LEADER)
    assert lease is not None
    return lease.holder, lease.term, lease.since_term


def change(i: int) -> StateChange:
    return StateChange("ketenger-ap", Status.UP, Status.DOWN, T0 + i, f"#{i}")


def reasons(store: Store) -> list[str]:
    return [c.reason for c in store.state_changes()]


def test_since_term_starts_with_each_new_holder_and_stays_while_the_same_holder_reacquires(backend: Backend) -> None:
    backend.upgraded().close()
    store = cluster(backend)
    assert acquire(store, "office-a") == 1 and since(store) == ("office-a", 1, 1)
    assert acquire(store, "office-a") == 2 and since(store) == ("office-a", 2, 1)  # re-acquired while held
    expire(backend)
    assert acquire(store, "office-a") == 3 and since(store) == ("office-a", 3, 1)  # its own expired lease
    assert store.acquire(LEADER, "office-b", 30.0, margin_s=5.0) is None and since(store) == ("office-a", 3, 1)
    expire(backend)
    assert acquire(store, "office-b") == 4 and since(store) == ("office-b", 4, 4)  # another holder: anew
    expire(backend)
    assert acquire(store, "office-a") == 5 and since(store) == ("office-a", 5, 5)  # back, but someone led since
    store.close()


def test_migration_0009_gives_existing_leases_their_term_as_since_term(backend: Backend) -> None:
    engine = sa.create_engine(backend.url)
    migrate(engine, "upgrade", "0008")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO cluster_leases (name, holder, term, expires_at) "
                             "VALUES ('leader', 'office-a', 7, 0)"))
    backend.upgraded().close()
    store = cluster(backend)
    assert since(store) == ("office-a", 7, 7)
    assert acquire(store, "office-a") == 8 and since(store) == ("office-a", 8, 7)
    store.close()
    migrate(engine, "downgrade", "0008")
    with engine.connect() as conn:
        assert "since_term" not in {c["name"] for c in sa.inspect(conn).get_columns("cluster_leases")}
    engine.dispose()


def test_a_fenced_write_passes_while_its_node_leads_and_is_refused_whole_once_another_node_led(
        backend: Backend) -> None:
    store = backend.upgraded()
    leases = cluster(backend)
    term = acquire(leases, "office-a")
    store.write([change(0), DeviceState("ketenger-ap", Status.DOWN, T0)], fence=WriteFence("office-a", term))
    assert reasons(store) == ["#0"]
    expire(backend)
    acquire(leases, "office-b")
    with pytest.raises(StorageFenced, match="office-a"):
        store.write([change(1), DeviceState("ketenger-ap", Status.UP, T0 + 1)], fence=WriteFence("office-a", term))
    assert reasons(store) == ["#0"] and store.load_states() == [DeviceState("ketenger-ap", Status.DOWN, T0)]
    store.write([change(2)])  # no fence: written as ever (a follower's own records)
    assert reasons(store) == ["#0", "#2"]
    leases.close()
    store.close()


@pytest.mark.parametrize(("others", "passes"), [
    pytest.param(False, True, id="nobody-else-led-meanwhile-older-term-passes"),
    pytest.param(True, False, id="another-node-led-meanwhile-older-term-fenced"),
])
def test_after_its_node_reacquires_a_record_of_an_older_term_passes_only_if_nobody_else_led(
        backend: Backend, others: bool, passes: bool) -> None:
    store = backend.upgraded()
    leases = cluster(backend)
    old = acquire(leases, "office-a")
    expire(backend)
    if others:
        acquire(leases, "office-b")
        expire(backend)
    new = acquire(leases, "office-a")
    assert new > old
    store.write([change(0)], fence=WriteFence("office-a", new))  # the current term always passes
    if passes:
        store.write([change(1)], fence=WriteFence("office-a", old))
    else:
        with pytest.raises(StorageFenced):
            store.write([change(1)], fence=WriteFence("office-a", old))
    assert reasons(store) == (["#0", "#1"] if passes else ["#0"])
    leases.close()
    store.close()


def test_a_fenced_write_without_any_lease_is_refused(backend: Backend) -> None:
    store = backend.upgraded()
    with pytest.raises(StorageFenced):
        store.write([change(0)], fence=WriteFence("office-a", 1))
    assert reasons(store) == []
    store.close()
