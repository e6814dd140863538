"""Storage: SQLAlchemy 2 over SQLite or PostgreSQL, Alembic migrations, hourly rollups and a durable write
queue. The only package that imports SQLAlchemy and Alembic. See docs/storage.md."""

from netmon.storage.aggregate import DayBytes, PolledRun, SiteHours
from netmon.storage.queue import QueueStats, WriteQueue
from netmon.storage.record import AgentGap, DailyUniques, Heartbeat, HourlyRollup, Record, RollupTotals, UnknownSpan
from netmon.storage.rollup import RollupAccumulator
from netmon.storage.store import StatusRow, StorageRejected, StorageUnavailable, Store
from netmon.storage.url import announce_database, database_url

__all__ = [
    "AgentGap",
    "DailyUniques",
    "DayBytes",
    "Heartbeat",
    "HourlyRollup",
    "PolledRun",
    "QueueStats",
    "Record",
    "RollupAccumulator",
    "RollupTotals",
    "SiteHours",
    "StatusRow",
    "StorageRejected",
    "StorageUnavailable",
    "Store",
    "UnknownSpan",
    "WriteQueue",
    "announce_database",
    "database_url",
]
