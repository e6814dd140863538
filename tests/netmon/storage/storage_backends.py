"""The two real databases the storage tests run against: a temporary SQLite file and a fresh PostgreSQL
database on 127.0.0.1:5432 (user postgres, created per test, dropped after). PostgreSQL missing is a loud
skip, a failure under CI=true (peers.require)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from peers import pg_admin, postgres_database

from netmon.storage import Store


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    dbname: str | None = None  # PostgreSQL database
    path: Path | None = None  # SQLite file

    def open(self) -> Store:
        return Store.open(self.url, busy_timeout_s=0.2, connect_timeout_s=2)

    def upgraded(self) -> Store:
        store = self.open()
        store.upgrade()
        return store

    @contextlib.contextmanager
    def away(self) -> Iterator[None]:
        """The database refuses writes inside the block: SQLite locked by another connection's exclusive
        transaction; PostgreSQL closed to connections with its sessions terminated."""
        if self.path is not None:
            holder = sqlite3.connect(self.path, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            return
        with pg_admin() as admin:
            admin.execute(f'ALTER DATABASE "{self.dbname}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                          (self.dbname,))
            try:
                yield
            finally:
                admin.execute(f'ALTER DATABASE "{self.dbname}" ALLOW_CONNECTIONS true')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "netmon.sqlite3"
        yield Backend("sqlite", f"sqlite:///{path}", path=path)
        return
    with postgres_database() as (dbname, url):
        yield Backend("postgresql", url, dbname=dbname)
