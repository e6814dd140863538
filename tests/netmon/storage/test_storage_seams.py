"""The SQLAlchemy adapter translates the database's errors at the seam: a real PostgreSQL refuses (no such
database), and the test checks our error class, that the server's words are kept, and that the URL's password
shows nowhere, in the message or the chained traceback."""

from __future__ import annotations

import traceback

import pytest
from peers import PG_HOST, PG_PORT, PG_USER, pg_admin, require

from netmon.errors import StorageUnavailable
from netmon.storage import Store
from netmon.storage.advisory import DeploymentLock

# in a constant: a traceback shows the test's source lines, which must not be what the check finds
PASSWORD = "pg-pass-90210"
URL = f"postgresql+psycopg://{PG_USER}:{PASSWORD}@{PG_HOST}:{PG_PORT}/netmon_no_such_database"


def shown(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


@pytest.fixture
def postgres() -> None:
    try:
        pg_admin().close()
    except Exception as exc:
        require(False, f"PostgreSQL not reachable at {PG_USER}@{PG_HOST}:{PG_PORT}: {exc}")


@pytest.mark.usefixtures("postgres")
def test_a_missing_database_is_storage_unavailable_with_the_servers_words() -> None:
    store = Store.open(URL, connect_timeout_s=5)
    try:
        with pytest.raises(StorageUnavailable) as caught:
            store.load_states()
    finally:
        store.close()

    assert str(caught.value).startswith("database unavailable: connection failed: ")
    assert 'database "netmon_no_such_database" does not exist' in str(caught.value)
    assert PASSWORD not in shown(caught.value)
    assert caught.value.__cause__ is not None  # the driver does not quote the password: chained


@pytest.mark.usefixtures("postgres")
def test_the_deployment_lock_on_a_missing_database_says_so_without_the_password() -> None:
    with pytest.raises(StorageUnavailable) as caught:
        DeploymentLock.acquire(URL)

    assert 'database "netmon_no_such_database" does not exist' in str(caught.value)
    assert f"{PG_USER}:***@" in str(caught.value)
    assert PASSWORD not in shown(caught.value)
