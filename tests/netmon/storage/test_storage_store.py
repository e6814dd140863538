"""Store against real SQLite and PostgreSQL: migrations, inventory, idempotent writes, reads, retention."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from storage_backends import Backend, backend

from netmon.model import (
    AssetRecord,
    Cause,
    Contact,
    Device,
    DeviceState,
    Outage,
    Owner,
    Reboot,
    Role,
    Site,
    Source,
    StateChange,
    Status,
    StoredDiscovery,
)
from netmon.storage import DailyUniques, Heartbeat, HourlyRollup, UnknownSpan, write
from netmon.storage import schema as t

__all__ = ["backend"]

T0 = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC


def site(id: str = "kim-ketenger", name: str = "KIM Ketenger") -> Site:
    return Site(id, name, "Ketenger", "Baturraden", "Banyumas", -7.38, 109.23, Contact("Bu Sri", "0812", None))


def device(id: str = "ketenger-ap", site_id: str = "kim-ketenger", serial: str = "SN1") -> Device:
    return Device(id, site_id, Role.AP, "10.0.0.2", (Source.SNMP, Source.PING), Owner.PEMDA,
                  AssetRecord("2.06.02.01.003", "0001", serial, "cAP ac", 2023, 2_500_000), "mikrotik", "r1")


def test_upgrade_from_empty_creates_the_schema_the_code_expects(backend: Backend) -> None:
    store = backend.upgraded()
    store.upgrade()  # idempotent
    engine = sa.create_engine(backend.url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), t.metadata)
    engine.dispose()
    assert set(t.metadata.tables) | {"alembic_version"} == tables
    assert diff == []
    store.close()


def test_device_state_table_has_a_column_for_every_field() -> None:
    assert {f.name for f in dataclasses.fields(DeviceState)} == set(t.device_state.c.keys())


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from netmon.storage import Store

    store = Store.open(f"sqlite:///{tmp_path / 'x.sqlite3'}", busy_timeout_s=1.5)
    with store._engine.connect() as conn:  # the connection setup itself
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_inventory_sync_adds_updates_retires_and_unretires(backend: Backend) -> None:
    store = backend.upgraded()
    store.sync_inventory({"kim-ketenger": site()}, {"ketenger-ap": device(), "ketenger-rt": device("ketenger-rt")},
                         T0)
    rows = {r.device.id: r for r in store.state_rows()}
    assert set(rows) == {"ketenger-ap", "ketenger-rt"}
    assert rows["ketenger-ap"].device == device()
    assert rows["ketenger-ap"].site == site()

    store.sync_inventory({"kim-ketenger": site(name="KIM Ketenger Baru")}, {"ketenger-ap": device(serial="SN2")},
                         T0 + 60)
    rows = {r.device.id: r for r in store.state_rows()}
    assert set(rows) == {"ketenger-ap"}  # rt retired
    assert rows["ketenger-ap"].device.asset.serial == "SN2"
    assert rows["ketenger-ap"].site.name == "KIM Ketenger Baru"
    with sa.create_engine(backend.url).connect() as conn:
        rt = conn.execute(sa.select(t.devices).where(t.devices.c.id == "ketenger-rt")).one()
        ap = conn.execute(sa.select(t.devices).where(t.devices.c.id == "ketenger-ap")).one()
    assert rt.retired_at == T0 + 60 and rt.first_seen_at == T0
    assert ap.updated_at == T0 + 60 and ap.first_seen_at == T0 and ap.retired_at is None

    store.close()
    store = backend.open()  # a restart, then the router comes back
    store.sync_inventory({"kim-ketenger": site()}, {"ketenger-ap": device(), "ketenger-rt": device("ketenger-rt")},
                         T0 + 120)
    assert {r.device.id for r in store.state_rows()} == {"ketenger-ap", "ketenger-rt"}
    with sa.create_engine(backend.url).connect() as conn:
        rt = conn.execute(sa.select(t.devices).where(t.devices.c.id == "ketenger-rt")).one()
    assert rt.retired_at is None and rt.first_seen_at == T0
    store.close()


def test_outage_upserts_are_idempotent_across_restarts(backend: Backend) -> None:
    opened = Outage("ketenger-ap:1750000000", "ketenger-ap", "kim-ketenger", T0, Cause.DEVICE)
    reclassified = dataclasses.replace(opened, cause=Cause.SITE)
    closed = dataclasses.replace(reclassified, ended_at=T0 + 600, status=Status.DOWN)

    store = backend.upgraded()
    store.write([opened])
    store.write([opened])
    assert store.load_open_outages() == [opened]
    store.close()

    store = backend.open()  # restart: the state machine re-emits what it had, then moves on
    store.write([opened, reclassified])
    assert store.load_open_outages() == [reclassified]
    store.write([closed])
    store.close()

    store = backend.open()  # restart: a spool replay re-sends the old "opened" record
    store.write([opened, reclassified, closed, opened])
    assert store.load_open_outages() == []
    assert store.outages() == [dataclasses.replace(closed, cause=Cause.DEVICE)]  # cause: last written
    store.write([closed])
    assert store.outages() == [closed]
    assert store.outages(device="other") == []
    assert store.outages(since=T0 + 601) == []
    assert store.outages(since=T0 + 600) == [closed]
    store.close()


def test_a_start_of_many_devices_is_written_as_one_by_one_would_be(backend: Backend) -> None:
    """The frequent records (state changes, device states, discoveries) go in runs, many rows per statement
    (netmon.storage.write.write_many): more devices than one statement takes, a key written twice in a run
    (the last wins, as one by one), a state change re-sent (ignored), and the runs interleaved."""
    ids = [f"ap{i:04d}" for i in range(write.MANY_CHUNK + 200)]
    first = [StateChange(d, Status.UNKNOWN, Status.UP, T0 + i, "first poll") for i, d in enumerate(ids)]
    states = [DeviceState(d, Status.UP, T0 + i, consecutive_successes=1) for i, d in enumerate(ids)]
    found = [StoredDiscovery(d, Source.SNMP, T0, "a" * 64, '{"v":1}') for d in ids]
    down = StateChange(ids[0], Status.UP, Status.DOWN, T0 + 900, "3 failed polls")
    later = [dataclasses.replace(states[0], status=Status.DOWN, since=T0 + 900, consecutive_successes=0,
                                 consecutive_failures=3),
             dataclasses.replace(states[1], last_error="DeviceUnreachable: timeout")]
    again = StoredDiscovery(ids[2], Source.SNMP, T0 + 60, "b" * 64, '{"v":1,"again":true}')
    store = backend.upgraded()
    store.write([*first, first[5], *states, *later, states[2], *found, again, down, *found[:3]])
    assert store.state_changes() == sorted([*first, down], key=lambda c: (c.at, c.device))
    assert {s.device: s for s in store.load_states()} == {s.device: s for s in [*states, *later]}
    discoveries = {d.device: d for d in store.load_discoveries(Source.SNMP)}
    assert len(discoveries) == len(ids) and discoveries[ids[2]] == found[2]  # re-written after `again`: last wins
    store.write([again])
    assert {d.device: d for d in store.load_discoveries(Source.SNMP)}[ids[2]] == again
    store.close()


def migrate(engine: sa.Engine, direction: str, revision: str) -> None:
    """Run Alembic to `revision` the way `Store.upgrade` does (an open connection handed to env.py)."""
    from alembic import command
    from alembic.config import Config

    from netmon.storage.store import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, direction)(config, revision)


def test_outage_spans_of_one_episode_keep_detection_time_and_episode(backend: Backend) -> None:
    """A site span closed where the router came back and the AP's own span that continues the episode."""
    site_span = Outage("o1", "ketenger-ap", "kim-ketenger", T0, Cause.SITE, detected_at=T0 + 140, episode="o1")
    closed = dataclasses.replace(site_span, ended_at=T0 + 1200)
    own = Outage("o2", "ketenger-ap", "kim-ketenger", T0 + 1200, Cause.DEVICE, detected_at=T0 + 1380, episode="o1")
    store = backend.upgraded()
    store.write([site_span])
    store.write([closed, own])
    store.write([dataclasses.replace(closed, detected_at=None, episode=None)])  # an older spool line: kept
    assert store.load_open_outages() == [own]
    assert store.outages(device="ketenger-ap") == [closed, own]
    store.close()


def test_migration_0004_keeps_rows_written_before_it(backend: Backend) -> None:
    """Upgrade a database at 0002 (before discovery and spans) holding an outage: new columns are NULL."""
    engine = sa.create_engine(backend.url)
    migrate(engine, "upgrade", "0002")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO outages (id, device, site, started_at, ended_at, cause, status) "
                             "VALUES ('old', 'ketenger-ap', 'kim-ketenger', :t, NULL, 'device', 'down')"), {"t": T0})
    engine.dispose()
    store = backend.upgraded()
    assert store.load_open_outages() == [Outage("old", "ketenger-ap", "kim-ketenger", T0, Cause.DEVICE)]
    store.close()
    engine = sa.create_engine(backend.url)
    migrate(engine, "downgrade", "0002")
    with engine.connect() as conn:
        assert "episode" not in {c["name"] for c in sa.inspect(conn).get_columns("outages")}
    engine.dispose()


def test_states_round_trip_and_the_newest_write_wins(backend: Backend) -> None:
    store = backend.upgraded()
    up = DeviceState("ketenger-ap", Status.UP, T0, 0, 5, None, T0 + 60, 3600.5, T0 + 60, None)
    down = DeviceState("ketenger-ap", Status.DOWN, T0 + 200, 3, 0, "DeviceUnreachable: timeout", T0 + 60,
                       3600.5, T0 + 60, T0 + 100)
    other = DeviceState("ketenger-rt", Status.UNKNOWN, T0)
    store.write([up, other, down])
    store.close()
    store = backend.open()
    assert store.load_states() == [down, other]
    store.close()


def test_state_changes_are_appended_once(backend: Backend) -> None:
    store = backend.upgraded()
    changes = [StateChange("ap", Status.UNKNOWN, Status.UP, T0, "first poll"),
               StateChange("ap", Status.UP, Status.DOWN, T0 + 180, "3 failed polls"),
               StateChange("ap", Status.DOWN, Status.UP, T0 + 400)]
    store.write(changes)
    store.write(changes[1:])
    assert store.state_changes() == changes
    store.close()


def test_reboots_are_unique_per_device_and_boot_time(backend: Backend) -> None:
    store = backend.upgraded()
    store.write([Reboot("ap", T0, T0 + 65), Reboot("ap", T0 + 1.7, T0 + 125), Reboot("ap", T0 + 31, T0 + 185),
                 Reboot("rt", T0, T0 + 65)])
    store.write([Reboot("ap", T0 - 2, T0 + 245), Reboot("ap", T0 + 7200, T0 + 7260)])
    assert store.reboots("ap") == [Reboot("ap", T0, T0 + 65), Reboot("ap", T0 + 7200, T0 + 7260)]
    assert len(store.reboots()) == 3
    store.close()


def test_daily_uniques_unknown_spans_and_heartbeat_keep_the_largest(backend: Backend) -> None:
    store = backend.upgraded()
    assert store.last_heartbeat() is None
    day = date(2025, 6, 15)
    store.write([DailyUniques("kim-ketenger", day, 40), Heartbeat(T0 + 10), UnknownSpan(T0 - 500, T0 - 100)])
    store.write([DailyUniques("kim-ketenger", day, 35), DailyUniques("kim-ketenger", day, 52),
                 Heartbeat(T0 + 5), UnknownSpan(T0 - 500, T0 - 50), UnknownSpan(T0 - 500, T0 - 300)])
    assert store.last_heartbeat() == T0 + 10
    assert store.unknown_spans() == [UnknownSpan(T0 - 500, T0 - 50)]
    with sa.create_engine(backend.url).connect() as conn:
        assert conn.execute(sa.select(t.daily_uniques.c.count)).scalar_one() == 52
    store.close()


def rollup(hour: float, first: float, last: float, ok: int, wifi: tuple[float, float, float, int],
           bytes_in: int | None) -> HourlyRollup:
    return HourlyRollup("ap", hour, ok, 0, first, last, wifi[0], wifi[1], wifi[2], wifi[3],
                        bytes_in=bytes_in, temperature_max=40.0 + ok)


def test_hourly_rollup_segments_merge_and_rewrites_do_not_count_twice(backend: Backend) -> None:
    hour = 1_750_003_200.0
    a = rollup(hour, hour + 10, hour + 1200, 20, (2, 4, 6, 20), 1000)
    b = rollup(hour, hour + 1500, hour + 3590, 10, (1, 10, 12, 10), None)
    store = backend.upgraded()
    store.write([a, a])
    store.write([b])
    store.write([a, b])
    [row] = store.rollups()
    assert (row.polls_ok, row.first_poll_at, row.last_poll_at) == (30, hour + 10, hour + 3590)
    assert (row.wifi_clients_min, row.wifi_clients_avg, row.wifi_clients_max, row.wifi_clients_n) == (1, 6, 12, 30)
    assert (row.bytes_in, row.temperature_max) == (1000, 60.0)
    store.close()


def test_prune_deletes_old_rollups_and_keeps_raw_history(backend: Backend) -> None:
    now = T0 + 800 * 86400
    store = backend.upgraded()
    old, recent = now - 761 * 86400, now - 10 * 86400
    store.write([rollup(old, old, old + 60, 1, (0, 0, 0, 1), 5),
                 rollup(recent, recent, recent + 60, 1, (0, 0, 0, 1), 5),
                 DailyUniques("s", date(2023, 1, 1), 3), DailyUniques("s", date(2027, 8, 1), 3),
                 StateChange("ap", Status.UP, Status.DOWN, old),
                 Outage("o1", "ap", "s", old, Cause.SITE, ended_at=old + 1), Reboot("ap", old, old + 60)])
    assert store.prune(now, 760) == 2
    assert [r.hour_start for r in store.rollups()] == [recent]
    assert len(store.state_changes()) == 1 and len(store.outages()) == 1 and len(store.reboots()) == 1
    assert store.prune(now, 760) == 0
    store.close()


def test_status_rows_join_site_state_and_open_outage(backend: Backend) -> None:
    store = backend.upgraded()
    store.sync_inventory({"kim-ketenger": site()}, {"ketenger-ap": device(), "ketenger-rt": device("ketenger-rt")},
                         T0)
    down = DeviceState("ketenger-ap", Status.DOWN, T0 + 200, 3)
    outage = Outage("x", "ketenger-ap", "kim-ketenger", T0 + 200, Cause.DEVICE)
    store.write([down, outage, Outage("y", "ketenger-rt", "kim-ketenger", T0, Cause.SITE, ended_at=T0 + 5)])
    rows = store.state_rows()
    assert [(r.device.id, r.state, r.open_outage) for r in rows] == [("ketenger-ap", down, outage),
                                                                     ("ketenger-rt", None, None)]
    store.close()


def test_an_unmigrated_database_is_unavailable_not_rejected(backend: Backend) -> None:
    from netmon.storage import StorageUnavailable

    store = backend.open()
    with pytest.raises(StorageUnavailable):
        store.write([Heartbeat(T0)])
    store.close()
