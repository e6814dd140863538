"""The synchronous repository over SQLite or PostgreSQL. Blocking: the daemon calls it through `WriteQueue`
(in a worker thread); the CLI calls it directly.

Library errors are translated at this seam: `StorageUnavailable` (the database is down, locked, unwritable or
not migrated: retry later) and `StorageRejected` (this data cannot be written: retrying will not help), of which
`StorageFenced`: a leader's records whose write fence no longer holds (`Store.write`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from netmon.cluster.record import LEADER, WriteFence
from netmon.errors import StorageFenced, StorageRejected, StorageUnavailable, library_message, safe_cause
from netmon.errors import redact as redact_secrets
from netmon.model import (
    Device,
    DeviceState,
    Incident,
    Inspection,
    Outage,
    Reboot,
    Site,
    Source,
    StateChange,
    StoredDiscovery,
    Ticket,
    TimeZone,
)
from netmon.storage import aggregate
from netmon.storage import schema as t
from netmon.storage import write as w
from netmon.storage.aggregate import DayBytes, PolledRun, SiteHours
from netmon.storage.read import (
    device_from_row,
    discovery_from_row,
    incident_from_row,
    inspection_from_row,
    outage_from_row,
    site_from_row,
    state_change_from_row,
    state_from_row,
    ticket_from_row,
)
from netmon.storage.record import (
    RECORD_TYPES,
    AgentGap,
    AgentProgress,
    DailyUniques,
    HourlyRollup,
    Record,
    RollupTotals,
    UnknownSpan,
)
from netmon.storage.url import normalise, redact

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def _one_at_a_time(conn: sa.Connection, what: str) -> None:
    """On PostgreSQL, wait until no other process holds `what` (a transaction-level advisory lock, released at
    commit or rollback): the nodes of a cluster (netmon.cluster) migrate and sync the inventory one after the
    other, the later ones finding the work done. SQLite's writers are one at a time already."""
    if conn.dialect.name == "postgresql":
        # its own namespace: `kim-netmon:<name>` is the deployment lock's key of a database so named (advisory)
        key = int.from_bytes(hashlib.sha256(f"kim-netmon/one-at-a-time:{what}".encode()).digest()[:8], "big",
                             signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One monitored (not retired) device for `netmon status`."""

    site: Site
    device: Device
    state: DeviceState | None
    open_outage: Outage | None


class Store:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str, *, busy_timeout_s: float = 5.0, connect_timeout_s: float = 5.0) -> Store:
        """Open (lazily: no connection is made here). SQLite gets WAL, a busy timeout and foreign keys;
        PostgreSQL goes through psycopg 3 with a connect timeout and pre-ping."""
        url = normalise(url)
        if sa.make_url(url).get_backend_name() == "sqlite":
            engine = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                         "timeout": busy_timeout_s})
            _sqlite_pragmas(engine, busy_timeout_s)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                                      connect_args={"connect_timeout": max(1, round(connect_timeout_s))})
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({redact(self._engine.url.render_as_string(hide_password=False))})"

    def upgrade(self) -> None:
        """Apply every Alembic migration up to head (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._errors(), self._engine.begin() as conn:
            _one_at_a_time(conn, "migrations")  # the nodes of a cluster start together
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def close(self) -> None:
        self._engine.dispose()

    # --- writing ---------------------------------------------------------------------------------------

    def sync_inventory(self, sites: Mapping[str, Site], devices: Mapping[str, Device], at: float) -> None:
        """Make the tables match the configured inventory: add new sites/devices, update changed fields,
        retire the ones no longer configured (rows and their history stay), un-retire ones that return."""
        with self._errors(), self._write() as conn:
            _one_at_a_time(conn, "inventory")
            w.sync_rows(conn, t.sites, {k: w.site_values(s) for k, s in sites.items()}, at)
            w.sync_rows(conn, t.devices, {k: w.device_values(d) for k, d in devices.items()}, at)
            retired = sa.select(t.devices.c.id).where(t.devices.c.retired_at.is_not(None))
            conn.execute(sa.delete(t.device_discovery).where(t.device_discovery.c.device.in_(retired)))

    def write(self, records: Sequence[Record], *, fence: WriteFence | None = None) -> None:
        """Write `records` in one transaction. Idempotent: writing the same records again changes nothing.

        `fence` (records a leader produced in `fence.term`): first, in the same transaction, the leader lease
        must still be `fence.holder`'s, held without a break since that term or earlier (its since_term <=
        fence.term), else StorageFenced and nothing is written. On PostgreSQL the lease row is share-locked until
        the commit, so another node's acquire waits for this write, and a write after that acquire is fenced
        (SQLite: one writer at a time anyway, BEGIN IMMEDIATE)."""
        for record in records:
            if not isinstance(record, RECORD_TYPES):
                raise StorageRejected(f"not a storage record: {type(record).__name__}")
        if not records:
            return
        with self._errors(), self._write() as conn:
            if fence is not None:
                _check_fence(conn, fence)
            for kind, run in itertools.groupby(records, key=type):
                if kind is HourlyRollup:
                    w.write_rollups(conn, list(run))  # type: ignore[arg-type]
                elif kind in w.MANY:
                    w.write_many(conn, list(run))  # type: ignore[arg-type]
                else:
                    for record in run:
                        w.write_record(conn, record)

    def record_inspection(self, inspection: Inspection, zone: TimeZone) -> None:
        """Keep a field inspection (history: a new row each time; the same one re-sent is ignored). It counts
        from local midnight of `inspection.on` in `zone`, the zone of the device's site."""
        midnight = datetime.combine(inspection.on, time(), zone.tzinfo).timestamp()
        with self._errors(), self._write() as conn:
            w.write_inspection(conn, inspection, midnight)

    def prune(self, now: float, rollup_retention_days: int) -> int:
        """Delete hourly rollups and daily unique counts older than the retention. State changes, outages,
        reboots and unknown spans are kept for ever. Returns the number of rows deleted."""
        cutoff = now - rollup_retention_days * 86400.0
        with self._errors(), self._write() as conn:
            n = conn.execute(sa.delete(t.hourly_rollups).where(t.hourly_rollups.c.hour_start < cutoff)).rowcount
            day = w.utc_date(cutoff)
            n += conn.execute(sa.delete(t.daily_uniques).where(t.daily_uniques.c.day < day)).rowcount
        return int(n)

    # --- reading ---------------------------------------------------------------------------------------

    def load_states(self) -> list[DeviceState]:
        with self._read() as conn:
            return [state_from_row(r) for r in conn.execute(sa.select(t.device_state)
                                                            .order_by(t.device_state.c.device))]

    def load_open_outages(self) -> list[Outage]:
        query = sa.select(t.outages).where(t.outages.c.ended_at.is_(None)).order_by(t.outages.c.started_at)
        with self._read() as conn:
            return [outage_from_row(r) for r in conn.execute(query)]

    def load_discoveries(self, source: Source) -> list[StoredDiscovery]:
        """Every device's stored discovery from `source` (the collector decides whether each still fits)."""
        query = sa.select(t.device_discovery).where(t.device_discovery.c.source == source.value)
        with self._read() as conn:
            return [discovery_from_row(r) for r in conn.execute(query.order_by(t.device_discovery.c.device))]

    def last_heartbeat(self) -> float | None:
        with self._read() as conn:
            value = conn.execute(sa.select(t.heartbeat.c.at).where(t.heartbeat.c.id == 1)).scalar()
        return None if value is None else float(value)

    def outages(self, *, since: float | None = None, device: str | None = None,
                until: float | None = None) -> list[Outage]:
        """Outages still open or ended at/after `since` (and started before `until`), oldest first."""
        query = sa.select(t.outages).order_by(t.outages.c.started_at, t.outages.c.id)
        if since is not None:
            query = query.where(sa.or_(t.outages.c.ended_at.is_(None), t.outages.c.ended_at >= since))
        if until is not None:
            query = query.where(t.outages.c.started_at < until)
        if device is not None:
            query = query.where(t.outages.c.device == device)
        with self._read() as conn:
            return [outage_from_row(r) for r in conn.execute(query)]

    def state_rows(self) -> list[StatusRow]:
        """Every monitored device with its site, current state and open outage (if any), by site and id."""
        with self._read() as conn:
            sites = {r.id: site_from_row(r) for r in conn.execute(sa.select(t.sites))}
            states = {s.device: s for s in map(state_from_row, conn.execute(sa.select(t.device_state)))}
            opened: dict[str, Outage] = {}
            for o in map(outage_from_row, conn.execute(
                    sa.select(t.outages).where(t.outages.c.ended_at.is_(None)).order_by(t.outages.c.started_at))):
                opened[o.device] = o  # the latest open one
            devices = conn.execute(sa.select(t.devices).where(t.devices.c.retired_at.is_(None))
                                   .order_by(t.devices.c.site, t.devices.c.id)).all()
        return [StatusRow(sites[d.site], device_from_row(d), states.get(d.id), opened.get(d.id)) for d in devices]

    def reboots(self, device: str | None = None, *, since: float | None = None,
                until: float | None = None) -> list[Reboot]:
        """Reboots (of `device`, else all) that booted in [since, until), oldest first."""
        query = sa.select(t.reboots).order_by(t.reboots.c.booted_at, t.reboots.c.id)
        if device is not None:
            query = query.where(t.reboots.c.device == device)
        if since is not None:
            query = query.where(t.reboots.c.booted_at >= since)
        if until is not None:
            query = query.where(t.reboots.c.booted_at < until)
        with self._read() as conn:
            return [Reboot(r.device, r.booted_at, r.detected_at) for r in conn.execute(query)]

    def rollups(self, *, device: str | None = None, since: float | None = None,
                until: float | None = None) -> list[HourlyRollup]:
        c = t.hourly_rollups.c
        query = sa.select(t.hourly_rollups).order_by(c.device, c.hour_start)
        if device is not None:
            query = query.where(c.device == device)
        if since is not None:
            query = query.where(c.hour_start >= since)
        if until is not None:
            query = query.where(c.hour_start < until)
        with self._read() as conn:
            return [HourlyRollup(**r._asdict()) for r in conn.execute(query)]

    def rollup_totals(self, since: float, until: float, *, temperature_above: float | None = None,
                      voltage_below: float | None = None) -> dict[str, RollupTotals]:
        """Per device, its hourly rollups of the hours starting in [since, until) summed by the database (one
        query however many devices; see `RollupTotals`). Devices without a rollup there are absent."""
        c = t.hourly_rollups.c

        def hours(condition: sa.ColumnElement[bool] | None) -> sa.ColumnElement[Any]:
            if condition is None:
                return sa.literal(0)
            return sa.func.sum(sa.case((condition, 1), else_=0))

        query = (sa.select(c.device, sa.func.sum(c.polls_ok).label("ok"), sa.func.sum(c.polls_failed).label("failed"),
                           sa.func.max(c.temperature_max).label("t_max"), sa.func.min(c.voltage_min).label("v_min"),
                           hours(None if temperature_above is None else c.temperature_max > temperature_above)
                           .label("hot"),
                           hours(None if voltage_below is None else c.voltage_min < voltage_below).label("low"),
                           sa.func.max(sa.case((c.polls_ok > 0, c.last_poll_at), else_=None)).label("last_ok"))
                 .group_by(c.device).order_by(c.device))
        with self._read() as conn:
            query = query.where(aggregate.hours_in(conn, since, until))
            return {r.device: RollupTotals(r.device, int(r.ok or 0), int(r.failed or 0), r.t_max, r.v_min,
                                           int(r.hot or 0), int(r.low or 0), r.last_ok)
                    for r in conn.execute(query)}

    def polled_runs(self, since: float, until: float) -> dict[str, list[PolledRun]]:
        """Per device, its runs of consecutive polled hours starting in [since, until) (`aggregate`)."""
        with self._read() as conn:
            return aggregate.polled_runs(conn, since, until)

    def site_hours(self, site_of: Mapping[str, str], since: float, until: float) -> dict[str, SiteHours]:
        """Per site, the highest and mean hourly sums of its devices' clients and users (`aggregate`)."""
        with self._read() as conn:
            return aggregate.site_hours(conn, site_of, since, until)

    def bytes_by_day(self, utc_offset_s: int, since: float, until: float, *, start: float,
                     end: float) -> list[DayBytes]:
        """Bytes received per device and local day of hours in [since, until), [start, end) apart
        (`aggregate`)."""
        with self._read() as conn:
            return aggregate.bytes_by_day(conn, utc_offset_s, since, until, start, end)

    def inspections(self, device: str | None = None, *, before: float | None = None) -> list[Inspection]:
        """Field inspections (of `device`, else all) that count from before `before`, by device, then in the
        order they take effect (the day inspected, then when recorded): per device, the last one holds."""
        c = t.inspections.c
        query = sa.select(t.inspections).order_by(c.device, c.effective_at, c.recorded_at, c.id)
        if device is not None:
            query = query.where(c.device == device)
        if before is not None:
            query = query.where(c.effective_at < before)
        with self._read() as conn:
            return [inspection_from_row(r) for r in conn.execute(query)]

    def daily_uniques(self, *, since: date | None = None, until: date | None = None) -> list[DailyUniques]:
        """Distinct clients per site and local day, for days in [since, until), by site and day."""
        c = t.daily_uniques.c
        query = sa.select(t.daily_uniques).order_by(c.site, c.day)
        if since is not None:
            query = query.where(c.day >= since)
        if until is not None:
            query = query.where(c.day < until)
        with self._read() as conn:
            return [DailyUniques(r.site, r.day, r._mapping["count"]) for r in conn.execute(query)]

    def unknown_spans(self, since: float | None = None) -> list[UnknownSpan]:
        query = sa.select(t.unknown_spans).order_by(t.unknown_spans.c.start)
        if since is not None:
            query = query.where(t.unknown_spans.c.end >= since)
        with self._read() as conn:
            return [UnknownSpan(r.start, r.end) for r in conn.execute(query)]

    def report_schedule(self) -> dict[str, float]:
        """A cluster's scheduled report: key -> when it was queued (netmon.report.schedule, ReportQueued)."""
        with self._read() as conn:
            return {str(r.key): float(r.at) for r in conn.execute(sa.select(t.report_schedule))}

    def agent_progress(self) -> list[AgentProgress]:
        """Every site agent's ingest progress and latest status (netmon.agents)."""
        with self._read() as conn:
            return [AgentProgress(**r._asdict()) for r in conn.execute(
                sa.select(t.agent_progress).order_by(t.agent_progress.c.agent))]

    def agent_gaps(self, agent: str | None = None, *, since: float | None = None) -> list[AgentGap]:
        """Results that will never arrive, per agent: the periods the history cannot tell."""
        c = t.agent_gaps.c
        query = sa.select(t.agent_gaps).order_by(c.agent, c.from_seq)
        if agent is not None:
            query = query.where(c.agent == agent)
        if since is not None:
            query = query.where(sa.func.coalesce(c.to_at, c.from_at) >= since)
        with self._read() as conn:
            return [AgentGap(**r._asdict()) for r in conn.execute(query)]

    def state_changes(self, device: str | None = None) -> list[StateChange]:
        c = t.state_changes.c
        query = sa.select(t.state_changes).order_by(c.at, c.id)
        if device is not None:
            query = query.where(c.device == device)
        with self._read() as conn:
            return [state_change_from_row(r) for r in conn.execute(query)]

    def incidents(self, *, open_only: bool = False, since: float | None = None) -> list[Incident]:
        c = t.incidents.c
        query = sa.select(t.incidents).order_by(c.opened_at, c.id)
        if open_only:
            query = query.where(c.resolved_at.is_(None))
        if since is not None:
            query = query.where(sa.or_(c.resolved_at.is_(None), c.resolved_at >= since))
        with self._read() as conn:
            return [incident_from_row(r) for r in conn.execute(query)]

    def tickets(self, *, incident: str | None = None, incidents: Collection[str] | None = None) -> list[Ticket]:
        """Tickets (of `incident`, or of those of `incidents`, else all), oldest first."""
        query = sa.select(t.tickets).order_by(t.tickets.c.opened_at, t.tickets.c.id)
        if incident is not None:
            query = query.where(t.tickets.c.incident == incident)
        if incidents is not None:
            ids = sorted(incidents)
            with self._read() as conn:
                found = [ticket_from_row(r) for i in range(0, len(ids), 500)
                         for r in conn.execute(query.where(t.tickets.c.incident.in_(ids[i:i + 500])))]
            return sorted(found, key=lambda x: (x.opened_at, x.id))
        with self._read() as conn:
            return [ticket_from_row(r) for r in conn.execute(query)]

    # --- plumbing --------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(netmon_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._errors(), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLAlchemy's (and the driver's) errors as ours, with the driver's first line kept and the URL's
        password hidden."""
        secrets = (self._engine.url.password,) if isinstance(self._engine.url.password, str) else ()
        try:
            yield
        except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
            raise StorageRejected(f"database refused the data: {short_message(exc, secrets)}") \
                from safe_cause(exc, secrets)
        except sa.exc.SQLAlchemyError as exc:
            # OperationalError (down, locked, read-only, no such table), InterfaceError, pool timeouts, ...
            raise StorageUnavailable(f"database unavailable: {short_message(exc, secrets)}") \
                from safe_cause(exc, secrets)
        except OSError as exc:
            raise StorageUnavailable(f"database unavailable: {library_message(exc, secrets)}") \
                from safe_cause(exc, secrets)


def _check_fence(conn: sa.Connection, fence: WriteFence) -> None:
    c = t.cluster_leases.c
    query = (sa.select(sa.literal(1)).select_from(t.cluster_leases)
             .where(c.name == LEADER, c.holder == fence.holder, c.since_term <= fence.term))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)  # FOR SHARE: an acquire (an upsert) waits for our commit
    if conn.execute(query).first() is None:
        raise StorageFenced(f"fenced: node {fence.holder} no longer leads as it did in term {fence.term} "
                            "(another node has led since); nothing written")


def short_message(exc: sa.exc.SQLAlchemyError, secrets: tuple[str, ...] = ()) -> str:
    """The driver's first line ("connection failed: ... database "x" does not exist"), not SQLAlchemy's SQL
    and background link; `secrets` hidden."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return redact_secrets(text[0] if text else type(exc).__name__, secrets)[:300]


def _sqlite_pragmas(engine: sa.Engine, busy_timeout_s: float) -> None:
    """WAL + busy timeout + foreign keys on every connection, and BEGIN IMMEDIATE for write transactions so a
    writer waits for the lock (up to the busy timeout) instead of failing on a read-to-write upgrade."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own handling is broken)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {math.ceil(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("netmon_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
