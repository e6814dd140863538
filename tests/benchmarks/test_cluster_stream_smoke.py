"""Smoke test of benchmarks/cluster_stream.py at its smallest: a few hundred replayed results through the
baseline and the result stream on the real PostgreSQL. Behaviour only: no timing is asserted (the figures are
for docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

from peers import PG_HOST, PG_PORT, PG_USER, postgres_database

from benchmarks import cluster_stream as bench


def test_cluster_stream_benchmark_moves_every_result_and_prints_its_figures(tmp_path: Path) -> None:
    with postgres_database():  # skips loudly (fails under CI=true) where there is no PostgreSQL
        pass
    said: list[str] = []
    figures = bench.run(300, f"{PG_USER}@{PG_HOST}:{PG_PORT}", tmp_path, say=said.append)
    bench.report(figures, said.append)
    assert figures.results == 300 and figures.bytes_per_result > 1000  # a real poll of a 10-interface AP
    assert figures.baseline_s > 0 and figures.put_s > 0 and figures.lead_s > 0 and figures.lead_cpu_s > 0
    assert any("results/s" in line and "x the baseline" in line for line in said)
    assert any("the leader's part alone takes" in line for line in said)
