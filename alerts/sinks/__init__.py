"""Ticket sinks: outbox `deliver` callables that hand ticket updates to a helpdesk.

- `mail.MailTicketSink`: ticket mail over SMTP with threading headers (GLPI, osTicket, Zammad).
- `webhook.WebhookTicketSink`: signed JSON webhook; `webhook.AlertmanagerWebhookSink`: Alertmanager
  webhook payloads.

Every sink raises `TicketError` when a batch must be retried, and `TicketRejected` (a subclass) when
the peer refused an item for good (HTTP 4xx other than 408/429, SMTP 5xx): retrying the same bytes
cannot succeed, so the caller sets `item_id` aside (dead letter, alert the operator) instead.
"""

from __future__ import annotations

from netmon.errors import TicketRejected  # defined with the whole tree in netmon.errors

__all__ = ["TicketRejected"]
