"""The push script played by a simulated router: builds exactly the request deploy/routeros/netmon-push.rsc
would send from this router's menus at time `now`, and sends it over HTTP(S) as RouterOS' `/tool fetch` does.

A line-for-line port of the script, so what it reads, counts and renders is the script's: values as RouterOS
scripting renders them (`:tostr` of a time is `1w2d03:04:05`, of a bool `true`), the v6 date `oct/19/2024` vs
7.10+ `2024-10-19`, `gmt-offset` in seconds, health as rows (v7) or one property per sensor (v6, iterated in
key order as `:foreach k,v` does), the three wireless menus where the router has them, counts per interface
and per server, JSON escaped by the script's `netmonPushJ` and joined without spaces. `clock_skew_s` sets the
router's clock apart from the simulator's (a router without NTP).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from netmon.simulate.routeros.data import Menu, RouterData, Row
from netmon.simulate.variation import WIB_OFFSET_S

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WIRELESS_MENUS = ("wireless", "wifi", "wifiwave2")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def j(value: object) -> str:
    """The script's `netmonPushJ`: a JSON string of `:tostr value`, escaping only `"`, `\\`, CR, LF and TAB."""
    text = "" if value is None else str(value)
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def script_duration(seconds: float) -> str:
    """`:tostr` of a RouterOS time: `[Nw][Nd]HH:MM:SS` (`1w2d03:04:05`, `00:00:42`)."""
    s = int(seconds)
    weeks, s = divmod(s, 604800)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return f"{f'{weeks}w' if weeks else ''}{f'{days}d' if days else ''}{hours:02d}:{minutes:02d}:{s:02d}"


def _obj(pairs: Sequence[tuple[str, object]]) -> str:
    return "{" + ",".join(f"{j(k)}:{j(v)}" for k, v in pairs) + "}"


def _clock(data: RouterData, at: float) -> str:
    t = time.gmtime(at + WIB_OFFSET_S)  # the simulated routers keep WIB, as the API simulator's dates
    date = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}" if data.spec.version_tuple >= (7, 10)
            else f"{MONTHS[t.tm_mon - 1]}/{t.tm_mday:02d}/{t.tm_year:04d}")
    return _obj((("date", date), ("time", f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"),
                 ("gmt-offset", WIB_OFFSET_S)))


def _resource(data: RouterData, now: float) -> str:
    row = data.rows(("system", "resource"), now)[0]
    uptime = data.spec.uptime_s + max(0.0, now - data.started_at)
    return _obj((("uptime", script_duration(uptime)), ("cpu-load", row["cpu-load"]),
                 ("free-memory", row["free-memory"]), ("total-memory", row["total-memory"]),
                 ("version", row["version"]), ("board-name", row["board-name"])))


def _health(data: RouterData, now: float) -> str:
    rows = data.rows(("system", "health"), now)
    if data.spec.v7:
        items = [(r.get("name"), r.get("value"), r.get("type")) for r in rows]
    else:  # one item: `print as-value` is a key -> value array, iterated in key order
        items = [(k, v, "") for k, v in sorted(rows[0].items())] if rows else []
    return ",".join(_obj((("name", n), ("value", v), ("type", t))) for n, v, t in items)


def _interfaces(data: RouterData, now: float) -> str:
    rows = [r for r in data.rows(("interface",), now) if not r["name"].startswith("<")]
    return ",".join(_obj([(k, r.get(k)) for k in ("name", "type", "rx-byte", "tx-byte", "running", "disabled")])
                    for r in rows)


def _wireless_entry(menu: str, w: Row, registrations: Sequence[Row]) -> str:
    ssid, band, freq = ((w.get("ssid"), w.get("band"), w.get("frequency")) if menu == "wireless" else
                        (w.get("configuration.ssid"), w.get("channel.band"), w.get("channel.frequency")))
    clients = peers = 0
    for r in registrations:
        if r.get("interface") != w.get("name"):
            continue
        if r.get("ap") == "true" or r.get("wds") == "true":
            peers += 1
            continue
        clients += 1
        ssid = r.get("ssid") or ssid
        band = r.get("band") or band
    return _obj((("menu", menu), ("name", w.get("name")), ("ssid", ssid), ("band", band), ("frequency", freq),
                 ("master-interface", w.get("master-interface")), ("clients", clients), ("peers", peers)))


def _wireless(data: RouterData, now: float) -> str:
    menus = data.menus()
    parts = []
    for menu in WIRELESS_MENUS:
        listing: Menu = ("interface", menu)
        if listing not in menus or (*listing, "registration-table") not in menus:
            continue  # the script's :parse fails: no such menu
        registrations = data.rows((*listing, "registration-table"), now)
        parts += [_wireless_entry(menu, w, registrations) for w in data.rows(listing, now)]
    return ",".join(parts)


def _count(rows: Sequence[Mapping[str, str]], server: str) -> int:
    return sum(1 for r in rows if (r.get("server") or r.get("active-server")) == server)


def _hotspot(data: RouterData, now: float) -> str:
    if ("ip", "hotspot", "host") not in data.menus():
        return ""
    active = data.rows(("ip", "hotspot", "active"), now)
    hosts = data.rows(("ip", "hotspot", "host"), now)
    return ",".join(_obj((("server", s["name"]), ("active", _count(active, s["name"])),
                          ("hosts", _count(hosts, s["name"])))) for s in data.rows(("ip", "hotspot"), now))


def _dhcp(data: RouterData, now: float) -> str:
    if ("ip", "dhcp-server", "lease") not in data.menus():
        return ""
    bound = [r for r in data.rows(("ip", "dhcp-server", "lease"), now) if r.get("status") == "bound"]
    return ",".join(_obj((("server", d["name"]), ("bound", _count(bound, d["name"]))))
                    for d in data.rows(("ip", "dhcp-server"), now))


def push_body(data: RouterData, now: float, *, clock_skew_s: float = 0.0) -> bytes:
    """The body the script would post from this router at simulator time `now`."""
    board = data.rows(("system", "routerboard"), now)[0]
    text = ("{\"v\":1,\"clock\":" + _clock(data, now + clock_skew_s)
            + ",\"resource\":" + _resource(data, now)
            + ",\"routerboard\":" + _obj((("model", board.get("model")), ("serial-number", board.get("serial-number"))))
            + ",\"health\":[" + _health(data, now) + "]"
            + ",\"interfaces\":[" + _interfaces(data, now) + "]"
            + ",\"wireless\":[" + _wireless(data, now) + "]"
            + ",\"hotspot\":[" + _hotspot(data, now) + "]"
            + ",\"dhcp\":[" + _dhcp(data, now) + "]}")
    return text.encode("utf-8")


def fetch_request(url: str, token: str, body: bytes, *, version: str) -> bytes:
    """The HTTP/1.1 request `/tool fetch http-method=post http-header-field=... http-data=...` sends (the manual:
    fetch always adds `User-Agent: RouterOS <version>` and `Accept-Encoding: deflate, gzip`)."""
    parts = urlsplit(url)
    head = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", f"User-Agent: RouterOS {version}",
            "Accept-Encoding: deflate, gzip", f"Authorization: Bearer {token}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True)
class FetchResult:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


async def send(url: str, request: bytes, *, tls: ssl.SSLContext | None = None, timeout_s: float = 10.0) -> FetchResult:
    """Send one request to `url`'s host and read the whole answer (the server closes after it)."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    context = tls if parts.scheme == "https" else None
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or default, ssl=context)
        try:
            writer.write(request)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return FetchResult(int(lines[0].split()[1]), headers, body)


class PushScriptRunner:
    """One simulated router running netmon-push.rsc against `url` with `token`."""

    def __init__(self, data: RouterData, url: str, token: str, *, tls: ssl.SSLContext | None = None) -> None:
        self._data = data
        self._url = url
        self._token = token
        self._tls = tls

    def request(self, now: float, *, clock_skew_s: float = 0.0) -> bytes:
        body = push_body(self._data, now, clock_skew_s=clock_skew_s)
        return fetch_request(self._url, self._token, body, version=self._data.spec.version.split(" ")[0])

    async def push(self, now: float, *, clock_skew_s: float = 0.0) -> FetchResult:
        return await send(self._url, self.request(now, clock_skew_s=clock_skew_s), tls=self._tls)
