"""A fresh, migrated PostgreSQL database for the cluster tests (tests/peers.py `postgres_database`), and a way
to take it away from every node at once and bring it back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from peers import pg_admin, postgres_database

from netmon.storage import Store


@dataclass(frozen=True)
class Database:
    name: str
    url: str


@contextlib.contextmanager
def migrated_database() -> Iterator[Database]:
    with postgres_database() as (name, url):
        store = Store.open(url)
        store.upgrade()
        store.close()
        yield Database(name, url)


@contextlib.contextmanager
def database_away(db: Database) -> Iterator[None]:
    """No node can connect, and every open connection is ended, until the block ends."""
    with pg_admin() as admin:
        admin.execute(f'ALTER DATABASE "{db.name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db.name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{db.name}" ALLOW_CONNECTIONS true')
