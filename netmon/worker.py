"""SNMP polling in worker processes: one process polls ~167 devices/s at most (docs/performance.md), so a
large fleet is split into N shards (`crc32(device.id) % N`), each polled by its own process running its own
`SnmpCollector` + `Scheduler`, after a first poll (discovery) of each of its devices at bounded concurrency.
PollResults come back to the parent in small pickled batches over a pipe,
read by one thread per worker and handed to the parent's event loop, which calls `on_result` for each.

Stored discoveries (`keep_discoveries`) go to each worker with its devices; the discoveries a worker makes
come back in its batches, are handed to `save` and replace the parent's copy, so a restarted worker starts
from the latest ones too.

Workers die with the parent (each watches its pipe and stops at end-of-file) and are restarted, with a log
line, when they die on their own. `ShardedSnmpPoller` looks like a `Scheduler` to the composition root:
`run()` until cancelled, `devices`, `set_share`, and `stats` merged over the workers.

Shares (`set_share`, issue #16): each worker keeps every device of its shard and polls those of the share. A
change goes to the running workers whose part of it changed, as a `ShareUpdate` (device ids only, None for "all
of its devices") over the pipe that also carries "stop"; a worker started or restarted later gets the current
share with its devices. As in `Scheduler.set_share`, a device that leaves is not polled again, and its results
still on their way from the worker (a batch already sent) are dropped here: `on_result` never sees a device
after the `set_share` that took it away.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import resource
import signal
import threading
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_objects
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from netmon import heap
from netmon.model import Device, PollResult, Source, StoredDiscovery
from netmon.scheduler import Scheduler, SchedulerStats

log = logging.getLogger(__name__)

ResultFn = Callable[[PollResult], None]
SaveFn = Callable[[StoredDiscovery], None]
STOP = "stop"


@dataclass(frozen=True)
class ShareUpdate:
    """Parent -> worker: poll these of your devices from now on (None: all of them)."""

    device_ids: frozenset[str] | None


@dataclass(frozen=True)
class WorkerSettings:
    """What each worker's Scheduler and collector need (all picklable)."""

    max_in_flight: int = 256
    jitter_s: float = 5.0
    deadline_s: float = 30.0
    flush_s: float = 0.05  # how often a worker sends its finished results
    prime_concurrency: int = 64  # >0: first poll (= discovery) of every device, this many at once, before
    # the scheduler starts: a whole fleet discovered at once overloads the loop and collapses (performance.md)
    profiles_dir: Path | None = None  # None: the packaged SNMP profiles
    fast_v2c: bool = True
    log_level: int = logging.WARNING
    discovery_key: bytes | None = None  # set: discoveries are kept across restarts (keep_discoveries)


@dataclass
class WorkerReport:
    """One batch from a worker: finished results and its scheduler's counters at that moment."""

    results: list[PollResult]
    polls_total: int
    missed_cycles_total: int
    in_flight: int
    last_tick: float
    lags: list[float]  # poll-start lags since the previous batch
    cpu_s: float
    rss_kb: int
    discoveries: list[StoredDiscovery] = field(default_factory=list)  # made since the previous batch
    snmpv3_rejected: dict[tuple[str, str], int] = field(default_factory=dict)  # (by, reason) -> so far


def shard_of(device_id: str, workers: int) -> int:
    return zlib.crc32(device_id.encode()) % workers


# --- the worker process ---------------------------------------------------------------------------------

def worker_main(index: int, devices: list[Device], settings: WorkerSettings, conn: Connection,
                kept: list[StoredDiscovery] | None = None, share: frozenset[str] | None = None) -> None:
    """Entry point of a worker process: polls the devices of `share` among `devices` (None: all)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    logging.basicConfig(level=settings.log_level, force=True,
                        format=f"%(asctime)s snmp-worker-{index} %(levelname)s %(name)s: %(message)s")
    heap.tune()  # a process of its own: collections tuned as the daemon's (netmon.heap)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker(devices, settings, conn, kept or [], share))


async def _worker(devices: list[Device], settings: WorkerSettings, conn: Connection,
                  kept: list[StoredDiscovery], share: frozenset[str] | None = None) -> None:
    from collectors.snmp.collector import SnmpCollector  # the worker side only: keep the parent light
    from collectors.snmp.profile import load_profiles
    from collectors.snmp.transport import SnmpEngineHandle

    collector = SnmpCollector(load_profiles(settings.profiles_dir), SnmpEngineHandle(fast_v2c=settings.fast_v2c))
    finished: list[PollResult] = []
    scheduler = Scheduler(devices, collector.poll, finished.append, max_in_flight=settings.max_in_flight,
                          jitter_s=settings.jitter_s, deadline_s=settings.deadline_s)
    scheduler.set_share(share)
    stop = _listen(conn, scheduler)
    discovered: list[StoredDiscovery] = []
    if settings.discovery_key is not None:
        collector.keep_discoveries(kept, discovered.append, settings.discovery_key)
    kept.clear()  # the collector holds them until each is restored; this list (the process's arguments too) would
    # keep every payload (~2 KB a device) for the worker's lifetime
    await collector.open(scheduler.devices)  # a device that joins later opens its session at its first poll
    batches = _Batches(conn, scheduler.stats, finished, discovered, collector.snmpv3_rejected)
    run = asyncio.create_task(_prime_then_run(scheduler, collector.poll, settings.prime_concurrency, finished))
    try:
        batches.send()  # says "started" (sessions open) to the parent
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.flush_s)
            batches.send()
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the parent is gone
    finally:
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        with contextlib.suppress(OSError):
            batches.send()
        await collector.close()


def _listen(conn: Connection, scheduler: Scheduler) -> asyncio.Event:
    """Reads what the parent says over `conn`: a new share goes to `scheduler` at once; the event returned is
    set when the parent says stop, or dies (end of file)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def readable() -> None:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = STOP
        if isinstance(message, ShareUpdate):
            scheduler.set_share(message.device_ids)
        elif message == STOP:
            loop.remove_reader(conn.fileno())
            stop.set()

    loop.add_reader(conn.fileno(), readable)
    return stop


async def _prime_then_run(scheduler: Scheduler, poll: Callable[[Device], Awaitable[PollResult]],
                          concurrency: int, finished: list[PollResult]) -> None:
    """With `concurrency` > 0, a first poll (= discovery) of every device of the share, that many at once (one
    that leaves meanwhile is skipped; one that joins meanwhile waits for the scheduler); then the scheduler's
    cycles."""
    if concurrency > 0:
        limit = asyncio.Semaphore(concurrency)

        async def prime(device: Device) -> None:
            async with limit:
                share = scheduler.share
                if share is None or device.id in share:
                    finished.append(await poll(device))

        await asyncio.gather(*(prime(d) for d in scheduler.devices))
    await scheduler.run()


@dataclass
class _Batches:
    """Sends the parent what a worker has to say: finished results, discoveries and the scheduler's counters."""

    conn: Connection
    stats: SchedulerStats
    finished: list[PollResult]
    discovered: list[StoredDiscovery]
    rejected: Callable[[], dict[tuple[str, str], int]] = dict

    def send(self) -> None:
        stats = self.stats
        report = WorkerReport(self.finished[:], stats.polls_total, stats.missed_cycles_total, stats.in_flight,
                              stats.last_tick, stats.lags[:], time.process_time(),
                              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, self.discovered[:],
                              self.rejected())
        self.finished.clear()
        self.discovered.clear()
        stats.lags.clear()
        self.conn.send(report)


# --- the parent side ------------------------------------------------------------------------------------

@dataclass
class _Worker:
    index: int
    devices: list[Device]  # its shard: every SNMP device with shard_of(id) == index
    share: frozenset[str] | None = None  # the ids of its devices it polls (None: all of them)
    process: BaseProcess | None = None
    conn: Connection | None = None
    reader: threading.Thread | None = None
    started_at: float = 0.0
    restarts: int = 0
    last: WorkerReport | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class ShardedSnmpPoller:
    """Polls SNMP devices in `workers` processes; calls `on_result` in the parent's event loop."""

    def __init__(self, devices: Iterable[Device], workers: int, settings: WorkerSettings, on_result: ResultFn,
                 *, restart_delay_s: float = 1.0, stop_timeout_s: float = 5.0) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._devices = [d for d in devices if Source.SNMP in d.sources]
        self._settings = settings
        self._on_result = on_result
        self._restart_delay_s = restart_delay_s
        self._stop_timeout_s = stop_timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._workers = [_Worker(i, [d for d in self._devices if shard_of(d.id, workers) == i])
                         for i in range(workers)]
        self._share: frozenset[str] | None = None
        self._polled = self._devices  # the devices of the share
        self._retired = [0, 0]  # polls, missed cycles of workers that died (counters stay monotonic)
        self._retired_rejected: Counter[tuple[str, str]] = Counter()
        self._stopping = False
        self._deaths: asyncio.Queue[_Worker] | None = None
        self._kept: dict[str, StoredDiscovery] = {}
        self._save: SaveFn | None = None
        self.stats = SchedulerStats()

    def keep_discoveries(self, kept: Iterable[StoredDiscovery], save: SaveFn, key: bytes) -> None:
        """As `SnmpCollector.keep_discoveries`, for the workers (call before `run`): each worker gets the
        stored discoveries of its devices, and the ones it makes come back to `save`."""
        self._kept = {k.device: k for k in kept if k.source is Source.SNMP}
        self._save = save
        self._settings = dataclasses.replace(self._settings, discovery_key=key)

    @property
    def devices(self) -> list[Device]:
        """The devices polled: those of the share."""
        return list(self._polled)

    @property
    def share(self) -> frozenset[str] | None:
        """The ids given to `set_share` (None: every SNMP device given at construction)."""
        return self._share

    def set_share(self, device_ids: frozenset[str] | None) -> None:
        """Poll only these of the devices given at construction (None: all of them), as `Scheduler.set_share`.
        Running workers whose part changed are told at once (ids only); the others get it when they start.
        Call it on the event loop's thread."""
        self._share = device_ids
        self._polled = self._devices if device_ids is None else [d for d in self._devices if d.id in device_ids]
        for worker in self._workers:
            part = None if device_ids is None else frozenset(d.id for d in worker.devices if d.id in device_ids)
            if part is not None and len(part) == len(worker.devices):
                part = None  # all of its devices: say so in one word
            if part == worker.share:
                continue
            worker.share = part
            if worker.conn is not None and not self._stopping:  # once stopping, _stop_all alone writes to pipes
                with contextlib.suppress(OSError):  # it died: its restart gets worker.share
                    worker.conn.send(ShareUpdate(part))

    def worker_info(self) -> list[dict[str, Any]]:
        """Per worker: pid, devices (of its shard), polled (of them, in the share), restarts, and its last
        reported CPU seconds and peak RSS (KB)."""
        return [{"index": w.index, "pid": w.process.pid if w.process else None, "devices": len(w.devices),
                 "polled": len(w.devices) if w.share is None else len(w.share),
                 "restarts": w.restarts, "cpu_s": w.last.cpu_s if w.last else 0.0,
                 "rss_kb": w.last.rss_kb if w.last else 0} for w in self._workers]

    async def wait_started(self, timeout_s: float) -> None:
        """Until every worker has opened its sessions and reported once."""
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in self._workers if w.devices)), timeout_s)

    async def run(self) -> None:
        """Start the workers and keep them running until cancelled; then stop them (bounded)."""
        loop = asyncio.get_running_loop()
        self._deaths = asyncio.Queue()
        self._stopping = False
        try:
            for worker in self._workers:
                if worker.devices:
                    self._start(worker, loop)
            while True:
                worker = await self._deaths.get()
                if self._stopping:
                    continue
                code = worker.process.exitcode if worker.process else None
                quick = time.monotonic() - worker.started_at < 10.0
                delay = self._restart_delay_s * (2 ** min(worker.restarts, 6) if quick else 1)
                log.warning("SNMP worker %d (pid %s) exited with code %s; restarting it in %.0f s",
                            worker.index, worker.process.pid if worker.process else "?", code, delay)
                self._retire(worker)
                await asyncio.sleep(delay)
                worker.restarts += 1
                self._start(worker, loop)
        finally:
            self._stopping = True
            await asyncio.shield(loop.run_in_executor(None, self._stop_all))

    def _start(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        parent, child = self._ctx.Pipe()
        kept = [self._kept[d.id] for d in worker.devices if d.id in self._kept]
        process = self._ctx.Process(target=worker_main, args=(worker.index, worker.devices, self._settings, child,
                                                              kept, worker.share),
                                    name=f"netmon-snmp-worker-{worker.index}", daemon=True)
        process.start()
        child.close()  # only the worker holds it now: its death means end of file here
        worker.process, worker.conn, worker.started_at = process, parent, time.monotonic()
        worker.reader = threading.Thread(target=self._read, args=(worker, parent, process, loop),
                                         name=f"snmp-worker-{worker.index}-reader", daemon=True)
        worker.reader.start()

    def _read(self, worker: _Worker, conn: Connection, process: BaseProcess,
              loop: asyncio.AbstractEventLoop) -> None:
        """Reader thread: batches from one worker process into the event loop; its death too."""
        while True:
            try:
                report = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a batch that does not unpickle: a bug, not a reason to stop reading
                log.exception("SNMP worker %d sent an unreadable batch", worker.index)
                continue
            try:
                loop.call_soon_threadsafe(self._deliver, worker, report)
            except RuntimeError:  # the loop is closed
                return
        # wait for the exit without reaping it: only the event loop (restart) or _stop_all joins a process;
        # two threads joining one child race on waitpid, and the loser sees a dead worker as alive
        wait_for_objects([process.sentinel], self._stop_timeout_s)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._died, worker, process)

    def _deliver(self, worker: _Worker, report: WorkerReport) -> None:
        worker.last = report
        worker.ready.set()
        share = self._share
        for result in report.results:
            if share is not None and result.device not in share:
                continue  # polled before it left the share: another node polls it now
            try:
                self._on_result(result)
            except Exception:  # one bad result never stops the stream
                log.exception("device %s: handling a poll result failed", result.device)
        for discovery in report.discoveries:
            self._kept[discovery.device] = discovery
            if self._save is not None:
                self._save(discovery)
        for lag in report.lags:
            self.stats.record_lag(lag)
        self._merge()

    def _died(self, worker: _Worker, process: BaseProcess) -> None:
        if worker.process is process and self._deaths is not None:
            self._deaths.put_nowait(worker)

    def _retire(self, worker: _Worker) -> None:
        if worker.last is not None:
            self._retired[0] += worker.last.polls_total
            self._retired[1] += worker.last.missed_cycles_total
            self._retired_rejected.update(worker.last.snmpv3_rejected)
        worker.last = None
        self._merge()

    def snmpv3_rejected(self) -> dict[tuple[str, str], int]:
        """SNMPv3 messages refused, by (who, reason), summed over the workers (those that died included)."""
        total = Counter(self._retired_rejected)
        for worker in self._workers:
            if worker.last is not None:
                total.update(worker.last.snmpv3_rejected)
        return dict(total)

    def _merge(self) -> None:
        reports = [w.last for w in self._workers if w.last is not None]
        self.stats.polls_total = self._retired[0] + sum(r.polls_total for r in reports)
        self.stats.missed_cycles_total = self._retired[1] + sum(r.missed_cycles_total for r in reports)
        self.stats.in_flight = sum(r.in_flight for r in reports)
        self.stats.last_tick = max((r.last_tick for r in reports), default=self.stats.last_tick)

    def _stop_all(self) -> None:
        """Ask every worker to stop, wait (bounded), then terminate and kill what is left."""
        running = [w for w in self._workers if w.process is not None]
        for worker in running:
            assert worker.conn is not None
            with contextlib.suppress(OSError):
                worker.conn.send(STOP)
        deadline = time.monotonic() + self._stop_timeout_s
        for worker in running:
            assert worker.process is not None
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in running:
            assert worker.process is not None
            if worker.process.is_alive():
                log.warning("SNMP worker %d did not stop in %.0f s; terminating it", worker.index,
                            self._stop_timeout_s)
                worker.process.terminate()
                worker.process.join(2.0)
                if worker.process.is_alive():
                    worker.process.kill()
                    worker.process.join(2.0)
            if worker.reader is not None:
                worker.reader.join(2.0)
            assert worker.conn is not None
            worker.conn.close()
            worker.process = None
