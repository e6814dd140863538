"""JSON webhooks for helpdesks and alert routers (stdlib urllib; one POST per item).

`WebhookTicketSink` posts a ticket event, signed: ``X-Netmon-Signature: sha256=<hex HMAC-SHA256 of
the raw body>`` with a shared secret, and ``X-Netmon-Delivery: <item id>`` for receivers to dedupe
at-least-once re-sends. Receivers check it with `verify_signature`.

`AlertmanagerWebhookSink` posts the Prometheus Alertmanager webhook payload (``version: "4"``:
receiver, status, alerts[] with status/labels/annotations/startsAt/endsAt/generatorURL/fingerprint,
groupLabels, commonLabels, commonAnnotations, externalURL, groupKey, truncatedAlerts), so anything
that takes Alertmanager webhooks (Alerta, Grafana OnCall, custom receivers) takes ours.

HTTP outcome -> error: 2xx is success; 408, 429, 5xx, 3xx (redirects are not followed) and transport
failures raise `TicketError` (the outbox retries); any other 4xx raises `TicketRejected` naming the
item, because the same body will be refused again. Messages name the endpoint as scheme://host:port
only: a path or query may carry a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from alerts.sinks import TicketRejected
from alerts.sinks.mail import TicketMail
from netmon.errors import ConfigError, TicketError, library_message, safe_cause, url_secrets
from netmon.model import Incident, Secret

SIGNATURE_HEADER = "X-Netmon-Signature"
DELIVERY_HEADER = "X-Netmon-Delivery"
_RETRYABLE_4XX = frozenset({408, 429})
_GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert still firing
USER_AGENT = "kim-netmon"


def sign(body: bytes, secret: Secret) -> str:
    """The signature header value for `body`: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str, secret: Secret) -> bool:
    """True when `header` (``sha256=<hex>``) is the HMAC-SHA256 of the raw `body` under `secret`.
    Constant-time comparison; verify the bytes as received, before parsing the JSON."""
    if not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


def rfc3339(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would turn a redirected POST into a body-less GET and report success; refuse instead."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


class _Poster:
    """One endpoint: POST JSON bytes, translate the outcome into our errors."""

    def __init__(self, url: str, timeout_s: float, tls_ca_file: str | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("webhook URL must be http:// or https:// with a host", key="webhook.url")
        self.url = url
        self.where = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self.timeout_s = timeout_s
        self._secrets = url_secrets(url)  # credentials or a token in the URL never reach a message
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=tls_ca_file)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    async def post(self, item_id: str, body: bytes, headers: Mapping[str, str]) -> None:
        await asyncio.to_thread(self._post, item_id, body, headers)

    def _post(self, item_id: str, body: bytes, headers: Mapping[str, str]) -> None:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            said = library_message(reason if isinstance(reason, BaseException) else exc, self._secrets, limit=200)
            raise TicketError(f"webhook {item_id} to {self.where} failed: {said}") \
                from safe_cause(exc, self._secrets)
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            raise TicketRejected(f"webhook {item_id} rejected by {self.where}: HTTP {status}",
                                 item_id=item_id, status=status)
        raise TicketError(f"webhook {item_id} to {self.where} failed: HTTP {status}")


def _json_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class WebhookTicketSink:
    """Posts `TicketMail` items as signed JSON:
    ``{"id", "ticket", "kind", "subject", "body", "at" (unix), "at_iso" (RFC 3339)}``."""

    def __init__(self, url: str, secret: Secret, *, timeout_s: float = 10, tls_ca_file: str | None = None) -> None:
        self._poster = _Poster(url, timeout_s, tls_ca_file)
        self._secret = secret

    def __repr__(self) -> str:
        return f"WebhookTicketSink({self._poster.where})"

    @staticmethod
    def payload(mail: TicketMail) -> dict[str, Any]:
        return {"id": mail.id, "ticket": mail.ticket_id, "kind": mail.kind, "subject": mail.subject,
                "body": mail.body, "at": mail.at, "at_iso": rfc3339(mail.at)}

    async def deliver(self, items: list[dict[str, Any]]) -> None:
        for mail in [TicketMail.from_item(item) for item in items]:
            body = _json_bytes(self.payload(mail))
            await self._poster.post(mail.id, body, {SIGNATURE_HEADER: sign(body, self._secret),
                                                    DELIVERY_HEADER: mail.id})


@dataclass(frozen=True, slots=True)
class AlertmanagerAlert:
    """One alert as an outbox item. `labels` identify it (and make its fingerprint); keep them
    bounded (STYLE.md: no free text); free text goes into `annotations`."""

    id: str  # idempotency key of this notification (firing and resolved are two items)
    status: str  # "firing" | "resolved"
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: float = 0.0
    ends_at: float | None = None
    generator_url: str = ""

    def to_item(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "labels": dict(self.labels),
                "annotations": dict(self.annotations), "starts_at": self.starts_at, "ends_at": self.ends_at,
                "generator_url": self.generator_url}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> AlertmanagerAlert:
        item_id = item.get("id") if isinstance(item.get("id"), str) else None
        try:
            alert = cls(id=item["id"], status=item["status"], labels=dict(item["labels"]),
                        annotations=dict(item.get("annotations") or {}), starts_at=float(item["starts_at"]),
                        ends_at=None if item.get("ends_at") is None else float(item["ends_at"]),
                        generator_url=str(item.get("generator_url") or ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise TicketRejected(f"malformed alert item: {type(exc).__name__} {exc}", item_id=item_id) from None
        if alert.status not in ("firing", "resolved") or "alertname" not in alert.labels:
            raise TicketRejected(f"alert item {alert.id}: needs status firing|resolved and an alertname label",
                                 item_id=alert.id)
        return alert

    @classmethod
    def from_incident(cls, incident: Incident, *, id: str, generator_url: str = "", summary: str = "",
                      description: str = "") -> AlertmanagerAlert:
        """The alert for an incident: firing while open, resolved once `resolved_at` is set. `summary` and
        `description` are the texts for people (the rendered message's subject and text: alerts.message);
        without them the summary is the incident's own short summary."""
        labels = {"alertname": incident.rule, "severity": str(incident.severity), "kind": incident.kind,
                  "subject": incident.subject, "kabupaten": incident.kabupaten, "kecamatan": incident.kecamatan,
                  "owner": str(incident.owner)}
        if incident.site:
            labels["site"] = incident.site
        if incident.device:
            labels["device"] = incident.device
        annotations = {"summary": summary or incident.summary} if summary or incident.summary else {}
        if description:
            annotations["description"] = description
        annotations["incident"] = incident.id
        return cls(id=id, status="firing" if incident.open else "resolved", labels=labels,
                   annotations=annotations, starts_at=incident.opened_at, ends_at=incident.resolved_at,
                   generator_url=generator_url)

    def fingerprint(self) -> str:
        """16 hex digits identifying the label set (Alertmanager's field has the same shape)."""
        canonical = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _label_set(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items())) + "}"


def alertmanager_payload(alert: AlertmanagerAlert, *, receiver: str, external_url: str,
                         group_by: tuple[str, ...] = ("alertname", "subject")) -> dict[str, Any]:
    """The Alertmanager webhook message (version 4) for a group of one alert."""
    labels = dict(alert.labels)
    group_labels = {name: labels[name] for name in group_by if name in labels}
    return {
        "version": "4",
        "groupKey": f"{{}}/{{netmon=\"{receiver}\"}}:{_label_set(group_labels)}",
        "truncatedAlerts": 0,
        "receiver": receiver,
        "status": alert.status,
        "alerts": [{
            "status": alert.status,
            "labels": labels,
            "annotations": dict(alert.annotations),
            "startsAt": rfc3339(alert.starts_at),
            "endsAt": rfc3339(alert.ends_at) if alert.ends_at is not None else _GO_ZERO_TIME,
            "generatorURL": alert.generator_url,
            "fingerprint": alert.fingerprint(),
        }],
        "groupLabels": group_labels,
        "commonLabels": labels,
        "commonAnnotations": dict(alert.annotations),
        "externalURL": external_url,
    }


class AlertmanagerWebhookSink:
    """Posts `AlertmanagerAlert` items as Alertmanager webhook messages, one alert per message.
    With `secret`, the body is signed like `WebhookTicketSink` (Alertmanager itself does not sign)."""

    def __init__(self, url: str, *, timeout_s: float = 10, receiver: str = "kim-netmon", external_url: str = "",
                 secret: Secret | None = None, tls_ca_file: str | None = None) -> None:
        self._poster = _Poster(url, timeout_s, tls_ca_file)
        self.receiver = receiver
        self.external_url = external_url
        self._secret = secret

    def __repr__(self) -> str:
        return f"AlertmanagerWebhookSink({self._poster.where})"

    async def deliver(self, items: list[dict[str, Any]]) -> None:
        for alert in [AlertmanagerAlert.from_item(item) for item in items]:
            body = _json_bytes(alertmanager_payload(alert, receiver=self.receiver, external_url=self.external_url))
            headers = {DELIVERY_HEADER: alert.id}
            if self._secret is not None:
                headers[SIGNATURE_HEADER] = sign(body, self._secret)
            await self._poster.post(alert.id, body, headers)
