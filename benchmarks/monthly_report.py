"""Monthly report benchmark: a province's month of history, reported in PDF, XLSX and CSV (issue #13, part 5).

    python benchmarks/monthly_report.py [--sites 1000] [--baseline-sites 100] [--backends sqlite,postgresql]

For each backend (SQLite in a temp file; PostgreSQL: a fresh database on 127.0.0.1:5432, trust auth, dropped
after) and each size (the baseline, then `--sites`), `benchmarks/report_history.py` writes a month of generated
history (seeded) through `Store.write`, then each measurement runs in a fresh process (spawned: its peak RSS is
its own), the way `netmon report monthly` runs:

- `scan`: the floor: the database reading every hourly rollup of the month once (`Store.rollup_totals`, one
  grouped query), nothing else;
- `build`: each asset's condition (`netmon.assets.condition.assess`) and the report's figures (`build_report`);
- `csv`, `xlsx`, `pdf`: building, then writing that one format (time of the writing alone; RSS of the process);
- `all`: building and writing the three, as `netmon report monthly --format pdf,xlsx,csv` does: the target is
  under 60 s at 1,000 sites / 3,000 assets.

The baseline size (same run, same machine) shows how each phase scales: the ratio of the times against the
ratio of the sizes. docs/performance.md ("Monthly report") has the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.child import ChildProcess
from benchmarks.report import machine, table
from benchmarks.report_history import ZONE, province, write_history

MONTH = "2026-11"
PHASES = ("scan", "build", "csv", "xlsx", "pdf", "all")
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


@dataclass
class Measured:
    """One phase in one process: seconds (the phase alone), the process's peak RSS, what it wrote."""

    seconds: float
    build_s: float = 0.0
    rss_mb: float = 0.0
    files: int = 0
    size_bytes: int = 0
    pages: int | None = None


@dataclass
class Run:
    backend: str
    sites: int
    records: int = 0
    write_s: float = 0.0
    phases: dict[str, Measured] = field(default_factory=dict)


# --- in the measuring process ------------------------------------------------------------------------------

def measure(url: str, sites: int, phase: str, out: str, conn: Connection) -> None:
    """Run one phase (in a spawned process) and send its `Measured`."""
    try:
        conn.send(_phase(url, sites, phase, Path(out)))
    except Exception as exc:  # the parent reports it and stops
        conn.send(RuntimeError(f"{phase}: {type(exc).__name__}: {exc}"))


def _phase(url: str, sites: int, phase: str, out: Path) -> Measured:
    from netmon.config.assets import ConditionRules
    from netmon.config.report import ReportConfig
    from netmon.report.build import build_report
    from netmon.report.condition import conditions_for
    from netmon.report.language import language
    from netmon.report.output import parse_formats, write_report
    from netmon.report.period import parse_period
    from netmon.storage import Store

    store = Store.open(url)
    period = parse_period(month=MONTH)
    started = time.perf_counter()
    if phase == "scan":
        store.rollup_totals(*period.bounds(ZONE))
        return Measured(time.perf_counter() - started, rss_mb=_rss_mb())
    site_map, devices = province(sites)
    now = period.bounds(ZONE)[1] + 86400.0  # the day after the month
    conditions = conditions_for(store, devices, site_map, period, ConditionRules(), now)
    report = build_report(store, site_map, devices, period, conditions, now=now)
    built = time.perf_counter()
    store.close()
    if phase == "build":
        return Measured(built - started, built - started, _rss_mb())
    formats = parse_formats("pdf,xlsx,csv" if phase == "all" else phase)
    written = write_report(report, formats, language("id"), ReportConfig(), out, generated=date(2026, 12, 2))
    done = time.perf_counter()
    pdf = [p for p in written if p.suffix == ".pdf"]
    return Measured(done - (started if phase == "all" else built), built - started, _rss_mb(), len(written),
                    sum(p.stat().st_size for p in written), _pages(pdf[0]) if pdf else None)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _pages(pdf: Path) -> int | None:
    """The PDF's page count (pdfinfo, poppler-utils), None without it."""
    if shutil.which("pdfinfo") is None:
        return None
    text = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    return next((int(line.split()[-1]) for line in text.splitlines() if line.startswith("Pages:")), None)


# --- databases ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def database(backend: str, work: Path) -> Iterator[str]:
    """A fresh, migrated database's URL: a SQLite file in `work`, or a new PostgreSQL database (dropped after)."""
    from netmon.storage import Store

    if backend == "sqlite":
        url = f"sqlite:///{work / f'bench-{secrets.token_hex(4)}.db'}"
        _upgrade(Store.open(url))
        yield url
        return
    import psycopg

    name = f"netmon_bench_{secrets.token_hex(6)}"
    with psycopg.connect(**PG_ADMIN, autocommit=True, connect_timeout=3) as admin:  # type: ignore[arg-type]
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://{PG_ADMIN['user']}@{PG_ADMIN['host']}:{PG_ADMIN['port']}/{name}"
        _upgrade(Store.open(url))
        yield url
    finally:
        with psycopg.connect(**PG_ADMIN, autocommit=True, connect_timeout=3) as admin:  # type: ignore[arg-type]
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _upgrade(store: Any) -> None:
    store.upgrade()
    store.close()


# --- the run -----------------------------------------------------------------------------------------------

def run(backend: str, sites: int, phases: Sequence[str], work: Path, seed: int, timeout_s: float) -> Run:
    from netmon.report.period import parse_period
    from netmon.storage import Store

    result = Run(backend, sites)
    with database(backend, work) as url:
        store = Store.open(url)
        started = time.perf_counter()
        result.records = write_history(store, sites, parse_period(month=MONTH), seed)
        result.write_s = time.perf_counter() - started
        store.close()
        for phase in phases:
            out = work / f"{backend}-{sites}-{phase}"
            child = ChildProcess(measure, (url, sites, phase, str(out)), f"report-{phase}")
            try:
                found = child.wait_ready(timeout_s)
            finally:
                child.close()
            if isinstance(found, Exception):
                raise found
            result.phases[phase] = found
            shutil.rmtree(out, ignore_errors=True)
    return result


def print_run(r: Run) -> None:
    rows = [["history", f"{r.write_s:.1f}", "", f"{r.records:,} records written through Store.write"]]
    for phase, m in r.phases.items():
        what = ""
        if m.files:
            what = f"{m.files} file(s), {m.size_bytes / 1e6:.1f} MB" + (f", {m.pages} pages" if m.pages else "")
        if phase == "all":
            what = f"build {m.build_s:.1f} s + write {m.seconds - m.build_s:.1f} s; {what}"
        rows.append([phase, f"{m.seconds:.2f}", f"{m.rss_mb:.0f}", what])
    print(table(f"\nMonthly report {MONTH}, {r.sites:,} sites / {3 * r.sites:,} assets ({r.backend})",
                ["phase", "seconds", "peak RSS MB", ""], rows), flush=True)


def print_scaling(small: Run, large: Run) -> None:
    """Each phase at both sizes: the ratio of the times against the ratio of the sizes (linear: equal)."""
    size = large.sites / small.sites
    rows = []
    for phase in large.phases:
        a, b = small.phases.get(phase), large.phases[phase]
        if a is None:
            continue
        ratio = b.seconds / a.seconds if a.seconds > 0 else float("nan")
        rows.append([phase, f"{a.seconds:.2f}", f"{b.seconds:.2f}", f"{ratio:.1f}x", f"{size:.0f}x",
                     f"{a.rss_mb:.0f} -> {b.rss_mb:.0f}"])
    print(table(f"\nScaling ({large.backend}): {small.sites:,} -> {large.sites:,} sites",
                ["phase", f"{small.sites} s", f"{large.sites} s", "time ratio", "size ratio", "RSS MB"], rows))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1000, help="sites (3 assets each) of the measured run")
    parser.add_argument("--baseline-sites", type=int, default=100, help="sites of the baseline run (0: none)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--phases", default=",".join(PHASES), help="of " + ", ".join(PHASES))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one phase may take")
    args = parser.parse_args(argv)
    phases = [p for p in args.phases.split(",") if p]
    backends = [b for b in args.backends.split(",") if b]
    if not set(phases) <= set(PHASES) or not set(backends) <= {"sqlite", "postgresql"}:
        parser.error(f"--phases: of {', '.join(PHASES)}; --backends: sqlite, postgresql")
    sizes = [s for s in (args.baseline_sites, args.sites) if s > 0]
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="netmon-report-bench-") as work:
        for backend in backends:
            runs = []
            for n in sizes:
                runs.append(run(backend, n, phases, Path(work), args.seed, args.timeout))
                print_run(runs[-1])  # as each run ends: a long run shows its progress
            if len(runs) == 2:
                print_scaling(*runs)
    versions = [f"{name} {metadata.version(name)}" for name in ("WeasyPrint", "XlsxWriter", "SQLAlchemy", "psycopg")]
    print(f"\n{machine(f'SQLite {sqlite3.sqlite_version}', *versions)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
