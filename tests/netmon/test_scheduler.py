"""The scheduler: intervals, no overlapping polls of one device, bounded concurrency, deadlines.

The tests run on virtual time (tests/virtual_time.py) with the scheduler's clock injected: every sleep,
deadline and interval is exact, whatever the machine's load, so the counts below are exact too."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from virtual_time import run_virtual

from netmon.errors import AuthenticationFailed
from netmon.model import Device, Owner, PollResult, Role, Source
from netmon.scheduler import PollFn, ResultFn, Scheduler


def device(did: str, interval_s: float = 0.2) -> Device:
    return Device(id=did, site="s", role=Role.AP, address="127.0.0.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, interval_s=interval_s)


def now() -> float:
    return asyncio.get_running_loop().time()


def scheduler(devices: list[Device], poll: PollFn, on_result: ResultFn, **kwargs: float) -> Scheduler:
    """A scheduler without jitter whose clocks are the (virtual) loop's."""
    return Scheduler(devices, poll, on_result, jitter_s=0, clock=now, wall=now, **kwargs)  # type: ignore[arg-type]


class Recorder:
    def __init__(self, delays: dict[str, float] | None = None, error: Exception | None = None) -> None:
        self.delays = delays or {}
        self.error = error
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.running: dict[str, int] = defaultdict(int)
        self.max_running_per_device = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def poll(self, dev: Device) -> PollResult:
        self.starts[dev.id].append(now())
        self.running[dev.id] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_running_per_device = max(self.max_running_per_device, self.running[dev.id])
        try:
            await asyncio.sleep(self.delays.get(dev.id, 0.01))
            if self.error is not None:
                return PollResult(dev.id, Source.SNMP, now(), 0.0, error=self.error)  # type: ignore[arg-type]
            return PollResult(dev.id, Source.SNMP, now(), 0.01)
        finally:
            self.running[dev.id] -= 1
            self.in_flight -= 1


async def run_for(sched: Scheduler, seconds: float) -> None:
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_each_device_is_polled_on_its_interval() -> None:
    rec = Recorder()
    devices = [device("a", 0.2), device("b", 0.4)]
    sched = scheduler(devices, rec.poll, lambda r: None)
    run_virtual(lambda: run_for(sched, 1.3))
    for dev in devices:  # at its stable offset, then once every interval, never early, never late
        expected = [sched.offset(dev) + k * dev.interval_s for k in range(10)
                    if sched.offset(dev) + k * dev.interval_s < 1.3]
        assert rec.starts[dev.id] == pytest.approx(expected), dev.id


def test_a_silent_device_never_delays_the_others() -> None:
    rec = Recorder(delays={"slow": 5.0})
    fast = [device("fast1"), device("fast2")]
    sched = scheduler([device("slow"), *fast], rec.poll, lambda r: None, deadline_s=0.5)
    run_virtual(lambda: run_for(sched, 1.25))
    for dev in fast:
        assert rec.starts[dev.id] == pytest.approx([sched.offset(dev) + k * 0.2 for k in range(7)
                                                    if sched.offset(dev) + k * 0.2 < 1.25])
    assert 2 <= len(rec.starts["slow"]) <= 3  # each poll cut at its 0.5 s deadline, the cycles in it skipped


def test_never_two_polls_of_one_device_at_once_and_late_cycles_are_skipped() -> None:
    rec = Recorder(delays={"a": 0.5})  # poll takes longer than the 0.2 s interval
    sched = scheduler([device("a", 0.2)], rec.poll, lambda r: None, deadline_s=10)
    run_virtual(lambda: run_for(sched, 1.6))
    assert rec.max_running_per_device == 1
    assert sched.stats.missed_cycles_total >= 3
    gaps = [b - a for a, b in zip(rec.starts["a"], rec.starts["a"][1:], strict=False)]
    assert gaps and all(g == pytest.approx(0.6) for g in gaps)  # 0.5 s poll, then the next 0.2 s slot


def test_deadline_turns_a_hung_poll_into_unreachable() -> None:
    rec = Recorder(delays={"hung": 10.0})
    results: list[PollResult] = []
    sched = scheduler([device("hung", 0.5)], rec.poll, results.append, deadline_s=0.2)
    run_virtual(lambda: run_for(sched, 0.6))
    assert results and results[0].error is not None and results[0].error.reason == "timeout"
    assert "deadline" in str(results[0].error)


def test_in_flight_polls_are_bounded() -> None:
    rec = Recorder(delays={f"d{i}": 0.1 for i in range(20)})
    sched = scheduler([device(f"d{i}", 1.0) for i in range(20)], rec.poll, lambda r: None, max_in_flight=4)
    results = run_virtual(sched.poll_once)
    assert len(results) == 20 and rec.max_in_flight == 4


def test_a_crashing_collector_is_contained_to_its_device() -> None:
    async def poll(dev: Device) -> PollResult:
        if dev.id == "bad":
            raise RuntimeError("bug")
        return PollResult(dev.id, Source.SNMP, now(), 0.0)

    sched = scheduler([device("bad"), device("good")], poll, lambda r: None)
    results = {r.device: r for r in run_virtual(sched.poll_once)}
    assert results["good"].ok
    assert results["bad"].error is not None and results["bad"].error.reason == "protocol"


def test_authentication_failure_stops_polling_the_device() -> None:
    rec = Recorder(error=AuthenticationFailed("wrong keys"))
    sched = scheduler([device("a", 0.1)], rec.poll, lambda r: None)
    run_virtual(lambda: run_for(sched, 0.7))
    assert len(rec.starts["a"]) == 1


def test_offsets_spread_devices_over_the_interval() -> None:
    sched = Scheduler([device(f"d{i}", 60) for i in range(1000)], Recorder().poll, lambda r: None)
    offsets = sorted(sched.offset(d) for d in sched.devices)
    assert 0 <= offsets[0] < 1 and 59 < offsets[-1] < 60
    # roughly uniform: each 6-second tenth holds 60..140 of the 1000 devices
    tenths = [sum(1 for o in offsets if k * 6 <= o < (k + 1) * 6) for k in range(10)]
    assert all(60 <= n <= 140 for n in tenths), tenths
