"""The polling half of a composition root, shared by the daemon (netmon/app.py) and the site agent
(netmon/agent/runner.py): the collectors (SNMP, RouterOS API, ping), one scheduler per source (SNMP in
`scheduler.workers` processes when more than one), `poll_once`, `close`. Every result goes to `on_result`.
Nothing here decides what happens to a result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from collectors.ping.collector import PingCollector
from collectors.routeros.collector import RouterOsCollector
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import ProfileSet
from netmon.config.schema import SchedulerConfig
from netmon.model import Device, PollResult, Source
from netmon.scheduler import PollFn, ResultFn, Scheduler
from netmon.worker import ShardedSnmpPoller, WorkerSettings


class Polling:
    """Collectors and schedulers over `devices`. `fingerprint(site, mac)`: the keyed hash of client MAC
    addresses (netmon.privacy); None sends counts only."""

    def __init__(self, devices: Mapping[str, Device], scheduler: SchedulerConfig, profiles: ProfileSet,
                 on_result: ResultFn, *, fingerprint: Callable[[str, str], str] | None = None) -> None:
        self.devices = devices
        self._config = scheduler
        self._on_result = on_result
        for device in devices.values():
            if device.profile:
                profiles.get(device.profile)  # raises ConfigError naming the unknown profile
        self.snmp = SnmpCollector(profiles)
        self._routeros_threads = ThreadPoolExecutor(max_workers=scheduler.routeros_threads,
                                                    thread_name_prefix="routeros")
        self.routeros = RouterOsCollector(self._routeros_threads, fingerprint=fingerprint)
        self.ping = PingCollector()
        self.pollers: dict[Source, PollFn] = {Source.SNMP: self.snmp.poll, Source.ROUTEROS: self.routeros.poll,
                                              Source.PING: self.ping.poll}
        self.schedulers: list[Scheduler | ShardedSnmpPoller] = [
            self._sharded_snmp() if source is Source.SNMP and scheduler.workers > 1
            else self.scheduler(devices.values(), source)
            for source in self.pollers]

    def _sharded_snmp(self) -> ShardedSnmpPoller:
        """SNMP polling in `scheduler.workers` processes, each over a stable shard of the devices."""
        sched = self._config
        settings = WorkerSettings(max_in_flight=sched.max_in_flight, jitter_s=sched.jitter_s,
                                  deadline_s=sched.poll_deadline_s,
                                  log_level=logging.getLogger().getEffectiveLevel())
        return ShardedSnmpPoller(self.devices.values(), sched.workers, settings, self._on_result)

    def scheduler(self, devices: Iterable[Device], source: Source, *, jitter_s: float | None = None) -> Scheduler:
        sched = self._config
        return Scheduler(devices, self.pollers[source], self._on_result, source=source,
                         max_in_flight=sched.max_in_flight,
                         jitter_s=sched.jitter_s if jitter_s is None else jitter_s,
                         deadline_s=sched.poll_deadline_s)

    def snmpv3_rejected(self) -> dict[tuple[str, str], int]:
        """SNMPv3 messages refused, by (who, reason): from the worker processes, or this process's collector."""
        sharded = [s for s in self.schedulers if isinstance(s, ShardedSnmpPoller)]
        return sharded[0].snmpv3_rejected() if sharded else self.snmp.snmpv3_rejected()

    def tasks(self) -> list[asyncio.Task[None]]:
        """One running task per source's scheduler (cancel them to stop polling)."""
        return [asyncio.create_task(s.run(), name=f"scheduler:{src.value}")
                for s, src in zip(self.schedulers, self.pollers, strict=True)]

    def set_share(self, device_ids: frozenset[str] | None) -> None:
        """Poll only these devices from now on (None: all of them), over each of their sources: the devices of
        this node when nodes share them (issue #16). See `Scheduler.set_share`."""
        for scheduler in self.schedulers:
            scheduler.set_share(device_ids)

    def summary(self) -> str:
        """How many devices each source polls; "N of M" while a share leaves some to other nodes."""
        return ", ".join(f"{self._count(s, src)} over {src.value}" for s, src in zip(self.schedulers, self.pollers,
                                                                                     strict=True))

    def _count(self, scheduler: Scheduler | ShardedSnmpPoller, source: Source) -> str:
        polled = len(scheduler.devices)
        if scheduler.share is None:
            return str(polled)
        return f"{polled} of {sum(source in d.sources for d in self.devices.values())}"

    async def poll_once(self, device_ids: Iterable[str] | None = None) -> list[PollResult]:
        """Poll every device (or those named) once over each of its sources; the results, not sent anywhere."""
        wanted = set(device_ids) if device_ids else None
        devices = [d for d in self.devices.values() if wanted is None or d.id in wanted]
        once = [self.scheduler(devices, source, jitter_s=0) for source in self.pollers]
        return [r for results in await asyncio.gather(*(s.poll_once() for s in once)) for r in results]

    async def close(self) -> None:
        await self.snmp.close()
        await self.routeros.close()
        self._routeros_threads.shutdown(wait=False, cancel_futures=True)
