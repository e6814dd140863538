"""The cluster tables (issue #16): node heartbeats and named leases, on PostgreSQL (several nodes) or SQLite (one).

Design, chosen over advisory locks alone (docs/architecture.md, "The cluster core"):

- Every time that decides liveness or a lease's expiry is the DATABASE's clock, read inside the statement that
  uses it (PostgreSQL `statement_timestamp()`, SQLite `julianday('now')`), never a node's: nodes' clocks differ (WIB,
  WITA and WIT; machines drift), the database's is the one clock every node sees. The tables store it as unix
  seconds, like every other time in `schema`. On SQLite "the database's clock" is the host's: one host anyway.
- A node decides locally ("may I still act as leader?") with its own MONOTONIC clock, conservatively: the
  `Lease.deadline` is the monotonic time read BEFORE the acquire or renew was sent, plus ttl, minus a margin.
  The database evaluated `now() + ttl` after that send, so the database's expiry is always later than the local
  deadline (by at least the margin, minus clock-rate drift, which is parts per million). A leader that loses the
  database therefore stops acting before anyone else can acquire, and nobody can acquire while the database is
  away: no split brain. A step of the database server's own clock is the one thing the margin does not cover.
- acquire is one statement: an upsert that inserts the lease if absent or takes it over when it has expired by the
  database's clock (or is already ours), `term + 1` either way, RETURNING the term: race-free on both backends
  (PostgreSQL re-checks the condition on the locked row; SQLite writes under BEGIN IMMEDIATE). Renew and release
  match holder AND term, so a node can never extend or end a lease someone took over meanwhile. The term is the
  fencing token: strictly increasing across hand-overs, never reused.
- `since_term` is the first term of the holder's current unbroken holding: the new term when the lease changes
  holder (or is created), kept when the holder re-acquires its own lease (expired, nobody else took it), set in
  the same upsert. The storage write fence (netmon.storage.store `Store.write(..., fence=...)`) lets a leader's
  record of term T through only while its holder holds the lease with since_term <= T, under a share lock on
  the row that an acquire by another node waits for: records queued by a leader that another node has since
  replaced never reach the database.

Blocking (SQLAlchemy); the driver (netmon.cluster.member) calls it in a worker thread. Its own small engine with
short timeouts, apart from the write queue's, so a backlog of writes never delays a heartbeat. Errors come out
as StorageUnavailable, the driver's message redacted.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from netmon.cluster.record import Lease, LeaseHolder, Node
from netmon.errors import StorageUnavailable, library_message, safe_cause
from netmon.storage import schema as t
from netmon.storage.clock import database_now
from netmon.storage.store import _sqlite_pragmas, short_message
from netmon.storage.url import normalise, redact

MonotonicClock = Callable[[], float]

def short_timeout_engine(url: str, application_name: str, timeout_s: float, *, pool_size: int = 2,
                         max_overflow: int = 1) -> sa.Engine:
    """An engine for `url` (lazily connected) whose connecting, statements, lock waits and unanswered sends on
    PostgreSQL (the busy wait on SQLite) are each bounded by `timeout_s`, so a call never hangs for long."""
    url = normalise(url)
    if sa.make_url(url).get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout_s})
        _sqlite_pragmas(engine, timeout_s)
        return engine
    ms = max(1, round(timeout_s * 1000))
    return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow,
                            pool_timeout=timeout_s,
                            connect_args={"connect_timeout": max(2, math.ceil(timeout_s)),
                                          "application_name": application_name[:63],
                                          "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
                                          "tcp_user_timeout": ms, "keepalives": 1,
                                          "keepalives_idle": max(1, math.ceil(timeout_s)),
                                          "keepalives_interval": 1, "keepalives_count": 3})


@contextmanager
def translated_errors(engine: sa.Engine, what: str) -> Iterator[None]:
    """Everything the database or driver raises, as StorageUnavailable("<what>: database unavailable: ...")
    with the password hidden."""
    secrets: Any = (engine.url.password,) if isinstance(engine.url.password, str) else ()
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        raise StorageUnavailable(f"{what}: database unavailable: {short_message(exc, secrets)}") \
            from safe_cause(exc, secrets)
    except OSError as exc:
        raise StorageUnavailable(f"{what}: database unavailable: {library_message(exc, secrets)}") \
            from safe_cause(exc, secrets)


@contextmanager
def write_transaction(engine: sa.Engine, what: str) -> Iterator[sa.Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite), its errors translated."""
    with translated_errors(engine, what), engine.connect() as conn:
        conn.execution_options(netmon_write=True)
        with conn.begin():
            yield conn


class ClusterStore:
    """Heartbeats, the live set and leases. `clock` is the local monotonic clock (injected by tests)."""

    def __init__(self, engine: sa.Engine, *, clock: MonotonicClock = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._now = database_now(engine)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @classmethod
    def open(cls, url: str, *, node_id: str = "", timeout_s: float = 5.0,
             clock: MonotonicClock = time.monotonic) -> ClusterStore:
        """An engine of its own for `url` (lazily connected). `timeout_s` bounds connecting, each statement and
        an unanswered send on PostgreSQL (and the busy wait on SQLite), so a round never hangs for long."""
        return cls(short_timeout_engine(url, f"kim-netmon cluster {node_id}", timeout_s), clock=clock)

    def __repr__(self) -> str:
        return f"ClusterStore({redact(self._engine.url.render_as_string(hide_password=False))})"

    def close(self) -> None:
        self._engine.dispose()

    # --- membership ------------------------------------------------------------------------------------

    def heartbeat(self, node_id: str, host: str, pid: int, dead_after_s: float) -> list[Node]:
        """Say `node_id` is alive (upsert, the database's now), then return the live nodes: those heard within
        `dead_after_s` of the database's now, by node_id. One transaction. A new process under the same
        node_id (another host or pid) starts its `started_at` afresh."""
        c = t.cluster_nodes.c
        stmt = self._insert(t.cluster_nodes).values(node_id=node_id, host=host, pid=pid, started_at=self._now,
                                                     heartbeat_at=self._now)
        same = sa.and_(c.host == stmt.excluded.host, c.pid == stmt.excluded.pid)
        stmt = stmt.on_conflict_do_update(index_elements=["node_id"], set_={
            "host": stmt.excluded.host, "pid": stmt.excluded.pid, "heartbeat_at": stmt.excluded.heartbeat_at,
            "started_at": sa.case((same, c.started_at), else_=stmt.excluded.started_at)})
        with self._write() as conn:
            conn.execute(stmt)
            rows = conn.execute(sa.select(t.cluster_nodes).where(c.heartbeat_at >= self._now - dead_after_s)
                                .order_by(c.node_id)).all()
        return [Node(r.node_id, r.host, r.pid, r.started_at, r.heartbeat_at) for r in rows]

    def live_nodes(self, dead_after_s: float) -> list[Node]:
        """The nodes heard within `dead_after_s` of the database's now, by node_id (without heartbeating)."""
        c = t.cluster_nodes.c
        with self._errors(), self._engine.connect() as conn, conn.begin():
            rows = conn.execute(sa.select(t.cluster_nodes).where(c.heartbeat_at >= self._now - dead_after_s)
                                .order_by(c.node_id)).all()
        return [Node(r.node_id, r.host, r.pid, r.started_at, r.heartbeat_at) for r in rows]

    def leave(self, node_id: str) -> None:
        """A clean exit: the node's row goes, so the others take its devices at their next heartbeat."""
        with self._write() as conn:
            conn.execute(sa.delete(t.cluster_nodes).where(t.cluster_nodes.c.node_id == node_id))

    # --- leases ----------------------------------------------------------------------------------------

    def acquire(self, name: str, holder: str, ttl_s: float, *, margin_s: float) -> Lease | None:
        """Take lease `name` for `holder` if it is free (absent, expired by the database's clock, or already
        `holder`'s): a new, higher term, expiring ttl_s after the database's now. None: someone else holds it.
        `since_term` becomes the new term when the lease changes holder, and stays when `holder` had it."""
        c = t.cluster_leases.c
        insert = self._insert(t.cluster_leases).values(name=name, holder=holder, term=1, since_term=1,
                                                        expires_at=self._now + ttl_s)
        stmt = insert.on_conflict_do_update(  # SET and WHERE read the row as it was (both backends)
            index_elements=["name"],
            set_={"holder": holder, "term": c.term + 1, "expires_at": self._now + ttl_s,
                  "since_term": sa.case((c.holder == holder, c.since_term), else_=c.term + 1)},
            where=sa.or_(c.expires_at < self._now, c.holder == holder)).returning(c.term)
        sent = self._clock()
        with self._write() as conn:
            term = conn.execute(stmt).scalar()
        return None if term is None else Lease(name, holder, int(term), sent + ttl_s - margin_s)

    def renew(self, lease: Lease, ttl_s: float, *, margin_s: float) -> Lease | None:
        """Extend `lease` to ttl_s after the database's now, if its holder still holds it in the same term.
        None: it was taken over (the caller has already stopped acting: its deadline passed first)."""
        c = t.cluster_leases.c
        stmt = (sa.update(t.cluster_leases).values(expires_at=self._now + ttl_s)
                .where(c.name == lease.name, c.holder == lease.holder, c.term == lease.term))
        sent = self._clock()
        with self._write() as conn:
            renewed = conn.execute(stmt).rowcount == 1
        return Lease(lease.name, lease.holder, lease.term, sent + ttl_s - margin_s) if renewed else None

    def release(self, lease: Lease) -> None:
        """End `lease` now (if still held in its term), so another node can acquire at once. The caller stops
        acting on it BEFORE calling this."""
        c = t.cluster_leases.c
        stmt = (sa.update(t.cluster_leases).values(expires_at=self._now - 1.0)
                .where(c.name == lease.name, c.holder == lease.holder, c.term == lease.term))
        with self._write() as conn:
            conn.execute(stmt)

    def holder(self, name: str) -> LeaseHolder | None:
        """Who holds (or last held) lease `name`, and for how long more by the database's clock."""
        c = t.cluster_leases.c
        with self._errors(), self._engine.connect() as conn, conn.begin():
            row = conn.execute(sa.select(c.holder, c.term, (c.expires_at - self._now).label("remaining"),
                                         c.since_term).where(c.name == name)).one_or_none()
        return None if row is None else LeaseHolder(name, row.holder, int(row.term), float(row.remaining),
                                                    int(row.since_term))

    # --- plumbing --------------------------------------------------------------------------------------

    def _write(self) -> contextlib.AbstractContextManager[sa.Connection]:
        return write_transaction(self._engine, "cluster")

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        """A cluster round either happened or it did not; the driver retries at its next heartbeat."""
        return translated_errors(self._engine, "cluster")
