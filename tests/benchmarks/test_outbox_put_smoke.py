"""Smoke test of benchmarks/outbox_put.py: it puts, and prints its figures. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import outbox_put


def test_outbox_put_benchmark_prints_its_quantiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert outbox_put.main(["--puts", "50", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Outbox.put(), 50 puts" in out and "p99 µs" in out
    assert list(tmp_path.iterdir()) == []  # its spool was temporary
