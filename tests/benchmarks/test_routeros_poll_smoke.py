"""Smoke test of benchmarks/routeros_poll.py: every path polls two simulated routers and figures come out.

Behaviour only: no timing is asserted (the figures themselves are for docs/performance.md). mktxp comes
from PyPI into its own venv (created by the benchmark when missing); without it (no network) the test
skips loudly, and fails under CI=true.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from peers import require

from benchmarks import routeros_poll as bench


@pytest.fixture(scope="module")
def mktxp_python() -> Path:
    try:
        return bench.ensure_mktxp()
    except bench.MktxpUnavailable as exc:
        require(False, f"mktxp could not be installed into {bench.MKTXP_VENV} ({bench.MKTXP_SPEC}): {exc}")
        raise


def test_mktxp_config_keeps_only_the_menus_netmon_reads(mktxp_python: Path, tmp_path: Path) -> None:
    _version, templates = bench.mktxp_info(mktxp_python)
    bench.write_mktxp_config(tmp_path, templates, {"r1": 18728, "r2": 18729}, 19090)
    conf = (tmp_path / "mktxp.conf").read_text()
    default = conf[conf.index("[default]"):]
    flags = dict(re.findall(r"^\s*(\w+)\s*=\s*(True|False)\b", default, re.MULTILINE))
    assert {k for k, v in flags.items() if v == "True"} == bench.MKTXP_FEATURES
    assert "[r1]" in conf and "port = 18729" in conf
    system = (tmp_path / "_mktxp.conf").read_text()
    assert re.search(r"^\s*minimal_collect_interval = 0\b", system, re.MULTILINE)
    assert re.search(r"^\s*persistent_dhcp_cache = False\b", system, re.MULTILINE)
    assert "listen = '127.0.0.1:19090'" in system


def test_quick_run_reports_cpu_per_router_poll_for_netmon_and_mktxp(mktxp_python: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    report = bench.run_benchmark(mktxp_python, routers=2, polls=2, repeats=1, mktxp_polls=1)
    assert set(report.paths) == {"same", "full", "collect", "export"}
    for path in report.paths.values():
        assert path.cpu_ms > 0 and path.polls > 0 and path.samples > 0
        assert path.sentences > 0 and path.sim_cpu_s > 0
    # the hotspot menus are the only difference between netmon's two paths
    assert report.paths["full"].sentences > report.paths["same"].sentences
    # every process keeps one logged-in connection per router
    assert report.netmon_connections == {bench.router_id(0): 1, bench.router_id(1): 1}
    for process in ("netmon", "mktxp collect", "mktxp export"):
        assert report.logins_per_router(process) == 1
    # mktxp really read every menu it is compared on, without errors
    assert report.mktxp_missing == {}
    assert report.mktxp_errors == []
    bench.print_report(report)
    assert "x mktxp" in capsys.readouterr().out
