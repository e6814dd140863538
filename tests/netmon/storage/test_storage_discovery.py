"""The `device_discovery` table against real SQLite and PostgreSQL: idempotent writes where the newest
discovery wins, reads by source, rows of retired devices dropped, and the migration of an existing database."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from storage_backends import Backend, backend
from test_storage_store import T0, device, site

from netmon.model import Source, StoredDiscovery
from netmon.storage import schema as t
from netmon.storage.store import MIGRATIONS

__all__ = ["backend"]

FIRST = StoredDiscovery("ketenger-ap", Source.SNMP, T0, "a" * 64, '{"v":1,"profile":"mikrotik"}')


def test_the_last_written_discovery_wins_and_rewrites_change_nothing(backend: Backend) -> None:
    later = dataclasses.replace(FIRST, discovered_at=T0 + 21600, fingerprint="b" * 64, payload='{"v":1}')
    other = StoredDiscovery("ketenger-ap", Source.ROUTEROS, T0, "c" * 64, "{}")
    store = backend.upgraded()
    store.write([FIRST, other])
    store.write([FIRST])
    assert store.load_discoveries(Source.SNMP) == [FIRST]
    store.write([later])
    store.write([later])
    assert store.load_discoveries(Source.SNMP) == [later]
    store.write([FIRST])  # made after the clock was set back: still the device's latest discovery
    assert store.load_discoveries(Source.SNMP) == [FIRST]
    assert store.load_discoveries(Source.ROUTEROS) == [other]
    store.close()


def test_retiring_a_device_drops_its_stored_discovery(backend: Backend) -> None:
    store = backend.upgraded()
    store.sync_inventory({"kim-ketenger": site()}, {"ketenger-ap": device(), "ketenger-rt": device("ketenger-rt")},
                         T0)
    kept = dataclasses.replace(FIRST, device="ketenger-rt")
    store.write([FIRST, kept])
    store.sync_inventory({"kim-ketenger": site()}, {"ketenger-rt": device("ketenger-rt")}, T0 + 60)
    assert store.load_discoveries(Source.SNMP) == [kept]
    store.close()


def test_a_database_of_the_previous_version_is_migrated_with_its_data(backend: Backend) -> None:
    engine = sa.create_engine(backend.url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.execute(sa.insert(t.heartbeat).values(id=1, at=T0))
    with engine.connect() as conn:
        assert "device_discovery" not in sa.inspect(conn).get_table_names()
    store = backend.open()
    store.upgrade()
    assert store.last_heartbeat() == T0
    store.write([FIRST])
    assert store.load_discoveries(Source.SNMP) == [FIRST]
    store.close()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
    engine.dispose()
