"""Shared fixtures. Real peers live in peers.py (snmpd, promtool, misbehaving UDP endpoints)."""

from peers import snmpd_agent

__all__ = ["snmpd_agent"]
