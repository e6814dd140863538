"""Reachability as a source of its own: a device that answers ping while SNMP/API fail is `degraded`
(agent or credentials problem), one that answers nothing is `down`."""

from __future__ import annotations

import time
from collections.abc import Callable

from collectors.ping.icmp import IcmpProber
from netmon.errors import CollectorError
from netmon.model import Device, PollResult, Sample, Source


class PingCollector:
    def __init__(self, prober: IcmpProber | None = None, clock: Callable[[], float] = time.time) -> None:
        self._prober = prober or IcmpProber()
        self._clock = clock

    async def poll(self, device: Device) -> PollResult:
        started = self._clock()
        t0 = time.perf_counter()
        try:
            echo = await self._prober.echo(device.address)
        except CollectorError as exc:
            return PollResult(device.id, Source.PING, started, time.perf_counter() - t0, error=exc)
        samples = [Sample("netmon_ping_loss_ratio", 1 - echo.received / echo.sent)]
        if echo.rtt_avg_s is not None:
            samples.append(Sample("netmon_ping_rtt_seconds", echo.rtt_avg_s))
        return PollResult(device.id, Source.PING, started, time.perf_counter() - t0, samples=tuple(samples))

    async def close(self) -> None:
        return None
