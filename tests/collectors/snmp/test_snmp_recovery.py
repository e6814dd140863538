"""An SNMP agent that goes away and comes back (net-snmp's snmpd stopped and started again on the same port, with
its persistent state, as a device does across a power cut): the first poll after it is back succeeds, over v2c
(our own codec) and v3 (pysnmp, whose cached engine boots/time are stale after the agent's restart)."""

from __future__ import annotations

import pytest
from snmpd_peer import AUTH_KEY, COMMUNITY, ENGINE_BOOTS, ENGINE_ID, PRIV_KEY, USER, Snmpd, restartable_snmpd

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import load_profiles
from netmon.model import Device, Owner, Role, Secret, SnmpAuth, SnmpSettings, SnmpV2cAuth, SnmpV3Auth, Source

snmpd = restartable_snmpd

def device(port: int, auth: SnmpAuth) -> Device:
    return Device(id="agent", site="s", role=Role.ROUTER, address="127.0.0.1", sources=(Source.SNMP,),
                  owner=Owner.PEMDA, snmp=SnmpSettings(auth=auth, port=port, timeout_s=0.3, retries=0))


V2C = SnmpV2cAuth(Secret(COMMUNITY))
V3 = SnmpV3Auth(USER, "sha256", Secret(AUTH_KEY), "aes128", Secret(PRIV_KEY))


@pytest.mark.parametrize("auth", [V2C, V3], ids=["v2c", "v3"])
async def test_first_poll_after_the_agent_is_back_succeeds(snmpd: Snmpd, auth: SnmpAuth) -> None:
    collector = SnmpCollector(load_profiles())
    dev = device(snmpd.port, auth)
    try:
        assert (await collector.poll(dev)).ok
        snmpd.stop()
        for _ in range(3):
            down = await collector.poll(dev)
            assert down.error is not None and down.error.reason == "timeout", down.error
        snmpd.start()
        assert snmpd.get(ENGINE_BOOTS) == "2"
        back = await collector.poll(dev)
        assert back.ok, back.error
    finally:
        await collector.close()


@pytest.mark.parametrize("auth", [V2C, V3], ids=["v2c", "v3"])
async def test_agent_restarted_between_polls_is_polled_at_once(snmpd: Snmpd, auth: SnmpAuth) -> None:
    """A power cut shorter than the interval: no poll failed, the agent's engine boots went up and its engine
    time started again from zero; the next poll still succeeds."""
    collector = SnmpCollector(load_profiles())
    dev = device(snmpd.port, auth)
    try:
        assert (await collector.poll(dev)).ok
        snmpd.stop()
        snmpd.start()
        assert snmpd.get(ENGINE_BOOTS) == "2"
        back = await collector.poll(dev)
        assert back.ok, back.error
    finally:
        await collector.close()


@pytest.mark.parametrize("polled_while_down", [True, False], ids=["polled-while-down", "back-before-next-poll"])
@pytest.mark.parametrize("auth", [V2C, V3], ids=["v2c", "v3"])
async def test_agent_with_a_new_engine_id_is_polled_at_once(snmpd: Snmpd, auth: SnmpAuth,
                                                            polled_while_down: bool) -> None:
    """The unit at the address was replaced or reset (a new SNMP engine ID, boots from 1): the first poll after
    it answers succeeds; SNMPv3 discovers the new engine instead of using the old one's keys and timeline."""
    collector = SnmpCollector(load_profiles())
    dev = device(snmpd.port, auth)
    try:
        assert (await collector.poll(dev)).ok
        old = snmpd.get(ENGINE_ID)
        snmpd.stop()
        if polled_while_down:
            assert (await collector.poll(dev)).error is not None
        snmpd.start(reset=True)
        assert snmpd.get(ENGINE_ID) != old
        back = await collector.poll(dev)
        assert back.ok, back.error
    finally:
        await collector.close()
