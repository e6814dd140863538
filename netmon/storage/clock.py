"""The database's clock: what the cluster tables compare liveness and leases with, and what the shared outbox
journal stamps its items with (netmon.storage.cluster explains why never a node's own clock)."""

from __future__ import annotations

import sqlalchemy as sa

_DB_NOW = {
    "postgresql": "(extract(epoch from statement_timestamp())::double precision)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


def database_now(engine: sa.Engine) -> sa.ColumnElement[float]:
    """The database's clock, as unix seconds, read by the statement that uses it."""
    return sa.literal_column(_DB_NOW[engine.dialect.name], sa.Double)
