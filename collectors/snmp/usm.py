"""SNMPv3's user-based security model (RFC 3414) on the manager side: protocols, keys, the agent's timeline.

- Authentication: HMAC-MD5-96 and HMAC-SHA-96 (RFC 3414), HMAC-SHA-2 with truncated MACs of 16/24/32/48
  octets (RFC 7860: SHA-224/256/384/512).
- Privacy: AES-128 CFB (RFC 3826) and AES-256 CFB with the key extension of draft-blumenthal-aes-usm-04
  (net-snmp's and most vendors') or of draft-reeder-snmpv3-usm-3desede (Cisco's): `aes256-reeder`.
- Keys: the password-to-key expansion (1 MB hashed, ~1 ms) happens once per password when a `UsmUser` is made;
  localization to an engine ID (one short hash) once per engine, kept in the user (`keys(engine_id)`).
- `Timeline`: the agent's engineBoots/engineTime as we believe them, advancing with a monotonic clock, and
  RFC 3414 section 3.2 step 7b (the checks a non-authoritative engine makes on an authentic message).

Nothing here does I/O; HMAC and AES come from `crypto.py`. No repr, str or error shows a password or a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from collectors.snmp import crypto

PASSWORD_EXPANSION = 1_048_576  # RFC 3414 A.2.1: the password repeated to 1 MB, hashed
MIN_PASSWORD = 8  # RFC 3414 section 11.2
TIME_WINDOW_S = 150  # RFC 3414 section 3.2 step 7b
MAX_BOOTS = 2**31 - 1
MAX_ENGINES_PER_USER = 4096  # localized keys kept per user (one per engine ID); cleared when full


@dataclass(frozen=True, slots=True)
class AuthProtocol:
    name: str  # the config's word
    hash_name: str  # crypto.py's hash
    mac_size: int  # octets of msgAuthenticationParameters


@dataclass(frozen=True, slots=True)
class PrivProtocol:
    name: str
    key_size: int  # AES key octets
    extension: str  # how a localized key shorter than key_size is extended: "", "blumenthal" or "reeder"


AUTH_PROTOCOLS = {p.name: p for p in (
    AuthProtocol("md5", "md5", 12), AuthProtocol("sha", "sha1", 12), AuthProtocol("sha224", "sha224", 16),
    AuthProtocol("sha256", "sha256", 24), AuthProtocol("sha384", "sha384", 32),
    AuthProtocol("sha512", "sha512", 48))}
PRIV_PROTOCOLS = {p.name: p for p in (
    PrivProtocol("aes128", 16, ""), PrivProtocol("aes256", 32, "blumenthal"),
    PrivProtocol("aes256-reeder", 32, "reeder"))}


class Reason(StrEnum):
    """Why a v3 message was rejected: by the agent (the usmStats report it sent) or by us (the same checks on
    its answers, plus what cannot be matched or decoded). The `reason` label of
    netmon_snmpv3_messages_rejected_total."""

    UNKNOWN_ENGINE_ID = "unknown_engine_id"
    UNKNOWN_USER_NAME = "unknown_user_name"
    WRONG_DIGEST = "wrong_digest"
    DECRYPTION_ERROR = "decryption_error"
    UNSUPPORTED_SECURITY_LEVEL = "unsupported_security_level"
    NOT_IN_TIME_WINDOW = "not_in_time_window"
    MALFORMED = "malformed"  # not a decodable SNMPv3 message, or a report we do not know
    UNEXPECTED = "unexpected"  # no request of ours waits for it (a replay, a duplicate, a late answer)


# usmStats (SNMP-USER-BASED-SM-MIB 1.3.6.1.6.3.15.1.1.N.0) -> reason; and the counters' names
REPORT_NAMES = {
    Reason.UNSUPPORTED_SECURITY_LEVEL: "usmStatsUnsupportedSecLevels", Reason.NOT_IN_TIME_WINDOW:
    "usmStatsNotInTimeWindows", Reason.UNKNOWN_USER_NAME: "usmStatsUnknownUserNames",
    Reason.UNKNOWN_ENGINE_ID: "usmStatsUnknownEngineIDs", Reason.WRONG_DIGEST: "usmStatsWrongDigests",
    Reason.DECRYPTION_ERROR: "usmStatsDecryptionErrors",
}
REPORT_REASONS: dict[tuple[int, ...], Reason] = {
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0): Reason.UNSUPPORTED_SECURITY_LEVEL,
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0): Reason.NOT_IN_TIME_WINDOW,
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0): Reason.UNKNOWN_USER_NAME,
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0): Reason.UNKNOWN_ENGINE_ID,
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0): Reason.WRONG_DIGEST,
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0): Reason.DECRYPTION_ERROR,
}
AUTH_REASONS = frozenset({Reason.UNKNOWN_USER_NAME, Reason.WRONG_DIGEST, Reason.DECRYPTION_ERROR,
                          Reason.UNSUPPORTED_SECURITY_LEVEL})


def hash_password(password: bytes, hash_name: str) -> bytes:
    """Ku: the password repeated to 1 MB and hashed (RFC 3414 A.2.1 / A.2.2, RFC 7860 section 9.3)."""
    if not password:
        raise ValueError("empty password")
    repeated = password * (PASSWORD_EXPANSION // len(password) + 1)
    return hashlib.new(hash_name, repeated[:PASSWORD_EXPANSION]).digest()


def localize(ku: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """Kul = H(Ku || engineID || Ku) (RFC 3414 section 2.6)."""
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


def localize_priv(ku: bytes, engine_id: bytes, hash_name: str, priv: PrivProtocol) -> bytes:
    """The localized privacy key, extended to the cipher's key size when the hash is shorter."""
    key = localize(ku, engine_id, hash_name)
    if priv.extension == "blumenthal":  # Kul || H(Kul) || H(Kul || H(Kul)) ...
        while len(key) < priv.key_size:
            key += hashlib.new(hash_name, key).digest()
    elif priv.extension == "reeder":  # Kul || localize(hash_password(Kul)) ...
        while len(key) < priv.key_size:
            key += localize(hash_password(key, hash_name), engine_id, hash_name)
    return key[:priv.key_size]


@dataclass(frozen=True, slots=True)
class LocalKeys:
    """A user's keys localized to one engine."""

    auth: bytes
    priv: bytes

    def __repr__(self) -> str:
        return "LocalKeys(***)"


class UsmUser:
    """One SNMPv3 user's name, protocols and keys (Ku hashed once here; localized per engine ID on demand).

    Raises ValueError for an unsupported protocol or a password under 8 characters, with neither in the
    message."""

    __slots__ = ("_auth_ku", "_local", "_priv_ku", "auth", "name", "priv")

    def __init__(self, name: str, auth: str | None, auth_password: str | None, priv: str | None,
                 priv_password: str | None) -> None:
        self.name = name.encode()
        self.auth = AUTH_PROTOCOLS[auth] if auth else None
        self.priv = PRIV_PROTOCOLS[priv] if priv else None
        if self.priv is not None and self.auth is None:
            raise ValueError("privacy needs authentication")
        for what, password, wanted in (("auth", auth_password, self.auth), ("priv", priv_password, self.priv)):
            if wanted is not None and (password is None or len(password.encode()) < MIN_PASSWORD):
                raise ValueError(f"{what} key shorter than {MIN_PASSWORD} characters")
        hash_name = self.auth.hash_name if self.auth else ""
        self._auth_ku = hash_password(auth_password.encode(), hash_name) if self.auth and auth_password else b""
        self._priv_ku = hash_password(priv_password.encode(), hash_name) if self.priv and priv_password else b""
        self._local: dict[bytes, LocalKeys] = {}

    @property
    def flags(self) -> int:
        """msgFlags of a request at this user's security level (reportable set)."""
        return 0x04 | (0x01 if self.auth else 0) | (0x02 if self.priv else 0)

    def keys(self, engine_id: bytes) -> LocalKeys:
        """The keys localized to `engine_id`, computed once per engine."""
        local = self._local.get(engine_id)
        if local is None:
            if len(self._local) >= MAX_ENGINES_PER_USER:
                self._local.clear()
            auth_key = localize(self._auth_ku, engine_id, self.auth.hash_name) if self.auth else b""
            priv_key = (localize_priv(self._priv_ku, engine_id, self.auth.hash_name, self.priv)
                        if self.priv and self.auth else b"")
            local = self._local[engine_id] = LocalKeys(auth_key, priv_key)
        return local

    def __repr__(self) -> str:
        return (f"UsmUser({self.name.decode(errors='replace')!r}, {self.auth.name if self.auth else None}, "
                f"{self.priv.name if self.priv else None})")


def aes_iv(boots: int, time: int, salt: bytes) -> bytes:
    """RFC 3826 section 3.1.2.1: engineBoots, engineTime (4 octets each) and the 8-octet salt."""
    return boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt


def encrypt(user: UsmUser, keys: LocalKeys, boots: int, time: int, salt: bytes, plain: bytes) -> bytes:
    assert user.priv is not None
    return crypto.aes_cfb_encrypt(keys.priv, aes_iv(boots, time, salt), plain)


def decrypt(user: UsmUser, keys: LocalKeys, boots: int, time: int, salt: bytes, cipher: bytes) -> bytes:
    assert user.priv is not None
    if len(salt) != 8 or not 0 <= boots <= MAX_BOOTS or not 0 <= time <= MAX_BOOTS:
        raise ValueError("bad privacy parameters")
    return crypto.aes_cfb_decrypt(keys.priv, aes_iv(boots, time, salt), cipher)


class Timeline:
    """An agent's engineBoots and engineTime as we know them (RFC 3414 section 2.3), advancing with `clock`
    (monotonic seconds) between the messages that set them.

    `provisional` marks values taken from an unauthenticated discovery report: sent with, but not yet used to
    judge what comes back (step 7b applies once an authentic message has set them)."""

    __slots__ = ("_clock", "_set_at", "boots", "latest", "provisional")

    def __init__(self, boots: int, time: int, clock: Callable[[], float], *, provisional: bool = False) -> None:
        self._clock = clock
        self.boots = boots
        self.latest = time  # latestReceivedEngineTime
        self._set_at = clock()
        self.provisional = provisional

    def now(self) -> int:
        """The agent's engineTime now, by our clock."""
        return min(self.latest + int(self._clock() - self._set_at), MAX_BOOTS)

    def reset(self, boots: int, time: int) -> None:
        """Take an authentic resynchronisation (a notInTimeWindow report's values)."""
        self.boots, self.latest, self._set_at, self.provisional = boots, time, self._clock(), False

    def accept(self, boots: int, time: int) -> bool:
        """RFC 3414 section 3.2 step 7b for an authentic message: update our notion when the message is newer,
        then say whether it is inside the time window (False: notInTimeWindow, drop it)."""
        if self.provisional:
            self.reset(boots, time)
            return True
        if boots > self.boots or (boots == self.boots and time > self.latest):
            self.boots, self.latest, self._set_at = boots, time, self._clock()
        return not (self.boots == MAX_BOOTS or boots < self.boots
                    or (boots == self.boots and time < self.now() - TIME_WINDOW_S))
