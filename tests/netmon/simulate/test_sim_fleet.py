"""The demo fleet (netmon/demo/fleet.yaml and its recordings)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from snmp_cli import run, v2c, varbinds

from netmon.errors import ConfigError
from netmon.model import Contact, Site
from netmon.simulate.fleet import load_demo_fleet, load_demo_sites, load_fleet
from netmon.simulate.snmp_agent import SnmpSimulator
from netmon.simulate.store import Miss, RecordStore, Served

WIB = timezone(timedelta(hours=7))
MIKROTIK = "1.3.6.1.4.1.14988.1.1"


def at(hour: float) -> float:
    return datetime(2025, 3, 4, tzinfo=WIB).timestamp() + hour * 3600


def value(store: RecordStore, oid: str, now: float) -> object:
    found = store.get(tuple(int(x) for x in oid.split(".")), now)
    return found.value if isinstance(found, Served) else found


def test_demo_fleet_has_a_router_and_an_ap_per_site() -> None:
    devices = load_demo_fleet()
    sites = load_demo_sites()
    assert len(sites) == 3 and {s.kabupaten for s in sites} == {"Banyumas"}
    for site in sites:
        assert sorted(d.role for d in devices if d.site_id == site.id) == ["ap", "router"]
    assert all(d.data.is_file() and d.port == 0 and d.community for d in devices)
    assert {d.model for d in devices} >= {"RBD52G-5HacD2HnD", "RBcAPGi-5acD2nD", "UAP-AC-Lite"}


@pytest.mark.parametrize("device", load_demo_fleet(), ids=lambda d: d.device_id)
def test_demo_recordings_load_and_identify_their_vendor(device) -> None:  # type: ignore[no-untyped-def]
    store = RecordStore.from_file(device.data, clock=lambda: at(12))
    sys_object_id = value(store, "1.3.6.1.2.1.1.2.0", at(12))
    if device.vendor == "mikrotik":
        assert sys_object_id == "1.3.6.1.4.1.14988.1"
        assert value(store, f"{MIKROTIK}.7.3.0", at(12)) == device.serial.encode()
        assert value(store, "1.3.6.1.2.1.1.1.0", at(12)) == f"RouterOS {device.model}".encode()
        ssids = {value(store, f"{MIKROTIK}.1.3.1.4.{i}", at(12)) for i in range(1, 9)}
        for oid in (f"{MIKROTIK}.4.4.0", f"{MIKROTIK}.7.4.0", f"{MIKROTIK}.3.10.0", f"{MIKROTIK}.3.8.0",
                    f"{MIKROTIK}.3.100.1.3.1", "1.3.6.1.2.1.25.3.3.1.2.1"):
            assert isinstance(value(store, oid, at(12)), bytes | int), oid
    else:
        assert sys_object_id == "1.3.6.1.4.1.8072.3.2.10"
        ssids = {value(store, f"1.3.6.1.4.1.41112.1.6.1.2.1.6.{i}", at(12)) for i in (1, 2)}
    assert {b"KIM-Gratis", b"KIM-Gratis-5G"} <= ssids


def test_router_clients_follow_the_day_and_hotspot_rows_come_and_go() -> None:
    router = next(d for d in load_demo_fleet() if d.device_id == "kim-karangmangu-router")
    store = RecordStore.from_file(router.data)
    clients = f"{MIKROTIK}.1.3.1.6.6"
    night, evening = value(store, clients, at(3)), value(store, clients, at(19.5))
    assert isinstance(night, int) and isinstance(evening, int) and night <= 2 < 15 <= evening

    def hotspot_rows(now: float) -> int:
        rows, oid = 0, (1, 3, 6, 1, 4, 1, 14988, 1, 1, 5, 1, 1, 3)
        while isinstance(found := store.next(oid, now), Served) and found.oid[:13] == oid[:13]:
            rows, oid = rows + 1, found.oid
        return rows

    assert hotspot_rows(at(3.5)) <= 2 < hotspot_rows(at(20))


def test_interface_counters_agree_and_grow() -> None:
    router = next(d for d in load_demo_fleet() if d.role == "router")
    store = RecordStore.from_file(router.data, boot=at(0))
    hc_then, hc_now = (value(store, "1.3.6.1.2.1.31.1.1.1.6.1", t) for t in (at(19), at(19) + 60))
    low = value(store, "1.3.6.1.2.1.2.2.1.10.1", at(19) + 60)
    assert isinstance(hc_then, int) and isinstance(hc_now, int) and hc_now > hc_then
    assert low == hc_now % 2**32
    assert value(store, "1.3.6.1.2.1.2.2.1.10.99", at(19)) is Miss.NO_SUCH_INSTANCE


def test_fleet_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("sites:\n  - {id: a, name: A, desa: D, kecamatan: K, kabupaten: B, colour: red}\n")
    with pytest.raises(ConfigError, match="colour"):
        load_fleet(path)


def test_fleet_sites_are_inventory_sites_with_their_kim_contact(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("sites:\n  - {id: a, name: A, desa: D, kecamatan: K, kabupaten: B, contact: Pengelola A}\n"
                    "  - {id: b, name: B, desa: D, kecamatan: K, kabupaten: B}\n")
    a, b = load_fleet(path).sites
    assert a == Site("a", "A", "D", "K", "B", kim_contact=Contact("Pengelola A"))
    assert b.kim_contact is None
    path.write_text("sites:\n  - {id: a, name: A, desa: D, kabupaten: B}\n")
    with pytest.raises(ConfigError, match="kecamatan") as err:
        load_fleet(path)
    assert err.value.file == str(path) and err.value.key == "sites"


@pytest.mark.integration
async def test_whole_demo_fleet_answers_over_udp() -> None:
    simulator = SnmpSimulator()
    devices = load_demo_fleet()
    for device in devices:
        simulator.add(device)
    await simulator.start()
    try:
        assert len({d.port for d in devices}) == len(devices)
        for device in devices:
            result = await run("snmpbulkwalk", "-Cr30", *v2c(device.community, device.port), ".1")
            assert result.rc == 0, result.err
            assert len(varbinds(result.out)) > 200
    finally:
        await simulator.stop()
