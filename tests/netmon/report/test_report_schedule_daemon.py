"""The scheduled report through the real daemon (`NetmonApp.serve`, in-process, its clock injected): a daemon that
was stopped over the due time mails the previous month's report as it starts (the catch-up), through its
`report-mail` outbox to a real SMTP server, and a daemon started again does not mail it a second time."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import report_scenario as sc
from smtp_peer import RestartableSmtp

from netmon.app import NetmonApp
from netmon.config import Config
from netmon.config.report import ReportConfig, ReportMailServer, ReportSchedule
from netmon.config.schema import ExporterConfig, StorageConfig
from netmon.storage import Store

pytestmark = pytest.mark.integration
KABID = "kabid@kominfo.banyumaskab.go.id"


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
    url = f"sqlite:///{tmp_path / 'netmon.sqlite3'}"
    store = Store.open(url)
    store.upgrade()
    sc.fill(store)
    store.close()
    mail = ReportMailServer(host="127.0.0.1", port=smtp.port, sender="netmon@kominfo.banyumaskab.go.id",
                            starttls=False)
    # the devices are not polled (no sources): the history is the scenario's, nothing the test machine's clock adds
    devices = {k: dataclasses.replace(d, sources=()) for k, d in sc.DEVICES.items()}
    return Config(sites=sc.SITES, devices=devices, exporter=ExporterConfig(port=0),
                  storage=StorageConfig(database_url=url, data_dir=str(tmp_path / "data")),
                  report=ReportConfig(schedule=ReportSchedule(recipients=[KABID], mail=mail)))


async def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 90  # a guard against a hang; the waiting time is never asserted
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def run_daemon(config: Config, now: float, done: Callable[[NetmonApp], bool]) -> NetmonApp:
    """Serve with the report schedule's clock at `now` until `done(app)`, then stop as SIGTERM does."""
    app = NetmonApp(config)
    app.report_clock = lambda: now
    stop = asyncio.Event()
    serving = asyncio.create_task(app.serve(stop))
    try:
        await until(lambda: serving.done() or done(app), "the daemon")
    finally:
        stop.set()
        await serving
    return app


def first_pass(app: NetmonApp) -> bool:
    return app.reports is not None and app.reports.passes >= 1


async def test_a_daemon_stopped_over_the_due_time_mails_the_report_at_start_and_only_once(
        config: Config, smtp: RestartableSmtp) -> None:
    await run_daemon(config, sc.at("2026-11-25T00:00"), first_pass)  # ran before the due time, then stopped
    assert smtp.messages == []

    started = await run_daemon(config, sc.at("2026-12-04T09:00"),  # three days after the due time
                               lambda app: first_pass(app) and len(smtp.messages) == 2)
    assert sorted(str(m["X-Netmon-Delivery"]) for m in smtp.messages) == [
        f"report/2026-11/badung/{KABID}", f"report/2026-11/banyumas/{KABID}"]
    assert started.report_outputs["report-mail"].stats.pending == 0
    for message in smtp.messages:
        assert [str(p.get_filename()).rsplit(".", 1)[1] for p in message.iter_attachments()] == ["pdf", "xlsx"]

    again = await run_daemon(config, sc.at("2026-12-05T09:00"), first_pass)
    assert again.report_outputs["report-mail"].stats.delivered_total == 0
    assert len(smtp.messages) == 2
