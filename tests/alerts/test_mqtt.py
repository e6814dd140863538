"""MQTT events against a real Mosquitto: topics, payloads, retained state, broker away, daemon restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from peers import HANG_GUARD_S, require

from alerts import topic
from alerts.mqtt import MqttEvents, MqttSettings
from netmon.backlog import RetrySchedule
from netmon.model import (
    Cause,
    Contact,
    Device,
    DeviceState,
    Incident,
    Outage,
    Owner,
    Role,
    Secret,
    Severity,
    Site,
    SnmpSettings,
    SnmpV2cAuth,
    Source,
    Status,
    Ticket,
)
from netmon.outbox import Outbox

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z

SITE = Site("kim-ketenger", "KIM Ketenger", "Ketenger", "Baturraden", "Banyumas", -7.3, 109.2,
            Contact("Bu Sri", "+62 812 0000 0000", "sri@example.invalid"))
ROUTER = Device("kim-ketenger-router", "kim-ketenger", Role.ROUTER, "10.20.1.1", (Source.SNMP,), Owner.PEMDA,
                snmp=SnmpSettings(SnmpV2cAuth(Secret("community-s3cret"))))
DOWN = DeviceState("kim-ketenger-router", Status.DOWN, T0, consecutive_failures=3, last_error="DeviceUnreachable",
                   last_good_poll=T0 - 60)


def incident(n: int = 1, kind: str = "device", **changes: Any) -> Incident:
    base = Incident(f"inc-{n}", "device_down", "kim-ketenger-router", kind, Severity.CRITICAL, T0 + n, Owner.PEMDA,
                    "Banyumas", "Baturraden", site="kim-ketenger", device="kim-ketenger-router",
                    acknowledged_by="operator-budi", summary="kim-ketenger-router is down")
    return replace(base, **changes)


TICKET = Ticket("NETMON-2026-000001", "inc-1", "open", T0 + 5, T0 + 5, (("helpdesk", "HD-42"),))


# --- topics and payloads (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Banyumas", "banyumas"),
    ("Kab. Banyumas", "kab-banyumas"),
    ("KIM Sumber/Rejeki #2 +", "kim-sumber-rejeki-2"),
    ("Cilongok Ñusa  Indah", "cilongok-nusa-indah"),
    ("---", "unknown"),
], ids=["plain", "dot-space", "mqtt-wildcards-and-slash", "accent", "empty"])
def test_topic_segments_are_slugs(text: str, expected: str) -> None:
    assert topic.slug(text) == expected


@pytest.mark.parametrize(("inc", "expected"), [
    (incident(), "netmon/banyumas/kim-ketenger/kim-ketenger-router/incident"),
    (incident(kind="metric"), "netmon/banyumas/kim-ketenger/kim-ketenger-router/incident"),
    (incident(kind="site", device=None, subject="kim-ketenger"), "netmon/banyumas/kim-ketenger/incident"),
    (incident(kind="area", site=None, device=None, subject="kecamatan:Baturraden"),
     "netmon/banyumas/area/baturraden/incident"),
], ids=["device", "metric-on-device", "site", "area"])
def test_incidents_live_under_their_device_site_or_area_and_tickets_next_to_them(inc: Incident,
                                                                                 expected: str) -> None:
    assert topic.incident_event("netmon", inc)["topic"] == expected
    assert topic.ticket_event("netmon", TICKET, inc)["topic"] == expected.removesuffix("incident") + "ticket"


def test_a_site_called_area_cannot_shadow_area_incidents() -> None:
    assert topic.site_topic("netmon", "Banyumas", "Area") == "netmon/banyumas/site-area"


def test_payloads_carry_no_secrets_addresses_contacts_or_operator_names() -> None:
    events = [topic.device_state_event("netmon", ROUTER, SITE, DOWN),
              topic.outage_event("netmon", ROUTER, SITE, Outage("out-1", ROUTER.id, SITE.id, T0, Cause.DEVICE)),
              topic.incident_event("netmon", incident()), topic.ticket_event("netmon", TICKET, incident())]
    text = json.dumps(events)
    for leak in ("community-s3cret", "10.20.1.1", "Bu Sri", "+62 812", "sri@example", "operator-budi"):
        assert leak not in text


def test_the_same_event_has_the_same_id_and_a_changed_one_a_new_id() -> None:
    first = topic.device_state_event("netmon", ROUTER, SITE, DOWN, now=T0)
    again = topic.device_state_event("netmon", ROUTER, SITE, DOWN, now=T0 + 99)
    up = topic.device_state_event("netmon", ROUTER, SITE, replace(DOWN, status=Status.UP), now=T0)
    assert first["id"] == again["id"] == first["payload"]["id"] != up["id"]


# --- real broker ------------------------------------------------------------------------------------------


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.access(p, os.X_OK)), None)


class OwnBroker:
    """A Mosquitto of our own on a fixed free port, with persistence so that it can be stopped and started again
    without losing a subscriber's session."""

    def __init__(self, work: Path) -> None:
        binary = mosquitto_path()
        require(binary is not None, "`mosquitto` not found; install Debian package `mosquitto`")
        assert binary is not None
        self.binary = binary
        self.work = work
        self.port = free_tcp_port()
        self.conf = work / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence true",
                 f"persistence_location {work}/", f"log_dest file {work}/mosquitto.log"]
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise it drops to `mosquitto`, who cannot write the persistence file
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + HANG_GUARD_S
        while not port_open(self.port):
            log = self.work / "mosquitto.log"
            require(self.proc.poll() is None and time.monotonic() < deadline,
                    f"mosquitto did not start: {log.read_text()[-500:] if log.exists() else ''}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    work = tmp_path / "broker"
    work.mkdir()
    broker = OwnBroker(work)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class Broker:
    host: str
    port: int


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """The system Mosquitto on 127.0.0.1:1883 when it answers, else one of our own."""
    if port_open(1883):
        yield Broker("127.0.0.1", 1883)
        return
    work = tmp_path / "broker"
    work.mkdir()
    own = OwnBroker(work)
    own.start()
    try:
        yield Broker("127.0.0.1", own.port)
    finally:
        own.stop()


@pytest.fixture
def prefix() -> str:
    return f"netmon-test-{uuid.uuid4().hex[:12]}"


def settings(broker_port: int, prefix: str, host: str = "127.0.0.1", **changes: Any) -> MqttSettings:
    base = MqttSettings(host=host, port=broker_port, prefix=prefix, client_id=f"{prefix}-daemon", timeout_s=2.0)
    return replace(base, **changes)


def events_in(settings: MqttSettings, spool: Path) -> MqttEvents:
    """MqttEvents over a real outbox in `spool`, retrying fast (0.05, 0.1, 0.3 s) so the tests stay short."""
    return MqttEvents(settings, lambda name, deliver: Outbox(name, spool, deliver,
                                                            retry=RetrySchedule((0.05, 0.1, 0.3))))


@contextlib.asynccontextmanager
async def subscriber(port: int, prefix: str, *, identifier: str | None = None,
                     clean_session: bool = True) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client("127.0.0.1", port, identifier=identifier or f"{prefix}-sub-{uuid.uuid4().hex[:6]}",
                              clean_session=clean_session, timeout=30) as client:
        await client.subscribe(f"{prefix}/#", qos=1)
        yield client


async def receive(client: aiomqtt.Client, count: int, prefix: str, timeout_s: float = HANG_GUARD_S,
                  keep: Callable[[aiomqtt.Message], bool] | None = None) -> list[aiomqtt.Message]:
    """The next `count` event messages (the daemon's own status topic is skipped)."""
    got: list[aiomqtt.Message] = []
    status = topic.status_topic(prefix)
    async with asyncio.timeout(timeout_s):
        async for message in client.messages:
            if message.topic.value != status and (keep is None or keep(message)):
                got.append(message)
                if len(got) == count:
                    break
    return got


def payload(message: aiomqtt.Message) -> dict[str, Any]:
    assert isinstance(message.payload, bytes | bytearray)
    return dict(json.loads(message.payload))


async def clear_retained(port: int, topics: list[str]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, timeout=30) as client:
        for name in topics:
            await client.publish(name, b"", qos=1, retain=True)


async def wait_until(predicate: Callable[[], bool], timeout_s: float = HANG_GUARD_S) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.mark.integration
async def test_state_is_retained_so_a_late_subscriber_still_gets_it(broker: Broker, prefix: str,
                                                                    tmp_path: Path) -> None:
    events = events_in(settings(broker.port, prefix, broker.host), tmp_path / "spool")
    state_topic = f"{prefix}/banyumas/kim-ketenger/kim-ketenger-router/state"
    try:
        events.device_state(ROUTER, SITE, DOWN)
        await events.drain(HANG_GUARD_S)
        assert events.stats.pending == 0 and events.stats.delivered_total == 1
        async with subscriber(broker.port, prefix) as late:  # subscribes after the publish
            [message] = await receive(late, 1, prefix)
        assert message.topic.value == state_topic and message.retain and message.qos == 1
        body = payload(message)
        assert body["schema"] == 1 and body["event"] == "device_state" and body["id"].startswith("device_state/")
        assert body["status"] == "down" and body["since"] == "2026-01-01T00:00:00Z" and body["since_unix"] == T0
        assert (body["device"], body["site"], body["site_name"], body["desa"], body["kecamatan"],
                body["kabupaten"]) == ("kim-ketenger-router", "kim-ketenger", "KIM Ketenger", "Ketenger",
                                       "Baturraden", "Banyumas")
    finally:
        await clear_retained(broker.port, [state_topic, topic.status_topic(prefix)])


@pytest.mark.integration
async def test_a_device_back_up_publishes_no_last_error(broker: Broker, prefix: str, tmp_path: Path) -> None:
    """The state keeps the last error after a recovery (for history); the MQTT state of an `up` device says none,
    while `degraded` and `down` carry it."""
    events = events_in(settings(broker.port, prefix, broker.host), tmp_path / "spool")
    state_topic = f"{prefix}/banyumas/kim-ketenger/kim-ketenger-router/state"
    recovered = replace(DOWN, status=Status.UP, since=T0 + 300, consecutive_failures=0, last_good_poll=T0 + 300)
    degraded = replace(DOWN, status=Status.DEGRADED)
    try:
        async with subscriber(broker.port, prefix) as live:
            for state in (DOWN, recovered, degraded):
                events.device_state(ROUTER, SITE, state)
            await events.drain(10)
            messages = await receive(live, 3, prefix)
        assert [(payload(m)["status"], payload(m)["last_error"]) for m in messages] == [
            ("down", "DeviceUnreachable"), ("up", None), ("degraded", "DeviceUnreachable")]
    finally:
        await clear_retained(broker.port, [state_topic, topic.status_topic(prefix)])


@pytest.mark.integration
async def test_incident_and_ticket_events_arrive_on_the_documented_topics(broker: Broker, prefix: str,
                                                                          tmp_path: Path) -> None:
    events = events_in(settings(broker.port, prefix, broker.host), tmp_path / "spool")
    runner = asyncio.create_task(events.run())
    try:
        async with subscriber(broker.port, prefix) as sub:
            await wait_until(lambda: events.connected)
            events.outage(ROUTER, SITE, Outage("out-1", ROUTER.id, SITE.id, T0, Cause.SITE))
            events.incident(incident())
            events.ticket(TICKET, incident())
            events.incident(incident(resolved_at=T0 + 600))
            got = await receive(sub, 4, prefix)
        await events.drain(HANG_GUARD_S)
        await asyncio.wait_for(runner, HANG_GUARD_S)
    finally:
        await clear_retained(broker.port, [topic.status_topic(prefix)])
    base = f"{prefix}/banyumas/kim-ketenger/kim-ketenger-router"
    assert [m.topic.value for m in got] == [f"{base}/outage", f"{base}/incident", f"{base}/ticket",
                                           f"{base}/incident"]
    assert not any(m.retain for m in got)
    outage, opened, ticket, resolved = (payload(m) for m in got)
    assert (outage["cause"], outage["open"], outage["started_at"]) == ("site", True, "2026-01-01T00:00:00Z")
    assert (opened["incident"], opened["state"], opened["severity"], opened["kind"]) == (
        "inc-1", "open", "critical", "device")
    assert (resolved["state"], resolved["resolved_at_unix"]) == ("resolved", T0 + 600)
    assert opened["id"] != resolved["id"]
    assert (ticket["ticket"], ticket["incident"], ticket["state"], ticket["refs"]) == (
        "NETMON-2026-000001", "inc-1", "open", {"helpdesk": "HD-42"})


@pytest.mark.integration
async def test_events_published_while_the_broker_is_away_arrive_in_order_when_it_returns(
        own_broker: OwnBroker, prefix: str, tmp_path: Path) -> None:
    sub_id = f"{prefix}-persistent-sub"
    async with subscriber(own_broker.port, prefix, identifier=sub_id, clean_session=False):
        pass  # a persistent session: the broker queues QoS 1 events for it while it is away
    events = events_in(settings(own_broker.port, prefix, timeout_s=0.3), tmp_path / "spool")
    runner = asyncio.create_task(events.run())
    try:
        events.incident(incident(0))
        await wait_until(lambda: events.stats.delivered_total == 1)

        own_broker.stop()
        await wait_until(lambda: not events.connected)
        for n in range(1, 8):
            events.incident(incident(n))
        await wait_until(lambda: events.stats.failures_total >= 2)  # publishing failed, reconnects too
        assert events.stats.pending == 7 and events.stats.delivered_total == 1 and not events.stats.available

        own_broker.start()  # same port, same persistence file
        await wait_until(lambda: events.stats.pending == 0)
        assert events.connected and events.stats.available
        async with subscriber(own_broker.port, prefix, identifier=sub_id, clean_session=False) as sub:
            got = await receive(sub, 8, prefix)
    finally:
        await events.drain(2)  # everything was delivered; on a failure above, do not wait long
        await asyncio.wait_for(runner, HANG_GUARD_S)
    ids = [payload(m)["incident"] for m in got]
    first_seen = list(dict.fromkeys(ids))  # at-least-once: a duplicate may appear, never a reordering
    assert first_seen == [f"inc-{n}" for n in range(8)]


@pytest.mark.integration
async def test_a_restarted_daemon_publishes_what_the_old_one_had_pending(broker: Broker, prefix: str,
                                                                         tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    nowhere = free_tcp_port()  # nothing listens here: the first daemon cannot publish
    old = events_in(settings(nowhere, prefix, timeout_s=0.3), spool)
    for n in range(5):
        old.incident(incident(n))
    await old.drain(0.5)
    assert old.stats.pending == 5 and old.stats.delivered_total == 0

    async with subscriber(broker.port, prefix) as sub:
        new = events_in(settings(broker.port, prefix, broker.host), spool)
        assert new.stats.pending == 5
        new.incident(incident(5))
        await new.drain(HANG_GUARD_S)
        got = await receive(sub, 6, prefix)
    await clear_retained(broker.port, [topic.status_topic(prefix)])
    assert [payload(m)["incident"] for m in got] == [f"inc-{n}" for n in range(6)]
    assert new.stats.pending == 0
