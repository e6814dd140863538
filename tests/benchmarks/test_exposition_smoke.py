"""Smoke test of benchmarks/exposition.py: a small fleet, both paths, the figures printed (the benchmark itself
checks that both paths give the same page). No timing is asserted."""

from __future__ import annotations

import logging

import pytest

from benchmarks import exposition


def test_exposition_benchmark_compares_both_paths_and_prints_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert exposition.main(["--devices", "50", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "50 devices: page, series" in out and "ratio old / new" in out and "per result" in out
    assert logging.root.manager.disable == logging.NOTSET  # the tests after it still see logs
