"""Shared fixtures. Real peers live in peers.py (snmpd, promtool, misbehaving UDP endpoints)."""

from peers import snmpd_agent

# --- snmpsim serving the shared corpus recordings (owner: SNMP profiles; see tests/snmpsim_fixture.py) ---
from snmpsim_fixture import snmpsim

# --- end snmpsim ---

__all__ = ["snmpd_agent", "snmpsim"]
