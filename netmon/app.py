"""The composition root: the one module that builds collectors, scheduler, exporter (and later state,
storage and alerts) and connects them. Everything else receives what it needs as arguments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterable

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import ProfileSet, load_profiles
from netmon.config import Config
from netmon.exporter import ExporterServer
from netmon.latest import LatestResults, Snapshot
from netmon.model import Device, PollResult, Source
from netmon.scheduler import Scheduler

log = logging.getLogger(__name__)


class NetmonApp:
    def __init__(self, config: Config, profiles: ProfileSet | None = None) -> None:
        self.config = config
        self.profiles = profiles or load_profiles()
        self._validate_profiles(config.devices.values())
        self.latest = LatestResults(config.sites, config.devices)
        self.snmp = SnmpCollector(self.profiles)
        sched = config.scheduler
        self.scheduler = Scheduler(
            config.devices.values(), self.snmp.poll, self.on_result, source=Source.SNMP,
            max_in_flight=sched.max_in_flight, jitter_s=sched.jitter_s, deadline_s=sched.poll_deadline_s,
        )
        self.exporter: ExporterServer | None = None
        self._started = time.monotonic()

    def _validate_profiles(self, devices: Iterable[Device]) -> None:
        for device in devices:
            if device.profile:
                self.profiles.get(device.profile)  # raises ConfigError naming the unknown profile

    def on_result(self, result: PollResult) -> None:
        self.latest.record(result)

    def snapshot(self) -> Snapshot:
        stats = self.scheduler.stats
        return self.latest.snapshot({
            "netmon_scheduler_polls_in_flight": stats.in_flight,
            "netmon_scheduler_devices": len(self.scheduler.devices),
            "netmon_scheduler_missed_cycles_total": stats.missed_cycles_total,
            "netmon_scheduler_polls_total": stats.polls_total,
        })

    def healthy(self) -> bool:
        """Alive while the scheduler keeps starting polls (or has nothing to poll yet)."""
        devices = self.scheduler.devices
        if not devices:
            return True
        longest = max(d.interval_s for d in devices) * 2 + self.config.scheduler.poll_deadline_s
        last = self.scheduler.stats.last_tick or self._started
        return time.monotonic() - last < longest

    async def poll_once(self, device_ids: Iterable[str] | None = None) -> Snapshot:
        wanted = set(device_ids) if device_ids else None
        devices = [d for d in self.config.devices.values() if wanted is None or d.id in wanted]
        sched = self.config.scheduler
        once = Scheduler(devices, self.snmp.poll, self.on_result, source=Source.SNMP,
                         max_in_flight=sched.max_in_flight, jitter_s=0, deadline_s=sched.poll_deadline_s)
        for result in await once.poll_once():
            self.on_result(result)
        return self.latest.snapshot()

    async def serve(self, stop: asyncio.Event) -> None:
        """Run the daemon until `stop` is set."""
        exp = self.config.exporter
        self.exporter = ExporterServer(self.snapshot, self.healthy, exp.listen, exp.port)
        await self.exporter.start()
        log.info("polling %d devices at %d sites", len(self.scheduler.devices), len(self.config.sites))
        poller = asyncio.create_task(self.scheduler.run(), name="scheduler")
        try:
            await stop.wait()
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            await self.exporter.stop()
            await self.close()

    async def close(self) -> None:
        await self.snmp.close()


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
