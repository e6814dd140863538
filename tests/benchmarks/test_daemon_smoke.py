"""Smoke test of benchmarks/daemon.py at its smallest: `netmon run` on 30 simulated access points at a 5 s
interval (SQLite), alerts, ticket mail and MQTT on, scraped by a real Prometheus every 2 s; 3 devices fail and
come back.

Behaviour only: no timing is asserted (the figures themselves are for docs/performance.md). The window ends as
soon as the failed devices' outages have closed (at most 150 s).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil

import pytest
from peers import require

from benchmarks import daemon as bench

ARGS = ["--devices", "30", "--interval", "5", "--scrape-every", "2", "--duration", "150", "--until-done",
        "--fail-share", "0.1", "--down-after-failures", "2", "--down-after", "10", "--device-down-for", "2"]


def row(out: str, figure: str) -> str:
    match = re.search(rf"^{re.escape(figure)}\s+(.*?)\s*$", out, re.MULTILINE)
    assert match, f"{figure!r} missing from the report:\n{out}"
    return match.group(1)


def test_daemon_benchmark_polls_every_device_and_sees_outages_and_tickets(
        capsys: pytest.CaptureFixture[str]) -> None:
    require(shutil.which("prometheus") is not None, "`prometheus` not found; install Debian package `prometheus`")
    require(shutil.which("mosquitto") is not None or os.access("/usr/sbin/mosquitto", os.X_OK),
            "`mosquitto` not found; install Debian package `mosquitto`")
    require(importlib.util.find_spec("aiosmtpd") is not None, "aiosmtpd not installed; pip install -e '.[test]'")

    assert bench.main(ARGS) == 0
    out = capsys.readouterr().out

    assert row(out, "devices polled in the window (seen by the devices)") == "30 of 30"
    assert row(out, "missed cycles (netmon_scheduler_missed_cycles_total)").isdigit()  # a count (its value: load)
    assert row(out, "failing devices (stopped, then answering again)") == "3"
    for figure in ("failure -> outage row in the database: seen / p50 / max",
                   "failure -> ticket mail at the sink: seen / p50 / max",
                   "answering again -> outage closed in the database: seen / max"):
        assert row(out, figure).startswith("3 / "), figure
    assert row(out, "outage rows of devices that did not fail").isdigit()  # 0 unless the machine starves the daemon
    scrapes = row(out, "scrapes in the window (up=1 / all); series per scrape")
    assert int(scrapes.split(" / ")[0]) >= 1  # Prometheus scraped the daemon
    for figure in ("polls (netmon_scheduler_polls_total)", "scrape duration p50 / max (Prometheus "
                   "scrape_duration_seconds)", "database records written (netmon_storage_records_written_total)",
                   "daemon CPU per scrape p50 / max (CPU during the scrape minus the rate between scrapes)",
                   "CPU per /metrics page, the daemon's own count (netmon_exporter_page_cpu_seconds_total / "
                   "pages_total)",
                   "poll-start lag p50 / p99 / max (seen by the devices)"):
        value = row(out, figure)
        assert "n/a" not in value and "nan" not in value, f"{figure}: {value}"
    for process in ("netmon run (daemon)", "simulated devices", "prometheus", "mosquitto"):
        assert " of one core; " in row(out, f"CPU; peak RSS (whole run / in the window): {process}")
