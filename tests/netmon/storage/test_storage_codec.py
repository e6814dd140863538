"""Spool codec round trips and database URL resolution."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from netmon.config.schema import StorageConfig
from netmon.errors import ConfigError, StorageError
from netmon.model import Cause, DeviceState, Outage, Reboot, Source, StateChange, Status, StoredDiscovery
from netmon.storage import DailyUniques, Heartbeat, HourlyRollup, UnknownSpan, database_url
from netmon.storage.codec import decode, encode
from netmon.storage.url import announce_database

RECORDS = [
    StateChange("ap", Status.UNKNOWN, Status.UP, 1.5, "first poll"),
    DeviceState("ap", Status.DOWN, 2.0, 3, 0, "DeviceUnreachable: timeout", 1.0, 3600.25, 1.0, 1.5),
    Outage("ap:2", "ap", "kim", 2.0, Cause.PARENT, Status.DEGRADED, 9.0),
    Outage("ap:3", "ap", "kim", 3.0, Cause.MAINTENANCE),
    Reboot("ap", 100.0, 160.0),
    HourlyRollup("ap", 3600.0, 58, 2, 3601.0, 7199.0, 1.0, 2.5, 4.0, 58, None, None, None, 0, 10**12, 5, 51.5, 23.9),
    DailyUniques("kim", date(2025, 6, 15), 41),
    UnknownSpan(10.0, 20.0),
    Heartbeat(1_750_000_000.125),
    StoredDiscovery("ap", Source.SNMP, 1_750_000_000.5, "ab" * 32, '{"v":1,"identity":{"model":"cAP ac"}}'),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_every_record_round_trips_through_one_json_line(record: object) -> None:
    line = encode(record)  # type: ignore[arg-type]
    assert "\n" not in line
    again = decode(line)
    assert again == record and type(again) is type(record)


def test_whole_number_times_come_back_as_floats() -> None:
    assert isinstance(decode('{"type":"heartbeat","at":5}').at, float)  # type: ignore[union-attr]


@pytest.mark.parametrize("line", ['{"type":"nope"}', "not json", '{"type":"heartbeat"}', '{"type":"outage","id":1}'])
def test_undecodable_lines_raise_storage_error(line: str) -> None:
    with pytest.raises(StorageError):
        decode(line)


def test_url_from_environment_wins_over_config(tmp_path: Path) -> None:
    config = StorageConfig(database_url="sqlite:////elsewhere.db", data_dir=str(tmp_path / "d"))
    env = {"NETMON_DATABASE_URL": "postgresql://netmon:pw@db/netmon"}
    assert database_url(config, env) == "postgresql+psycopg://netmon:pw@db/netmon"
    assert database_url(config, {"NETMON_DATABASE_URL": ""}) == "sqlite:////elsewhere.db"
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(("env", "configured", "said"), [
    ({"NETMON_DATABASE_URL": "postgresql://netmon:s3cret-db@db/netmon"}, None,
     "storage: database postgresql+psycopg://netmon:***@db/netmon (from NETMON_DATABASE_URL)"),
    ({}, "postgres://netmon:s3cret-db@127.0.0.1:5432/netmon",
     "storage: database postgresql+psycopg://netmon:***@127.0.0.1:5432/netmon (from storage.database_url)"),
    ({}, None, "storage: database sqlite:///{tmp}/d/netmon.sqlite3 (the default SQLite file in storage.data_dir)"),
], ids=["environment", "config", "default"])
def test_the_database_in_use_is_logged_once_with_the_password_hidden(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, env: dict[str, str], configured: str | None,
        said: str) -> None:
    caplog.set_level(logging.INFO, logger="netmon.storage")
    config = StorageConfig(database_url=configured, data_dir=str(tmp_path / "d"))
    announce_database(database_url(config, env), config, env)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [said.format(tmp=tmp_path)]
    assert "s3cret-db" not in caplog.text


def test_default_url_is_sqlite_in_a_created_data_dir(tmp_path: Path) -> None:
    config = StorageConfig(data_dir=str(tmp_path / "data" / "netmon"))
    assert database_url(config, {}) == f"sqlite:///{tmp_path}/data/netmon/netmon.sqlite3"
    assert (tmp_path / "data" / "netmon").is_dir()


def test_unsupported_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported"):
        database_url(StorageConfig(database_url="mysql://u:secret@h/db", data_dir=str(tmp_path)), {})
