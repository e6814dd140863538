"""Conformance over real TCP/TLS with two independent clients: routeros-api and librouteros."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import librouteros
import pytest
import routeros_api
from librouteros.exceptions import FatalError, LibRouterosError, MultiTrapError, TrapError
from librouteros.login import token
from librouteros.query import Key

from netmon.simulate.routeros import RouterOsSimulator, SimRouter, default_spec

pytestmark = pytest.mark.integration
USER, PASSWORD = "netmon", "rahasia-desa"


@pytest.fixture
async def sim() -> AsyncIterator[RouterOsSimulator]:
    simulator = RouterOsSimulator()
    for rid, version in (("modern", "7.16"), ("old", "6.42"), ("v6", "6.49.10")):
        simulator.add(SimRouter(rid, version, USER, PASSWORD))
    simulator.add(SimRouter("new", "7.18.2", USER, PASSWORD, data=default_spec("new", "7.18.2", wifi=True)))
    simulator.add(SimRouter("tls", "7.16", USER, PASSWORD, tls=True))
    await simulator.start()
    yield simulator
    await simulator.stop()


def port(sim: RouterOsSimulator, rid: str) -> int:
    return next(r.port for r in sim.routers() if r.router_id == rid)


async def run(fn: Callable[[], Any]) -> Any:
    return await asyncio.wait_for(asyncio.to_thread(fn), timeout=20)


def ros_api(sim: RouterOsSimulator, rid: str, password: str = PASSWORD) -> routeros_api.RouterOsApiPool:
    pool = routeros_api.RouterOsApiPool("127.0.0.1", USER, password, port=port(sim, rid), plaintext_login=True)
    pool.set_timeout(3)
    return pool


def lib(sim: RouterOsSimulator, rid: str, **kw: Any) -> librouteros.api.Api:
    return librouteros.connect("127.0.0.1", USER, kw.pop("password", PASSWORD), port=port(sim, rid), timeout=3, **kw)


# -- routeros-api -----------------------------------------------------------------------------------
@pytest.mark.parametrize("rid", ["modern", "old", "v6"])
async def test_routeros_api_plaintext_login_works_on_old_and_modern_routers(sim: RouterOsSimulator, rid: str) -> None:
    def poll() -> list[dict[str, bytes]]:
        pool = ros_api(sim, rid)
        rows = pool.get_api().get_binary_resource("/").call("system/resource/print", {".proplist": b"uptime,version"})
        pool.disconnect()
        return list(rows)

    (row,) = await run(poll)
    assert set(row) == {"uptime", "version"} and row["version"].endswith(b"(stable)")
    assert sim.connections(rid) == 1


@pytest.mark.parametrize("rid", ["modern", "old"])
async def test_routeros_api_wrong_password_fails(sim: RouterOsSimulator, rid: str) -> None:
    with pytest.raises(routeros_api.exceptions.RouterOsApiCommunicationError):
        await run(lambda: ros_api(sim, rid, password="salah").get_api())
    assert sim.connections(rid) == 0


async def test_routeros_api_count_only_queries_and_concurrent_tags(sim: RouterOsSimulator) -> None:
    def poll() -> tuple[bytes, int, int]:
        pool = ros_api(sim, "modern")
        resource = pool.get_api().get_binary_resource("/interface")
        count = resource.call("print", {"count-only": b""}).done_message["ret"]
        first = resource.call_async("print", {".proplist": b"name"}, {"type": b"vlan"})
        second = resource.call_async("print", {".proplist": b"name"}, {"type": b"ether"})
        a, b = second.get(), first.get()  # replies demultiplexed by .tag
        pool.disconnect()
        return count, len(list(a)), len(list(b))

    assert await run(poll) == (b"10", 5, 2)


async def test_one_persistent_connection_logs_in_once(sim: RouterOsSimulator) -> None:
    def poll() -> None:
        pool = ros_api(sim, "modern")
        api = pool.get_api()
        for _ in range(20):
            api.get_binary_resource("/").call("interface/print")
        pool.disconnect()

    await run(poll)
    assert sim.connections("modern") == 1


# -- librouteros ------------------------------------------------------------------------------------
async def test_librouteros_paths_select_where_and_plain_commands(sim: RouterOsSimulator) -> None:
    def poll() -> tuple[list[Any], list[Any], list[Any]]:
        api = lib(sim, "modern")
        name, kind = Key("name"), Key("type")
        vlans = list(api.path("interface").select(name).where(kind == "vlan"))
        ether_or_bridge = list(api.path("interface").select(name).where(kind.In("ether", "bridge")))
        identity = list(api("/system/identity/print"))
        api.close()
        return vlans, ether_or_bridge, identity

    vlans, others, identity = await run(poll)
    assert vlans == [{"name": "vlan10"}, {"name": "vlan20"}]
    assert len(others) == 6 and identity == [{"name": "MikroTik"}]


async def test_librouteros_token_login_on_pre_643_router_and_wrong_password(sim: RouterOsSimulator) -> None:
    rows = await run(lambda: list(lib(sim, "old", login_method=token).path("system", "identity")))
    assert rows == [{"name": "MikroTik"}]
    with pytest.raises(TrapError, match="invalid user name or password"):
        await run(lambda: lib(sim, "modern", password="salah"))
    with pytest.raises(TrapError, match="cannot log in"):
        await run(lambda: lib(sim, "old", password="salah", login_method=token))


async def test_empty_on_7_18_missing_menus_and_quit(sim: RouterOsSimulator) -> None:
    def poll() -> tuple[list[Any], str]:
        api = lib(sim, "new")
        empty = list(api.path("interface").select(Key("name")).where(Key("type") == "none"))
        try:
            list(api.path("interface", "wireless", "registration-table"))
        except MultiTrapError as exc:
            missing = str(exc)
        try:
            list(api("/quit"))
        except FatalError as exc:
            assert "session terminated on request" in str(exc)
        return empty, missing

    empty, missing = await run(poll)
    assert empty == [] and missing == "no such command or directory (wireless), no such command prefix"


@pytest.mark.parametrize("size", [0x3FFF + 10, 0x1FFFFF + 10])
async def test_long_word_round_trips(sim: RouterOsSimulator, size: int) -> None:
    comment = "k" * size

    def poll() -> Any:
        api = lib(sim, "modern")
        list(api("/interface/set", **{".id": "ether2", "comment": comment}))
        return list(api.path("interface").select(Key("comment")).where(Key("name") == "ether2"))

    assert await run(poll) == [{"comment": comment}]


# -- API-SSL ----------------------------------------------------------------------------------------
async def test_api_ssl_with_verification(sim: RouterOsSimulator) -> None:
    assert sim.tls_ca_file is not None
    context = ssl.create_default_context(cafile=str(sim.tls_ca_file))

    def poll() -> Any:
        api = lib(sim, "tls", ssl_wrapper=lambda s: context.wrap_socket(s, server_hostname="127.0.0.1"))
        rows = list(api.path("system", "routerboard"))
        pool = routeros_api.RouterOsApiPool("127.0.0.1", USER, PASSWORD, port=port(sim, "tls"), plaintext_login=True,
                                            use_ssl=True, ssl_context=context)
        rows += list(pool.get_api().get_binary_resource("/").call("system/identity/print"))
        pool.disconnect()
        return rows

    rows = await run(poll)
    assert rows[0]["model"] == "RBD52G-5HacD2HnD" and rows[1] == {"name": b"MikroTik"}


async def test_api_ssl_rejects_a_wrong_ca_and_works_unverified(sim: RouterOsSimulator, tmp_path: Any) -> None:
    from netmon.simulate.routeros.tls import write_certificates

    other_ca, _, _ = write_certificates(tmp_path)
    wrong = ssl.create_default_context(cafile=str(other_ca))
    with pytest.raises(ssl.SSLCertVerificationError):
        await run(lambda: lib(sim, "tls", ssl_wrapper=lambda s: wrong.wrap_socket(s, server_hostname="127.0.0.1")))
    loose = ssl.create_default_context()
    loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
    rows = await run(lambda: list(lib(sim, "tls", ssl_wrapper=loose.wrap_socket).path("system", "identity")))
    assert rows == [{"name": "MikroTik"}]


# -- faults -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["hang", "garbage"])
async def test_faults_before_login_fail_the_connect_quickly(sim: RouterOsSimulator, fault: str) -> None:
    sim.set_fault("modern", fault)
    started = time.monotonic()
    with pytest.raises((LibRouterosError, OSError)):
        await run(lambda: librouteros.connect("127.0.0.1", USER, PASSWORD, port=port(sim, "modern"), timeout=1))
    assert time.monotonic() - started < 5


async def test_drop_cuts_a_reply_after_login(sim: RouterOsSimulator) -> None:
    sim.set_fault("modern", "drop")

    def poll() -> None:
        api = lib(sim, "modern")
        list(api.path("interface"))

    with pytest.raises((LibRouterosError, OSError)):
        await run(poll)
    sim.set_fault("modern", "normal")
    assert await run(lambda: list(lib(sim, "modern").path("system", "identity"))) == [{"name": "MikroTik"}]


async def test_stopped_router_refuses_and_comes_back_on_the_same_port(sim: RouterOsSimulator) -> None:
    before = port(sim, "modern")
    await sim.stop_router("modern")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", before), timeout=1)
    await sim.start_router("modern")
    assert port(sim, "modern") == before
    assert await run(lambda: list(lib(sim, "modern").path("system", "identity"))) == [{"name": "MikroTik"}]


async def test_routeros_api_sees_hang_as_timeout(sim: RouterOsSimulator) -> None:
    sim.set_fault("v6", "hang")
    pool = ros_api(sim, "v6")
    pool.set_timeout(1)
    with pytest.raises((routeros_api.exceptions.RouterOsApiError, OSError)):
        await run(pool.get_api)


async def test_api_ssl_without_certificate_uses_anonymous_key_exchange() -> None:
    simulator = RouterOsSimulator()
    router = SimRouter("anon", "7.16", USER, PASSWORD, tls=True, tls_anonymous=True)
    simulator.add(router)
    await simulator.start()
    try:
        anon = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        anon.check_hostname, anon.verify_mode = False, ssl.CERT_NONE
        anon.maximum_version = ssl.TLSVersion.TLSv1_2
        anon.set_ciphers("aNULL:@SECLEVEL=0")  # what a client of a certificate-less api-ssl must allow
        rows = await run(lambda: list(librouteros.connect("127.0.0.1", USER, PASSWORD, port=router.port, timeout=3,
                                                          ssl_wrapper=anon.wrap_socket).path("system", "identity")))
        assert rows == [{"name": "MikroTik"}]
        assert simulator.tls_ca_file is None  # no certificate was made
    finally:
        await simulator.stop()


# -- the data, read with both clients ---------------------------------------------------------------
async def test_both_clients_see_one_client_population_neighbours_and_packages() -> None:
    """Over TCP, routeros-api and librouteros read the same client in the registration table, the hotspot
    host and active lists and the leases (same MAC and address), and the menus every RouterOS has."""
    from dataclasses import replace as dc_replace

    from netmon.simulate.routeros import load_demo_routers
    from netmon.simulate.variation import REFERENCE_MIDNIGHT_WIB

    router = next(r for r in load_demo_routers() if r.router_id == "kim-kotayasa-router")
    simulator = RouterOsSimulator(clock=lambda: REFERENCE_MIDNIGHT_WIB + 20 * 3600 + 1)
    rid_port = simulator.add(dc_replace(router, port=0))
    await simulator.start()

    def with_librouteros() -> dict[str, list[dict[str, Any]]]:
        api = librouteros.connect("127.0.0.1", router.user, router.password, port=rid_port, timeout=3)
        try:
            return {name: list(api.path(*path)) for name, path in (
                ("radio", ("interface", "wireless", "registration-table")), ("host", ("ip", "hotspot", "host")),
                ("active", ("ip", "hotspot", "active")), ("lease", ("ip", "dhcp-server", "lease")),
                ("neighbor", ("ip", "neighbor")), ("package", ("system", "package")))}
        finally:
            api.close()

    def with_routeros_api() -> dict[str, list[dict[str, str]]]:
        pool = routeros_api.RouterOsApiPool("127.0.0.1", router.user, router.password, port=rid_port,
                                            plaintext_login=True)
        pool.set_timeout(3)
        try:
            api = pool.get_api()
            return {name: api.get_resource(path).get() for name, path in (
                ("radio", "/interface/wireless/registration-table"), ("lease", "/ip/dhcp-server/lease"),
                ("neighbor", "/ip/neighbor"), ("package", "/system/package"))}
        finally:
            pool.disconnect()

    try:
        lib_rows, api_rows = await run(with_librouteros), await run(with_routeros_api)
    finally:
        await simulator.stop()
    assert lib_rows["radio"] and lib_rows["active"]
    hosts = {r["mac-address"]: r for r in lib_rows["host"]}
    leases = {r["mac-address"]: r for r in lib_rows["lease"]}
    for row in lib_rows["radio"]:
        mac = row["mac-address"]
        assert hosts[mac]["address"] == leases[mac]["address"] == row["last-ip"]
        assert row["last-ip"].startswith("172.16.2")  # the router's own hotspot network, 172.16.20.0/23
    assert {r["mac-address"] for r in lib_rows["active"]} <= set(hosts)
    assert all(h["DHCP"] is (mac in leases) for mac, h in hosts.items())  # librouteros types true/false
    # routeros-api sees the same rows (all values as strings)
    assert [r["mac-address"] for r in api_rows["radio"]] == [r["mac-address"] for r in lib_rows["radio"]]
    assert {r["mac-address"] for r in api_rows["lease"]} == set(leases)
    assert [n["identity"] for n in api_rows["neighbor"]] == [n["identity"] for n in lib_rows["neighbor"]] \
        == ["KIM-Kotayasa-AP1", "KIM-Kotayasa-Pendopo"]
    assert api_rows["neighbor"][0]["interface"] == "ether2,bridge" and api_rows["neighbor"][0]["address4"]
    assert [p["name"] for p in api_rows["package"]] == [p["name"] for p in lib_rows["package"]] \
        == ["routeros", "wireless"]
    assert lib_rows["package"][0]["disabled"] is False and api_rows["package"][0]["disabled"] == "false"
