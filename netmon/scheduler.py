"""The poll scheduler: every device on its own interval, spread over the interval with a stable offset,
never two polls of one device at once, a bounded number in flight, a whole-poll deadline; a slow or
silent device never delays the others (each device has its own task, waiting only for its own reply).

A failed poll never delays the next one: a device that timed out, refused, or answered garbage is polled again
when its next interval is due, so the first poll after it is back finds it. The one exception is
`AuthenticationFailed` (an SNMPv3 user or key, or a RouterOS API password, refused): the device is not polled over
that source for AUTH_BACKOFF_S rather than hammered with a credential that cannot work; one error line names the
source and the device's answer, and the alert engine raises `auth_failed` from the same result (alerts.credential)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from netmon.errors import AuthenticationFailed, DeviceProtocolError, DeviceUnreachable
from netmon.model import Device, PollResult, Source

log = logging.getLogger(__name__)

PollFn = Callable[[Device], Awaitable[PollResult]]
ResultFn = Callable[[PollResult], None]
AUTH_BACKOFF_S = 1800.0
# as people write them
SOURCE_NAMES = {Source.SNMP: "SNMP", Source.ROUTEROS: "RouterOS", Source.PING: "ping", Source.PUSH: "push"}


@dataclass
class SchedulerStats:
    polls_total: int = 0
    missed_cycles_total: int = 0
    in_flight: int = 0
    lags: list[float] = field(default_factory=list)  # poll-start lag of recent polls, seconds
    last_tick: float = 0.0
    max_lag_samples: int = 100_000

    def record_lag(self, lag: float) -> None:
        self.lags.append(lag)
        if len(self.lags) > self.max_lag_samples:
            del self.lags[: len(self.lags) // 2]


class Scheduler:
    def __init__(self, devices: Iterable[Device], poll: PollFn, on_result: ResultFn, *,
                 source: Source = Source.SNMP, max_in_flight: int = 256, jitter_s: float = 5.0,
                 deadline_s: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._devices = [d for d in devices if source in d.sources]
        self._poll = poll
        self._on_result = on_result
        self._source = source
        self._limit = asyncio.Semaphore(max_in_flight)
        self._jitter_s = jitter_s
        self._deadline_s = deadline_s
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self.stats = SchedulerStats()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def devices(self) -> list[Device]:
        return list(self._devices)

    async def run(self) -> None:
        """Run until cancelled."""
        start = self._clock()
        self._tasks = [asyncio.create_task(self._device_loop(d, start), name=f"poll:{d.id}")
                       for d in self._devices]
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def poll_once(self) -> list[PollResult]:
        """Poll every device once, concurrently within the in-flight bound (for `netmon poll --once`)."""
        return list(await asyncio.gather(*(self._poll_guarded(d) for d in self._devices)))

    def offset(self, device: Device) -> float:
        """A stable start offset within the interval, so polls spread evenly instead of bursting."""
        return (zlib.crc32(device.id.encode()) / 2**32) * device.interval_s

    async def _device_loop(self, device: Device, start: float) -> None:
        due = start + self.offset(device)
        while True:
            intended = due + random.uniform(0.0, self._jitter_s)
            wait = intended - self._clock()
            if wait > 0:
                await self._sleep(wait)
            result = await self._poll_guarded(device, intended)
            self._on_result(result)
            due += device.interval_s
            if isinstance(result.error, AuthenticationFailed):  # only this: any other failure is polled again
                _log_refused(device, result)
                due = max(due, self._clock() + AUTH_BACKOFF_S)
            late = self._clock() - due
            if late > 0:  # fell behind a whole cycle: skip it, never queue up polls of one device
                missed = int(late // device.interval_s) + 1
                self.stats.missed_cycles_total += missed
                due += missed * device.interval_s

    async def _poll_guarded(self, device: Device, due: float | None = None) -> PollResult:
        async with self._limit:
            now = self._clock()
            if due is not None:
                self.stats.record_lag(max(0.0, now - due))
            self.stats.in_flight += 1
            self.stats.last_tick = now
            started = self._wall()
            try:
                return await asyncio.wait_for(self._poll(device), self._deadline_s)
            except TimeoutError:
                return PollResult(device.id, self._source, started, self._deadline_s,
                                  error=DeviceUnreachable(f"poll exceeded its {self._deadline_s:g}s deadline"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the per-device task boundary: one broken device never stops the rest
                log.exception("device %s: unexpected error while polling", device.id,
                              extra={"device": device.id})
                return PollResult(device.id, self._source, started, self._clock() - now,
                                  error=DeviceProtocolError(f"internal error: {type(exc).__name__}"))
            finally:
                self.stats.in_flight -= 1
                self.stats.polls_total += 1


def _log_refused(device: Device, result: PollResult) -> None:
    name = SOURCE_NAMES.get(result.source, result.source.value)
    log.error("device %s: %s authentication failed (%s); not polling it over %s for %.0f s "
              "(fix the credential, then restart or wait)", device.id, name, result.error, name, AUTH_BACKOFF_S,
              extra={"device": device.id, "source": result.source.value})
