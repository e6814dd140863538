"""The embedded demo's inventory: the simulated KIM sites of `netmon/demo/fleet.yaml`, as a `Config`.

Used by `netmon run` without `--config`. The community strings are the simulator's own demo values,
not secrets of any real device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import yaml

from netmon.config.loader import Config
from netmon.config.schema import ExporterConfig, SchedulerConfig
from netmon.model import AssetRecord, Contact, Device, Owner, Role, Secret, Site, SnmpSettings, SnmpV2cAuth, Source
from netmon.simulate.fleet import SimDevice, SimSite

DEMO_INTERVAL_S = 15.0


def demo_config(sites: Iterable[SimSite], devices: Iterable[SimDevice], *, port: int = 9877,
                interval_s: float = DEMO_INTERVAL_S) -> Config:
    site_records = {
        s.id: Site(id=s.id, name=s.name, desa=s.desa, kecamatan=s.kecamatan, kabupaten=s.kabupaten,
                   latitude=s.latitude, longitude=s.longitude,
                   kim_contact=Contact(s.contact) if s.contact else None)
        for s in sites
    }
    sim_devices = list(devices)
    routers = {d.site_id: d.device_id for d in sim_devices if d.role == Role.ROUTER.value}
    device_records: dict[str, Device] = {}
    for number, sim in enumerate(sim_devices, 1):
        role = Role(sim.role) if sim.role in Role.__members__.values() else Role.OTHER
        device_records[sim.device_id] = Device(
            id=sim.device_id,
            site=sim.site_id or "",
            role=role,
            address=sim.host,
            sources=(Source.SNMP,),
            owner=Owner.PEMDA,
            profile=None,  # chosen by discovery, as for real devices
            parent=routers.get(sim.site_id) if role is not Role.ROUTER else None,
            interval_s=interval_s,
            asset=AssetRecord(kode_barang="02.06.02.01.001" if role is Role.ROUTER else "02.06.02.01.002",
                              nomor_register=f"{number:04d}", serial=sim.serial, model=sim.model,
                              year_acquired=2024),
            snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(sim.community)), port=sim.port, timeout_s=1.0,
                              retries=1),
        )
    return Config(
        sites=site_records,
        devices=device_records,
        exporter=ExporterConfig(listen="127.0.0.1", port=port),
        scheduler=SchedulerConfig(jitter_s=1.0, poll_deadline_s=10.0),
        files=("<embedded demo>",),
    )


def demo_config_yaml(sites: Iterable[SimSite], devices: Iterable[SimDevice],
                     secret_name: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """A config file (YAML text) pointing at simulated devices, for `netmon simulate snmp --write-config`,
    and the secret files it refers to ({file name: community}). `secret_name(credential)` names each file:
    a real deployment keeps secrets out of the config too."""
    sim_devices = list(devices)
    communities = dict.fromkeys(d.community for d in sim_devices)
    credentials = {c: f"sim-{n}" for n, c in enumerate(communities, 1)}
    files = {secret_name(name): community for community, name in credentials.items()}
    routers = {d.site_id: d.device_id for d in sim_devices if d.role == Role.ROUTER.value}
    doc = {
        "defaults": {"interval_s": DEMO_INTERVAL_S, "snmp": {"timeout_s": 1.0, "retries": 1}},
        "credentials": {name: {"snmp_v2c": {"community": {"file": secret_name(name)}}}
                        for name in credentials.values()},
        "sites": [{k: v for k, v in {
            "id": s.id, "name": s.name, "desa": s.desa, "kecamatan": s.kecamatan, "kabupaten": s.kabupaten,
            "latitude": s.latitude, "longitude": s.longitude,
            "kim_contact": {"name": s.contact} if s.contact else None}.items() if v is not None}
            for s in sites],
        "devices": [{k: v for k, v in {
            "id": d.device_id, "site": d.site_id, "role": d.role, "address": d.host,
            "credential": credentials[d.community], "snmp": {"port": d.port},
            "parent": routers.get(d.site_id) if d.role != Role.ROUTER.value else None,
            "asset": {"serial": d.serial, "model": d.model} if d.serial or d.model else None}.items()
            if v is not None} for d in sim_devices],
    }
    header = "# Written by `netmon simulate snmp --write-config`: the simulated demo devices.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), files
