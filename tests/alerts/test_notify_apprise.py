"""The apprise notifier against a real SMTP server (aiosmtpd on loopback) and a real HTTP server (apprise's
json:// service): plain and STARTTLS+AUTH mailto URLs, batch failures the outbox retries, retries that do not
re-send, secrets kept out of errors and logs, and each message kind's notify type (a recovery is `success`)."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest
from alert_day import fleet, wib
from http_peer import HttpPeer
from peers import free_tcp_port
from smtp_peer import PASSWORD, USER, SmtpPeer

from alerts.incident import incident_id
from alerts.message import Message, render
from alerts.notify import NOTIFICATION_ID_HEADER, Notification, NotificationRejected, Notifier
from netmon.errors import ConfigError, NotifyError
from netmon.model import Incident, Owner, Secret, Severity

pytestmark = pytest.mark.integration

FROM, TO = "netmon@kominfo.example", "diskominfo-ops@kominfo.example"


def mailto(port: int) -> Secret:
    """apprise email URL for a plain SMTP server: host:port, mode=insecure (no TLS), from= and to=."""
    return Secret(f"mailto://127.0.0.1:{port}?mode=insecure&from={FROM}&to={TO}")


def mailtos(port: int, password: str) -> Secret:
    """STARTTLS + AUTH; verify=no because the test server's certificate is self-signed."""
    return Secret(f"mailtos://{USER}:{password}@127.0.0.1:{port}?mode=starttls&verify=no&from={FROM}&to={TO}")


DOWN = Notification("inc-42.firing.email", "email", "KIM Ketenger: router mati",
                    "Router kim-ketenger-router tidak merespons sejak 08:00 WIB.", "critical")


async def test_notification_email_reaches_the_smtp_server_with_a_stable_id_header(smtp_server: SmtpPeer) -> None:
    await Notifier({"email": mailto(smtp_server.port)}).deliver([DOWN.to_item()])

    (msg,) = smtp_server.handler.messages
    assert msg["Subject"] == DOWN.subject
    assert msg["From"] == FROM and msg["To"] == TO
    assert msg[NOTIFICATION_ID_HEADER] == DOWN.id
    assert DOWN.body in msg.get_content()
    assert smtp_server.handler.envelopes == [(FROM, [TO])]


async def test_starttls_with_auth_delivers(smtp_tls_server: SmtpPeer) -> None:
    await Notifier({"ops": mailtos(smtp_tls_server.port, PASSWORD)}).deliver(
        [Notification("n-1", "ops", "AP pulih", "kim-ketenger-ap kembali normal.", "success").to_item()])

    assert [m["Subject"] for m in smtp_tls_server.handler.messages] == ["AP pulih"]


async def test_wrong_password_raises_notify_error_naming_only_the_channel(
        smtp_tls_server: SmtpPeer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    notifier = Notifier({"ops": mailtos(smtp_tls_server.port, "wrong-pass-xyz")})

    with pytest.raises(NotifyError) as caught:
        await notifier.deliver([Notification("n-2", "ops", "s", "b", "warning").to_item()])

    assert "via ops" in str(caught.value)
    assert "wrong-pass-xyz" not in str(caught.value)
    assert "wrong-pass-xyz" not in caplog.text
    assert smtp_tls_server.handler.messages == []


async def test_smtp_server_down_raises_notify_error_so_the_outbox_retries() -> None:
    with pytest.raises(NotifyError, match=re.escape("1 of 1 notifications failed: inc-42.firing.email via email")):
        await Notifier({"email": mailto(free_tcp_port())}).deliver([DOWN.to_item()])


async def test_batch_retry_does_not_resend_what_was_already_accepted(smtp_server: SmtpPeer) -> None:
    down_port = free_tcp_port()
    notifier = Notifier({"email": mailto(smtp_server.port), "backup": mailto(down_port)})
    batch = [DOWN.to_item(), Notification("inc-42.firing.backup", "backup", "s", "b", "critical").to_item()]

    with pytest.raises(NotifyError, match=re.escape("inc-42.firing.backup via backup")):
        await notifier.deliver(batch)
    await notifier.deliver([batch[0]])  # the outbox retries; the first one was accepted already

    assert [m[NOTIFICATION_ID_HEADER] for m in smtp_server.handler.messages] == [DOWN.id]


async def test_unknown_channel_is_rejected_naming_the_item_before_anything_is_sent(smtp_server: SmtpPeer) -> None:
    notifier = Notifier({"email": mailto(smtp_server.port)})
    stray = Notification("n-9", "sms", "s", "b", "info")

    with pytest.raises(NotificationRejected) as caught:
        await notifier.deliver([DOWN.to_item(), stray.to_item()])

    assert caught.value.item_id == "n-9"
    assert smtp_server.handler.messages == []


def test_malformed_item_is_rejected() -> None:
    with pytest.raises(NotificationRejected) as caught:
        Notification.from_item({"id": "n-3", "channel": "email"})
    assert caught.value.item_id == "n-3"


def test_notification_round_trips_through_an_outbox_item() -> None:
    assert Notification.from_item(DOWN.to_item()) == DOWN


def test_telegram_url_is_accepted() -> None:
    notifier = Notifier({"telegram": Secret("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890")})
    assert notifier.channels == {"telegram"}


@pytest.mark.parametrize("url", [
    pytest.param("nosuchscheme://token-abc-123@example", id="unknown-scheme"),
    pytest.param("tgram://token-abc-123/", id="telegram-without-valid-bot-token"),
])
def test_unusable_channel_url_is_a_config_error_naming_the_channel_only(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Notifier({"diskominfo": Secret(url)})

    assert caught.value.key == "channels.diskominfo"
    assert "token-abc-123" not in str(caught.value)


# --- what each message kind looks like to the service: a real apprise json:// channel and a real mail server ---

def _messages(language: str) -> list[tuple[str, Message]]:
    """Opened, escalated, acknowledged and resolved messages of one government AP failing (rendered as the
    daemon renders them), in `language`."""
    sites, devices = fleet()
    opened = wib("10:01")
    base = Incident(incident_id("device_down", "kim-ketenger-ap", opened), "device_down", "kim-ketenger-ap",
                    "device", Severity.CRITICAL, opened, Owner.PEMDA, "Banyumas", "Baturraden", "ketenger",
                    "kim-ketenger-ap")
    steps = {"opened": base, "escalated": replace(base, escalated_at=wib("10:31")),
             "acknowledged": replace(base, acknowledged_at=wib("10:40"), acknowledged_by="teknisi-budi"),
             "resolved": replace(base, resolved_at=wib("11:02"))}
    return [(kind, render(incident, devices, sites, language=language, kind=kind)) for kind, incident in steps.items()]


def _notes(channel: str, language: str) -> list[Notification]:
    return [Notification(f"inc.{kind}.{channel}", channel, message.subject, message.body, message.notify_type)
            for kind, message in _messages(language)]


async def test_json_channel_gets_failure_for_problems_info_for_acks_and_success_for_recoveries(
        http_server: HttpPeer) -> None:
    await Notifier({"noc": Secret(f"json://127.0.0.1:{http_server.port}/notify")}).deliver(
        [note.to_item() for note in _notes("noc", "en")])

    got = [r.json() for r in http_server.received]
    assert [(g["type"], g["title"]) for g in got] == [
        ("failure", "[PROBLEM] AP KIM Ketenger (Desa Ketenger, Baturraden) unreachable"),
        ("failure", "[ESCALATED] AP KIM Ketenger (Desa Ketenger, Baturraden) unreachable"),
        ("info", "[ACKNOWLEDGED] AP KIM Ketenger (Desa Ketenger, Baturraden) unreachable"),
        ("success", "[RECOVERED] AP KIM Ketenger (Desa Ketenger, Baturraden) reachable again"),
    ]
    assert "Recovered: 12 May 2026 11:02:00 WIB (duration 1 h 1 min)" in got[3]["message"]


async def test_notification_mail_subjects_are_the_human_subjects(smtp_server: SmtpPeer) -> None:
    await Notifier({"email": mailto(smtp_server.port)}).deliver([n.to_item() for n in _notes("email", "id")])

    assert [m["Subject"] for m in smtp_server.handler.messages] == [
        "[GANGGUAN] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
        "[ESKALASI] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
        "[DITANGANI] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
        "[PULIH] AP KIM Ketenger (Desa Ketenger, Baturraden) kembali terjangkau",
    ]
    assert "Perangkat: kim-ketenger-ap (access point, milik Pemda)" in smtp_server.handler.messages[0].get_content()
