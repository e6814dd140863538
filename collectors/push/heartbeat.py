"""A router's pushed heartbeat (collectors.push.payload) -> samples, identity and the router's own time. Pure.

The samples carry the same metric names, labels and help texts as the RouterOS API collector's, computed by
the same functions where the push carries the API's rows (`/system/resource`, `/system/health`, `/interface`,
the wireless interfaces) and from the counts the script made where it carries counts (registration tables,
hotspot active and hosts, bound DHCP leases per server), so dashboards and alert rules see one kind of series
whichever way a router is read. Not pushed: hotspot traffic (`netmon_hotspot_bytes_total`, which needs every
session's counters), neighbours, and client fingerprints (no MAC address leaves the router).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from collectors.push.payload import Heartbeat, Row
from collectors.routeros.dhcp import LEASES_HELP
from collectors.routeros.hotspot import ACTIVE_HELP, hotspot_host_samples
from collectors.routeros.interfaces import interface_samples
from collectors.routeros.parse import band, timestamp
from collectors.routeros.system import health_samples, identity, resource_samples
from collectors.routeros.wireless import CLIENTS_HELP, wireless_interfaces, with_idle_interfaces
from netmon.model import DeviceIdentity, Sample

PROFILE = "routeros-push"
_OFFSET = re.compile(r"([+-])(\d{1,2}):(\d{2})")


def heartbeat_samples(beat: Heartbeat) -> list[Sample]:
    samples = resource_samples([beat.resource])
    samples += health_samples(list(beat.health))
    samples += interface_samples(list(beat.interfaces))
    samples += wifi_samples(beat.wireless)
    samples += _per_server("netmon_hotspot_active_users", ((r["server"], r["active"]) for r in beat.hotspot),
                           ACTIVE_HELP)
    samples += hotspot_host_samples({r["server"].strip(): int(r["hosts"]) for r in beat.hotspot
                                     if r["server"].strip()})
    samples += _per_server("netmon_dhcp_leases_active", ((r["server"], r["bound"]) for r in beat.dhcp), LEASES_HELP)
    return samples


def heartbeat_identity(beat: Heartbeat) -> DeviceIdentity:
    """Model, firmware and serial as the API collector reads them, under the profile `routeros-push`."""
    return replace(identity([beat.resource], [beat.routerboard]), profile=PROFILE)


def wifi_samples(entries: Sequence[Row]) -> list[Sample]:
    """`netmon_wifi_clients{interface, ssid, band}` from the script's count per radio interface: `clients` rows
    whose peer is a client, `peers` rows whose peer is an access point or WDS bridge (this radio is a station
    then, and shows 0). The band is normalised as the API collector does (a virtual AP takes its master's); an
    idle radio reads 0."""
    interfaces = wireless_interfaces([{k: e[k] for k in ("name", "ssid", "band", "frequency", "master-interface")}
                                      for e in entries])
    out: list[Sample] = []
    for entry in entries:
        name = entry["name"].strip()
        if not name or int(entry["clients"]) == 0:
            continue
        ssid, label = interfaces.get(name, ("", ""))
        labels = (("band", band(entry["band"]) or label), ("interface", name), ("ssid", ssid))
        out.append(Sample("netmon_wifi_clients", float(int(entry["clients"])), labels, help=CLIENTS_HELP))
    return with_idle_interfaces(out, interfaces)


def _per_server(metric: str, counts: Iterable[tuple[str, str]], help_text: str) -> list[Sample]:
    found = {server.strip(): int(n) for server, n in counts if server.strip()}
    return [Sample(metric, float(n), (("server", server),), help=help_text) for server, n in sorted(found.items())]


def gmt_offset_s(text: str) -> int | None:
    """`/system clock get gmt-offset` as seconds east of UTC: a number of seconds (RouterOS gives a negative
    offset as its unsigned 32-bit value, e.g. 4294952896 for -04:00) or `+07:00`/`-04:00`. None otherwise."""
    text = text.strip()
    if text.isascii() and text.lstrip("-").isdigit():
        value = int(text)
        value = value - 2**32 if value >= 2**31 else value
        return value if abs(value) <= 14 * 3600 else None
    match = _OFFSET.fullmatch(text)
    if not match:
        return None
    value = int(match.group(2)) * 3600 + int(match.group(3)) * 60
    return -value if match.group(1) == "-" else value


def router_time(clock: Row) -> float | None:
    """The router's clock as unix time, from its local date (`oct/19/2024` before 7.10, `2024-10-19` after),
    time and GMT offset; None when any part is unreadable."""
    local = timestamp(f"{clock['date'].strip()} {clock['time'].strip()}")
    offset = gmt_offset_s(clock["gmt-offset"])
    if local is None or offset is None:
        return None
    return float(calendar.timegm(local.timetuple()) - offset)
