"""An authentication failure raises an alert of its own, end to end: a real peer refuses the credential (the
RouterOS simulator a wrong password, net-snmp's snmpd a wrong SNMPv3 key), the scheduler logs one line naming
the source and pauses that device, and the alert engine, fed the same PollResult, opens one `auth_failed`
incident per device and source with an Indonesian message; a later poll with that source that succeeds resolves
it. Times come from injected clocks; the scheduler's pause is a gate the test opens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from peers import HANG_GUARD_S, SnmpdAgent

from alerts.engine import AlertEngine, AlertOutput
from alerts.message import render
from collectors.routeros.collector import RouterOsCollector
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.errors import AuthenticationFailed
from netmon.model import (
    Device,
    IncidentKind,
    Owner,
    PollResult,
    Role,
    RouterOsSettings,
    Secret,
    Severity,
    Site,
    SnmpSettings,
    SnmpV3Auth,
    Source,
    Transition,
)
from netmon.scheduler import AUTH_BACKOFF_S, Scheduler
from netmon.simulate.routeros.server import RouterOsSimulator, SimRouter

T0 = 1_767_225_600.0  # 2026-01-01 07:00 WIB
RIGHT, WRONG = "right-password-23", "wrong-password-23"  # constants: a check must not find them in source lines
SITE = Site("kim-karangmangu", "KIM Karangmangu", "Karangmangu", "Baturraden", "Banyumas")


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


class Paused:
    """The scheduler's clock and sleep: a sleep moves the clock on at once, except the pause after a refused
    credential (AUTH_BACKOFF_S or longer), which waits until the test calls `resume`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._gate = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds >= AUTH_BACKOFF_S - 60:
            await self._gate.wait()
            self._gate.clear()
        self.now += seconds

    def resume(self) -> None:
        self._gate.set()


async def until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(HANG_GUARD_S):  # a hang guard, never a speed check
        while not condition():
            await asyncio.sleep(0.01)


def auth_events(outputs: list[AlertOutput]) -> list[tuple[str, Transition]]:
    return [(e.subject, e.transition) for out in outputs for e in out.events if e.rule == "auth_failed"]


def opened(outputs: list[AlertOutput]) -> list[str]:
    return [c.incident.subject for out in outputs for c in out.changes
            if c.kind == "opened" and c.incident.rule == "auth_failed"]


async def test_routeros_wrong_password_raises_one_auth_failed_alert_until_a_login_succeeds(
        executor: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture) -> None:
    sim = RouterOsSimulator()
    await sim.start()
    port = sim.add(SimRouter("kim-karangmangu-router", "7.16", "netmon", RIGHT))
    device = Device("kim-karangmangu-router", SITE.id, Role.ROUTER, "127.0.0.1", (Source.ROUTEROS,), Owner.PEMDA,
                    routeros=RouterOsSettings("netmon", Secret(WRONG), port=port, timeout_s=5.0))
    wall = [T0]
    engine = AlertEngine({device.id: device}, {SITE.id: SITE})
    results: list[PollResult] = []
    outputs: list[AlertOutput] = []

    def on_result(result: PollResult) -> None:
        results.append(result)
        outputs.append(engine.observe_result(result))

    collector = RouterOsCollector(executor, clock=lambda: wall[0])
    paused = Paused()
    scheduler = Scheduler([device], collector.poll, on_result, source=Source.ROUTEROS, jitter_s=0.0,
                          clock=paused.clock, wall=lambda: wall[0], sleep=paused.sleep)
    caplog.set_level(logging.ERROR, logger="netmon.scheduler")
    polling = asyncio.create_task(scheduler.run())
    try:
        await until(lambda: len(results) == 1 and caplog.records)  # the first refused poll
        wall[0] = T0 + AUTH_BACKOFF_S
        paused.resume()  # the pause is over; the password is still wrong
        await until(lambda: len(results) == 2)  # the poll after the pause
        assert all(isinstance(r.error, AuthenticationFailed) for r in results)
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)

    # one log line per refusal, naming RouterOS (not SNMP) and the router's answer, never the password
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == ("device kim-karangmangu-router: RouterOS authentication failed (RouterOS API login refused "
                        "for user 'netmon': invalid user name or password (6)); not polling it over RouterOS for "
                        "1800 s (fix the credential, then restart or wait)")
    assert not any("SNMP" in line or WRONG in line or RIGHT in line for line in lines)

    # one alert, one incident, however many refusals
    subject = "kim-karangmangu-router/routeros"
    assert auth_events(outputs) == [(subject, Transition.FIRING)]
    assert opened(outputs) == [subject]
    (incident,) = [i for i in engine.open_incidents() if i.rule == "auth_failed"]
    assert (incident.kind, incident.severity, incident.owner, incident.device) == (
        IncidentKind.METRIC, Severity.WARNING, Owner.PEMDA, device.id)
    message = render(incident, {device.id: device}, {SITE.id: SITE})
    assert message.subject == "[GANGGUAN] Login RouterOS API ke Router KIM Karangmangu (Desa Karangmangu, " \
                              "Baturraden) ditolak"
    assert "cocokkan kredensial di konfigurasi netmon" in message.body
    assert "invalid user name or password" in message.body and WRONG not in message.body

    # the credential is fixed: the next RouterOS poll logs in, and the alert resolves
    assert device.routeros is not None
    fixed = replace(device, routeros=replace(device.routeros, password=Secret(RIGHT)))
    wall[0] = T0 + 2 * AUTH_BACKOFF_S
    good = await RouterOsCollector(executor, clock=lambda: wall[0]).poll(fixed)
    await sim.stop()
    assert good.ok, good.error
    resolved = engine.observe_result(good)
    assert auth_events([resolved]) == [(subject, Transition.RESOLVED)]
    (change,) = [c for c in resolved.changes if c.incident.rule == "auth_failed"]
    assert change.kind == "resolved"
    assert render(change.incident, {device.id: device}, {SITE.id: SITE}, kind="resolved").subject.startswith(
        "[SELESAI] Login RouterOS API ke Router KIM Karangmangu")


async def test_snmpv3_wrong_key_raises_auth_failed_for_snmp_and_a_good_poll_resolves_it(
        snmpd_agent: SnmpdAgent) -> None:
    def device(auth_key: str) -> Device:
        auth = SnmpV3Auth(snmpd_agent.v3_user, "sha256", Secret(auth_key), "aes128", Secret(snmpd_agent.v3_priv_key))
        return Device("kim-karangmangu-ap", SITE.id, Role.AP, "127.0.0.1", (Source.SNMP,), Owner.KIM,
                      snmp=SnmpSettings(auth=auth, port=snmpd_agent.port, timeout_s=10.0, retries=0))

    refused_device = device("wrong-auth-key-23")
    engine = AlertEngine({refused_device.id: refused_device}, {SITE.id: SITE})
    collector = SnmpCollector(load_profiles(), clock=lambda: T0)
    try:
        refused = await collector.poll(refused_device)
        first = engine.observe_result(refused)
        again = engine.observe_result(replace(refused, started_at=T0 + 60))
    finally:
        await collector.close()
    assert isinstance(refused.error, AuthenticationFailed), refused.error
    assert auth_events([first, again]) == [("kim-karangmangu-ap/snmp", Transition.FIRING)]
    (incident,) = [i for i in engine.open_incidents() if i.rule == "auth_failed"]
    assert incident.owner is Owner.KIM
    message = render(incident, {refused_device.id: refused_device}, {SITE.id: SITE})
    assert message.subject == "[GANGGUAN] Login SNMP ke AP KIM Karangmangu (Desa Karangmangu, Baturraden) ditolak"
    assert "WrongDigest" in message.body and "wrong-auth-key-23" not in message.body

    good_collector = SnmpCollector(load_profiles(), clock=lambda: T0 + 120)
    try:
        good = await good_collector.poll(device(snmpd_agent.v3_auth_key))
    finally:
        await good_collector.close()
    assert good.ok, good.error
    assert auth_events([engine.observe_result(good)]) == [("kim-karangmangu-ap/snmp", Transition.RESOLVED)]
