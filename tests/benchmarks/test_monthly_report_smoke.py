"""Smoke test of benchmarks/monthly_report.py (and its history generator) at a tiny size: the history is written
through the Store, every phase runs in its own process and reports, on SQLite and PostgreSQL. Behaviour only:
no timing is asserted (the figures are for docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers import postgres_database

from benchmarks import monthly_report
from benchmarks.report_history import province, write_history
from netmon.model import Cause, Source
from netmon.report.period import parse_period
from netmon.storage import Store


def test_generated_history_is_seeded_and_has_every_kind_of_record(tmp_path: Path) -> None:
    stores = []
    for name in ("a", "b"):
        store = Store.open(f"sqlite:///{tmp_path / name}.db")
        store.upgrade()
        write_history(store, 8, parse_period(month="2026-11"), seed=5)
        stores.append(store)
    a, b = stores
    assert a.outages() == b.outages() and a.reboots() == b.reboots() and a.rollups() == b.rollups()
    sites, devices = province(8)
    assert len(sites) == 8 and len(devices) == 24
    assert {r.device for r in a.rollups()} == set(devices)
    assert {o.cause for o in a.outages()} >= {Cause.SITE, Cause.DEVICE}
    assert a.unknown_spans() and a.incidents() and a.tickets() and a.daily_uniques()
    assert len(a.load_discoveries(Source.SNMP)) == 24
    for store in stores:
        store.close()


def test_every_phase_runs_and_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert monthly_report.main(["--sites", "4", "--baseline-sites", "2", "--backends", "sqlite",
                                "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Monthly report 2026-11, 4 sites / 12 assets (sqlite)" in out
    for phase in monthly_report.PHASES:
        assert f"\n{phase} " in out
    assert "Scaling (sqlite): 2 -> 4 sites" in out and "pages" in out
    assert list(tmp_path.iterdir()) == []  # its databases and files were temporary


def test_postgresql_run_reports_the_same_phases(tmp_path: Path) -> None:
    with postgres_database():  # the server is there (else a loud skip; CI: a failure)
        pass
    result = monthly_report.run("postgresql", 2, ("build", "csv"), tmp_path, seed=3, timeout_s=300)
    assert result.records > 0 and set(result.phases) == {"build", "csv"}
    assert result.phases["csv"].files == 5 and result.phases["build"].rss_mb > 0
