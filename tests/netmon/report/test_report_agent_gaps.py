"""A site agent's lost results (issue #14: its outbox bound dropped them, or the office gave up on them) are in
the monthly report as time not covered, neither up nor down, and listed per site with the agent and the period:
the office's report says which period is missing. Run through the real command on the scenario month, with
the agent declared under `agents:` in the config and the gap stored as the office's ingest stores it."""

from __future__ import annotations

import csv
from pathlib import Path

import report_scenario as sc
import yaml
from test_report_files import pdf_text, report, scenario_config

from netmon.config import load_config
from netmon.report.build import agent_gaps_by_site, build_report
from netmon.report.period import parse_period
from netmon.storage import AgentGap, Store

SITE = "kim-kotayasa"  # WIB
AGENT = "kec-sumbang-1"
LOST = (sc.at("2026-11-10T00:00"), sc.at("2026-11-11T00:00"))  # a day (UTC) the agent's outbox dropped


def _with_agent(config: Path) -> Path:
    doc = yaml.safe_load(config.read_text())
    doc["agents"] = {"list": [{"id": AGENT, "sites": [SITE]}]}
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def _store_gap(url: str) -> None:
    store = Store.open(url)
    try:
        store.write([AgentGap(AGENT, 1001, 2440, LOST[0], LOST[1], 1440, "dropped")])
    finally:
        store.close()


def test_lost_agent_data_is_not_covered_and_is_listed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'netmon.sqlite3'}"
    config = scenario_config(tmp_path, url)
    cfg = load_config(config, resolve_secrets=False)
    period = parse_period(month="2026-11")
    store = Store.open(url)
    try:
        before = build_report(store, cfg.sites, cfg.devices, period, {}, now=sc.NOW)
    finally:
        store.close()

    _store_gap(url)
    cfg = load_config(_with_agent(config), resolve_secrets=False)
    store = Store.open(url)
    try:
        gaps = agent_gaps_by_site(store, cfg.agents.site_agent(), LOST[0] - 86400)
        after = build_report(store, cfg.sites, cfg.devices, period, {}, now=sc.NOW, gaps=gaps)
    finally:
        store.close()

    assert set(gaps) == {SITE}
    was = {s.site.id: s.uptime for s in before.sites}
    now = {s.site.id: s.uptime for s in after.sites}
    devices = len([d for d in cfg.devices.values() if d.site == SITE])
    # every device of the site was polled through 10 November in the scenario: a day less covered for each,
    # and that day counts neither as up nor as down
    assert was[SITE].covered_s - now[SITE].covered_s == devices * 86400.0
    assert now[SITE].total_down_s <= was[SITE].total_down_s  # downtime inside the lost day is not counted
    assert now[SITE].period_s == was[SITE].period_s
    for other in set(was) - {SITE}:
        assert now[other] == was[other]  # the other sites are not served by the agent
    [missing] = after.missing
    assert (missing.site.id, missing.agent, missing.from_at, missing.to_at, missing.results, missing.reason) == (
        SITE, AGENT, LOST[0], LOST[1], 1440, "dropped")

    # the files a person reads: a CSV of its own, the PDF's section
    out = report(config, tmp_path / "out", "--month", "2026-11", "--format", "csv,pdf")
    [lost_csv] = [f for f in out if f.name.endswith("-missing.csv")]
    rows = list(csv.reader(lost_csv.open(encoding="utf-8")))
    assert rows[0] == ["Lokasi", "Kecamatan", "Agen", "Dari", "Sampai", "Hasil hilang", "Sebab"]
    assert rows[1] == ["KIM Kotayasa", "Sumbang", AGENT, "2026-11-10 07:00:00 WIB", "2026-11-11 07:00:00 WIB",
                       "1440", "batas penyimpanan agen"]
    text = pdf_text(next(f for f in out if f.suffix == ".pdf"))
    assert "Data Agen yang Hilang" in text and "batas penyimpanan agen" in text
    assert "tidak dihitung sebagai padam maupun hidup" in " ".join(text.split())


def test_no_agents_no_missing_table(tmp_path: Path) -> None:
    config = scenario_config(tmp_path, f"sqlite:///{tmp_path / 'netmon.sqlite3'}")
    out = report(config, tmp_path / "out", "--month", "2026-11", "--format", "csv")
    assert not [f for f in out if f.name.endswith("-missing.csv")]
