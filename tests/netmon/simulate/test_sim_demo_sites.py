"""The embedded demo as `netmon run` polls it (demo config, both simulators, the daemon's pollers and
exporter): at every site the gateway's hotspot hosts match the radio clients of the gateway and of the
access point bridged behind it. Both simulators read one injected clock, pinned to fixed instants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netmon.app import NetmonApp
from netmon.config import load_config
from netmon.config.demo import write_demo_config
from netmon.exporter import render
from netmon.model import Role
from netmon.simulate.fleet import load_demo_fleet, load_demo_sites
from netmon.simulate.routeros import population
from netmon.simulate.routeros.server import RouterOsSimulator, SimRouter, load_demo_routers
from netmon.simulate.snmp_agent import SnmpSimulator
from netmon.simulate.variation import REFERENCE_MIDNIGHT_WIB

INSTANTS = [REFERENCE_MIDNIGHT_WIB + hour * 3600 + 7 for hour in (8.0, 12.5, 19.0, 21.5)]


class DemoAt:
    """The demo's simulators, all reading `now`."""

    def __init__(self) -> None:
        self.now = INSTANTS[0]
        self.snmp = SnmpSimulator()
        self.api = RouterOsSimulator(clock=lambda: self.now)
        self.devices = load_demo_fleet()
        self.routers = load_demo_routers()
        for device in self.devices:
            self.snmp.add(device)
            store = self.snmp.store(device.device_id)
            store.clock, store.boot = (lambda: self.now), self.now - 86400
        for router in self.routers:
            self.api.add(router)


@pytest.fixture
async def demo() -> AsyncIterator[DemoAt]:
    sims = DemoAt()
    await sims.snmp.start()
    await sims.api.start()
    try:
        yield sims
    finally:
        await sims.api.stop()
        await sims.snmp.stop()


def exported(app_text: bytes) -> dict[str, dict[str, float]]:
    """{metric: {device: sum of its series}} from the exporter's text."""
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(app_text.decode()):
        for sample in family.samples:
            device = sample.labels.get("device") or sample.labels.get("site")
            if device is not None:
                per = out.setdefault(sample.name, {})
                per[device] = per.get(device, 0.0) + sample.value
    return out


def exceptions(router: SimRouter, now: float) -> int:
    """Hotspot hosts on no radio (documented: wired users, bypassed static devices), from the simulator."""
    assert router.data is not None
    wired = sum(c.radio is None for c in population.present(router.data, now))
    return wired + sum(s.bound and s.hotspot is not None for s in population.static_leases(router.data, now))


async def test_demo_sites_hotspot_hosts_are_the_radio_clients_of_gateway_and_bridged_ap(
        demo: DemoAt, tmp_path: Path) -> None:
    config = load_config(write_demo_config(tmp_path / "demo.yaml", load_demo_sites(), demo.devices, demo.routers))
    gateways = {d.parent for d in config.devices.values() if d.role is Role.AP}
    assert len(gateways) == 3  # every site's AP is behind its gateway, as the demo declares
    app = NetmonApp(config)
    seen_ap_clients = 0.0
    try:
        for at in INSTANTS:
            demo.now = at
            snap = await app.poll_once()
            assert all(r.ok for r in snap.results.values()), {k: r.error for k, r in snap.results.items()}
            metrics = exported(render(snap))
            wifi, hosts = metrics["netmon_wifi_clients"], metrics["netmon_hotspot_hosts"]
            leases = metrics["netmon_dhcp_leases_active"]
            for router in demo.routers:
                bridged = [d.id for d in config.devices.values() if d.parent == router.router_id]
                radio = wifi[router.router_id] + sum(wifi[ap] for ap in bridged)
                assert hosts[router.router_id] == radio + exceptions(router, at), (router.router_id, at)
                assert leases[router.router_id] >= radio, (router.router_id, at)
                seen_ap_clients += sum(wifi[ap] for ap in bridged)
            for site in config.sites:  # site totals: the hotspot sees at least every phone on any radio
                devices = [d.id for d in config.devices.values() if d.site == site]
                assert sum(hosts.get(d, 0.0) for d in devices) >= sum(wifi.get(d, 0.0) for d in devices), site
    finally:
        await app.close()
    assert seen_ap_clients > 0
