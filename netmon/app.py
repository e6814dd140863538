"""The composition root: the one module that builds collectors, schedulers, exporter (and later state,
storage and alerts) and connects them. Everything else receives what it needs as arguments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from collectors.ping.collector import PingCollector
from collectors.routeros.collector import RouterOsCollector
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import ProfileSet, load_profiles
from netmon.config import Config
from netmon.exporter import ExporterServer
from netmon.latest import LatestResults, Snapshot
from netmon.model import Device, PollResult, Sample, SampleKind, Source
from netmon.privacy import DailyUniqueClients
from netmon.scheduler import PollFn, Scheduler

log = logging.getLogger(__name__)


class NetmonApp:
    def __init__(self, config: Config, profiles: ProfileSet | None = None) -> None:
        self.config = config
        self.profiles = profiles or load_profiles()
        self._validate_profiles(config.devices.values())
        self.latest = LatestResults(config.sites, config.devices)
        self.uniques = DailyUniqueClients()
        self.snmp = SnmpCollector(self.profiles)
        self._routeros_threads = ThreadPoolExecutor(max_workers=config.scheduler.routeros_threads,
                                                    thread_name_prefix="routeros")
        self.routeros = RouterOsCollector(self._routeros_threads, fingerprint=self.uniques.fingerprint)
        self.ping = PingCollector()
        self.pollers: dict[Source, PollFn] = {Source.SNMP: self.snmp.poll, Source.ROUTEROS: self.routeros.poll,
                                              Source.PING: self.ping.poll}
        self.schedulers = [self._scheduler(config.devices.values(), source) for source in self.pollers]
        self.exporter: ExporterServer | None = None
        self._started = time.monotonic()

    def _scheduler(self, devices: Iterable[Device], source: Source, *, jitter_s: float | None = None) -> Scheduler:
        sched = self.config.scheduler
        return Scheduler(devices, self.pollers[source], self.on_result, source=source,
                         max_in_flight=sched.max_in_flight,
                         jitter_s=sched.jitter_s if jitter_s is None else jitter_s,
                         deadline_s=sched.poll_deadline_s)

    def _validate_profiles(self, devices: Iterable[Device]) -> None:
        for device in devices:
            if device.profile:
                self.profiles.get(device.profile)  # raises ConfigError naming the unknown profile

    def on_result(self, result: PollResult) -> None:
        self.latest.record(result)
        if result.fingerprints:
            device = self.config.devices.get(result.device)
            if device is not None:
                self.uniques.add(device.site, result.fingerprints)

    def process_samples(self) -> list[Sample]:
        stats = [s.stats for s in self.schedulers]
        counter = SampleKind.COUNTER
        out = [
            Sample("netmon_scheduler_polls_in_flight", sum(s.in_flight for s in stats)),
            Sample("netmon_scheduler_devices", sum(len(s.devices) for s in self.schedulers)),
            Sample("netmon_scheduler_missed_cycles_total", sum(s.missed_cycles_total for s in stats), kind=counter),
            Sample("netmon_scheduler_polls_total", sum(s.polls_total for s in stats), kind=counter),
        ]
        out += [Sample("netmon_site_unique_clients_today", count, (("site", site),))
                for site, count in sorted(self.uniques.counts().items())]
        return out

    def snapshot(self) -> Snapshot:
        return self.latest.snapshot(self.process_samples())

    def healthy(self) -> bool:
        """Alive while every scheduler keeps starting polls (or has nothing to poll)."""
        slack = self.config.scheduler.poll_deadline_s
        for scheduler in self.schedulers:
            devices = scheduler.devices
            if not devices:
                continue
            longest = max(d.interval_s for d in devices) * 2 + slack
            last = scheduler.stats.last_tick or self._started
            if time.monotonic() - last >= longest:
                return False
        return True

    async def poll_once(self, device_ids: Iterable[str] | None = None) -> Snapshot:
        wanted = set(device_ids) if device_ids else None
        devices = [d for d in self.config.devices.values() if wanted is None or d.id in wanted]
        once = [self._scheduler(devices, source, jitter_s=0) for source in self.pollers]
        for results in await asyncio.gather(*(s.poll_once() for s in once)):
            for result in results:
                self.on_result(result)
        return self.latest.snapshot([s for s in self.process_samples()
                                     if s.metric == "netmon_site_unique_clients_today"])

    async def serve(self, stop: asyncio.Event) -> None:
        """Run the daemon until `stop` is set."""
        exp = self.config.exporter
        self.exporter = ExporterServer(self.snapshot, self.healthy, exp.listen, exp.port)
        await self.exporter.start()
        counts = ", ".join(f"{len(s.devices)} over {src.value}" for s, src in zip(self.schedulers, self.pollers,
                                                                                   strict=True))
        log.info("polling %d devices at %d sites (%s)", len(self.config.devices), len(self.config.sites), counts)
        pollers = [asyncio.create_task(s.run(), name=f"scheduler:{src.value}")
                   for s, src in zip(self.schedulers, self.pollers, strict=True)]
        try:
            await stop.wait()
        finally:
            for task in pollers:
                task.cancel()
            for task in pollers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.exporter.stop()
            await self.close()

    async def close(self) -> None:
        await self.snmp.close()
        await self.routeros.close()
        self._routeros_threads.shutdown(wait=False, cancel_futures=True)


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
