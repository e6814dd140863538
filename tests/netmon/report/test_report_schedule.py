"""The scheduled report (netmon/report/schedule.py): when each kabupaten's report is due (a table, pure), and the
whole road with real parts: the scenario month in a real SQLite store, the schedule on an injected clock, the
real durable outbox and the report mail sink, and aiosmtpd receiving the mail, whose PDF is read with pdftotext
and whose XLSX with openpyxl. SMTP away at the due time, a restart after queueing, a daemon that was down at the
due time: each report still arrives exactly once."""

from __future__ import annotations

import asyncio
import io
import json
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import report_scenario as sc
from peers import require_tool
from smtp_peer import RestartableSmtp

from alerts.sinks.report_mail import QUEUE, report_mail_sink
from netmon.config import Config
from netmon.config.alerting import AlertSettings
from netmon.config.report import ReportConfig, ReportMailServer, ReportSchedule
from netmon.config.schema import StorageConfig
from netmon.model import Cause, Outage, TimeZone
from netmon.outbox import Outbox
from netmon.report.period import Period, PeriodKind
from netmon.report.schedule import STATE_FILE, Due, due_at, due_reports, next_due, scopes
from netmon.report.schedule import ReportSchedule as Schedule
from netmon.storage import Store

at = sc.at
NOVEMBER = Period(PeriodKind.MONTH, 2026, 11)
BADUNG_DUE = at("2026-11-30T23:00")  # 1 Dec 07:00 WITA
BANYUMAS_DUE = at("2026-12-01T00:00")  # 1 Dec 07:00 WIB
KABID, STAF, BALI = "kabid@kominfo.banyumaskab.go.id", "aset@kominfo.banyumaskab.go.id", "kominfo@badungkab.go.id"


# --- when: pure --------------------------------------------------------------------------------------------

def schedule(**options: Any) -> ReportSchedule:
    return ReportSchedule(**({"recipients": [KABID]} | options))


@pytest.mark.parametrize(("options", "default_zone", "expected"), [
    ({}, TimeZone.WIB, {"Badung": "2026-11-30T23:00", "Banyumas": "2026-12-01T00:00"}),
    ({"day": 5, "time": "13:30"}, TimeZone.WIB, {"Badung": "2026-12-05T05:30", "Banyumas": "2026-12-05T06:30"}),
    ({"scope": "all"}, TimeZone.WIB, {None: "2026-12-01T00:00"}),
    ({"scope": "all"}, TimeZone.WITA, {None: "2026-11-30T23:00"}),
    # 00:00 WIT on the 1st is 22:00 WIB on the 30th: not before November has ended in WIB too
    ({"scope": "all", "time": "00:00"}, TimeZone.WIT, {None: "2026-11-30T17:00"}),
], ids=["kabupaten-own-zones", "day-5-13:30", "all-wib", "all-wita", "all-waits-for-the-last-zone"])
def test_each_report_is_due_on_its_own_zones_clock(options: dict[str, Any], default_zone: TimeZone,
                                                   expected: dict[str | None, str]) -> None:
    settings = schedule(**options)
    found = {s.kabupaten: due_at(settings, NOVEMBER, s) for s in scopes(settings, sc.SITES, default_zone)}
    assert found == {k: at(v) for k, v in expected.items()}


def test_kabupaten_recipients_add_to_everyones_and_a_kabupaten_without_any_gets_no_report() -> None:
    settings = ReportSchedule(kabupaten_recipients={"Banyumas": [KABID, STAF]})
    assert [(s.kabupaten, s.recipients) for s in scopes(settings, sc.SITES, TimeZone.WIB)] == [
        ("Banyumas", (KABID, STAF))]
    settings = ReportSchedule(recipients=[KABID], kabupaten_recipients={"Badung": [BALI, KABID]})
    assert [(s.kabupaten, s.recipients) for s in scopes(settings, sc.SITES, TimeZone.WIB)] == [
        ("Badung", (KABID, BALI)), ("Banyumas", (KABID,))]


def keys(dues: list[Due]) -> list[str]:
    return [d.key for d in dues]


@pytest.mark.parametrize(("now", "since", "done", "expected"), [
    ("2026-11-30T22:59", "2026-10-02T00:00", [], ["2026-10/badung", "2026-10/banyumas"]),
    ("2026-11-30T23:00", "2026-11-02T00:00", [], ["2026-11/badung"]),
    ("2026-12-01T00:00", "2026-11-02T00:00", [], ["2026-11/badung", "2026-11/banyumas"]),
    ("2026-12-20T00:00", "2026-11-02T00:00", ["2026-11/badung"], ["2026-11/banyumas"]),
    # down from mid-November to February: every month due since the schedule first ran, oldest first
    ("2027-02-03T00:00", "2026-11-02T00:00", [],
     ["2026-11/badung", "2026-11/banyumas", "2026-12/badung", "2026-12/banyumas", "2027-01/badung",
      "2027-01/banyumas"]),
    # a first start after the due time: a month it never watched is not mailed
    ("2026-12-03T00:00", "2026-12-02T00:00", [], []),
    ("2028-06-01T00:00", "2026-01-01T00:00", ["2028-04/badung", "2028-04/banyumas"],
     [f"{month}/{k}" for month in [*(f"2027-{i:02d}" for i in range(6, 13)), "2028-01", "2028-02", "2028-03",
                                   "2028-05"] for k in ("badung", "banyumas")]),
], ids=["october-only-before-due", "badung-first", "both", "one-done", "catch-up-three-months", "fresh-install",
        "lookback-12-months"])
def test_what_is_due(now: str, since: str, done: list[str], expected: list[str]) -> None:
    settings = schedule()
    found = keys(due_reports(settings, scopes(settings, sc.SITES, TimeZone.WIB), now=at(now), since=at(since),
                             done=done))
    assert sorted(found) == sorted(expected)
    assert found == sorted(found, key=lambda k: (k[:7], k))  # oldest first


def test_the_next_due_time_is_the_nearest_kabupatens() -> None:
    settings = schedule()
    all_scopes = scopes(settings, sc.SITES, TimeZone.WIB)
    assert next_due(settings, all_scopes, at("2026-11-15T00:00")) == BADUNG_DUE
    assert next_due(settings, all_scopes, BADUNG_DUE) == BANYUMAS_DUE
    assert next_due(settings, all_scopes, BANYUMAS_DUE) == at("2026-12-31T23:00")


# --- the whole road: store, schedule, outbox, SMTP ---------------------------------------------------------

class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Backoff:
    """The outbox's sleep: takes no real time; brings the SMTP server back after `back_after` retries."""

    def __init__(self, server: RestartableSmtp, back_after: int) -> None:
        self.server, self.back_after, self.waits = server, back_after, 0

    async def sleep(self, seconds: float) -> None:
        self.waits += 1
        if self.waits == self.back_after:
            self.server.start()
        await asyncio.sleep(0)


@pytest.fixture
def smtp() -> Iterator[RestartableSmtp]:
    server = RestartableSmtp()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(tmp_path: Path, smtp: RestartableSmtp) -> Config:
    """The scenario month in SQLite; a schedule mailing both kabupaten's reports, Banyumas's to two people."""
    url = f"sqlite:///{tmp_path / 'netmon.sqlite3'}"
    store = Store.open(url)
    store.upgrade()
    sc.fill(store)
    store.close()
    mail = ReportMailServer(host="127.0.0.1", port=smtp.port, sender="netmon@kominfo.banyumaskab.go.id",
                            starttls=False, domain="netmon.banyumaskab.go.id")
    report = ReportConfig(pemda="Pemerintah Kabupaten Banyumas", opd="Dinas Komunikasi dan Informatika",
                          place="Purwokerto", schedule=ReportSchedule(recipients=[KABID], kabupaten_recipients={
                              "Banyumas": [STAF], "Badung": [BALI]}, mail=mail))
    return Config(sites=sc.SITES, devices=sc.DEVICES, storage=StorageConfig(database_url=url,
                                                                            data_dir=str(tmp_path / "data")),
                  report=report)


def outbox(config: Config, sleep: Any = asyncio.sleep) -> Outbox:
    sink = report_mail_sink(config.report, {}, AlertSettings())
    assert sink is not None
    return Outbox(QUEUE, Path(config.storage.data_dir) / "outbox" / QUEUE, sink.deliver, sleep=sleep,
                  rng=random.Random(5))


async def deliver(box: Outbox, count: int) -> None:
    runner = asyncio.create_task(box.run())
    deadline = time.monotonic() + 60  # a guard against a hang, not an assertion on timing
    while box.stats.delivered_total < count:
        assert time.monotonic() < deadline, box.stats
        await asyncio.sleep(0.01)
    await box.drain(5)
    await runner


def ids(messages: list[EmailMessage]) -> list[str]:
    return sorted(str(m["X-Netmon-Delivery"]) for m in messages)


ALL_NOVEMBER = sorted(f"report/2026-11/{k}/{r}" for k, r in (("badung", KABID), ("badung", BALI),
                                                             ("banyumas", KABID), ("banyumas", STAF)))


def attachment(message: EmailMessage, suffix: str) -> bytes:
    [data] = [p.get_content() for p in message.iter_attachments() if str(p.get_filename()).endswith(suffix)]
    assert isinstance(data, bytes)
    return data


def pdf_text(data: bytes, tmp_path: Path) -> str:
    tool = require_tool("pdftotext", "poppler-utils")
    path = tmp_path / "mailed.pdf"
    path.write_bytes(data)
    return subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def sheets(data: bytes) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {s.title: [[c.value for c in row] for row in s.iter_rows()] for s in book.worksheets}


async def test_the_due_report_arrives_with_its_pdf_and_xlsx_and_the_same_figures_as_a_later_build(
        config: Config, smtp: RestartableSmtp, tmp_path: Path) -> None:
    clock = Clock(at("2026-11-02T00:00"))
    box = outbox(config)
    reports = Schedule(config, _poster(box), clock=clock)
    assert await reports.send_due() == []  # first run: remembers since when it runs
    clock.now = BADUNG_DUE + 60
    assert await reports.send_due() == ["2026-11/badung"]
    clock.now = BANYUMAS_DUE + 60
    assert await reports.send_due() == ["2026-11/banyumas"]
    assert await reports.send_due() == []
    await deliver(box, 4)

    assert ids(smtp.messages) == ALL_NOVEMBER
    mailed = {str(m["X-Netmon-Delivery"]): m for m in smtp.messages}
    banyumas = mailed[f"report/2026-11/banyumas/{STAF}"]
    assert str(banyumas["Subject"]) == "Laporan Kondisi Aset Jaringan KIM: November 2026, Banyumas"
    assert banyumas["Message-ID"] == f"<report/2026-11/banyumas/{STAF.replace('@', '=40')}@netmon.banyumaskab.go.id>"
    assert [p.get_filename() for p in banyumas.iter_attachments()] == [
        "laporan-aset-2026-11-banyumas.pdf", "laporan-aset-2026-11-banyumas.xlsx"]
    body = banyumas.get_body(("plain",))
    assert body is not None and "netmon report monthly --month 2026-11 --kabupaten 'Banyumas'" in body.get_content()

    # Badung's PDF as a person reads it, its figures the XLSX's
    badung = mailed[f"report/2026-11/badung/{BALI}"]
    text = pdf_text(attachment(badung, ".pdf"), tmp_path)
    book = sheets(attachment(badung, ".xlsx"))
    kuta = next(r for r in book["summary"][1:] if r[1] == "Kuta")
    for words in ("PEMERINTAH KABUPATEN BANYUMAS", "November 2026", "Badung", "Kedonganan",
                  f"{kuta[4] * 100:.1f} %".replace(".", ","), "Halaman 1 dari"):
        assert words in text, words
    assert "Ketenger" not in text
    assert kuta[4] == pytest.approx((2 * 684 - 32) / 1368)  # docs/reports.md: Kuta's availability, by hand

    # the same month built again weeks later, with December's history written meanwhile: the same figures
    store = Store.open(str(config.storage.database_url))
    store.write([Outage("dec", "kedonganan-router", "kim-kedonganan", at("2026-12-10T00:00"), Cause.DEVICE,
                        ended_at=at("2026-12-11T00:00"))])
    store.close()
    later = reports.build(Due(NOVEMBER, reports.scopes[0], BADUNG_DUE), at("2026-12-20T00:00"))
    assert sheets(dict(later)["laporan-aset-2026-11-badung.xlsx"]) == book


def _poster(box: Outbox) -> Any:
    from alerts.sinks.report_mail import ReportMailQueue

    return ReportMailQueue(box).post


async def test_smtp_away_at_the_due_time_the_mails_go_out_once_it_is_back(config: Config,
                                                                          smtp: RestartableSmtp) -> None:
    smtp.stop()
    clock = Clock(at("2026-11-02T00:00"))
    backoff = Backoff(smtp, back_after=4)
    box = outbox(config, backoff.sleep)
    reports = Schedule(config, _poster(box), clock=clock)
    await reports.send_due()
    clock.now = BANYUMAS_DUE + 3600
    assert await reports.send_due() == ["2026-11/badung", "2026-11/banyumas"]
    await deliver(box, 4)
    assert backoff.waits >= 4  # it was away, and retried until it was back
    assert ids(smtp.messages) == ALL_NOVEMBER  # each exactly once


async def test_a_restart_after_queueing_sends_each_mail_once(config: Config, smtp: RestartableSmtp) -> None:
    smtp.stop()
    clock = Clock(at("2026-11-02T00:00"))
    first = Schedule(config, _poster(box := outbox(config)), clock=clock)
    await first.send_due()
    clock.now = BANYUMAS_DUE + 60
    assert await first.send_due() == ["2026-11/badung", "2026-11/banyumas"]
    assert box.stats.pending == 4
    await box.drain(0.1)  # the daemon stops with the mails undelivered (SMTP away)

    smtp.start()
    clock.now = BANYUMAS_DUE + 7200  # the restarted daemon: a new outbox on the journal, a new schedule
    again = Schedule(config, _poster(box := outbox(config)), clock=clock)
    assert box.stats.pending == 4
    assert await again.send_due() == []  # already queued: not again
    await deliver(box, 4)
    assert ids(smtp.messages) == ALL_NOVEMBER
    state = json.loads((Path(config.storage.data_dir) / STATE_FILE).read_text())
    assert set(state["queued"]) == {"2026-11/badung", "2026-11/banyumas"}


async def test_a_daemon_down_at_the_due_time_catches_up_when_it_starts(config: Config,
                                                                      smtp: RestartableSmtp) -> None:
    clock = Clock(at("2026-11-25T00:00"))
    assert await Schedule(config, _poster(outbox(config)), clock=clock).send_due() == []  # ran, then stopped
    clock.now = at("2026-12-04T09:00")  # started again three days after the due time
    box = outbox(config)
    reports = Schedule(config, _poster(box), clock=clock, sleep=lambda _s: asyncio.Event().wait())
    runner = asyncio.create_task(reports.run())
    await deliver(box, 4)
    runner.cancel()
    assert ids(smtp.messages) == ALL_NOVEMBER
    assert all(m["Date"] == "Fri, 04 Dec 2026 09:00:00 +0000" for m in smtp.messages)


async def test_a_report_that_cannot_be_built_is_tried_again_later(config: Config, smtp: RestartableSmtp,
                                                                 tmp_path: Path) -> None:
    away = tmp_path / "away" / "netmon.sqlite3"  # its directory is missing: the database cannot be opened
    broken = Config(sites=config.sites, devices=config.devices, report=config.report, storage=StorageConfig(
        database_url=f"sqlite:///{away}", data_dir=config.storage.data_dir))
    clock = Clock(at("2026-11-02T00:00"))
    await Schedule(broken, _poster(outbox(config)), clock=clock).send_due()
    clock.now = BANYUMAS_DUE
    reports = Schedule(broken, _poster(box := outbox(config)), clock=clock)
    assert await reports.send_due() == []
    assert box.stats.pending == 0
    clock.now += 60
    assert await reports.send_due() == []  # not before RETRY_S
    away.parent.mkdir()  # the database is back
    shutil.copy(tmp_path / "netmon.sqlite3", away)
    clock.now += 600
    assert await reports.send_due() == ["2026-11/badung", "2026-11/banyumas"]



async def test_in_a_cluster_a_new_leader_knows_what_the_old_one_queued(config: Config, smtp: RestartableSmtp,
                                                                        tmp_path: Path) -> None:
    """Two nodes, two data directories, one database: the record is the database's `report_schedule`, so the
    node that leads after the due time does not queue the month again (with each node's own file it would)."""
    from dataclasses import replace

    from netmon.report.schedule import SharedRecord
    from netmon.storage.record import ReportQueued

    url = str(config.storage.database_url)

    def read() -> dict[str, float]:
        store = Store.open(url)
        try:
            return store.report_schedule()
        finally:
            store.close()

    def write(key: str, when: float) -> None:  # the write queue's part, at once
        store = Store.open(url)
        try:
            store.write([ReportQueued(key, when)])
        finally:
            store.close()

    shared = SharedRecord(read=read, write=write)
    clock = Clock(at("2026-11-02T00:00"))
    old = Schedule(config, _poster(box := outbox(config)), clock=clock, shared=shared)
    assert await old.send_due() == []  # the cluster's first run
    clock.now = BANYUMAS_DUE + 60
    assert await old.send_due() == ["2026-11/badung", "2026-11/banyumas"]
    await deliver(box, 4)

    other = replace(config, storage=config.storage.model_copy(update={"data_dir": str(tmp_path / "node-2")}))
    clock.now = BANYUMAS_DUE + 3600  # the old leader died; the other node leads
    new = Schedule(other, _poster(outbox(other)), clock=clock, shared=shared)
    assert await new.send_due() == []  # queued by the old leader: not again
    assert set(read()) == {"*since*", "2026-11/badung", "2026-11/banyumas"}
    assert read()["*since*"] == at("2026-11-02T00:00")  # since the cluster's schedule first ran
    assert ids(smtp.messages) == ALL_NOVEMBER  # each mail once

    # for contrast, each node's own file: the other node, had it led since 2 November, would queue November again
    clock.now = at("2026-11-02T00:00")
    assert await Schedule(other, _poster(outbox(other)), clock=clock).send_due() == []
    clock.now = BANYUMAS_DUE + 3600
    assert await Schedule(other, _poster(outbox(other)), clock=clock).send_due() == ["2026-11/badung",
                                                                                     "2026-11/banyumas"]
