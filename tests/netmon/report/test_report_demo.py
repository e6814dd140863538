"""The demo can report on what it recorded: the simulated demo sites polled by a real daemon for a short while (one
AP stopped to make an outage), the daemon stopped, then `netmon report monthly` on its database."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from peers import HANG_GUARD_S, NETMON, REPO, command, fetch, free_tcp_port, require_tool, simulated_demo

from netmon.config import load_config
from netmon.model import TimeZone

AP = "kim-karangmangu-ap"


def _wait(port: int, needle: str, what: str, daemon: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline:
        assert daemon.poll() is None, f"the daemon exited ({daemon.returncode}) waiting for {what}"
        status, text = fetch(f"http://127.0.0.1:{port}/metrics")
        if status == 200 and needle in text:
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.skipif(sys.platform != "linux", reason="uses POSIX signals and loopback simulators")
def test_report_on_the_demo_database(tmp_path: Path) -> None:
    pdftotext = require_tool("pdftotext", "poppler-utils")
    with simulated_demo(tmp_path) as (config, sim):
        port = free_tcp_port()
        started = time.time()
        daemon = subprocess.Popen([*NETMON, "run", "--config", str(config), "--port", str(port)], cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        try:
            _wait(port, f'netmon_device_state{{device="{AP}",state="up"}} 1.0', "the AP up", daemon)
            command(sim, f"stop {AP}")
            _wait(port, f'netmon_device_outage_active{{cause="device",device="{AP}"}} 1.0', "the AP's outage", daemon)
            command(sim, f"start {AP}")
            _wait(port, f'netmon_device_state{{device="{AP}",state="up"}} 1.0', "the AP back", daemon)
        finally:
            daemon.send_signal(signal.SIGTERM)  # a clean stop flushes the running hour's rollups
            daemon.wait(HANG_GUARD_S)
    cfg = load_config(config, resolve_secrets=False)
    zone = next(iter(cfg.sites.values())).timezone if cfg.sites else TimeZone.WIB
    month = zone.local(started).strftime("%Y-%m")  # the month the demo ran in (the data's, not a fixed one)
    out = tmp_path / "report"
    result = subprocess.run([*NETMON, "report", "monthly", "--config", str(config), "--month", month, "--out",
                             str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = sorted(Path(line).name for line in result.stdout.splitlines())
    assert f"laporan-aset-{month}.pdf" in names and f"laporan-aset-{month}.xlsx" in names
    text = subprocess.run([pdftotext, "-layout", str(out / f"laporan-aset-{month}.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Laporan Kondisi Aset Jaringan KIM" in text and "Halaman 1 dari" in text
    assert all(site.desa in text for site in cfg.sites.values())
    book = openpyxl.load_workbook(out / f"laporan-aset-{month}.xlsx")
    sites = {row[2].value: row for row in book["sites"].iter_rows(min_row=2)}
    assert set(sites) == {s.name for s in cfg.sites.values()}
    header = [c.value for c in book["sites"][1]]
    karangmangu = next(r for r in sites.values() if r[3].value == "Karangmangu")
    # the stopped AP's outage is in the figures; coverage is part of the month (the demo ran for minutes)
    assert karangmangu[header.index("Jumlah padam")].value >= 1
    assert 0 < karangmangu[header.index("Cakupan data")].value < 1
    assert all(0 <= r[header.index("Ketersediaan")].value <= 1 for r in sites.values())
    # every asset has a condition from the rules over what the demo recorded; the stopped AP's evidence names
    # its own outage
    assets = book["assets"]
    head = [c.value for c in assets[1]]
    rows = {r[head.index("Perangkat")]: dict(zip(head, r, strict=True)) for r in assets.iter_rows(min_row=2,
                                                                                                  values_only=True)}
    assert set(rows) == set(cfg.devices)
    assert all(r["Kondisi usulan"] in {"B", "RR", "RB"} and r["Kondisi"] in {"B", "RR", "RB"} and r["Bukti"]
               for r in rows.values())
    assert rows[AP]["Bukti"].startswith("gangguan perangkat "), rows[AP]
    assert "Kondisi Aset (KIB B)" in text and "Bukti" in text and "gangguan perangkat" in text
