"""`OutboxTable`: the outboxes' journal in the database, shared by the nodes of a cluster (issue #16).

One table, `outbox_items`, holds every item that no destination has acknowledged yet, per outbox name, in `seq`
order. Any node appends (what it put locally); only the leader claims and acknowledges, carrying its lease term
as the fencing token (netmon.cluster.outbox drives it):

- `append(outbox, items)`: one transaction, the items in list order (one node's items keep their order: it
  appends its next batch only after the previous one committed). `created_at` is the database's clock.
- `claim(outbox, term, limit)`: in one transaction, check that `term` is the current, unexpired `leader` lease
  (by the database's clock; the lease row is share-locked on PostgreSQL, so no acquisition by another node can
  commit until the claim has), then mark the oldest `limit` items whose `claimed_term` is empty or not above
  `term` as claimed in `term`, and return them in order. None: `term` is not the current lease's (fenced out).
  A deposed leader's late claim can therefore neither take items back from the new leader nor claim at all.
- `ack(outbox, seqs, term)`: delete the items among `seqs` still claimed in `term`. A deposed leader's late ack
  leaves alone what the new leader has claimed meanwhile (it will deliver those again: the idempotency key
  dedupes); its ack of items nobody claimed since is truthful (they were delivered) and spares a duplicate, so
  the ack does not check the lease itself.

Blocking (SQLAlchemy); the caller runs it in a worker thread. Its own small engine with short timeouts, like
`ClusterStore`'s. Every error comes out as StorageUnavailable, the driver's message kept with secrets hidden.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from netmon.cluster.record import LEADER, Claim, SharedItem
from netmon.storage import schema as t
from netmon.storage.cluster import database_now, short_timeout_engine, translated_errors, write_transaction
from netmon.storage.url import redact


class OutboxTable:
    """The shared journal of every outbox. `node_id` is recorded as each appended item's origin."""

    def __init__(self, engine: sa.Engine, node_id: str) -> None:
        self._engine = engine
        self._node_id = node_id
        self._now = database_now(engine)

    @classmethod
    def open(cls, url: str, *, node_id: str, timeout_s: float = 5.0) -> OutboxTable:
        """An engine of its own for `url` (lazily connected), every wait bounded by `timeout_s`; enough
        connections for the daemon's five outboxes to append and claim at once."""
        return cls(short_timeout_engine(url, f"kim-netmon outbox {node_id}", timeout_s, pool_size=4,
                                        max_overflow=4), node_id)

    def __repr__(self) -> str:
        return f"OutboxTable({redact(self._engine.url.render_as_string(hide_password=False))})"

    def close(self) -> None:
        self._engine.dispose()

    def append(self, outbox: str, items: Sequence[Mapping[str, Any]]) -> None:
        """Add `items` to `outbox`, in order, in one transaction."""
        if not items:
            return
        rows = [{"outbox": outbox, "item": json.dumps(item, separators=(",", ":"), ensure_ascii=False),
                 "origin": self._node_id} for item in items]
        with self._write() as conn:
            # one statement for the batch (a multi-row VALUES on PostgreSQL, executemany on SQLite): the rows
            # take their seqs in list order, as one statement per item did at ~10x the cost per item
            conn.execute(sa.insert(t.outbox_items).values(created_at=self._now), rows)

    def claim(self, outbox: str, term: int, limit: int, *, lease: str = LEADER) -> Claim | None:
        """The oldest `limit` items of `outbox` not claimed by a later term, now claimed in `term`, if `term`
        is the current unexpired `lease`; else None."""
        c, lc = t.outbox_items.c, t.cluster_leases.c
        current = (sa.select(lc.term).where(lc.name == lease, lc.term == term, lc.expires_at > self._now)
                   .with_for_update(read=True))
        oldest = (sa.select(c.seq).where(c.outbox == outbox, sa.or_(c.claimed_term.is_(None), c.claimed_term <= term))
                  .order_by(c.seq).limit(max(1, limit)))
        stmt = (sa.update(t.outbox_items).values(claimed_term=term).where(c.seq.in_(oldest))
                .returning(c.seq, c.item))
        with self._write() as conn:
            if conn.execute(current).first() is None:
                return None
            rows = sorted(conn.execute(stmt).all())
            pending = conn.execute(sa.select(sa.func.count()).where(c.outbox == outbox)).scalar_one()
        return Claim(tuple(SharedItem(int(r.seq), json.loads(r.item)) for r in rows), int(pending))

    def ack(self, outbox: str, seqs: Sequence[int], term: int) -> int:
        """Delete the items among `seqs` that are still claimed in `term`; how many were."""
        if not seqs:
            return 0
        c = t.outbox_items.c
        stmt = sa.delete(t.outbox_items).where(c.outbox == outbox, c.seq.in_(list(seqs)), c.claimed_term == term)
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount)

    def pending(self, outbox: str) -> list[tuple[int, dict[str, Any], int | None]]:
        """Every unacknowledged item of `outbox` as (seq, item, claimed_term), in order (tests, operators)."""
        c = t.outbox_items.c
        with self._errors(), self._engine.connect() as conn, conn.begin():
            rows = conn.execute(sa.select(c.seq, c.item, c.claimed_term).where(c.outbox == outbox)
                                .order_by(c.seq)).all()
        return [(int(r.seq), json.loads(r.item), None if r.claimed_term is None else int(r.claimed_term))
                for r in rows]

    def _write(self) -> contextlib.AbstractContextManager[sa.Connection]:
        return write_transaction(self._engine, "outbox journal")

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return translated_errors(self._engine, "outbox journal")
