"""`/interface` rows -> traffic counters and link state per interface. Pure."""

from __future__ import annotations

from collectors.routeros.parse import Rows, boolean, integer
from netmon.model import Sample, SampleKind

RECEIVE_HELP = "Bytes received on the interface."
TRANSMIT_HELP = "Bytes transmitted on the interface."
UP_HELP = "1 if the interface is operationally up, else 0."

# Server-side tunnel interfaces are created dynamically per connected user and named after the user
# (`<pppoe-budi>`, `<l2tp-budi>`): never a label value. Other dynamic interfaces (CAPsMAN `cap-wifi1`
# on a controller) are kept.
PER_USER_TYPES = frozenset({"pppoe-in", "pptp-in", "l2tp-in", "sstp-in", "ovpn-in"})


def _per_user(name: str, kind: str) -> bool:
    return kind in PER_USER_TYPES or (name.startswith("<") and name.endswith(">"))


def interface_samples(rows: Rows) -> list[Sample]:
    """`netmon_interface_receive_bytes_total` (`rx-byte`), `..._transmit_bytes_total` (`tx-byte`), both
    from the router's point of view, and `netmon_interface_up` = `running` and not `disabled`.

    Skipped: rows without a name (Telegraf's recording ends with `{}`), per-user server tunnels (type
    `pppoe-in` & co. or a `<...>` name: their names carry user names), and any value that is missing or
    unparsable. A missing `disabled` counts as enabled. Two rows with the same name (seen in an edited
    recording, not possible on a router) are told apart as `name#.id`, the SNMP mapping's convention.
    """
    out: list[Sample] = []
    seen: set[str] = set()
    for row in rows:
        name = row.get("name", "").strip()
        if not name or _per_user(name, row.get("type", "")):
            continue
        if name in seen:
            name = f"{name}#{row.get('.id', '?')}"
        seen.add(name)
        labels = (("interface", name),)
        rx = integer(row.get("rx-byte", ""))
        if rx is not None:
            out.append(Sample("netmon_interface_receive_bytes_total", float(rx), labels, SampleKind.COUNTER,
                              RECEIVE_HELP))
        tx = integer(row.get("tx-byte", ""))
        if tx is not None:
            out.append(Sample("netmon_interface_transmit_bytes_total", float(tx), labels, SampleKind.COUNTER,
                              TRANSMIT_HELP))
        running = boolean(row.get("running", ""))
        disabled = boolean(row.get("disabled", "")) or False
        if running is not None:
            out.append(Sample("netmon_interface_up", 1.0 if running and not disabled else 0.0, labels,
                              help=UP_HELP))
    return out
