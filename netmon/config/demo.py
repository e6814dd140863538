"""The embedded demo's configuration: the simulated KIM sites of `netmon/demo/fleet.yaml` (SNMP) and
`netmon/demo/routeros.yaml` (RouterOS API), written as an ordinary config file with secret files, so the
demo goes through the same loading and validation as a real deployment.

Used by `netmon run` without `--config` and by `netmon simulate ... --write-config`. The communities
and passwords are the simulators' own demo values, not secrets of any real device. The simulated devices come
in from the caller as records of the shape `SnmpAgentEntry` / `ApiRouterEntry` (netmon.simulate's `SimDevice`
and `SimRouter` are such records); this module does not import the simulator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from netmon.model import Contact, Owner, Role, Site


class SnmpAgentEntry(Protocol):
    """A simulated SNMP agent, as the demo config needs it (netmon.simulate.fleet.SimDevice is one)."""

    @property
    def device_id(self) -> str: ...
    @property
    def site_id(self) -> str | None: ...
    @property
    def role(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def community(self) -> str: ...


class ApiRouterEntry(Protocol):
    """A simulated RouterOS API router (netmon.simulate.routeros.server.SimRouter is one)."""

    @property
    def router_id(self) -> str: ...
    @property
    def site_id(self) -> str | None: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def tls(self) -> bool: ...
    @property
    def tls_anonymous(self) -> bool: ...

DEMO_INTERVAL_S = 15.0
KIM_OWNED = {"kim-ketenger-rb951"}  # the KIM bought this old router itself: its alerts go to the KIM contact


def demo_document(sites: Iterable[Site], devices: Iterable[SnmpAgentEntry] = (), routers: Iterable[ApiRouterEntry] = (),
                  *, interval_s: float = DEMO_INTERVAL_S, port: int = 9877,
                  tls_ca_file: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """A config document for simulated devices and the secrets it refers to ({credential name: secret}).

    A router simulated on both sides (same id in `devices` and `routers`) is one device with two sources.
    A router served over API-SSL gets `routeros: {tls: true, tls_ca_file: ...}` (the simulator's CA).
    """
    sim_devices, sim_routers = list(devices), list(routers)
    api = {r.router_id: r for r in sim_routers}
    book = _SecretBook()
    entries: list[dict[str, Any]] = []
    for sim in sim_devices:
        entry: dict[str, Any] = {"id": sim.device_id, "site": sim.site_id, "role": sim.role, "address": sim.host,
                                 "sources": ["snmp"], "credential": book.credential("snmp", sim.community),
                                 "snmp": {"port": sim.port}}
        router = api.pop(sim.device_id, None)
        if router is not None:
            entry["sources"].append("routeros")
            entry["routeros_credential"] = book.api_credential(router)
            entry["routeros"] = _api_options(router, tls_ca_file)
        entries.append(entry)
    for router in api.values():
        entries.append({"id": router.router_id, "site": router.site_id, "role": "router", "address": router.host,
                        "sources": ["routeros"], "routeros_credential": book.api_credential(router),
                        "routeros": _api_options(router, tls_ca_file)})
    gateways = {d.site_id: d.device_id for d in sim_devices if d.role == Role.ROUTER.value}
    for r in sim_routers:
        gateways.setdefault(r.site_id, r.router_id)
    _add_asset_fields(entries, gateways)
    doc = {
        "defaults": {"interval_s": interval_s, "snmp": {"timeout_s": 1.0, "retries": 1},
                     "routeros": {"timeout_s": 3.0}},
        "exporter": {"listen": "127.0.0.1", "port": port},
        "scheduler": {"jitter_s": 1.0, "poll_deadline_s": 10.0},
        "credentials": book.credentials(),
        "sites": [{k: v for k, v in {
            "id": s.id, "name": s.name, "desa": s.desa, "kecamatan": s.kecamatan, "kabupaten": s.kabupaten,
            "latitude": s.latitude, "longitude": s.longitude,
            "kim_contact": _contact(s.kim_contact)}.items() if v is not None}
            for s in sites],
        "devices": entries,
    }
    return doc, book.secrets


class _SecretBook:
    """The demo's credentials: one per distinct secret of a kind ("snmp-1", "api-2", ...), each in a file."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # credential name -> secret
        self._api_users: dict[str, str] = {}  # RouterOS credential name -> user

    def credential(self, kind: str, secret: str) -> str:
        for name, value in self.secrets.items():
            if value == secret and name.startswith(kind):
                return name
        name = f"{kind}-{sum(n.startswith(kind) for n in self.secrets) + 1}"
        self.secrets[name] = secret
        return name

    def api_credential(self, router: ApiRouterEntry) -> str:
        name = self.credential("api", router.password)
        self._api_users[name] = router.user
        return name

    def credentials(self) -> dict[str, Any]:
        """The `credentials:` section, secrets referred to as `<name>.secret` files."""
        out: dict[str, Any] = {}
        for name in self.secrets:
            if name.startswith("snmp"):
                out[name] = {"snmp_v2c": {"community": {"file": f"{name}.secret"}}}
            else:
                out[name] = {"routeros": {"user": self._api_users[name], "password": {"file": f"{name}.secret"}}}
        return out


def _add_asset_fields(entries: list[dict[str, Any]], gateways: Mapping[str | None, str]) -> None:
    """Parent (the site's router), owner and asset register numbers of each device entry."""
    for number, entry in enumerate(entries, 1):
        if entry["role"] != Role.ROUTER.value and entry["site"] in gateways:
            entry["parent"] = gateways[entry["site"]]
        if entry["id"] in KIM_OWNED:
            entry["owner"] = Owner.KIM.value
        entry["asset"] = {"kode_barang": "02.06.02.01.001" if entry["role"] == "router" else "02.06.02.01.002",
                          "nomor_register": f"{number:04d}", "year_acquired": 2024}


def _api_options(router: ApiRouterEntry, tls_ca_file: str | None) -> dict[str, Any]:
    if not router.tls:
        return {"port": router.port}
    if router.tls_anonymous or tls_ca_file is None:
        return {"port": router.port, "tls": True, "tls_verify": False}
    return {"port": router.port, "tls": True, "tls_ca_file": tls_ca_file}


def _contact(contact: Contact | None) -> dict[str, str] | None:
    if contact is None:
        return None
    return {k: v for k, v in {"name": contact.name, "phone": contact.phone, "email": contact.email}.items() if v}


def write_demo_config(path: Path, sites: Iterable[Site], devices: Iterable[SnmpAgentEntry] = (),
                      routers: Iterable[ApiRouterEntry] = (), *, port: int = 9877,
                      tls_ca_pem: bytes | None = None) -> Path:
    """Write the config for simulated devices to `path`, with each secret in its own file beside it
    (mode 0600), as a real deployment keeps secrets out of the config. `tls_ca_pem` (the RouterOS
    simulator's CA, for routers served over API-SSL) is written beside it as `routeros-ca.pem`."""
    ca_file = None
    if tls_ca_pem is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ca_path = path.parent / "routeros-ca.pem"
        ca_path.write_bytes(tls_ca_pem)
        ca_file = str(ca_path.resolve())
    doc, secrets = demo_document(sites, devices, routers, port=port, tls_ca_file=ca_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, secret in secrets.items():
        secret_path = path.parent / f"{name}.secret"
        secret_path.write_text(secret + "\n", encoding="utf-8")
        secret_path.chmod(0o600)
    header = "# Written by kim-netmon for its simulated demo devices (`netmon simulate ... --write-config`).\n"
    # written whole, then renamed into place: whoever waits for the file (a script, a test) never reads half of it
    partial = path.with_name(path.name + ".partial")
    partial.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    partial.replace(path)
    return path
