"""Builders shared by the state tests: devices, sites and poll results from a compact notation."""

from __future__ import annotations

from netmon.errors import DeviceUnreachable
from netmon.model import Device, Owner, PollResult, Role, Sample, Site, Source

CODES = {"p": Source.PING, "s": Source.SNMP, "r": Source.ROUTEROS}


def device(device_id: str, site: str = "s1", sources: str = "p", parent: str | None = None,
           role: Role = Role.ROUTER) -> Device:
    return Device(id=device_id, site=site, role=role, address="10.0.0.1",
                  sources=tuple(CODES[c] for c in sources), owner=Owner.PEMDA, parent=parent)


def site(site_id: str, kecamatan: str = "Baturraden") -> Site:
    return Site(id=site_id, name=site_id, desa=site_id, kecamatan=kecamatan, kabupaten="Banyumas")


def poll(device_id: str, source: Source, at: float, ok: bool = True, uptime: float | None = None) -> PollResult:
    samples = () if uptime is None else (Sample("netmon_device_uptime_seconds", uptime),)
    return PollResult(device_id, source, at, 0.1, samples, None if ok else DeviceUnreachable("no reply"))


def polls(device_id: str, script: str) -> list[PollResult]:
    """'0:p+ 60:s- 120:p+@300' -> ping ok at 0, SNMP failed at 60, ping ok at 120 reporting uptime 300."""
    out = []
    for step in script.split():
        at, rest = step.split(":")
        uptime = None
        if "@" in rest:
            rest, up = rest.split("@")
            uptime = float(up)
        out.append(poll(device_id, CODES[rest[0]], float(at), rest[1] == "+", uptime))
    return out
