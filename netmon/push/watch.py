"""The push watch: like a scheduler for devices that are not polled. A push device that has not pushed for its
interval plus its tolerance gets a failed `PollResult` (`DeviceUnreachable`, "no push for N s"), one for every
interval it stays silent, so the state machine (docs/state.md) turns it DEGRADED or DOWN after N missed pushes
or T seconds exactly as it does a device that stops answering polls; the next push that arrives is a good poll.

The watch also keeps each device's push results in order: the state machine ignores a result older than the
source's previous one, and a router whose clock is a little behind ours would otherwise date its first push
after a silence before the failure the watch emitted for that silence.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from netmon.errors import DeviceUnreachable
from netmon.model import Device, PollResult, Source

ResultFn = Callable[[PollResult], None]
STEP_S = 1.0
EPSILON_S = 0.001


@dataclass
class _Expected:
    interval_s: float
    tolerance_s: float
    last_push: float | None  # office time of the last accepted push (None: none since the start)
    due: float  # office time at which silence counts as a missed push
    last_at: float = float("-inf")  # started_at of the last result handed on for this device


class PushWatch:
    def __init__(self, devices: Iterable[Device], on_result: ResultFn, *, started_at: float,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._on_result = on_result
        self._clock = clock
        self._sleep = sleep
        self._started_at = started_at
        self._devices: dict[str, _Expected] = {}
        for device in devices:
            if Source.PUSH in device.sources and device.push is not None:
                tolerance = device.push.tolerance_s
                self._devices[device.id] = _Expected(device.interval_s, tolerance, None,
                                                     started_at + device.interval_s + tolerance)

    @property
    def devices(self) -> list[str]:
        return list(self._devices)

    def arrived(self, device_id: str, received_at: float, at: float) -> float:
        """A push from `device_id` was accepted at office time `received_at`; `at` is the time its samples
        carry. Returns the time its result must carry: `at`, or just after the device's previous result."""
        expected = self._devices[device_id]
        expected.last_push = received_at
        expected.due = received_at + expected.interval_s + expected.tolerance_s
        return self._stamp(expected, at)

    def stamp(self, device_id: str, at: float) -> float:
        """The time a result of `device_id` (a refused push) must carry to stay after its previous one."""
        return self._stamp(self._devices[device_id], at)

    def tick(self, now: float) -> list[PollResult]:
        """Emit (and return) a failed result for each device whose push is overdue at `now`."""
        missed: list[PollResult] = []
        for device_id, expected in self._devices.items():
            if now < expected.due:
                continue
            since = expected.last_push if expected.last_push is not None else self._started_at
            error = DeviceUnreachable(f"no push for {now - since:.0f} s")
            at = self._stamp(expected, expected.due)
            missed.append(PollResult(device_id, Source.PUSH, at, 0.0, error=error))
            periods = math.floor((now - expected.due) / expected.interval_s) + 1
            expected.due += periods * expected.interval_s  # one failure per silent interval, none queued up
        for result in missed:
            self._on_result(result)
        return missed

    async def run(self) -> None:
        """Tick every STEP_S until cancelled."""
        while True:
            await self._sleep(STEP_S)
            self.tick(self._clock())

    @staticmethod
    def _stamp(expected: _Expected, at: float) -> float:
        at = max(at, expected.last_at + EPSILON_S)
        expected.last_at = at
        return at
