"""The seam between the SNMP collector and the wire: what `SnmpCollector` asks of one device's agent.

`collectors/snmp/transport.py`'s `SnmpTransport` (pysnmp and the v2c fast path) is the real one; tests give
the collector a fake of the same Protocol (`SnmpCollector(..., open_reader=...)`), e.g. one that answers from
a corpus recording or fails a chosen table, instead of patching the transport class. As RouterOS's
`fetch.ApiClient`, the Protocol names only what the collector uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from collectors.snmp.varbind import SnmpValue
from netmon.model import Device


class SnmpReader(Protocol):
    """Requests to one device. Absent objects are left out of the answers (never None values); failures
    raise `CollectorError` subclasses (`DeviceUnreachable`, `AuthenticationFailed`, `DeviceProtocolError`)."""

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        """GET of scalar OIDs (with .0): {oid: value} of those the agent has."""
        ...

    async def next(self, oid: str) -> tuple[str, SnmpValue] | None:
        """GETNEXT: the first object after `oid`, or None at the end of the MIB view."""
        ...

    async def walk(self, columns: Iterable[str]) -> dict[str, SnmpValue]:
        """Every object under each of the table `columns`: {oid: value}."""
        ...


OpenReader = Callable[[Device], Awaitable[SnmpReader]]  # a device (with SNMP settings) -> its reader
