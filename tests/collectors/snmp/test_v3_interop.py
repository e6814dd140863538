"""The SNMPv3 fast path against real agents: pysnmp's command responder (its USM decodes our messages, ours
decodes its answers) at every security level and protocol we offer, and net-snmp's snmpd with a real
`createUser` (SHA-256/AES): reads, walks, wrong keys and unknown users, each refusal counted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from peers import SnmpdAgent, free_udp_port
from pyasn1.type.univ import OctetString
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context

from collectors.snmp.transport import SnmpEngineHandle, SnmpTransport
from collectors.snmp.usm import Reason
from collectors.snmp.v3 import BY_AGENT
from netmon.errors import AuthenticationFailed, DeviceUnreachable
from netmon.model import Secret, SnmpSettings, SnmpV3Auth

SYS_DESCR, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0"
SYSTEM = "1.3.6.1.2.1.1"
AUTH = {None: config.USM_AUTH_NONE, "sha": config.USM_AUTH_HMAC96_SHA, "sha256": config.USM_AUTH_HMAC192_SHA256}
PRIV = {None: config.USM_PRIV_NONE, "aes128": config.USM_PRIV_CFB128_AES,
        "aes256": config.USM_PRIV_CFB256_AES_BLUMENTHAL, "aes256-reeder": config.USM_PRIV_CFB256_AES}
# every combination the config accepts (netmon/config/schema.py), one user each
USERS = [(auth, priv) for auth in AUTH for priv in PRIV if auth or not priv]


def user_name(auth: str | None, priv: str | None) -> str:
    return f"u-{auth or 'none'}-{priv or 'none'}"


def auth_of(auth: str | None, priv: str | None, *, auth_key: str = "auth-pass-01",
            priv_key: str = "priv-pass-01") -> SnmpV3Auth:
    return SnmpV3Auth(user_name(auth, priv), auth, Secret(auth_key) if auth else None, priv,
                      Secret(priv_key) if priv else None)


@pytest.fixture
async def pysnmp_agent() -> AsyncIterator[int]:
    """pysnmp's command responder with one user per security level and protocol (its own MIB: SNMPv2-MIB)."""
    agent = engine.SnmpEngine(snmpEngineID=OctetString(b"\x80\x00\x4f\xb8\x05pysnmp-agent"))
    port = free_udp_port()
    config.add_transport(agent, udp.DOMAIN_NAME, udp.UdpTransport().open_server_mode(("127.0.0.1", port)))
    for auth, priv in USERS:
        name = user_name(auth, priv)
        config.add_v3_user(agent, name, AUTH[auth], "auth-pass-01" if auth else None, PRIV[priv],
                           "priv-pass-01" if priv else None)
        level = "authPriv" if priv else "authNoPriv" if auth else "noAuthNoPriv"
        config.add_vacm_user(agent, 3, name, level, (1, 3, 6), (1, 3, 6))
    snmp_context = context.SnmpContext(agent)
    for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, cmdrsp.BulkCommandResponder):
        responder(agent, snmp_context)
    yield port
    agent.close_dispatcher()


@pytest.fixture
async def handle() -> AsyncIterator[SnmpEngineHandle]:
    h = SnmpEngineHandle()
    yield h
    h.close()


@pytest.mark.parametrize(("auth", "priv"), USERS, ids=[user_name(a, p) for a, p in USERS])
async def test_pysnmp_agent_answers_our_requests_at_every_level(pysnmp_agent: int, handle: SnmpEngineHandle,
                                                                auth: str | None, priv: str | None) -> None:
    settings = SnmpSettings(auth=auth_of(auth, priv), port=pysnmp_agent, timeout_s=5.0, retries=0)
    t = await SnmpTransport.open(handle, "127.0.0.1", settings)
    got = await t.get([SYS_DESCR, SYS_NAME])
    assert b"PySNMP" in got[SYS_DESCR]  # type: ignore[operator]
    walked = await t.walk([SYSTEM])
    assert walked[SYS_DESCR] == got[SYS_DESCR] and len(walked) > 5
    assert handle.rejected_messages() == {}
    assert handle._engine is None  # pysnmp's manager engine never started: the fast path did it all


async def test_pysnmp_agent_refuses_a_wrong_auth_key_and_we_count_its_report(
        pysnmp_agent: int, handle: SnmpEngineHandle) -> None:
    settings = SnmpSettings(auth=auth_of("sha256", "aes128", auth_key="not-the-auth-key"), port=pysnmp_agent,
                            timeout_s=5.0, retries=0)
    t = await SnmpTransport.open(handle, "127.0.0.1", settings)
    with pytest.raises(AuthenticationFailed, match="wrong_digest"):
        await t.get([SYS_NAME])
    assert handle.rejected_messages() == {(BY_AGENT, Reason.WRONG_DIGEST): 1}


def snmpd_settings(agent: SnmpdAgent, auth_key: str, priv_key: str, user: str | None = None) -> SnmpSettings:
    return SnmpSettings(auth=SnmpV3Auth(user or agent.v3_user, "sha256", Secret(auth_key), "aes128",
                                        Secret(priv_key)), port=agent.port, timeout_s=5.0, retries=0)


async def test_snmpd_createuser_sha256_aes_reads_and_walks(snmpd_agent: SnmpdAgent,
                                                           handle: SnmpEngineHandle) -> None:
    t = await SnmpTransport.open(handle, "127.0.0.1", snmpd_settings(snmpd_agent, snmpd_agent.v3_auth_key,
                                                                      snmpd_agent.v3_priv_key))
    assert (await t.get([SYS_NAME]))[SYS_NAME] == b"netmon-test-agent"
    interfaces = await t.walk(["1.3.6.1.2.1.2.2.1.2"])
    assert b"lo" in interfaces.values()
    assert handle.rejected_messages() == {} and handle._engine is None


@pytest.mark.parametrize(("auth_key", "user", "reason"), [
    ("wrong-auth-key-999", None, Reason.WRONG_DIGEST),
    (None, "nobody-here", Reason.UNKNOWN_USER_NAME),
], ids=["wrong-auth-key", "unknown-user"])
async def test_snmpd_refusals_are_authentication_failures_counted_by_reason(
        snmpd_agent: SnmpdAgent, handle: SnmpEngineHandle, auth_key: str | None, user: str | None,
        reason: Reason) -> None:
    settings = snmpd_settings(snmpd_agent, auth_key or snmpd_agent.v3_auth_key, snmpd_agent.v3_priv_key, user)
    t = await SnmpTransport.open(handle, "127.0.0.1", settings)
    with pytest.raises(AuthenticationFailed) as failed:
        await t.get([SYS_NAME])
    assert "wrong-auth-key-999" not in str(failed.value) and snmpd_agent.v3_priv_key not in str(failed.value)
    assert handle.rejected_messages() == {(BY_AGENT, reason): 1}


async def test_snmpd_wrong_priv_key_fails_and_never_reads(snmpd_agent: SnmpdAgent,
                                                          handle: SnmpEngineHandle) -> None:
    """snmpd cannot decrypt the request: it drops it (counting snmpInASNParseErrs) or reports decryptionErrors."""
    settings = snmpd_settings(snmpd_agent, snmpd_agent.v3_auth_key, "wrong-priv-key-999")
    settings = SnmpSettings(auth=settings.auth, port=settings.port, timeout_s=0.5, retries=0)
    t = await SnmpTransport.open(handle, "127.0.0.1", settings)
    with pytest.raises((AuthenticationFailed, DeviceUnreachable)):
        await t.get([SYS_NAME])
    assert set(handle.rejected_messages()) <= {(BY_AGENT, Reason.DECRYPTION_ERROR)}
