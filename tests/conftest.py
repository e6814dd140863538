"""Shared fixtures. Real peers live in peers.py (snmpd, promtool, misbehaving UDP endpoints) and
smtp_peer.py (aiosmtpd)."""

from peers import snmpd_agent
from smtp_peer import smtp_server, smtp_tls_server

# --- snmpsim serving the shared corpus recordings (owner: SNMP profiles; see tests/snmpsim_fixture.py) ---
from snmpsim_fixture import snmpsim

# --- end snmpsim ---

__all__ = ["smtp_server", "smtp_tls_server", "snmpd_agent", "snmpsim"]
