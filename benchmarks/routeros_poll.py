"""RouterOS API poll benchmark: CPU per router-poll of netmon's `RouterOsCollector` against mktxp.

    python benchmarks/routeros_poll.py [--quick] [--routers K] [--polls M] [--mktxp-polls N] [--repeats R]

K simulated hAP ac² routers (`default_spec`: 10 interfaces, 2 legacy-wireless radios, a hotspot, DHCP;
RouterOS 7.16; client counts pinned to the 19:00 WIB evening peak) are polled M (netmon) or N (mktxp) times
each, R times over, by four paths, interleaved, each in its own process so that every CPU figure is that
path's alone:

- netmon, "same menus": `RouterOsCollector.poll` with the hotspot menus switched off (mktxp has none);
- netmon, "full": `RouterOsCollector.poll` as deployed (hotspot active users and hosts too);
- mktxp, collect: mktxp's own `CollectorHandler.collect()` in a driver process (no HTTP, no exposition),
  the like-for-like counterpart of `poll`;
- mktxp, export: `mktxp export` as deployed, its /metrics scraped over HTTP; CPU from /proc/<pid>/stat
  minus the idle rate measured before (includes waitress and the Prometheus text exposition).

mktxp (PyPI, pinned to MKTXP_SPEC) lives in its own venv, created here when missing:
`python -m venv /tmp/netmon-mktxp-venv && /tmp/netmon-mktxp-venv/bin/pip install mktxp==2.1.0`.
It is configured through its config dir (`--cfg-dir`) to read the same menus as netmon: every feature flag
of its template is set False except MKTXP_FEATURES; it always reads /system/identity and /system/resource.

The simulator runs in its own process and counts logins (connections) and API sentences per router. Two
menus that mktxp reads and netmon does not are served by this benchmark's extension of it (`_BenchData`,
`_BenchSession`): `/system/package` (mktxp looks up the wireless package on every scrape) and
`/interface/vlan`, plus the `/interface/wireless/monitor` command. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.child import ChildProcess
from benchmarks.report import machine, table
from collectors.routeros.collector import RouterOsCollector
from netmon.model import Device, Owner, Role, RouterOsSettings, Secret, Source
from netmon.privacy import DailyUniqueClients
from netmon.simulate.routeros import server
from netmon.simulate.routeros.data import RouterData
from netmon.simulate.routeros.session import Session
from netmon.simulate.variation import clock_at_wib_hour

HOST = "127.0.0.1"
USER, PASSWORD = "netmon", "bench-secret"
VERSION = "7.16"
MKTXP_SPEC = os.environ.get("NETMON_MKTXP_SPEC", "mktxp==2.1.0")
MKTXP_VENV = Path(os.environ.get("NETMON_MKTXP_VENV", "/tmp/netmon-mktxp-venv"))
# mktxp feature flags for the menus netmon reads: resource (always on), routerboard, health, interface,
# wireless (+ wireless_clients: the registration table), dhcp (lease counts). Everything else is off.
MKTXP_FEATURES = frozenset({"enabled", "plaintext_login", "routerboard", "health", "interface", "wireless",
                            "wireless_clients", "dhcp"})
MKTXP_SYSTEM = {"minimal_collect_interval": "0",  # else a scrape within 5 s replays the last one
                "persistent_router_connection_pool": "True",
                "persistent_dhcp_cache": "False",  # else the leases are read once per process, never again
                "bandwidth": "False", "verbose_mode": "False", "enable_probe": "False"}
# one family per menu, to check that mktxp really read it
MKTXP_EXPECTED = {"resource": "mktxp_system_uptime", "routerboard": "mktxp_routerboard",
                  "health": "mktxp_system_routerboard_voltage", "interface": "mktxp_interface_rx_byte",
                  "wireless monitor": "mktxp_wlan_registered_clients",
                  "registration table": "mktxp_wlan_clients_devices", "dhcp leases": "mktxp_dhcp_lease_active_count"}
NETMON_MENUS = ("/system/resource", "/system/health", "/interface", "/interface/wireless/registration-table",
                "/caps-man/registration-table", "/ip/hotspot/active", "/ip/hotspot/host",
                "/ip/dhcp-server/lease")  # every poll; /system/routerboard and the menu lists at discovery


def router_id(i: int) -> str:
    return f"kim-bench-{i:03d}"


# --- the simulator process -------------------------------------------------------------------------------

SENTENCES: Counter[str] = Counter()  # in the simulator process: API sentences received per router


class _BenchData(RouterData):
    """Menus mktxp reads that netmon does not (a real hAP ac² has them)."""

    def menus(self) -> set[tuple[str, ...]]:
        return super().menus() | {("system", "package"), ("interface", "vlan")}

    def _system_package(self, now: float) -> list[dict[str, str]]:
        names = ["routeros", *(p for p in ("wireless",) if p in self.spec.packages)]
        return [{".id": f"*{i:X}", "name": n, "version": self.spec.version, "build-time": self.spec.build_time,
                 "scheduled": "", "disabled": "false"} for i, n in enumerate(names, start=1)]

    def _interface_vlan(self, now: float) -> list[dict[str, str]]:
        vlans = [n for n in self.spec.interfaces if n.type == "vlan"]
        return [{".id": f"*{0x20 + i:X}", "name": n.name, "mtu": "1500", "arp": "enabled",
                 "vlan-id": "".join(c for c in n.name if c.isdigit()) or str(i), "interface": "bridge",
                 "running": "true" if n.running else "false", "disabled": "false"}
                for i, n in enumerate(vlans, start=1)]


class _BenchSession(Session):
    """Counts sentences; answers `/interface/wireless/monitor =once= =numbers=N` as a running AP does."""

    def handle(self, words: list[str]) -> tuple[list[list[str]], bool]:
        SENTENCES[self.data.spec.router_id] += 1
        return super().handle(words)

    def _command(self, command: str, attrs: dict[str, str], queries: list[str],
                 tag: str | None) -> list[list[str]]:
        if command != "/interface/wireless/monitor" or not self.logged_in:
            return super()._command(command, attrs, queries, tag)
        now = self.clock()
        radios = self.data.rows(("interface", "wireless"), now)
        number = attrs.get("numbers", "0")
        radio = next((r for r in radios if number in (r["name"], r[".id"])), None)
        if radio is None and number.isdigit() and int(number) < len(radios):
            radio = radios[int(number)]
        if radio is None:
            return [["!trap", "=message=no such item"], ["!done"]]
        table = self.data.rows(("interface", "wireless", "registration-table"), now)
        clients = sum(1 for row in table if row["interface"] == radio["name"])
        row = {"status": "running-ap", "channel": f"{radio['frequency']}/20-Ce/gn", "wireless-protocol": "802.11",
               "noise-floor": "-108", "overall-tx-ccq": "86", "registered-clients": str(clients),
               "authenticated-clients": str(clients), "current-distance": "1"}
        return [["!re", *(f"={k}={v}" for k, v in row.items())], ["!done"]]


def serve_simulator(routers: int, hour: float, max_s: float, conn: Connection) -> None:
    """Simulator process entry point: K routers; reports {router: port}, then stats on every request."""
    asyncio.run(_serve_simulator(routers, hour, conn, max_s))


async def _serve_simulator(routers: int, hour: float, conn: Connection, max_s: float) -> None:
    server.RouterData = _BenchData  # type: ignore[misc]  # this process only
    server.Session = _BenchSession  # type: ignore[misc]
    sim = server.RouterOsSimulator(clock=clock_at_wib_hour(hour))
    ports = {router_id(i): sim.add(server.SimRouter(router_id(i), VERSION, USER, PASSWORD)) for i in range(routers)}
    await sim.start()
    conn.send(ports)
    loop = asyncio.get_running_loop()
    command = asyncio.Event()
    loop.add_reader(conn.fileno(), command.set)
    deadline = time.monotonic() + max_s
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(command.wait(), timeout=1.0)
            command.clear()
            while conn.poll():
                what = conn.recv()
                conn.send({"cpu_s": time.process_time(), "logins": sum(sim.connections(r) for r in ports),
                           "sentences": sum(SENTENCES.values())})
                if what == "stop":
                    return
    finally:
        await sim.stop()


class SimulatorProcess(ChildProcess):
    def __init__(self, routers: int, hour: float, max_s: float) -> None:
        super().__init__(serve_simulator, (routers, hour, max_s), "routeros-sim")
        self.ports: dict[str, int] = self.wait_ready()

    def stats(self) -> dict[str, float]:
        return dict(self.ask("stats"))


# --- measurements ----------------------------------------------------------------------------------------

@dataclass
class PathResult:
    name: str
    process: str  # paths in one process share its connections
    routers: int
    cpu_s: list[float] = field(default_factory=list)  # one entry per repeat (all routers x polls)
    wall_s: list[float] = field(default_factory=list)
    polls: int = 0  # router-polls in the measured windows
    samples: int = 0
    logins: int = 0  # all windows of this path, warm-up included
    sentences: int = 0  # measured windows only
    sim_cpu_s: float = 0.0
    sim_wall_s: float = 0.0

    @property
    def cpu_ms(self) -> float:
        """Median over repeats of CPU ms per router-poll."""
        per_repeat = self.polls / max(1, len(self.cpu_s))
        return statistics.median(self.cpu_s) / per_repeat * 1000

    @property
    def wall_ms(self) -> float:
        return statistics.median(self.wall_s) / (self.polls / max(1, len(self.wall_s))) * 1000


@contextlib.contextmanager
def window(sim: SimulatorProcess, path: PathResult, *, measured: bool = True) -> Iterator[None]:
    """Logins (always) and, when `measured`, API sentences and simulator CPU during the block."""
    before, t0 = sim.stats(), time.perf_counter()
    yield
    wall, after = time.perf_counter() - t0, sim.stats()
    path.logins += int(after["logins"] - before["logins"])
    if measured:
        path.sentences += int(after["sentences"] - before["sentences"])
        path.sim_cpu_s += after["cpu_s"] - before["cpu_s"]
        path.sim_wall_s += wall


def make_device(rid: str, port: int) -> Device:
    return Device(id=rid, site="bench", role=Role.ROUTER, address=HOST, sources=(Source.ROUTEROS,), owner=Owner.KIM,
                  routeros=RouterOsSettings(user=USER, password=Secret(PASSWORD), port=port, timeout_s=5.0))


def netmon_worker(ports: dict[str, int], conn: Connection) -> None:
    """Poller process entry point: ("run", hotspot, polls) -> CPU/wall/samples; ("close",) -> connections."""
    logging.basicConfig(level=logging.WARNING, handlers=[logging.NullHandler()], force=True)
    asyncio.run(_netmon_worker(ports, conn))


async def _netmon_worker(ports: dict[str, int], conn: Connection) -> None:
    devices = [make_device(rid, port) for rid, port in ports.items()]
    executor = ThreadPoolExecutor(max_workers=32)  # scheduler.routeros_threads default
    collector = RouterOsCollector(executor, fingerprint=DailyUniqueClients().fingerprint)
    loop = asyncio.get_running_loop()
    discovered: dict[str, bool] = {}  # router -> has a hotspot (as discovery found)
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message[0] == "close":
            connections = {d.id: collector.connections(d.id) for d in devices}
            await collector.close()
            executor.shutdown()
            conn.send(connections)
            return
        _, hotspot, polls = message
        for rid, router in collector._routers.items():  # benchmark only: switch the hotspot menus off/on
            router.hotspot = hotspot and discovered.setdefault(rid, router.hotspot)
        samples = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(polls):
            results = await asyncio.gather(*(collector.poll(d) for d in devices))
            bad = [r for r in results if not r.ok]
            if bad:
                conn.send({"error": f"{bad[0].device}: {bad[0].error}"})
                break
            samples += sum(len(r.samples) for r in results)
        else:
            conn.send({"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0,
                       "samples": samples})


class NetmonProcess(ChildProcess):
    def __init__(self, ports: dict[str, int]) -> None:
        super().__init__(netmon_worker, (ports,), "netmon-poller")

    def run(self, hotspot: bool, polls: int) -> dict[str, Any]:
        reply: dict[str, Any] = self.ask(("run", hotspot, polls), timeout_s=300)
        if "error" in reply:
            raise RuntimeError(f"netmon poll failed: {reply['error']}")
        return reply

    def close(self) -> dict[str, int]:
        """Stop the poller; the connections it opened per router."""
        return dict(self.stop(("close",), timeout_s=30) or {})


# --- mktxp -----------------------------------------------------------------------------------------------

class MktxpUnavailable(RuntimeError):
    pass


def ensure_mktxp(venv: Path = MKTXP_VENV, spec: str = MKTXP_SPEC) -> Path:
    """The venv's python, after creating the venv and installing `spec` into it if needed."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import mktxp.flow.collector_handler"]
    if python.exists() and subprocess.run(check, capture_output=True, timeout=60).returncode == 0:
        return python
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MktxpUnavailable(f"`{' '.join(step)}` failed: {exc}") from None
        if done.returncode != 0:
            raise MktxpUnavailable(f"`{' '.join(step)}` failed: {(done.stderr or done.stdout)[-600:]}")
    return python


def mktxp_info(python: Path) -> tuple[str, Path]:
    """(installed mktxp version, directory of its config templates)."""
    code = ("import importlib.metadata as m, pathlib, mktxp; "
            "print(m.version('mktxp')); print(pathlib.Path(mktxp.__file__).parent / 'cli' / 'config')")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True)
    version, templates = out.stdout.split()
    return version, Path(templates)


def _set_key(text: str, key: str, value: str) -> str:
    pattern = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)([^#\n]*?)(\s*(#.*)?)$", re.MULTILINE)
    new, count = pattern.subn(lambda m: f"{m[1]}{value}{m[3]}", text, count=1)
    if count == 0:  # a key this mktxp version does not have in its template: add it to the first section
        first = text.index("]\n") + 2
        new = text[:first] + f"    {key} = {value}\n" + text[first:]
    return new


def write_mktxp_config(cfg_dir: Path, templates: Path, ports: dict[str, int], listen_port: int, *,
                       parallel: bool = True) -> None:
    """mktxp.conf: one entry per router, every boolean of [default] False but MKTXP_FEATURES;
    _mktxp.conf: the template with MKTXP_SYSTEM, the listen address and parallel fetching (one thread
    per router, as netmon's pool has) or mktxp's default sequential fetching."""
    cfg_dir.mkdir(parents=True, exist_ok=True)
    template = (templates / "mktxp.conf").read_text(encoding="utf-8")
    default = template[template.index("[default]"):]
    flags = re.compile(r"^(\s*)(\w+)(\s*=\s*)(True|False)\b", re.MULTILINE)
    default = flags.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{m[2] in MKTXP_FEATURES}", default)
    entries = "".join(f"[{rid}]\n    hostname = {HOST}\n    port = {port}\n    username = {USER}\n"
                      f"    password = {PASSWORD}\n\n" for rid, port in ports.items())
    (cfg_dir / "mktxp.conf").write_text(entries + default, encoding="utf-8")
    system = (templates / "_mktxp.conf").read_text(encoding="utf-8")
    settings = {**MKTXP_SYSTEM, "listen": f"'{HOST}:{listen_port}'", "fetch_routers_in_parallel": str(parallel),
                "max_worker_threads": str(max(1, min(32, len(ports))))}
    for key, value in settings.items():
        system = _set_key(system, key, value)
    (cfg_dir / "_mktxp.conf").write_text(system, encoding="utf-8")


# Runs in mktxp's venv: stdin "run N" -> N scrapes of all routers through mktxp's CollectorHandler,
# one JSON line back on the original stdout; mktxp's own print() output goes to the log file.
MKTXP_DRIVER = """
import json, sys, time
cfg_dir, log = sys.argv[1], sys.argv[2]
results, sys.stdout = sys.stdout, open(log, "a", buffering=1)
from mktxp.cli.config import config_handler
from mktxp.cli.config.os_paths import CustomConfig
config_handler(CustomConfig(cfg_dir))
from mktxp.flow.collector_handler import CollectorHandler
from mktxp.flow.collector_registry import CollectorRegistry
from mktxp.flow.router_entries_handler import RouterEntriesHandler
handler = CollectorHandler(RouterEntriesHandler(), CollectorRegistry())
results.write(json.dumps({"ready": True}) + "\\n"); results.flush()
for line in sys.stdin:
    if not line.startswith("run"):
        break
    polls = int(line.split()[1])
    samples, names = 0, set()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(polls):
        for family in handler.collect():
            samples += len(family.samples)
            names.add(family.name)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    results.write(json.dumps({"cpu_s": cpu, "wall_s": wall, "samples": samples, "families": sorted(names)}) + "\\n")
    results.flush()
"""


class MktxpCollect:
    """mktxp's collection loop in a driver process of its own venv."""

    def __init__(self, python: Path, cfg_dir: Path) -> None:
        self.log = cfg_dir / "collect.log"
        self._proc = subprocess.Popen([str(python), "-c", MKTXP_DRIVER, str(cfg_dir), str(self.log)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"mktxp driver exited: {self.log.read_text()[-600:] if self.log.exists() else ''}")
        return dict(json.loads(line))

    def run(self, polls: int) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"run {polls}\n")
        self._proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def _proc_cpu_s(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MktxpExport:
    """`mktxp export` as deployed, scraped over HTTP."""

    def __init__(self, python: Path, cfg_dir: Path, port: int) -> None:
        self.log = cfg_dir / "export.log"
        self.url = f"http://{HOST}:{port}/metrics"
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen([str(python.parent / "mktxp"), "--cfg-dir", str(cfg_dir), "export"],
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mktxp export exited: {self.log.read_text()[-600:]}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("mktxp export did not listen")
        self.idle_cpu_per_s = 0.0

    def measure_idle(self, seconds: float) -> None:
        cpu0, t0 = _proc_cpu_s(self._proc.pid), time.perf_counter()
        time.sleep(seconds)
        self.idle_cpu_per_s = (_proc_cpu_s(self._proc.pid) - cpu0) / (time.perf_counter() - t0)

    def run(self, polls: int) -> dict[str, Any]:
        cpu0, wall0 = _proc_cpu_s(self._proc.pid), time.perf_counter()
        pages = []
        for _ in range(polls):
            with urllib.request.urlopen(self.url, timeout=120) as reply:
                pages.append(reply.read())
        wall = time.perf_counter() - wall0
        cpu = _proc_cpu_s(self._proc.pid) - cpu0 - self.idle_cpu_per_s * wall
        samples = sum(1 for page in pages for line in page.splitlines() if line and not line.startswith(b"#"))
        return {"cpu_s": cpu, "wall_s": wall, "samples": samples}

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def errors_in(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [line for line in log.read_text(errors="replace").splitlines() if "rror" in line or "xception" in line]


# --- the run ---------------------------------------------------------------------------------------------

@dataclass
class Report:
    routers: int
    polls: dict[str, int]  # process -> polls of every router per repeat
    repeats: int
    hour: float
    parallel: bool
    mktxp_version: str
    paths: dict[str, PathResult]
    netmon_connections: dict[str, int]  # as RouterOsCollector.connections() counts them
    mktxp_missing: dict[str, str]  # menu -> family mktxp did not produce
    mktxp_errors: list[str]
    mktxp_conf: str

    def logins_per_router(self, process: str) -> float:
        return sum(p.logins for p in self.paths.values() if p.process == process) / self.routers

    def ratio(self, key: str) -> float:
        return self.paths[key].cpu_ms / self.paths["collect"].cpu_ms


PATHS = {"same": ("netmon poll, same menus (no hotspot)", "netmon"),
         "full": ("netmon poll, full (with hotspot)", "netmon"),
         "collect": ("mktxp collect (in-process, no HTTP)", "mktxp collect"),
         "export": ("mktxp export (HTTP scrape)", "mktxp export")}


def run_benchmark(python: Path, routers: int, polls: int, repeats: int, *, mktxp_polls: int | None = None,
                  hour: float = 19.0, export: bool = True, parallel: bool = True) -> Report:
    """All paths against one simulator; repeats interleave the paths. `python`: mktxp's venv (ensure_mktxp)."""
    version, templates = mktxp_info(python)
    mktxp_polls = mktxp_polls or polls
    counts = {"netmon": polls, "mktxp collect": mktxp_polls, "mktxp export": mktxp_polls}
    max_s = 300 + repeats * (polls + 2 * mktxp_polls) * routers
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="netmon-rosbench-")))
        sim = stack.enter_context(SimulatorProcess(routers, hour, max_s))
        cfg, listen = tmp / "mktxp", free_tcp_port()
        write_mktxp_config(cfg, templates, sim.ports, listen, parallel=parallel)
        paths = {key: PathResult(name, process, routers) for key, (name, process) in PATHS.items()
                 if export or key != "export"}
        ours = NetmonProcess(sim.ports)
        stack.callback(ours.close)
        with window(sim, paths["collect"], measured=False):
            collect = MktxpCollect(python, cfg)
        stack.callback(collect.close)
        runners: dict[str, Callable[[int], dict[str, Any]]] = {
            "same": lambda n: ours.run(False, n), "full": lambda n: ours.run(True, n), "collect": collect.run}
        scraper = None
        if export:
            with window(sim, paths["export"], measured=False):  # registering with prometheus_client scrapes
                scraper = MktxpExport(python, cfg, listen)
            stack.callback(scraper.close)
            runners["export"] = scraper.run
        families: list[str] = []
        for key, run in runners.items():  # warm-up: log in, discovery, caches
            with window(sim, paths[key], measured=False):
                families = run(1).get("families", families)
        if scraper is not None:
            scraper.measure_idle(1.0)
        for _ in range(repeats):
            for key, run in runners.items():
                path = paths[key]
                n = counts[path.process]
                with window(sim, path, measured=False):
                    run(1)  # settle after the other paths ran
                with window(sim, path):
                    reply = run(n)
                path.cpu_s.append(reply["cpu_s"])
                path.wall_s.append(reply["wall_s"])
                path.polls += n * routers
                path.samples += int(reply.get("samples", 0))
        connections = ours.close()
        collect.close()
        logs = errors_in(collect.log) + (errors_in(scraper.log) if scraper else [])
        return Report(routers, counts, repeats, hour, parallel, version, paths, connections,
                      {menu: family for menu, family in MKTXP_EXPECTED.items() if family not in families},
                      logs, (cfg / "mktxp.conf").read_text())
    raise AssertionError("unreachable")


# --- printing --------------------------------------------------------------------------------------------

def print_report(report: Report) -> None:
    rows = []
    for key, path in report.paths.items():
        rows.append([path.name, f"{path.cpu_ms:.2f}", f"{report.ratio(key):.2f}", f"{path.wall_ms:.1f}",
                     f"{path.sentences / path.polls:.1f}", f"{path.samples / path.polls:.0f}",
                     f"{path.sim_cpu_s / path.polls * 1000:.2f} ({path.sim_cpu_s / path.sim_wall_s:.0%})",
                     f"{report.logins_per_router(path.process):g} ({path.process})"])
    polls = ", ".join(f"{k} {v}" for k, v in report.polls.items())
    print(table(f"\nCPU per router-poll: {report.routers} routers, polls per repeat: {polls}; median of "
                f"{report.repeats} interleaved repeats; mktxp {report.mktxp_version} "
                f"({'parallel' if report.parallel else 'sequential'} fetch); clients at {report.hour:g}:00 WIB",
                ["path", "CPU ms", "x mktxp", "wall ms", "API sentences", "samples", "simulator CPU ms (util)",
                 "logins per router (process)"], rows))
    same = report.ratio("same")
    one = all(n == 1 for n in report.netmon_connections.values()) and all(
        report.logins_per_router(p.process) == 1 for p in report.paths.values())
    print(f"netmon / mktxp collect: same menus {same:.2f}, full {report.ratio('full'):.2f}; target <= 0.50 "
          f"(same menus): {'MET' if same <= 0.5 else 'NOT MET'}; one connection per router in every process: {one}")
    print(f"menus netmon reads: {', '.join(NETMON_MENUS)}; mktxp has no hotspot collector")
    if report.mktxp_missing:
        print(f"WARNING: mktxp did not produce {report.mktxp_missing}")
    if report.mktxp_errors:
        print(f"WARNING: mktxp logged {len(report.mktxp_errors)} errors, e.g. {report.mktxp_errors[0]!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    parser.add_argument("--routers", type=int, help="simulated routers (default 10)")
    parser.add_argument("--polls", type=int, help="netmon polls of every router per repeat (default 30)")
    parser.add_argument("--mktxp-polls", type=int, help="mktxp scrapes per repeat (default 10)")
    parser.add_argument("--repeats", type=int, help="interleaved repeats of every path (default 3)")
    parser.add_argument("--hour", type=float, default=19.0, help="WIB hour the client counts are taken at")
    parser.add_argument("--sequential", action="store_true", help="mktxp's default sequential fetching "
                        "(slow: ~16 commands held by Nagle/delayed ACK each)")
    parser.add_argument("--no-export", action="store_true", help="skip the `mktxp export` HTTP path")
    parser.add_argument("--mktxp-venv", type=Path, default=MKTXP_VENV, help=f"default {MKTXP_VENV}")
    parser.add_argument("--show-config", action="store_true", help="print the mktxp.conf used")
    args = parser.parse_args(argv)
    routers = args.routers or (2 if args.quick else 10)
    polls = args.polls or (3 if args.quick else 30)
    mktxp_polls = args.mktxp_polls or (2 if args.quick else 10)
    repeats = args.repeats or (1 if args.quick else 3)
    print(f"machine: {machine()}")
    try:
        python = ensure_mktxp(args.mktxp_venv)
    except MktxpUnavailable as exc:
        print(f"mktxp unavailable: {exc}", file=sys.stderr)
        return 2
    report = run_benchmark(python, routers, polls, repeats, mktxp_polls=mktxp_polls, hour=args.hour,
                           export=not args.no_export, parallel=not args.sequential)
    print_report(report)
    if args.show_config:
        print("\n" + report.mktxp_conf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
