"""Simulated devices: what each one serves, where, and to whom (no sockets, no pysnmp).

`netmon/demo/fleet.yaml` describes the demo: KIM sites in Kabupaten Banyumas, each with a router and an
access point backed by a `.snmprec` file in `netmon/demo/`. `load_demo_fleet()` reads it; the lead builds
the demo inventory from the returned devices (after `SnmpSimulator.add` has filled in each `port`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netmon.errors import ConfigError
from netmon.model import Contact, Site
from netmon.simulate.fault import FAULTS

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_FLEET = DEMO_DIR / "fleet.yaml"

AUTH_PROTOCOLS = ("none", "sha", "sha256")
PRIV_PROTOCOLS = ("none", "aes128", "aes256")


@dataclass(frozen=True, slots=True)
class V3User:
    """An SNMPv3 USM user. Protocol "none" leaves out that key (noAuthNoPriv, authNoPriv).

    `aes256` uses the key extension of pysnmp's usmAesCfb256Protocol (Reeder, as Cisco); with SHA-256
    authentication the key is long enough that every AES-256 variant agrees (net-snmp's too).
    """

    name: str
    auth_protocol: str = "none"
    auth_key: str | None = None
    priv_protocol: str = "none"
    priv_key: str | None = None

    def __post_init__(self) -> None:
        if self.auth_protocol not in AUTH_PROTOCOLS or self.priv_protocol not in PRIV_PROTOCOLS:
            raise ConfigError(f"v3 user {self.name}: unknown protocol", key="v3_users")
        if (self.auth_protocol != "none") != bool(self.auth_key):
            raise ConfigError(f"v3 user {self.name}: auth_key goes with auth_protocol", key="v3_users")
        if (self.priv_protocol != "none") != bool(self.priv_key):
            raise ConfigError(f"v3 user {self.name}: priv_key goes with priv_protocol", key="v3_users")
        if self.priv_protocol != "none" and self.auth_protocol == "none":
            raise ConfigError(f"v3 user {self.name}: privacy needs authentication", key="v3_users")

    def __repr__(self) -> str:  # keys stay out of logs
        return f"V3User({self.name!r}, {self.auth_protocol}/{self.priv_protocol})"

    @property
    def security_level(self) -> str:
        if self.priv_protocol != "none":
            return "authPriv"
        return "authNoPriv" if self.auth_protocol != "none" else "noAuthNoPriv"


@dataclass(slots=True)
class SimDevice:
    """One simulated SNMP agent. `port` 0 asks for a free port; `SnmpSimulator.add` writes the bound one."""

    device_id: str
    data: Path
    community: str = "public"
    site_id: str | None = None
    role: str = "other"
    host: str = "127.0.0.1"
    port: int = 0
    v3_users: tuple[V3User, ...] = ()
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    profile: str | None = None
    fault: str = "normal"


@dataclass(frozen=True, slots=True)
class Fleet:
    sites: tuple[Site, ...]
    devices: tuple[SimDevice, ...] = field(default_factory=tuple)


def load_fleet(path: Path = DEMO_FLEET) -> Fleet:
    """Read a fleet file; `data` paths are relative to the file's directory."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read fleet: {exc.__class__.__name__}", file=str(path)) from exc
    if not isinstance(doc, dict):
        raise ConfigError("expected a mapping with sites:", file=str(path))
    _only(doc, {"defaults", "sites"}, path, "")
    defaults = doc.get("defaults") or {}
    sites: list[Site] = []
    devices: list[SimDevice] = []
    for raw_site in doc.get("sites") or []:
        site = _site({k: v for k, v in raw_site.items() if k != "devices"}, path)
        sites.append(site)
        for raw in raw_site.get("devices") or []:
            devices.append(_device({**defaults, **raw}, site.id, path))
    ids = [d.device_id for d in devices]
    if len(ids) != len(set(ids)):
        raise ConfigError("duplicate device id", file=str(path), key="devices")
    return Fleet(tuple(sites), tuple(devices))


def load_demo_fleet() -> list[SimDevice]:
    """The demo devices (fresh objects on every call; ports 0 unless fleet.yaml fixes them)."""
    return list(load_fleet(DEMO_FLEET).devices)


def load_demo_sites() -> list[Site]:
    return list(load_fleet(DEMO_FLEET).sites)


def _site(raw: dict[str, Any], path: Path) -> Site:
    """A site as the inventory has it; the fleet file names its KIM contact with `contact: NAME`."""
    _only(raw, set(Site.__dataclass_fields__) - {"kim_contact"} | {"contact"}, path, "sites")
    contact = raw.pop("contact", None)
    try:
        return Site(**raw, kim_contact=Contact(str(contact)) if contact else None)
    except TypeError as exc:
        raise ConfigError(f"a site needs id, name, desa, kecamatan and kabupaten ({exc})", file=str(path),
                          key="sites") from exc


def _device(raw: dict[str, Any], site_id: str, path: Path) -> SimDevice:
    allowed = set(SimDevice.__dataclass_fields__) - {"site_id"}
    _only(raw, allowed, path, "devices")
    if "device_id" not in raw or "data" not in raw:
        raise ConfigError("a device needs device_id and data", file=str(path), key="devices")
    users = tuple(V3User(**u) for u in raw.pop("v3_users", None) or ())
    data = Path(raw.pop("data"))
    if not data.is_absolute():
        data = path.parent / data
    if raw.get("fault", "normal") not in FAULTS:
        raise ConfigError(f"unknown fault {raw['fault']!r}", file=str(path), key="fault")
    return SimDevice(data=data, site_id=site_id, v3_users=users, **raw)


def _only(raw: dict[str, Any], allowed: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)}", file=str(path), key=where or None)
