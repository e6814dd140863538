"""StorageUpkeep and AckPickup alone, on a real SQLite database in a temporary directory: what `open()` reads
back for a restart, the timers of `tick(now)` on an injected clock, and acknowledgements picked up."""

from __future__ import annotations

import dataclasses
import socket
from datetime import date
from pathlib import Path

import pytest

from netmon.config.schema import StorageConfig
from netmon.model import Device, DeviceState, Incident, Owner, Role, Severity, Site, Source, Status
from netmon.storage import DailyUniques, Heartbeat, Record, Store, UnknownSpan, database_url
from netmon.storage.upkeep import ACKS_EVERY_S, HEARTBEAT_S, UNIQUES_EVERY_S, AckPickup, Restored, StorageUpkeep

T0 = 1_780_000_000.0
SITES = {"kim-a": Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")}
DEVICES = {"ap1": Device("ap1", "kim-a", Role.AP, "10.0.0.2", (Source.PING,), Owner.PEMDA)}
INCIDENT = Incident("inc-1", "device_down", "ap1", "device", Severity.CRITICAL, T0, Owner.PEMDA, "Banyumas",
                    "Baturraden", site="kim-a", device="ap1")


@pytest.fixture(autouse=True)
def _no_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETMON_DATABASE_URL", raising=False)


class Recording:
    """Stands in for the write queue: what would be written, in order."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def put(self, record: Record) -> None:
        self.records.append(record)


def write(settings: StorageConfig, records: list[Record]) -> None:
    store = Store.open(database_url(settings))
    try:
        store.upgrade()
        store.write(records)
    finally:
        store.close()


async def test_a_first_start_restores_nothing_and_stores_only_after_open(tmp_path: Path) -> None:
    settings = StorageConfig(data_dir=str(tmp_path))
    upkeep = StorageUpkeep(settings, SITES, DEVICES, clock=lambda: T0)
    upkeep.store(Heartbeat(T0))  # before open: dropped (`netmon poll --once`)
    assert upkeep.queue is None and upkeep.stats is None
    restored = await upkeep.open()
    assert restored == Restored(at=T0)
    assert upkeep.queue is not None and upkeep.stats is not None and upkeep.stats.depth == 0
    key = upkeep.discovery_key()
    assert key == upkeep.discovery_key() and (tmp_path / "discovery.key").exists()


async def test_a_restart_reads_back_states_open_incidents_and_the_gap_since_the_last_heartbeat(
        tmp_path: Path) -> None:
    settings = StorageConfig(data_dir=str(tmp_path))
    down = DeviceState("ap1", Status.DOWN, T0 - 600)
    write(settings, [down, INCIDENT, Heartbeat(T0 - 60)])
    upkeep = StorageUpkeep(settings, SITES, DEVICES, clock=lambda: T0)
    restored = await upkeep.open()
    assert [s.status for s in restored.states] == [Status.DOWN]
    assert [i.id for i in restored.incidents] == ["inc-1"]
    assert restored.last_heartbeat == T0 - 60
    assert upkeep.queue is not None and upkeep.queue.stats.depth == 1  # the UnknownSpan of the gap
    await upkeep.queue.drain(10.0)
    store = Store.open(database_url(settings))
    try:
        assert store.last_heartbeat() == T0 - 60
    finally:
        store.close()


async def test_a_database_away_at_start_restores_nothing_and_queues_writes(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = StorageConfig(data_dir=str(tmp_path), database_url=f"postgresql://netmon@127.0.0.1:{port}/netmon")
    upkeep = StorageUpkeep(settings, SITES, DEVICES, clock=lambda: T0)
    assert await upkeep.open() == Restored()
    assert upkeep.queue is not None
    upkeep.store(Heartbeat(T0))
    assert upkeep.queue.stats.depth == 1
    await upkeep.queue.drain(0.5)


async def test_tick_stores_heartbeats_and_daily_uniques_on_their_own_periods(tmp_path: Path) -> None:
    day = date(2026, 5, 12)
    upkeep = StorageUpkeep(StorageConfig(data_dir=str(tmp_path)), SITES, DEVICES,
                           daily_uniques=lambda: [("kim-a", day, 7)], clock=lambda: T0)
    recording = Recording()
    upkeep.queue = recording  # type: ignore[assignment]
    for step in range(0, 601, 5):
        await upkeep.tick(T0 + step)
    beats = [r.at for r in recording.records if isinstance(r, Heartbeat)]
    uniques = [r for r in recording.records if isinstance(r, DailyUniques)]
    assert beats == [T0 + n * HEARTBEAT_S for n in range(int(600 // HEARTBEAT_S) + 1)]
    assert len(uniques) == int(600 // UNIQUES_EVERY_S) + 1 and uniques[0] == DailyUniques("kim-a", day, 7)
    upkeep.final(T0 + 601)
    assert recording.records[-1] == Heartbeat(T0 + 601)
    assert not any(isinstance(r, UnknownSpan) for r in recording.records)


async def test_acknowledgements_in_storage_reach_the_alerts_once_storage_is_open(tmp_path: Path) -> None:
    settings = StorageConfig(data_dir=str(tmp_path))
    write(settings, [dataclasses.replace(INCIDENT, acknowledged_at=T0 + 30, acknowledged_by="Budi")])
    upkeep = StorageUpkeep(settings, SITES, DEVICES, clock=lambda: T0)
    got: list[tuple[list[str], float]] = []
    acks = AckPickup(upkeep, lambda: {"inc-1"}, lambda incidents, now: got.append(([i.id for i in incidents], now)))
    await acks.tick(T0 + 60)
    assert got == []  # storage not open yet
    await upkeep.open()
    await acks.tick(T0 + 70)
    await acks.tick(T0 + 70 + ACKS_EVERY_S / 2)  # not due yet
    assert got == [(["inc-1"], T0 + 70)]
    assert upkeep.queue is not None
    await upkeep.queue.drain(10.0)



async def test_a_checkpoint_writes_the_running_hours_rollups_so_far_and_they_add_up_in_the_database(
        tmp_path: Path) -> None:
    """A cluster's leader (checkpoint_s set) writes the running hour's rollups as it goes: a kill -9 loses at
    most one checkpoint's worth; written pieces of one hour add up to the hour."""
    from netmon.model import PollResult
    from netmon.storage import HourlyRollup

    settings = StorageConfig(data_dir=str(tmp_path))
    hour = T0 - T0 % 3600
    upkeep = StorageUpkeep(settings, SITES, DEVICES, clock=lambda: hour)
    upkeep.checkpoint_s = 300.0
    recording = Recording()
    upkeep.queue = recording  # type: ignore[assignment]
    for minute in range(30):
        at = hour + 60 * minute + 1
        upkeep.observe(PollResult("ap1", Source.PING, at, 0.1))
        await upkeep.tick(at + 1)
    pieces = [r for r in recording.records if isinstance(r, HourlyRollup)]
    assert len(pieces) == 5 and all(r.hour_start == hour for r in pieces)  # at 5, 10, 15, 20 and 25 minutes
    assert sum(r.polls_ok for r in pieces) == 26  # the polls up to the last checkpoint; the rest still open
    write(settings, pieces)
    store = Store.open(database_url(settings))
    try:
        [stored] = [r for r in store.rollups() if r.device == "ap1"]
    finally:
        store.close()
    assert (stored.polls_ok, stored.first_poll_at, stored.last_poll_at) == (26, hour + 1, hour + 60 * 25 + 1)


async def test_a_new_leader_rereads_what_the_last_one_left_and_a_recent_heartbeat_is_no_gap(tmp_path: Path) -> None:
    settings = StorageConfig(data_dir=str(tmp_path))
    down = DeviceState("ap1", Status.DOWN, T0 - 600)
    write(settings, [down, INCIDENT, Heartbeat(T0 - HEARTBEAT_S - 5)])
    upkeep = StorageUpkeep(settings, SITES, DEVICES, clock=lambda: T0)
    await upkeep.open()
    recording = Recording()
    upkeep.queue = recording  # type: ignore[assignment]
    restored = await upkeep.reread(unknown_after_s=10.0)
    assert [s.status for s in restored.states] == [Status.DOWN] and [i.id for i in restored.incidents] == ["inc-1"]
    assert recording.records == []  # the last leader's heartbeat is recent: nobody was missing
    later = StorageUpkeep(settings, SITES, DEVICES, clock=lambda: T0 + 600)
    later.queue = recording  # type: ignore[assignment]
    await later.reread(unknown_after_s=10.0)
    assert recording.records == [UnknownSpan(T0 - HEARTBEAT_S - 5, T0 + 600)]  # nobody led for ten minutes
