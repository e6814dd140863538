"""The site agent's durable outbox: every poll result, numbered, on disk before it is sent (SQLite, stdlib).

    put(result)            -> seq      one transaction: the next seq, the wire payload (netmon.wire.encode,
                                       so a resend after a crash is the same bytes with the same seq), the
                                       bound applied; committed (fsync'd) before it returns
    take(limit)            -> [Pending] the oldest results, marked in flight (the bound leaves them alone)
    acknowledge(through)               deletes them up to `through` once the broker's PUBACK arrived
    release()                          in flight no longer (the publish failed): they stay, oldest first

Durability: WAL journal with `synchronous=FULL`, so a committed `put` survives a power cut, not only a crash
of the process (NORMAL in WAL mode may lose the last transactions on power loss; the cost of FULL is one fsync
per result, a few per second at most on a site's 30 devices). The sequence counter lives in the same database
(`meta.last_seq`), updated in the transaction that inserts the row, so a seq is never assigned twice, even
after `kill -9` or a power cut; the gap between a PUBACK and its `acknowledge` commit is the one place a
result may be sent twice, with the same seq, which the office ingests once.

Bounds: `max_bytes` (the payloads' total size; the file is somewhat larger: pages, indexes, the WAL until its
checkpoint) and `max_age_s` (by the time the result was polled). When one is exceeded, the oldest results not
in flight are deleted, and each run of deleted seqs is recorded (`dropped`: from/to seq, from/to poll time,
count; a run that continues the previous one extends it) for the status message, forever: the office's
report says which period is missing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netmon import wire
from netmon.errors import ConfigError, StorageUnavailable
from netmon.model import PollResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, at REAL NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS dropped (from_seq INTEGER PRIMARY KEY, to_seq INTEGER NOT NULL, from_at REAL NOT NULL,
                                    to_at REAL NOT NULL, count INTEGER NOT NULL, dropped_at REAL NOT NULL);
"""


@dataclass(frozen=True)
class OutboxBounds:
    max_bytes: int = 256 * 1024 * 1024
    max_age_s: float = 7 * 86400.0


@dataclass(frozen=True)
class Pending:
    seq: int
    at: float  # when the result was polled
    payload: bytes


class ResultOutbox:
    def __init__(self, path: Path, agent: str, bounds: OutboxBounds = OutboxBounds(), *,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.agent = agent
        self.bounds = bounds
        self._clock = clock
        self._in_flight = 0  # results up to this seq are being sent: the bound leaves them alone
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None)  # autocommit; transactions are explicit
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"agent outbox {path}: {exc}") from exc
        self._claim()
        self._reload()

    def _reload(self) -> None:
        """What the database holds (at open, and after a transaction failed half-way in memory)."""
        self._bytes, self._depth = self._db.execute(
            "SELECT COALESCE(SUM(LENGTH(payload)), 0), COUNT(*) FROM outbox").fetchone()
        self.last_seq = int(self._meta("last_seq") or 0)
        self._dropped = [wire.DroppedRange(*row) for row in self._db.execute(
            "SELECT from_seq, to_seq, from_at, to_at, count FROM dropped ORDER BY from_seq")]

    def _claim(self) -> None:
        """A new database is this agent's; an existing one must be (its sequence numbers are the agent's)."""
        owner = self._meta("agent")
        if owner is None:
            with self._transaction():
                self._db.execute("INSERT INTO meta VALUES ('agent', ?), ('created_at', ?), ('last_seq', '0')",
                                 (self.agent, repr(self._clock())))
        elif owner != self.agent:
            raise ConfigError(f"the outbox {self.path} belongs to agent {owner!r}, not {self.agent!r}: give this "
                              "agent its own outbox path (docs/agent.md, replacing an agent box)", file=str(self.path),
                              key="agent.id")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self.path)

    # --- the agent's side ------------------------------------------------------------------------------------

    def put(self, result: PollResult) -> int:
        """Store `result` under the next sequence number and apply the bounds; durable when it returns."""
        seq = self.last_seq + 1
        payload = wire.encode(self.agent, seq, result)
        try:
            with self._transaction():
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (str(seq),))
                self._db.execute("INSERT INTO outbox VALUES (?, ?, ?)", (seq, result.started_at, payload))
                self._bytes += len(payload)
                self._depth += 1
                self._trim()
        except StorageUnavailable:
            self._reload()
            raise
        self.last_seq = seq
        return seq

    def trim(self) -> None:
        """Apply the age bound now (the agent calls it periodically; `put` applies both bounds)."""
        try:
            with self._transaction():
                self._trim()
        except StorageUnavailable:
            self._reload()
            raise

    def _trim(self) -> None:
        cut = self._cut()
        if cut is None:
            return
        from_seq, to_seq, from_at, to_at, count, size = self._db.execute(
            "SELECT MIN(seq), MAX(seq), MIN(at), MAX(at), COUNT(*), SUM(LENGTH(payload)) FROM outbox "
            "WHERE seq > ? AND seq <= ?", (self._in_flight, cut)).fetchone()
        if not count:
            return
        self._db.execute("DELETE FROM outbox WHERE seq > ? AND seq <= ?", (self._in_flight, cut))
        self._bytes -= size
        self._depth -= count
        self._record_drop(wire.DroppedRange(from_seq, to_seq, from_at, to_at, count))

    def _cut(self) -> int | None:
        """The highest seq to drop so that both bounds hold again (None: they hold). Results in flight are
        not dropped: the size bound may be exceeded by the batch being sent until its PUBACKs."""
        cut: int | None = None
        row = self._db.execute("SELECT MAX(seq) FROM outbox WHERE seq > ? AND at < ?",
                               (self._in_flight, self._clock() - self.bounds.max_age_s)).fetchone()
        if row[0] is not None:
            cut = int(row[0])
        excess = self._bytes - self.bounds.max_bytes
        if excess > 0:
            freed = 0
            for seq, size in self._db.execute("SELECT seq, LENGTH(payload) FROM outbox WHERE seq > ? ORDER BY seq",
                                              (self._in_flight,)):
                freed += size
                if freed >= excess:
                    cut = max(cut or 0, int(seq))
                    break
        return cut

    def _record_drop(self, run: wire.DroppedRange) -> None:
        last = self._dropped[-1] if self._dropped else None
        if last is not None and last.to_seq + 1 == run.from_seq:  # continues the last run: one range
            run = wire.DroppedRange(last.from_seq, run.to_seq, last.from_at, run.to_at, last.count + run.count)
            self._dropped[-1] = run
        else:
            self._dropped.append(run)
        self._db.execute("INSERT OR REPLACE INTO dropped VALUES (?, ?, ?, ?, ?, ?)",
                         (run.from_seq, run.to_seq, run.from_at, run.to_at, run.count, self._clock()))

    # --- the sender's side -----------------------------------------------------------------------------------

    def take(self, limit: int) -> list[Pending]:
        """The oldest `limit` results, marked in flight until `acknowledge` or `release`."""
        rows = [Pending(int(seq), float(at), bytes(payload)) for seq, at, payload in self._db.execute(
            "SELECT seq, at, payload FROM outbox ORDER BY seq LIMIT ?", (limit,))]
        if rows:
            self._in_flight = rows[-1].seq
        return rows

    def acknowledge(self, through: int) -> None:
        """The broker acknowledged every result up to seq `through`: delete them."""
        with self._transaction():
            size, count = self._db.execute("SELECT COALESCE(SUM(LENGTH(payload)), 0), COUNT(*) FROM outbox "
                                           "WHERE seq <= ?", (through,)).fetchone()
            self._db.execute("DELETE FROM outbox WHERE seq <= ?", (through,))
            self._bytes -= size
            self._depth -= count
        self._in_flight = 0

    def release(self) -> None:
        self._in_flight = 0

    # --- what the status and the metrics say -----------------------------------------------------------------

    @property
    def depth(self) -> int:
        return int(self._depth)

    @property
    def size_bytes(self) -> int:
        return int(self._bytes)

    @property
    def oldest_at(self) -> float | None:
        row = self._db.execute("SELECT at FROM outbox ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    @property
    def dropped(self) -> tuple[wire.DroppedRange, ...]:
        return tuple(self._dropped)

    @property
    def dropped_total(self) -> int:
        return sum(d.count for d in self._dropped)

    def status(self, *, online: bool) -> wire.AgentStatus:
        return wire.AgentStatus(agent=self.agent, at=self._clock(), online=online, last_seq=self.last_seq,
                                backlog_depth=self.depth, backlog_oldest_at=self.oldest_at, dropped=self.dropped)

    def close(self) -> None:
        self._db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an error); SQLite's errors become StorageUnavailable."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"agent outbox {self._path}: {exc}") from exc

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if kind is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error as error:
                self._db.execute("ROLLBACK")
                raise StorageUnavailable(f"agent outbox {self._path}: {error}") from error
        self._db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StorageUnavailable(f"agent outbox {self._path}: {exc}") from exc
