"""The body a router's push script sends (deploy/routeros/netmon-push.rsc), validated strictly. Pure.

Version 1, JSON, every value a string as RouterOS renders it (the script builds the JSON by hand, so it runs
on RouterOS 6 and 7 alike; docs/push.md):

```
{"v": 1,
 "clock": {"date": "oct/19/2024" | "2024-10-19", "time": "21:54:32", "gmt-offset": "25200" | "+07:00"},
 "resource": {"uptime", "cpu-load", "free-memory", "total-memory", "version", "board-name"},
 "routerboard": {"model", "serial-number"},
 "health": [{"name", "value", "type"}],
 "interfaces": [{"name", "type", "rx-byte", "tx-byte", "running", "disabled"}],
 "wireless": [{"menu", "name", "ssid", "band", "frequency", "master-interface", "clients", "peers"}],
 "hotspot": [{"server", "active", "hosts"}],
 "dhcp": [{"server", "bound"}]}
```

Every object has exactly its keys (an empty string for a value the router does not have); anything else is
a `PayloadError` naming the field (`interfaces[3].rx-byte: expected a string`). Counts (`clients`, `peers`,
`active`, `hosts`, `bound`) are decimal digits. The values themselves are judged later by the same parsers
as the API's (an unparsable uptime is left out, never 0), so a field a firmware renders differently costs
that value, not the whole push.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netmon.errors import PayloadError

VERSION = 1
MAX_ROWS = 512  # per list: a router with more interfaces than this is not a village gateway
MAX_TEXT = 256  # characters of one value

Row = Mapping[str, str]

OBJECTS: dict[str, tuple[str, ...]] = {
    "clock": ("date", "time", "gmt-offset"),
    "resource": ("uptime", "cpu-load", "free-memory", "total-memory", "version", "board-name"),
    "routerboard": ("model", "serial-number"),
}
LISTS: dict[str, tuple[str, ...]] = {
    "health": ("name", "value", "type"),
    "interfaces": ("name", "type", "rx-byte", "tx-byte", "running", "disabled"),
    "wireless": ("menu", "name", "ssid", "band", "frequency", "master-interface", "clients", "peers"),
    "hotspot": ("server", "active", "hosts"),
    "dhcp": ("server", "bound"),
}
COUNTS = frozenset({"clients", "peers", "active", "hosts", "bound"})
MENUS = frozenset({"wireless", "wifi", "wifiwave2"})
TOP = ("v", *OBJECTS, *LISTS)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    clock: Row
    resource: Row
    routerboard: Row
    health: tuple[Row, ...]
    interfaces: tuple[Row, ...]
    wireless: tuple[Row, ...]
    hotspot: tuple[Row, ...]
    dhcp: tuple[Row, ...]


def parse(body: bytes) -> Heartbeat:
    """The heartbeat in `body`, or PayloadError."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise PayloadError(f"body: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    return heartbeat(doc)


def heartbeat(doc: Any) -> Heartbeat:
    """The heartbeat in a decoded JSON document, or PayloadError."""
    if not isinstance(doc, dict):
        raise PayloadError("body: expected a JSON object")
    _exact_keys(doc, TOP, "body")
    if type(doc["v"]) is not int or doc["v"] != VERSION:
        raise PayloadError(f"v: expected {VERSION}")
    objects = {name: _row(doc[name], keys, name) for name, keys in OBJECTS.items()}
    lists = {name: _rows(doc[name], keys, name) for name, keys in LISTS.items()}
    for i, row in enumerate(lists["wireless"]):
        if row["menu"] not in MENUS:
            raise PayloadError(f"wireless[{i}].menu: expected one of {', '.join(sorted(MENUS))}")
    return Heartbeat(clock=objects["clock"], resource=objects["resource"], routerboard=objects["routerboard"],
                     health=lists["health"], interfaces=lists["interfaces"], wireless=lists["wireless"],
                     hotspot=lists["hotspot"], dhcp=lists["dhcp"])


def _exact_keys(doc: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in doc]
    if missing:
        raise PayloadError(f"{_join(where, missing[0])}: missing")
    extra = sorted(k for k in doc if k not in keys)
    if extra:
        raise PayloadError(f"{_join(where, str(extra[0])[:40])}: unknown field")


def _join(where: str, key: str) -> str:
    return key if where == "body" else f"{where}.{key}"


def _row(value: Any, keys: tuple[str, ...], where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where}: expected an object")
    _exact_keys(value, keys, where)
    for key in keys:
        text = value[key]
        if not isinstance(text, str):
            raise PayloadError(f"{where}.{key}: expected a string")
        if len(text) > MAX_TEXT:
            raise PayloadError(f"{where}.{key}: longer than {MAX_TEXT} characters")
        if key in COUNTS and not (text.isascii() and text.isdigit()):
            raise PayloadError(f"{where}.{key}: expected a count (decimal digits)")
    return dict(value)


def _rows(value: Any, keys: tuple[str, ...], where: str) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list):
        raise PayloadError(f"{where}: expected a list")
    if len(value) > MAX_ROWS:
        raise PayloadError(f"{where}: more than {MAX_ROWS} entries")
    return tuple(_row(item, keys, f"{where}[{i}]") for i, item in enumerate(value))
