"""The SNMP transport: the fast paths for v2c and v3 (`v2c.py`, `v3.py`: no pysnmp), and the pysnmp adapter.

SNMPv2c and SNMPv3 go through our own message codec over one UDP socket per process (`v3.V3Endpoint`, a
`v2c.V2cEndpoint` that also speaks v3 with our own user-based security model, `usm.py`: no per-device engine
objects, no pyasn1). `SnmpEngineHandle(fast_v2c=False, fast_v3=False)` sends either through pysnmp's asyncio
v3arch engine instead, at the command-generator level, one `SnmpEngine` (one UDP socket) per process, each
device holding its configured target. Neither resolves MIBs on the poll path: requests carry numeric OIDs and
replies are turned into plain Python values (see `varbind.py`). Library errors are translated into
`netmon.errors` here, and no message ever contains a community string or key.

A device that comes back after a power cut answers the first poll: v2c keeps no per-device state; SNMPv3 keeps
the agent's engine ID and timeline. The fast path resynchronises on the agent's notInTimeWindow report (same
engine ID, boots one higher) and rediscovers on its unknownEngineID report or a timeout (`v3.py`). On pysnmp's
path, pysnmp updates the timeline itself, but an agent that came back with a *new* engine ID (a replaced unit,
or firmware that does not keep its engine ID across reboots) answers our requests with a report under that new
ID, which pysnmp drops, keeping the old ID for 300 s. So on a v3 timeout the peer's cached engine ID is
forgotten, and when the peer did send something meanwhile the request is sent once more at once, discovering
the new engine.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.entity import config as snmp_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import CommunityData, UdpTransportTarget, UsmUserData
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto.rfc1902 import ObjectName

from collectors.snmp.message import Oid, Response, error_name
from collectors.snmp.usm import Reason, UsmUser
from collectors.snmp.v2c import RCVBUF_BYTES, V2cTimeout
from collectors.snmp.v3 import V3Endpoint
from collectors.snmp.varbind import Missing, ReplyValue, SnmpValue, oid_str, oid_tuple
from netmon.errors import (
    AuthenticationFailed,
    DeviceProtocolError,
    DeviceUnreachable,
    SecretLike,
    library_message,
    redact,
    safe_cause,
)
from netmon.model import SnmpSettings, SnmpV2cAuth, SnmpV3Auth

AUTH_PROTOCOLS = {
    None: snmp_config.USM_AUTH_NONE,
    "sha": snmp_config.USM_AUTH_HMAC96_SHA,
    "sha256": snmp_config.USM_AUTH_HMAC192_SHA256,
}
PRIV_PROTOCOLS = {
    None: snmp_config.USM_PRIV_NONE,
    "aes128": snmp_config.USM_PRIV_CFB128_AES,
    # AES-256 with the key extension net-snmp and most vendors use (draft-blumenthal-aes-usm)
    "aes256": snmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    # AES-256 with Reeder key extension (Cisco style)
    "aes256-reeder": snmp_config.USM_PRIV_CFB256_AES,
}

AUTH_INDICATIONS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.UnsupportedSecurityLevel,
    errind.AuthenticationFailure,
    errind.AuthenticationError,
)
_MISSING = {rfc1905.NoSuchObject: Missing.NO_SUCH_OBJECT, rfc1905.NoSuchInstance: Missing.NO_SUCH_INSTANCE,
            rfc1905.EndOfMibView: Missing.END_OF_MIB_VIEW}
_SKIPPED = tuple(_MISSING)
_END = Missing.END_OF_MIB_VIEW
_NULL = rfc1902.Null("")
MAX_GET_VARBINDS = 24
MAX_BULK_VARBINDS = 60
MAX_WALK_ROUNDS = 2000


def to_value(value: Any) -> ReplyValue:
    """Translate one pysnmp value into the plain Python value the fast path decodes (`varbind.ReplyValue`)."""
    if isinstance(value, _SKIPPED):
        return _MISSING[type(value)]
    if isinstance(value, rfc1902.IpAddress):
        return socket.inet_ntoa(value.asOctets())
    if isinstance(value, rfc1902.OctetString | rfc1902.Opaque):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(map(str, value))
    if isinstance(value, univ.Null):
        return None
    return int(value)


class SnmpEngineHandle:
    """Owns a process's SNMP sockets: the fast-path endpoint (v2c and v3) and the pysnmp v3arch engine (each
    created when first needed), the SNMPv3 users (keys hashed once per user), and notices undecodable replies
    per peer address.

    `fast_v2c=False` / `fast_v3=False` send v2c / v3 through pysnmp's v3arch engine (as before the fast paths;
    tests and the benchmark compare both)."""

    def __init__(self, *, fast_v2c: bool = True, fast_v3: bool = True, rcvbuf_bytes: int = RCVBUF_BYTES) -> None:
        self.fast_v2c = fast_v2c
        self.fast_v3 = fast_v3
        self.rcvbuf_bytes = rcvbuf_bytes
        self.garbage_at: dict[tuple[str, int], float] = {}
        self.heard_at: dict[tuple[str, int], float] = {}  # peer -> when it last sent anything to the v3 engine
        self._engine: SnmpEngine | None = None
        self._lcd: CommandGeneratorLcdConfigurator | None = None
        self._v2c: V3Endpoint | None = None
        self._v2c_opening: asyncio.Lock | None = None
        self._users: dict[tuple[str, str | None, str | None, str | None, str | None], UsmUser] = {}

    @property
    def engine(self) -> SnmpEngine:
        if self._engine is None:
            self._engine = self._new_engine()
        return self._engine

    @property
    def lcd(self) -> CommandGeneratorLcdConfigurator:
        if self._lcd is None:
            self._lcd = CommandGeneratorLcdConfigurator()
        return self._lcd

    @property
    def v2c(self) -> V3Endpoint | None:
        """The fast-path endpoint (v2c and v3) once opened (None before the first fast-path device)."""
        return self._v2c

    async def v2c_endpoint(self) -> V3Endpoint:
        if self._v2c is None:
            if self._v2c_opening is None:
                self._v2c_opening = asyncio.Lock()
            async with self._v2c_opening:
                if self._v2c is None:
                    self._v2c = await V3Endpoint.open(self.rcvbuf_bytes)
        return self._v2c

    def usm_user(self, auth: SnmpV3Auth) -> UsmUser:
        """The fast path's user for these credentials (its passwords hashed once, here, for every device that
        shares them); `AuthenticationFailed` when they cannot be used, never quoting them."""
        key = (auth.user, auth.auth_protocol, auth.auth_key.reveal() if auth.auth_key else None,
               auth.priv_protocol, auth.priv_key.reveal() if auth.priv_key else None)
        user = self._users.get(key)
        if user is None:
            try:
                user = UsmUser(auth.user, auth.auth_protocol, key[2], auth.priv_protocol, key[4])
            except (ValueError, KeyError) as exc:
                said = str(exc) if isinstance(exc, ValueError) else "unsupported protocol"
                raise AuthenticationFailed("SNMPv3 credentials not usable (keys need at least 8 characters): "
                                           f"{redact(said, _secrets_of(auth))}") from None
            self._users[key] = user
        return user

    def rejected_messages(self) -> dict[tuple[str, Reason], int]:
        """SNMPv3 messages refused so far, by (who refused: "agent" | "netmon", reason): the fast path's."""
        return dict(self._v2c.rejected) if self._v2c is not None else {}

    def garbage_since(self, address: tuple[str, int], since: float) -> bool:
        """Whether `address` sent something undecodable at or after `since` (monotonic)."""
        seen = [self.garbage_at.get(address)]
        if self._v2c is not None:
            seen.append(self._v2c.garbage_at.get(address))
        return any(at is not None and at >= since for at in seen)

    def _new_engine(self) -> SnmpEngine:
        engine = SnmpEngine()
        dispatcher = engine.message_dispatcher
        original = dispatcher.receive_message
        builder = engine.get_mib_builder()
        (parse_errs,) = builder.import_symbols("__SNMPv2-MIB", "snmpInASNParseErrs")
        garbage_at, heard_at = self.garbage_at, self.heard_at

        def receive_message(engine: Any, domain: Any, address: Any, whole_msg: bytes) -> Any:
            before = int(parse_errs.syntax)
            peer = (str(address[0]), int(address[1]))
            heard_at[peer] = time.monotonic()
            try:
                return original(engine, domain, address, whole_msg)
            finally:
                if int(parse_errs.syntax) != before:
                    garbage_at[peer] = time.monotonic()

        dispatcher.receive_message = receive_message
        return engine

    def forget_engine(self, address: tuple[str, int]) -> None:
        """Forget the SNMPv3 engine ID learnt from `address`, so the next request discovers it again.

        pysnmp has no public call for this: its v3 message processing model keeps the cache in a private
        attribute (pysnmp 7.1, `SnmpV3MessageProcessingModel.__engineIdCache`, keyed by (domain, address));
        tests/collectors/snmp/test_snmp_recovery.py fails if that changes."""
        if self._engine is None:
            return
        for model in self._engine.message_processing_subsystems.values():
            cache = getattr(model, "_SnmpV3MessageProcessingModel__engineIdCache", None)
            if isinstance(cache, dict):
                for key in [k for k in cache if (str(k[1][0]), int(k[1][1])) == address]:
                    del cache[key]

    def close(self) -> None:
        if self._v2c is not None:
            self._v2c.close()
            self._v2c = None
        if self._engine is not None:
            dispatcher = self._engine.transport_dispatcher
            if dispatcher is not None:
                dispatcher.close_dispatcher()


class SnmpTransport:
    """SNMP requests to one device: GET, GETNEXT and lockstep multi-column GETBULK walks."""

    def __init__(self, handle: SnmpEngineHandle, address: tuple[str, int], settings: SnmpSettings,
                 addr_name: str | None, endpoint: V3Endpoint | None = None, user: UsmUser | None = None) -> None:
        self._handle = handle
        self._address = address
        self._settings = settings
        self._addr_name = addr_name
        self._endpoint = endpoint  # set: over the fast path (v2c, or v3 as `user`)
        self._user = user
        auth = settings.auth
        self._community = auth.community.reveal().encode() if isinstance(auth, SnmpV2cAuth) else b""
        self._rows: dict[str, int] = {}  # column -> rows in its last walk (sizes max-repetitions)

    @classmethod
    async def open(cls, handle: SnmpEngineHandle, host: str, settings: SnmpSettings) -> SnmpTransport:
        if handle.fast_v2c and isinstance(settings.auth, SnmpV2cAuth):
            return cls(handle, (await _resolve(host), settings.port), settings, None,
                       await handle.v2c_endpoint())
        if handle.fast_v3 and isinstance(settings.auth, SnmpV3Auth):
            user = handle.usm_user(settings.auth)
            return cls(handle, (await _resolve(host), settings.port), settings, None,
                       await handle.v2c_endpoint(), user)
        try:
            target = await UdpTransportTarget.create(
                (host, settings.port), timeout=settings.timeout_s, retries=settings.retries
            )
        except Exception as exc:  # address resolution failed
            raise DeviceUnreachable(f"cannot resolve {host}: {library_message(exc)}") from exc
        secrets = _secrets(settings)
        try:
            addr_name, _params = handle.lcd.configure(handle.engine, _auth_data(settings), target, b"")
        except (PySnmpError, PyAsn1Error) as exc:  # e.g. a key shorter than 8 characters (RFC 3414)
            raise AuthenticationFailed("SNMPv3 credentials not usable (keys need at least 8 characters): "
                                       f"{library_message(exc, secrets)}") from safe_cause(exc, secrets)
        resolved = target.transport_address
        return cls(handle, (str(resolved[0]), int(resolved[1])), settings, addr_name)

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        out: dict[str, SnmpValue] = {}
        for start in range(0, len(oids), MAX_GET_VARBINDS):
            chunk = oids[start:start + MAX_GET_VARBINDS]
            for oid, value in await self._request("get", [oid_tuple(o) for o in chunk]):
                if value is not None and not isinstance(value, Missing):
                    out[oid_str(oid)] = value
        return out

    async def next(self, oid: str) -> tuple[str, SnmpValue] | None:
        """GETNEXT: the first object after `oid`, or None at the end of the MIB view."""
        reply = await self._request("next", [oid_tuple(oid)])
        if not reply:
            return None
        got, value = reply[0]
        return None if value is None or isinstance(value, Missing) else (oid_str(got), value)

    async def walk(self, columns: Iterable[str]) -> dict[str, SnmpValue]:
        """Walk table columns side by side with GETBULK; each column stops at the end of its subtree.

        max-repetitions is sized from the rows each column had in this device's previous walk (plus one
        to see its end), so a poll does not fetch and decode rows past the tables it reads; a column
        that grew just costs another round."""
        walk = _ColumnWalk(columns)
        for _round in range(MAX_WALK_ROUNDS):
            if not walk.position:
                return walk.out
            cols = list(walk.position)
            reply = await self._request("bulk", [walk.position[c] for c in cols],
                                        repetitions=self._repetitions(cols, walk.rows))
            if not reply:
                raise DeviceProtocolError("empty GETBULK response")
            for col in walk.take(cols, reply):
                self._rows[col] = walk.rows[col]
        raise DeviceProtocolError("table walk did not end")

    def _repetitions(self, cols: list[str], rows: dict[str, int]) -> int:
        """max-repetitions for one round: the configured one, within the varbinds a request may carry, and
        no more than the rows still expected (from the previous walk) when every column's count is known."""
        reps = min(self._settings.max_repetitions, MAX_BULK_VARBINDS // len(cols))
        known = [self._rows.get(c) for c in cols]
        if None not in known:
            left = max(k - rows[c] for c, k in zip(cols, known, strict=True) if k is not None) + 1
            if left > 0:
                reps = min(reps, left)
        return max(1, reps)

    async def _request(self, kind: str, oids: list[Oid], repetitions: int = 0) -> list[tuple[Oid, ReplyValue]]:
        if self._endpoint is not None:
            response = await self._fast_request(self._endpoint, kind, oids, repetitions)
            err_status, err_index, var_binds = response.error_status, response.error_index, response.varbinds
        else:
            err_status, err_index, var_binds = await self._v3arch_request_rediscovering(kind, oids, repetitions)
        if err_status:
            name = error_name(err_status)
            if name == "tooBig" and len(oids) > 1 and kind != "bulk":
                half = len(oids) // 2
                return (await self._request(kind, oids[:half])) + (await self._request(kind, oids[half:]))
            if name == "authorizationError":
                raise AuthenticationFailed("agent refused access (authorizationError)")
            raise DeviceProtocolError(f"agent returned error-status {name} at index {err_index}")
        return var_binds

    async def _fast_request(self, endpoint: V3Endpoint, kind: str, oids: list[Oid], repetitions: int
                            ) -> Response:
        sent_at, clock_at = time.monotonic(), endpoint.clock()
        timeout_s, retries = self._settings.timeout_s, self._settings.retries
        try:
            if self._user is not None:
                return await endpoint.request_v3(self._address, self._user, kind, oids, repetitions, timeout_s,
                                                 retries)
            return await endpoint.request(self._address, self._community, kind, oids, repetitions, timeout_s,
                                          retries)
        except V2cTimeout:
            refused = endpoint.rejected_since(self._address, clock_at) if self._user is not None else None
            if refused is not None:
                raise DeviceProtocolError(f"the device's SNMPv3 answers were refused ({refused})") from None
            raise self._timed_out(sent_at) from None

    async def _v3arch_request_rediscovering(self, kind: str, oids: list[Oid], repetitions: int
                                            ) -> tuple[int, int, list[tuple[Oid, ReplyValue]]]:
        """A v3 request; on a timeout, forget the peer's engine ID, and ask once more when the peer did answer
        with something we could not use (a report from a new engine ID)."""
        sent_at = time.monotonic()
        try:
            return await self._v3arch_request(kind, oids, repetitions)
        except DeviceUnreachable:
            if not isinstance(self._settings.auth, SnmpV3Auth):
                raise
            self._handle.forget_engine(self._address)
            if self._handle.heard_at.get(self._address, float("-inf")) < sent_at:
                raise
        return await self._v3arch_request(kind, oids, repetitions)

    async def _v3arch_request(self, kind: str, oids: list[Oid], repetitions: int
                              ) -> tuple[int, int, list[tuple[Oid, ReplyValue]]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, Any, Any, Any]] = loop.create_future()

        def callback(_engine: Any, _handle: Any, err_ind: Any, err_status: Any, err_index: Any,
                     var_binds: Any, _ctx: Any) -> None:
            if not future.done():
                future.set_result((err_ind, err_status, err_index, var_binds))

        pairs = [(ObjectName(oid), _NULL) for oid in oids]
        engine = self._handle.engine
        assert self._addr_name is not None
        sent_at = time.monotonic()
        if kind == "get":
            cmdgen.GetCommandGenerator().send_varbinds(engine, self._addr_name, None, b"", pairs, callback)
        elif kind == "next":
            cmdgen.NextCommandGenerator().send_varbinds(engine, self._addr_name, None, b"", pairs, callback)
        else:
            cmdgen.BulkCommandGenerator().send_varbinds(
                engine, self._addr_name, None, b"", 0, repetitions, pairs, callback
            )
        err_ind, err_status, err_index, var_binds = await future
        if err_ind:
            raise self._translate(err_ind, sent_at)
        return (int(err_status or 0), int(err_index or 0),
                [(tuple(vb[0].asTuple()), to_value(vb[1])) for vb in var_binds])

    def _timed_out(self, sent_at: float) -> Exception:
        if self._handle.garbage_since(self._address, sent_at):
            return DeviceProtocolError("device answered with undecodable data")
        return DeviceUnreachable(f"no SNMP answer within {self._settings.timeout_s:g}s "
                                 f"x{self._settings.retries + 1}")

    def _translate(self, indication: Any, sent_at: float) -> Exception:
        if isinstance(indication, errind.RequestTimedOut):
            return self._timed_out(sent_at)
        said = redact(f"{type(indication).__name__}: {indication}", _secrets(self._settings))
        if isinstance(indication, AUTH_INDICATIONS):
            return AuthenticationFailed(f"SNMPv3 authentication failed: {said}")
        return DeviceProtocolError(f"SNMP error: {said}")


async def _resolve(host: str) -> str:
    """An IPv4 address for `host` (like pysnmp's UdpTransportTarget: IPv4 only)."""
    try:
        socket.inet_aton(host)
        return host
    except OSError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET,
                                                             type=socket.SOCK_DGRAM)
    except Exception as exc:  # address resolution failed
        raise DeviceUnreachable(f"cannot resolve {host}: {library_message(exc)}") from exc
    return str(infos[0][4][0])


def _secrets(settings: SnmpSettings) -> tuple[SecretLike, ...]:
    auth = settings.auth
    if isinstance(auth, SnmpV2cAuth):
        return (auth.community,)
    return _secrets_of(auth)


def _secrets_of(auth: SnmpV3Auth) -> tuple[SecretLike, ...]:
    return (auth.auth_key, auth.priv_key)


def _auth_data(settings: SnmpSettings) -> CommunityData | UsmUserData:
    auth = settings.auth
    if isinstance(auth, SnmpV2cAuth):
        return CommunityData(auth.community.reveal(), mpModel=1)
    assert isinstance(auth, SnmpV3Auth)
    return UsmUserData(
        auth.user,
        authKey=auth.auth_key.reveal() if auth.auth_key else None,
        privKey=auth.priv_key.reveal() if auth.priv_key else None,
        authProtocol=AUTH_PROTOCOLS[auth.auth_protocol],
        privProtocol=PRIV_PROTOCOLS[auth.priv_protocol],
    )


class _ColumnWalk:
    """The state of a lockstep walk of table columns: where each column goes on from, the rows each had,
    and the values so far. `take` consumes one GETBULK reply and says which columns ended."""

    def __init__(self, columns: Iterable[str]) -> None:
        self.position = {col: oid_tuple(col) for col in dict.fromkeys(columns)}
        self.last = dict(self.position)
        self.prefixes = dict(self.position)
        self.rows = dict.fromkeys(self.position, 0)
        self.out: dict[str, SnmpValue] = {}

    def take(self, cols: list[str], reply: list[tuple[Oid, ReplyValue]]) -> set[str]:
        """Record a reply to a GETBULK of `cols` (varbinds interleaved column by column); the columns that
        ended (left their subtree, reached the end of the MIB view or got no varbind) stop being walked."""
        done: set[str] = set()
        for i, (arcs, value) in enumerate(reply):
            col = cols[i % len(cols)]
            if col in done:
                continue
            prefix = self.prefixes[col]
            if value is _END or arcs[:len(prefix)] != prefix:
                done.add(col)
                continue
            if arcs <= self.last[col]:
                raise DeviceProtocolError("agent returned OIDs out of order in a table walk")
            self.position[col] = self.last[col] = arcs
            self.rows[col] += 1
            if value is not None and not isinstance(value, Missing):
                self.out[oid_str(arcs)] = value
        if len(reply) < len(cols):
            done.update(cols[len(reply):])
        for col in done:
            self.position.pop(col, None)
        return done
