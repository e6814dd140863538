"""Our user-based security model (collectors/snmp/usm.py, v3message.py) byte for byte against pysnmp's: the same
password gives the same keys (every hash, every AES key extension), the same scoped PDU with the same engine
boots/time and salt gives the same encrypted and authenticated message, and each side reads the other's. Plus
RFC 3414's time window, driven by an injected clock, and keys that never show."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.entity import config as snmp_config
from pysnmp.proto import rfc1905
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.eso.priv.aes256 import Aes256, AesBlumenthal256
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.auth.hmacmd5 import HmacMd5
from pysnmp.proto.secmod.rfc3414.auth.hmacsha import HmacSha
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.proto.secmod.rfc3826.priv.aes import Aes
from pysnmp.proto.secmod.rfc7860.auth.hmacsha2 import HmacSha2

from collectors.snmp import usm
from collectors.snmp.message import RESPONSE, encode_pdu
from collectors.snmp.usm import Reason, Timeline, UsmUser
from collectors.snmp.v3message import Outgoing, UsmRejected, decode_header, decode_scoped, encode_request, open_scoped

ENGINE_ID = bytes.fromhex("80001f8880e9630000d61ff449")  # a net-snmp style engine ID
AUTH_PW, PRIV_PW = "maplesyrup", "priv-pass-0042"
SALT = bytes.fromhex("0011223344556677")
OIDS = [(1, 3, 6, 1, 2, 1, 1, 5, 0), (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 7)]

PYSNMP_AUTH: dict[str, tuple[Any, Any]] = {  # ours -> (pysnmp protocol OID, its hash)
    "md5": (snmp_config.USM_AUTH_HMAC96_MD5, hashlib.md5),
    "sha": (snmp_config.USM_AUTH_HMAC96_SHA, hashlib.sha1),
    "sha224": (snmp_config.USM_AUTH_HMAC128_SHA224, hashlib.sha224),
    "sha256": (snmp_config.USM_AUTH_HMAC192_SHA256, hashlib.sha256),
    "sha384": (snmp_config.USM_AUTH_HMAC256_SHA384, hashlib.sha384),
    "sha512": (snmp_config.USM_AUTH_HMAC384_SHA512, hashlib.sha512),
}
PYSNMP_PRIV = {"aes128": Aes, "aes256": AesBlumenthal256, "aes256-reeder": Aes256}


def pysnmp_auth_service(name: str) -> Any:
    oid = PYSNMP_AUTH[name][0]
    return {"md5": HmacMd5, "sha": HmacSha}[name]() if name in ("md5", "sha") else HmacSha2(oid)


def test_rfc3414_a3_password_to_key_sample() -> None:
    """RFC 3414 A.3.1 / A.3.2: "maplesyrup" localized to engine ID 000000000000000000000002."""
    engine = bytes.fromhex("000000000000000000000002")
    assert usm.localize(usm.hash_password(b"maplesyrup", "md5"), engine, "md5").hex() == \
        "526f5eed9fcce26f8964c2930787d82b"
    assert usm.localize(usm.hash_password(b"maplesyrup", "sha1"), engine, "sha1").hex() == \
        "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize("auth", sorted(PYSNMP_AUTH))
@pytest.mark.parametrize("password", ["maplesyrup", "exactly8", "a much longer passphrase than 64 octets " * 3])
def test_keys_are_pysnmps(auth: str, password: str) -> None:
    hash_name = usm.AUTH_PROTOCOLS[auth].hash_name
    ku = usm.hash_password(password.encode(), hash_name)
    assert ku == bytes(localkey.hash_passphrase(password.encode(), PYSNMP_AUTH[auth][1]))
    theirs = localkey.localize_key(ku, univ.OctetString(ENGINE_ID), PYSNMP_AUTH[auth][1])
    assert usm.localize(ku, ENGINE_ID, hash_name) == bytes(theirs)


@pytest.mark.parametrize("priv", sorted(PYSNMP_PRIV))
@pytest.mark.parametrize("auth", sorted(PYSNMP_AUTH))
def test_privacy_keys_and_their_extension_are_pysnmps(auth: str, priv: str) -> None:
    """AES-256 from a shorter hash (MD5, SHA-1, SHA-224) needs the key extended: Blumenthal's and Reeder's
    differ, and each must be the one pysnmp (and the agents it talks to) use."""
    hash_name = usm.AUTH_PROTOCOLS[auth].hash_name
    ku = usm.hash_password(PRIV_PW.encode(), hash_name)
    ours = usm.localize_priv(ku, ENGINE_ID, hash_name, usm.PRIV_PROTOCOLS[priv])
    theirs = PYSNMP_PRIV[priv]().localize_key(PYSNMP_AUTH[auth][0], ku, univ.OctetString(ENGINE_ID))
    assert ours == bytes(theirs)
    assert len(ours) == usm.PRIV_PROTOCOLS[priv].key_size


def pysnmp_message(auth: str, priv: str | None, msg_id: int, boots: int, time: int, pdu: bytes) -> bytes:
    """The message pysnmp's USM builds (RFC 3414 section 3.1), step by step with its own services."""
    user = UsmUser("netmon", auth, AUTH_PW, priv, PRIV_PW if priv else None)
    keys = user.keys(ENGINE_ID)
    pdus, _ = decoder.decode(pdu, asn1Spec=rfc1905.PDUs())  # pyasn1's PDU, encoded again by pysnmp below
    scoped_pdu = ScopedPDU()
    scoped_pdu["contextEngineId"], scoped_pdu["contextName"] = ENGINE_ID, b""
    scoped_pdu["data"] = pdus
    scoped = encoder.encode(scoped_pdu)
    message = SNMPv3Message()
    message["msgVersion"] = 3
    header = message["msgGlobalData"]
    header["msgID"], header["msgMaxSize"], header["msgSecurityModel"] = msg_id, 65507, 3
    header["msgFlags"] = bytes([user.flags])
    params = UsmSecurityParameters()
    params["msgAuthoritativeEngineId"] = ENGINE_ID
    params["msgAuthoritativeEngineBoots"], params["msgAuthoritativeEngineTime"] = boots, time
    params["msgUserName"] = b"netmon"
    params["msgPrivacyParameters"] = b""
    if priv:
        service = PYSNMP_PRIV[priv]()
        service.local_int = int.from_bytes(SALT, "big")
        cipher, salt = service.encrypt_data(univ.OctetString(keys.priv), (boots, time, None), scoped)
        params["msgPrivacyParameters"] = salt
        message["msgData"]["encryptedPDU"] = cipher
    else:
        message["msgData"]["plaintext"] = scoped_pdu
    mac_size = usm.AUTH_PROTOCOLS[auth].mac_size
    params["msgAuthenticationParameters"] = bytes(mac_size)
    message["msgSecurityParameters"] = encoder.encode(params)
    whole = encoder.encode(message)
    return bytes(pysnmp_auth_service(auth).authenticate_outgoing_message(univ.OctetString(keys.auth), whole))


LEVELS = [("sha", None), ("sha256", "aes128"), ("sha", "aes128"), ("sha256", "aes256"), ("sha", "aes256"),
          ("sha", "aes256-reeder"), ("md5", "aes128"), ("sha224", "aes256"), ("sha384", "aes128"),
          ("sha512", "aes256")]


@pytest.mark.parametrize(("auth", "priv"), LEVELS, ids=[f"{a}-{p}" for a, p in LEVELS])
def test_request_is_byte_for_byte_pysnmps(auth: str, priv: str | None) -> None:
    pdu = encode_pdu(4242, "bulk", OIDS, 10)
    user = UsmUser("netmon", auth, AUTH_PW, priv, PRIV_PW if priv else None)
    ours = encode_request(77, pdu, Outgoing(user, user.keys(ENGINE_ID), ENGINE_ID, 3, 123456, SALT))
    assert ours == pysnmp_message(auth, priv, 77, 3, 123456, pdu)


@pytest.mark.parametrize(("auth", "priv"), LEVELS, ids=[f"{a}-{p}" for a, p in LEVELS])
def test_we_read_pysnmps_message_and_pysnmp_reads_ours(auth: str, priv: str | None) -> None:
    pdu = encode_pdu(99, "get", OIDS)
    user = UsmUser("netmon", auth, AUTH_PW, priv, PRIV_PW if priv else None)
    keys = user.keys(ENGINE_ID)
    theirs = pysnmp_message(auth, priv, 5, 2, 777, pdu)
    inbound = decode_header(theirs)
    assert (inbound.msg_id, inbound.engine_id, inbound.boots, inbound.time) == (5, ENGINE_ID, 2, 777)
    buf, pos = open_scoped(theirs, inbound, user, keys)
    context, request = decode_scoped(buf, pos, inbound.encrypted)
    assert context == ENGINE_ID and request.request_id == 99 and [o for o, _ in request.varbinds] == OIDS

    ours = encode_request(6, pdu, Outgoing(user, keys, ENGINE_ID, 2, 778, SALT))
    message, _ = decoder.decode(ours, asn1Spec=SNMPv3Message())
    params, _ = decoder.decode(bytes(message["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
    digest = bytes(params["msgAuthenticationParameters"])
    pysnmp_auth_service(auth).authenticate_incoming_message(univ.OctetString(keys.auth), univ.OctetString(digest),
                                                            ours)  # raises on a wrong MAC
    if priv:
        plain = PYSNMP_PRIV[priv]().decrypt_data(univ.OctetString(keys.priv), (2, 778, list(SALT)),
                                                 message["msgData"]["encryptedPDU"])
        scoped, _ = decoder.decode(plain, asn1Spec=ScopedPDU())
    else:
        scoped = message["msgData"]["plaintext"]
    assert bytes(scoped["contextEngineId"]) == ENGINE_ID
    assert int(scoped["data"].getComponent()["request-id"]) == 99


@pytest.mark.parametrize("change", ["mac", "ciphertext", "boots"])
def test_a_changed_byte_fails_the_mac(change: str) -> None:
    user = UsmUser("netmon", "sha256", AUTH_PW, "aes128", PRIV_PW)
    keys = user.keys(ENGINE_ID)
    data = bytearray(encode_request(8, encode_pdu(1, "get", OIDS), Outgoing(user, keys, ENGINE_ID, 3, 500, SALT)))
    inbound = decode_header(bytes(data))
    at = {"mac": inbound.auth_at, "ciphertext": len(data) - 3, "boots": bytes(data).index(b"\x02\x01\x03", 30) + 2}
    data[at[change]] ^= 0x01
    with pytest.raises(UsmRejected) as rejected:
        open_scoped(bytes(data), decode_header(bytes(data)), user, keys)
    assert rejected.value.reason is Reason.WRONG_DIGEST


def test_a_response_encrypted_with_another_key_is_a_decryption_error() -> None:
    right = UsmUser("netmon", "sha256", AUTH_PW, "aes128", PRIV_PW)
    wrong_priv = UsmUser("netmon", "sha256", AUTH_PW, "aes128", "not-the-priv-key")
    pdu = bytes([RESPONSE]) + encode_pdu(1, "get", OIDS)[1:]
    data = encode_request(9, pdu, Outgoing(wrong_priv, wrong_priv.keys(ENGINE_ID), ENGINE_ID, 1, 1, SALT))
    inbound = decode_header(data)
    buf, pos = open_scoped(data, inbound, right, right.keys(ENGINE_ID))  # the MAC is right: same auth key
    with pytest.raises(UsmRejected) as rejected:
        decode_scoped(buf, pos, True)
    assert rejected.value.reason is Reason.DECRYPTION_ERROR


def test_keys_are_localized_once_per_engine_and_never_shown() -> None:
    user = UsmUser("netmon", "sha256", AUTH_PW, "aes256", PRIV_PW)
    assert user.keys(ENGINE_ID) is user.keys(ENGINE_ID)
    assert user.keys(ENGINE_ID) != user.keys(ENGINE_ID + b"\x01")
    shown = repr(user) + repr(user.keys(ENGINE_ID)) + str(user.keys(ENGINE_ID))
    assert AUTH_PW not in shown and PRIV_PW not in shown and user.keys(ENGINE_ID).auth.hex() not in shown


@pytest.mark.parametrize(("auth_pw", "priv_pw"), [("k3y-7", PRIV_PW), (AUTH_PW, "7ch@rs!")])
def test_keys_under_8_characters_are_refused_without_quoting_them(auth_pw: str, priv_pw: str) -> None:
    with pytest.raises(ValueError) as refused:
        UsmUser("netmon", "sha", auth_pw, "aes128", priv_pw)
    assert auth_pw not in str(refused.value) and priv_pw not in str(refused.value)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# our notion: boots 5, time 1000 (the latest received); then `elapsed` seconds later an authentic message with
# (boots, time): accepted?, and our (boots, time) after it. RFC 3414 3.2 step 7b: first take a newer message's
# values (greater boots, or a time greater than the latest received), then refuse one from an earlier boot or
# more than 150 s behind our notion.
WINDOW = [
    ("newer: taken", 200, (5, 1001), True, (5, 1001)),
    ("150 s behind: the edge", 0, (5, 850), True, (5, 1000)),
    ("151 s behind", 0, (5, 849), False, (5, 1000)),
    ("the latest received, 200 s on", 200, (5, 1000), False, (5, 1200)),
    ("a replay from the previous boot", 0, (4, 9999), False, (5, 1000)),
    ("agent rebooted", 30, (6, 3), True, (6, 3)),
    ("agent ahead of us", 0, (5, 5000), True, (5, 5000)),
]


@pytest.mark.parametrize(("case", "elapsed", "message", "accepted", "after"), WINDOW, ids=[w[0] for w in WINDOW])
def test_time_window_rfc3414_step_7b(case: str, elapsed: float, message: tuple[int, int], accepted: bool,
                                     after: tuple[int, int]) -> None:
    clock = Clock()
    timeline = Timeline(5, 1000, clock)
    clock.now += elapsed
    assert timeline.accept(*message) is accepted
    assert (timeline.boots, timeline.now()) == after


def test_engine_time_advances_with_the_clock_and_boots_at_the_maximum_are_never_in_window() -> None:
    clock = Clock()
    timeline = Timeline(usm.MAX_BOOTS, 10, clock)
    clock.now += 42.9
    assert timeline.now() == 52
    assert not timeline.accept(usm.MAX_BOOTS, 52)


def test_provisional_timeline_takes_the_first_authentic_values() -> None:
    clock = Clock()
    timeline = Timeline(0, 0, clock, provisional=True)  # from an unauthenticated discovery report
    assert timeline.accept(3, 100) and (timeline.boots, timeline.now()) == (3, 100)
    assert not timeline.provisional and not timeline.accept(2, 100)
