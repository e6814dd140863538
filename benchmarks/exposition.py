"""/metrics benchmark: CPU and bytes of one scrape at D devices, prometheus_client's `generate_latest` (the
reference collector, as /metrics was written before) against netmon's exposition with kept device texts.

    python benchmarks/exposition.py [--quick] [--devices 10000,30000] [--repeats 3]

The devices are the capacity run's (benchmarks/snmp_poll.py): "standard access points", each result a copy of
one real poll of the standard AP recording by `SnmpCollector` (40 samples, identity from discovery) with its
values moved per device and round, 10 % of them silent (every poll a timeout, so `netmon_device_up 0` and no
values); 5 devices per site. The page also carries what the daemon adds at each scrape (DaemonMetrics):
`netmon_device_state` (5 series per device), `netmon_device_reboots_total`, `netmon_site_info`, unique
clients per site and the scheduler's gauges.

Measured (CPU of this thread; single-threaded, so `thread_time`), interleaved, median of the repeats:
- `old`: what a scrape cost before: the daemon's samples made and the snapshot taken (on the loop),
  `render_with_client`, gzip (in a thread);
- `new`: a scrape now: the daemon's samples made and `DeviceTexts.page` taken (on the loop), the page
  joined and gzipped family by family (`exporter.gzipped`, in a thread); every device's text was
  rendered when its last result arrived (`DeviceTexts.observe`), which is measured apart, per result, since
  it runs in the result pipeline instead of the scrape;
- `whole`: a page rendered from a snapshot without kept texts (`netmon poll`, the site agent);
- gzip at levels 1 and 6 of the same text.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gzip
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import machine, table
from benchmarks.snmp_agent import AgentProcess, build_standard_ap
from benchmarks.snmp_poll import make_device
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.daemon_metrics import KeptSamples, state_samples
from netmon.errors import DeviceUnreachable
from netmon.exporter import gzipped, render_with_client
from netmon.exposition import DeviceTexts, SampleRun, flat, render
from netmon.latest import LatestResults
from netmon.model import Device, PollResult, Sample, SampleKind, Site, Status

T = TypeVar("T")
T0 = 1_764_000_000.0
SILENT_EVERY = 10
PER_SITE = 5


async def template_poll() -> PollResult:
    """One real poll of the standard AP after discovery (identity included), by netmon's SnmpCollector."""
    with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp, \
            AgentProcess(build_standard_ap(Path(tmp)), 120) as agent:
        collector = SnmpCollector(load_profiles())
        device = make_device(0, agent.port)
        first = await collector.poll(device)
        second = await collector.poll(device)
        await collector.close()
    if not first.ok or not second.ok or first.identity is None:
        raise RuntimeError(f"template poll failed: {first.error or second.error}")
    return replace(second, identity=first.identity)


@dataclass
class Fleet:
    sites: dict[str, Site]
    devices: dict[str, Device]
    template: PollResult
    kept: KeptSamples = field(default_factory=KeptSamples)  # as DaemonMetrics keeps them between scrapes

    @classmethod
    def of(cls, size: int, template: PollResult) -> Fleet:
        sites = {f"kim-{n:05d}": Site(f"kim-{n:05d}", f"KIM {n}", f"Desa {n}", f"Kecamatan {n % 27}", "Banyumas")
                 for n in range(size // PER_SITE + 1)}
        devices = {}
        for i in range(size):
            base = make_device(i, 161)
            devices[base.id] = replace(base, site=f"kim-{i // PER_SITE:05d}")
        return cls(sites, devices, template)

    def result(self, i: int, device_id: str, round_: int) -> PollResult:
        """The device's result of a round: silent devices time out, the others report the template's samples
        with values of their own (counters grow, gauges move)."""
        at = T0 + round_ * 60.0 + (i % 600) * 0.1
        if i % SILENT_EVERY == 0:
            return PollResult(device_id, self.template.source, at, 4.0, error=DeviceUnreachable("timeout"))
        samples = tuple(replace(s, value=s.value + (i * 7 + round_ * 1_000_003 if s.kind is SampleKind.COUNTER
                                                    else (i + round_) % 13 * 0.01))
                        for s in self.template.samples)
        return PollResult(device_id, self.template.source, at, 0.001 + (i % 97) * 1e-5, samples,
                          identity=self.template.identity)

    def states(self) -> dict[str, Status]:
        return {d: Status.DOWN if i % SILENT_EVERY == 0 else Status.UP for i, d in enumerate(self.devices)}

    def daemon_samples(self, round_: int, states: dict[str, Status]) -> list[Sample | SampleRun]:
        """What DaemonMetrics makes at each scrape: states, reboots, sites, unique clients, scheduler (kept
        between scrapes where unchanged, as DaemonMetrics keeps them)."""
        return [Sample("netmon_scheduler_polls_in_flight", round_ % 7), Sample("netmon_scheduler_devices",
                                                                               len(self.devices)),
                *self.kept.sites(self.sites),
                *self.kept.unique_clients({s: (n + round_) % 40 for n, s in enumerate(self.sites)}),
                *state_samples(states, [], {d: 0 for d in self.devices}, self.kept)]


def cpu(work: Callable[[], T]) -> tuple[float, T]:
    t0 = time.thread_time()
    out = work()
    return time.thread_time() - t0, out


@dataclass
class Figures:
    devices: int
    old_s: list[float]
    new_s: list[float]
    new_loop_s: list[float]
    new_text_s: list[float]
    gzip1_s: list[float]
    whole_s: list[float]
    observe_us: float
    text_bytes: int
    gzip1_bytes: int
    gzip6_s: float
    gzip6_bytes: int
    series: int


def bench(size: int, template: PollResult, repeats: int) -> Figures:
    fleet = Fleet.of(size, template)
    latest = LatestResults(fleet.sites, fleet.devices)
    texts = DeviceTexts(latest.part, fleet.devices)
    alone = LatestResults(fleet.sites, fleet.devices)  # the same results without texts: what observe adds
    spent = {"both": 0.0, "record": 0.0}
    for round_ in range(2):  # the second round replaces every first result, as a running daemon does
        results = [fleet.result(i, d, round_) for i, d in enumerate(fleet.devices)]
        t0 = time.thread_time()
        for result in results:
            latest.record(result)
            texts.observe(result)
        t1 = time.thread_time()
        for result in results:
            alone.record(result)
        spent = {"both": t1 - t0, "record": time.thread_time() - t1}
    observe_us = (spent["both"] - spent["record"]) / size * 1e6
    states = fleet.states()
    f = Figures(size, [], [], [], [], [], [], observe_us, 0, 0, 0.0, 0, 0)
    texts.page(fleet.daemon_samples(2, states)).text()  # the scrape before: the daemon's samples are kept
    for _ in range(repeats):
        old_s, old_body = cpu(lambda: gzip.compress(render_with_client(latest.snapshot(
            flat(fleet.daemon_samples(2, states)))), 1, mtime=0))
        loop_s, page = cpu(lambda: texts.page(fleet.daemon_samples(2, states)))
        gzip_s, body = cpu(functools.partial(gzipped, page))  # what Prometheus gets
        text_s, text = cpu(page.text)  # a scraper that takes no gzip
        whole_s, whole = cpu(lambda: render(latest.snapshot(flat(fleet.daemon_samples(2, states)))))
        assert whole == text and gzip.decompress(old_body) == text and gzip.decompress(body) == text
        f.old_s.append(old_s)
        f.new_loop_s.append(loop_s)
        f.new_text_s.append(text_s)
        f.gzip1_s.append(gzip_s)
        f.new_s.append(loop_s + gzip_s)
        f.whole_s.append(whole_s)
        f.text_bytes, f.gzip1_bytes = len(text), len(body)
    f.gzip6_s, body6 = cpu(functools.partial(gzip.compress, text, 6, mtime=0))
    f.gzip6_bytes = len(body6)
    f.series = sum(1 for ln in text.splitlines() if not ln.startswith(b"#"))
    return f


def print_figures(all_figures: Sequence[Figures], per_poll_s: float) -> None:
    med = statistics.median
    rows = []
    for f in all_figures:
        rows += [
            [f"{f.devices:,} devices: page, series", f"{f.text_bytes / 1e6:.1f} MB, {f.series:,}"],
            ["  old: snapshot + generate_latest + gzip, CPU", f"{med(f.old_s):.2f} s"],
            ["  new: page (loop) + joined and gzipped family by family, CPU", f"{med(f.new_s):.3f} s"],
            ["    page taken on the loop (texts copied, daemon samples)", f"{med(f.new_loop_s):.3f} s"],
            ["    joined and gzipped (level 1) family by family, in a thread",
             f"{med(f.gzip1_s):.3f} s -> {f.gzip1_bytes / 1e6:.2f} MB"],
            ["  (a scraper without gzip: the page joined whole instead)", f"{med(f.new_text_s):.3f} s"],
            ["  ratio old / new", f"{med(f.old_s) / med(f.new_s):.1f}x"],
            ["  gzip level 6 (not used)", f"{f.gzip6_s:.3f} s -> {f.gzip6_bytes / 1e6:.2f} MB"],
            ["  whole page from a snapshot, no kept texts (netmon poll), CPU", f"{med(f.whole_s):.2f} s"],
            ["  render at each result (DeviceTexts.observe), per result",
             f"{f.observe_us:.0f} us = {f.observe_us * f.devices / per_poll_s / 1e4:.1f} % of a core "
             f"at one poll per {per_poll_s:g} s"],
        ]
    print(table("/metrics: one scrape (median of repeats)", ["", "value"], rows))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small: a smoke run")
    parser.add_argument("--devices", help="comma-separated fleet sizes (default 10000,30000)")
    parser.add_argument("--repeats", type=int, help="scrapes of each path per size (default 3)")
    parser.add_argument("--interval", type=float, default=60.0, help="poll interval for the core share, s")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in (args.devices or ("200" if args.quick else "10000,30000")).split(",")]
    repeats = args.repeats or (1 if args.quick else 3)
    print(f"machine: {machine()}")
    logging.disable(logging.WARNING)  # every silent device's first failure
    try:
        template = asyncio.run(template_poll())
        print(f"template: one poll of the standard AP, {len(template.samples)} samples")
        print_figures([bench(n, template, repeats) for n in sizes], args.interval)
    finally:
        logging.disable(logging.NOTSET)  # the smoke test runs it in the test process
    return 0


if __name__ == "__main__":
    sys.exit(main())
