"""The scheduler after failed polls, against a real agent (snmpd stopped and started again) on a virtual clock:
a timeout never delays the next poll (the first poll after the agent is back succeeds), and only an
authentication failure pauses a device, for AUTH_BACKOFF_S."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
from snmpd_peer import AUTH_KEY, COMMUNITY, PRIV_KEY, USER, Snmpd, restartable_snmpd
from virtual_time import JumpingClock

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.model import (
    Device,
    Owner,
    PollResult,
    Role,
    Secret,
    SnmpAuth,
    SnmpSettings,
    SnmpV2cAuth,
    SnmpV3Auth,
    Source,
)
from netmon.scheduler import AUTH_BACKOFF_S, Scheduler

snmpd = restartable_snmpd
INTERVAL_S = 60.0


def device(port: int, auth: SnmpAuth) -> Device:
    return Device(id="agent", site="s", role=Role.ROUTER, address="127.0.0.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, interval_s=INTERVAL_S,
                  snmp=SnmpSettings(auth=auth, port=port, timeout_s=0.3, retries=0))


async def run_polls(dev: Device, polls: int, on_poll: Callable[[int, PollResult], None],
                    time: JumpingClock) -> list[tuple[float, PollResult]]:
    """Run a scheduler for `dev` until it has polled `polls` times; (virtual time, result) of each poll."""
    collector = SnmpCollector(load_profiles())
    seen: list[tuple[float, PollResult]] = []
    enough = asyncio.Event()

    def on_result(result: PollResult) -> None:
        seen.append((time.now, result))
        on_poll(len(seen), result)
        if len(seen) >= polls:
            enough.set()

    scheduler = Scheduler([dev], collector.poll, on_result, jitter_s=0, deadline_s=10, clock=time.clock,
                          sleep=time.sleep)
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.wait_for(enough.wait(), 60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await collector.close()
    return seen[:polls]


@pytest.mark.parametrize("auth", [SnmpV2cAuth(Secret(COMMUNITY)),
                                  SnmpV3Auth(USER, "sha256", Secret(AUTH_KEY), "aes128", Secret(PRIV_KEY))],
                         ids=["v2c", "v3"])
async def test_timeouts_keep_the_interval_and_the_first_poll_after_the_agent_is_back_succeeds(
        snmpd: Snmpd, auth: SnmpAuth) -> None:
    def power(count: int, _result: PollResult) -> None:
        if count == 2:
            snmpd.stop()  # power cut after the 2nd poll
        elif count == 5:
            snmpd.start()  # power back after the 5th

    time = JumpingClock()
    polls = await run_polls(device(snmpd.port, auth), 7, power, time)
    assert [r.ok for _, r in polls] == [True, True, False, False, False, True, True]
    assert {r.error.reason for _, r in polls if r.error is not None} == {"timeout"}
    starts = [at for at, _ in polls]
    assert [b - a for a, b in itertools.pairwise(starts)] == [INTERVAL_S] * 6


async def test_only_an_authentication_failure_pauses_the_device(snmpd: Snmpd) -> None:
    wrong_key = SnmpV3Auth(USER, "sha256", Secret("not-the-key-000"), "aes128", Secret(PRIV_KEY))
    time = JumpingClock()
    polls = await run_polls(device(snmpd.port, wrong_key), 3, lambda _n, _r: None, time)
    assert [r.error.reason if r.error else None for _, r in polls] == ["auth"] * 3
    starts = [at for at, _ in polls]
    assert [b - a for a, b in itertools.pairwise(starts)] == [AUTH_BACKOFF_S] * 2
