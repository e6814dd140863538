"""The whole daemon (issue #15): `netmon run --config FILE`, started as a user starts it, polling D simulated
SNMPv2c access points (another process: benchmarks/daemon_agent.py), with storage (SQLite or PostgreSQL),
alerts (a mail channel and ticket mail to an aiosmtpd sink) and MQTT events (Mosquitto) on, scraped by a real
Prometheus every S seconds; a share of the devices stops answering mid-run and comes back.

    python benchmarks/daemon.py [--devices 30000] [--interval 60] [--scrape-every 30] [--duration 900]
                                [--postgres postgres@127.0.0.1:5432 | --database-url URL] [--fail-share 0.01]

It prints: missed cycles (the daemon's counter, and cycles the devices never saw), poll-start lag p50/p99 as
the devices see it, CPU share and peak RSS of every process, scrape duration (Prometheus's
`scrape_duration_seconds`) and the daemon's CPU per scrape, database writes (`netmon_storage_*`), and from
each failure to its outage row (read from the database) and its ticket mail (at the sink).
docs/performance.md "The whole daemon" explains the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.agent_ingest import Broker, free_port
from benchmarks.daemon_agent import DeviceFleet
from benchmarks.daemon_config import Peers, Tolerances, community, device_id, write_config
from benchmarks.daemon_figures import figure, lag_rows, poll_lags, print_report, scrape_cpu
from benchmarks.daemon_peers import MailSink, Prometheus, children, postgres_database, prometheus, smtp_sink, usage
from benchmarks.report import machine, quantile
from benchmarks.snmp_agent import build_standard_ap
from netmon.storage import Store


@dataclass(frozen=True)
class Plan:
    devices: int = 30_000
    interval_s: float = 60.0
    scrape_every_s: float = 30.0
    duration_s: float = 900.0  # the measured window, after every device was polled once and one more interval
    fail_share: float = 0.01
    workers: int = 1
    jitter_s: float = 0.0
    tol: Tolerances = field(default_factory=Tolerances)
    until_done: bool = False  # end the window early once every failed device's outage has closed

    @property
    def failing(self) -> list[int]:
        n = max(1, round(self.devices * self.fail_share)) if self.fail_share > 0 else 0
        step = self.devices / max(n, 1)
        return [int(k * step + step / 2) for k in range(n)]


@dataclass
class Watch:
    """What the benchmark saw of the failures: when each outage row and ticket mail appeared."""

    failed_at: float = 0.0
    recovered_at: float = 0.0
    outage_seen: dict[str, float] = field(default_factory=dict)  # device -> first time its outage row was read
    outage_closed: dict[str, float] = field(default_factory=dict)
    other_outages: set[str] = field(default_factory=set)  # devices that did not fail, with an outage row


@dataclass
class Sampler:
    """CPU of the daemon (and its worker processes) every 0.2 s, and peak RSS of every process."""

    pids: dict[str, int]
    daemon: int
    cpu: list[tuple[float, float]] = field(default_factory=list)
    peak_rss_kb: dict[str, int] = field(default_factory=dict)
    window_rss_kb: dict[str, int] = field(default_factory=dict)  # the peak once `measuring` is set
    measuring: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.cpu.append((time.time(), sum(usage(p)[0] for p in [self.daemon, *children(self.daemon)])))
            for name, pid in self.all().items():
                rss = usage(pid)[1]
                self.peak_rss_kb[name] = max(self.peak_rss_kb.get(name, 0), rss)
                if self.measuring.is_set():
                    self.window_rss_kb[name] = max(self.window_rss_kb.get(name, 0), rss)

    def all(self) -> dict[str, int]:
        workers = {f"daemon worker {i + 1}": p for i, p in enumerate(children(self.daemon))}
        return {"netmon run (daemon)": self.daemon, **workers, **self.pids}

    def cpu_now(self) -> dict[str, float]:
        return {name: usage(pid)[0] for name, pid in self.all().items()}


@contextlib.contextmanager
def database(args: argparse.Namespace, work: Path) -> Iterator[str]:
    if args.database_url:
        yield args.database_url
    elif args.postgres:
        with postgres_database(args.postgres) as url:
            yield url
    else:
        yield f"sqlite:///{work / 'netmon.db'}"


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def wait_all_polled(fleet: DeviceFleet, daemon: subprocess.Popen[bytes], devices: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        polled = len(fleet.starts(0.0))
        if polled >= devices:
            return time.time()
        if daemon.poll() is not None:
            raise RuntimeError(f"netmon run exited with {daemon.returncode} (see daemon.log)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {polled} of {devices} devices polled in {timeout_s:.0f} s")
        time.sleep(2)


def watch_outages(store: Store, plan: Plan, watch: Watch) -> None:
    failing = {device_id(i) for i in plan.failing}
    for outage in store.outages(since=watch.failed_at - plan.interval_s):
        if outage.device not in failing:
            watch.other_outages.add(outage.device)
        elif outage.started_at >= watch.failed_at - plan.interval_s:
            watch.outage_seen.setdefault(outage.device, time.time())
            if outage.ended_at is not None and watch.recovered_at:
                watch.outage_closed.setdefault(outage.device, time.time())


def tickets_at(store: Store, sink: MailSink, failed_at: float) -> dict[str, float]:
    """device -> arrival of its ticket's open mail at the sink (tickets of the incidents about that device)."""
    subject = {i.id: i.subject for i in store.incidents(since=failed_at - 3600)}
    device_of = {t.id: subject.get(t.incident, "") for t in store.tickets()}
    out: dict[str, float] = {}
    for mail in list(sink.mails):
        if mail.ticket and mail.event == "open" and mail.at >= failed_at:  # not a ticket opened before the failure
            out.setdefault(device_of.get(mail.ticket, ""), mail.at)
    return out


def drive(plan: Plan, fleet: DeviceFleet, store: Store, sink: MailSink, t0: float, watch: Watch) -> None:
    """Fail the failing devices half an interval into the window; bring them back once every one has its
    ticket (or when only time for their recovery is left); keep reading the database until the window ends."""
    failing = [community(i) for i in plan.failing]
    fail_at = t0 + plan.interval_s / 2
    recover_by = t0 + plan.duration_s - (plan.tol.down_after_failures + 1) * plan.interval_s
    while time.time() < t0 + plan.duration_s:
        now = time.time()
        if failing and not watch.failed_at and now >= fail_at:
            fleet.fail(failing)
            watch.failed_at = time.time()
            say(f"{len(failing)} devices stopped answering")
        if watch.failed_at and not watch.recovered_at:
            done = len(tickets_at(store, sink, watch.failed_at).keys() & {device_id(i) for i in plan.failing})
            if done == len(failing) or now >= recover_by:
                fleet.recover(failing)
                watch.recovered_at = time.time()
                say(f"devices answer again ({done} of {len(failing)} tickets in)")
        if watch.failed_at:
            watch_outages(store, plan, watch)
        if plan.until_done and watch.recovered_at and len(watch.outage_closed) == len(failing):
            return
        time.sleep(3)


def measure(plan: Plan, args: argparse.Namespace, work: Path) -> int:
    data = build_standard_ap(work)
    broker = Broker(work)
    broker.start()
    max_s = plan.duration_s + 3600 + plan.devices * 0.05
    try:
        with (DeviceFleet(data, plan.interval_s / 3, max_s) as fleet, smtp_sink() as (smtp_port, sink),
              database(args, work) as url):
            port = free_port()
            config = write_config(work, plan.devices, plan.interval_s, Peers(fleet.port, port, smtp_port,
                                                                              broker.port, url),
                                  plan.tol, workers=plan.workers, jitter_s=plan.jitter_s)
            say(f"config written: {config} ({plan.devices} devices); starting netmon run")
            with (work / "daemon.log").open("wb") as log:
                daemon = subprocess.Popen([sys.executable, "-m", "netmon.cli", "run", "--config", str(config),
                                           "--port", str(port)], cwd=work, stdout=log, stderr=log)
            try:
                with prometheus(work, f"127.0.0.1:{port}", plan.scrape_every_s) as prom:
                    return run_window(plan, fleet, daemon, prom, broker, sink, url)
            finally:
                daemon.terminate()
                try:
                    daemon.wait(60)
                except subprocess.TimeoutExpired:
                    daemon.kill()
    finally:
        broker.stop()


def run_window(plan: Plan, fleet: DeviceFleet, daemon: subprocess.Popen[bytes], prom: Prometheus, broker: Broker,
               sink: MailSink, url: str) -> int:
    started = time.time()
    sampler = Sampler({"simulated devices": fleet.pid, "prometheus": prom.proc.pid,
                       "mosquitto": broker.proc.pid if broker.proc else 0}, daemon.pid)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    first = wait_all_polled(fleet, daemon, plan.devices, 600 + plan.devices * 0.05)
    say(f"every device polled once after {first - started:.0f} s; one more interval before measuring")
    time.sleep(plan.interval_s)
    t0, cpu0 = time.time(), sampler.cpu_now()
    sampler.measuring.set()
    say(f"measuring for {plan.duration_s:.0f} s")
    watch = Watch()
    store = Store.open(url)
    try:
        drive(plan, fleet, store, sink, t0, watch)
        t1, cpu1 = time.time(), sampler.cpu_now()
        time.sleep(min(plan.scrape_every_s, 10) + 1)  # the last scrape of the window reaches Prometheus
        tickets = tickets_at(store, sink, watch.failed_at) if watch.failed_at else {}
    finally:
        store.close()
    sampler.stop.set()
    thread.join()
    starts = fleet.starts(t0)
    report(plan, sink, prom, sampler, watch, tickets, starts, (t0, t1), (cpu0, cpu1), first - started, url)
    return 0


def page_part(part: str) -> str:
    return f'netmon_exporter_page_cpu_seconds_total{{part="{part}"}}'


def page_cpu(cpu_s: float | None, pages: float | None) -> str:
    if cpu_s is None or not pages:
        return "n/a"
    return f"{cpu_s / pages:.2f} s ({pages:.0f} pages)"


def gc_metric(name: str, generation: int) -> str:
    return f'netmon_gc_{name}{{generation="{generation}"}}'


def report(plan: Plan, sink: MailSink, prom: Prometheus, sampler: Sampler, watch: Watch,
           tickets: dict[str, float], starts: dict[str, list[float]], window: tuple[float, float],
           cpu: tuple[dict[str, float], dict[str, float]], first_s: float, url: str) -> None:
    t0, t1 = window
    span = t1 - t0
    starts = {c.replace("bench-", "ap"): [t for t in ts if t < t1] for c, ts in starts.items()}
    lags = poll_lags(starts, plan.interval_s, plan.workers, t0, t1)

    def delta(metric: str) -> float | None:
        a, b = prom.value(metric, t0), prom.value(metric, t1)
        return None if a is None or b is None else b - a

    scrapes = [(t, d) for t, d in prom.samples('scrape_duration_seconds{job="netmon"}', t0, t1)]
    ups = prom.samples('up{job="netmon"}', t0, t1)
    in_window = [(t, c) for t, c in sampler.cpu if t0 <= t <= t1]
    per_scrape = scrape_cpu(in_window, scrapes)
    failing = [device_id(i) for i in plan.failing]
    to_outage = [watch.outage_seen[d] - watch.failed_at for d in failing if d in watch.outage_seen]
    to_ticket = [tickets[d] - watch.failed_at for d in failing if d in tickets]
    to_close = [watch.outage_closed[d] - watch.recovered_at for d in failing if d in watch.outage_closed]
    writes = delta("netmon_storage_records_written_total")
    longest_full = prom.value(gc_metric("longest_seconds", 2), t1)
    daemon_cpu = sum(c - cpu[0].get(n, 0.0) for n, c in cpu[1].items() if n.startswith(("daemon", "netmon")))
    rows: list[list[object]] = [
        ["devices, interval, scrape every", f"{plan.devices}, {plan.interval_s:g} s, {plan.scrape_every_s:g} s"],
        ["database", url.split("://")[0] + ("" if url.startswith("sqlite") else " (fresh database)")],
        ["scheduler.workers, jitter", f"{plan.workers}, {plan.jitter_s:g} s"],
        ["start: every device polled once after", f"{first_s:.0f} s (then 1 interval, not measured)"],
        ["measured window", f"{span:.0f} s"],
        ["missed cycles (netmon_scheduler_missed_cycles_total)",
         figure(delta("netmon_scheduler_missed_cycles_total"))],
        ["polls (netmon_scheduler_polls_total)", figure(delta("netmon_scheduler_polls_total"))],
        *lag_rows(lags, plan.devices, plan.jitter_s),
    ]
    for name, c1 in cpu[1].items():
        c = c1 - cpu[0].get(name, 0.0)
        rss_mb = (sampler.peak_rss_kb.get(name, 0) / 1024, sampler.window_rss_kb.get(name, 0) / 1024)
        rows.append([f"CPU; peak RSS (whole run / in the window): {name}",
                     f"{c:.1f} s = {c / span:.0%} of one core; {rss_mb[0]:.0f} / {rss_mb[1]:.0f} MB"])
    rows += [
        ["daemon CPU per device-poll (all of it: polls, state, storage, alerts, scrapes)",
         f"{daemon_cpu / max(lags.starts, 1) * 1000:.2f} ms"],
        ["  ... without the scrapes (daemon CPU minus CPU per scrape x scrapes)",
         f"{(daemon_cpu - sum(per_scrape)) / max(lags.starts, 1) * 1000:.2f} ms"],
        ["scrapes in the window (up=1 / all); series per scrape",
         f"{sum(1 for _, v in ups if v == 1)} / {len(ups)}; "
         + figure(prom.value('scrape_samples_scraped{job="netmon"}', t1))],
        ["scrape duration p50 / max (Prometheus scrape_duration_seconds)",
         f"{quantile([d for _, d in scrapes], 0.5):.2f} / {max((d for _, d in scrapes), default=float('nan')):.2f} s"],
        ["daemon CPU per scrape p50 / max (CPU during the scrape minus the rate between scrapes)",
         f"{quantile(per_scrape, 0.5):.2f} / {max(per_scrape, default=float('nan')):.2f} s"],
        ["CPU per /metrics page, the daemon's own count (netmon_exporter_page_cpu_seconds_total / pages_total)",
         page_cpu(delta("sum(netmon_exporter_page_cpu_seconds_total)"), delta("netmon_exporter_pages_total"))],
        ["  ... of which on the event loop; in the writing thread",
         f"{page_cpu(delta(page_part('loop')), delta('netmon_exporter_pages_total'))}; "
         f"{page_cpu(delta(page_part('writing')), delta('netmon_exporter_pages_total'))}"],
        ["main process garbage collection in the window: collections, CPU, by generation 0 / 1 / 2",
         " / ".join(f"{figure(delta(gc_metric('collections_total', g)))}, "
                    f"{figure(delta(gc_metric('seconds_total', g)), '{:.1f}')} s" for g in range(3))],
        ["main process: longest full collection (generation 2) since start", f"{figure(longest_full, '{:.2f}')} s"],
        ["database records written (netmon_storage_records_written_total)",
         "n/a" if writes is None else f"{writes:.0f} = {writes / span:.0f}/s"],
        ["storage queue depth max; write failures",
         f"{figure(prom.value(f'max_over_time(netmon_storage_queue_depth[{int(span)}s])', t1))}; "
         f"{figure(delta('netmon_storage_write_failures_total'))}"],
        ["outbox delivered (mail, tickets, MQTT) in the window",
         figure(delta("sum(netmon_outbox_delivered_total)"))],
        ["failing devices (stopped, then answering again)", f"{len(failing)}"],
        ["failure -> outage row in the database: seen / p50 / max",
         f"{len(to_outage)} / {quantile(to_outage, 0.5):.0f} / {max(to_outage, default=float('nan')):.0f} s "
         f"(bound: tolerance + 1 interval = {plan.tol.outage_bound_s(plan.interval_s):.0f} s)"],
        ["failure -> ticket mail at the sink: seen / p50 / max",
         f"{len(to_ticket)} / {quantile(to_ticket, 0.5):.0f} / {max(to_ticket, default=float('nan')):.0f} s "
         f"(bound: + device_down_for_s = {plan.tol.ticket_bound_s(plan.interval_s):.0f} s)"],
        ["answering again -> outage closed in the database: seen / max",
         f"{len(to_close)} / {max(to_close, default=float('nan')):.0f} s"],
        ["outage rows of devices that did not fail", f"{len(watch.other_outages)}"],
        ["mails at the sink: ticket opens / all", f"{sum(1 for m in sink.mails if m.ticket and m.event == 'open')}"
                                                   f" / {len(sink.mails)}"],
    ]
    print_report(f"\nThe whole daemon: netmon run, {plan.devices} devices", rows)


def parse(argv: Sequence[str] | None) -> tuple[Plan, argparse.Namespace]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--devices", type=int, default=30_000)
    p.add_argument("--interval", type=float, default=60.0, help="poll interval, s")
    p.add_argument("--scrape-every", type=float, default=30.0, help="Prometheus scrape interval, s")
    p.add_argument("--duration", type=float, default=900.0, help="the measured window, s")
    p.add_argument("--fail-share", type=float, default=0.01, help="share of devices that fail and come back")
    p.add_argument("--workers", type=int, default=1, help="scheduler.workers (SNMP poller processes)")
    p.add_argument("--jitter", type=float, default=0.0, help="scheduler.jitter_s (default 0: lags are exact)")
    p.add_argument("--down-after-failures", type=int, default=3, help="state.down_after_failures")
    p.add_argument("--down-after", type=float, default=180.0, help="state.down_after_s")
    p.add_argument("--device-down-for", type=float, default=120.0, help="alerts.rules.device_down_for_s")
    db = p.add_mutually_exclusive_group()
    db.add_argument("--database-url", help="SQLAlchemy URL of an existing, empty database")
    db.add_argument("--postgres", nargs="?", const="postgres@127.0.0.1:5432", metavar="USER@HOST:PORT",
                    help="a fresh PostgreSQL database on this server (dropped after); default: SQLite")
    p.add_argument("--until-done", action="store_true",
                   help="end the window once every failed device's outage has closed (--duration: at most)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (config, logs, database)")
    a = p.parse_args(argv)
    tol = Tolerances(a.down_after_failures, a.down_after, a.device_down_for)
    return Plan(a.devices, a.interval, a.scrape_every, a.duration, a.fail_share, a.workers, a.jitter, tol,
                a.until_done), a


def main(argv: Sequence[str] | None = None) -> int:
    plan, args = parse(argv)
    print(f"machine: {machine()}", flush=True)
    with open("/proc/loadavg") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="netmon-daemon-bench-"))
    try:
        return measure(plan, args, work)
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
