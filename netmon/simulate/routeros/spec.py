"""What one simulated RouterOS router is: declarative specs read from YAML (no time, no I/O but loading).

`netmon/demo/routeros.yaml` holds the demo fleet; every key below is a YAML key of the same name (unknown
keys are errors). Rates are bytes a second at the daily peak (see `netmon.simulate.variation`); `seed`
strings make the moving values deterministic (and equal to the SNMP simulator's where they share a seed).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from netmon.errors import ConfigError

PACKAGES = frozenset({"wireless", "wifi", "hotspot", "dhcp"})


@dataclass(frozen=True, slots=True)
class InterfaceSpec:
    name: str
    type: str = "ether"  # ether, wlan (legacy wireless), wifi (wifi package), bridge, vlan, ...
    mac: str = "00:00:00:00:00:00"
    rx_rate: float = 0.0  # bytes/s received at the daily peak
    tx_rate: float = 0.0
    rx_initial: int = 0  # counter value when the simulator starts
    tx_initial: int = 0
    running: bool = True
    disabled: bool = False
    slave: bool = False  # bridge port
    link_downs: int = 0
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class RadioSpec:
    """A wireless interface (legacy `wireless` or `wifi` package, by the router's packages)."""

    name: str
    ssid: str
    band: str = "2ghz-b/g/n"
    frequency: int = 2437
    channel_width: str = "20mhz"
    peak_clients: int = 0
    seed: str = ""  # default: "<router_id>-<name>"
    security: str = "open"  # open (hotspot SSIDs) or wpa2-psk
    hotspot: str = ""  # the hotspot server its clients join (default: the router's first)


@dataclass(frozen=True, slots=True)
class BridgedApSpec:
    """An access point bridged behind the router (in the demo, a device of the SNMP simulator's fleet): its
    radios' clients are the router's hotspot hosts and DHCP clients, but not in the router's registration
    table. Each radio's `seed` and `peak_clients` are the AP's own (its `daily` client-count records), so
    the router's population holds as many of the AP's clients as the AP reports at every instant."""

    device_id: str
    radios: tuple[RadioSpec, ...] = ()  # `seed` defaults to "<device_id>-<name>"


@dataclass(frozen=True, slots=True)
class HotspotSpec:
    name: str = "hotspot1"
    interface: str = "bridge"
    address_pool: str = "hs-pool-1"
    profile: str = "hsprof1"
    wired_peak: int = 2  # users on a cable (no radio entry) at the daily peak
    login_share: float = 0.85  # share of the hosts that log in (the rest only open the login page)
    seed: str = ""  # default: "<router_id>-hotspot" (wired users: "<seed>-wired")
    network: str = "10.5.50.0/24"  # the hotspot network (`10.5.50.` also accepted); see population.py


@dataclass(frozen=True, slots=True)
class DhcpSpec:
    name: str = "dhcp1"
    interface: str = "bridge"
    lease_time_s: int = 3600
    extra_leases: int = 4  # static leases (CCTV, printer, ...), bound part of the time
    hotspot: str | None = None  # the hotspot whose network it serves (its clients' leases)
    peak_leases: int = 0  # LAN clients at the daily peak, when `hotspot` is not set
    seed: str = ""
    network: str = "192.168.88.0/24"  # used when `hotspot` is not set (`192.168.88.` also accepted)


@dataclass(frozen=True, slots=True)
class NeighborSpec:
    """Equipment announcing itself next to the router (MNDP/LLDP/CDP), as `/ip/neighbor` lists it."""

    address: str
    interface: str = "ether2"  # the router's port; shown as "<port>,<bridge>" when `bridge` is set
    bridge: str = ""
    mac: str = "00:00:00:00:00:00"
    identity: str = "MikroTik"
    platform: str = "MikroTik"
    version: str = ""  # RouterOS version of a MikroTik neighbour ("" for other vendors)
    board: str = ""
    interface_name: str = "ether1"  # the neighbour's own port
    system_caps: str = "bridge,router"
    system_caps_enabled: str = "bridge"
    uptime_s: int = 86400  # its uptime when the simulator starts


@dataclass(frozen=True, slots=True)
class HealthSpec:
    voltage_dv: int | None = 240  # deci-volts (the SNMP gauge unit)
    temperature_c: int | None = 45
    cpu_temperature_c: int | None = None
    spread: int = 2
    seed: str = ""


@dataclass(frozen=True, slots=True)
class RouterSpec:
    """Identity and contents of one router; `version` decides v6/v7 formats and which menus exist."""

    router_id: str
    version: str
    channel: str = "stable"
    model: str = "RBD52G-5HacD2HnD"
    board_name: str = "hAP ac^2"
    serial: str = "HEXXXXXXXXX"
    firmware: str | None = None  # RouterBOOT current-firmware (default: version)
    factory_firmware: str = "6.44"
    firmware_type: str = "ipq4000L"
    identity: str = "MikroTik"
    architecture: str = "arm"
    cpu: str = "ARM"
    cpu_count: int = 4
    cpu_frequency: int = 716
    cpu_load: int = 8  # percent at night; the daily curve adds up to `cpu_load_peak`
    cpu_load_peak: int = 35
    total_memory: int = 134217728
    total_hdd: int = 16777216
    uptime_s: int = 3600  # uptime when the simulator starts
    build_time: str = "2024-09-20 13:00:27"
    packages: frozenset[str] = frozenset({"wireless", "hotspot", "dhcp"})
    interfaces: tuple[InterfaceSpec, ...] = ()
    radios: tuple[RadioSpec, ...] = ()
    hotspots: tuple[HotspotSpec, ...] = ()
    dhcp_servers: tuple[DhcpSpec, ...] = ()
    neighbors: tuple[NeighborSpec, ...] = ()
    bridged_aps: tuple[BridgedApSpec, ...] = ()
    health: HealthSpec = field(default_factory=HealthSpec)

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.version)

    @property
    def v7(self) -> bool:
        return self.version_tuple >= (7,)


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        parts = tuple(int(p) for p in version.split(" ")[0].split("."))
    except ValueError as exc:
        raise ConfigError(f"bad RouterOS version {version!r}", key="version") from exc
    return parts + (0,) * (3 - len(parts))


T = TypeVar("T")


def build(cls: type[T], raw: dict[str, Any], where: str) -> T:
    """A spec dataclass from a YAML mapping; unknown keys are errors."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping", key=where)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}", key=where)
    try:
        return cls(**raw)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}", key=where) from exc


def router_spec(raw: dict[str, Any]) -> RouterSpec:
    raw = dict(raw)
    rid = str(raw.get("router_id", "?"))
    nested = {
        "interfaces": tuple(build(InterfaceSpec, r, f"{rid}.interfaces") for r in raw.pop("interfaces", []) or []),
        "radios": tuple(build(RadioSpec, r, f"{rid}.radios") for r in raw.pop("radios", []) or []),
        "hotspots": tuple(build(HotspotSpec, r, f"{rid}.hotspots") for r in raw.pop("hotspots", []) or []),
        "dhcp_servers": tuple(build(DhcpSpec, r, f"{rid}.dhcp_servers") for r in raw.pop("dhcp_servers", []) or []),
        "neighbors": tuple(build(NeighborSpec, r, f"{rid}.neighbors") for r in raw.pop("neighbors", []) or []),
        "bridged_aps": tuple(_bridged_ap(r, f"{rid}.bridged_aps") for r in raw.pop("bridged_aps", []) or []),
        "health": build(HealthSpec, raw.pop("health", {}) or {}, f"{rid}.health"),
    }
    packages = frozenset(raw.pop("packages", ["wireless", "hotspot", "dhcp"]))
    if packages - PACKAGES:
        raise ConfigError(f"{rid}: unknown package(s) {sorted(packages - PACKAGES)}", key="packages")
    spec = build(RouterSpec, {**raw, **nested, "packages": packages}, rid)
    version_tuple(spec.version)
    _check_networks(spec)
    if "wifi" in packages and not spec.v7:
        raise ConfigError(f"{rid}: the wifi package needs RouterOS 7", key="packages")
    return spec


def _bridged_ap(raw: dict[str, Any], where: str) -> BridgedApSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping", key=where)
    raw = dict(raw)
    radios = tuple(build(RadioSpec, r, f"{where}.{raw.get('device_id', '?')}.radios")
                   for r in raw.pop("radios", []) or [])
    return build(BridgedApSpec, {**raw, "radios": radios}, where)


def _check_networks(spec: RouterSpec) -> None:
    """Networks parse, and every hotspot a DHCP server or radio names exists."""
    hotspots = {h.name for h in spec.hotspots}
    for where, text in [*((f"hotspots.{h.name}.network", h.network) for h in spec.hotspots),
                        *((f"dhcp_servers.{d.name}.network", d.network) for d in spec.dhcp_servers)]:
        try:
            ipaddress.IPv4Network(text + "0/24" if text.endswith(".") else text, strict=False)
        except ValueError as exc:
            raise ConfigError(f"{spec.router_id}: bad network {text!r}", key=where) from exc
    for where, name in [*((f"dhcp_servers.{d.name}.hotspot", d.hotspot) for d in spec.dhcp_servers),
                        *((f"radios.{r.name}.hotspot", r.hotspot) for r in spec.radios),
                        *((f"bridged_aps.{ap.device_id}.radios.{r.name}.hotspot", r.hotspot)
                          for ap in spec.bridged_aps for r in ap.radios)]:
        if name and name not in hotspots:
            raise ConfigError(f"{spec.router_id}: no hotspot {name!r}", key=where)
    _check_room(spec)


def _check_room(spec: RouterSpec) -> None:
    """Every client slot gets an address of its own: host `.100 + slot` fits in each client network
    (slots: the router's radios, its bridged APs' radios, wired users, LAN clients; see population.py)."""
    slots = (sum(r.peak_clients for r in spec.radios)
             + sum(r.peak_clients for ap in spec.bridged_aps for r in ap.radios)
             + sum(h.wired_peak for h in spec.hotspots) + sum(d.peak_leases for d in spec.dhcp_servers))
    for where, text in [*((f"hotspots.{h.name}.network", h.network) for h in spec.hotspots),
                        *((f"dhcp_servers.{d.name}.network", d.network) for d in spec.dhcp_servers)]:
        size = ipaddress.IPv4Network(text + "0/24" if text.endswith(".") else text, strict=False).num_addresses
        if slots and 100 + slots > size - 1:
            raise ConfigError(f"{spec.router_id}: {slots} client slots do not fit in {text} (from host .100)",
                              key=where)
