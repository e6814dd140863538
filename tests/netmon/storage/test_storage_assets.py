"""The asset register in storage (migration 0005), on SQLite and PostgreSQL: every KIB B field of a device
round-trips, inspections are kept as history, and the sums the condition rules read match the raw rows."""

from __future__ import annotations

import dataclasses
from datetime import date

import sqlalchemy as sa
from storage_backends import Backend, backend
from test_storage_store import T0, device, migrate, site

from netmon.model import AssetRecord, Condition, Inspection, Reboot, TimeZone
from netmon.storage import HourlyRollup, RollupTotals

__all__ = ["backend"]

FULL = AssetRecord(kode_barang="02.06.02.01.003", nomor_register="0001", serial="HG409XYZ", model="MikroTik hAP ac2",
                   year_acquired=2023, value_idr=2_750_000, name="Router", size="-", material="Plastik",
                   origin="Pembelian", remarks="APBD 2023", unit="Dinas Kominfo Kab. Banyumas")


def test_every_register_field_of_a_device_is_stored_and_read_back(backend: Backend) -> None:
    store = backend.upgraded()
    full = dataclasses.replace(device(), asset=FULL)
    store.sync_inventory({"kim-ketenger": site()}, {full.id: full}, T0)
    assert store.state_rows()[0].device == full
    changed = dataclasses.replace(full, asset=dataclasses.replace(FULL, remarks="dipindah", unit=None))
    store.sync_inventory({"kim-ketenger": site()}, {full.id: changed}, T0 + 60)
    assert store.state_rows()[0].device.asset == changed.asset
    store.close()


def test_migration_0005_keeps_devices_written_before_it(backend: Backend) -> None:
    engine = sa.create_engine(backend.url)
    migrate(engine, "upgrade", "0004")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO sites (id, name, desa, kecamatan, kabupaten, first_seen_at, updated_at) "
                             "VALUES ('kim-ketenger', 'KIM Ketenger', 'Ketenger', 'Baturraden', 'Banyumas', :t, :t)"),
                     {"t": T0})
        conn.execute(sa.text("INSERT INTO devices (id, site, role, address, sources, owner, interval_s, kode_barang, "
                             "serial, first_seen_at, updated_at) VALUES ('ap', 'kim-ketenger', 'ap', '10.0.0.2', "
                             "'snmp', 'pemda', 60, '02.06', 'SN1', :t, :t)"), {"t": T0})
    engine.dispose()
    store = backend.upgraded()
    assert store.state_rows()[0].device.asset == AssetRecord(kode_barang="02.06", serial="SN1")
    store.close()
    engine = sa.create_engine(backend.url)
    migrate(engine, "downgrade", "0004")
    with engine.connect() as conn:
        assert "inspections" not in sa.inspect(conn).get_table_names()
        assert "unit" not in {c["name"] for c in sa.inspect(conn).get_columns("devices")}
    engine.dispose()


def test_inspections_are_history_and_count_from_local_midnight_of_their_day(backend: Backend) -> None:
    store = backend.upgraded()
    first = Inspection("ap", date(2026, 11, 3), Condition.MINOR, "konektor longgar", "Budi", T0)
    second = Inspection("ap", date(2026, 11, 20), Condition.GOOD, "sudah diperbaiki", "Sri", T0 + 10)
    later_record_same_day = Inspection("ap", date(2026, 11, 20), Condition.MAJOR, "terbakar", "Sri", T0 + 20)
    other = Inspection("rt", date(2026, 11, 20), Condition.GOOD, "", "Budi", T0 + 5)
    for inspection in (second, first, later_record_same_day, other, first):  # `first` re-sent: kept once
        store.record_inspection(inspection, TimeZone.WITA)
    assert store.inspections() == [first, second, later_record_same_day, other]
    assert store.inspections("ap") == [first, second, later_record_same_day]
    # 20 November 00:00 WITA is 19 November 16:00 UTC
    midnight_20_wita = 1_795_132_800.0 - 8 * 3600
    assert store.inspections("ap", before=midnight_20_wita) == [first]
    assert store.inspections("ap", before=midnight_20_wita + 1) == [first, second, later_record_same_day]
    store.close()


def test_rollup_totals_sum_the_hours_of_the_period_per_device(backend: Backend) -> None:
    store = backend.upgraded()
    hours = [
        HourlyRollup("ap", T0 - 3600, 60, 0, T0 - 3600, T0 - 60, temperature_max=99.0),  # before the period
        HourlyRollup("ap", T0, 50, 10, T0, T0 + 3540, temperature_max=71.0, voltage_min=11.9),
        HourlyRollup("ap", T0 + 3600, 0, 60, T0 + 3600, T0 + 7140, temperature_max=None, voltage_min=None),
        HourlyRollup("ap", T0 + 7200, 30, 0, T0 + 7200, T0 + 9000, temperature_max=65.0, voltage_min=10.2),
        HourlyRollup("rt", T0, 0, 60, T0, T0 + 3540),
        HourlyRollup("rt", T0 + 10800, 60, 0, T0 + 10800, T0 + 14340),  # at the period's end: outside
    ]
    store.write(hours)
    totals = store.rollup_totals(T0, T0 + 10800, temperature_above=70.0, voltage_below=10.5)
    assert totals == {
        "ap": RollupTotals("ap", 80, 70, 71.0, 10.2, hot_hours=1, low_voltage_hours=1, last_ok_at=T0 + 9000),
        "rt": RollupTotals("rt", 0, 60, None, None, 0, 0, None),
    }
    assert store.rollup_totals(T0, T0 + 10800)["ap"].hot_hours == 0  # no threshold: nothing counted
    store.close()


def test_reboots_can_be_read_for_a_period(backend: Backend) -> None:
    store = backend.upgraded()
    boots = [Reboot("ap", T0 + i * 1000, T0 + i * 1000 + 30) for i in range(4)]
    store.write(boots)
    assert store.reboots(since=T0 + 1000, until=T0 + 3000) == boots[1:3]
    assert store.reboots("ap") == boots
    store.close()
