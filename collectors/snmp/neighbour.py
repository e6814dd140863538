"""Neighbour tables (LLDP-MIB lldpRemTable, MikroTik MNDP mtxrNeighborTable) -> neighbours. Pure, no I/O.

A profile's `neighbours:` section (collectors/snmp/spec.py, docs/profiles.md) names the columns; this module
reads them out of the varbinds the collector walked. The same bad-data rule as collectors/snmp/mapping.py:
a value that is absent or cannot be interpreted leaves its field empty, and the rest of the row is kept.

Privacy: a field whose text looks like a MAC address is dropped here, whatever the profile says, so no MAC
address leaves this module (the profiles do not read MAC columns at all, as RouterOS `/ip/neighbor` is read
without `mac-address`). Neighbours are network equipment, not the public's phones, but their MACs still
never reach a label, a log line or the database.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from collectors.snmp.mapping import ReadPlan, RowLabels
from collectors.snmp.spec import Decode, NeighbourField, NeighbourSource, ProfileSpec
from collectors.snmp.value import column, decoded
from collectors.snmp.varbind import SnmpValue, Varbinds, oid_tuple

_MAC = re.compile(r"^(?:[0-9a-f]{1,2}[:-]){5}[0-9a-f]{1,2}$|^(?:[0-9a-f]{4}\.){2}[0-9a-f]{4}$|^[0-9a-f]{12}$",
                  re.IGNORECASE)
_IANA_IPV4 = 1  # AddressFamilyNumbers ipV4(1)
_UNSPECIFIED = ipaddress.IPv4Address(0)
_Columns = Callable[[str], Mapping[str, SnmpValue]]  # column OID -> its rows


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One row of a neighbour table. `address` is the only field the unknown-equipment rule uses."""

    table: str  # the profile's neighbour table: lldp, mndp
    index: str  # the row's index in that table
    address: str = ""  # IPv4 management address ("" when the neighbour announces none)
    name: str = ""
    description: str = ""
    platform: str = ""
    version: str = ""
    software_id: str = ""
    chassis_id: str = ""
    port_id: str = ""
    interface: str = ""


def neighbour_plan(spec: ProfileSpec) -> ReadPlan:
    """Every column the profile's neighbour tables read (walked; nothing is a scalar)."""
    walk: set[str] = set()
    for table in spec.neighbours.values():
        walk.update(table.rows)
        for sources in table.fields.values():
            for src in sources:
                walk.update(c for c in (src.walk, src.index_of) if c)
                walk.update(src.where)
    return ReadPlan(walk=tuple(sorted(walk, key=oid_tuple)))


def neighbours(spec: ProfileSpec, varbinds: Varbinds,
               rows: Mapping[str, Mapping[str, RowLabels]]) -> list[Neighbour]:
    """The neighbours in the walked columns, table by table in index order. `rows` are the discovery's
    table rows (for `lookup`, e.g. an MNDP row's ifIndex -> the interface name)."""
    cache: dict[str, dict[str, SnmpValue]] = {}

    def col(oid: str) -> dict[str, SnmpValue]:
        if oid not in cache:
            cache[oid] = column(varbinds, oid)
        return cache[oid]

    found: list[Neighbour] = []
    for table in spec.neighbours.values():
        indexes = {i for c in table.rows for i in col(c)}
        for index in sorted(indexes, key=oid_tuple):
            values = {name.value: _field(name, sources, index, col, rows) for name, sources in table.fields.items()}
            found.append(Neighbour(table=table.name, index=index, **values))
    return found


def neighbour_addresses(found: Iterable[Neighbour]) -> tuple[str, ...]:
    """The IPv4 addresses the neighbours announce: sorted, without duplicates (RouterOS lists a neighbour in
    both its LLDP and its MNDP table)."""
    return tuple(sorted({n.address for n in found if n.address}, key=lambda a: ipaddress.IPv4Address(a)))


def _field(name: NeighbourField, sources: Iterable[NeighbourSource], index: str,
           col: _Columns, rows: Mapping[str, Mapping[str, RowLabels]]) -> str:
    for src in sources:
        if any(_text(col(c).get(index)) not in accepted for c, accepted in src.where.items()):
            continue
        if src.index_of:
            value = _address_in_index(col(src.index_of), index)
        else:
            assert src.walk is not None
            value = _decoded(src, col(src.walk).get(index), name, rows)
        if value:
            return value
    return ""


def _decoded(src: NeighbourSource, raw: SnmpValue | None, name: NeighbourField,
             rows: Mapping[str, Mapping[str, RowLabels]]) -> str:
    if src.decode is Decode.IPV4:
        return _ipv4(raw)
    if src.decode is Decode.FAMILY_ADDRESS:
        if isinstance(raw, bytes) and len(raw) == 5 and raw[0] == _IANA_IPV4:
            return _ipv4(raw[1:])
        return ""
    text = _text(raw)
    if src.lookup is not None:
        text = rows.get(src.lookup, {}).get(text, {}).get(src.label or name.value, "")
    return "" if _MAC.match(text) else text


def _address_in_index(rows: Mapping[str, SnmpValue], index: str) -> str:
    """LLDP-MIB lldpRemManAddrTable: the address is the index after the neighbour's own, as
    <family>.<length>.<octets> (or <family>.<octets> from agents that leave the length out)."""
    prefix = index + "."
    for suffix in sorted((i[len(prefix):] for i in rows if i.startswith(prefix)), key=oid_tuple):
        arcs = oid_tuple(suffix)
        octets = arcs[2:] if len(arcs) == 6 and arcs[1] == 4 else arcs[1:]
        if arcs and arcs[0] == _IANA_IPV4 and len(octets) == 4 and all(0 <= a <= 255 for a in octets):
            address = _ipv4(bytes(octets))
            if address:
                return address
    return ""


def _ipv4(raw: SnmpValue | None) -> str:
    """A usable IPv4 address from an IpAddress (dotted text from the transport), four raw octets or dotted
    text; "" for anything else and for 0.0.0.0 (MNDP's "no address")."""
    try:
        if isinstance(raw, bytes) and len(raw) == 4:
            address = ipaddress.IPv4Address(raw)
        elif isinstance(raw, str | bytes):
            address = ipaddress.IPv4Address(_text(raw))
        else:
            return ""
    except ValueError:
        return ""
    return "" if address == _UNSPECIFIED else str(address)


def _text(raw: SnmpValue | None) -> str:
    """Printable text: bytes decoded (UTF-8, else Latin-1) up to the first NUL (agents pad C buffers), line
    breaks and runs of blanks folded to one space (multi-line system descriptions); "" if not printable."""
    if raw is None:
        return ""
    text = " ".join(decoded(raw).split("\x00", 1)[0].split())
    return text if text.isprintable() else ""

