"""The scheduled asset condition report, by mail: one mail per recipient with the report's files attached, sent
over SMTP (stdlib smtplib/email, through `alerts.sinks.mail.SmtpServer`) from a durable outbox named
`report-mail`.

This module knows nothing of the report (alerts/ never imports netmon.report): the daemon's report schedule
(netmon.report.schedule) hands it built files as bytes through `ReportMailQueue.post`, which puts one JSON item
per mail in the outbox (the files base64-encoded in the item, so the outbox's journal keeps them across a
restart or an SMTP outage). `MailReportSink.deliver` is the outbox's deliver callable.

- The item's `id` is the idempotency key, stable per (month, scope, recipient): ``report/2026-11/banyumas/
  kabid@example.go.id``. The Message-ID derives from it (``<report/2026-11/...@domain>`` with `id_left`) and
  the Date header from the item's `at`, so a mail sent again after a crash (the outbox is at-least-once) is
  the same mail, and receivers that dedupe by Message-ID drop the copy.
- The server is `report.schedule.mail`, or the ticket mail's (`alerts.tickets.mail`) when that is not given:
  one SMTP account for everything the daemon mails, as most Diskominfo have.
- Failures to reach or log in to the server, 4xx answers and a refused sender raise `NotifyError` (the outbox
  retries; a refused sender is a configuration problem that a restart with a fixed config cures). Mails already
  accepted in the batch are acknowledged with `PartialDelivery` so a multi-megabyte report is not sent twice.
- A 5xx answer to the recipient or to the content (e.g. 552 message too large) is final for that mail: it is
  logged as an error, naming the item and the server's answer, and dropped, so it does not hold back the mails
  behind it. `netmon report monthly` builds the same files by hand.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from pathlib import PurePath
from typing import Any

from alerts.queue import DurableQueue, OpenQueue, Sink
from alerts.sinks.mail import SmtpServer, close, describe, id_left
from netmon.config.alerting import AlertSettings
from netmon.config.report import ReportConfig
from netmon.errors import NotificationRejected, NotifyError, PartialDelivery
from netmon.model import Secret

log = logging.getLogger(__name__)

QUEUE = "report-mail"
CONTENT_TYPES = {".pdf": ("application", "pdf"),
                 ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                 ".csv": ("text", "csv")}


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes

    @property
    def content_type(self) -> tuple[str, str]:
        return CONTENT_TYPES.get(PurePath(self.filename).suffix.lower(), ("application", "octet-stream"))


@dataclass(frozen=True, slots=True)
class ReportMail:
    """One report to one recipient. `id` is the idempotency key (the Message-ID derives from it)."""

    id: str
    recipient: str
    subject: str
    body: str
    at: float  # when it was queued: the Date header
    attachments: tuple[Attachment, ...]

    def to_item(self) -> dict[str, Any]:
        return {"id": self.id, "recipient": self.recipient, "subject": self.subject, "body": self.body,
                "at": self.at, "attachments": [{"filename": a.filename, "data": base64.b64encode(a.data).decode()}
                                               for a in self.attachments]}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ReportMail:
        item_id = item.get("id") if isinstance(item.get("id"), str) else None
        try:
            files = tuple(Attachment(str(a["filename"]), base64.b64decode(a["data"], validate=True))
                          for a in item["attachments"])
            return cls(id=str(item["id"]), recipient=str(item["recipient"]), subject=str(item["subject"]),
                       body=str(item["body"]), at=float(item["at"]), attachments=files)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise NotificationRejected(f"malformed report mail item: {type(exc).__name__} {exc}",
                                       item_id=item_id) from None


def build_report_message(mail: ReportMail, *, sender: str, domain: str) -> EmailMessage:
    """The RFC 5322 message for one report mail (pure; the same item gives the same message)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = sender
    msg["To"] = mail.recipient
    msg["Subject"] = " ".join(mail.subject.split())
    msg["Date"] = formatdate(mail.at, usegmt=True)
    msg["Message-ID"] = f"<{id_left(mail.id)}@{domain}>"
    msg["X-Netmon-Delivery"] = mail.id
    msg.set_content(mail.body if mail.body.endswith("\n") else mail.body + "\n")
    for attachment in mail.attachments:
        maintype, subtype = attachment.content_type
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    if msg.is_multipart():  # a boundary from the id, not random: the same item is the same bytes
        msg.set_boundary("=_netmon_" + hashlib.sha256(mail.id.encode()).hexdigest()[:32])
    return msg


class ReportMailQueue:
    """The producer side: `post(...)` puts one report mail in the outbox (durable once it returns). Plain types
    only, so the report schedule needs nothing of alerts/."""

    def __init__(self, queue: Sink) -> None:
        self._queue = queue

    def post(self, *, id: str, recipient: str, subject: str, body: str, at: float,
             attachments: Sequence[tuple[str, bytes]]) -> None:
        files = tuple(Attachment(name, data) for name, data in attachments)
        self._queue.put(ReportMail(id, recipient, subject, body, at, files).to_item())


class MailReportSink:
    """Sends report mail through one SMTP account. `deliver` is an outbox deliver callable."""

    def __init__(self, server: SmtpServer, sender: str) -> None:
        self.server = server
        self.sender = sender

    def __repr__(self) -> str:
        return f"MailReportSink({self.server.host}:{self.server.port})"

    async def deliver(self, items: list[dict[str, Any]]) -> None:
        mails: list[ReportMail] = []
        for item in items:
            try:
                mails.append(ReportMail.from_item(item))
            except NotificationRejected as exc:  # a bug of the producer: no retry can send it
                log.error("report mail dropped: %s", exc)
        if mails:
            await asyncio.to_thread(self._send_all, mails)

    # --- blocking part, run in a worker thread ---

    def _send_all(self, mails: list[ReportMail]) -> None:
        smtp = self.server.connect()
        done = 0
        try:
            for mail in mails:
                self._send_one(smtp, mail)
                done += 1
        except NotifyError as exc:
            if done:
                raise PartialDelivery(done, str(exc)) from exc
            raise
        finally:
            close(smtp, quit=True)

    def _send_one(self, smtp: smtplib.SMTP, mail: ReportMail) -> None:
        msg = build_report_message(mail, sender=self.sender, domain=self.server.domain)
        where = self.server.where
        try:
            smtp.send_message(msg, from_addr=self.sender, to_addrs=[mail.recipient])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
            code = _code(exc)
            if code is not None and 500 <= code < 600:
                log.error("report mail %s refused for good by %s (%s); dropped: `netmon report monthly` builds "
                          "the same files", mail.id, where, describe(exc))
                return
            raise NotifyError(f"report mail {mail.id} not accepted by {where}: {describe(exc)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(f"report mail {mail.id} not sent to {where}: {describe(exc)}") from exc


def _code(exc: smtplib.SMTPException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [int(answer[0]) for answer in exc.recipients.values()]
        return min(codes) if codes else None
    return getattr(exc, "smtp_code", None)


def report_mail_sink(report: ReportConfig, report_secrets: Mapping[str, Secret],
                     alerts: AlertSettings) -> MailReportSink | None:
    """The sink for `report.schedule`: its own `mail:` server, else the ticket mail's; None without a schedule
    or a server (the config loader refuses a schedule without one)."""
    schedule = report.schedule
    if schedule is None:
        return None
    if (own := schedule.mail) is not None:
        server = SmtpServer(host=own.host, port=own.port, starttls=own.starttls, implicit_tls=own.implicit_tls,
                            user=own.user, password=report_secrets.get("schedule.mail.password"),
                            domain=own.domain, error=NotifyError)
        return MailReportSink(server, own.sender)
    if (shared := alerts.section.tickets.mail) is not None:
        server = SmtpServer(host=shared.host, port=shared.port, starttls=shared.starttls,
                            implicit_tls=shared.implicit_tls, user=shared.user,
                            password=alerts.secret("mail.password"), domain=shared.domain, error=NotifyError)
        return MailReportSink(server, shared.sender)
    return None


def open_report_mail(report: ReportConfig, report_secrets: Mapping[str, Secret], alerts: AlertSettings,
                     open_queue: OpenQueue) -> tuple[ReportMailQueue, DurableQueue] | None:
    """The `report-mail` outbox and its producer side, when `report.schedule` asks for mail."""
    sink = report_mail_sink(report, report_secrets, alerts)
    if sink is None:
        return None
    queue = open_queue(QUEUE, sink.deliver)
    return ReportMailQueue(queue), queue
