"""`database_url`: the tests that must hold on both backends run once on SQLite (a file in the test's tmp_path)
and once on a fresh PostgreSQL database (tests/peers.py `postgres_database`, dropped after)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'netmon.sqlite3'}"
        return
    with postgres_database() as (_name, url):
        yield url
