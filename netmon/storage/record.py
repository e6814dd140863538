"""Records that only storage knows (pure, frozen, slotted; no I/O), and `Record`: everything `Store.write`
accepts. The state records (`StateChange`, `DeviceState`, `Outage`, `Reboot`) come from `netmon.model`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from netmon.model import DeviceState, Incident, Outage, Reboot, StateChange, StoredDiscovery, Ticket


@dataclass(frozen=True, slots=True)
class HourlyRollup:
    """One device's polls in one clock hour (UTC hour; WIB/WITA/WIT are whole-hour offsets: a local hour too).

    `first_poll_at`/`last_poll_at` bound the polls behind it: the store merges two rollups of the same hour
    whose spans do not overlap (a restart inside the hour) and treats an overlapping one as a re-write.
    `*_n` count the polls behind each average, so merged averages stay exact.
    """

    device: str
    hour_start: float
    polls_ok: int
    polls_failed: int
    first_poll_at: float
    last_poll_at: float
    wifi_clients_min: float | None = None
    wifi_clients_avg: float | None = None
    wifi_clients_max: float | None = None
    wifi_clients_n: int = 0
    hotspot_users_min: float | None = None
    hotspot_users_avg: float | None = None
    hotspot_users_max: float | None = None
    hotspot_users_n: int = 0
    bytes_in: int | None = None
    bytes_out: int | None = None
    temperature_max: float | None = None
    voltage_min: float | None = None


@dataclass(frozen=True, slots=True)
class RollupTotals:
    """One device's hourly rollups over a period, summed in the database (`Store.rollup_totals`): polls, the
    extremes of temperature and voltage, and how many hours went past a threshold (`hot_hours`: hours whose
    temperature_max is above it; `low_voltage_hours`: hours whose voltage_min is below it). `last_ok_at` is
    the last poll of the latest hour with a good poll (an hour's resolution: rollups keep no finer time)."""

    device: str
    polls_ok: int
    polls_failed: int
    temperature_max: float | None = None
    voltage_min: float | None = None
    hot_hours: int = 0
    low_voltage_hours: int = 0
    last_ok_at: float | None = None


@dataclass(frozen=True, slots=True)
class DailyUniques:
    """Distinct client devices seen at a site on one local day (the site's zone). The largest count wins."""

    site: str
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class UnknownSpan:
    """The daemon was not running from `start` to `end`: nothing is known about any device then."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The daemon was alive at `at`. The last one bounds the next UnknownSpan after a crash."""

    at: float


@dataclass(frozen=True, slots=True)
class AgentProgress:
    """How far a site agent's results were ingested (`last_seq`: every seq up to it is ingested or a known gap)
    and what its latest status said. Written after the results it counts; the largest `last_seq` wins."""

    agent: str
    last_seq: int
    last_result_at: float | None = None
    heard_at: float | None = None
    online: bool | None = None
    status_at: float | None = None
    reported_seq: int | None = None
    backlog_depth: int | None = None
    backlog_oldest_at: float | None = None


@dataclass(frozen=True, slots=True)
class AgentGap:
    """Results `from_seq`..`to_seq` of an agent that will never arrive: `dropped` by the agent's outbox bound, or
    `missing` (skipped by the office after waiting). `from_at`/`to_at` bound the period, on the agent's clock."""

    agent: str
    from_seq: int
    to_seq: int
    from_at: float | None
    to_at: float | None
    count: int
    reason: str = "dropped"


@dataclass(frozen=True, slots=True)
class OutboxAppend:
    """One item for the shared journal of a cluster's outbox (`outbox_items`, netmon.storage.outbox), put by the
    leader in the write queue after the incident or ticket it tells of, so that both reach the database in one
    fenced order (netmon.storage.queue) or neither does: a new leader never delivers a notification of an
    incident it cannot read back. `item` is the item's JSON. Written again after an unknown commit, it is a
    second item with the same id: delivery is at-least-once, receivers dedupe by the id."""

    outbox: str
    item: str
    origin: str


@dataclass(frozen=True, slots=True)
class ReportQueued:
    """A cluster's scheduled report (netmon.report.schedule): the report `key` was queued at `at`, or, for the
    key SINCE, the schedule first ran then (the earliest one written stays)."""

    key: str
    at: float


Record = (StateChange | DeviceState | Outage | Reboot | HourlyRollup | DailyUniques | UnknownSpan | Heartbeat
          | Incident | Ticket | StoredDiscovery | AgentProgress | AgentGap | OutboxAppend | ReportQueued)
RECORD_TYPES: tuple[type, ...] = (StateChange, DeviceState, Outage, Reboot, HourlyRollup, DailyUniques,
                                  UnknownSpan, Heartbeat, Incident, Ticket, StoredDiscovery, AgentProgress, AgentGap,
                                  OutboxAppend, ReportQueued)
