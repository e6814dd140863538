"""RouterOsCollector over real TCP against the project's RouterOS API simulator: RouterOS 6 and 7 data,
one persistent connection per router, missing menus, and every fault mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from peers import HANG_GUARD_S
from virtual_time import JumpingClock

from collectors.routeros.collector import RouterOsCollector
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.model import (
    Device,
    Owner,
    PollResult,
    Role,
    RouterOsSettings,
    Secret,
    SnmpSettings,
    SnmpV2cAuth,
    Source,
)
from netmon.privacy import DailyUniqueClients
from netmon.scheduler import Scheduler
from netmon.simulate.fleet import load_demo_fleet
from netmon.simulate.routeros import population
from netmon.simulate.routeros.registration import hotspot_rows
from netmon.simulate.routeros.server import RouterOsSimulator, SimRouter, default_spec, load_demo_routers
from netmon.simulate.snmp_agent import SnmpSimulator
from netmon.simulate.variation import NOISE_BUCKET_S, REFERENCE_MIDNIGHT_WIB, clock_from

MAC_LIKE = r"[0-9A-F]{2}(:[0-9A-F]{2}){5}"


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=8)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


@contextlib.asynccontextmanager
async def simulator_at(wib_hour: float) -> AsyncIterator[RouterOsSimulator]:
    """A simulator at `wib_hour` of a fixed day (2025-10-10), one second into a five-minute bucket: the
    same clients on every run, whatever the date and time the test runs at."""
    sim = RouterOsSimulator(clock=clock_from(REFERENCE_MIDNIGHT_WIB + wib_hour * 3600 + 1))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def simulator() -> AsyncIterator[RouterOsSimulator]:
    async with simulator_at(19) as sim:  # the evening peak
        yield sim


def add(sim: RouterOsSimulator, router: SimRouter) -> Device:
    port = sim.add(router)
    return Device(id=router.router_id, site="kim-a", role=Role.ROUTER, address="127.0.0.1",
                  sources=(Source.ROUTEROS,), owner=Owner.PEMDA,
                  routeros=RouterOsSettings(user=router.user, password=Secret(router.password), port=port,
                                            timeout_s=1.0))


def by_metric(result: PollResult) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for sample in result.samples:
        out.setdefault(sample.metric, []).append((sample.label_dict(), sample.value))
    return out


@pytest.mark.parametrize("router_id", ["kim-karangmangu-router", "kim-ketenger-rb951", "kim-kotayasa-hapax2"],
                         ids=["v7.14-wireless", "v6.49-wireless", "v7.18-wifi"])
async def test_demo_router_polls_free_usage_metrics(simulator: RouterOsSimulator, executor: ThreadPoolExecutor,
                                                    router_id: str) -> None:
    router = next(r for r in load_demo_routers() if r.router_id == router_id)
    device = add(simulator, replace(router, port=0))
    uniques = DailyUniqueClients()
    collector = RouterOsCollector(executor, fingerprint=uniques.fingerprint)
    try:
        first = await collector.poll(device)
        second = await collector.poll(device)
    finally:
        await collector.close()
    assert first.ok and second.ok, (first.error, second.error)
    metrics = by_metric(second)
    for name in ("netmon_device_uptime_seconds", "netmon_device_cpu_load_ratio", "netmon_interface_up",
                 "netmon_interface_receive_bytes_total", "netmon_interface_transmit_bytes_total",
                 "netmon_wifi_clients", "netmon_hotspot_active_users", "netmon_hotspot_hosts",
                 "netmon_hotspot_bytes_total", "netmon_dhcp_leases_active"):
        assert name in metrics, name
    assert all(labels.get("ssid") for labels, _v in metrics["netmon_wifi_clients"])
    assert second.identity is not None and second.identity.vendor == "MikroTik"
    assert second.identity.serial and second.identity.firmware.startswith(router.version.split(" ")[0][:3])
    # traffic only grows between polls
    before = {tuple(sorted(lbl.items())): v for lbl, v in by_metric(first)["netmon_interface_receive_bytes_total"]}
    after = {tuple(sorted(lbl.items())): v for lbl, v in metrics["netmon_interface_receive_bytes_total"]}
    assert all(after[k] >= before[k] for k in before)
    # privacy: no label value looks like a MAC; client devices arrive only as keyed hashes
    import re

    assert not any(re.fullmatch(MAC_LIKE, v.upper()) for s in second.samples for _k, v in s.labels)
    assert second.fingerprints and all(":" in f and len(f.split(":", 1)[1]) == 32 for f in second.fingerprints)


async def test_one_persistent_connection_per_router(simulator: RouterOsSimulator,
                                                    executor: ThreadPoolExecutor) -> None:
    device = add(simulator, SimRouter("r1", "7.16", "netmon", "pw"))
    collector = RouterOsCollector(executor)
    try:
        for _ in range(5):
            assert (await collector.poll(device)).ok
        assert simulator.connections("r1") == 1 and collector.connections("r1") == 1
    finally:
        await collector.close()


async def test_wrong_password_is_one_clear_auth_error(simulator: RouterOsSimulator,
                                                      executor: ThreadPoolExecutor) -> None:
    device = add(simulator, SimRouter("r1", "7.16", "netmon", "right-password"))
    device = replace(device, routeros=replace(device.routeros, password=Secret("wrong-password-77")))
    collector = RouterOsCollector(executor)
    try:
        result = await collector.poll(device)
    finally:
        await collector.close()
    assert result.error is not None and result.error.reason == "auth"
    assert "invalid user name or password" in str(result.error)
    assert "wrong-password-77" not in str(result.error) and "right-password" not in str(result.error)


async def poll_once(executor: ThreadPoolExecutor, device: Device) -> PollResult:
    collector = RouterOsCollector(executor)
    try:
        return await collector.poll(device)
    finally:
        await collector.close()


async def test_pre_643_challenge_login_works(simulator: RouterOsSimulator, executor: ThreadPoolExecutor) -> None:
    result = await poll_once(executor, add(simulator, SimRouter("old", "6.42", "admin", "lama")))
    assert result.ok, result.error


def quiet_hour(router: SimRouter) -> float:
    """The first five-minute bucket between 01:00 and 06:00 WIB, in the week from the fixed day, in which
    nobody is logged in to `router`'s hotspot (found from the simulator's own population: deterministic)."""
    assert router.data is not None
    for day in range(7):
        for bucket in range(12, 6 * 12):
            hour = day * 24 + bucket * NOISE_BUCKET_S / 3600
            if not hotspot_rows(router.data, REFERENCE_MIDNIGHT_WIB + hour * 3600 + 1, hosts=False):
                return hour
    raise AssertionError(f"{router.router_id}: someone is logged in every night")


@pytest.mark.parametrize("router_id", ["kim-karangmangu-router", "kim-ketenger-rb951", "kim-kotayasa-hapax2"],
                         ids=["v7.14-wireless", "v6.49-wireless", "v7.18-wifi"])
async def test_hotspot_with_nobody_logged_in_reports_zero_per_server_not_a_gap(
        executor: ThreadPoolExecutor, router_id: str) -> None:
    router = next(r for r in load_demo_routers() if r.router_id == router_id)
    async with simulator_at(quiet_hour(router)) as night_simulator:
        result = await poll_once(executor, add(night_simulator, replace(router, port=0)))
    assert result.ok, result.error
    assert router.data is not None
    servers = {hotspot.name for hotspot in router.data.hotspots}
    assert servers
    active = by_metric(result)["netmon_hotspot_active_users"]
    assert {labels["server"]: value for labels, value in active} == dict.fromkeys(servers, 0.0)
    assert {labels["server"] for labels, _v in by_metric(result)["netmon_hotspot_hosts"]} >= servers


async def test_an_access_point_without_hotspot_exports_no_hotspot_series(
        simulator: RouterOsSimulator, executor: ThreadPoolExecutor) -> None:
    """A MikroTik AP (radios, DHCP from upstream, hotspot menu present but no server) has no hotspot series:
    no `server="all"` 0 and no per-server 0 for servers that do not exist."""
    spec = replace(default_spec("cap", "7.16"), hotspots=(), dhcp_servers=())
    result = await poll_once(executor, add(simulator, SimRouter("cap", "7.16", "netmon", "pw", data=spec)))
    assert result.ok, result.error
    metrics = by_metric(result)
    assert "netmon_wifi_clients" in metrics
    for name in ("netmon_hotspot_active_users", "netmon_hotspot_hosts", "netmon_hotspot_bytes_total",
                 "netmon_dhcp_leases_active"):
        assert name not in metrics, name


async def test_neighbours_come_from_ip_neighbor(simulator: RouterOsSimulator, executor: ThreadPoolExecutor,
                                                caplog: pytest.LogCaptureFixture) -> None:
    router = next(r for r in load_demo_routers() if r.router_id == "kim-kotayasa-router")
    caplog.set_level(logging.INFO, logger="collectors.routeros.collector")
    result = await poll_once(executor, add(simulator, replace(router, port=0)))
    assert result.ok, result.error
    assert router.data is not None and router.data.neighbors
    assert result.neighbours == tuple(sorted({n.address for n in router.data.neighbors}))
    assert not [r for r in caplog.records if "/ip/neighbor not available" in r.getMessage()]


async def test_unique_clients_today_equal_the_distinct_clients_the_simulator_served(
        executor: ThreadPoolExecutor) -> None:
    """A whole simulated day polled once per five-minute bucket: netmon's unique-client count for the site
    (registration tables, hotspot hosts and active users, leases de-duplicated) equals the number of
    distinct client devices the simulator had in any table at those moments."""
    router = next(r for r in load_demo_routers() if r.router_id == "kim-ketenger-rb951")
    assert router.data is not None
    instants = [REFERENCE_MIDNIGHT_WIB + b * NOISE_BUCKET_S + 7 for b in range(86400 // NOISE_BUCKET_S)]
    now = [instants[0]]
    sim = RouterOsSimulator(clock=lambda: now[0])
    device = add(sim, replace(router, port=0))
    await sim.start()
    uniques = DailyUniqueClients(clock=lambda: now[0])
    collector = RouterOsCollector(executor, fingerprint=uniques.fingerprint, clock=lambda: now[0])
    try:
        for at in instants:
            now[0] = at
            result = await collector.poll(device)
            assert result.ok, result.error
            uniques.add(device.site, result.fingerprints)
    finally:
        await collector.close()
        await sim.stop()
    expected = population.clients_seen(router.data, instants)
    assert len(expected) > max(len(population.present(router.data, at)) for at in instants)  # people come and go
    assert uniques.counts() == {device.site: len(expected)}


def total(result: PollResult, metric: str) -> float:
    return sum(value for _labels, value in by_metric(result).get(metric, []))


async def test_a_bridged_access_points_clients_are_gateway_hosts_and_counted_once_a_day(
        executor: ThreadPoolExecutor) -> None:
    """kim-karangmangu as the demo runs it, for a whole simulated day (one instant per five-minute bucket,
    both simulators on one injected clock): the gateway over the RouterOS API (TCP), its access point over
    SNMP (UDP, recorded-style demo data). At every instant the gateway's hotspot hosts are the radio
    clients of the gateway and of the AP plus the documented exceptions (wired users, bypassed static
    devices), every radio client has a lease, and the AP's clients are not in the gateway's registration
    table; at the end netmon_site_unique_clients_today is the number of distinct clients the simulator
    had at the site that day, the AP's included."""
    router = next(r for r in load_demo_routers() if r.router_id == "kim-karangmangu-router")
    spec = router.data
    assert spec is not None and [ap.device_id for ap in spec.bridged_aps] == ["kim-karangmangu-ap"]
    ap = next(d for d in load_demo_fleet() if d.device_id == "kim-karangmangu-ap")
    instants = [REFERENCE_MIDNIGHT_WIB + b * NOISE_BUCKET_S + 7 for b in range(86400 // NOISE_BUCKET_S)]
    now = [instants[0]]
    api, snmp = RouterOsSimulator(clock=lambda: now[0]), SnmpSimulator()
    gateway = replace(add(api, replace(router, port=0)), site=ap.site_id or "")
    snmp.add(ap)
    snmp.store(ap.device_id).clock = lambda: now[0]
    snmp.store(ap.device_id).boot = instants[0] - 86400
    access_point = Device(id=ap.device_id, site=gateway.site, role=Role.AP, address="127.0.0.1",
                          sources=(Source.SNMP,), owner=Owner.PEMDA, parent=gateway.id,
                          snmp=SnmpSettings(auth=SnmpV2cAuth(Secret(ap.community)), port=ap.port, timeout_s=2.0))
    await api.start()
    await snmp.start()
    uniques = DailyUniqueClients(clock=lambda: now[0])
    collector = RouterOsCollector(executor, fingerprint=uniques.fingerprint, clock=lambda: now[0])
    snmp_collector = SnmpCollector(load_profiles(), clock=lambda: now[0])
    busy = 0
    try:
        for at in instants:
            now[0] = at
            polled, ap_polled = await collector.poll(gateway), await snmp_collector.poll(access_point)
            assert polled.ok and ap_polled.ok, (polled.error, ap_polled.error)
            uniques.add(gateway.site, polled.fingerprints)
            radio = total(polled, "netmon_wifi_clients") + total(ap_polled, "netmon_wifi_clients")
            hosts = total(polled, "netmon_hotspot_hosts")
            # the exceptions, from the simulator's own population: hosts that are on no radio
            wired = sum(c.radio is None for c in population.present(spec, at))
            bypassed = sum(s.bound and s.hotspot is not None for s in population.static_leases(spec, at))
            assert hosts == radio + wired + bypassed, at
            assert total(polled, "netmon_dhcp_leases_active") >= radio
            assert total(polled, "netmon_hotspot_active_users") <= hosts
            busy += total(ap_polled, "netmon_wifi_clients") > 0
    finally:
        await collector.close()
        await snmp_collector.close()
        await api.stop()
        await snmp.stop()
    assert busy > len(instants) // 2  # the AP had clients most of the day: the check above is not vacuous
    expected = population.clients_seen(spec, instants)
    assert len(expected) > len(population.clients_seen(replace(spec, bridged_aps=()), instants))
    assert uniques.counts() == {"kim-karangmangu": len(expected)}  # what netmon_site_unique_clients_today shows


async def test_missing_menus_are_logged_once_and_the_rest_is_collected(
        simulator: RouterOsSimulator, executor: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture) -> None:
    spec = default_spec("bare", "7.16")
    bare = replace(spec, packages=frozenset(), radios=(), hotspots=(), dhcp_servers=())  # a plain router
    device = add(simulator, SimRouter("bare", "7.16", "netmon", "pw", data=bare))
    collector = RouterOsCollector(executor)
    caplog.set_level(logging.INFO, logger="collectors.routeros.collector")
    try:
        results = [await collector.poll(device) for _ in range(3)]
    finally:
        await collector.close()
    assert all(r.ok for r in results), [r.error for r in results]
    metrics = by_metric(results[-1])
    assert "netmon_interface_receive_bytes_total" in metrics and "netmon_wifi_clients" not in metrics
    assert "netmon_hotspot_active_users" not in metrics
    notes = [r.getMessage() for r in caplog.records if "not available" in r.getMessage()]
    assert notes and len(notes) == len(set(notes))  # each missing menu logged once, not every poll


@pytest.mark.parametrize(("fault", "reason"), [("hang", "timeout"), ("garbage", "protocol"), ("drop", None)])
async def test_fault_modes_fail_the_poll_and_recover(simulator: RouterOsSimulator, executor: ThreadPoolExecutor,
                                                     fault: str, reason: str | None) -> None:
    device = add(simulator, SimRouter("r1", "7.16", "netmon", "pw"))
    collector = RouterOsCollector(executor)
    try:
        assert (await collector.poll(device)).ok
        simulator.set_fault("r1", fault)
        started = time.monotonic()
        failed = await collector.poll(device)
        assert time.monotonic() - started < 5
        assert failed.error is not None, fault
        if reason is not None:
            assert failed.error.reason == reason, failed.error
        else:
            assert failed.error.reason in ("timeout", "protocol")
        simulator.set_fault("r1", "normal")
        recovered = await collector.poll(device)  # the very next poll: no reconnect backoff to wait out
        assert recovered.ok, recovered.error
    finally:
        await collector.close()


async def test_stopped_router_is_unreachable_then_comes_back(simulator: RouterOsSimulator,
                                                             executor: ThreadPoolExecutor) -> None:
    device = add(simulator, SimRouter("r1", "7.16", "netmon", "pw"))
    collector = RouterOsCollector(executor)
    try:
        assert (await collector.poll(device)).ok
        await simulator.stop_router("r1")
        down = await collector.poll(device)
        assert down.error is not None and down.error.reason == "timeout"
        await simulator.start_router("r1")
        assert (await collector.poll(device)).ok
    finally:
        await collector.close()


async def test_first_poll_after_a_long_outage_connects(simulator: RouterOsSimulator,
                                                       executor: ThreadPoolExecutor) -> None:
    """However many polls failed while the router was off, the first one after it is back succeeds (the
    client used to back off up to 300 s and report those skipped polls as failures)."""
    device = add(simulator, SimRouter("r1", "7.16", "netmon", "pw"))
    collector = RouterOsCollector(executor)
    try:
        assert (await collector.poll(device)).ok
        await simulator.stop_router("r1")
        for _ in range(12):  # 2**11 s of backoff under the old doubling
            down = await collector.poll(device)
            assert down.error is not None and down.error.reason == "timeout"
        await simulator.start_router("r1")
        back = await collector.poll(device)
        assert back.ok, back.error
        assert simulator.connections("r1") == 2
    finally:
        await collector.close()


async def test_router_power_cycled_between_polls_is_polled_on_a_fresh_login(simulator: RouterOsSimulator,
                                                                            executor: ThreadPoolExecutor) -> None:
    """A power cut shorter than the interval: the kept connection is dead (the router closed or reset it) when
    the next poll is due; that poll logs in again and succeeds instead of reporting the dead connection."""
    device = add(simulator, SimRouter("r1", "7.16", "netmon", "pw"))
    collector = RouterOsCollector(executor)
    try:
        assert (await collector.poll(device)).ok
        await simulator.stop_router("r1")
        await simulator.start_router("r1")
        after = await collector.poll(device)
        assert after.ok, after.error
        assert simulator.connections("r1") == 2
        assert collector.stale(device.id) == 1
        assert (await collector.poll(device)).ok and simulator.connections("r1") == 2  # kept again
    finally:
        await collector.close()


async def test_a_silent_router_is_asked_once_per_poll(simulator: RouterOsSimulator,
                                                      executor: ThreadPoolExecutor) -> None:
    """A kept connection that times out is dropped, not retried within the poll (that would double a poll of a
    dead router); the next poll logs in again and, once the router answers, succeeds."""
    device = add(simulator, SimRouter("r1", "7.16", "netmon", "pw"))
    collector = RouterOsCollector(executor)
    try:
        assert (await collector.poll(device)).ok
        simulator.set_fault("r1", "hang")
        silent = await collector.poll(device)
        assert silent.error is not None and silent.error.reason == "timeout"
        assert simulator.connections("r1") == 1 and collector.stale(device.id) == 0
        simulator.set_fault("r1", "normal")
        assert (await collector.poll(device)).ok
        assert simulator.connections("r1") == 2
    finally:
        await collector.close()


async def test_api_ssl_with_certificate_verification(simulator: RouterOsSimulator,
                                                      executor: ThreadPoolExecutor) -> None:
    device = add(simulator, SimRouter("tls", "7.16", "netmon", "pw", tls=True))
    assert simulator.tls_ca_file is not None
    good = replace(device, routeros=replace(device.routeros, tls=True, tls_ca_file=str(simulator.tls_ca_file)))
    unverified = replace(device, id="tls-unverified", routeros=replace(device.routeros, tls=True,
                                                                       tls_verify=False))
    untrusted = replace(device, id="tls-untrusted", routeros=replace(device.routeros, tls=True))
    collector = RouterOsCollector(executor)
    try:
        assert (await collector.poll(good)).ok
        assert (await collector.poll(unverified)).ok
        refused = await collector.poll(untrusted)  # system CAs do not know the simulator's CA
        assert refused.error is not None
    finally:
        await collector.close()


async def test_a_hung_router_never_delays_the_others(simulator: RouterOsSimulator,
                                                     executor: ThreadPoolExecutor) -> None:
    """The scheduler on an injected clock (its sleeps return at once), the polls over real TCP: the healthy
    routers are polled again and again while the hung one's first poll is still waiting for its timeout."""
    devices = [replace(add(simulator, SimRouter(f"r{i}", "7.16", "netmon", "pw")), interval_s=0.5)
               for i in range(4)]
    simulator.set_fault("r0", "hang")
    healthy = ("r1", "r2", "r3")
    collector = RouterOsCollector(executor)
    results: list[PollResult] = []
    enough = asyncio.Event()

    def on_result(result: PollResult) -> None:
        results.append(result)
        polls = [r.device for r in results]
        if "r0" in polls and all(polls.count(d) >= 5 for d in healthy):
            enough.set()

    jumping = JumpingClock()
    scheduler = Scheduler(devices, collector.poll, on_result, source=Source.ROUTEROS, jitter_s=0, deadline_s=3,
                          clock=jumping.clock, sleep=jumping.sleep)
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.wait_for(enough.wait(), HANG_GUARD_S)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await collector.close()
    before_hung = [r.device for r in results[:[r.device for r in results].index("r0")]]
    for router in healthy:
        polls = [r for r in results if r.device == router]
        assert all(r.ok for r in polls), router
        assert router in before_hung, f"{router} waited for the hung router"
    hung = [r for r in results if r.device == "r0"]
    assert all(not r.ok for r in hung)
