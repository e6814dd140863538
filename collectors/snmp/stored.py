"""A discovery kept across restarts: its JSON form and the fingerprint of what it depends on. Pure, no I/O.

The collector stores what discovery learnt (profile, identity, table rows with their labels, which OID each
row is read from) with the boot time seen right after it, and a restarted daemon polls with it instead of
discovering again. A stored discovery is used only while it still fits:

- the payload's `v` is `FORMAT` (a change of this module's layout or of what `Discovery` holds bumps it);
- its fingerprint equals `fingerprint(device, profiles_digest, key)` now: a keyed hash (HMAC-SHA256, the key
  lives beside the database, not in it) of `FORMAT`, the digest of every profile file, and the device's
  configured profile, address, port and credential. The credential enters only through the keyed hash, so
  the database never holds anything a community or key can be guessed from;
- the profile it names still exists.

Anything else (malformed JSON, a wrong type anywhere) raises `UnusableDiscovery`; the collector then
discovers as if nothing was stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collectors.snmp.mapping import Choice, Discovery, RowLabels, shared
from netmon.errors import UnusableDiscovery
from netmon.model import Device, DeviceIdentity, SnmpV2cAuth

FORMAT = 1
IDENTITY_FIELDS = tuple(f.name for f in dataclasses.fields(DeviceIdentity))


@dataclass(frozen=True, slots=True)
class Kept:
    """A discovery read back: the profile it was made with, the facts, and the device's boot time (unix
    seconds, from the uptime polled right after it; None when the device has no uptime)."""

    profile: str
    discovery: Discovery
    booted_at: float | None


def fingerprint(device: Device, profiles_digest: str, key: bytes) -> str:
    """What a discovery of `device` depends on, as a keyed hash (hex)."""
    snmp = device.snmp
    assert snmp is not None
    auth = snmp.auth
    if isinstance(auth, SnmpV2cAuth):
        credential = ["v2c", auth.community.reveal()]
    else:
        credential = ["v3", auth.user, auth.auth_protocol or "", auth.auth_key.reveal() if auth.auth_key else "",
                      auth.priv_protocol or "", auth.priv_key.reveal() if auth.priv_key else ""]
    parts = [str(FORMAT), profiles_digest, device.profile or "", device.role.value, device.address, str(snmp.port),
             *credential]
    return hmac.new(key, json.dumps(parts).encode(), hashlib.sha256).hexdigest()


def dumps(profile: str, discovery: Discovery, booted_at: float | None) -> str:
    """The JSON payload. Per metric, the (column, divisor) pairs are listed once in `oids` and each row
    refers to one by position, so a 48-port switch does not repeat each column name 48 times."""
    oids: dict[Choice, int] = {}
    choice: dict[str, list[list[Any]]] = {}
    for metric, rows in discovery.choice.items():
        choice[metric] = [[index, oids.setdefault(picked, len(oids))] for index, picked in rows.items()]
    body = {
        "v": FORMAT,
        "profile": profile,
        "booted_at": booted_at,
        "identity": {name: getattr(discovery.identity, name) for name in IDENTITY_FIELDS},
        "rows": {table: {index: dict(labels) for index, labels in rows.items()}
                 for table, rows in discovery.rows.items()},
        "oids": [list(pair) for pair in oids],
        "choice": choice,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def loads(payload: str) -> Kept:
    try:
        body = json.loads(payload)
        if not isinstance(body, dict) or body.get("v") != FORMAT:
            raise UnusableDiscovery(f"stored discovery format {body.get('v') if isinstance(body, dict) else '?'}"
                                    f", this netmon reads {FORMAT}")
        identity = _identity(body["identity"])
        rows = {_str(table): _rows(table_rows) for table, table_rows in _dict(body["rows"]).items()}
        oids = [_pair(pair) for pair in _list(body["oids"])]
        choice = {_str(metric): {_str(index): oids[_ref(ref, len(oids))] for index, ref in map(_list, _list(picked))}
                  for metric, picked in _dict(body["choice"]).items()}
        booted_at = body["booted_at"]
        if booted_at is not None and not isinstance(booted_at, int | float):
            raise UnusableDiscovery("booted_at is not a number")
        return Kept(_str(body["profile"]), shared(Discovery(identity=identity, rows=rows, choice=choice)),
                    None if booted_at is None else float(booted_at))
    except (ValueError, KeyError, IndexError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise UnusableDiscovery(f"stored discovery unreadable: {type(exc).__name__}: {exc}") from exc


def _identity(raw: Any) -> DeviceIdentity:
    fields = _dict(raw)
    if set(fields) != set(IDENTITY_FIELDS):
        raise UnusableDiscovery("identity fields differ from this netmon's")
    return DeviceIdentity(**{name: _str(value) for name, value in fields.items()})


def _rows(raw: Any) -> dict[str, RowLabels]:
    return {_str(index): {_str(k): _str(v) for k, v in _dict(labels).items()} for index, labels in _dict(raw).items()}


def _pair(raw: Any) -> Choice:
    col, divisor = _list(raw)
    return _str(col), None if divisor is None else _str(divisor)


def _dict(raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise TypeError(f"expected an object, got {type(raw).__name__}")
    return raw


def _list(raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise TypeError(f"expected a list, got {type(raw).__name__}")
    return raw


def _str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError(f"expected a string, got {type(raw).__name__}")
    return raw


def _ref(raw: Any, size: int) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw < size:
        raise TypeError(f"expected a position in oids, got {raw!r}")
    return raw
