"""The poll scheduler: every device on its own interval, spread over the interval with a stable offset,
never two polls of one device at once, a bounded number in flight, a whole-poll deadline; a slow or
silent device never delays the others (each device has its own task, waiting only for its own reply).

A failed poll never delays the next one: a device that timed out, refused, or answered garbage is polled again
when its next interval is due, so the first poll after it is back finds it. The one exception is
`AuthenticationFailed` (an SNMPv3 user or key, or a RouterOS API password, refused): the device is not polled over
that source for AUTH_BACKOFF_S rather than hammered with a credential that cannot work; one error line names the
source and the device's answer, and the alert engine raises `auth_failed` from the same result (alerts.credential).

The devices polled can change while it runs (`set_share`: the devices of this node, issue #16). A device that
joins is first polled at the next slot of its own offset (its offset plus whole intervals from the start of
`run()`), so within one interval (plus jitter, as every poll), and a dead node's devices arriving at once keep
their spread instead of bursting. A device that leaves is not polled again: its task is cancelled, a poll in
flight with it, and a result that finishes anyway is dropped, so `on_result` never sees a device after the
`set_share` that took it away. One that comes back before its last poll has ended waits for it (never two polls
of one device at once)."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
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
        self._all = [d for d in devices if source in d.sources]
        self._share: frozenset[str] | None = None
        self._devices = self._all  # the share, in the order given (a copy once a share is set)
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
        self._start: float | None = None  # while run() runs: when it started (the slots' origin)
        self._tasks: dict[str, asyncio.Task[None]] = {}  # device id -> its task, for the devices in the share
        self._leaving: dict[str, asyncio.Task[None]] = {}  # cancelled, maybe not ended yet
        self._failed: asyncio.Future[None] | None = None

    @property
    def devices(self) -> list[Device]:
        """The devices polled: those of the share."""
        return list(self._devices)

    @property
    def share(self) -> frozenset[str] | None:
        """The ids given to `set_share` (None: every device given at construction)."""
        return self._share

    def set_share(self, device_ids: frozenset[str] | None) -> None:
        """Poll only these of the devices given at construction (None: all of them). Ids of other devices
        (another source's, or unknown here) are ignored. While `run()` runs, a device that joins is first
        polled at the next slot of its offset and a device that leaves is not polled again, nor its result
        delivered (module docstring). Call it on the event loop's thread."""
        self._share = device_ids
        self._devices = self._all if device_ids is None else [d for d in self._all if d.id in device_ids]
        if self._start is None:
            return  # run() starts what the share holds then
        if device_ids is not None:
            for device_id in [i for i in self._tasks if i not in device_ids]:
                self._retire(device_id)
        now = self._clock()
        for device in self._devices:
            if device.id not in self._tasks:
                self._spawn(device, self._next_slot(device, now))

    async def run(self) -> None:
        """Run until cancelled (or until handling a result raises, which this raises)."""
        if self._start is not None:
            raise RuntimeError("this scheduler is already running")
        self._start = self._clock()
        self._failed = asyncio.get_running_loop().create_future()
        try:
            for device in self._devices:
                self._spawn(device, self._start + self.offset(device))
            await self._failed
        finally:
            tasks = [*self._tasks.values(), *self._leaving.values()]
            self._start, self._failed = None, None
            self._tasks, self._leaving = {}, {}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def poll_once(self) -> list[PollResult]:
        """Poll every device of the share once, concurrently within the in-flight bound (`netmon poll --once`)."""
        return list(await asyncio.gather(*(self._poll_guarded(d) for d in self._devices)))

    def offset(self, device: Device) -> float:
        """A stable start offset within the interval, so polls spread evenly instead of bursting."""
        return (zlib.crc32(device.id.encode()) / 2**32) * device.interval_s

    def _next_slot(self, device: Device, now: float) -> float:
        """The first of the device's slots (its offset plus whole intervals from the start) not before `now`."""
        assert self._start is not None
        first = self._start + self.offset(device)
        if now <= first:
            return first
        return first + math.ceil((now - first) / device.interval_s) * device.interval_s

    def _spawn(self, device: Device, due: float) -> None:
        previous = self._leaving.pop(device.id, None)
        task = asyncio.create_task(self._device_loop(device, due, previous), name=f"poll:{device.id}")
        task.add_done_callback(functools.partial(self._ended, device.id))
        self._tasks[device.id] = task

    def _retire(self, device_id: str) -> None:
        task = self._tasks.pop(device_id)
        task.cancel()
        self._leaving[device_id] = task

    def _ended(self, device_id: str, task: asyncio.Task[None]) -> None:
        if self._leaving.get(device_id) is task:
            del self._leaving[device_id]
        if task.cancelled() or self._failed is None or self._failed.done():
            return
        if (exc := task.exception()) is not None:
            self._failed.set_exception(exc)

    async def _device_loop(self, device: Device, due: float, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # left and came back: its last poll ends first (never two at once)
            await asyncio.wait([previous])
        while True:
            intended = due + random.uniform(0.0, self._jitter_s)
            wait = intended - self._clock()
            if wait > 0:
                await self._sleep(wait)
            result = await self._poll_guarded(device, intended)
            if self._tasks.get(device.id) is not asyncio.current_task():
                return  # left the share during the poll (Python 3.11's wait_for may swallow the cancel)
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
