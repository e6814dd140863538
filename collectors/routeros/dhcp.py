"""`/ip/dhcp-server/lease` rows -> bound leases per DHCP server. Pure; addresses and host names are
never read into labels."""

from __future__ import annotations

from collectors.routeros.parse import Rows, field
from netmon.model import Sample

LEASES_HELP = "Active DHCP leases."


def dhcp_lease_samples(rows: Rows) -> list[Sample]:
    """`netmon_dhcp_leases_active{server}` = leases with `status=bound`, per `server` (`active-server` when
    `server` is empty). Every server that appears in the rows gets a series, 0 when none of its leases is
    bound (e.g. only `waiting` static leases). Rows without a server or without a status (HA's trimmed
    fixture) are skipped: they cannot be attributed or judged."""
    counts: dict[str, int] = {}
    for row in rows:
        server = (field(row, "server", "active-server") or "").strip()
        status = row.get("status", "").strip()
        if not server or not status:
            continue
        counts[server] = counts.get(server, 0) + (status == "bound")
    return [Sample("netmon_dhcp_leases_active", float(n), (("server", server),), help=LEASES_HELP)
            for server, n in sorted(counts.items())]
