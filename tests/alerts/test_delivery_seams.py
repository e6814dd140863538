"""The delivery adapters (aiomqtt, smtplib, urllib) translate their library's errors at the seam: a real peer
refuses, and the test checks our error class, that the peer's words are kept, and that no secret shows in the
message, the chained traceback or the log."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import HANG_GUARD_S, free_tcp_port, require
from smtp_peer import USER, SmtpPeer

from alerts.mqtt import MqttEvents, MqttSettings
from alerts.sinks.mail import MailTicketSink, TicketMail
from alerts.sinks.webhook import WebhookTicketSink
from netmon.backlog import RetrySchedule
from netmon.errors import TicketError
from netmon.model import Device, DeviceState, Owner, Role, Secret, Site, Source, Status
from netmon.outbox import Outbox

T0 = 1_767_225_600.0
# secrets in constants: a traceback shows the test's source lines, which must not be what a check finds
MQTT_PASSWORD = "mqtt-pass-31337"
SMTP_PASSWORD = "wrong-smtp-pass-8"
URL_TOKEN = "url-token-5150-abcdef"
SITE = Site("kim-ketenger", "KIM Ketenger", "Ketenger", "Baturraden", "Banyumas")
ROUTER = Device("kim-ketenger-router", "kim-ketenger", Role.ROUTER, "10.20.1.1", (Source.SNMP,), Owner.PEMDA)
MAIL = TicketMail("NETMON-2026-000001.open", "NETMON-2026-000001", "open", "AP mati", "x", T0)


def shown(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


@pytest.fixture
def refusing_broker(tmp_path: Path) -> Iterator[int]:
    """A Mosquitto of our own that refuses every client (no anonymous access, no user known)."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK)
                                           else None)
    require(binary is not None, "`mosquitto` not found; install Debian package `mosquitto`")
    assert binary is not None
    port = free_tcp_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\nlog_dest file {tmp_path}/mosquitto.log\n"
                    + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while "listen socket on port" not in _read(tmp_path / "mosquitto.log"):
            require(proc.poll() is None and time.monotonic() < deadline, "mosquitto did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def test_a_broker_refusing_the_login_is_named_in_the_outbox_error_and_the_log(
        refusing_broker: int, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = MqttSettings(port=refusing_broker, username="netmon", password=Secret(MQTT_PASSWORD), timeout_s=2.0)
    events = MqttEvents(settings, lambda name, deliver: Outbox(name, tmp_path / "spool", deliver,
                                                              retry=RetrySchedule((0.05, 0.1, 0.3))))
    events.device_state(ROUTER, SITE, DeviceState(ROUTER.id, Status.DOWN, T0))
    caplog.set_level(logging.WARNING, logger="alerts.mqtt")

    runner = asyncio.create_task(events.run())
    try:
        async with asyncio.timeout(HANG_GUARD_S):
            while events.stats.last_error is None:
                await asyncio.sleep(0.05)
    finally:
        await events.drain(0.5)
        runner.cancel()

    error = events.stats.last_error
    assert error == "BrokerUnavailable: not connected to the MQTT broker: MqttConnectError: [code:135] Not authorized"
    assert events.stats.pending == 1  # kept for when the broker lets us in
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"MQTT broker 127.0.0.1:{refusing_broker} unavailable" in logged and "Not authorized" in logged
    assert MQTT_PASSWORD not in logged


async def test_smtp_login_refused_keeps_the_servers_answer_without_the_password(smtp_tls_server: SmtpPeer) -> None:
    sink = MailTicketSink(host="127.0.0.1", port=smtp_tls_server.port, sender="netmon@example.invalid",
                          recipient="helpdesk@example.invalid", starttls=True, user=USER,
                          password=Secret(SMTP_PASSWORD), tls_ca_file=smtp_tls_server.ca_file, timeout_s=30)
    with pytest.raises(TicketError) as caught:
        await sink.deliver([MAIL.to_item()])

    assert str(caught.value) == (f"SMTP server 127.0.0.1:{smtp_tls_server.port}: authentication failed for user "
                                 f"{USER!r}: SMTPAuthenticationError 535 5.7.8 Authentication credentials invalid")
    assert SMTP_PASSWORD not in shown(caught.value)
    assert caught.value.__cause__ is not None  # the server does not echo the password: the chain is kept


async def test_webhook_refused_connection_keeps_the_socket_error_without_the_token() -> None:
    sink = WebhookTicketSink(f"http://127.0.0.1:{free_tcp_port()}/hook/{URL_TOKEN}?token={URL_TOKEN}",
                             Secret("signing-key-1"), timeout_s=5)
    with pytest.raises(TicketError) as caught:
        await sink.deliver([MAIL.to_item()])

    assert "ConnectionRefusedError: [Errno 111] Connection refused" in str(caught.value)
    assert URL_TOKEN not in shown(caught.value)
