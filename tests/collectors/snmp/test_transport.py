"""The pysnmp adapter against net-snmp's snmpd and against UDP peers that misbehave."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from peers import SnmpdAgent, udp_endpoint

from collectors.snmp.transport import SnmpEngineHandle, SnmpTransport
from netmon.errors import AuthenticationFailed, DeviceProtocolError, DeviceUnreachable
from netmon.model import Secret, SnmpSettings, SnmpV2cAuth, SnmpV3Auth

SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"


@pytest.fixture(params=[True, False], ids=["fast", "pysnmp"])
async def handle(request: pytest.FixtureRequest) -> AsyncIterator[SnmpEngineHandle]:
    h = SnmpEngineHandle(fast_v2c=request.param, fast_v3=request.param)
    yield h
    h.close()


def v2c(port: int, community: str, timeout_s: float = 10.0, retries: int = 1, reps: int = 25) -> SnmpSettings:
    return SnmpSettings(auth=SnmpV2cAuth(Secret(community)), port=port, timeout_s=timeout_s, retries=retries,
                        max_repetitions=reps)


def v3(agent: SnmpdAgent, auth_key: str, priv_key: str, timeout_s: float = 10.0) -> SnmpSettings:
    return SnmpSettings(auth=SnmpV3Auth(agent.v3_user, "sha256", Secret(auth_key), "aes128", Secret(priv_key)),
                        port=agent.port, timeout_s=timeout_s, retries=0)


async def test_v2c_get_reads_scalars_and_leaves_out_missing_objects(
        snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v2c(snmpd_agent.port, snmpd_agent.community))
    got = await t.get([SYS_NAME, "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.99.0", "1.3.6.1.4.1.99999.1.0"])
    assert got[SYS_NAME] == b"netmon-test-agent"
    assert isinstance(got["1.3.6.1.2.1.1.3.0"], int)
    assert "1.3.6.1.2.1.1.99.0" not in got and "1.3.6.1.4.1.99999.1.0" not in got


async def test_lockstep_bulk_walk_matches_separate_walks_and_stops_at_column_end(
        snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v2c(snmpd_agent.port, snmpd_agent.community, reps=2))
    both = await t.walk([IF_DESCR, IF_TYPE])
    descr = await t.walk([IF_DESCR])
    types = await t.walk([IF_TYPE])
    assert both == {**descr, **types}
    assert descr and all(oid.startswith(IF_DESCR + ".") for oid in descr)
    assert any(v == b"lo" for v in descr.values())


async def test_walk_of_absent_table_is_empty_not_an_error(
        snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v2c(snmpd_agent.port, snmpd_agent.community))
    assert await t.walk(["1.3.6.1.4.1.14988.1.1.1.3.1.6"]) == {}


async def test_getnext_returns_following_object(snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v2c(snmpd_agent.port, snmpd_agent.community))
    found = await t.next("1.3.6.1.2.1.1")
    assert found is not None and found[0] == "1.3.6.1.2.1.1.1.0"


async def test_v3_sha256_aes_reads(snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v3(snmpd_agent, snmpd_agent.v3_auth_key,
                                                          snmpd_agent.v3_priv_key))
    assert (await t.get([SYS_NAME]))[SYS_NAME] == b"netmon-test-agent"


async def test_v3_wrong_auth_key_is_authentication_failure_without_the_key(
        snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v3(snmpd_agent, "wrong-auth-key-999",
                                                          snmpd_agent.v3_priv_key))
    with pytest.raises(AuthenticationFailed) as info:
        await t.get([SYS_NAME])
    assert "wrong-auth-key-999" not in str(info.value) and "wrong-auth-key-999" not in repr(info.value)


async def test_v3_wrong_priv_key_fails(snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v3(snmpd_agent, snmpd_agent.v3_auth_key,
                                                          "wrong-priv-key-999", timeout_s=1.0))
    # the agent cannot decrypt the request: it reports decryptionErrors or stays silent (either way, at any
    # speed: a short timeout is fine)
    with pytest.raises((AuthenticationFailed, DeviceUnreachable)):
        await t.get([SYS_NAME])


async def test_unknown_v3_user_is_authentication_failure(snmpd_agent: SnmpdAgent,
                                                         handle: SnmpEngineHandle) -> None:
    settings = SnmpSettings(auth=SnmpV3Auth("nobody-here", "sha256", Secret("x" * 12), "aes128",
                                            Secret("y" * 12)), port=snmpd_agent.port, timeout_s=10, retries=0)
    t = await SnmpTransport.open(handle, "127.0.0.1", settings)
    with pytest.raises(AuthenticationFailed):
        await t.get([SYS_NAME])


async def test_silent_device_times_out_as_unreachable(handle: SnmpEngineHandle) -> None:
    port, hole = await udp_endpoint(None)
    t = await SnmpTransport.open(handle, "127.0.0.1", v2c(port, "public", timeout_s=0.3, retries=1))
    with pytest.raises(DeviceUnreachable, match="no SNMP answer"):
        await t.get([SYS_NAME])
    assert hole.received == 2  # the request and one retry


async def test_device_answering_garbage_is_a_protocol_error(handle: SnmpEngineHandle) -> None:
    port, _peer = await udp_endpoint(b"\x30\x82\xff\xffthis is not BER at all")
    # the garbage is kept while waiting for a good answer, and reported when none came: the timeout only has
    # to be long enough for the garbage to arrive
    t = await SnmpTransport.open(handle, "127.0.0.1", v2c(port, "public", timeout_s=2.0, retries=0))
    with pytest.raises(DeviceProtocolError, match="undecodable"):
        await t.get([SYS_NAME])


async def test_wrong_community_times_out_and_error_hides_the_community(
        snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", v2c(snmpd_agent.port, "not-the-community-42",
                                                          timeout_s=0.3, retries=0))
    with pytest.raises(DeviceUnreachable) as info:
        await t.get([SYS_NAME])
    assert "not-the-community-42" not in str(info.value)


async def test_unresolvable_host_is_unreachable(handle: SnmpEngineHandle) -> None:
    with pytest.raises(DeviceUnreachable):
        await SnmpTransport.open(handle, "no-such-host.invalid", v2c(161, "public"))
