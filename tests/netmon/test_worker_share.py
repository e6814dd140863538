"""Live device shares in the SNMP worker processes (`ShardedSnmpPoller.set_share`, issue #16): running workers
change what they poll without a restart, and a worker restarted after a crash keeps the share.

Real worker processes poll simulated agents (netmon.simulate), each behind a relay counting the requests it gets
(tests/counting_relay.py): that a device is no longer polled is seen from the network, not only from the results
that reach the parent (which also drops late results of a device that left). Waits are for behaviour (results
of given devices), with generous guards; nothing is timed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from counting_relay import CountingRelay, relayed_agents
from peers import HANG_GUARD_S

from netmon.model import Device, PollResult
from netmon.worker import ShardedSnmpPoller, WorkerSettings, shard_of

IDS = ("ap0", "ap1", "ap4", "ap5")  # ap4, ap5 in shard 0 of 2; ap0, ap1 in shard 1
SETTINGS = WorkerSettings(max_in_flight=16, jitter_s=0.0, deadline_s=5.0)


@dataclass
class Fleet:
    devices: list[Device]
    relays: dict[str, CountingRelay]
    results: dict[str, list[PollResult]] = field(default_factory=lambda: defaultdict(list))
    share: frozenset[str] | None = None  # what the test last gave set_share
    outside: list[str] = field(default_factory=list)  # results delivered for a device outside that share

    def on_result(self, result: PollResult) -> None:
        if self.share is not None and result.device not in self.share:
            self.outside.append(result.device)
        self.results[result.device].append(result)

    def set_share(self, poller: ShardedSnmpPoller, share: frozenset[str] | None) -> None:
        poller.set_share(share)
        self.share = share

    def asked(self) -> dict[str, int]:
        return {did: relay.requests for did, relay in self.relays.items()}

    def polled(self, n: int, *ids: str) -> Callable[[], bool]:
        """A condition: each of `ids` has `n` more good results than now."""
        counts = {i: self.good(i) for i in ids}
        return lambda: all(self.good(i) >= counts[i] + n for i in ids)

    def good(self, device_id: str) -> int:
        return sum(r.ok for r in self.results[device_id])


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    assert [shard_of(i, 2) for i in IDS] == [1, 1, 0, 0]
    async with relayed_agents(IDS, site="s1", interval_s=1.0) as (devices, relays):
        yield Fleet(devices, relays)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(HANG_GUARD_S):
        while not condition():
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(poller: ShardedSnmpPoller) -> AsyncIterator[None]:
    task = asyncio.create_task(poller.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def quiet(fleet: Fleet, *polled: str) -> dict[str, int]:
    """The requests each relay has seen once a share change has surely reached the workers: every device of
    `polled` has had two more good polls (the second started a whole interval after the change was sent, so after
    the worker read it), and one more after that (whatever was sent before has reached its relay)."""
    await until(fleet.polled(2, *polled))
    await until(fleet.polled(1, *polled))
    return fleet.asked()


async def test_running_workers_change_their_share_without_restarting(fleet: Fleet) -> None:
    poller = ShardedSnmpPoller(fleet.devices, 2, SETTINGS, fleet.on_result)
    async with running(poller):
        await until(fleet.polled(2, *IDS))
        pids = [w["pid"] for w in poller.worker_info()]

        fleet.set_share(poller, frozenset({"ap0", "ap5"}))  # ap1 and ap4 leave: one from each worker
        assert [d.id for d in poller.devices] == ["ap0", "ap5"]
        assert [w["polled"] for w in poller.worker_info()] == [1, 1]
        before = await quiet(fleet, "ap0", "ap5")
        await until(fleet.polled(3, "ap0", "ap5"))
        after = fleet.asked()
        assert after["ap1"] == before["ap1"] and after["ap4"] == before["ap4"]  # not asked any more
        assert after["ap0"] > before["ap0"] and after["ap5"] > before["ap5"]

        fleet.set_share(poller, frozenset({"ap0", "ap1", "ap5"}))  # ap1 joins again
        await until(fleet.polled(2, "ap1"))
        assert fleet.asked()["ap4"] == before["ap4"]
        assert [w["pid"] for w in poller.worker_info()] == pids  # the same processes throughout
        assert all(w["restarts"] == 0 for w in poller.worker_info())
    assert fleet.outside == []  # on_result never saw a device after the share that took it away


async def test_a_share_given_before_run_is_what_the_workers_start_with_and_none_restores_all(
        fleet: Fleet) -> None:
    poller = ShardedSnmpPoller(fleet.devices, 2, SETTINGS, fleet.on_result)
    fleet.set_share(poller, frozenset({"ap1", "ap4"}))
    async with running(poller):
        await poller.wait_started(HANG_GUARD_S)
        await until(fleet.polled(3, "ap1", "ap4"))
        assert fleet.asked()["ap0"] == 0 and fleet.asked()["ap5"] == 0  # never asked, not even discovered
        fleet.set_share(poller, None)
        await until(fleet.polled(2, *IDS))
    assert fleet.outside == []


async def test_a_worker_restarted_after_a_crash_keeps_the_share(
        fleet: Fleet, caplog: pytest.LogCaptureFixture) -> None:
    poller = ShardedSnmpPoller(fleet.devices, 2, SETTINGS, fleet.on_result, restart_delay_s=0.1)
    async with running(poller):
        await until(fleet.polled(1, *IDS))
        fleet.set_share(poller, frozenset({"ap0", "ap1", "ap5"}))  # ap4 (worker 0) leaves
        before = await quiet(fleet, "ap0", "ap1", "ap5")
        old_pid = poller.worker_info()[0]["pid"]
        os.kill(old_pid, signal.SIGKILL)
        await until(lambda: poller.worker_info()[0]["restarts"] == 1)
        assert poller.worker_info()[0]["pid"] != old_pid
        await until(fleet.polled(3, "ap5"))  # the new worker 0 polls its part of the share...
        assert fleet.asked()["ap4"] == before["ap4"]  # ...and not ap4: not at its start (discovery), nor since

        fleet.set_share(poller, None)  # and the new worker takes changes as the old one did
        await until(fleet.polled(2, "ap4"))
    assert "SNMP worker 0" in caplog.text and "restarting" in caplog.text
    assert fleet.outside == []
