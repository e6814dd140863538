"""The report mail sink (alerts/sinks/report_mail.py) against a real SMTP server (aiosmtpd on loopback): the files
arrive as attachments, byte for byte; a mail sent again is the same mail (Message-ID, Date); a mail refused for
good is dropped without holding back the rest; a batch cut short acknowledges what got through."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from smtp_peer import PASSWORD, USER, Collector, RestartableSmtp, SmtpPeer

from alerts.sinks.mail import SmtpServer
from alerts.sinks.report_mail import (
    Attachment,
    MailReportSink,
    ReportMail,
    ReportMailQueue,
    build_report_message,
    report_mail_sink,
)
from netmon.config.alerting import AlertsConfig, AlertSettings, MailConfig, TicketsConfig
from netmon.config.report import ReportConfig, ReportMailServer, ReportSchedule
from netmon.errors import NotifyError, PartialDelivery
from netmon.model import Secret

pytestmark = pytest.mark.integration
FROM = "netmon@diskominfo.example.go.id"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40  # binary content survives base64 and MIME
XLSX = b"PK\x03\x04" + bytes(reversed(range(256))) * 20


def mail(recipient: str = "kabid@diskominfo.example.go.id", subject: str = "Laporan Kondisi Aset: November 2026",
         month: str = "2026-11") -> ReportMail:
    return ReportMail(f"report/{month}/banyumas/{recipient}", recipient, subject, "Terlampir laporan.",
                      1_796_083_200.0, (Attachment(f"laporan-aset-{month}-banyumas.pdf", PDF),
                                        Attachment(f"laporan-aset-{month}-banyumas.xlsx", XLSX)))


def sink(port: int, **server: Any) -> MailReportSink:
    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "starttls": False, "user": None,
                               "password": None, "domain": "netmon.diskominfo.example.go.id", "timeout_s": 5,
                               "error": NotifyError} | server
    return MailReportSink(SmtpServer(**options), FROM)


class Later(Collector):
    """Answers 451 (try again later) to a mail whose subject says LATER."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if b"LATER" in envelope.original_content.split(b"\r\n\r\n", 1)[0]:
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp() -> Iterator[RestartableSmtp]:
    server = RestartableSmtp()
    server.handler = Later()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_same_item_is_the_same_message_with_a_message_id_from_its_id() -> None:
    item = json.loads(json.dumps(mail().to_item()))  # as the outbox's journal gives it back
    again = ReportMail.from_item(item)
    assert again == mail()
    first = build_report_message(mail(), sender=FROM, domain="netmon.example")
    second = build_report_message(again, sender=FROM, domain="netmon.example")
    assert first.as_bytes() == second.as_bytes()
    assert first["Message-ID"] == "<report/2026-11/banyumas/kabid=40diskominfo.example.go.id@netmon.example>"
    assert first["Date"] == "Tue, 01 Dec 2026 00:00:00 +0000"  # 07:00 WIB
    assert [(p.get_filename(), p.get_content_type()) for p in first.iter_attachments()] == [
        ("laporan-aset-2026-11-banyumas.pdf", "application/pdf"),
        ("laporan-aset-2026-11-banyumas.xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]


async def test_the_files_arrive_byte_for_byte_over_starttls_with_login(smtp_tls_server: SmtpPeer) -> None:
    tls = sink(smtp_tls_server.port, starttls=True, user=USER, password=Secret(PASSWORD),
               tls_ca_file=smtp_tls_server.ca_file)
    queued: list[dict[str, Any]] = []

    class Box:
        def put(self, item: dict[str, Any]) -> None:
            queued.append(json.loads(json.dumps(item)))

    ReportMailQueue(Box()).post(id="report/2026-11/banyumas/a@x.go.id", recipient="a@x.go.id", subject="Laporan",
                                body="Terlampir.", at=1_796_083_200.0,
                                attachments=[("a.pdf", PDF), ("a.xlsx", XLSX)])
    await tls.deliver(queued)
    [received] = smtp_tls_server.handler.messages
    assert smtp_tls_server.handler.envelopes == [(FROM, ["a@x.go.id"])]
    files = {p.get_filename(): p.get_content() for p in received.iter_attachments()}
    assert files == {"a.pdf": PDF, "a.xlsx": XLSX}
    assert received["X-Netmon-Delivery"] == "report/2026-11/banyumas/a@x.go.id"
    assert base64.b64encode(PDF).decode() in json.dumps(queued)  # the journal holds the files themselves


async def test_a_mail_refused_for_good_is_dropped_and_the_rest_go_out(smtp: RestartableSmtp,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    batch = [mail("a@x.go.id").to_item(), mail("b@x.go.id", subject="REJECT me").to_item(),
             mail("c@x.go.id").to_item()]
    await sink(smtp.port).deliver(batch)
    assert [m["To"] for m in smtp.messages] == ["a@x.go.id", "c@x.go.id"]
    assert "report/2026-11/banyumas/b@x.go.id refused for good" in caplog.text and "554" in caplog.text


async def test_a_batch_cut_short_acknowledges_the_mails_already_accepted(smtp: RestartableSmtp) -> None:
    batch = [mail("a@x.go.id").to_item(), mail("b@x.go.id", subject="LATER").to_item(), mail("c@x.go.id").to_item()]
    with pytest.raises(PartialDelivery) as raised:
        await sink(smtp.port).deliver(batch)
    assert raised.value.delivered == 1 and "451" in str(raised.value)
    assert [m["To"] for m in smtp.messages] == ["a@x.go.id"]
    with pytest.raises(NotifyError) as first:  # the first mail of a batch: nothing to acknowledge
        await sink(smtp.port).deliver(batch[1:])
    assert not isinstance(first.value, PartialDelivery)


async def test_a_server_away_is_a_retryable_error_naming_it(smtp: RestartableSmtp) -> None:
    smtp.stop()
    with pytest.raises(NotifyError, match=f"cannot reach SMTP server 127.0.0.1:{smtp.port}"):
        await sink(smtp.port).deliver([mail().to_item()])


def test_the_schedule_uses_its_own_server_or_else_the_ticket_mails() -> None:
    schedule = ReportSchedule(recipients=["kabid@x.go.id"])
    tickets = AlertSettings(AlertsConfig(tickets=TicketsConfig(mail=MailConfig(
        host="smtp.x.go.id", port=465, sender="netmon@x.go.id", recipient="helpdesk@x.go.id", starttls=False,
        implicit_tls=True, user="netmon", domain="netmon.x.go.id"))), {"mail.password": Secret("pw")})
    shared = report_mail_sink(ReportConfig(schedule=schedule), {}, tickets)
    assert shared is not None and (shared.server.host, shared.server.port, shared.sender) == (
        "smtp.x.go.id", 465, "netmon@x.go.id")
    assert shared.server.implicit_tls and shared.server.domain == "netmon.x.go.id"
    own = ReportConfig(schedule=schedule.model_copy(update={"mail": ReportMailServer(
        host="relay.x.go.id", sender="laporan@x.go.id", starttls=True)}))
    mine = report_mail_sink(own, {}, tickets)
    assert mine is not None and (mine.server.host, mine.server.port, mine.sender) == (
        "relay.x.go.id", 587, "laporan@x.go.id")
    assert report_mail_sink(ReportConfig(), {}, tickets) is None
