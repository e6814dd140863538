"""The collectors' adapters translate their library's errors at the seam: a real peer provokes each error, and
the test checks our error class, that the library's words are kept, and that no secret shows anywhere, in the
message or in the chained traceback a log line would print."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from peers import SnmpdAgent, free_tcp_port

from collectors.routeros.client import RouterOsClient
from collectors.snmp.transport import SnmpEngineHandle, SnmpTransport
from netmon.errors import AuthenticationFailed, DeviceUnreachable
from netmon.model import RouterOsSettings, Secret, SnmpSettings, SnmpV3Auth
from netmon.simulate.routeros.server import RouterOsSimulator, SimRouter

SYS_NAME = "1.3.6.1.2.1.1.5.0"
# secrets in constants: a traceback shows the test's source lines, which must not be what a check finds
WRONG_KEY, SHORT_KEY = "wrong-auth-key-4242", "k3y-7"


def shown(exc: BaseException) -> str:
    """Everything a logged traceback of `exc` would show, its chain included."""
    return "".join(traceback.format_exception(exc))


@pytest.fixture
async def handle() -> AsyncIterator[SnmpEngineHandle]:
    h = SnmpEngineHandle()
    yield h
    h.close()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def v3(agent: SnmpdAgent, auth_key: str, priv_key: str) -> SnmpSettings:
    return SnmpSettings(auth=SnmpV3Auth(agent.v3_user, "sha256", Secret(auth_key), "aes128", Secret(priv_key)),
                        port=agent.port, timeout_s=10.0, retries=0)


@pytest.mark.parametrize(("fast_v3", "said"), [
    (True, "SNMPv3 authentication failed: the agent reported wrong_digest (usmStatsWrongDigests)"),
    (False, "SNMPv3 authentication failed: WrongDigest: Wrong SNMP PDU digest"),
], ids=["fast-v3", "pysnmp-v3"])
async def test_snmpv3_wrong_auth_key_keeps_the_words_without_the_keys(snmpd_agent: SnmpdAgent, fast_v3: bool,
                                                                      said: str) -> None:
    handle = SnmpEngineHandle(fast_v3=fast_v3)
    try:
        transport = await SnmpTransport.open(handle, "127.0.0.1", v3(snmpd_agent, WRONG_KEY,
                                                                      snmpd_agent.v3_priv_key))
        with pytest.raises(AuthenticationFailed) as caught:
            await transport.get([SYS_NAME])
    finally:
        handle.close()

    assert str(caught.value) == said
    assert WRONG_KEY not in shown(caught.value)
    assert snmpd_agent.v3_priv_key not in shown(caught.value)


@pytest.mark.parametrize(("fast_v3", "said"), [(True, "auth key shorter than 8 characters"),
                                               (False, "WrongValueError")], ids=["fast-v3", "pysnmp-v3"])
async def test_snmpv3_key_too_short_is_an_authentication_failure_that_never_quotes_the_key(
        snmpd_agent: SnmpdAgent, fast_v3: bool, said: str) -> None:
    # pysnmp refuses a key under 8 characters (RFC 3414) with an error whose chain quotes the key
    handle = SnmpEngineHandle(fast_v3=fast_v3)
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await SnmpTransport.open(handle, "127.0.0.1", v3(snmpd_agent, SHORT_KEY, snmpd_agent.v3_priv_key))
    finally:
        handle.close()

    assert str(caught.value).startswith("SNMPv3 credentials not usable (keys need at least 8 characters): "
                                        + said)
    assert SHORT_KEY not in shown(caught.value)
    assert caught.value.__cause__ is None  # the library's chain quoted the key: dropped


async def test_routeros_wrong_password_keeps_the_routers_words_and_hides_the_password(
        executor: ThreadPoolExecutor) -> None:
    sim = RouterOsSimulator()
    await sim.start()
    try:
        port = sim.add(SimRouter("r1", "7.16", "netmon", "right-password-1"))
        client = RouterOsClient("127.0.0.1", RouterOsSettings("netmon", Secret("wrong-password-1"), port=port,
                                                              timeout_s=5.0), executor)
        with pytest.raises(AuthenticationFailed) as caught:
            await client.print("/system/identity")
    finally:
        await sim.stop()

    assert str(caught.value) == ("RouterOS API login refused for user 'netmon': "
                                 "invalid user name or password (6)")
    assert "wrong-password-1" not in shown(caught.value) and "right-password-1" not in shown(caught.value)
    # routeros-api's own error quotes the /login command, password included: so it is not chained
    assert caught.value.__cause__ is None


async def test_routeros_refused_connection_names_the_socket_error(executor: ThreadPoolExecutor) -> None:
    client = RouterOsClient("127.0.0.1", RouterOsSettings("netmon", Secret("pw-never-shown"), port=free_tcp_port(),
                                                          timeout_s=5.0), executor)
    with pytest.raises(DeviceUnreachable) as caught:
        await client.print("/system/identity")

    assert "failed: " in str(caught.value) and "Connection refused" in str(caught.value)
    assert "pw-never-shown" not in shown(caught.value)
