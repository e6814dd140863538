"""SNMPv3 messages (RFC 3412 section 6, RFC 3414 section 2.4) on the manager side, over our BER codec (`ber.py`)
and PDU codec (`message.py`), secured by `usm.py`.

    SEQUENCE { version 3, msgGlobalData SEQUENCE { msgID, msgMaxSize, msgFlags, msgSecurityModel 3 },
               msgSecurityParameters OCTET STRING (SEQUENCE { engineID, boots, time, userName, authParams,
               privParams }), msgData (ScopedPDU SEQUENCE { contextEngineID, contextName, PDU } | OCTET STRING) }

`encode_request` builds a request (or the discovery probe), authenticates and encrypts it; `decode_header` reads
what can be read without keys (enough to find the request it answers); `open_scoped` checks the MAC and
decrypts, `decode_scoped` reads the PDU. Anything malformed raises `BerError`; a wrong MAC or an undecryptable
PDU raise `UsmRejected` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.snmp import ber, crypto, usm
from collectors.snmp.message import Response, decode_pdu

VERSION_3 = b"\x02\x01\x03"
USM = 3
MAX_SIZE = 65507  # msgMaxSize we accept (UDP over IPv4), as pysnmp and net-snmp send
AUTH_FLAG, PRIV_FLAG, REPORTABLE_FLAG = 0x01, 0x02, 0x04


class UsmRejected(Exception):
    """An SNMPv3 message our USM refuses (internal: the endpoint counts it by `reason` and drops it)."""

    def __init__(self, reason: usm.Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a request is secured with: the user, its keys for that engine, the engine's timeline values."""

    user: usm.UsmUser
    keys: usm.LocalKeys
    engine_id: bytes
    boots: int
    time: int
    salt: bytes  # 8 octets, a new one per message (AES IV uniqueness)


def encode_request(msg_id: int, pdu: bytes, out: Outgoing) -> bytes:
    """A request at the user's security level (msgFlags reportable), MAC spliced in last."""
    user, tlv = out.user, ber.tlv
    scoped = tlv(ber.SEQUENCE, tlv(ber.OCTET_STRING, out.engine_id) + b"\x04\x00" + pdu)
    priv_params = b""
    if user.priv is not None:
        priv_params = out.salt
        msg_data = tlv(ber.OCTET_STRING, usm.encrypt(user, out.keys, out.boots, out.time, out.salt, scoped))
    else:
        msg_data = scoped
    mac_size = user.auth.mac_size if user.auth else 0
    head = (tlv(ber.OCTET_STRING, out.engine_id) + _int(out.boots) + _int(out.time)
            + tlv(ber.OCTET_STRING, user.name) + b"\x04" + ber.length(mac_size))
    tail = tlv(ber.OCTET_STRING, priv_params)
    params = tlv(ber.SEQUENCE, head + bytes(mac_size) + tail)
    whole = _message(msg_id, user.flags, params, msg_data)
    if user.auth is None:
        return whole
    at = len(whole) - len(msg_data) - len(params) + (len(params) - len(tail) - mac_size)
    digest = crypto.mac(user.auth.hash_name, out.keys.auth, whole, mac_size)
    return whole[:at] + digest + whole[at + mac_size:]


def encode_probe(msg_id: int, request_id: int) -> bytes:
    """The discovery probe (RFC 3414 section 4): noAuthNoPriv, reportable, no engine ID, no user, an empty GET."""
    pdu = ber.tlv(0xA0, _int(request_id) + b"\x02\x01\x00\x02\x01\x00\x30\x00")
    params = ber.tlv(ber.SEQUENCE, b"\x04\x00\x02\x01\x00\x02\x01\x00\x04\x00\x04\x00\x04\x00")
    return _message(msg_id, REPORTABLE_FLAG, params, ber.tlv(ber.SEQUENCE, b"\x04\x00\x04\x00" + pdu))


def _int(value: int) -> bytes:
    return ber.tlv(ber.INTEGER, ber.integer_body(value))


def _message(msg_id: int, flags: int, params: bytes, msg_data: bytes) -> bytes:
    header = ber.tlv(ber.SEQUENCE, _int(msg_id) + _int(MAX_SIZE) + bytes((0x04, 0x01, flags)) + b"\x02\x01\x03")
    return ber.tlv(ber.SEQUENCE, VERSION_3 + header + ber.tlv(ber.OCTET_STRING, params) + msg_data)


@dataclass(frozen=True, slots=True)
class Inbound:
    """An SNMPv3 message's header and security parameters, read without keys."""

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user_name: bytes
    auth_params: bytes
    auth_at: int  # offset of authParams' contents in the message
    priv_params: bytes
    data_at: int  # offset of msgData in the message

    @property
    def authenticated(self) -> bool:
        return bool(self.flags & AUTH_FLAG)

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & PRIV_FLAG)


def is_v3(data: bytes) -> bool:
    """Whether `data` claims to be an SNMPv3 message (SEQUENCE, then INTEGER 3), even if malformed after that."""
    if len(data) < 5 or data[0] != ber.SEQUENCE:
        return False
    pos = 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)
    return data[pos:pos + 3] == VERSION_3


def decode_header(data: bytes) -> Inbound:
    """The header and USM security parameters of an SNMPv3 message; `BerError` when malformed."""
    read, read_integer = ber.read, ber.read_integer
    tag, pos, end = read(data, 0)
    if tag != ber.SEQUENCE or end != len(data):
        raise ber.BerError("not an SNMP message")
    version, pos = read_integer(data, pos)
    if version != 3:
        raise ber.BerError("not SNMPv3")
    tag, pos, global_end = read(data, pos)
    if tag != ber.SEQUENCE:
        raise ber.BerError("no msgGlobalData")
    msg_id, pos = read_integer(data, pos)
    max_size, pos = read_integer(data, pos)
    tag, start, pos = read(data, pos)
    if tag != ber.OCTET_STRING or pos - start != 1:
        raise ber.BerError("bad msgFlags")
    flags = data[start]
    model, pos = read_integer(data, pos)
    if pos != global_end or model != USM or not 0 <= msg_id <= usm.MAX_BOOTS or max_size < 484:
        raise ber.BerError("bad msgGlobalData")
    if flags & PRIV_FLAG and not flags & AUTH_FLAG:
        raise ber.BerError("privacy without authentication")
    tag, start, pos = read(data, pos)
    if tag != ber.OCTET_STRING:
        raise ber.BerError("no msgSecurityParameters")
    return _security_parameters(data, start, pos, msg_id, flags)


def _security_parameters(data: bytes, start: int, data_at: int, msg_id: int, flags: int) -> Inbound:
    read, read_integer = ber.read, ber.read_integer
    tag, pos, end = read(data, start)
    if tag != ber.SEQUENCE or end != data_at:
        raise ber.BerError("bad UsmSecurityParameters")
    fields: list[bytes] = []
    at = []
    for i in range(6):
        if i in (1, 2):
            number, pos = read_integer(data, pos)
            if not 0 <= number <= usm.MAX_BOOTS:
                raise ber.BerError("engine boots/time out of range")
            fields.append(number.to_bytes(4, "big"))
            continue
        tag, value_at, pos = read(data, pos)
        if tag != ber.OCTET_STRING:
            raise ber.BerError("bad UsmSecurityParameters")
        fields.append(data[value_at:pos])
        at.append(value_at)
    if pos != end or len(fields[0]) > 32:
        raise ber.BerError("bad UsmSecurityParameters")
    return Inbound(msg_id, flags, fields[0], int.from_bytes(fields[1], "big"), int.from_bytes(fields[2], "big"),
                   fields[3], fields[4], at[2], fields[5], data_at)


def open_scoped(data: bytes, inbound: Inbound, user: usm.UsmUser, keys: usm.LocalKeys) -> tuple[bytes, int]:
    """Check the MAC (when authenticated) and decrypt (when encrypted): the scoped PDU's buffer and its offset.
    `UsmRejected(WRONG_DIGEST)` for a bad MAC, `UsmRejected(DECRYPTION_ERROR)` for bad privacy parameters or
    ciphertext that does not decrypt to a scoped PDU."""
    if inbound.authenticated:
        if user.auth is None or len(inbound.auth_params) != user.auth.mac_size:
            raise UsmRejected(usm.Reason.WRONG_DIGEST)
        at, size = inbound.auth_at, user.auth.mac_size
        zeroed = data[:at] + bytes(size) + data[at + size:]
        if not crypto.mac_matches(user.auth.hash_name, keys.auth, zeroed, inbound.auth_params):
            raise UsmRejected(usm.Reason.WRONG_DIGEST)
    if not inbound.encrypted:
        return data, inbound.data_at
    if user.priv is None:
        raise UsmRejected(usm.Reason.UNSUPPORTED_SECURITY_LEVEL)
    tag, start, end = ber.read(data, inbound.data_at)
    if tag != ber.OCTET_STRING or end != len(data):
        raise ber.BerError("bad encryptedPDU")
    try:
        plain = usm.decrypt(user, keys, inbound.boots, inbound.time, inbound.priv_params, data[start:end])
    except ValueError:
        raise UsmRejected(usm.Reason.DECRYPTION_ERROR) from None
    return plain, 0


def decode_scoped(buf: bytes, pos: int, encrypted: bool) -> tuple[bytes, Response]:
    """The contextEngineID and the PDU of the scoped PDU at `pos`. Decrypted plaintext may carry padding
    after the scoped PDU (some agents pad to the cipher block); plaintext must end with it."""
    try:
        tag, start, end = ber.read(buf, pos)
        if tag != ber.SEQUENCE or (end != len(buf) and not encrypted):
            raise ber.BerError("bad ScopedPDU")
        tag, engine_at, name_at = ber.read(buf, start)
        tag2, _name_start, pdu_at = ber.read(buf, name_at)
        if tag != ber.OCTET_STRING or tag2 != ber.OCTET_STRING:
            raise ber.BerError("bad ScopedPDU")
        return buf[engine_at:name_at], decode_pdu(buf, pdu_at, end)
    except ber.BerError:
        if encrypted:  # the ciphertext decrypted to garbage: a wrong privacy key
            raise UsmRejected(usm.Reason.DECRYPTION_ERROR) from None
        raise
