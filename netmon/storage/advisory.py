"""With PostgreSQL, one daemon per deployment (database): a session-level advisory lock held on a connection
of its own for as long as the daemon runs. The connection's `application_name` names the holder (pid and host),
so a second daemon, from any host, can say who holds it."""

from __future__ import annotations

import hashlib
import os
import socket

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from netmon.errors import AlreadyRunning, safe_cause
from netmon.storage.store import StorageUnavailable, short_message
from netmon.storage.url import normalise, redact

HOLDER = "kim-netmon pid {pid} on {host}"
_HOLDER_QUERY = sa.text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid::bigint = :hi AND l.objid::bigint = :lo AND l.objsubid = 1")


def lock_key(database: str) -> int:
    """A stable signed 64-bit key for the deployment using `database`."""
    digest = hashlib.sha256(f"kim-netmon:{database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class DeploymentLock:
    """Held while the connection lives; `release` ends it (and so does the daemon's death)."""

    def __init__(self, engine: sa.Engine, conn: sa.Connection) -> None:
        self._engine = engine
        self._conn = conn

    @classmethod
    def acquire(cls, url: str) -> DeploymentLock | None:
        """The lock for a PostgreSQL `url` (None for SQLite: the data-directory lock covers it). Raises
        AlreadyRunning naming the holder, or StorageUnavailable when the database cannot be reached."""
        url = normalise(url)
        parsed = sa.make_url(url)
        if parsed.get_backend_name() != "postgresql":
            return None
        name = HOLDER.format(pid=os.getpid(), host=socket.gethostname())
        engine = sa.create_engine(url, poolclass=NullPool,
                                  connect_args={"connect_timeout": 5, "application_name": name})
        key = lock_key(parsed.database or "")
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                if conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                    return cls(engine, conn)
                holder = conn.execute(_HOLDER_QUERY, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}).scalar()
            except BaseException:
                conn.close()
                raise
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            secrets = (parsed.password,) if isinstance(parsed.password, str) else ()
            raise StorageUnavailable(f"cannot take the deployment lock on {redact(url)}: "
                                     f"{short_message(exc, secrets)}") from safe_cause(exc, secrets)
        conn.close()
        engine.dispose()
        raise AlreadyRunning(f"another netmon already runs for database {parsed.database} "
                             f"({holder or 'holder unknown'})")

    def release(self) -> None:
        self._conn.close()
        self._engine.dispose()
