"""Ticket mail over SMTP (stdlib smtplib/email) for helpdesks that ingest tickets by mail.

One ticket is one mail thread:

- every mail's Subject starts with the ticket id in brackets, e.g. ``[NETMON-2026-000123] ...``, so
  helpdesks that thread by subject tag can too;
- the ticket's first mail (kind ``open``) has ``Message-ID: <{ticket_id}.open@{domain}>``;
  updates and resolves have ``Message-ID: <{id}@{domain}>`` and point back at the first mail with
  ``In-Reply-To`` and ``References``;
- Message-ID and Date depend only on the item, so a re-sent item (the outbox retries at least once)
  is byte-for-byte the same mail and receivers that dedupe by Message-ID drop the copy.

Failures raise `TicketError` (the outbox retries the batch). An SMTP 5xx answer to a message's
content (DATA) raises `TicketRejected` naming the item: that mail will never be accepted as it is.
Refused sender or recipient and failed authentication are configuration problems and stay plain
`TicketError` so no ticket is dropped while the operator fixes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import ssl
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any, Literal, cast

from alerts.sinks import TicketRejected
from netmon.errors import ConfigError, NetmonError, TicketError, redact, safe_cause
from netmon.model import Secret

TicketMailKind = Literal["open", "update", "resolve"]
KINDS: frozenset[str] = frozenset({"open", "update", "resolve"})

# RFC 5322 atext, minus "=" which escapes everything else (so the mapping id -> id-left is injective).
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/?^_`{|}~")


@dataclass(frozen=True, slots=True)
class TicketMail:
    """One ticket event for a helpdesk. `id` is the idempotency key; by convention the open mail's id
    is ``f"{ticket_id}.open"`` (its Message-ID derives from `ticket_id` either way)."""

    id: str
    ticket_id: str  # e.g. "NETMON-2026-000123"
    kind: TicketMailKind
    subject: str
    body: str
    at: float  # unix time of the event; becomes the Date header

    def to_item(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> TicketMail:
        item_id = item.get("id") if isinstance(item.get("id"), str) else None
        try:
            mail = cls(id=item["id"], ticket_id=item["ticket_id"], kind=item["kind"], subject=item["subject"],
                       body=item["body"], at=float(item["at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise TicketRejected(f"malformed ticket item: {type(exc).__name__} {exc}", item_id=item_id) from None
        if mail.kind not in KINDS:
            raise TicketRejected(f"ticket item {mail.id}: unknown kind {mail.kind!r}", item_id=mail.id)
        return mail


def id_left(value: str) -> str:
    """A Message-ID left part (dot-atom-text) for any id, injective and stable: characters outside
    RFC 5322 atext become ``=XX`` (UTF-8 hex); dots are kept only between atext characters."""
    out: list[str] = []
    for index, char in enumerate(value):
        dot_ok = char == "." and 0 < index < len(value) - 1 and value[index - 1] != "." and value[index + 1] != "."
        if char in _ATEXT or dot_ok:
            out.append(char)
        else:
            out.extend(f"={byte:02X}" for byte in char.encode())
    return "".join(out) or "=00"


def message_id(mail: TicketMail, domain: str) -> str:
    left = f"{mail.ticket_id}.open" if mail.kind == "open" else mail.id
    return f"<{id_left(left)}@{domain}>"


def thread_root(ticket_id: str, domain: str) -> str:
    return f"<{id_left(ticket_id + '.open')}@{domain}>"


def tagged_subject(mail: TicketMail) -> str:
    tag = f"[{mail.ticket_id}]"
    subject = " ".join(mail.subject.split())  # one header line
    return subject if tag in subject else f"{tag} {subject}".rstrip()


def build_message(mail: TicketMail, *, sender: str, recipient: str, domain: str) -> EmailMessage:
    """The RFC 5322 message for one ticket event (pure; same input, same message)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = tagged_subject(mail)
    msg["Date"] = formatdate(mail.at, usegmt=True)
    msg["Message-ID"] = message_id(mail, domain)
    if mail.kind != "open":
        root = thread_root(mail.ticket_id, domain)
        msg["In-Reply-To"] = root
        msg["References"] = root
    msg["X-Netmon-Ticket"] = mail.ticket_id
    msg["X-Netmon-Event"] = mail.kind
    msg["X-Netmon-Delivery"] = mail.id
    msg.set_content(mail.body if mail.body.endswith("\n") else mail.body + "\n")
    return msg


class SmtpServer:
    """One SMTP account: how to reach the server and log in (blocking; called from a worker thread). Shared by
    the ticket mail and the scheduled report's mail (alerts.sinks.report_mail). `error` is the exception class
    a failure is raised as (`TicketError` for tickets)."""

    def __init__(self, *, host: str, port: int, starttls: bool, user: str | None, password: Secret | None,
                 domain: str = "netmon.local", timeout_s: float = 10, implicit_tls: bool = False,
                 tls_ca_file: str | None = None, error: type[NetmonError] = TicketError) -> None:
        if (user is None) != (password is None):
            raise ConfigError("SMTP user and password must be given together", key="mail.user")
        if starttls and implicit_tls:
            raise ConfigError("choose starttls (port 587) or implicit_tls (port 465), not both", key="mail.starttls")
        self.host = host
        self.port = port
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.user = user
        self._password = password
        self.domain = domain
        self.timeout_s = timeout_s
        self._tls_ca_file = tls_ca_file
        self.error = error

    def __repr__(self) -> str:
        return f"SmtpServer({self.host}:{self.port})"

    @property
    def where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    @property
    def secrets(self) -> tuple[Secret | None]:
        return (self._password,)

    def connect(self) -> smtplib.SMTP:
        """A connected (TLS, logged-in) session; raises `self.error` naming what failed, never the password."""
        context = ssl.create_default_context(cafile=self._tls_ca_file) if (
            self.starttls or self.implicit_tls) else None
        smtp: smtplib.SMTP | None = None
        try:
            if self.implicit_tls:
                smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.domain, timeout=self.timeout_s,
                                        context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.domain, timeout=self.timeout_s)
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user is not None and self._password is not None:
                smtp.login(self.user, self._password.reveal())
        except smtplib.SMTPAuthenticationError as exc:
            close(smtp)
            raise self.error(f"{self.where}: authentication failed for user {self.user!r}: "
                             f"{describe(exc, self.secrets)}") from safe_cause(exc, self.secrets)
        except smtplib.SMTPNotSupportedError as exc:
            close(smtp)
            raise self.error(f"{self.where}: server does not offer STARTTLS or AUTH: "
                             f"{describe(exc, self.secrets)}") from safe_cause(exc, self.secrets)
        except (smtplib.SMTPException, OSError) as exc:
            close(smtp)
            raise self.error(f"cannot reach {self.where}: {describe(exc, self.secrets)}") \
                from safe_cause(exc, self.secrets)
        return smtp


def close(smtp: smtplib.SMTP | None, *, quit: bool = False) -> None:
    """End a session, ignoring a server that is already gone."""
    if smtp is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            if quit:
                smtp.quit()
            else:
                smtp.close()


class MailTicketSink:
    """Sends ticket mail to one helpdesk address. `deliver` is an outbox deliver callable."""

    def __init__(self, *, host: str, port: int, sender: str, recipient: str, starttls: bool,
                 user: str | None, password: Secret | None, domain: str = "netmon.local",
                 timeout_s: float = 10, implicit_tls: bool = False, tls_ca_file: str | None = None) -> None:
        self.server = SmtpServer(host=host, port=port, starttls=starttls, user=user, password=password, domain=domain,
                                 timeout_s=timeout_s, implicit_tls=implicit_tls, tls_ca_file=tls_ca_file)
        self.sender = sender
        self.recipient = recipient
        self.domain = domain

    def __repr__(self) -> str:
        return f"MailTicketSink({self.server.host}:{self.server.port} -> {self.recipient})"

    async def deliver(self, items: list[dict[str, Any]]) -> None:
        mails = [TicketMail.from_item(item) for item in items]
        if mails:
            await asyncio.to_thread(self._send_all, mails)

    # --- blocking part, run in a worker thread ---

    def _send_all(self, mails: list[TicketMail]) -> None:
        smtp = self.server.connect()
        try:
            for mail in mails:
                self._send_one(smtp, mail)
        finally:
            close(smtp, quit=True)

    def _send_one(self, smtp: smtplib.SMTP, mail: TicketMail) -> None:
        msg = build_message(mail, sender=self.sender, recipient=self.recipient, domain=self.domain)
        where = self.server.where
        try:
            smtp.send_message(msg, from_addr=self.sender, to_addrs=[self.recipient])
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:
                raise TicketRejected(f"ticket mail {mail.id} rejected by {where}: {describe(exc)}",
                                     item_id=mail.id, status=exc.smtp_code) from exc
            raise TicketError(f"ticket mail {mail.id} not accepted by {where}: {describe(exc)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TicketError(f"ticket mail {mail.id} not sent to {where}: {describe(exc)}") from exc


def describe(exc: BaseException, secrets: tuple[Secret | None, ...] = ()) -> str:
    """Exception class and SMTP code/answer, bounded; never credentials (servers do not echo AUTH, and
    `secrets` are hidden should one do)."""
    code = getattr(exc, "smtp_code", None)
    answer = getattr(exc, "smtp_error", b"")
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = cast(dict[str, tuple[int, bytes]], exc.recipients)
        code = next(iter(refused.values()))[0] if refused else None
    text = f"{type(exc).__name__}"
    if code is not None:
        text += f" {code}"
    if answer:
        text += f" {redact(str(answer), secrets)[:200]}"
    elif not isinstance(exc, smtplib.SMTPException):
        text += f" {redact(str(exc), secrets)[:200]}"
    return text
