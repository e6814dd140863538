"""The scheduled report (`report.schedule`, docs/reports.md): the daemon builds the previous month's report on a
configured day and time and mails it, one mail per recipient, through a durable outbox.

- **When.** Each scope is one report: a kabupaten (`scope: kabupaten`, the default) on its own zone's clock, so
  Badung's (WITA) report is due an hour before Banyumas's (WIB); or every site (`scope: all`) on the config's
  default zone, and never before the month has ended in every zone the sites use. The report of a month is due
  on `day` at `time` of the month after it (`due_at`).
- **Exactly one mail per (month, scope, recipient).** What was queued is remembered in
  `<data_dir>/report-schedule.json` (written to a temporary file, fsync'd and renamed), after the mails are in
  the outbox (durable once `post` returns); the outbox delivers them whenever SMTP is there, after a restart too.
  A month already queued is never queued again. Only a crash between the outbox's put and that file's rename
  can queue a month twice; the mail ids are stable per (month, scope, recipient), so the copy has the same
  Message-ID and receivers drop it.
- **Several nodes.** In a cluster the leader mails the report, and the record is the database's
  `report_schedule` (`SharedSentLog`), written through the write queue after the mails' outbox items, so a new
  leader knows what the old one queued: both reached the database, or (the old leader cut off and fenced) neither.
- **Catch-up.** A daemon that was not running at the due time sends the report when it starts: every month due
  since the schedule first ran (the file's `since`), up to `LOOKBACK_MONTHS` back, oldest first. A month due
  before the schedule first ran is not sent (a new installation does not mail a month it never watched).
- **Same figures.** Before the first build of a pass the schedule waits (up to `SETTLE_S`) until the database
  write queue has written everything queued so far (the last hour's rollups, the gap of a restart), so a report
  built at the due time has the figures a later `netmon report monthly --month` gives for the same month.
- **Off the loop.** The report is built in a worker thread (WeasyPrint is CPU-bound) from its own database
  connection. A failed build (database away, a bug) is logged and tried again after `RETRY_S`.

`due_reports` and `due_at` are pure; `ReportSchedule` gets its clock and sleep injected (tests run it on a fake
clock), the mail outbox as `post` (alerts.sinks.report_mail's `ReportMailQueue.post`; plain types, so the report
needs nothing of alerts/), and the write queue's stats as `backlog`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from netmon.backlog import fsync_dir
from netmon.config import Config
from netmon.config.report import ReportSchedule as ScheduleSettings
from netmon.model import Site, TimeZone
from netmon.report.period import Period, PeriodKind
from netmon.storage.queue import QueueStats

log = logging.getLogger(__name__)

STATE_FILE = "report-schedule.json"
LOOKBACK_MONTHS = 12  # a daemon down longer than this does not send older months
CHECK_S = 300.0  # the longest sleep: a clock that jumps (suspend, NTP) is noticed within this
RETRY_S = 600.0  # after a failed build
SETTLE_S = 600.0  # the longest wait for the database write queue before building anyway
SETTLE_POLL_S = 1.0

Sleep = Callable[[float], Awaitable[None]]


class PostMail(Protocol):
    """Put one mail in the durable outbox (alerts.sinks.report_mail's `ReportMailQueue.post`)."""

    def __call__(self, *, id: str, recipient: str, subject: str, body: str, at: float,
                 attachments: Sequence[tuple[str, bytes]]) -> None: ...


@dataclass(frozen=True, slots=True)
class Scope:
    """Who one report is about and for: a kabupaten (None: every site), the zone its clock runs on, the zones
    whose month must have ended, the recipients."""

    kabupaten: str | None
    clock_zone: TimeZone
    zones: tuple[TimeZone, ...]
    recipients: tuple[str, ...]

    @property
    def slug(self) -> str:
        if self.kabupaten is None:
            return "all"
        return re.sub(r"[^a-z0-9]+", "-", self.kabupaten.lower()).strip("-") or "kabupaten"


@dataclass(frozen=True, slots=True)
class Due:
    """One report to send: the month and scope, and when it became due."""

    period: Period
    scope: Scope
    at: float

    @property
    def key(self) -> str:
        """"2026-11/banyumas": what the state file remembers."""
        return f"{self.period.slug}/{self.scope.slug}"

    def mail_id(self, recipient: str) -> str:
        """The outbox item's id: stable per (month, scope, recipient)."""
        return f"report/{self.key}/{recipient}"


def scopes(schedule: ScheduleSettings, sites: Mapping[str, Site], default_zone: TimeZone) -> list[Scope]:
    """The reports the schedule sends: one per kabupaten (with recipients), or one for every site."""
    zones = tuple(z for z in TimeZone if any(s.timezone is z for s in sites.values()))
    if schedule.scope == "all":
        return [Scope(None, default_zone, zones or (default_zone,), tuple(dict.fromkeys(schedule.recipients)))]
    out: list[Scope] = []
    for name in sorted({s.kabupaten for s in sites.values()}):
        zone = next(s.timezone for s in sites.values() if s.kabupaten == name)
        recipients = tuple(dict.fromkeys([*schedule.recipients, *schedule.kabupaten_recipients.get(name, [])]))
        if recipients:
            out.append(Scope(name, zone, (zone,), recipients))
    return out


def due_at(schedule: ScheduleSettings, period: Period, scope: Scope) -> float:
    """When the report of `period` is due: `day` at `time` of the month after it, local in the scope's clock
    zone, and never before the period has ended in every zone of the scope."""
    hour, minute = (int(part) for part in schedule.time.split(":"))
    after = period.end_day
    local = datetime(after.year, after.month, schedule.day, hour, minute, tzinfo=scope.clock_zone.tzinfo)
    return max(local.timestamp(), *(period.bounds(zone)[1] for zone in scope.zones))


def _month_of(day: date) -> Period:
    return Period(PeriodKind.MONTH, day.year, day.month)


def due_reports(schedule: ScheduleSettings, all_scopes: Sequence[Scope], *, now: float, since: float,
                done: Collection[str]) -> list[Due]:
    """The reports due at `now` and not yet `done` (keys), due no earlier than `since`, oldest first."""
    found: list[Due] = []
    for scope in all_scopes:
        month = _month_of(scope.clock_zone.date_at(now))
        for _ in range(LOOKBACK_MONTHS):
            month = month.previous()
            due = Due(month, scope, due_at(schedule, month, scope))
            if due.at < since:
                break  # older months were due earlier still
            if due.at <= now and due.key not in done:
                found.append(due)
    return sorted(found, key=lambda d: (d.at, d.key))


def next_due(schedule: ScheduleSettings, all_scopes: Sequence[Scope], now: float) -> float | None:
    """The next instant after `now` at which some report becomes due."""
    times: list[float] = []
    for scope in all_scopes:
        month = _month_of(scope.clock_zone.date_at(now))
        times += [t for t in (due_at(schedule, month.previous(), scope), due_at(schedule, month, scope)) if t > now]
    return min(times, default=None)


class SentLog:
    """What the schedule has queued ({key: when}) and since when it runs, in a JSON file replaced atomically."""

    def __init__(self, path: Path, now: float) -> None:
        self.path = path
        self.since = now
        self.queued: dict[str, float] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.since = float(data["since"])
            self.queued = {str(k): float(v) for k, v in data["queued"].items()}
        except FileNotFoundError:
            log.info("report schedule: first run; months due from now on are mailed (%s)", path)
            self._write()
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("report schedule: %s is unreadable (%s); starting afresh: months due before now are not "
                      "mailed (netmon report monthly builds them)", path, exc)
            self._write()

    def add(self, key: str, at: float) -> None:
        self.queued[key] = at
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"since": self.since, "queued": self.queued}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)


SINCE = "*since*"  # the key of SharedSentLog's first run


@dataclass(frozen=True)
class SharedRecord:
    """Where a cluster keeps what its scheduled report has queued (the database's `report_schedule`, written by
    the leader in the same fenced order as the mails): `read()` (blocking) gives key -> when, `write(key, at)`
    puts one on the way (on the event loop)."""

    read: Callable[[], dict[str, float]]
    write: Callable[[str, float], None]


class SharedSentLog:
    """SentLog's record for a cluster: in the database, so whichever node leads knows what was queued."""

    def __init__(self, rows: dict[str, float], write: Callable[[str, float], None], now: float) -> None:
        self._write = write
        since = rows.pop(SINCE, None)
        self.queued = rows
        if since is None:
            log.info("report schedule: first run of this cluster's schedule; months due from now on are mailed")
            since = now
            write(SINCE, now)
        self.since = since

    def add(self, key: str, at: float) -> None:
        self.queued[key] = at
        self._write(key, at)


class ReportSchedule:
    def __init__(self, config: Config, post: PostMail, *, backlog: Callable[[], QueueStats | None] = lambda: None,
                 clock: Callable[[], float] = time.time, sleep: Sleep = asyncio.sleep,
                 shared: SharedRecord | None = None) -> None:
        """`shared`: a cluster's record in the database (else `<data_dir>/report-schedule.json`)."""
        schedule = config.report.schedule
        if schedule is None:
            raise ValueError("ReportSchedule needs report.schedule")
        self.settings = schedule
        self._config = config
        self._post = post
        self._backlog = backlog
        self.clock = clock
        self._sleep = sleep
        self.scopes = scopes(schedule, config.sites, config.timezone)
        self._state_path = Path(config.storage.data_dir).expanduser().resolve() / STATE_FILE
        self._shared = shared
        self._sent: SentLog | SharedSentLog | None = None  # read at the first pass (no I/O in the constructor)
        self._retry_at: dict[str, float] = {}
        self.passes = 0  # passes run (the first is the catch-up at start)

    async def run(self) -> None:
        """Send what is due (at once: the catch-up), then again at every due time, until cancelled."""
        while True:
            try:
                await self.send_due()
            except Exception:  # the daemon keeps running; the next pass tries again
                log.exception("report schedule: pass failed")
            self.passes += 1
            now = self.clock()
            wake = min([t for t in (next_due(self.settings, self.scopes, now), *self._retry_at.values())
                        if t is not None and t > now] or [now + CHECK_S])
            await self._sleep(min(CHECK_S, max(1.0, wake - now)))

    async def send_due(self) -> list[str]:
        """Build and queue every report due now and not queued before; returns their keys."""
        if self._sent is None:
            self._sent = await self._open_log()
        sent = self._sent
        now = self.clock()
        dues = [d for d in due_reports(self.settings, self.scopes, now=now, since=sent.since, done=sent.queued)
                if self._retry_at.get(d.key, 0.0) <= now]
        if not dues:
            return []
        await self._settle()
        queued: list[str] = []
        for due in dues:
            at = self.clock()
            try:
                files = await asyncio.to_thread(self.build, due, at)
            except Exception as exc:  # database away, a bug: this report only, again later
                self._retry_at[due.key] = at + RETRY_S
                log.error("report schedule: the report %s could not be built (%s: %s); trying again in %.0f min",
                          due.key, type(exc).__name__, exc, RETRY_S / 60, exc_info=not _expected(exc))
                continue
            self._retry_at.pop(due.key, None)
            self._queue(due, files, at)
            if isinstance(sent, SentLog):
                await asyncio.to_thread(sent.add, due.key, at)
            else:
                sent.add(due.key, at)  # into the write queue, after the mails: both land, or (fenced) neither
            queued.append(due.key)
        return queued

    async def _open_log(self) -> SentLog | SharedSentLog:
        if self._shared is None:
            return await asyncio.to_thread(SentLog, self._state_path, self.clock())
        rows = await asyncio.to_thread(self._shared.read)
        return SharedSentLog(rows, self._shared.write, self.clock())

    def build(self, due: Due, now: float) -> list[tuple[str, bytes]]:
        """The report's files (name, bytes), built from the database (blocking: run in a worker thread)."""
        from netmon.model import DEFAULT_TIMEZONE
        from netmon.report.build import agent_gaps_by_site, build_report, in_scope
        from netmon.report.condition import conditions_for
        from netmon.report.language import language
        from netmon.report.output import Format, write_report
        from netmon.storage import Store
        from netmon.storage.url import database_url

        config = self._config
        sites = in_scope(config.sites, due.scope.kabupaten)
        devices = {k: d for k, d in config.devices.items() if d.site in sites}
        store = Store.open(database_url(config.storage))
        try:
            conditions = conditions_for(store, devices, sites, due.period, config.asset_rules, now)
            since = due.period.bounds(DEFAULT_TIMEZONE)[0] - 86400.0  # a day before: every zone's start
            gaps = agent_gaps_by_site(store, config.agents.site_agent(), since)
            report = build_report(store, sites, devices, due.period, conditions, now=now,
                                  kabupaten=due.scope.kabupaten, gaps=gaps)
        finally:
            store.close()
        t = language(self.settings.language or config.report.language)
        formats = [Format(f) for f in self.settings.formats]
        with tempfile.TemporaryDirectory(prefix="netmon-report-") as tmp:
            written = write_report(report, formats, t, config.report, Path(tmp),
                                   generated=due.scope.clock_zone.date_at(now))
            return [(path.name, path.read_bytes()) for path in written]

    def _queue(self, due: Due, files: Sequence[tuple[str, bytes]], at: float) -> None:
        from netmon.report.language import language

        t = language(self.settings.language or self._config.report.language)
        scope = due.scope.kabupaten or t("all_kabupaten")
        zone = due.scope.clock_zone
        command = f"netmon report monthly --month {due.period.slug}" + (
            f" --kabupaten '{due.scope.kabupaten}'" if due.scope.kabupaten else "")
        local = datetime.fromtimestamp(at, zone.tzinfo)
        body = t("mail_body").format(period=t.period(due.period), scope=scope, zone=zone.abbreviation,
                                     date=f"{t.date(local.date())} {local:%H:%M} {zone.abbreviation}",
                                     files="\n".join(f"- {name}" for name, _ in files), command=command)
        subject = t("mail_subject").format(title=t("title"), period=t.period(due.period), scope=scope)
        for recipient in due.scope.recipients:
            self._post(id=due.mail_id(recipient), recipient=recipient, subject=subject, body=body, at=at,
                       attachments=files)
        log.info("report schedule: the report %s is queued for %d recipients (%s)", due.key,
                 len(due.scope.recipients), ", ".join(f"{name} {len(data) // 1024} KiB" for name, data in files))

    async def _settle(self) -> None:
        """Wait until the write queue has written what was queued before now (at most SETTLE_S)."""
        stats = self._backlog()
        if stats is None:
            return
        target = stats.written_total + stats.rejected_total + stats.depth + stats.spooled
        deadline = self.clock() + SETTLE_S
        while (stats := self._backlog()) is not None and stats.written_total + stats.rejected_total < target:
            if self.clock() >= deadline:
                log.warning("report schedule: the database has not written its backlog in %.0f min; building "
                            "the report from what it holds", SETTLE_S / 60)
                return
            await self._sleep(SETTLE_POLL_S)


def _expected(exc: Exception) -> bool:
    """A failure the log line says enough about (no traceback): the database, the disk."""
    from netmon.errors import StorageError

    return isinstance(exc, StorageError | OSError)
