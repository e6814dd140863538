"""The simulator over real UDP, checked with net-snmp's snmpget / snmpgetnext / snmpbulkwalk."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from snmp_cli import run, v2c, value_of, varbinds

from collectors.snmp import ber
from netmon.simulate.fleet import SimDevice, V3User
from netmon.simulate.snmp_agent import SnmpSimulator

pytestmark = pytest.mark.integration

DATA = """\
1.3.6.1.2.1.1.1.0|4|Simulated hAP
1.3.6.1.2.1.1.3.0|67:uptime|initial=100
1.3.6.1.2.1.1.5.0|4|kim-test-gw
1.3.6.1.2.1.2.2.1.2.1|4|ether1
1.3.6.1.2.1.2.2.1.2.2|4|ether2
1.3.6.1.2.1.2.2.1.10.1|65:rate|rate=1000,initial=4294966796
1.3.6.1.2.1.31.1.1.1.6.1|70:rate|rate=1000000,initial=5000000000
1.3.6.1.4.1.14988.1.1.7.3.0|4|HE000TEST01
"""
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
UPTIME = "1.3.6.1.2.1.1.3.0"
IF_IN_OCTETS_1 = "1.3.6.1.2.1.2.2.1.10.1"
HC_IN_OCTETS_1 = "1.3.6.1.2.1.31.1.1.1.6.1"
LAST = "1.3.6.1.4.1.14988.1.1.7.3.0"
USERS = (
    V3User("ops", "sha", "auth-pass-1", "aes128", "priv-pass-1"),
    V3User("ops256", "sha256", "auth-pass-2", "aes256", "priv-pass-2"),
    V3User("watch", "sha", "auth-pass-3"),
    V3User("guest"),
)
V3_ARGS = {
    "ops": ["-lauthPriv", "-aSHA", "-Aauth-pass-1", "-xAES", "-Xpriv-pass-1"],
    "ops256": ["-lauthPriv", "-aSHA-256", "-Aauth-pass-2", "-xAES-256", "-Xpriv-pass-2"],
    "watch": ["-lauthNoPriv", "-aSHA", "-Aauth-pass-3"],
    "guest": ["-lnoAuthNoPriv"],
}


@pytest.fixture(params=[True, False], ids=["fast-v2c", "pysnmp-v2c"])
async def sim(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[SnmpSimulator, int]]:
    data = tmp_path / "gw.snmprec"
    data.write_text(DATA)
    simulator = SnmpSimulator(fast_v2c=request.param)
    port = simulator.add(SimDevice("gw", data, community="kim-ro", v3_users=USERS))
    await simulator.start()
    yield simulator, port
    await simulator.stop()


def _get_request(community: str, oid: tuple[int, ...]) -> bytes:
    varbind = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body(oid)) + b"\x05\x00")
    pdu = ber.tlv(0xA0, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + ber.tlv(ber.SEQUENCE, varbind))
    return ber.tlv(ber.SEQUENCE, b"\x02\x01\x01" + ber.tlv(ber.OCTET_STRING, community.encode()) + pdu)


def shown(result_out: str) -> dict[str, tuple[str, object]]:
    return {oid: value_of(text) for oid, text in varbinds(result_out)}


Sim = tuple[SnmpSimulator, int]


async def test_get_returns_recorded_values_and_exceptions(sim: Sim) -> None:
    _, port = sim
    result = await run("snmpget", *v2c("kim-ro", port), SYS_DESCR, "1.3.6.1.2.1.1.99.0", "1.3.6.1.2.1.1.5.1",
                       "1.3.6.1.2.1.2.2.1.2.3")
    assert result.rc == 0, result.err
    assert shown(result.out) == {
        SYS_DESCR: ("STRING", b"Simulated hAP"),
        "1.3.6.1.2.1.1.99.0": ("noSuchObject", None),
        "1.3.6.1.2.1.1.5.1": ("noSuchInstance", None),
        "1.3.6.1.2.1.2.2.1.2.3": ("noSuchInstance", None),
    }


async def test_getnext_crosses_from_one_table_to_the_next(sim: Sim) -> None:
    _, port = sim
    result = await run("snmpgetnext", *v2c("kim-ro", port), "1.3.6.1.2.1.2.2.1.2.2", "1.3.6.1.2.1.2.2.1.10.9",
                       "1.3.6.1.2.1.1.5.0")
    oids = [oid for oid, _ in varbinds(result.out)]
    assert oids == [IF_IN_OCTETS_1, HC_IN_OCTETS_1, "1.3.6.1.2.1.2.2.1.2.1"]


async def test_getnext_past_the_last_record_is_end_of_mib_view(sim: Sim) -> None:
    _, port = sim
    result = await run("snmpgetnext", *v2c("kim-ro", port), LAST)
    assert varbinds(result.out)[0][0] == LAST
    assert value_of(varbinds(result.out)[0][1])[0] == "endOfMibView"


@pytest.mark.parametrize("repetitions", [1, 3, 50], ids=["r1", "r3", "r50"])
async def test_bulkwalk_returns_every_record_in_order(sim: Sim, repetitions: int) -> None:
    _, port = sim
    result = await run("snmpbulkwalk", f"-Cr{repetitions}", *v2c("kim-ro", port), ".1")
    walked = varbinds(result.out)
    expected = [line.split("|")[0] for line in DATA.splitlines()]
    assert [oid for oid, _ in walked[:-1]] == expected
    assert walked[-1] == (LAST, walked[-1][1]) and value_of(walked[-1][1])[0] == "endOfMibView"


async def test_wrong_community_gets_no_answer(sim: Sim) -> None:
    _, port = sim
    result = await run("snmpget", *v2c("public", port), SYS_DESCR, timeout_s=0.3)
    assert result.rc != 0 and "Timeout" in result.err


async def test_uptime_increases_between_two_reads(sim: Sim) -> None:
    _, port = sim
    first = shown((await run("snmpget", *v2c("kim-ro", port), UPTIME)).out)[UPTIME][1]
    await asyncio.sleep(0.05)
    second = shown((await run("snmpget", *v2c("kim-ro", port), UPTIME)).out)[UPTIME][1]
    assert isinstance(first, int) and isinstance(second, int) and second > first >= 100


async def test_counters_grow_and_counter32_wraps(sim: Sim) -> None:
    simulator, port = sim
    store = simulator.store("gw")
    store.boot = 1_000_000.0
    store.clock = lambda: 1_000_000.0
    before = shown((await run("snmpget", *v2c("kim-ro", port), IF_IN_OCTETS_1, HC_IN_OCTETS_1)).out)
    store.clock = lambda: 1_000_001.0
    after = shown((await run("snmpget", *v2c("kim-ro", port), IF_IN_OCTETS_1, HC_IN_OCTETS_1)).out)
    assert before[IF_IN_OCTETS_1] == ("Counter32", 2**32 - 500)
    assert after[IF_IN_OCTETS_1] == ("Counter32", 500)
    assert before[HC_IN_OCTETS_1] == ("Counter64", 5_000_000_000)
    assert after[HC_IN_OCTETS_1] == ("Counter64", 5_001_000_000)


async def test_stop_device_times_out_and_start_device_brings_it_back(sim: Sim) -> None:
    simulator, port = sim
    await simulator.stop_device("gw")
    result = await run("snmpget", *v2c("kim-ro", port), SYS_DESCR, timeout_s=0.3)
    assert result.rc != 0 and "Timeout" in result.err
    await simulator.start_device("gw")
    assert simulator.port("gw") == port
    result = await run("snmpget", *v2c("kim-ro", port), SYS_DESCR)
    assert result.rc == 0 and "Hex-STRING" in result.out


async def test_start_device_with_reboot_restarts_uptime(sim: Sim) -> None:
    simulator, port = sim
    simulator.store("gw").boot -= 3600
    await simulator.stop_device("gw")
    await simulator.start_device("gw", reboot=True)
    ticks = shown((await run("snmpget", *v2c("kim-ro", port), UPTIME)).out)[UPTIME][1]
    assert isinstance(ticks, int) and 100 <= ticks < 100 + 500


async def test_silent_fault_times_out_and_normal_recovers(sim: Sim) -> None:
    simulator, port = sim
    simulator.set_fault("gw", "silent")
    result = await run("snmpget", *v2c("kim-ro", port), SYS_DESCR, timeout_s=0.3)
    assert result.rc != 0 and "Timeout" in result.err
    simulator.set_fault("gw", "normal")
    assert (await run("snmpget", *v2c("kim-ro", port), SYS_DESCR)).rc == 0


async def test_garbage_fault_answers_with_bytes_that_are_not_snmp(sim: Sim) -> None:
    simulator, port = sim
    simulator.set_fault("gw", "garbage")
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, _get_request("kim-ro", (1, 3, 6, 1, 2, 1, 1, 1, 0)))
        reply = await asyncio.wait_for(loop.sock_recv(sock, 4096), 2.0)
    assert reply and b"Simulated hAP" not in reply
    result = await run("snmpget", *v2c("kim-ro", port), SYS_DESCR, timeout_s=0.3)
    assert result.rc != 0


@pytest.mark.parametrize("user", list(V3_ARGS), ids=list(V3_ARGS))
async def test_v3_users_at_every_security_level(sim: Sim, user: str) -> None:
    _, port = sim
    result = await run("snmpget", "-v3", f"-u{user}", *V3_ARGS[user], f"127.0.0.1:{port}", SYS_DESCR)
    assert result.rc == 0, result.err
    assert shown(result.out)[SYS_DESCR] == ("STRING", b"Simulated hAP")


@pytest.mark.parametrize(
    "args",
    [["-lauthPriv", "-aSHA", "-Awrong-auth", "-xAES", "-Xpriv-pass-1"],
     ["-lauthPriv", "-aSHA", "-Aauth-pass-1", "-xAES", "-Xwrong-priv"],
     ["-lauthPriv", "-aSHA-256", "-Aauth-pass-1", "-xAES", "-Xpriv-pass-1"]],
    ids=["wrong-auth-key", "wrong-priv-key", "wrong-auth-protocol"],
)
async def test_v3_wrong_keys_fail(sim: Sim, args: list[str]) -> None:
    _, port = sim
    result = await run("snmpget", "-v3", "-uops", *args, f"127.0.0.1:{port}", SYS_DESCR, timeout_s=0.5)
    assert result.rc != 0
    assert "Simulated" not in result.out


async def test_v3_bulkwalk_equals_the_recording(sim: Sim) -> None:
    _, port = sim
    result = await run("snmpbulkwalk", "-v3", "-uops256", *V3_ARGS["ops256"], f"127.0.0.1:{port}", ".1")
    assert [oid for oid, _ in varbinds(result.out)][:-1] == [line.split("|")[0] for line in DATA.splitlines()]


async def test_add_after_start_and_free_port_reporting(sim: Sim, tmp_path: Path) -> None:
    simulator, first_port = sim
    device = SimDevice("ap", tmp_path / "gw.snmprec", community="ap-ro")
    port = simulator.add(device)
    assert port == device.port != first_port
    await asyncio.sleep(0.05)
    result = await run("snmpget", *v2c("ap-ro", port), SYS_DESCR)
    assert result.rc == 0, result.err
    # communities are per device: the first device's community is not accepted on the second port
    assert (await run("snmpget", *v2c("kim-ro", port), SYS_DESCR, timeout_s=0.3)).rc != 0


async def test_directory_mode_serves_each_file_under_its_stem(tmp_path: Path) -> None:
    (tmp_path / "alpha.snmprec").write_text("1.3.6.1.2.1.1.5.0|4|alpha\n")
    (tmp_path / "beta.snmprec").write_text("1.3.6.1.2.1.1.5.0|4|beta\n")
    simulator = SnmpSimulator()
    port = simulator.add_directory(tmp_path)
    await simulator.start()
    try:
        for name in ("alpha", "beta"):
            result = await run("snmpget", *v2c(name, port), "1.3.6.1.2.1.1.5.0")
            assert shown(result.out)["1.3.6.1.2.1.1.5.0"] == ("STRING", name.encode())
        assert (await run("snmpget", *v2c("gamma", port), "1.3.6.1.2.1.1.5.0", timeout_s=0.3)).rc != 0
    finally:
        await simulator.stop()
