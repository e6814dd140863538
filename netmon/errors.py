"""The one exception tree of kim-netmon (STYLE.md section 4), and how a library's message enters it.

Every subclass of `NetmonError` is defined here and named in `__all__` (tests/netmon/test_errors.py walks
every module of netmon, collectors and alerts and fails on one defined elsewhere or left out):

    NetmonError
    ├── ConfigError                 a configuration file is malformed (file:line: key)
    ├── CollectorError              a poll failed (`reason`: the label of netmon_poll_errors_total)
    │   ├── DeviceUnreachable       no answer within the timeout
    │   ├── AuthenticationFailed    credential refused (SNMPv3 user/keys, RouterOS API login)
    │   ├── DeviceProtocolError     an answer we cannot use
    │   │   └── PayloadError        a router's push body that is not what the script sends (collectors.push)
    │   └── FeatureUnavailable      an optional MIB table or RouterOS menu is not there
    ├── UnusableDiscovery           a stored SNMP discovery cannot be read back
    ├── StorageError                the database
    │   ├── StorageUnavailable      down, locked, read-only, not migrated: retry later
    │   └── StorageRejected         this data cannot be written: retrying will not help
    │       └── StorageFenced       a cluster leader's records after another node led: never written
    ├── AlreadyRunning              another daemon holds the data directory or the deployment's database
    ├── PartialDelivery             an outbox batch reached its destination only in part
    ├── NotifyError                 notifications and MQTT events
    │   ├── NotificationRejected    an item no retry can deliver
    │   └── BrokerUnavailable       not connected to the MQTT broker
    ├── TicketError                 ticket sinks (mail, webhook)
    │   └── TicketRejected          the peer refused an item for good
    ├── WireError                   a message from a site agent that is not one (netmon.wire)
    ├── TicketNotApplicable         `tickets ack|resolve` on no such ticket, or one in the wrong state
    └── WebServerError              the HTTP server cannot start

Adapters (the one module importing a given library) translate that library's errors at the seam with
`raise OurError(...) from exc`, keeping the library's own words through `library_message`, which replaces
every secret the adapter knows (community, keys, passwords, URL credentials) by `***`. Where the library's
own text quotes a secret, `safe_cause` drops it from the chain (a logged traceback would show it). Nothing here imports
a library or `netmon.model`: collectors and alerts both depend on this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "POLL_ERROR_REASONS",
    "REDACTED",
    "AlreadyRunning",
    "AuthenticationFailed",
    "BrokerUnavailable",
    "CollectorError",
    "ConfigError",
    "DeviceProtocolError",
    "DeviceUnreachable",
    "FeatureUnavailable",
    "NetmonError",
    "NotificationRejected",
    "NotifyError",
    "PartialDelivery",
    "PayloadError",
    "SecretLike",
    "StorageError",
    "StorageFenced",
    "StorageRejected",
    "StorageUnavailable",
    "TicketError",
    "TicketNotApplicable",
    "TicketRejected",
    "UnusableDiscovery",
    "WebServerError",
    "WireError",
    "library_message",
    "redact",
    "safe_cause",
    "url_secrets",
]

REDACTED = "***"
MESSAGE_LIMIT = 300


class NetmonError(Exception):
    """Base of every error kim-netmon raises on purpose."""


class ConfigError(NetmonError):
    """A configuration file is malformed. Carries the file, line and key when known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        where = file or "<config>"
        if line is not None:
            where = f"{where}:{line}"
        if key:
            where = f"{where}: {key}"
        super().__init__(f"{where}: {message}")


# --- polling ---------------------------------------------------------------------------------------------

class CollectorError(NetmonError):
    """A poll failed. `reason` is a short bounded label value for netmon_poll_errors_total."""

    reason = "error"


class DeviceUnreachable(CollectorError):
    """No answer within the timeout (after retries)."""

    reason = "timeout"


class AuthenticationFailed(CollectorError):
    """SNMPv3 user/keys or RouterOS API password refused (a wrong v2c community looks like a timeout).
    Polling of that source pauses and the `auth_failed` alert fires (docs/alerts.md)."""

    reason = "auth"


class DeviceProtocolError(CollectorError):
    """The device answered, but with something we cannot use (garbage, missing mandatory objects)."""

    reason = "protocol"


class PayloadError(DeviceProtocolError):
    """A router's push body that is not what deploy/routeros/netmon-push.rsc sends; the message names the field
    (`interfaces[3].rx-byte: expected a string`). Answered 400, and the push counts as a failed poll."""


class FeatureUnavailable(CollectorError):
    """An optional part (a MIB table, a RouterOS menu) is not there. Logged once; the rest is collected."""

    reason = "unavailable"


# every `reason` a failed poll can carry: netmon_poll_errors_total has a series for each from the first scrape
POLL_ERROR_REASONS: tuple[str, ...] = tuple(
    error.reason for error in (CollectorError, DeviceUnreachable, AuthenticationFailed, DeviceProtocolError,
                               FeatureUnavailable))


class UnusableDiscovery(NetmonError):
    """A stored discovery that cannot be read back (another format, damaged): discover again."""


# --- storage ---------------------------------------------------------------------------------------------

class StorageError(NetmonError):
    """The database failed (netmon.storage translates SQLAlchemy's errors into the two below)."""


class StorageUnavailable(StorageError):
    """The database cannot be reached or written now (down, locked, read-only, not migrated). Retry later."""


class StorageRejected(StorageError):
    """The database refused this data (constraint, bad value). Retrying the same records will not help."""


class StorageFenced(StorageRejected):
    """Records produced as a cluster's leader under a `WriteFence` that no longer holds: another node has led
    since their term. Nothing was written, and nothing ever will be: the caller drops them (netmon.storage)."""


class AlreadyRunning(NetmonError):
    """Another daemon holds the data directory (or, with PostgreSQL, the deployment's database)."""


# --- delivery (outboxes, notifications, MQTT, tickets) ---------------------------------------------------

class NotifyError(NetmonError):
    """A notification or MQTT event could not be delivered now (the outbox retries the batch)."""


class NotificationRejected(NotifyError):
    """An item that no retry can deliver (unknown channel, malformed item). `item_id` names it, so
    the caller can set it aside instead of retrying the batch forever."""

    def __init__(self, message: str, *, item_id: str | None) -> None:
        super().__init__(message)
        self.item_id = item_id


class BrokerUnavailable(NotifyError):
    """Not connected to the MQTT broker, or the connection dropped before the broker acknowledged."""


class PartialDelivery(NetmonError):
    """Raised by an outbox's `deliver(batch)` (netmon.outbox): the first `delivered` items reached the
    destination, the rest did not."""

    def __init__(self, delivered: int, message: str) -> None:
        super().__init__(message)
        self.delivered = delivered


class TicketError(NetmonError):
    """A ticket sink could not hand a batch to the helpdesk now (the outbox retries it)."""


class TicketRejected(TicketError):
    """The peer refused item `item_id` permanently (`status`: HTTP status or SMTP reply code)."""

    def __init__(self, message: str, *, item_id: str | None, status: int | None = None) -> None:
        super().__init__(message)
        self.item_id = item_id
        self.status = status


class TicketNotApplicable(NetmonError):
    """A ticket command that does not apply: no such ticket, or one in the wrong state for it (bad input)."""


class WireError(NetmonError):
    """A message from a site agent that is not one: malformed JSON, an unknown version, a missing field."""


class WebServerError(NetmonError):
    """The HTTP server cannot start: the address is in use, not ours to bind, or the port is privileged."""


# --- library messages, without secrets --------------------------------------------------------------------

class _Revealable(Protocol):
    def reveal(self) -> str: ...


SecretLike = str | _Revealable | None


def _plain(secret: SecretLike) -> str:
    if secret is None or isinstance(secret, str):
        return secret or ""
    return secret.reveal()


def redact(text: str, secrets: Iterable[SecretLike]) -> str:
    """`text` with every occurrence of each secret (a `netmon.model.Secret` or a plain string) replaced by
    `***`; longer secrets first, so a secret containing another is hidden whole."""
    for value in sorted({_plain(s) for s in secrets} - {""}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def library_message(exc: BaseException, secrets: Iterable[SecretLike] = (), limit: int = MESSAGE_LIMIT) -> str:
    """What a library said, for one of our messages: "ExceptionType: its message" on one line, secrets
    replaced by `***` (before cutting to `limit` characters, so no prefix of a secret survives)."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    said = f"{name}: {text}" if text and text != name else name
    return redact(said, secrets)[:limit]


def url_secrets(url: str, *, host: bool = False, shortest: int = 8) -> tuple[str, ...]:
    """The parts of a URL that may be credentials: the URL itself, its password, and every path segment and
    query value of at least `shortest` characters (chat and webhook services put tokens there); with `host`,
    the host too (apprise URLs such as `tgram://<bot token>/<chat id>` carry a token in its place)."""
    try:
        parts = urlsplit(url)
        password = parts.password or ""
    except ValueError:
        return (url,)
    pieces = [*parts.path.split("/"), *(value for _, value in parse_qsl(parts.query))]
    if parts.username and parts.password is None:
        pieces.append(parts.username)  # a bare token in the user name's place
    if host and parts.netloc:
        pieces.append(parts.netloc.rpartition("@")[2])  # with what follows a colon: not always a port
    return (url, password, *(p for p in pieces if len(p) >= shortest))


def safe_cause(exc: BaseException, secrets: Iterable[SecretLike]) -> BaseException | None:
    """`exc`, to chain with `raise ... from`, unless its text or that of an exception it chains shows one of
    `secrets` (pysnmp's complaint about a short key quotes the key): then None, and our message alone keeps
    the library's words, redacted."""
    values = {_plain(s) for s in secrets} - {""}
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        text = f"{link}\n{link.args!r}"
        if any(value in text for value in values):
            return None
        link = link.__cause__ or link.__context__
    return exc
