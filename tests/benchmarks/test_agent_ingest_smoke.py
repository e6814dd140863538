"""Smoke test of benchmarks/agent_ingest.py at its smallest: two live agents and one returning with a backlog,
three devices each, a 6 s interval, through its own Mosquitto into the real office daemon (SQLite).

Behaviour only: no timing is asserted (the figures themselves are for docs/performance.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from peers import require

from benchmarks import agent_ingest as bench
from netmon.storage import Store


def test_agent_ingest_benchmark_ingests_every_result_once_and_fills_in_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require(shutil.which("mosquitto") is not None or os.access("/usr/sbin/mosquitto", os.X_OK),
            "`mosquitto` not found; install Debian package `mosquitto`")
    plan = bench.Plan(agents=2, backlog_agents=1, devices=3, interval_s=6.0, backlog_minutes=70, warmup_s=2.0,
                      steady_s=6.0, direct_results=90)
    report = bench.run(plan, tmp_path, say=lambda _line: None)

    assert report.template_samples > 10  # a real poll of the standard access point
    assert report.direct["results"] == 90 and report.direct["written"] > 0
    assert report.steady["results"] > 0 and report.steady_lags  # the live agents were ingested, lag measured
    assert report.steady["silent"] == 1  # the returning agent, silent before its return
    c = report.catchup
    assert report.publishers["backlog"] == plan.backlog_total == 210 and c["live_results"] > 0
    assert c["duplicates"] == 0 and c["gaps"] == 0 and c["rejected"] == 0
    assert c["written"] > 0 and c["live_agents_after"] == 3
    assert report.office["last_seq"]["back-000"] > 210  # the whole backlog, then live results

    # the outage inside the backlog is in history with its real times: from the first failed poll (a 2 s
    # timeout ending at minute 35) to the first good one (a fraction of a second ending at minute 65)
    store = Store.open(f"sqlite:///{tmp_path / 'office' / 'netmon.db'}")
    try:
        outages = store.outages(device="back-000-d00")
    finally:
        store.close()
    assert len(outages) == 1
    assert outages[0].started_at == pytest.approx(report.back_at - 35 * 6.0 - 2.0, abs=0.001)
    assert outages[0].ended_at == pytest.approx(report.back_at - 5 * 6.0, abs=1.0)

    bench.print_report(report)
    out = capsys.readouterr().out
    assert "Steady state" in out and "ratio MQTT path / baseline" in out
