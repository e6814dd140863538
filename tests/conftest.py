"""Shared fixtures. Real peers live in peers.py (snmpd, promtool, misbehaving UDP endpoints),
smtp_peer.py (aiosmtpd) and http_peer.py (an HTTP server recording POSTs)."""

from database_fixture import database_url
from http_peer import http_server
from peers import snmpd_agent
from smtp_peer import smtp_server, smtp_tls_server

# --- snmpsim serving the shared corpus recordings (owner: SNMP profiles; see tests/snmpsim_fixture.py) ---
from snmpsim_fixture import snmpsim

# --- end snmpsim ---

__all__ = ["database_url", "http_server", "smtp_server", "smtp_tls_server", "snmpd_agent", "snmpsim"]
