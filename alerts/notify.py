"""Notifications to people (email, Telegram, ...): the one adapter module that imports apprise.

`Notifier.deliver` is an outbox `deliver` callable: it receives a batch of `Notification.to_item()`
dicts, sends them in order and raises `NotifyError` if any failed, so the outbox retries the batch.

Re-sends are made harmless where the service allows it:

- within one process, a notification that was accepted once is not sent again when the outbox
  retries its batch (a bounded memo keyed by item id and channel);
- email gets a stable `X-Netmon-Notification-Id: <id>` header, so a mailbox rule (Sieve
  `duplicate :header`) can drop copies re-sent after a restart. Apprise always writes its own random
  Message-ID (apprise/plugins/email/base.py), and a second Message-ID header would make the mail
  invalid (RFC 5322 allows one), so the stable Message-ID lives on ticket mail (alerts/sinks/mail.py),
  which builds its messages itself.

Channel URLs carry tokens and passwords: they are `Secret`s, and neither our log lines nor our
exceptions mention anything but the channel name. Apprise's own logging masks URL credentials
(its `secure_logging` default).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import apprise

from alerts.message import NotifyType
from netmon.errors import ConfigError, NotificationRejected, NotifyError, library_message, url_secrets
from netmon.model import Secret

log = logging.getLogger(__name__)

# The message's notify type (alerts.message.NotifyType: a recovery is "success" whatever the incident's
# severity) -> apprise's. "critical" is what items spooled before notify types existed carry.
_NOTIFY_TYPES: Mapping[str, str] = {
    NotifyType.INFO: apprise.NotifyType.INFO,
    NotifyType.SUCCESS: apprise.NotifyType.SUCCESS,
    NotifyType.WARNING: apprise.NotifyType.WARNING,
    NotifyType.FAILURE: apprise.NotifyType.FAILURE,
    "critical": apprise.NotifyType.FAILURE,
}
_EMAIL_SCHEMES = frozenset({"mailto", "mailtos"})
NOTIFICATION_ID_HEADER = "X-Netmon-Notification-Id"
_MEMO_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one channel. `id` is the idempotency key (stable across retries)."""

    id: str
    channel: str
    subject: str
    body: str
    severity: str  # the message's notify type: "info" | "success" | "warning" | "failure" (Message.notify_type)

    def to_item(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Notification:
        try:
            fields = {name: item[name] for name in ("id", "channel", "subject", "body", "severity")}
        except KeyError as exc:
            raise NotificationRejected(f"notification item lacks {exc.args[0]!r}",
                                       item_id=_item_id(item)) from None
        if not all(isinstance(value, str) for value in fields.values()):
            raise NotificationRejected("notification item fields must be strings", item_id=_item_id(item))
        return cls(**fields)


def _item_id(item: Mapping[str, Any]) -> str | None:
    value = item.get("id")
    return value if isinstance(value, str) else None


def _with_header(url: str, name: str, value: str) -> str:
    """Add an extra mail header with apprise's `?+Name=value` email URL syntax."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}+{quote(name, safe='-')}={quote(value, safe='')}"


class Notifier:
    """Sends notifications through apprise, one configured URL per channel name."""

    def __init__(self, channels: Mapping[str, Secret]) -> None:
        self._channels = dict(channels)
        self._delivered: OrderedDict[tuple[str, str], None] = OrderedDict()
        for name, url in self._channels.items():
            # Validate once at start-up; the library's complaint may quote the URL, so it is not chained.
            if apprise.Apprise.instantiate(url.reveal()) is None:
                raise ConfigError("apprise cannot use this channel URL (check its scheme and fields)",
                                  key=f"channels.{name}")

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._channels)

    async def deliver(self, items: list[dict[str, Any]]) -> None:
        """Send each item in order; raise NotifyError naming the failed items' channels if any failed."""
        notifications = [Notification.from_item(item) for item in items]
        for note in notifications:
            if note.channel not in self._channels:
                raise NotificationRejected(f"notification {note.id}: unknown channel {note.channel!r}",
                                           item_id=note.id)
        failed: list[str] = []
        for note in notifications:
            key = (note.id, note.channel)
            if key in self._delivered:
                continue
            if await asyncio.to_thread(self._send, note):
                self._remember(key)
            else:
                failed.append(f"{note.id} via {note.channel}")
        if failed:
            log.warning("notification delivery failed: %s", ", ".join(failed))
            raise NotifyError(f"{len(failed)} of {len(notifications)} notifications failed: {', '.join(failed)}")

    def _send(self, note: Notification) -> bool:
        url = self._channels[note.channel].reveal()
        if urlsplit(url).scheme.lower() in _EMAIL_SCHEMES:
            url = _with_header(url, NOTIFICATION_ID_HEADER, note.id)
        service = apprise.Apprise()
        if not service.add(url):
            return False
        try:
            result = service.notify(
                body=note.body or note.subject,
                title=note.subject,
                notify_type=_NOTIFY_TYPES.get(note.severity, apprise.NotifyType.INFO),
                body_format=apprise.NotifyFormat.TEXT,
            )
        except Exception as exc:  # a plugin bug must fail this item, not the daemon; the URL's parts are hidden
            log.warning("apprise raised while sending notification %s via %s: %s", note.id, note.channel,
                        library_message(exc, url_secrets(url, host=True)))
            return False
        return bool(result)

    def _remember(self, key: tuple[str, str]) -> None:
        self._delivered[key] = None
        while len(self._delivered) > _MEMO_SIZE:
            self._delivered.popitem(last=False)
