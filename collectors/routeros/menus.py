"""The pure layer of RouterOS collection: what to request from each menu, and rows -> samples.

The fetch code (collector.py) asks `client.print(path, proplist=PROPLISTS[path])` and hands the rows
(raw wire strings) to the functions exported here. Nothing in this package does I/O. Bad-data rule, as
in the SNMP mapping: a value that is missing or unparsable is skipped (its sample is left out, never
exported as 0) and the rest is still mapped; nothing here raises on device data.
"""

from __future__ import annotations

import ipaddress

from collectors.routeros.dhcp import dhcp_lease_samples
from collectors.routeros.hotspot import HotspotTraffic, hotspot_active_samples, hotspot_host_samples
from collectors.routeros.interfaces import interface_samples
from collectors.routeros.parse import Rows, boolean, field, mac
from collectors.routeros.system import health_samples, identity, resource_samples
from collectors.routeros.wireless import registration_samples, wireless_interfaces, with_idle_interfaces

# menu path -> `.proplist` the collector requests. An empty tuple means "no .proplist": the menu is small
# and its field names vary (`/system/health` has two shapes; `/interface/wifi` keeps its settings in
# dotted properties whose acceptance in `.proplist` is not verified from a recording).
# MAC fields are requested only for `client_macs` (hashed by the caller at once, never stored).
PROPLISTS: dict[str, tuple[str, ...]] = {
    "/system/resource": ("uptime", "cpu-load", "free-memory", "total-memory", "version", "board-name"),
    "/system/routerboard": ("model", "serial-number"),
    "/system/health": (),
    "/interface": (".id", "name", "type", "rx-byte", "tx-byte", "running", "disabled"),
    "/interface/wireless": ("name", "ssid", "band", "frequency", "master-interface"),
    "/interface/wifi": (),
    "/interface/wifiwave2": (),
    "/interface/wireless/registration-table": ("interface", "ap", "wds", "mac-address"),
    "/interface/wifi/registration-table": ("interface", "ssid", "band", "mac-address"),
    "/interface/wifiwave2/registration-table": ("interface", "ssid", "band", "mac-address"),
    "/caps-man/registration-table": ("interface", "ssid", "mac-address"),
    "/ip/hotspot/active": (".id", "server", "bytes-in", "bytes-out", "uptime", "mac-address"),
    "/ip/hotspot/host": ("server", "mac-address"),
    "/ip/dhcp-server/lease": ("server", "active-server", "status", "active-mac-address", "mac-address"),
    "/ip/neighbor": ("address", "address4", "identity", "platform", "board"),
}


def neighbour_addresses(rows: Rows) -> tuple[str, ...]:
    """IPv4 addresses of the network equipment in `/ip/neighbor` (routers, switches and APs announcing
    themselves by MNDP, LLDP or CDP; phones and laptops do not). Sorted, without duplicates; rows with no
    valid IPv4 address are skipped."""
    found: set[str] = set()
    for row in rows:
        for key in ("address4", "address"):
            text = row.get(key, "").strip()
            try:
                found.add(str(ipaddress.IPv4Address(text)))
                break
            except ValueError:
                continue
    return tuple(sorted(found))


def client_macs(*row_lists: Rows) -> set[str]:
    """MAC addresses of client devices in registration tables (`mac-address`), hotspot active/host rows
    (`mac-address`) and DHCP leases (`active-mac-address`, else `mac-address`), upper-case colon form.

    Leases whose `status` is not `bound` and registration rows of access points or WDS peers (`ap=true`,
    `wds=true`) are not clients and are left out. Only for the caller to turn into keyed hashes at once:
    never log, label or store the result.
    """
    found: set[str] = set()
    for rows in row_lists:
        for row in rows:
            status = row.get("status")
            if status is not None and status != "bound":
                continue
            if boolean(row.get("ap", "")) or boolean(row.get("wds", "")):
                continue
            address = mac(field(row, "active-mac-address", "mac-address") or "")
            if address:
                found.add(address)
    return found


__all__ = [
    "PROPLISTS",
    "HotspotTraffic",
    "client_macs",
    "dhcp_lease_samples",
    "health_samples",
    "hotspot_active_samples",
    "hotspot_host_samples",
    "identity",
    "interface_samples",
    "neighbour_addresses",
    "registration_samples",
    "resource_samples",
    "wireless_interfaces",
    "with_idle_interfaces",
]
