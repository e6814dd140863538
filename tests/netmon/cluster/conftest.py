from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_database import Database, migrated_database


@pytest.fixture
def database() -> Iterator[Database]:
    """A fresh PostgreSQL database at the newest schema, dropped after."""
    with migrated_database() as db:
        yield db
