"""RouterOS API polling of one router: discovery (rarely) and polls (every interval).

Discovery learns the identity (routerboard serial, model, firmware), which wireless stack the router runs
(legacy wireless package, RouterOS 7 wifi, CAPsMAN), and whether hotspot and DHCP servers exist. A missing
menu is `FeatureUnavailable`: logged once, skipped until the next discovery, the rest still collected.
Polls then read only the menus that exist. Client MAC addresses never leave this module: they are
turned into the day's keyed hashes (`fingerprint(site, mac)`, the key of the site's zone) right away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from collectors.routeros import fetch as f
from collectors.routeros.client import RouterOsClient
from collectors.routeros.menus import (
    HotspotTraffic,
    client_macs,
    dhcp_lease_samples,
    health_samples,
    hotspot_active_samples,
    hotspot_host_samples,
    identity,
    interface_samples,
    neighbour_addresses,
    registration_samples,
    resource_samples,
    wireless_interfaces,
    with_idle_interfaces,
)
from netmon.errors import CollectorError, DeviceProtocolError, FeatureUnavailable
from netmon.model import Device, DeviceIdentity, PollResult, Sample, Source

log = logging.getLogger(__name__)

REDISCOVER_S = 6 * 3600.0
UPTIME = "netmon_device_uptime_seconds"
# wireless stacks: the menu listing interfaces (with SSIDs) and the registration table
STACKS = ((f.WIRELESS, f.WIRELESS_REG), (f.WIFI, f.WIFI_REG), (None, f.CAPSMAN_REG))

Row = dict[str, str]


@dataclass
class _Router:
    client: RouterOsClient
    traffic: HotspotTraffic = field(default_factory=HotspotTraffic)
    identity: DeviceIdentity | None = None
    discovered_at: float = float("-inf")
    last_uptime_s: float | None = None
    missing: set[str] = field(default_factory=set)
    ssids: dict[str, tuple[str, str]] = field(default_factory=dict)
    registration_menus: list[str] = field(default_factory=list)
    hotspot: bool = False
    hotspot_servers: list[str] = field(default_factory=list)
    dhcp_servers: list[str] = field(default_factory=list)


class RouterOsCollector:
    def __init__(self, executor: ThreadPoolExecutor, *, fingerprint: Callable[[str, str], str] | None = None,
                 clock: Callable[[], float] = time.time, rediscover_s: float = REDISCOVER_S) -> None:
        self._executor = executor
        self._fingerprint = fingerprint
        self._clock = clock
        self._rediscover_s = rediscover_s
        self._routers: dict[str, _Router] = {}

    async def poll(self, device: Device) -> PollResult:
        started = self._clock()
        t0 = time.perf_counter()
        try:
            router = self._router(device)
            if started - router.discovered_at >= self._rediscover_s:
                await self._discover(device, router)
                router.discovered_at = started
            samples, macs = await self._read(device, router)
            neighbours = await self._optional(device, router, f.NEIGHBOR, partial(f.fetch, router.client, f.NEIGHBOR))
        except CollectorError as exc:
            return PollResult(device.id, Source.ROUTEROS, started, time.perf_counter() - t0, error=exc)
        fingerprint = self._fingerprint
        fingerprints = frozenset(fingerprint(device.site, m) for m in macs) if fingerprint else frozenset()
        return PollResult(device.id, Source.ROUTEROS, started, time.perf_counter() - t0, samples=tuple(samples),
                          identity=router.identity, fingerprints=fingerprints,
                          neighbours=None if neighbours is None else neighbour_addresses(neighbours))

    async def close(self) -> None:
        routers, self._routers = self._routers, {}
        for router in routers.values():
            await router.client.close()

    def connections(self, device_id: str) -> int:
        router = self._routers.get(device_id)
        return router.client.connects if router else 0

    def stale(self, device_id: str) -> int:
        """Kept connections the router had dropped (a reboot), replaced by a fresh login within the poll."""
        router = self._routers.get(device_id)
        return router.client.stale if router else 0

    def _router(self, device: Device) -> _Router:
        router = self._routers.get(device.id)
        if router is None:
            if device.routeros is None:
                raise DeviceProtocolError("device has no RouterOS API settings")
            router = self._routers[device.id] = _Router(RouterOsClient(device.address, device.routeros,
                                                                        self._executor))
        return router

    async def _optional(self, device: Device, router: _Router, menu: str,
                        call: Callable[[], Awaitable[list[Row]]]) -> list[Row] | None:
        """Read an optional menu; None (logged once) when the router does not have it."""
        if menu in router.missing:
            return None
        try:
            return await call()
        except FeatureUnavailable as exc:
            router.missing.add(menu)
            log.info("device %s: %s not available, skipping it (%s)", device.id, menu, exc,
                     extra={"device": device.id, "menu": menu})
            return None

    async def _discover(self, device: Device, router: _Router) -> None:
        client = router.client
        router.missing.clear()
        resource = await f.fetch_resource(client)
        board = await self._optional(device, router, f.ROUTERBOARD, lambda: f.fetch_routerboard(client)) or []
        router.identity = identity(resource, board)
        router.ssids, router.registration_menus = {}, []
        for listing, registration in STACKS:
            if listing is not None:
                rows = await self._optional(device, router, listing, partial(f.fetch, client, listing))
                if rows is None:
                    continue
                router.ssids.update(wireless_interfaces(rows))
                if not rows:
                    continue
            router.registration_menus.append(registration)
        servers = await self._optional(device, router, f.HOTSPOT, lambda: f.fetch_hotspot_servers(client))
        router.hotspot = bool(servers)
        router.hotspot_servers = [row.get("name", "") for row in servers or [] if row.get("name")]
        dhcp = await self._optional(device, router, f.DHCP_SERVER, lambda: f.fetch_dhcp_servers(client)) or []
        router.dhcp_servers = [row.get("name", "") for row in dhcp if row.get("name")]

    async def _read(self, device: Device, router: _Router) -> tuple[list[Sample], set[str]]:
        client = router.client
        samples = resource_samples(await f.fetch_resource(client))
        self._note_uptime(router, samples)
        health = await self._optional(device, router, f.HEALTH, lambda: f.fetch_health(client))
        samples += health_samples(health or [])
        samples += interface_samples(await f.fetch_interfaces(client))
        seen: list[list[Row]] = []
        for menu in router.registration_menus:
            rows = await self._optional(device, router, menu, partial(f.fetch, client, menu))
            if rows is not None:
                samples += registration_samples(rows, router.ssids)
                seen.append(rows)
        samples = with_idle_interfaces(samples, router.ssids)
        if router.hotspot:
            active = await self._optional(device, router, f.HOTSPOT_ACTIVE, lambda: f.fetch_hotspot_active(client))
            hosts = await self._optional(device, router, f.HOTSPOT_HOST, lambda: f.fetch_hotspot_hosts(client))
            samples += _with_zero_servers(hotspot_active_samples(active or []), ACTIVE_USERS,
                                          router.hotspot_servers)
            samples += router.traffic.update(active or [])
            samples += _with_zero_servers(hotspot_host_samples(hosts or []), HOSTS, router.hotspot_servers)
            seen += [active or [], hosts or []]
        if router.dhcp_servers:
            leases = await self._optional(device, router, f.DHCP_LEASE, lambda: f.fetch_dhcp_leases(client))
            samples += _with_zero_servers(dhcp_lease_samples(leases or []), LEASES, router.dhcp_servers)
            seen.append(leases or [])
        return samples, client_macs(*seen)

    @staticmethod
    def _note_uptime(router: _Router, samples: list[Sample]) -> None:
        """A reboot (uptime going backwards) may mean new firmware or a replaced unit: rediscover."""
        uptime = next((s.value for s in samples if s.metric == UPTIME), None)
        if uptime is not None:
            if router.last_uptime_s is not None and uptime < router.last_uptime_s:
                router.discovered_at = float("-inf")
            router.last_uptime_s = uptime


ACTIVE_USERS, HOSTS, LEASES = "netmon_hotspot_active_users", "netmon_hotspot_hosts", "netmon_dhcp_leases_active"


def _with_zero_servers(samples: list[Sample], metric: str, servers: list[str]) -> list[Sample]:
    """A hotspot or DHCP server (known from discovery) with no session, host or bound lease still shows, as
    0: a night with nobody logged in is a value, not a gap, and a dead pool is visible."""
    present = {dict(s.labels).get("server") for s in samples if s.metric == metric}
    help_text = next((s.help for s in samples if s.metric == metric), "")
    return samples + [Sample(metric, 0, (("server", name),), help=help_text)
                      for name in servers if name not in present]
