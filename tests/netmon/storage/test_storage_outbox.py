"""The shared outbox journal against real SQLite and PostgreSQL (netmon.storage.outbox): append in order, claims
only by the current leader term, acks fenced by the claiming term, errors as StorageUnavailable."""

from __future__ import annotations

import pytest
from storage_backends import Backend, backend

from netmon.cluster.record import LEADER
from netmon.errors import StorageUnavailable
from netmon.storage.cluster import ClusterStore
from netmon.storage.outbox import OutboxTable

__all__ = ["backend"]


def opened(b: Backend) -> tuple[OutboxTable, ClusterStore]:
    b.upgraded().close()
    return OutboxTable.open(b.url, node_id="office-a", timeout_s=2.0), ClusterStore.open(b.url, timeout_s=2.0)


def seqs_and_ids(table: OutboxTable, outbox: str) -> list[tuple[int, int | None]]:
    return [(item["id"], term) for _seq, item, term in table.pending(outbox)]


def test_items_are_claimed_in_append_order_per_outbox_and_acked_items_leave(backend: Backend) -> None:
    table, cluster = opened(backend)
    lease = cluster.acquire(LEADER, "office-a", 60.0, margin_s=1.0)
    assert lease is not None and lease.term == 1
    table.append("notify", [{"id": 1, "text": "Perangkat mati"}, {"id": 2}])
    table.append("mqtt", [{"id": 100}])
    table.append("notify", [{"id": 3}])
    claim = table.claim("notify", lease.term, 2)
    assert claim is not None and claim.pending == 3
    assert [s.item for s in claim.items] == [{"id": 1, "text": "Perangkat mati"}, {"id": 2}]
    assert table.ack("notify", [s.seq for s in claim.items], lease.term) == 2
    again = table.claim("notify", lease.term, 10)
    assert again is not None and [s.item["id"] for s in again.items] == [3] and again.pending == 1
    assert seqs_and_ids(table, "mqtt") == [(100, None)]  # another outbox is untouched
    table.close()
    cluster.close()


def test_only_the_current_lease_term_claims_and_a_late_ack_leaves_the_new_leaders_claims(backend: Backend) -> None:
    table, cluster = opened(backend)
    table.append("notify", [{"id": i} for i in range(4)])
    assert table.claim("notify", 1, 10) is None  # no lease at all
    first = cluster.acquire(LEADER, "office-a", 60.0, margin_s=1.0)
    assert first is not None
    old = table.claim("notify", first.term, 3)
    assert old is not None and [s.item["id"] for s in old.items] == [0, 1, 2]
    cluster.release(first)
    second = cluster.acquire(LEADER, "office-b", 60.0, margin_s=1.0)
    assert second is not None and second.term == first.term + 1
    assert table.claim("notify", first.term, 10) is None  # deposed: fenced out
    new = table.claim("notify", second.term, 2)
    assert new is not None and [s.item["id"] for s in new.items] == [0, 1]
    # the deposed leader's late ack: 0 and 1 are the new leader's now; 2 was delivered and nobody claimed it since
    assert table.ack("notify", [s.seq for s in old.items], first.term) == 1
    assert seqs_and_ids(table, "notify") == [(0, second.term), (1, second.term), (3, None)]
    assert table.ack("notify", [s.seq for s in new.items], second.term) == 2
    assert seqs_and_ids(table, "notify") == [(3, None)]
    table.close()
    cluster.close()


def test_an_expired_lease_claims_nothing(backend: Backend) -> None:
    table, cluster = opened(backend)
    lease = cluster.acquire(LEADER, "office-a", 60.0, margin_s=1.0)
    assert lease is not None
    table.append("notify", [{"id": 1}])
    cluster.release(lease)  # expires it by the database's clock
    assert table.claim("notify", lease.term, 10) is None
    table.close()
    cluster.close()


def test_a_database_that_is_away_raises_storage_unavailable_without_the_password(backend: Backend) -> None:
    table, cluster = opened(backend)
    cluster.close()
    with backend.away(), pytest.raises(StorageUnavailable) as caught:
        table.append("notify", [{"id": 1}])
    assert "outbox journal: database unavailable" in str(caught.value)
    table.close()
    secret = OutboxTable.open("postgresql://netmon:s3cret-pw@127.0.0.1:1/none", node_id="x", timeout_s=1.0)
    with pytest.raises(StorageUnavailable) as caught:
        secret.append("notify", [{"id": 1}])
    assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in repr(secret)
    secret.close()
