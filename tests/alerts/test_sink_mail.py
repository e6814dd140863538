"""Ticket mail against a real SMTP server (aiosmtpd on loopback): threading headers, stable
Message-IDs, STARTTLS + AUTH with a self-signed certificate, and failures the outbox must retry."""

from __future__ import annotations

from typing import Any

import pytest
from peers import free_tcp_port
from smtp_peer import PASSWORD, USER, SmtpPeer

from alerts.sinks import TicketRejected
from alerts.sinks.mail import MailTicketSink, TicketMail, build_message, id_left
from netmon.errors import ConfigError, TicketError
from netmon.model import Secret

DOMAIN = "netmon.kominfo.example"


def sink(port: int, **overrides: Any) -> MailTicketSink:
    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "sender": "netmon@kominfo.example",
                               "recipient": "helpdesk@kominfo.example", "starttls": False, "user": None,
                               "password": None, "domain": DOMAIN, "timeout_s": 5}
    options.update(overrides)
    return MailTicketSink(**options)


TICKET = "NETMON-2026-000123"
OPEN = TicketMail(f"{TICKET}.open", TICKET, "open", "Router KIM Ketenger mati", "Router tidak merespons sejak 08:00.",
                  1_780_000_000.0)
UPDATE = TicketMail(f"{TICKET}.update.1", TICKET, "update", "Router KIM Ketenger mati",
                    "Masih mati; teknisi dijadwalkan.", 1_780_003_600.0)
RESOLVE = TicketMail(f"{TICKET}.resolve", TICKET, "resolve", "Router KIM Ketenger pulih", "Pulih pukul 11:30.",
                     1_780_012_600.0)


pytestmark = pytest.mark.integration


async def test_open_update_and_resolve_thread_under_the_first_mail(smtp_server: SmtpPeer) -> None:
    await sink(smtp_server.port).deliver([OPEN.to_item(), UPDATE.to_item(), RESOLVE.to_item()])

    opened, updated, resolved = smtp_server.handler.messages
    root = f"<{TICKET}.open@{DOMAIN}>"
    assert opened["Message-ID"] == root
    assert opened["In-Reply-To"] is None and opened["References"] is None
    assert updated["Message-ID"] == f"<{TICKET}.update.1@{DOMAIN}>"
    assert resolved["Message-ID"] == f"<{TICKET}.resolve@{DOMAIN}>"
    for follow_up in (updated, resolved):
        assert follow_up["In-Reply-To"] == root
        assert follow_up["References"] == root
    for msg, mail in zip((opened, updated, resolved), (OPEN, UPDATE, RESOLVE), strict=True):
        assert msg["Subject"] == f"[{TICKET}] {mail.subject}"
        assert msg["X-Netmon-Ticket"] == TICKET
        assert msg["X-Netmon-Event"] == mail.kind
        assert msg["X-Netmon-Delivery"] == mail.id
        assert msg["Date"].datetime.timestamp() == mail.at
        assert msg.get_content().strip() == mail.body
    assert smtp_server.handler.envelopes[0] == ("netmon@kominfo.example", ["helpdesk@kominfo.example"])


async def test_resending_an_item_produces_the_same_message(smtp_server: SmtpPeer) -> None:
    mail_sink = sink(smtp_server.port)
    await mail_sink.deliver([UPDATE.to_item()])
    await mail_sink.deliver([UPDATE.to_item()])  # the outbox retried the batch

    first, second = smtp_server.handler.messages
    assert first["Message-ID"] == second["Message-ID"] == f"<{TICKET}.update.1@{DOMAIN}>"
    assert first.as_bytes() == second.as_bytes()


async def test_starttls_with_auth_delivers_to_a_server_with_a_self_signed_certificate(
        smtp_tls_server: SmtpPeer) -> None:
    mail_sink = sink(smtp_tls_server.port, starttls=True, user=USER, password=Secret(PASSWORD),
                     tls_ca_file=smtp_tls_server.ca_file)
    await mail_sink.deliver([OPEN.to_item()])

    assert [m["Message-ID"] for m in smtp_tls_server.handler.messages] == [f"<{TICKET}.open@{DOMAIN}>"]


async def test_wrong_password_raises_ticket_error_that_does_not_show_the_password(
        smtp_tls_server: SmtpPeer) -> None:
    mail_sink = sink(smtp_tls_server.port, starttls=True, user=USER, password=Secret("wrong-pass-123"),
                     tls_ca_file=smtp_tls_server.ca_file)
    with pytest.raises(TicketError) as caught:
        await mail_sink.deliver([OPEN.to_item()])

    assert not isinstance(caught.value, TicketRejected)
    assert "authentication failed" in str(caught.value)
    assert "wrong-pass-123" not in str(caught.value) and "wrong-pass-123" not in repr(mail_sink)
    assert smtp_tls_server.handler.messages == []


async def test_untrusted_certificate_fails_the_batch(smtp_tls_server: SmtpPeer) -> None:
    mail_sink = sink(smtp_tls_server.port, starttls=True, user=USER, password=Secret(PASSWORD))

    with pytest.raises(TicketError, match="SSLCertVerificationError"):
        await mail_sink.deliver([OPEN.to_item()])


async def test_smtp_server_down_raises_ticket_error_so_the_outbox_retries() -> None:
    with pytest.raises(TicketError) as caught:
        await sink(free_tcp_port()).deliver([OPEN.to_item()])

    assert not isinstance(caught.value, TicketRejected)
    assert "cannot reach SMTP server 127.0.0.1" in str(caught.value)


async def test_content_refused_with_5xx_is_rejected_naming_the_item(smtp_server: SmtpPeer) -> None:
    bad = TicketMail(f"{TICKET}.update.2", TICKET, "update", "REJECT me", "x", 1_780_004_000.0)

    with pytest.raises(TicketRejected) as caught:
        await sink(smtp_server.port).deliver([OPEN.to_item(), bad.to_item(), RESOLVE.to_item()])

    assert caught.value.item_id == bad.id and caught.value.status == 554
    assert [m["X-Netmon-Delivery"] for m in smtp_server.handler.messages] == [OPEN.id]  # order kept, stopped


async def test_malformed_item_is_rejected_before_anything_is_sent(smtp_server: SmtpPeer) -> None:
    with pytest.raises(TicketRejected) as caught:
        await sink(smtp_server.port).deliver([OPEN.to_item(), {"id": "x1", "ticket_id": TICKET, "kind": "close"}])

    assert caught.value.item_id == "x1"
    assert smtp_server.handler.messages == []


def test_ticket_mail_round_trips_through_an_outbox_item() -> None:
    assert TicketMail.from_item(UPDATE.to_item()) == UPDATE


def test_subject_keeps_an_existing_ticket_tag_and_folds_to_one_line() -> None:
    mail = TicketMail("a", TICKET, "update", f"Re: [{TICKET}] AP\n mati", "b", 0.0)
    msg = build_message(mail, sender="a@b.example", recipient="c@d.example", domain=DOMAIN)
    assert msg["Subject"] == f"Re: [{TICKET}] AP mati"


def test_open_mail_message_id_derives_from_the_ticket_whatever_its_item_id() -> None:
    mail = TicketMail("some-other-id", TICKET, "open", "s", "b", 0.0)
    msg = build_message(mail, sender="a@b.example", recipient="c@d.example", domain=DOMAIN)
    assert msg["Message-ID"] == f"<{TICKET}.open@{DOMAIN}>"


@pytest.mark.parametrize(("raw", "left"), [
    pytest.param("NETMON-2026-000123.open", "NETMON-2026-000123.open", id="plain-id-unchanged"),
    pytest.param("inc:ketenger/router 1", "inc=3Aketenger/router=201", id="colon-and-space-escaped"),
    pytest.param("a=b", "a=3Db", id="escape-char-escaped"),
    pytest.param(".a..b.", "=2Ea=2E=2Eb=2E", id="dots-only-between-atext"),
    pytest.param("desa-ciké", "desa-cik=C3=A9", id="non-ascii-utf8-hex"),
    pytest.param("", "=00", id="empty"),
])
def test_message_id_left_part_is_dot_atom_text(raw: str, left: str) -> None:
    assert id_left(raw) == left


def test_user_without_password_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        sink(25, user="netmon", password=None)
