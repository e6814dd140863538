"""The tables (SQLAlchemy Core). Every time is a float: seconds since the Unix epoch, UTC (DOUBLE PRECISION on
PostgreSQL, REAL on SQLite), the same representation as the records in `netmon.model`. Calendar days
(`daily_uniques.day`) are local dates in each site's zone, as `netmon.privacy` counts them.

Event tables carry no foreign keys to `devices`: a record queued for a device that the inventory has since
dropped must still be writable, or one stale record would block the write queue for ever. Devices are never
deleted, only retired, so every device id in history can still be looked up.

A change here needs a new Alembic revision in `migrations/versions/` (the tests compare both).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

Time = sa.Double  # unix seconds, UTC

sites = sa.Table(
    "sites", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("desa", sa.String(200), nullable=False),
    sa.Column("kecamatan", sa.String(200), nullable=False),
    sa.Column("kabupaten", sa.String(200), nullable=False),
    sa.Column("latitude", sa.Double),
    sa.Column("longitude", sa.Double),
    sa.Column("contact_name", sa.String(200)),
    sa.Column("contact_phone", sa.String(64)),
    sa.Column("contact_email", sa.String(200)),
    sa.Column("first_seen_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("retired_at", Time),
)

devices = sa.Table(
    "devices", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(64), sa.ForeignKey("sites.id"), nullable=False, index=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("sources", sa.String(100), nullable=False),  # comma-separated Source values
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("profile", sa.String(100)),
    sa.Column("parent", sa.String(64)),
    sa.Column("interval_s", sa.Double, nullable=False),
    # asset register (Kartu Inventaris Barang)
    sa.Column("kode_barang", sa.String(64)),
    sa.Column("nomor_register", sa.String(64)),
    sa.Column("serial", sa.String(128)),
    sa.Column("model", sa.String(128)),
    sa.Column("year_acquired", sa.Integer),
    sa.Column("value_idr", sa.BigInteger),
    sa.Column("name", sa.String(200)),  # KIB B columns added in 0005
    sa.Column("size", sa.String(100)),
    sa.Column("material", sa.String(100)),
    sa.Column("origin", sa.String(100)),
    sa.Column("remarks", sa.Text),
    sa.Column("unit", sa.String(200)),
    sa.Column("first_seen_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("retired_at", Time),
)

device_state = sa.Table(
    "device_state", metadata,
    sa.Column("device", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("since", Time, nullable=False),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("consecutive_successes", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String(500)),
    sa.Column("last_good_poll", Time),
    sa.Column("uptime_s", sa.Double),
    sa.Column("uptime_at", Time),
    sa.Column("failing_since", Time),
    sa.Column("answering_since", Time),  # first good poll of the answering streak (0004)
    sa.Column("unknown_cause", sa.String(32)),  # UNKNOWN for a reason of its own: "agent" (0006)
)

state_changes = sa.Table(
    "state_changes", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("old_status", sa.String(16), nullable=False),
    sa.Column("new_status", sa.String(16), nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.UniqueConstraint("device", "at", "new_status"),  # a re-written change is the same change
    sa.Index(None, "at"),
)

outages = sa.Table(
    "outages", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("started_at", Time, nullable=False),
    sa.Column("ended_at", Time),
    sa.Column("cause", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detected_at", Time),  # when DOWN was declared, or the evidence changed the cause (0004)
    sa.Column("episode", sa.String(100)),  # id of the episode's first span (0004)
    sa.Index(None, "device", "started_at"),
    sa.Index(None, "started_at"),
    sa.Index(None, "episode"),
)

reboots = sa.Table(
    "reboots", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("booted_at", Time, nullable=False),
    sa.Column("booted_minute", sa.BigInteger, nullable=False),  # round(booted_at / 60): the dedup key
    sa.Column("detected_at", Time, nullable=False),
    sa.UniqueConstraint("device", "booted_minute"),
)

hourly_rollups = sa.Table(
    "hourly_rollups", metadata,
    sa.Column("device", sa.String(64), primary_key=True),
    sa.Column("hour_start", Time, primary_key=True),
    sa.Column("polls_ok", sa.Integer, nullable=False),
    sa.Column("polls_failed", sa.Integer, nullable=False),
    sa.Column("wifi_clients_min", sa.Double),
    sa.Column("wifi_clients_avg", sa.Double),
    sa.Column("wifi_clients_max", sa.Double),
    sa.Column("wifi_clients_n", sa.Integer, nullable=False),
    sa.Column("hotspot_users_min", sa.Double),
    sa.Column("hotspot_users_avg", sa.Double),
    sa.Column("hotspot_users_max", sa.Double),
    sa.Column("hotspot_users_n", sa.Integer, nullable=False),
    sa.Column("bytes_in", sa.BigInteger),
    sa.Column("bytes_out", sa.BigInteger),
    sa.Column("temperature_max", sa.Double),
    sa.Column("voltage_min", sa.Double),
    sa.Column("first_poll_at", Time, nullable=False),
    sa.Column("last_poll_at", Time, nullable=False),
    sa.Index(None, "hour_start"),
)

daily_uniques = sa.Table(
    "daily_uniques", metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

unknown_spans = sa.Table(
    "unknown_spans", metadata,
    sa.Column("start", Time, primary_key=True),
    sa.Column("end", Time, nullable=False),
)

heartbeat = sa.Table(
    "heartbeat", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1: a single row
    sa.Column("at", Time, nullable=False),
)

incidents = sa.Table(
    "incidents", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("opened_at", Time, nullable=False),
    sa.Column("resolved_at", Time),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("kabupaten", sa.String(200), nullable=False),
    sa.Column("kecamatan", sa.String(200), nullable=False),
    sa.Column("site", sa.String(64)),
    sa.Column("device", sa.String(64)),
    sa.Column("members", sa.Text, nullable=False),  # JSON list of device or site ids folded in
    sa.Column("acknowledged_at", Time),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("escalated_at", Time),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("detected_at", Time),  # when the alert was raised (0004)
    sa.Index("ix_incidents_open", "resolved_at"),
)

device_discovery = sa.Table(
    "device_discovery", metadata,  # static facts a collector discovered, kept across restarts
    sa.Column("device", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("discovered_at", Time, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # keyed hash of what the facts depend on
    sa.Column("payload", sa.Text, nullable=False),  # the collector's versioned JSON
)

tickets = sa.Table(
    "tickets", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("incident", sa.String(100), nullable=False, unique=True),  # exactly one ticket per incident
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("opened_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("external_refs", sa.Text, nullable=False),  # JSON [[sink, reference], ...]
)

inspections = sa.Table(
    "inspections", metadata,  # field inspections of assets (0005): history, never updated or deleted
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("inspected_on", sa.Date, nullable=False),  # local date in the site's zone
    sa.Column("effective_at", Time, nullable=False),  # local midnight of inspected_on: it counts from here
    sa.Column("condition", sa.String(2), nullable=False),  # B, RR or RB
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("inspected_by", sa.String(200), nullable=False),
    sa.Column("recorded_at", Time, nullable=False),
    sa.UniqueConstraint("device", "recorded_at"),  # a re-sent inspection is the same inspection
    sa.Index(None, "device", "effective_at"),
)

agent_progress = sa.Table(
    "agent_progress", metadata,  # one row per site agent (0006): how far its results were ingested
    sa.Column("agent", sa.String(64), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),  # every seq up to this one is ingested (or a gap)
    sa.Column("last_result_at", Time),  # the newest ingested result's time (the agent's clock)
    sa.Column("heard_at", Time),  # the office's clock when the agent was last heard
    sa.Column("online", sa.Boolean),  # from its latest status (false: its will: the broker lost it)
    sa.Column("status_at", Time),  # the agent's clock in that status
    sa.Column("reported_seq", sa.BigInteger),  # the newest seq the agent had assigned then
    sa.Column("backlog_depth", sa.BigInteger),
    sa.Column("backlog_oldest_at", Time),
)

agent_gaps = sa.Table(
    "agent_gaps", metadata,  # results of an agent that will never arrive (0006): the history says the period
    sa.Column("agent", sa.String(64), primary_key=True),
    sa.Column("from_seq", sa.BigInteger, primary_key=True),
    sa.Column("to_seq", sa.BigInteger, nullable=False),
    sa.Column("from_at", Time),  # the agent's clock: the period whose results are missing
    sa.Column("to_at", Time),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),  # "dropped" (the agent's bound) or "missing"
    sa.Index(None, "from_at"),
)

cluster_nodes = sa.Table(
    "cluster_nodes", metadata,  # one row per netmon node sharing this database (0007); the database's clock
    sa.Column("node_id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", Time, nullable=False),  # when this process (host, pid) first heartbeated
    sa.Column("heartbeat_at", Time, nullable=False),  # live while within dead_after_s of the database's now
    sa.Index(None, "heartbeat_at"),
)

cluster_leases = sa.Table(
    "cluster_leases", metadata,  # named leases (0007): "leader"; the database's clock
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),  # the node_id that holds (or last held) it
    sa.Column("term", sa.BigInteger, nullable=False),  # fencing token: +1 on every acquisition, never reused
    sa.Column("expires_at", Time, nullable=False),
    # (0009) the first term of the holder's current unbroken holding: the term it took the lease from another
    # node (or created it) in; kept when it re-acquires its own. The write fence checks it (Store.write)
    sa.Column("since_term", sa.BigInteger, nullable=False),
)

outbox_items = sa.Table(
    "outbox_items", metadata,  # the shared journal of the leader's outboxes (0008; netmon.storage.outbox)
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("outbox", sa.String(64), nullable=False),  # notify, ticket-mail, ..., mqtt
    sa.Column("item", sa.Text, nullable=False),  # the item's JSON
    sa.Column("origin", sa.String(64), nullable=False),  # the node that put it
    sa.Column("created_at", Time, nullable=False),  # the database's clock when it was appended
    sa.Column("claimed_term", sa.BigInteger),  # the leader term that last handed it to the destination
    sa.Index(None, "outbox", "seq"),
)

report_schedule = sa.Table(
    "report_schedule", metadata,  # a cluster's scheduled report (0010; netmon.report.schedule): the months queued
    sa.Column("key", sa.String(200), primary_key=True),  # "<month>/<scope>", or "*since*": when it first ran
    sa.Column("at", Time, nullable=False),
)
