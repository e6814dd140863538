"""Smoke test of benchmarks/snmp_poll.py: each part runs on a handful of devices and produces figures.

Behaviour only: no timing is asserted (the figures themselves are for docs/performance.md).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import require

from benchmarks import snmp_agent, snmp_baselines, snmpd_agent
from benchmarks import snmp_poll as bench


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[snmp_agent.AgentProcess]:
    data = snmp_agent.build_standard_ap(tmp_path_factory.mktemp("bench"))
    with snmp_agent.AgentProcess(data, max_s=120) as process:
        yield process


def test_standard_ap_recording_has_ten_interfaces(tmp_path: Path) -> None:
    text = snmp_agent.build_standard_ap(tmp_path).read_text()
    names = [line for line in text.splitlines() if line.startswith("1.3.6.1.2.1.31.1.1.1.1.")]
    assert len(names) == 10
    assert "1.3.6.1.2.1.2.1.0|2|10" in text


def test_poll_part_reports_cpu_per_poll_for_netmon_and_every_floor(agent: snmp_agent.AgentProcess) -> None:
    report = asyncio.run(bench.bench_netmon(agent, devices=2, rounds=2, repeats=1))
    assert set(report.paths) == {"netmon", "netmon-v3arch", "floor", "raw", "codec", "netmon-v3", "netmon-v3-pysnmp",
                                 "floor-v3"}
    assert report.sequence and report.samples > 0 and report.poll_walk
    for name, path in report.paths.items():
        assert path.cpu > 0
        if name not in bench.V3_PATHS:  # the v3 paths talk to the pysnmp agent, which keeps no counters
            assert path.requests > 0 and path.unanswered == 0
    bench.print_netmon(report, [], [])


def test_netsnmp_part_runs_one_process_per_request_and_reads_the_data(agent: snmp_agent.AgentProcess) -> None:
    require(shutil.which("snmpbulkwalk") is not None, "net-snmp CLI tools not installed (Debian package snmp)")
    reports = snmp_baselines.bench_netsnmp(agent, bench.community(0), ["1.3.6.1.2.1.1.3.0"],
                                           ["1.3.6.1.2.1.2.2.1.8"], polls=1)
    assert reports
    for report in reports:
        assert report.processes_per_poll == 2
        assert report.varbinds_per_poll == 11  # sysUpTime + ifOperStatus of 10 interfaces
        assert report.children_cpu_ms > 0


def test_netsnmp_part_reads_the_v3_agent_with_authpriv(agent: snmp_agent.AgentProcess) -> None:
    require(shutil.which("snmpbulkwalk") is not None, "net-snmp CLI tools not installed (Debian package snmp)")
    reports = snmp_baselines.bench_netsnmp(agent, bench.community(0), ["1.3.6.1.2.1.1.3.0"],
                                           ["1.3.6.1.2.1.2.2.1.8"], polls=1, v3=snmp_agent.V3_USER)
    assert reports and all(r.varbinds_per_poll == 11 and r.variant.startswith("net-snmp v3") for r in reports)
    assert all(snmp_agent.V3_USER.auth_key not in r.command for r in reports)


def test_capacity_part_polls_answering_and_silent_devices_and_stops(agent: snmp_agent.AgentProcess) -> None:
    # a timeout the agent meets even on a loaded machine (answering devices must come out `ok`)
    cfg = bench.CapacityConfig(devices=10, silent_fraction=0.2, interval_s=4.0, cycles=1, workers=1,
                               timeout_s=1.0, jitter_s=0.2, scrape_every_s=1.0)
    report = bench.bench_capacity(agent, cfg)
    outcomes = report.workers[0]["outcomes"]
    assert outcomes.get("ok", 0) > 0 and outcomes.get("timeout", 0) > 0
    assert report.merged("lags") and report.blackholed > 0 and report.received > 0
    scrapes = report.workers[0]["scrapes"]  # /metrics rendered from the run's LatestResults
    assert scrapes and all(x["bytes"] > 0 and x["wall_s"] > 0 for x in scrapes)
    bench.print_capacity(report)


def test_v3_rows_run_against_snmpd_serving_the_standard_ap(tmp_path: Path) -> None:
    require(snmpd_agent.available(), "net-snmp's snmpd/snmpget not installed (Debian packages snmpd, snmp)")
    data = snmp_agent.build_standard_ap(tmp_path)
    work = tmp_path / "snmpd"
    work.mkdir()
    with snmpd_agent.SnmpdProcess(data, work, max_s=120) as snmpd:
        report = asyncio.run(bench.bench_snmpd(snmpd, devices=2, rounds=2, repeats=1))
        netsnmp = snmp_baselines.bench_netsnmp(snmpd, snmpd.community, report.poll_get, report.poll_walk, polls=1,
                                               v3=snmp_agent.V3_USER)
    assert set(report.paths) == {"netmon", "netmon-v3", "netmon-v3-pysnmp", "floor-v3"}
    # the same poll as against the Python agent: snmpd serves the recording, the mikrotik profile is detected
    assert [r.kind for r in report.sequence] == ["get", "bulk", "bulk"] and report.samples == 39
    for path in report.paths.values():  # snmpd counts every request: each one answered
        assert path.cpu > 0 and path.requests == 2 * 2 * 3 and path.unanswered == 0
        assert path.agent_util[0] > 0
    assert netsnmp and all(n.varbinds_per_poll > 0 for n in netsnmp)
    bench.print_snmpd(report, netsnmp)
