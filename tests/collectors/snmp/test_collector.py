"""SnmpCollector end to end against net-snmp's snmpd and against peers that fail."""

from __future__ import annotations

import pytest
from peers import SnmpdAgent, udp_endpoint

from collectors.snmp.collector import SnmpCollector, rediscover_after
from collectors.snmp.profile import load_profiles
from netmon.model import Device, Owner, Role, Secret, SnmpSettings, SnmpV2cAuth, SnmpV3Auth, Source


def snmp_device(port: int, auth: SnmpV2cAuth | SnmpV3Auth, *, profile: str | None = None,
                timeout_s: float = 10.0) -> Device:
    return Device(id="dev-1", site="kim-a", role=Role.OTHER, address="127.0.0.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, profile=profile,
                  snmp=SnmpSettings(auth=auth, port=port, timeout_s=timeout_s, retries=0))


async def test_polls_a_linux_agent_with_the_generic_profile(snmpd_agent: SnmpdAgent) -> None:
    collector = SnmpCollector(load_profiles())
    try:
        device = snmp_device(snmpd_agent.port, SnmpV2cAuth(Secret(snmpd_agent.community)))
        first = await collector.poll(device)
        second = await collector.poll(device)
    finally:
        await collector.close()
    assert first.ok and second.ok, (first.error, second.error)
    assert first.identity is not None and first.identity.profile == "generic"
    assert first.identity.sys_name == "netmon-test-agent"
    metrics = {s.metric for s in second.samples}
    assert {"netmon_device_uptime_seconds", "netmon_interface_receive_bytes_total",
            "netmon_interface_transmit_bytes_total", "netmon_interface_up"} <= metrics
    lo_in = [s for s in second.samples
             if s.metric == "netmon_interface_receive_bytes_total" and ("interface", "lo") in s.labels]
    assert len(lo_in) == 1 and lo_in[0].value >= 0


async def test_v3_device_is_polled(snmpd_agent: SnmpdAgent) -> None:
    collector = SnmpCollector(load_profiles())
    auth = SnmpV3Auth(snmpd_agent.v3_user, "sha256", Secret(snmpd_agent.v3_auth_key), "aes128",
                      Secret(snmpd_agent.v3_priv_key))
    try:
        result = await collector.poll(snmp_device(snmpd_agent.port, auth))
    finally:
        await collector.close()
    assert result.ok and result.identity is not None


async def test_wrong_v3_key_is_an_auth_error_result(snmpd_agent: SnmpdAgent) -> None:
    collector = SnmpCollector(load_profiles())
    auth = SnmpV3Auth(snmpd_agent.v3_user, "sha256", Secret("definitely-wrong"), "aes128",
                      Secret(snmpd_agent.v3_priv_key))
    try:
        result = await collector.poll(snmp_device(snmpd_agent.port, auth))
    finally:
        await collector.close()
    assert result.error is not None and result.error.reason == "auth"
    assert "definitely-wrong" not in str(result.error)


async def test_silent_device_gives_a_timeout_result_not_an_exception() -> None:
    port, _hole = await udp_endpoint(None)
    collector = SnmpCollector(load_profiles())
    try:
        result = await collector.poll(snmp_device(port, SnmpV2cAuth(Secret("public")), timeout_s=0.2))
    finally:
        await collector.close()
    assert not result.ok and result.error is not None and result.error.reason == "timeout"
    assert result.samples == ()


async def test_garbage_answering_device_is_marked_as_protocol_error() -> None:
    port, _peer = await udp_endpoint(b"\x30\x03\x02\x01")
    collector = SnmpCollector(load_profiles())
    try:  # the timeout only has to be long enough for the garbage to arrive
        result = await collector.poll(snmp_device(port, SnmpV2cAuth(Secret("public")), timeout_s=2.0))
    finally:
        await collector.close()
    assert result.error is not None and result.error.reason == "protocol"


async def test_unknown_profile_name_is_a_config_error() -> None:
    from netmon.errors import ConfigError

    with pytest.raises(ConfigError):
        load_profiles().get("no-such-vendor")


def test_rediscovery_is_spread_over_a_quarter_of_the_period_stably_per_device() -> None:
    points = [rediscover_after(f"ap{i:05d}", 3600.0) for i in range(2000)]
    assert all(3600.0 <= p < 4500.0 for p in points)
    assert max(points) - min(points) > 800  # spread, not one instant
    assert rediscover_after("ap00001", 3600.0) == points[1]  # stable
