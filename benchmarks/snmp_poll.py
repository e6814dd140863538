"""SNMP poll benchmark: CPU per device-poll of netmon's poll path against baselines, and a capacity run.

    python benchmarks/snmp_poll.py [--quick] [all|poll|capacity] [options]

Parts (docs/performance.md explains the figures):

- `poll`: `SnmpCollector.poll` on N "standard access points" after discovery, against the floor: the same
  request sequence (captured from netmon's transport) replayed with pysnmp alone, through the same v3arch
  command generator (`floor`), and through pysnmp's v1arch message API over a plain socket (`raw`). Then the
  same data read the way LibreNMS reads it: one `snmpget` process for the scalars and one `snmpbulkwalk`
  process per column, CPU taken from RUSAGE_CHILDREN. The same poll as SNMPv3 authPriv (SHA-256, AES-128):
  by netmon's fast path (`netmon-v3`), by netmon through pysnmp (`netmon-v3-pysnmp`), by pysnmp alone
  (`floor-v3`) and by net-snmp's CLI, against `--v3-agent`: net-snmp's snmpd serving the standard AP
  (default; with netmon's v2c fast path against it for scale) or pysnmp's agent in the agent process.
- `capacity`: the real `Scheduler` + `SnmpCollector` (+ `LatestResults`) on D devices at a fixed interval,
  a share of them pointed at a black hole (a UDP socket that reads and never answers), in one or more
  worker processes, each with a shard of the devices.

The agent always runs in its own process: `netmon.simulate`'s fast v2c responder (`V2cResponder`, the path
`SnmpSimulator` takes for v2c reads) over one `RecordStore`, answering any community so that every device
can have a distinct target (community) on one port. It counts requests and reports its own CPU time. For
SNMPv3 the same process also runs `SnmpSimulator` (pysnmp's agent, USM) on a third port; net-snmp's snmpd
(benchmarks/snmpd_agent.py) is the other v3 agent, a C agent that needs ~0.1 ms of CPU per request where
pysnmp's needs 1-2 ms, so that the poller's CPU is not inflated by waiting on a slow peer.
All traffic stays on 127.0.0.1; every part stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import resource
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pysnmp
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.proto import rfc1902

from benchmarks.report import machine, quantile, table
from benchmarks.snmp_agent import HOST, V3_USER, Agent, AgentProcess, Window, build_standard_ap
from benchmarks.snmp_baselines import CodecFloor, NetSnmpReport, RawFloor, V3Floor, bench_netsnmp
from benchmarks.snmpd_agent import SnmpdProcess
from collectors.snmp import transport as snmp_transport
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from collectors.snmp.transport import SnmpEngineHandle
from collectors.snmp.varbind import oid_tuple
from netmon.exporter import render
from netmon.latest import LatestResults, Snapshot
from netmon.model import (
    Device,
    Owner,
    PollResult,
    Role,
    Secret,
    Site,
    SnmpSettings,
    SnmpV2cAuth,
    SnmpV3Auth,
    Source,
)
from netmon.scheduler import Scheduler
from netmon.worker import ShardedSnmpPoller, WorkerSettings

# --- devices and the request sequence of one poll -----------------------------------------------------

def community(i: int) -> str:
    return f"bench-{i:05d}"


def make_device(i: int, port: int, *, interval_s: float = 60.0, timeout_s: float = 2.0,
                retries: int = 1) -> Device:
    settings = SnmpSettings(auth=SnmpV2cAuth(Secret(community(i))), port=port, timeout_s=timeout_s,
                            retries=retries)
    return Device(id=f"ap{i:05d}", site="bench", role=Role.AP, address=HOST, sources=(Source.SNMP,),
                  owner=Owner.KIM, interval_s=interval_s, snmp=settings)


def make_v3_device(i: int, port: int) -> Device:
    """An access point polled with SNMPv3 authPriv (SHA-256, AES-128) as V3_USER."""
    user = V3_USER
    assert user.auth_key is not None and user.priv_key is not None
    auth = SnmpV3Auth(user.name, user.auth_protocol, Secret(user.auth_key), user.priv_protocol,
                      Secret(user.priv_key))
    return replace(make_device(i, port), id=f"ap3-{i:05d}", snmp=SnmpSettings(auth=auth, port=port))


@dataclass(frozen=True)
class Request:
    kind: str  # get | next | bulk
    oids: tuple[str, ...]
    repetitions: int
    answered: int  # varbinds in the response


@contextlib.contextmanager
def capture_requests() -> Iterator[list[Request]]:
    """Record every request netmon's transport sends (kind, OIDs, max-repetitions, varbinds back)."""
    seen: list[Request] = []
    original = snmp_transport.SnmpTransport._request

    async def recording(self: snmp_transport.SnmpTransport, kind: str, varbinds: list[Any],
                        repetitions: int = 0) -> list[tuple[Any, Any]]:
        reply = await original(self, kind, varbinds, repetitions)
        seen.append(Request(kind, tuple(".".join(map(str, v)) for v in varbinds), repetitions, len(reply)))
        return reply

    snmp_transport.SnmpTransport._request = recording  # type: ignore[method-assign,assignment]
    try:
        yield seen
    finally:
        snmp_transport.SnmpTransport._request = original  # type: ignore[method-assign]


@dataclass
class PathResult:
    name: str
    cpu_ms: list[float] = field(default_factory=list)  # CPU per device-poll, one entry per repeat
    wall_ms: list[float] = field(default_factory=list)
    agent_util: list[float] = field(default_factory=list)
    requests: int = 0
    varbinds: int = 0
    unanswered: int = 0

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)


@dataclass
class NetmonReport:
    devices: int
    rounds: int
    sequence: list[Request]
    poll_get: tuple[str, ...]
    poll_walk: tuple[str, ...]
    samples: int
    discovery_cpu_ms: float
    discovery_requests: int
    paths: dict[str, PathResult]


async def bench_netmon(agent: AgentProcess, devices: int, rounds: int, repeats: int, *,
                       v3: bool = True) -> NetmonReport:
    """CPU per device-poll: netmon's `SnmpCollector.poll` vs the same PDUs with pysnmp alone; with `v3`, also
    SNMPv3 authPriv against the agent process's pysnmp agent (`bench_snmpd` measures it against net-snmp's)."""
    devs = [make_device(i, agent.port) for i in range(devices)]
    collector = SnmpCollector(load_profiles())
    found = await _discover(agent, collector, devs)
    floor = V3Floor()
    for i in range(devices):
        await floor.add(community(i), agent.port)
    floor_plan = found.floor_plan()
    sequence = found.sequence
    raw = RawFloor()
    raw_transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(lambda: raw,
                                                                                local_addr=(HOST, 0))
    raw_plan = [(r.kind, [rfc1902.ObjectName(o) for o in r.oids], r.repetitions) for r in sequence]
    codec = CodecFloor()
    codec_transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(lambda: codec,
                                                                                  local_addr=(HOST, 0))
    codec_plan = [(r.kind, [oid_tuple(o) for o in r.oids], r.repetitions) for r in sequence]
    old = SnmpCollector(load_profiles(), SnmpEngineHandle(fast_v2c=False))  # v2c through v3arch, as before
    await asyncio.gather(*(old.poll(d) for d in devs))
    # SNMPv3 authPriv: netmon (fast path, and through pysnmp's v3arch engine and USM) and the floor
    v3_paths = await V3Paths.open(agent.v3_port, devices) if v3 else None
    runs: dict[str, Round] = {
        "netmon": lambda: _poll_fleet(collector, devs),
        "netmon-v3arch": lambda: _poll_fleet(old, devs),  # v2c through v3arch, as before the fast path
        "floor": _gathered(lambda: (floor.poll(t, floor_plan) for t in floor.targets)),
        "raw": _gathered(lambda: (raw.poll(community(i), agent.port, raw_plan) for i in range(devices))),
        "codec": _gathered(lambda: (codec.poll(community(i), agent.port, codec_plan) for i in range(devices))),
        **(v3_paths.runs(floor_plan) if v3_paths else {}),
    }
    paths = await _measure(agent, runs, devices * rounds, rounds, repeats)
    for result in paths.values():
        result.varbinds = sum(r.answered for r in sequence)
    raw_transport.close()
    codec_transport.close()
    floor.close()
    await collector.close()
    await old.close()
    if v3_paths:
        await v3_paths.close()
    return found.report(devices, rounds, paths)


async def bench_snmpd(snmpd: SnmpdProcess, devices: int, rounds: int, repeats: int) -> NetmonReport:
    """SNMPv3 against net-snmp's snmpd serving the standard AP: every v3 path (netmon's fast path, netmon through
    pysnmp, the pysnmp floor) and netmon's v2c fast path, the same poll against the same agent, in one run."""
    devs = [replace(make_device(i, snmpd.port), snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(snmpd.community)),
                                                                   port=snmpd.port))
            for i in range(devices)]
    collector = SnmpCollector(load_profiles())
    found = await _discover(snmpd, collector, devs)
    v3_paths = await V3Paths.open(snmpd.v3_port, devices)
    runs: dict[str, Round] = {"netmon": lambda: _poll_fleet(collector, devs), **v3_paths.runs(found.floor_plan())}
    paths = await _measure(snmpd, runs, devices * rounds, rounds, repeats)
    for result in paths.values():
        result.varbinds = sum(r.answered for r in found.sequence)
    await collector.close()
    await v3_paths.close()
    return found.report(devices, rounds, paths)


@dataclass
class Discovered:
    """A fleet after its discovery: the requests of one poll, the poll plan and what discovery cost."""

    sequence: list[Request]
    poll_get: tuple[str, ...]
    poll_walk: tuple[str, ...]
    samples: int
    discovery_cpu_s: float
    discovery_requests: int

    def floor_plan(self) -> list[tuple[str, list[tuple[Any, Any]], int]]:
        """The poll's requests as pysnmp's command generator sends them."""
        return [(r.kind, [(rfc1902.ObjectName(o), rfc1902.Null("")) for o in r.oids], r.repetitions)
                for r in self.sequence]

    def report(self, devices: int, rounds: int, paths: dict[str, PathResult]) -> NetmonReport:
        return NetmonReport(devices, rounds, self.sequence, self.poll_get, self.poll_walk, self.samples,
                            self.discovery_cpu_s / devices * 1000, self.discovery_requests // devices, paths)


async def _discover(agent: Agent, collector: SnmpCollector, devs: list[Device]) -> Discovered:
    """Discover every device (measured), then capture the requests of one poll of the first."""
    with capture_requests() as discovery_seq, Window(agent) as disc:
        first = await asyncio.gather(*(collector.poll(d) for d in devs))
    if not all(r.ok for r in first):
        raise RuntimeError(f"discovery failed: {next(r.error for r in first if not r.ok)}")
    with capture_requests() as sequence:
        probe = await collector.poll(devs[0])
    session = collector._sessions[devs[0].id]  # the plan, for net-snmp and the report
    assert session.profile is not None and session.discovery is not None
    plan = session.profile.poll_plan(session.discovery)
    return Discovered(sequence, plan.get, plan.walk, len(probe.samples), disc.cpu_s, len(discovery_seq))


@dataclass
class V3Paths:
    """SNMPv3 authPriv (SHA-256, AES-128) as V3_USER against one agent port, discovered and ready to measure:
    netmon's fast path (own USM), netmon through pysnmp (`SnmpEngineHandle(fast_v3=False)`, the "before") and
    the bare pysnmp v3arch loop (the floor)."""

    devices: list[Device]
    fast: SnmpCollector
    pysnmp: SnmpCollector
    floor: V3Floor

    @classmethod
    async def open(cls, port: int, devices: int) -> V3Paths:
        paths = cls([make_v3_device(i, port) for i in range(devices)], SnmpCollector(load_profiles()),
                    SnmpCollector(load_profiles(), SnmpEngineHandle(fast_v3=False)), V3Floor())
        for _ in range(devices):
            await paths.floor.add_v3(V3_USER, port)
        await _poll_fleet(paths.fast, paths.devices)  # discovery
        await _poll_fleet(paths.pysnmp, paths.devices)
        return paths

    def runs(self, floor_plan: list[tuple[str, list[tuple[Any, Any]], int]]) -> dict[str, Round]:
        return {"netmon-v3": lambda: _poll_fleet(self.fast, self.devices),
                "netmon-v3-pysnmp": lambda: _poll_fleet(self.pysnmp, self.devices),
                "floor-v3": _gathered(lambda: (self.floor.poll(t, floor_plan) for t in self.floor.targets))}

    async def close(self) -> None:
        self.floor.close()
        await self.fast.close()
        await self.pysnmp.close()


V3_PATHS = ("netmon-v3", "netmon-v3-pysnmp", "floor-v3")  # the names of `V3Paths.runs`
Round = Callable[[], Awaitable[int]]  # one poll of every device of a path; returns the samples (or varbinds)


async def _poll_fleet(collector: SnmpCollector, fleet: list[Device]) -> int:
    results = await asyncio.gather(*(collector.poll(d) for d in fleet))
    bad = [r for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"netmon poll failed: {bad[0].error}")
    return sum(len(r.samples) for r in results)


def _gathered(polls: Callable[[], Iterable[Awaitable[int]]]) -> Round:
    """A round that runs the polls `polls()` gives side by side and adds up what they return."""
    async def round_() -> int:
        return sum(await asyncio.gather(*polls()))
    return round_


async def _measure(agent: Agent, runs: dict[str, Round], polls: int, rounds: int,
                   repeats: int) -> dict[str, PathResult]:
    """After a warm-up round of each, `repeats` times `rounds` rounds of each path in turn, measured per
    device-poll (`polls` = devices x rounds)."""
    paths = {name: PathResult(name) for name in runs}
    for run in runs.values():  # warm-up
        await run()
    for _ in range(repeats):
        for name, run in runs.items():
            with Window(agent) as w:
                for _ in range(rounds):
                    await run()
            result = paths[name]
            result.cpu_ms.append(w.cpu_s / polls * 1000)
            result.wall_ms.append(w.wall_s / polls * 1000)
            result.agent_util.append(w.agent_cpu_s / w.wall_s)
            result.requests += w.received
            result.unanswered += w.received - w.answered
    return paths


# --- capacity: scheduler + collector on many devices, in one or more worker processes --------------------

@dataclass(frozen=True)
class CapacityConfig:
    devices: int
    silent_fraction: float
    interval_s: float
    cycles: int
    workers: int
    timeout_s: float = 2.0
    retries: int = 1
    max_in_flight: int = 256
    jitter_s: float = 5.0
    deadline_s: float = 30.0
    rcvbuf_bytes: int = 0  # >0: SO_RCVBUF of the poller's pysnmp socket (0: the OS default)
    start: str = "warm"  # cold: as netmon starts today; open: pysnmp targets first; warm: + discovery first
    fast_v2c: bool = True  # False: v2c through pysnmp's v3arch engine (as before the fast path)
    via: str = "poller"  # poller: netmon.worker.ShardedSnmpPoller; prototype: capacity_worker below
    warmup_s: float = 0.0  # poller: seconds run before the measured cycles (at least until all reported)
    scrape_every_s: float = 0.0  # >0: render /metrics from the LatestResults this often, as the exporter does

    @property
    def duration_s(self) -> float:
        return self.cycles * self.interval_s + self.jitter_s + 1.0


async def scrape_loop(latest: LatestResults, every_s: float, into: list[dict[str, float]]) -> None:
    """What a Prometheus scraping the daemon costs it: every `every_s`, a snapshot on the loop and the text
    rendered in a thread (`ExporterServer` does exactly this). Appends {wall_s, cpu_s, bytes} per scrape."""
    while True:
        await asyncio.sleep(every_s)
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        size, render_cpu = await asyncio.to_thread(_timed_render, latest.snapshot())
        into.append({"wall_s": time.perf_counter() - wall0, "cpu_s": time.thread_time() - cpu0 + render_cpu,
                     "bytes": size})


def _timed_render(snapshot: Snapshot) -> tuple[int, float]:
    """Render in this (worker) thread: the text's size and the thread's CPU."""
    t0 = time.thread_time()
    return len(render(snapshot)), time.thread_time() - t0


def capacity_devices(cfg: CapacityConfig, port: int, blackhole: int, shard: int) -> list[Device]:
    every = round(1 / cfg.silent_fraction) if cfg.silent_fraction > 0 else 0
    return [make_device(i, blackhole if every and i % every == 0 else port, interval_s=cfg.interval_s,
                        timeout_s=cfg.timeout_s, retries=cfg.retries)
            for i in range(shard, cfg.devices, cfg.workers)]


def capacity_worker(cfg: CapacityConfig, port: int, blackhole: int, shard: int, conn: Connection) -> None:
    """Worker process entry point: poll a shard of the devices with the real scheduler, then report."""
    logging.basicConfig(level=logging.WARNING, handlers=[logging.NullHandler()], force=True)
    conn.send(asyncio.run(_capacity_worker(cfg, port, blackhole, shard)))


async def _capacity_worker(cfg: CapacityConfig, port: int, blackhole: int, shard: int) -> dict[str, Any]:
    devices = capacity_devices(cfg, port, blackhole, shard)
    latest = LatestResults({"bench": Site("bench", "Benchmark", "-", "-", "-")}, {d.id: d for d in devices})
    collector = SnmpCollector(load_profiles(), SnmpEngineHandle(fast_v2c=cfg.fast_v2c,
                                                                rcvbuf_bytes=cfg.rcvbuf_bytes or 212_992))
    outcomes: Counter[str] = Counter()
    durations: list[float] = []

    def on_result(result: PollResult) -> None:
        latest.record(result)
        outcomes[result.error.reason if result.error else "ok"] += 1
        if result.ok:
            durations.append(result.duration_s)

    scheduler = Scheduler(devices, collector.poll, on_result, max_in_flight=cfg.max_in_flight,
                          jitter_s=cfg.jitter_s, deadline_s=cfg.deadline_s)
    peak_in_flight = 0

    async def sample() -> None:
        nonlocal peak_in_flight
        while True:
            peak_in_flight = max(peak_in_flight, scheduler.stats.in_flight)
            await asyncio.sleep(0.5)

    setup0 = time.process_time()
    if cfg.start in ("open", "warm"):  # prototype of an `SnmpCollector.open(devices)` at start-up: the LCD
        for device in devices:  # is filled once, not one target per first poll (each addition invalidates
            await collector._session(device)  # pysnmp's target caches, rebuilt on the next message)
    setup_cpu = time.process_time() - setup0
    if cfg.rcvbuf_bytes and cfg.start != "cold" and not cfg.fast_v2c:  # replies of 256 polls arrive in bursts
        await asyncio.sleep(0.2)  # let pysnmp's datagram endpoint open
        udp_transport = collector._handle.engine.transport_dispatcher.get_transport(udp.DOMAIN_NAME)
        sock = udp_transport.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, cfg.rcvbuf_bytes)
    discovery0, discovery_wall0 = time.process_time(), time.perf_counter()
    if cfg.start == "warm":  # steady state: every device discovered before the measured cycles
        limit = asyncio.Semaphore(cfg.max_in_flight)

        async def discover(device: Device) -> None:
            async with limit:
                await collector.poll(device)

        await asyncio.gather(*(discover(d) for d in devices))
    discovery_cpu, discovery_wall = time.process_time() - discovery0, time.perf_counter() - discovery_wall0
    rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, wall0 = time.process_time(), time.perf_counter()
    sampler = asyncio.create_task(sample())
    run = asyncio.create_task(scheduler.run())
    scrapes: list[dict[str, float]] = []
    scraper = asyncio.create_task(scrape_loop(latest, cfg.scrape_every_s, scrapes)) if cfg.scrape_every_s else None
    await asyncio.sleep(cfg.duration_s)
    run.cancel()
    sampler.cancel()
    if scraper is not None:
        scraper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if collector._handle.v2c is not None:
        poller_drops = udp_socket_drops(collector._handle.v2c.port)
    else:
        poller_sock = collector._handle.engine.transport_dispatcher.get_transport(udp.DOMAIN_NAME).transport
        poller_drops = udp_socket_drops(poller_sock.get_extra_info("sockname")[1]) if poller_sock else -1
    await collector.close()
    return {"devices": len(devices), "polls": scheduler.stats.polls_total, "outcomes": dict(outcomes),
            "missed": scheduler.stats.missed_cycles_total, "lags": scheduler.stats.lags,
            "durations": durations, "cpu_s": cpu, "wall_s": wall, "peak_in_flight": peak_in_flight,
            "rss_setup_kb": rss_setup, "setup_cpu_s": setup_cpu, "discovery_cpu_s": discovery_cpu,
            "discovery_wall_s": discovery_wall, "socket_drops": poller_drops,
            "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "scrapes": scrapes}


@dataclass
class CapacityReport:
    cfg: CapacityConfig
    workers: list[dict[str, Any]]
    agent_cpu_s: float
    agent_wall_s: float
    received: int
    answered: int
    blackholed: int
    udp_rcvbuf_errors: int
    agent_socket_drops: int

    def merged(self, key: str) -> list[float]:
        return [x for w in self.workers for x in w[key]]

    @property
    def missed(self) -> int:
        return sum(w["missed"] for w in self.workers)

    def lag(self, q: float) -> float:
        return quantile(self.merged("lags"), q)


def udp_rcvbuf_errors() -> int:
    """Datagrams the kernel dropped for a full receive buffer, host-wide (Linux), or -1."""
    try:
        lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
        return int(lines[1][lines[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return -1


def udp_socket_drops(port: int) -> int:
    """Datagrams the kernel dropped on the (IPv4) UDP socket bound to `port` (Linux), or -1."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                return int(fields[-1])
    return -1


def setup_allowance(cfg: CapacityConfig) -> float:
    """Seconds a worker may spend before its cycles: opening targets (~7 ms CPU each), discovery (~45 ms)."""
    per_device = {"cold": 0.0, "open": 0.02, "warm": 0.15}[cfg.start]
    return per_device * cfg.devices / cfg.workers


def bench_capacity(agent: AgentProcess, cfg: CapacityConfig) -> CapacityReport:
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    drops0 = udp_rcvbuf_errors()
    with Window(agent) as window:
        for shard in range(cfg.workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=capacity_worker, args=(cfg, agent.port, agent.blackhole, shard, child),
                               daemon=True, name=f"poller-{shard}")
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        results = []
        for parent, proc in zip(pipes, procs, strict=True):
            if not parent.poll(cfg.duration_s + 180 + setup_allowance(cfg)):
                proc.kill()
                raise RuntimeError(f"{proc.name} did not report in time")
            results.append(parent.recv())
            proc.join(30)
        # the agent window also covers worker start-up (imports) and shut-down: utilisation is a lower bound
        agent_drops = udp_socket_drops(agent.port)
    return CapacityReport(cfg, results, window.agent_cpu_s, window.wall_s, window.received, window.answered,
                          window.blackholed, udp_rcvbuf_errors() - drops0, agent_drops)


def bench_capacity_poller(agent: AgentProcess, cfg: CapacityConfig) -> CapacityReport:
    """The capacity run through netmon's own `ShardedSnmpPoller` (workers, pipes, restarts and all)."""
    return asyncio.run(_bench_capacity_poller(agent, cfg))


async def _bench_capacity_poller(agent: AgentProcess, cfg: CapacityConfig) -> CapacityReport:
    devices = capacity_devices(replace(cfg, workers=1), agent.port, agent.blackhole, 0)
    latest = LatestResults({"bench": Site("bench", "Benchmark", "-", "-", "-")}, {d.id: d for d in devices})
    outcomes: Counter[str] = Counter()
    durations: list[float] = []
    reported: set[str] = set()
    measuring = False

    def on_result(result: PollResult) -> None:
        latest.record(result)
        reported.add(result.device)
        if measuring:
            outcomes[result.error.reason if result.error else "ok"] += 1
            if result.ok:
                durations.append(result.duration_s)

    settings = WorkerSettings(max_in_flight=cfg.max_in_flight, jitter_s=cfg.jitter_s, deadline_s=cfg.deadline_s,
                              fast_v2c=cfg.fast_v2c)
    poller = ShardedSnmpPoller(devices, cfg.workers, settings, on_result)
    logging.getLogger("netmon.latest").setLevel(logging.ERROR)  # one line per failing device: noise here
    drops0 = udp_rcvbuf_errors()
    with Window(agent) as window:
        t0 = time.perf_counter()
        run = asyncio.create_task(poller.run())
        await poller.wait_started(120 + 0.01 * cfg.devices)
        setup = poller.worker_info()
        setup_wall = time.perf_counter() - t0
        waited = time.perf_counter()
        while len(reported) < len(devices) and time.perf_counter() - waited < 900:
            await asyncio.sleep(1.0)
        await asyncio.sleep(cfg.warmup_s)
        warm = poller.worker_info()
        warm_wall = time.perf_counter() - t0 - setup_wall
        stats = poller.stats
        polls0, missed0 = stats.polls_total, stats.missed_cycles_total
        stats.lags.clear()
        measuring = True
        parent0, wall0 = time.process_time(), time.perf_counter()
        peak_in_flight = 0
        scrapes: list[dict[str, float]] = []
        scraper = (asyncio.create_task(scrape_loop(latest, cfg.scrape_every_s, scrapes)) if cfg.scrape_every_s
                   else None)
        while time.perf_counter() - wall0 < cfg.duration_s:
            await asyncio.sleep(0.5)
            peak_in_flight = max(peak_in_flight, stats.in_flight)
        measuring = False
        if scraper is not None:
            scraper.cancel()
        wall = time.perf_counter() - wall0
        parent_cpu = time.process_time() - parent0
        end = poller.worker_info()
        lags = list(stats.lags)
        polls, missed = stats.polls_total - polls0, stats.missed_cycles_total - missed0
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        agent_drops = udp_socket_drops(agent.port)
    workers: list[dict[str, Any]] = []
    for i, (s0, w0, w1) in enumerate(zip(setup, warm, end, strict=True)):
        first = i == 0  # merged figures ride on the first worker's entry (print_capacity sums them)
        workers.append({
            "devices": w1["devices"], "polls": polls if first else 0, "outcomes": dict(outcomes) if first else {},
            "missed": missed if first else 0, "lags": lags if first else [],
            "durations": durations if first else [],
            "cpu_s": w1["cpu_s"] - w0["cpu_s"] + (parent_cpu if first else 0.0), "wall_s": wall,
            "peak_in_flight": peak_in_flight if first else 0, "rss_setup_kb": s0["rss_kb"],
            "setup_cpu_s": s0["cpu_s"], "discovery_cpu_s": w0["cpu_s"] - s0["cpu_s"],
            "discovery_wall_s": warm_wall, "socket_drops": -1, "rss_peak_kb": w1["rss_kb"],
            "restarts": w1["restarts"], "parent_cpu_s": parent_cpu, "scrapes": scrapes if first else []})
    return CapacityReport(cfg, workers, window.agent_cpu_s, window.wall_s, window.received, window.answered,
                          window.blackholed, udp_rcvbuf_errors() - drops0, agent_drops)


# --- printing -------------------------------------------------------------------------------------------

def print_netmon(report: NetmonReport, netsnmp: list[NetSnmpReport], netsnmp_v3: list[NetSnmpReport]) -> None:
    seq = report.sequence
    shape = ", ".join(f"{r.kind} {len(r.oids)} oids" + (f" x{r.repetitions}" if r.repetitions else "") for r in seq)
    print(f"\nStandard AP poll: {len(seq)} requests ({shape}), "
          f"{sum(r.answered for r in seq)} varbinds back, {report.samples} samples; "
          f"GET {len(report.poll_get)} scalars, walk {len(report.poll_walk)} columns")
    print(f"Discovery (excluded below): {report.discovery_cpu_ms:.1f} ms CPU per device incl. its first poll, "
          f"{report.discovery_requests} requests")
    floor = report.paths["floor"].cpu
    base = netsnmp[0].children_cpu_ms if netsnmp else float("nan")
    rows: list[list[object]] = []
    labels = {"netmon": "netmon SnmpCollector.poll (v2c fast path)",
              "netmon-v3arch": "netmon SnmpCollector.poll, v2c via v3arch (before)",
              "floor": "floor: same PDUs, pysnmp v3arch cmdgen",
              "raw": "floor: same PDUs, pysnmp v1arch + socket",
              "codec": "netmon's v2c codec alone + socket",
              "netmon-v3": "netmon SnmpCollector.poll, SNMPv3 authPriv (fast path, own USM)",
              "netmon-v3-pysnmp": "netmon SnmpCollector.poll, SNMPv3 authPriv via pysnmp (before)",
              "floor-v3": "floor: same PDUs, SNMPv3 authPriv, pysnmp v3arch"}
    for name, p in report.paths.items():
        other_agent = name in V3_PATHS  # pysnmp's agent (USM) in the same process: requests not counted
        rows.append([labels[name], f"{p.cpu:.2f}", f"{statistics.median(p.wall_ms):.2f}",
                     f"{p.cpu / floor:.2f}", f"{p.cpu / base:.2f}", f"{max(p.agent_util):.0%}",
                     "v3 agent" if other_agent else f"{p.requests}/{p.unanswered}"])
    for n in netsnmp + netsnmp_v3:
        rows.append([f"{n.variant} ({n.processes_per_poll} processes)", f"{n.children_cpu_ms:.2f}",
                     f"{n.wall_ms:.2f}", f"{n.children_cpu_ms / floor:.2f}", f"{n.children_cpu_ms / base:.2f}",
                     "-", f"{n.varbinds_per_poll} vb"])
    print(table(f"\nCPU per device-poll ({report.devices} devices x {report.rounds} rounds, median of repeats)",
                ["path", "CPU ms", "wall ms", "x floor", "x net-snmp", "agent CPU", "requests/unanswered"],
                rows))
    net = report.paths["netmon"].cpu
    print(f"overhead over the floor (v3arch): {(net - floor) / floor:+.1%}   "
          f"over v1arch: {(net - report.paths['raw'].cpu) / report.paths['raw'].cpu:+.1%}   "
          f"over its own codec: {(net - report.paths['codec'].cpu) / report.paths['codec'].cpu:+.1%}   "
          f"netmon / net-snmp: {net / base:.2f}")
    if "netmon-v3" in report.paths:
        print_v3_summary(report, netsnmp_v3)
    if netsnmp:
        print(f"net-snmp walk command: {netsnmp[0].command}")


def print_v3_summary(report: NetmonReport, netsnmp_v3: list[NetSnmpReport]) -> None:
    v3, v3_floor = report.paths["netmon-v3"].cpu, report.paths["floor-v3"].cpu
    before, net = report.paths["netmon-v3-pysnmp"].cpu, report.paths["netmon"].cpu
    print(f"SNMPv3 authPriv (SHA-256, AES-128) CPU per poll: fast path {v3:.2f} ms, via pysnmp (before) "
          f"{before:.2f} ms ({before / v3:.1f}x), pysnmp floor {v3_floor:.2f} ms ({v3_floor / v3:.1f}x)"
          + (f", net-snmp {netsnmp_v3[0].children_cpu_ms:.2f} ms ({netsnmp_v3[0].children_cpu_ms / v3:.0f}x)"
             if netsnmp_v3 else "") + f"; {v3 / net:.1f}x a v2c poll")


def print_snmpd(report: NetmonReport, netsnmp: list[NetSnmpReport]) -> None:
    """The SNMPv3 paths and netmon's v2c fast path against net-snmp's snmpd (and net-snmp's CLI against it)."""
    seq = report.sequence
    print(f"\nAgainst net-snmp's snmpd serving the standard AP: {len(seq)} requests, "
          f"{sum(r.answered for r in seq)} varbinds back, {report.samples} samples; discovery (excluded) "
          f"{report.discovery_cpu_ms:.1f} ms CPU per device")
    fast = report.paths["netmon-v3"].cpu
    labels = {"netmon": "netmon SnmpCollector.poll, SNMPv2c fast path (for scale)",
              "netmon-v3": "netmon SnmpCollector.poll, SNMPv3 authPriv, fast path (own USM)",
              "netmon-v3-pysnmp": "netmon SnmpCollector.poll, SNMPv3 authPriv via pysnmp (before)",
              "floor-v3": "floor: same PDUs, SNMPv3 authPriv, pysnmp v3arch"}
    polls = report.devices * report.rounds
    rows: list[list[object]] = []
    for name, p in report.paths.items():
        rows.append([labels[name], f"{p.cpu:.2f}", f"{statistics.median(p.wall_ms):.2f}", f"{p.cpu / fast:.2f}",
                     f"{statistics.median(p.agent_util):.0%}",
                     f"{statistics.median(u * w for u, w in zip(p.agent_util, p.wall_ms, strict=True)):.2f}",
                     f"{p.requests / (polls * len(p.cpu_ms)):.1f}/{p.unanswered}"])
    for n in netsnmp:
        rows.append([f"{n.variant} ({n.processes_per_poll} processes)", f"{n.children_cpu_ms:.2f}",
                     f"{n.wall_ms:.2f}", f"{n.children_cpu_ms / fast:.1f}", "-", "-", f"{n.varbinds_per_poll} vb"])
    print(table(f"CPU per device-poll against snmpd ({report.devices} devices x {report.rounds} rounds, "
                "median of repeats)", ["path", "CPU ms", "wall ms", "x v3 fast path", "snmpd CPU",
                                       "snmpd ms/poll", "requests/poll, unanswered"], rows))
    print_v3_summary(report, netsnmp)


def print_capacity(report: CapacityReport) -> None:
    cfg = report.cfg
    lags = report.merged("lags")
    outcomes: Counter[str] = Counter()
    for w in report.workers:
        outcomes.update(w["outcomes"])
    polls = sum(w["polls"] for w in report.workers)
    cpu = sum(w["cpu_s"] for w in report.workers)
    wall = max(w["wall_s"] for w in report.workers)
    rows: list[list[object]] = [
        ["devices (silent)", f"{cfg.devices} ({round(cfg.devices * cfg.silent_fraction)})"],
        ["interval x cycles, workers", f"{cfg.interval_s:g} s x {cfg.cycles}, {cfg.workers}"],
        ["poller SO_RCVBUF", f"{cfg.rcvbuf_bytes} bytes" if cfg.rcvbuf_bytes else
         ("4 MB (the v2c fast path's default)" if cfg.fast_v2c and cfg.via == "poller" else "OS default")],
        ["path", ("netmon.worker.ShardedSnmpPoller" if cfg.via == "poller" else "benchmark prototype workers")
         + (", v2c fast path" if cfg.fast_v2c else ", v2c via pysnmp v3arch")],
        ["start", "sessions opened, every device polled (discovered) once at 64 in flight, "
                  "then 1 interval; none of it measured"
         if cfg.via == "poller" else {"cold": "cold: targets opened and devices discovered at their first poll",
                   "open": "pysnmp targets opened before polling, discovery at first poll",
                   "warm": "targets opened and devices discovered before the measured cycles"}[cfg.start]],
        ["parent CPU (poller: unpickling + LatestResults)",
         f"{sum(w.get('parent_cpu_s', 0.0) for w in report.workers):.1f} s (included below)"],
        ["target set-up CPU (per worker)", ", ".join(f"{w['setup_cpu_s']:.1f} s" for w in report.workers)],
        ["discovery before cycles, CPU / wall",
         ", ".join(f"{w['discovery_cpu_s']:.0f} s / {w['discovery_wall_s']:.0f} s" for w in report.workers)],
        ["polls started (expected ~)", f"{polls} ({round(cfg.devices * cfg.duration_s / cfg.interval_s)})"],
        ["outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))],
        ["missed cycles", report.missed],
        ["poll-start lag p50 / p99 / max", f"{quantile(lags, 0.5):.3f} / {quantile(lags, 0.99):.3f} / "
                                           f"{max(lags, default=float('nan')):.3f} s"],
        ["poll duration (ok) p50 / p99", f"{quantile(report.merged('durations'), 0.5) * 1000:.0f} / "
                                         f"{quantile(report.merged('durations'), 0.99) * 1000:.0f} ms"],
        ["poller CPU (sum of workers)", f"{cpu:.1f} s in {wall:.0f} s = {cpu / wall:.0%} of one core; "
                                        f"{cpu / max(polls, 1) * 1000:.2f} ms per poll"],
        ["peak RSS per worker", ", ".join(f"{w['rss_peak_kb'] / 1024:.0f} MB (setup {w['rss_setup_kb'] / 1024:.0f})"
                                          for w in report.workers)],
        ["peak polls in flight", f"{report.workers[0]['peak_in_flight']} (all workers, sampled every 0.5 s)"
         if cfg.via == "poller" else ", ".join(str(w["peak_in_flight"]) for w in report.workers)],
        ["agent CPU", f"{report.agent_cpu_s:.1f} s in {report.agent_wall_s:.0f} s = "
                      f"{report.agent_cpu_s / report.agent_wall_s:.0%} of one core"],
        ["agent requests received / answered; black hole", f"{report.received} / {report.answered}; "
                                                           f"{report.blackholed}"],
        ["UDP receive-buffer drops: host / agent socket / poller sockets",
         f"{report.udp_rcvbuf_errors} / {report.agent_socket_drops} / "
         + ", ".join(str(w["socket_drops"]) if w["socket_drops"] >= 0 else "n/a" for w in report.workers)],
    ]
    scrapes = [x for w in report.workers for x in w.get("scrapes", [])]
    if cfg.scrape_every_s:
        where = "the parent (the workers poll)" if cfg.via == "poller" else "the polling process"
        rows.append([f"/metrics every {cfg.scrape_every_s:g} s, in {where}: scrapes, size",
                     f"{len(scrapes)}, {max((x['bytes'] for x in scrapes), default=0) / 1e6:.1f} MB"])
        rows.append(["  scrape wall p50 / max; CPU p50 (included above)",
                     f"{quantile([x['wall_s'] for x in scrapes], 0.5):.2f} / "
                     f"{max((x['wall_s'] for x in scrapes), default=float('nan')):.2f} s; "
                     f"{quantile([x['cpu_s'] for x in scrapes], 0.5):.2f} s"])
    print(table(f"\nCapacity: {cfg.workers} worker process(es)", ["figure", "value"], rows))


# --- command line ---------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("part", nargs="?", default="all", choices=["all", "poll", "capacity"])
    parser.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    parser.add_argument("--no-netsnmp", action="store_true", help="skip the net-snmp baseline")
    parser.add_argument("--devices", type=int, help="devices for the netmon/floor comparison (default 50)")
    parser.add_argument("--rounds", type=int, help="polls of every device per repeat (default 20)")
    parser.add_argument("--repeats", type=int, help="interleaved repeats of each path (default 3)")
    parser.add_argument("--v3-agent", choices=["snmpd", "pysnmp", "both"], default="snmpd",
                        help="poll: the SNMPv3 rows against net-snmp's snmpd serving the standard AP, with a v2c row "
                             "against it for scale (default), or against pysnmp's agent in the agent process, or "
                             "both (one after the other)")
    parser.add_argument("--netsnmp-polls", type=int, help="device-polls done with net-snmp (default 20)")
    parser.add_argument("--capacity-devices", type=int, help="default 10000")
    parser.add_argument("--silent", type=float, default=0.1, help="share of black-holed devices")
    parser.add_argument("--interval", type=float, help="capacity poll interval, s (default 60)")
    parser.add_argument("--cycles", type=int, help="capacity cycles (default 3)")
    parser.add_argument("--rcvbuf", type=int, default=0,
                        help="capacity: SO_RCVBUF of the poller's socket, bytes (default: the OS default)")
    parser.add_argument("--start", choices=["cold", "open", "warm"], default="warm",
                        help="capacity: cold = as netmon starts today (targets and discovery at each first "
                             "poll); open = targets opened first; warm = targets and discovery first (default)")
    parser.add_argument("--via", choices=["poller", "prototype"], default="poller",
                        help="capacity: netmon.worker.ShardedSnmpPoller (default) or the benchmark's own workers")
    parser.add_argument("--v3arch", action="store_true", help="capacity: v2c through pysnmp's v3arch engine")
    parser.add_argument("--warmup", type=float, default=None,
                        help="capacity (poller): seconds to run after every device reported once (the workers' "
                             "priming), before measuring (default: 1 interval)")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts to run (default 1,2)")
    parser.add_argument("--scrape-every", type=float, default=0.0,
                        help="capacity: render /metrics every S seconds during the measured cycles, as a "
                             "Prometheus scraping the daemon would make it (default: no scrapes)")
    args = parser.parse_args(argv)
    quick = args.quick
    devices = args.devices or (4 if quick else 50)
    rounds = args.rounds or (3 if quick else 20)
    repeats = args.repeats or (1 if quick else 3)
    ns_polls = args.netsnmp_polls or (2 if quick else 20)
    cap_devices = args.capacity_devices or (60 if quick else 10_000)
    interval = args.interval or (4.0 if quick else 60.0)
    cycles = args.cycles or (2 if quick else 3)
    workers = [int(w) for w in (args.workers or ("1" if quick else "1,2")).split(",")]

    print(f"machine: {machine(f'pysnmp {pysnmp.__version__}')}")
    with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
        data = build_standard_ap(Path(tmp))
        max_s = 900 + len(workers) * (cycles * interval + 240 + 0.15 * cap_devices)
        with AgentProcess(data, max_s) as agent:
            if args.part in ("all", "poll"):
                pysnmp_v3 = args.v3_agent in ("pysnmp", "both")
                report = asyncio.run(bench_netmon(agent, devices, rounds, repeats, v3=pysnmp_v3))
                netsnmp = [] if args.no_netsnmp else bench_netsnmp(agent, community(0), report.poll_get,
                                                                   report.poll_walk, ns_polls)
                netsnmp_v3 = [] if args.no_netsnmp or not pysnmp_v3 else bench_netsnmp(
                    agent, community(0), report.poll_get, report.poll_walk, ns_polls, V3_USER)
                print_netmon(report, netsnmp, netsnmp_v3)
                if args.v3_agent in ("snmpd", "both"):
                    work = Path(tmp) / "snmpd"
                    work.mkdir()
                    with SnmpdProcess(data, work, max_s) as snmpd:
                        v3_report = asyncio.run(bench_snmpd(snmpd, devices, rounds, repeats))
                        netsnmp_v3 = [] if args.no_netsnmp else bench_netsnmp(
                            snmpd, snmpd.community, v3_report.poll_get, v3_report.poll_walk, ns_polls, V3_USER)
                    print_snmpd(v3_report, netsnmp_v3)
            if args.part in ("all", "capacity"):
                for n in workers:
                    cfg = CapacityConfig(cap_devices, args.silent, interval, cycles, n,
                                         timeout_s=min(2.0, interval / 8), jitter_s=min(5.0, interval / 4),
                                         start=args.start, rcvbuf_bytes=args.rcvbuf, fast_v2c=not args.v3arch,
                                         via=args.via,
                                         warmup_s=interval if args.warmup is None else args.warmup,
                                         scrape_every_s=args.scrape_every)
                    bench = bench_capacity_poller if cfg.via == "poller" else bench_capacity
                    print_capacity(bench(agent, cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
