"""The I/O layer of RouterOS collection: `fetch_<menu>(client) -> rows`, nothing else.

Each function asks for exactly the properties the pure layer needs (`menus.PROPLISTS`), so the router
does not compute slow properties and the reply stays small. A missing menu (package not installed)
raises `FeatureUnavailable` from the client.
"""

from __future__ import annotations

from typing import Protocol

from collectors.routeros.menus import PROPLISTS

Row = dict[str, str]

RESOURCE = "/system/resource"
ROUTERBOARD = "/system/routerboard"
HEALTH = "/system/health"
INTERFACE = "/interface"
WIRELESS = "/interface/wireless"
WIRELESS_REG = "/interface/wireless/registration-table"
WIFI = "/interface/wifi"
WIFI_REG = "/interface/wifi/registration-table"
CAPSMAN_REG = "/caps-man/registration-table"
HOTSPOT = "/ip/hotspot"
HOTSPOT_ACTIVE = "/ip/hotspot/active"
HOTSPOT_HOST = "/ip/hotspot/host"
DHCP_SERVER = "/ip/dhcp-server"
DHCP_LEASE = "/ip/dhcp-server/lease"
NEIGHBOR = "/ip/neighbor"


class ApiClient(Protocol):
    async def print(self, path: str, *, proplist: tuple[str, ...] | list[str] = (),
                    where: dict[str, str] | None = None, queries: tuple[str, ...] | list[str] = ()) -> list[Row]: ...

    async def count(self, path: str, *, where: dict[str, str] | None = None,
                    queries: tuple[str, ...] | list[str] = ()) -> int: ...


async def fetch(client: ApiClient, path: str) -> list[Row]:
    return await client.print(path, proplist=PROPLISTS.get(path, ()))


async def fetch_resource(client: ApiClient) -> list[Row]:
    return await fetch(client, RESOURCE)


async def fetch_routerboard(client: ApiClient) -> list[Row]:
    return await fetch(client, ROUTERBOARD)


async def fetch_health(client: ApiClient) -> list[Row]:
    return await fetch(client, HEALTH)


async def fetch_interfaces(client: ApiClient) -> list[Row]:
    return await fetch(client, INTERFACE)


async def fetch_hotspot_servers(client: ApiClient) -> list[Row]:
    return await client.print(HOTSPOT, proplist=("name", "disabled"))


async def fetch_dhcp_servers(client: ApiClient) -> list[Row]:
    return await client.print(DHCP_SERVER, proplist=("name", "disabled"))


async def fetch_hotspot_active(client: ApiClient) -> list[Row]:
    return await fetch(client, HOTSPOT_ACTIVE)


async def fetch_hotspot_hosts(client: ApiClient) -> list[Row]:
    return await fetch(client, HOTSPOT_HOST)


async def fetch_dhcp_leases(client: ApiClient) -> list[Row]:
    # only bound leases cross the wire
    return await client.print(DHCP_LEASE, proplist=PROPLISTS.get(DHCP_LEASE, ()), where={"status": "bound"})
