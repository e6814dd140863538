"""Records into rows: one idempotent statement (or read-then-write) per record, inside the caller's transaction.

Every write can be repeated without changing the result, because the write queue may re-send a batch whose
commit it could not confirm, and replays its spool after a crash:

- state change: insert, ignored when (device, at, new status) exists
- device state: upsert by device (the newest written wins)
- outage: upsert by id; an end time once written is never cleared
- reboot: ignored when the device already has one within `REBOOT_TOLERANCE_S` of `booted_at`
- hourly rollup: merged with the stored one (see `rollup.combine`); a run of them in a few statements
  (`write_rollups`)
- daily uniques, unknown span, heartbeat: upsert, the larger value wins
- agent progress: upsert by agent; `last_seq` never goes back, the status fields are the newest heard
- agent gap: upsert by (agent, from_seq)
- stored discovery: upsert by (device, source), the last written wins (the queue keeps the order, and a
  discovery made after the clock was set back must still replace the one "from the future")
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from netmon.model import (
    Device,
    DeviceState,
    Incident,
    Inspection,
    Outage,
    Reboot,
    Site,
    StateChange,
    StoredDiscovery,
    Ticket,
)
from netmon.storage import schema as t
from netmon.storage.clock import database_now
from netmon.storage.record import (
    AgentGap,
    AgentProgress,
    DailyUniques,
    Heartbeat,
    HourlyRollup,
    OutboxAppend,
    Record,
    ReportQueued,
    UnknownSpan,
)
from netmon.storage.rollup import combine

REBOOT_TOLERANCE_S = 120.0  # booted_at is estimated from uptime: polls of one boot differ by seconds


def utc_date(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _greatest(table: sa.Table, stmt: Any, column: str) -> sa.ColumnElement[Any]:
    new, old = stmt.excluded[column], table.c[column]
    return sa.case((new > old, new), else_=old)


def _least(table: sa.Table, stmt: Any, column: str) -> sa.ColumnElement[Any]:
    new, old = stmt.excluded[column], table.c[column]
    return sa.case((new < old, new), else_=old)


# --- inventory ---------------------------------------------------------------------------------------------

def site_values(s: Site) -> dict[str, Any]:
    c = s.kim_contact
    return {"name": s.name, "desa": s.desa, "kecamatan": s.kecamatan, "kabupaten": s.kabupaten,
            "latitude": s.latitude, "longitude": s.longitude, "contact_name": c.name if c else None,
            "contact_phone": c.phone if c else None, "contact_email": c.email if c else None}


def device_values(d: Device) -> dict[str, Any]:
    a = d.asset
    return {"site": d.site, "role": d.role.value, "address": d.address,
            "sources": ",".join(s.value for s in d.sources), "owner": d.owner.value, "profile": d.profile,
            "parent": d.parent, "interval_s": d.interval_s} | dataclasses.asdict(a)


def sync_rows(conn: sa.Connection, table: sa.Table, wanted: dict[str, dict[str, Any]], at: float) -> None:
    existing = {r.id: r._asdict() for r in conn.execute(sa.select(table))}
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            conn.execute(sa.insert(table).values(id=key, first_seen_at=at, updated_at=at, retired_at=None, **values))
            continue
        changed = {k: v for k, v in values.items() if row[k] != v}
        if row["retired_at"] is not None:
            changed["retired_at"] = None
        if changed:
            conn.execute(sa.update(table).where(table.c.id == key).values(updated_at=at, **changed))
    for key, row in existing.items():
        if key not in wanted and row["retired_at"] is None:
            conn.execute(sa.update(table).where(table.c.id == key).values(retired_at=at, updated_at=at))


# --- records -----------------------------------------------------------------------------------------------

def write_record(conn: sa.Connection, r: Record) -> None:
    writer = _WRITERS.get(type(r))
    if writer is not None:
        writer(conn, r)
    elif isinstance(r, (StateChange, DeviceState, StoredDiscovery)):  # the MANY kinds
        write_many(conn, [r])
    elif isinstance(r, DailyUniques):
        stmt = _insert(conn, t.daily_uniques).values(site=r.site, day=r.day, count=r.count)
        conn.execute(stmt.on_conflict_do_update(index_elements=["site", "day"],
                                                set_={"count": _greatest(t.daily_uniques, stmt, "count")}))
    elif isinstance(r, UnknownSpan):
        stmt = _insert(conn, t.unknown_spans).values(start=r.start, end=r.end)
        conn.execute(stmt.on_conflict_do_update(index_elements=["start"],
                                                set_={"end": _greatest(t.unknown_spans, stmt, "end")}))
    elif isinstance(r, Ticket):
        values = {"id": r.id, "incident": r.incident, "state": r.state, "opened_at": r.opened_at,
                  "updated_at": r.updated_at, "external_refs": json.dumps([list(x) for x in r.external_refs])}
        stmt = _insert(conn, t.tickets).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
            k: stmt.excluded[k] for k in ("state", "updated_at", "external_refs")}))
    elif isinstance(r, Heartbeat):
        stmt = _insert(conn, t.heartbeat).values(id=1, at=r.at)
        conn.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                                set_={"at": _greatest(t.heartbeat, stmt, "at")}))
    else:  # pragma: no cover - Store.write checks the type first
        raise TypeError(type(r).__name__)


def _writers() -> dict[type, Callable[[sa.Connection, Any], None]]:
    return {Outage: _write_outage, Reboot: _write_reboot, HourlyRollup: _write_rollup, Incident: _write_incident,
            AgentProgress: _write_agent, AgentGap: _write_agent, OutboxAppend: _write_outbox_item,
            ReportQueued: _write_report_queued}


def _write_report_queued(conn: sa.Connection, r: ReportQueued) -> None:
    stmt = _insert(conn, t.report_schedule).values(key=r.key, at=r.at)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"],  # the earliest stays: first queueing, first run
                                            set_={"at": _least(t.report_schedule, stmt, "at")}))


def _write_outbox_item(conn: sa.Connection, r: OutboxAppend) -> None:
    conn.execute(sa.insert(t.outbox_items).values(outbox=r.outbox, item=r.item, origin=r.origin,
                                                  created_at=database_now(conn.engine)))


def inspection_values(r: Inspection, effective_at: float) -> dict[str, Any]:
    return {"device": r.device, "inspected_on": r.on, "effective_at": effective_at,
            "condition": r.condition.value, "note": r.note, "inspected_by": r.by, "recorded_at": r.recorded_at}


def write_inspection(conn: sa.Connection, r: Inspection, effective_at: float) -> None:
    """Insert; the same (device, recorded_at) again is the same inspection re-sent: ignored."""
    stmt = _insert(conn, t.inspections).values(**inspection_values(r, effective_at))
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["device", "recorded_at"]))


def _write_incident(conn: sa.Connection, r: Incident) -> None:
    values = dataclasses.asdict(r) | {"severity": r.severity.value, "owner": r.owner.value,
                                      "members": json.dumps(list(r.members))}
    stmt = _insert(conn, t.incidents).values(**values)
    # once set, a retried older write cannot clear these
    keep = {"resolved_at", "acknowledged_at", "escalated_at", "detected_at"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
        k: (sa.func.coalesce(stmt.excluded[k], t.incidents.c[k]) if k in keep else stmt.excluded[k])
        for k in values if k != "id"}))


def _write_agent(conn: sa.Connection, r: AgentProgress | AgentGap) -> None:
    values = dataclasses.asdict(r)
    if isinstance(r, AgentGap):
        stmt = _insert(conn, t.agent_gaps).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["agent", "from_seq"], set_={
            k: stmt.excluded[k] for k in values if k not in ("agent", "from_seq")}))
        return
    stmt = _insert(conn, t.agent_progress).values(**values)
    newer = stmt.excluded.heard_at >= sa.func.coalesce(t.agent_progress.c.heard_at, stmt.excluded.heard_at)
    changed = {"last_seq": _greatest(t.agent_progress, stmt, "last_seq"),
               "last_result_at": sa.func.coalesce(stmt.excluded.last_result_at, t.agent_progress.c.last_result_at)}
    for k in ("heard_at", "online", "status_at", "reported_seq", "backlog_depth", "backlog_oldest_at"):
        changed[k] = sa.case((newer & stmt.excluded[k].is_not(None), stmt.excluded[k]), else_=t.agent_progress.c[k])
    conn.execute(stmt.on_conflict_do_update(index_elements=["agent"], set_=changed))


# --- the frequent records, many in one statement ------------------------------------------------------------
# A start at 30,000 devices writes a discovery, a state change and a device state for each: a statement built
# per record (its `excluded` alias, its compilation) cost the main process ~20 % of its CPU for minutes
# (docs/performance.md). These kinds are written with one statement per dialect, built once, and each run of
# them as one executemany; an upsert keeps the last record of a key in the run, as writing them one by one
# would (and PostgreSQL refuses one statement that updates a row twice).

MANY: tuple[type, ...] = (StateChange, DeviceState, StoredDiscovery)
_DEVICE_STATE_COLUMNS = tuple(f.name for f in dataclasses.fields(DeviceState))
MANY_CHUNK = 500


@functools.cache
def _many_statement(dialect: str, kind: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if kind == StateChange.__name__:
        return insert(t.state_changes).on_conflict_do_nothing(index_elements=["device", "at", "new_status"])
    if kind == DeviceState.__name__:
        stmt = insert(t.device_state)
        return stmt.on_conflict_do_update(index_elements=["device"], set_={
            k: stmt.excluded[k] for k in _DEVICE_STATE_COLUMNS if k != "device"})
    stmt = insert(t.device_discovery)
    return stmt.on_conflict_do_update(index_elements=["device", "source"], set_={
        k: stmt.excluded[k] for k in ("discovered_at", "fingerprint", "payload")})


def _many_values(r: StateChange | DeviceState | StoredDiscovery) -> tuple[object, dict[str, Any]]:
    """(the row's key, its values)."""
    if isinstance(r, StateChange):
        return None, {"device": r.device, "old_status": r.old.value, "new_status": r.new.value, "at": r.at,
                      "reason": r.reason}
    if isinstance(r, DeviceState):
        values = {k: getattr(r, k) for k in _DEVICE_STATE_COLUMNS}
        values["status"] = r.status.value
        values["unknown_cause"] = r.unknown_cause.value if r.unknown_cause else None
        return r.device, values
    return (r.device, r.source), dataclasses.asdict(r) | {"source": r.source.value}


def write_many(conn: sa.Connection, records: Sequence[StateChange | DeviceState | StoredDiscovery]) -> None:
    """A run of records of one of the `MANY` kinds, as if written one by one in order."""
    if not records:
        return
    keyed: dict[object, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for r in records:
        key, values = _many_values(r)
        if key is None:
            rows.append(values)
        else:
            keyed.pop(key, None)  # the last of a key, at its place in the order
            keyed[key] = values
    rows += keyed.values()
    stmt = _many_statement(conn.dialect.name, type(records[0]).__name__)
    for i in range(0, len(rows), MANY_CHUNK):
        conn.execute(stmt, rows[i:i + MANY_CHUNK])


def _write_outage(conn: sa.Connection, r: Outage) -> None:
    stmt = _insert(conn, t.outages).values(id=r.id, device=r.device, site=r.site, started_at=r.started_at,
                                           ended_at=r.ended_at, cause=r.cause.value, status=r.status.value,
                                           detected_at=r.detected_at, episode=r.episode)
    ended = sa.func.coalesce(stmt.excluded.ended_at, t.outages.c.ended_at)
    conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
        "device": stmt.excluded.device, "site": stmt.excluded.site, "started_at": stmt.excluded.started_at,
        "cause": stmt.excluded.cause, "status": stmt.excluded.status, "ended_at": ended,
        "detected_at": sa.func.coalesce(stmt.excluded.detected_at, t.outages.c.detected_at),
        "episode": sa.func.coalesce(stmt.excluded.episode, t.outages.c.episode)}))


def _write_reboot(conn: sa.Connection, r: Reboot) -> None:
    c = t.reboots.c
    near = conn.execute(sa.select(c.id).where(c.device == r.device, c.booted_at >= r.booted_at - REBOOT_TOLERANCE_S,
                                              c.booted_at <= r.booted_at + REBOOT_TOLERANCE_S).limit(1)).first()
    if near is not None:
        return
    stmt = _insert(conn, t.reboots).values(device=r.device, booted_at=r.booted_at,
                                           booted_minute=round(r.booted_at / 60), detected_at=r.detected_at)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["device", "booted_minute"]))


ROLLUP_BATCH = 500  # (device, hour) keys per read of the stored rows
ROLLUP_FIELDS = tuple(f.name for f in dataclasses.fields(HourlyRollup))


def rollup_values(r: HourlyRollup) -> dict[str, Any]:
    """The row of a rollup (its fields are scalars: no deep copy, unlike `dataclasses.asdict`)."""
    return {name: getattr(r, name) for name in ROLLUP_FIELDS}


def write_rollups(conn: sa.Connection, rollups: Sequence[HourlyRollup]) -> None:
    """Write hourly rollups as if one by one (each merged with the stored row of its hour, `rollup.combine`),
    in a few statements per `ROLLUP_BATCH`: one read of the stored rows (locked on PostgreSQL), one
    multi-row insert of the new hours, an update per changed stored hour."""
    for i in range(0, len(rollups), ROLLUP_BATCH):
        _write_rollup_batch(conn, rollups[i:i + ROLLUP_BATCH])


def _write_rollup_batch(conn: sa.Connection, batch: Sequence[HourlyRollup]) -> None:
    c = t.hourly_rollups.c
    keys = {(r.device, r.hour_start) for r in batch}
    hours = [r.hour_start for r in batch]
    # the devices' hours in the batch's range (SQLite scans the table for a row-value IN; this uses the key)
    query = (sa.select(t.hourly_rollups).where(c.device.in_({r.device for r in batch}),
                                               c.hour_start >= min(hours), c.hour_start <= max(hours))
             .with_for_update())
    stored = {key: HourlyRollup(**row._asdict()) for row in conn.execute(query)
              if (key := (row.device, row.hour_start)) in keys}
    merged: dict[tuple[str, float], HourlyRollup] = {}
    for r in batch:
        key = (r.device, r.hour_start)
        before = merged.get(key, stored.get(key))
        merged[key] = r if before is None else combine(before, r)
    new = [rollup_values(r) for key, r in merged.items() if key not in stored]
    if new:
        conn.execute(sa.insert(t.hourly_rollups), new)
    for key, r in merged.items():
        if key in stored and r != stored[key]:
            conn.execute(sa.update(t.hourly_rollups).where(c.device == key[0], c.hour_start == key[1])
                         .values(**rollup_values(r)))


def _write_rollup(conn: sa.Connection, r: HourlyRollup) -> None:
    write_rollups(conn, [r])


_WRITERS = _writers()
