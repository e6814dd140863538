"""Plain-Python SNMP values, as the transport hands them to the pure profile mapping.

The transport adapter converts library types: integers of every SMI kind (Integer32, Counter32/64,
Gauge32, TimeTicks in hundredths) to `int`, OCTET STRING to `bytes`, OBJECT IDENTIFIER and IpAddress to
dotted `str`. Exceptions (noSuchObject, noSuchInstance, endOfMibView: `Missing` in a reply) are left out of
`Varbinds`: an absent key.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping

SnmpValue = int | str | bytes
Varbinds = Mapping[str, SnmpValue]  # numeric OID without leading dot -> value


class Missing(enum.Enum):
    """The RFC 3416 exception values a reply can carry instead of a value."""

    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


ReplyValue = SnmpValue | Missing | None  # one varbind of a reply, as the transport reads it (None: NULL)


@functools.lru_cache(maxsize=1 << 16)  # the same few hundred OIDs, poll after poll
def oid_tuple(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.strip(".").split(".") if part)


@functools.lru_cache(maxsize=1 << 16)
def oid_str(oid: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in oid)


def under(oid: str, prefix: str) -> str | None:
    """The index suffix of `oid` below `prefix` ("1.3.6.1.2.1.2.2.1.2.7" under "...2.1.2" -> "7")."""
    if oid.startswith(prefix) and len(oid) > len(prefix) and oid[len(prefix)] == ".":
        return oid[len(prefix) + 1:]
    return None
