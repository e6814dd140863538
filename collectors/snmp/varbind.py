"""Plain-Python SNMP values, as the transport hands them to the pure profile mapping.

The transport adapter converts library types: integers of every SMI kind (Integer32, Counter32/64,
Gauge32, TimeTicks in hundredths) to `int`, OCTET STRING to `bytes`, OBJECT IDENTIFIER and IpAddress to
dotted `str`. Exceptions (noSuchObject, noSuchInstance, endOfMibView) are left out: an absent key.
"""

from __future__ import annotations

from collections.abc import Mapping

SnmpValue = int | str | bytes
Varbinds = Mapping[str, SnmpValue]  # numeric OID without leading dot -> value


def oid_tuple(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.strip(".").split(".") if part)


def oid_str(oid: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in oid)


def under(oid: str, prefix: str) -> str | None:
    """The index suffix of `oid` below `prefix` ("1.3.6.1.2.1.2.2.1.2.7" under "...2.1.2" -> "7")."""
    if oid.startswith(prefix) and len(oid) > len(prefix) and oid[len(prefix)] == ".":
        return oid[len(prefix) + 1:]
    return None
