"""Webhook sinks against a real HTTP server (http.server on loopback in a thread): HMAC signatures,
the Alertmanager webhook payload schema, and which HTTP answers are retried or rejected."""

from __future__ import annotations

import dataclasses
import json
import socket
from datetime import datetime
from typing import Any

import pytest
from http_peer import HttpPeer

from alerts.sinks import TicketRejected
from alerts.sinks.mail import TicketMail
from alerts.sinks.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    AlertmanagerAlert,
    AlertmanagerWebhookSink,
    WebhookTicketSink,
    verify_signature,
)
from netmon.errors import ConfigError, TicketError
from netmon.model import Incident, Owner, Secret, Severity

pytestmark = pytest.mark.integration

SECRET = Secret("shared-hmac-secret-9f2c")


TICKET = "NETMON-2026-000123"
UPDATE = TicketMail(f"{TICKET}.update.1", TICKET, "update", "Router KIM Ketenger mati", "Teknisi dijadwalkan.",
                    1_780_003_600.0)


async def test_ticket_webhook_is_signed_and_carries_the_delivery_id(http_server: HttpPeer) -> None:
    await WebhookTicketSink(http_server.url, SECRET, timeout_s=5).deliver([UPDATE.to_item()])

    (got,) = http_server.received
    assert got.path == "/hooks/netmon?token=url-token-777"
    assert got.headers["content-type"] == "application/json"
    assert got.headers[DELIVERY_HEADER.lower()] == UPDATE.id
    assert verify_signature(got.body, got.headers[SIGNATURE_HEADER.lower()], SECRET)
    assert not verify_signature(got.body, got.headers[SIGNATURE_HEADER.lower()], Secret("some-other-secret"))
    assert not verify_signature(got.body + b" ", got.headers[SIGNATURE_HEADER.lower()], SECRET)
    payload = json.loads(got.body)
    assert payload == {"id": UPDATE.id, "ticket": TICKET, "kind": "update", "subject": UPDATE.subject,
                       "body": UPDATE.body, "at": UPDATE.at, "at_iso": "2026-05-28T21:26:40.000Z"}
    assert SECRET.reveal().encode() not in got.body
    assert SECRET.reveal() not in json.dumps(got.headers)


async def test_resent_item_has_the_same_body_signature_and_delivery_id(http_server: HttpPeer) -> None:
    sink = WebhookTicketSink(http_server.url, SECRET, timeout_s=5)
    await sink.deliver([UPDATE.to_item()])
    await sink.deliver([UPDATE.to_item()])

    first, second = http_server.received
    assert first.body == second.body
    assert first.headers[SIGNATURE_HEADER.lower()] == second.headers[SIGNATURE_HEADER.lower()]
    assert first.headers[DELIVERY_HEADER.lower()] == second.headers[DELIVERY_HEADER.lower()]


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_server_errors_and_throttling_raise_ticket_error_to_retry(http_server: HttpPeer, status: int) -> None:
    http_server.statuses.append(status)

    with pytest.raises(TicketError) as caught:
        await WebhookTicketSink(http_server.url, SECRET, timeout_s=5).deliver([UPDATE.to_item()])

    assert not isinstance(caught.value, TicketRejected)
    assert f"HTTP {status}" in str(caught.value)
    assert "url-token-777" not in str(caught.value)
    assert SECRET.reveal() not in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_client_errors_are_rejected_naming_the_item(http_server: HttpPeer, status: int) -> None:
    http_server.statuses.append(status)
    later = TicketMail(f"{TICKET}.resolve", TICKET, "resolve", "pulih", "ok", 1_780_012_600.0)

    with pytest.raises(TicketRejected) as caught:
        await WebhookTicketSink(http_server.url, SECRET, timeout_s=5).deliver([UPDATE.to_item(), later.to_item()])

    assert caught.value.item_id == UPDATE.id and caught.value.status == status
    assert len(http_server.received) == 1  # stopped at the refused item; order kept


async def test_redirect_is_not_followed_and_fails_the_batch(http_server: HttpPeer) -> None:
    http_server.redirect_to = "/elsewhere"

    with pytest.raises(TicketError, match="HTTP 302") as caught:
        await WebhookTicketSink(http_server.url, SECRET, timeout_s=5).deliver([UPDATE.to_item()])

    assert not isinstance(caught.value, TicketRejected)
    assert [r.path for r in http_server.received] == ["/hooks/netmon?token=url-token-777"]


async def test_unreachable_endpoint_raises_ticket_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = WebhookTicketSink(f"http://127.0.0.1:{port}/hook?token=url-token-777", SECRET, timeout_s=2)

    with pytest.raises(TicketError) as caught:
        await sink.deliver([UPDATE.to_item()])

    assert not isinstance(caught.value, TicketRejected)
    assert f"http://127.0.0.1:{port} failed" in str(caught.value)
    assert "url-token-777" not in str(caught.value)


def test_signature_header_must_name_the_algorithm() -> None:
    body = b'{"a":1}'
    import hashlib
    import hmac
    bare = hmac.new(SECRET.reveal().encode(), body, hashlib.sha256).hexdigest()
    assert verify_signature(body, "sha256=" + bare, SECRET)
    assert not verify_signature(body, bare, SECRET)
    assert not verify_signature(body, "", SECRET)


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        WebhookTicketSink("ftp://example/hook", SECRET)


# --- Alertmanager webhook payload ---

# Fields of Alertmanager's webhook message (notify/webhook Message: template.Data + version, groupKey,
# truncatedAlerts) and of each alert in it (template.Alert).
MESSAGE_KEYS = {"version", "groupKey", "truncatedAlerts", "receiver", "status", "alerts", "groupLabels",
                "commonLabels", "commonAnnotations", "externalURL"}
ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}

INCIDENT = Incident(id="inc-2026-05-28-ketenger", rule="device_down", subject="kim-ketenger-router", kind="device",
                    severity=Severity.CRITICAL, opened_at=1_780_000_000.0, owner=Owner.PEMDA,
                    kabupaten="Banyumas", kecamatan="Baturraden", site="kim-ketenger",
                    device="kim-ketenger-router", summary="Router KIM Ketenger tidak merespons")


def check_alertmanager_schema(message: dict[str, Any]) -> None:
    assert set(message) == MESSAGE_KEYS
    assert message["version"] == "4"
    assert isinstance(message["groupKey"], str) and message["groupKey"]
    assert message["truncatedAlerts"] == 0
    assert message["status"] in ("firing", "resolved")
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in message[name].items())
    assert message["alerts"]
    for alert in message["alerts"]:
        assert set(alert) == ALERT_KEYS
        assert alert["status"] in ("firing", "resolved")
        assert "alertname" in alert["labels"]
        assert all(isinstance(v, str) for v in [*alert["labels"].values(), *alert["annotations"].values()])
        datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))  # RFC 3339
        datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
        assert len(alert["fingerprint"]) == 16 and int(alert["fingerprint"], 16) >= 0


async def test_alertmanager_payload_for_a_firing_then_resolved_incident(http_server: HttpPeer) -> None:
    firing = AlertmanagerAlert.from_incident(INCIDENT, id="inc-2026-05-28-ketenger.firing")
    resolved_incident = dataclasses.replace(INCIDENT, resolved_at=1_780_012_600.0)
    resolved = AlertmanagerAlert.from_incident(resolved_incident, id="inc-2026-05-28-ketenger.resolved")
    sink = AlertmanagerWebhookSink(http_server.url, timeout_s=5, external_url="http://netmon.kominfo.example")

    await sink.deliver([firing.to_item(), resolved.to_item()])

    first, second = (json.loads(r.body) for r in http_server.received)
    for message in (first, second):
        check_alertmanager_schema(message)
    assert first["status"] == "firing" and second["status"] == "resolved"
    alert = first["alerts"][0]
    assert alert["labels"] == {"alertname": "device_down", "severity": "critical", "kind": "device",
                               "subject": "kim-ketenger-router", "kabupaten": "Banyumas",
                               "kecamatan": "Baturraden", "owner": "pemda", "site": "kim-ketenger",
                               "device": "kim-ketenger-router"}
    assert alert["annotations"] == {"summary": "Router KIM Ketenger tidak merespons",
                                    "incident": "inc-2026-05-28-ketenger"}
    assert alert["startsAt"] == "2026-05-28T20:26:40.000Z"
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"  # still firing, as Alertmanager writes it
    assert second["alerts"][0]["endsAt"] == "2026-05-28T23:56:40.000Z"
    assert alert["fingerprint"] == second["alerts"][0]["fingerprint"]  # same labels, same alert
    assert first["groupKey"] == second["groupKey"]
    assert first["groupLabels"] == {"alertname": "device_down", "subject": "kim-ketenger-router"}
    assert first["externalURL"] == "http://netmon.kominfo.example"
    assert [r.headers[DELIVERY_HEADER.lower()] for r in http_server.received] == [firing.id, resolved.id]
    assert SIGNATURE_HEADER.lower() not in http_server.received[0].headers


async def test_alertmanager_sink_signs_when_given_a_secret(http_server: HttpPeer) -> None:
    alert = AlertmanagerAlert.from_incident(INCIDENT, id="a-1")
    await AlertmanagerWebhookSink(http_server.url, secret=SECRET, timeout_s=5).deliver([alert.to_item()])

    (got,) = http_server.received
    assert verify_signature(got.body, got.headers[SIGNATURE_HEADER.lower()], SECRET)


@pytest.mark.parametrize(("status", "rejected"), [(500, False), (400, True)])
async def test_alertmanager_sink_error_classes(http_server: HttpPeer, status: int, rejected: bool) -> None:
    http_server.statuses.append(status)
    alert = AlertmanagerAlert.from_incident(INCIDENT, id="a-2")

    with pytest.raises(TicketError) as caught:
        await AlertmanagerWebhookSink(http_server.url, timeout_s=5).deliver([alert.to_item()])

    assert isinstance(caught.value, TicketRejected) is rejected


def test_alert_without_alertname_is_rejected() -> None:
    with pytest.raises(TicketRejected) as caught:
        AlertmanagerAlert.from_item({"id": "a-3", "status": "firing", "labels": {"device": "x"}, "starts_at": 0})
    assert caught.value.item_id == "a-3"


def test_alert_round_trips_through_an_outbox_item() -> None:
    alert = AlertmanagerAlert.from_incident(INCIDENT, id="a-4")
    assert AlertmanagerAlert.from_item(json.loads(json.dumps(alert.to_item()))) == alert


def test_alertmanager_texts_for_people_are_the_rendered_message_and_labels_keep_the_ids() -> None:
    subject = "[PULIH] Router KIM Ketenger (Desa Ketenger, Baturraden) kembali terjangkau"
    resolved = dataclasses.replace(INCIDENT, resolved_at=1_780_012_600.0)
    alert = AlertmanagerAlert.from_incident(resolved, id="a-3", summary=subject, description=f"{subject}\n\nPulih: ...")
    assert alert.annotations == {"summary": subject, "description": f"{subject}\n\nPulih: ...",
                                 "incident": INCIDENT.id}
    assert alert.labels["alertname"] == "device_down" and alert.labels["owner"] == "pemda"  # machine fields: ids
