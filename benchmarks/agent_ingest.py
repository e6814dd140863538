"""Agent ingest benchmark (issue #14): one office daemon ingesting site agents' results over MQTT.

    python -m benchmarks.agent_ingest [--scale 0.05] [options]

Everything is real except the devices' polls, which are replayed: one real SNMP poll of the "standard access
point" (benchmarks/snmp_agent.py: our demo cAP ac recording grown to 10 interfaces) through `SnmpCollector`
is the template; each simulated device's result is that poll with its own id and time, counters advanced
and uptime grown per minute, from a seeded random generator. Parts, each in its own process:

- Mosquitto of the run's own (free port, persistence off, `max_inflight_messages 200` as in deploy/mosquitto,
  `max_queued_messages 0`: the peak of the office session's queue is reported instead).
- The office: `NetmonApp.serve()` (the daemon of `netmon run`) with an `agents:` section, SQLite in a
  temporary directory (or `--database-url`), its own persistent MQTT subscription. It reports its CPU time,
  peak RSS, what it ingested and wrote, and the lag of every live agent's result (office clock at ingest
  minus the result's poll time; the publishers stamp their results when they send them).
- Publishers: simulated agents, each its own MQTT connection (netmon.mqtt, as `netmon agent` connects),
  many per process. A live agent publishes a status on connect and every 60 s and each device's result once
  per interval (devices spread over it), one message at a time, as an agent with an empty outbox does. A
  returning agent first publishes its status (backlog depth and age), then its whole backlog in seq order in
  batches of 100 pipelined up to 20 unacknowledged (`publish_in_order`, as the agent's runner sends its
  outbox), then goes live.

Phases:

1. steady: `--agents` live agents x `--devices` devices at `--interval` (100 x 30 at 60 s: 50 results/s).
   The returning agents are declared too and are silent (their uplinks are down): the office marks them so.
2. catch-up: `--backlog-agents` more agents come back at once, each with `--backlog-minutes` of results
   (10 x 30 x 1440 = 432,000), while the live agents go on. Catch-up time is until the office ingested the
   last backlog result, and until storage committed everything it caused.
3. The baseline, measured in the same run (before the others, alone on the machine): the same kind of backlog
   fed straight into the office's ingest (`OfficeAgents.receive`) with no MQTT, storage committed: CPU per
   result. The ratio says what the broker path adds.

Device 0 of each returning agent fails for 30 minutes in the middle of its backlog (an outage that happened
during the gap) and device 1 fails from 10 minutes before the return and stays down, so history and state
have real work to do. `--scale` multiplies the agent counts and the backlog length (at least 2 live agents,
1 returning agent, 20 backlog minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.child import ChildProcess
from benchmarks.report import machine, quantile, table
from benchmarks.snmp_agent import AgentProcess, build_standard_ap
from benchmarks.snmp_poll import make_device
from netmon import wire
from netmon.agent.pacing import Pacing
from netmon.config.agents import Agent, AgentBroker, AgentsSettings
from netmon.config.loader import Config
from netmon.config.schema import ExporterConfig, StorageConfig
from netmon.errors import DeviceUnreachable
from netmon.model import Device, Owner, PollResult, Role, SampleKind, Site, Source

PREFIX = "netmon"
BATCH = 100  # results per publish_in_order, as netmon/agent/runner.py
LIVE_PER_PROCESS = 50
BACKLOG_PER_PROCESS = 5
OFFICE_CLIENT = "netmon-office-bench"


# --- the plan ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    agents: int = 100  # live
    backlog_agents: int = 10  # returning with a backlog
    devices: int = 30  # per agent
    interval_s: float = 60.0
    backlog_minutes: int = 1440
    warmup_s: float = 200.0  # every device's first two results (UNKNOWN -> UP) and the silent agents' edge
    steady_s: float = 120.0
    direct_results: int = 20000
    broker_inflight: int = 200  # the office's broker's max_inflight_messages (deploy/mosquitto)
    send_rate: float = 20.0  # each returning agent's `outbox.send_rate_per_s` (0: unpaced, as fast as it can)
    seed: int = 14
    database_url: str | None = None

    @classmethod
    def scaled(cls, scale: float, **changes: Any) -> Plan:
        base = cls()
        plan = replace(base, agents=max(2, round(base.agents * scale)),
                       backlog_agents=max(1, round(base.backlog_agents * scale)),
                       backlog_minutes=max(20, round(base.backlog_minutes * scale)),
                       direct_results=max(200, round(base.direct_results * scale)))
        return replace(plan, **{k: v for k, v in changes.items() if v is not None})

    @property
    def backlog_total(self) -> int:
        return self.backlog_agents * self.devices * self.backlog_minutes

    def live_ids(self) -> list[str]:
        return [f"live-{i:03d}" for i in range(self.agents)]

    def backlog_ids(self) -> list[str]:
        return [f"back-{i:03d}" for i in range(self.backlog_agents)]


def device_id(agent: str, j: int) -> str:
    return f"{agent}-d{j:02d}"


def office_config(plan: Plan, data_dir: Path, port: int, exporter_port: int) -> Config:
    """One site per agent, `plan.devices` access points each, every site served by its agent."""
    sites: dict[str, Site] = {}
    devices: dict[str, Device] = {}
    agents: list[Agent] = []
    for n, agent in enumerate(plan.live_ids() + plan.backlog_ids()):
        site = f"kim-{agent}"
        sites[site] = Site(site, f"KIM {agent}", f"Desa {n}", "Sumbang", "Banyumas")
        for j in range(plan.devices):
            dev = device_id(agent, j)
            devices[dev] = Device(dev, site, Role.AP, f"10.{n // 250}.{n % 250}.{j + 1}", (Source.SNMP,),
                                  Owner.KIM, interval_s=plan.interval_s)
        agents.append(Agent(agent, (site,), silent_after_s=max(180.0, 3 * plan.interval_s)))
    settings = AgentsSettings(broker=AgentBroker(port=port, client_id=OFFICE_CLIENT, prefix=PREFIX),
                              agents=tuple(agents), late_after_s=300.0)
    url = plan.database_url or f"sqlite:///{data_dir / 'netmon.db'}"
    return Config(sites=sites, devices=devices, agents=settings,
                  storage=StorageConfig(database_url=url, data_dir=str(data_dir)),
                  exporter=ExporterConfig(port=exporter_port))


# --- results: a real poll, replayed -------------------------------------------------------------------

async def _poll_template(work: Path) -> PollResult:
    from collectors.snmp.collector import SnmpCollector
    from collectors.snmp.profile import load_profiles

    with AgentProcess(build_standard_ap(work), max_s=60) as agent:
        collector = SnmpCollector(load_profiles())
        try:
            device = make_device(0, agent.port)
            await collector.poll(device)  # discovery
            result = await collector.poll(device)
        finally:
            await collector.close()
    if result.error is not None:
        raise RuntimeError(f"the template poll failed: {result.error}")
    return result


def template_result(work: Path) -> PollResult:
    """One real poll of the standard access point (SnmpCollector against its recording)."""
    return asyncio.run(_poll_template(work))


class Replay:
    """Results of simulated devices made from the template: counters advance by a per-device, per-sample
    rate drawn once from the seeded generator; uptime grows with time; other gauges are the template's."""

    def __init__(self, template: PollResult, seed: int) -> None:
        self._template = template
        self._seed = seed
        self._rates: dict[str, list[float]] = {}

    def _device_rates(self, device: str) -> list[float]:
        rates = self._rates.get(device)
        if rates is None:
            rng = random.Random(f"{self._seed}:{device}")
            rates = [rng.uniform(0.0, 2e5) if s.kind is SampleKind.COUNTER else 0.0 for s in self._template.samples]
            self._rates[device] = rates
        return rates

    def result(self, device: str, at: float, *, failed: bool = False) -> PollResult:
        """The poll of `device` that ended at `at` (a failed one: a 2 s timeout)."""
        t = self._template
        if failed:
            return PollResult(device, t.source, at - 2.0, 2.0, error=DeviceUnreachable("no answer to SNMP (timeout)"))
        since = at - 1_700_000_000.0
        samples = tuple(
            replace(s, value=s.value + since if s.metric == "netmon_device_uptime_seconds" else s.value + rate * since)
            for s, rate in zip(t.samples, self._device_rates(device), strict=True))
        return replace(t, device=device, started_at=at - t.duration_s, samples=samples)


def backlog_failed(j: int, minute: int, minutes: int) -> bool:
    """Device 0 fails for 30 minutes in the middle of the backlog; device 1 from 10 minutes before the end on."""
    middle = minutes // 2
    return (j == 0 and middle <= minute < middle + 30) or (j == 1 and minute >= minutes - 10)


def status_payload(agent: str, at: float, *, online: bool, last_seq: int, depth: int = 0,
                   oldest_at: float | None = None) -> bytes:
    return wire.encode_status(wire.AgentStatus(agent, at, online, last_seq, depth, oldest_at))


# --- Mosquitto ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    work: Path
    inflight: int = 200
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.access(binary, os.X_OK):
            raise RuntimeError("`mosquitto` not found; install Debian package `mosquitto`")
        conf = self.work / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false",
                 f"max_inflight_messages {self.inflight}", "max_queued_messages 0", "max_queued_bytes 0",
                 "sys_interval 1", f"log_dest file {self.work}/mosquitto.log"]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start")
            time.sleep(0.05)

    def usage(self) -> tuple[float, int]:
        """(CPU seconds, peak RSS kB) of the broker so far."""
        assert self.proc is not None
        return proc_usage(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def proc_usage(pid: int) -> tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next((int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("VmHWM:")), 0)
    return cpu, hwm


async def queue_peak(port: int, into: list[int]) -> None:
    """The broker's stored-message count ($SYS, every second): its peak says how large `max_queued_messages`
    must be for this backlog."""
    from netmon.mqtt import BrokerSettings, connect

    async with connect(BrokerSettings(port=port, client_id="bench-sys")) as conn:
        await conn.subscribe("$SYS/broker/store/messages/count")
        async for message in conn.messages():
            with contextlib.suppress(ValueError):
                into.append(int(message.payload))


# --- the office process ------------------------------------------------------------------------------

def office_main(plan: Plan, port: int, work: str, conn: Connection) -> None:
    logging.basicConfig(filename=Path(work) / "office.log", level=logging.INFO)  # as the daemon logs
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    asyncio.run(_office(plan, port, Path(work), conn))


@dataclass
class OfficeProbe:
    """What the office process measures of itself: lag of live agents' results, by phase."""

    live: set[str]
    lags: list[float] = field(default_factory=list)

    def timed(self, pipeline: Callable[[PollResult], None], agent_of: dict[str, str]) -> Callable[[PollResult], None]:
        def observe(result: PollResult) -> None:
            pipeline(result)
            if agent_of.get(result.device) in self.live:
                self.lags.append(time.time() - result.started_at - result.duration_s)
        return observe


async def _office(plan: Plan, port: int, work: Path, conn: Connection) -> None:
    from netmon.app import NetmonApp

    app = NetmonApp(office_config(plan, work, port, free_port()))
    probe = OfficeProbe(set(plan.live_ids()))
    app.agents.attach(probe.timed(app.on_result, app.agents.agent_of), app.state, app.storage.store,
                      app.alerts.observe_agents)  # the daemon's own pipeline, timed
    stop = asyncio.Event()
    served = asyncio.create_task(app.serve(stop))
    conn.send("ready")
    while True:
        await asyncio.sleep(0.1)
        if served.done():
            served.result()
        if not conn.poll():
            continue
        request = conn.recv()
        if request == "stop":
            stop.set()
            await served
            conn.send(office_stats(app, probe, plan))
            return
        conn.send(office_stats(app, probe, plan))


def office_stats(app: Any, probe: OfficeProbe, plan: Plan) -> dict[str, Any]:
    ingest = app.agents.ingest
    lags, probe.lags = probe.lags, []
    queue = app.storage.queue.stats if app.storage.queue is not None else None
    stats = ingest.stats
    return {
        "cpu_s": time.process_time(), "wall": time.time(),
        "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "live_ingested": sum(stats[a].ingested for a in plan.live_ids()),
        "backlog_ingested": sum(stats[a].ingested for a in plan.backlog_ids()),
        "duplicates": sum(s.duplicates for s in stats.values()),
        "gaps": sum(s.gaps for s in stats.values()),
        "rejected": sum(sum(s.rejected.values()) for s in stats.values()),
        "statuses": sum(s.status is not None for s in stats.values()),
        "silent": sorted(a for a, s in stats.items() if s.silent),
        "live": sum(s.live for s in stats.values()),
        "last_seq": {a: ingest.sequences[a].last for a in plan.backlog_ids()},
        "written": queue.written_total if queue else 0, "queued": (queue.depth + queue.spooled) if queue else 0,
        "lags": lags,
    }


# --- the baseline: straight into the ingest, no MQTT --------------------------------------------------

def direct_main(plan: Plan, template: PollResult, work: str, conn: Connection) -> None:
    logging.basicConfig(filename=Path(work) / "office.log", level=logging.INFO)
    conn.send(asyncio.run(_direct(plan, template, Path(work))))


async def _direct(plan: Plan, template: PollResult, work: Path) -> dict[str, float]:
    from netmon.app import NetmonApp

    app = NetmonApp(office_config(plan, work, 1, free_port()))
    await app.open_storage()
    assert app.storage.queue is not None
    writer = asyncio.create_task(app.storage.queue.run())
    agent = plan.backlog_ids()[0]
    minutes = max(1, plan.direct_results // plan.devices)
    messages = list(backlog_messages(Replay(template, plan.seed), agent, plan.devices, minutes, time.time(), 1))
    written0, cpu0, wall0 = app.storage.queue.stats.written_total, time.process_time(), time.perf_counter()
    topic = wire.result_topic(PREFIX, agent)
    for n, (_seq, payload) in enumerate(messages):
        app.agents.receive(topic, payload)
        if n % 100 == 99:
            await asyncio.sleep(0)  # the writer runs, as it does beside the subscription
    while app.storage.queue.stats.depth + app.storage.queue.stats.spooled:
        await asyncio.sleep(0.05)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    written = app.storage.queue.stats.written_total - written0
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer
    await app.close()
    return {"results": len(messages), "cpu_s": cpu, "wall_s": wall, "written": written}


# --- the publishers ----------------------------------------------------------------------------------

def backlog_messages(replay: Replay, agent: str, devices: int, minutes: int, back_at: float,
                     first_seq: int, interval_s: float = 60.0) -> Iterator[tuple[int, bytes]]:
    """(seq, payload) of `minutes` polls of every device before `back_at`, in poll order."""
    seq = first_seq
    for minute in range(minutes):
        base = back_at - (minutes - minute) * interval_s
        for j in range(devices):
            at = base + j * interval_s / devices
            result = replay.result(device_id(agent, j), at, failed=backlog_failed(j, minute, minutes))
            yield seq, wire.encode(agent, seq, result)
            seq += 1


@dataclass
class PublisherSpec:
    port: int
    agents: list[str]
    devices: int
    interval_s: float
    backlog_minutes: int  # 0: a live agent
    back_at: float  # when the returning agents come back (their backlog ends here)
    seed: int
    send_rate: float = 0.0  # results/s of a backlog (0: unpaced)


@dataclass
class Published:
    live: int = 0
    backlog: int = 0
    backlog_done_at: list[float] = field(default_factory=list)


def publisher_main(spec: PublisherSpec, template: PollResult, conn: Connection) -> None:
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls" on every batch
    asyncio.run(_publisher(spec, template, conn))


async def _publisher(spec: PublisherSpec, template: PollResult, conn: Connection) -> None:
    replay, counts = Replay(template, spec.seed), Published()
    tasks = [asyncio.create_task(_agent(spec, replay, agent, n, counts)) for n, agent in enumerate(spec.agents)]
    conn.send("ready")
    while not conn.poll():
        await asyncio.sleep(0.2)
        for task in tasks:
            if task.done():
                task.result()  # an agent that failed fails the run
    conn.recv()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send({"cpu_s": time.process_time(), **dataclasses.asdict(counts)})


async def _agent(spec: PublisherSpec, replay: Replay, agent: str, n: int, counts: Published) -> None:
    from netmon.mqtt import BrokerSettings, Outgoing, Will, connect

    topic, status = wire.result_topic(PREFIX, agent), wire.status_topic(PREFIX, agent)
    seq = 0
    will = Will(status, status_payload(agent, time.time(), online=False, last_seq=0))
    settings = BrokerSettings(port=spec.port, client_id=agent, timeout_s=60.0)
    async with connect(settings, will=will) as mqtt:
        total = spec.backlog_minutes * spec.devices
        oldest = spec.back_at - spec.backlog_minutes * spec.interval_s if total else None
        await mqtt.publish(status, status_payload(agent, time.time(), online=True, last_seq=total, depth=total,
                                                  oldest_at=oldest), retain=True)
        if total:
            items = backlog_messages(replay, agent, spec.devices, spec.backlog_minutes, spec.back_at, 1,
                                     spec.interval_s)
            pacing = Pacing(send_rate_per_s=spec.send_rate) if spec.send_rate > 0 else None
            for batch in _batches(items, pacing.batch(BATCH) if pacing else BATCH):
                began = time.monotonic()
                await mqtt.publish_in_order([Outgoing(topic, payload) for _seq, payload in batch])
                counts.backlog += len(batch)
                seq = batch[-1][0]
                if pacing is not None:  # as `netmon agent` paces its outbox
                    await asyncio.sleep(pacing.send_pause(len(batch), time.monotonic() - began))
            counts.backlog_done_at.append(time.time())
        await _live(spec, replay, agent, n, seq, mqtt, counts)


async def _live(spec: PublisherSpec, replay: Replay, agent: str, n: int, seq: int, mqtt: Any,
                counts: Published) -> None:
    """One result per device per interval, the devices spread over it, a status every 60 s."""
    topic, status = wire.result_topic(PREFIX, agent), wire.status_topic(PREFIX, agent)
    step = spec.interval_s / spec.devices
    start = time.time() + (n * 0.37) % step
    next_status = time.time() + 60.0
    for k in range(1 << 62):
        await asyncio.sleep(max(0.0, start + k * step - time.time()))
        seq += 1
        j = k % spec.devices
        failed = spec.backlog_minutes > 0 and j == 1  # still down after the return (a ticket, late)
        await mqtt.publish(topic, wire.encode(agent, seq, replay.result(device_id(agent, j), time.time(),
                                                                        failed=failed)))
        counts.live += 1
        if time.time() >= next_status:
            next_status += 60.0
            await mqtt.publish(status, status_payload(agent, time.time(), online=True, last_seq=seq), retain=True)


def _batches(items: Iterator[tuple[int, bytes]], size: int = BATCH) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def publishers(plan: Plan, port: int, template: PollResult, agents: list[str], per_process: int,
               backlog_minutes: int, back_at: float) -> list[ChildProcess]:
    procs = []
    for i in range(0, len(agents), per_process):
        spec = PublisherSpec(port, agents[i:i + per_process], plan.devices, plan.interval_s, backlog_minutes,
                             back_at, plan.seed, plan.send_rate)
        procs.append(ChildProcess(publisher_main, (spec, template), f"publisher-{agents[i]}"))
    for proc in procs:
        proc.wait_ready(60)
    return procs


# --- the run -----------------------------------------------------------------------------------------

@dataclass
class Report:
    plan: Plan
    back_at: float = 0.0  # when the returning agents came back (their backlogs end here)
    template_samples: int = 0
    payload_bytes: int = 0
    direct: dict[str, float] = field(default_factory=dict)
    steady: dict[str, float] = field(default_factory=dict)
    steady_lags: list[float] = field(default_factory=list)
    catchup: dict[str, float] = field(default_factory=dict)
    catchup_lags: list[float] = field(default_factory=list)
    office: dict[str, Any] = field(default_factory=dict)
    broker: dict[str, float] = field(default_factory=dict)
    publishers: dict[str, float] = field(default_factory=dict)


def run(plan: Plan, work: Path, *, say: Callable[[str], None] = print) -> Report:
    report = Report(plan)
    template = template_result(work)
    report.template_samples = len(template.samples)
    report.payload_bytes = len(wire.encode("back-000", 1, Replay(template, plan.seed).result("back-000-d00", 0.0)))
    say(f"template: {report.template_samples} samples, {report.payload_bytes} bytes per message")
    (work / "direct").mkdir()
    with ChildProcess(direct_main, (plan, template, str(work / "direct")), "direct") as direct:
        report.direct = direct.wait_ready(max(600.0, plan.direct_results / 20))
    say(f"baseline: {report.direct}")
    broker = Broker(work, plan.broker_inflight)
    broker.start()
    try:
        _run_with_broker(plan, work, template, broker, report, say)
    finally:
        broker.stop()
    return report


def _run_with_broker(plan: Plan, work: Path, template: PollResult, broker: Broker, report: Report,
                     say: Callable[[str], None]) -> None:
    (work / "office").mkdir()
    office = ChildProcess(office_main, (plan, broker.port, str(work / "office")), "office")
    office.wait_ready(120)
    procs: list[ChildProcess] = []
    try:
        _announce_silent(plan, broker.port, office)
        procs += publishers(plan, broker.port, template, plan.live_ids(), LIVE_PER_PROCESS, 0, 0.0)
        _steady(plan, office, report, say)
        back_at = report.back_at = time.time()
        start = office.ask("stats", 60)
        peaks: list[int] = []
        procs += publishers(plan, broker.port, template, plan.backlog_ids(), BACKLOG_PER_PROCESS,
                            plan.backlog_minutes, back_at)
        with _watch_queue(broker.port, peaks):
            _catchup(plan, office, start, back_at, report, say)
        report.broker["queue_peak"] = max(peaks, default=0)
        report.broker["cpu_s"], report.broker["rss_kb"] = broker.usage()
    finally:
        report.publishers = _stop_publishers(procs)
        report.office = office.stop(timeout_s=60) or {}


def _announce_silent(plan: Plan, port: int, office: ChildProcess) -> None:
    """The returning agents' wills, retained at the broker since their uplinks went down (a day ago); the
    office reading them all is also the sign that its subscription is in place."""

    async def publish() -> None:
        from netmon.mqtt import BrokerSettings, connect

        async with connect(BrokerSettings(port=port, client_id="bench-wills")) as mqtt:
            for agent in plan.backlog_ids():
                day_ago = time.time() - plan.backlog_minutes * plan.interval_s
                await mqtt.publish(wire.status_topic(PREFIX, agent),
                                   status_payload(agent, day_ago, online=False, last_seq=0), retain=True)

    asyncio.run(publish())
    deadline = time.monotonic() + 60
    while office.ask("stats", 60)["statuses"] < plan.backlog_agents:
        if time.monotonic() > deadline:
            raise RuntimeError("the office did not subscribe")
        time.sleep(0.2)


def _steady(plan: Plan, office: ChildProcess, report: Report, say: Callable[[str], None]) -> None:
    time.sleep(plan.warmup_s)
    s0 = office.ask("stats", 60)
    time.sleep(plan.steady_s)
    s1 = office.ask("stats", 60)
    wall = s1["wall"] - s0["wall"]
    report.steady = {"wall_s": wall, "results": s1["live_ingested"] - s0["live_ingested"],
                     "cpu_s": s1["cpu_s"] - s0["cpu_s"], "written": s1["written"] - s0["written"],
                     "silent": len(s1["silent"])}
    report.steady_lags = s1["lags"]
    say(f"steady: {report.steady}")


def _catchup(plan: Plan, office: ChildProcess, start: dict[str, Any], back_at: float, report: Report,
             say: Callable[[str], None]) -> None:
    """From the returning agents' start (`start`: the office's figures then) until storage wrote everything."""
    s0 = start
    deadline = time.monotonic() + max(1800.0, plan.backlog_total / 20)
    done_at: float | None = None
    committed = 0
    samples = [s0]
    while True:
        time.sleep(1.0)
        s = office.ask("stats", 60)
        samples.append(s)
        report.catchup_lags += s["lags"]
        if done_at is None and min(s["last_seq"].values()) >= plan.backlog_minutes * plan.devices:
            done_at = s["wall"]
            committed = s["written"] + s["queued"]  # live agents keep the queue busy: wait for what was in it
            say(f"catch-up: backlog ingested after {done_at - back_at:.0f} s")
        if done_at is not None and s["written"] >= committed:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"catch-up did not finish: {s['backlog_ingested']} of {plan.backlog_total}")
    assert done_at is not None
    last = samples[-1]
    busiest = max((b["cpu_s"] - a["cpu_s"]) / (b["wall"] - a["wall"]) for a, b in itertools.pairwise(samples))
    report.catchup = {"ingest_s": done_at - back_at, "written_s": last["wall"] - back_at,
                      "results": plan.backlog_total,  # then the returning agents went live: counted as live
                      "live_results": last["live_ingested"] + last["backlog_ingested"] - s0["live_ingested"]
                      - s0["backlog_ingested"] - plan.backlog_total,
                      "cpu_s": last["cpu_s"] - s0["cpu_s"], "written": last["written"] - s0["written"],
                      "busiest_cpu": busiest, "duplicates": last["duplicates"], "gaps": last["gaps"],
                      "rejected": last["rejected"], "live_agents_after": last["live"]}
    say(f"catch-up: {report.catchup}")


@contextlib.contextmanager
def _watch_queue(port: int, peaks: list[int]) -> Iterator[None]:
    import threading

    loop = asyncio.new_event_loop()
    task = loop.create_task(queue_peak(port, peaks))
    thread = threading.Thread(target=lambda: loop.run_until_complete(asyncio.wait([task])), daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(10)


def _stop_publishers(procs: list[ChildProcess]) -> dict[str, float]:
    out = {"cpu_s": 0.0, "live": 0.0, "backlog": 0.0, "backlog_last_s": 0.0}
    for proc in procs:
        reply = proc.stop(timeout_s=30) or {}
        out["cpu_s"] += reply.get("cpu_s", 0.0)
        out["live"] += reply.get("live", 0)
        out["backlog"] += reply.get("backlog", 0)
    return out


# --- printing ----------------------------------------------------------------------------------------

def print_report(report: Report) -> None:
    p, d, s, c = report.plan, report.direct, report.steady, report.catchup
    print(f"\nAgent ingest: {p.agents} live agents + {p.backlog_agents} returning, {p.devices} devices each, "
          f"{p.interval_s:.0f} s interval; backlog {p.backlog_minutes} min each ({p.backlog_total:,} results); "
          f"template {report.template_samples} samples, {report.payload_bytes} B per message; "
          f"storage {'PostgreSQL' if p.database_url else 'SQLite'}; broker max_inflight_messages "
          f"{p.broker_inflight}; agents' send rate {f'{p.send_rate:g}/s' if p.send_rate > 0 else 'unpaced'}")
    print(machine())
    steady_rate = s["results"] / s["wall_s"]
    print(table("\nSteady state (office process)", ["", "value"], [
        ["results/s ingested", f"{steady_rate:.1f}"],
        ["office CPU", f"{100 * s['cpu_s'] / s['wall_s']:.1f} % of one core"],
        ["CPU per result", f"{1000 * s['cpu_s'] / max(1, s['results']):.2f} ms"],
        ["lag p50 / p99 / max", _lags(report.steady_lags)],
        ["database writes/s", f"{s['written'] / s['wall_s']:.0f}"],
        ["returning agents marked silent", f"{s['silent']} of {p.backlog_agents}"],
    ]))
    direct_ms = 1000 * d["cpu_s"] / d["results"]
    catch_ms = 1000 * c["cpu_s"] / max(1, c["results"] + c["live_results"])
    print(table("\nCatch-up: every returning agent's backlog at once, live agents going on", ["", "value"], [
        ["backlog ingested in", f"{c['ingest_s']:.0f} s ({c['results'] / c['ingest_s']:.0f} backlog results/s)"],
        ["... and committed to storage in", f"{c['written_s']:.0f} s"],
        ["office CPU", f"{c['cpu_s']:.0f} s ({100 * c['cpu_s'] / c['written_s']:.0f} % of one core; busiest "
                       f"second {100 * c['busiest_cpu']:.0f} %)"],
        ["CPU per result (backlog + live)", f"{catch_ms:.2f} ms"],
        ["baseline: the same straight into the ingest", f"{direct_ms:.2f} ms ({d['results']:.0f} results, "
                                                        f"no MQTT)"],
        ["ratio MQTT path / baseline", f"{catch_ms / direct_ms:.2f}x"],
        ["office peak RSS", f"{report.office.get('rss_kb', 0) / 1024:.0f} MB"],
        ["database writes", f"{c['written']:,.0f} records"],
        ["live agents' lag meanwhile p50 / p99 / max", _lags(report.catchup_lags)],
        ["duplicates / gaps / rejected", f"{c['duplicates']:.0f} / {c['gaps']:.0f} / {c['rejected']:.0f}"],
        ["agents live afterwards", f"{c['live_agents_after']:.0f} of {p.agents + p.backlog_agents}"],
        ["broker: peak stored messages, CPU, peak RSS", f"{report.broker.get('queue_peak', 0):,.0f}, "
         f"{report.broker.get('cpu_s', 0):.0f} s, {report.broker.get('rss_kb', 0) / 1024:.0f} MB"],
        ["publishers' CPU (all simulated agents)", f"{report.publishers.get('cpu_s', 0):.0f} s"],
    ]))


def _lags(lags: Sequence[float]) -> str:
    if not lags:
        return "-"
    return f"{quantile(lags, 0.5):.2f} / {quantile(lags, 0.99):.2f} / {max(lags):.2f} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="agents and backlog length x this (0.05: 5+1)")
    parser.add_argument("--agents", type=int, help="live agents (default 100 x scale)")
    parser.add_argument("--backlog-agents", type=int, help="returning agents (default 10 x scale)")
    parser.add_argument("--devices", type=int, help="devices per agent (default 30)")
    parser.add_argument("--interval", type=float, dest="interval_s", help="poll interval, s (default 60)")
    parser.add_argument("--backlog-minutes", type=int, help="backlog length per agent (default 1440 x scale)")
    parser.add_argument("--warmup", type=float, dest="warmup_s", help="s before the steady window (default 200)")
    parser.add_argument("--steady", type=float, dest="steady_s", help="steady window, s (default 120)")
    parser.add_argument("--direct-results", type=int, help="results of the no-MQTT baseline (default 20000 x scale)")
    parser.add_argument("--broker-inflight", type=int,
                        help="the broker's max_inflight_messages: the office's acknowledgement window (default 200)")
    parser.add_argument("--send-rate", type=float,
                        help="each returning agent's outbox.send_rate_per_s (default 20; 0: as fast as it can)")
    parser.add_argument("--database-url", help="office storage (default: SQLite in a temporary directory)")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary directory goes")
    args = parser.parse_args(argv)
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls" on every batch
    changes = {k: v for k, v in vars(args).items() if k not in ("scale", "dir")}
    plan = Plan.scaled(args.scale, **changes)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="agent-ingest-") as work:
        report = run(plan, Path(work))
    print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
