"""`/ip/hotspot/active` and `/ip/hotspot/host` rows -> user counts and public traffic per hotspot server.

Pure: `HotspotTraffic` keeps state between polls but does no I/O. Users are counted, never named: no
user name, MAC or IP address reaches a label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from collectors.routeros.parse import Row, Rows, duration_s, integer
from netmon.model import Sample, SampleKind

ACTIVE_HELP = "Hotspot users logged in now (a count, never names)."
HOSTS_HELP = "Devices the hotspot sees (logged in or not), per hotspot server."
BYTES_HELP = ("Bytes of hotspot user sessions, per server; direction in = received by the router from users "
              "(upload), out = sent by the router to users (download).")

UNKNOWN_SERVER = "unknown"
DIRECTIONS = (("in", "bytes-in"), ("out", "bytes-out"))


def _server(row: Row) -> str:
    return row.get("server", "").strip() or UNKNOWN_SERVER


def _per_server(rows: Rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if row:  # an empty row (`{}`) is no session
            counts[_server(row)] = counts.get(_server(row), 0) + 1
    return counts


def _count_samples(metric: str, counts: Mapping[str, int], help_text: str) -> list[Sample]:
    return [Sample(metric, float(n), (("server", server),), help=help_text) for server, n in sorted(counts.items())]


def hotspot_active_samples(rows: Rows) -> list[Sample]:
    """`netmon_hotspot_active_users{server}` = logged-in sessions per hotspot server.

    Per server only: the device total is `sum by (device)`, and an extra `server="all"` series would be
    double-counted by that sum. A server with nobody logged in has no rows here; the collector adds it as
    0 from the server list read at discovery. Rows without `server` count as `server="unknown"`.
    """
    return _count_samples("netmon_hotspot_active_users", _per_server(rows), ACTIVE_HELP)


def hotspot_host_samples(rows_or_count: Rows | Mapping[str, int] | int) -> list[Sample]:
    """`netmon_hotspot_hosts{server}` from host rows (counted per `server`), from counts per server
    (`print count-only` with `?server=...`), or from one total count (`print count-only`), which is
    exported as `server="all"`."""
    if isinstance(rows_or_count, int):
        counts: Mapping[str, int] = {"all": rows_or_count}
    elif isinstance(rows_or_count, Mapping):
        counts = rows_or_count
    else:
        counts = _per_server(rows_or_count)
    return _count_samples("netmon_hotspot_hosts", counts, HOSTS_HELP)


@dataclass
class _Session:
    server: str
    last: dict[str, int] = field(default_factory=dict)  # direction -> bytes at the last update
    uptime: float | None = None


class HotspotTraffic:
    """Bytes used by hotspot users as monotonic counters per (server, direction).

    RouterOS counts `bytes-in`/`bytes-out` per session and forgets them when the session ends, so the
    sum over active rows goes down whenever someone logs out. This accumulator adds each session's
    increase since the last update (keyed by `.id`): a session that ends keeps what it used; a session
    seen for the first time contributes all its bytes; a counter that went down, or an `uptime` that went
    down, means a new session under a reused `.id` (e.g. after a router reboot) and counts from 0.
    Directions follow RouterOS and the interface metrics: from the router's point of view,
    `in` = `bytes-in` = received from the user (upload), `out` = `bytes-out` = sent to the user (download).
    Totals restart from 0 when netmon restarts, which Prometheus' `rate`/`increase` treat as a reset.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._totals: dict[tuple[str, str], int] = {}

    def update(self, rows: Rows) -> list[Sample]:
        sessions: dict[str, _Session] = {}
        for row in rows:
            key = row.get(".id", "").strip()
            if not key:
                continue
            server = _server(row)
            uptime = duration_s(row.get("uptime", ""))
            previous = self._sessions.get(key)
            if previous is not None and uptime is not None and previous.uptime is not None \
                    and uptime < previous.uptime:
                previous = None  # a new session under the same .id
            session = _Session(server=server, uptime=uptime)
            for direction, name in DIRECTIONS:
                value = integer(row.get(name, ""))
                last = previous.last.get(direction) if previous else None
                if value is None:  # unparsable now: keep the old reading for next time
                    if last is not None:
                        session.last[direction] = last
                    continue
                increase = value - last if last is not None and value >= last else value
                total_key = (server, direction)
                self._totals[total_key] = self._totals.get(total_key, 0) + increase
                session.last[direction] = value
            sessions[key] = session
        self._sessions = sessions  # ended sessions are dropped; their bytes stay in the totals
        for server in {s.server for s in sessions.values()}:
            for direction, _name in DIRECTIONS:
                self._totals.setdefault((server, direction), 0)
        return self.samples()

    def samples(self) -> list[Sample]:
        return [
            Sample("netmon_hotspot_bytes_total", float(total), (("direction", direction), ("server", server)),
                   SampleKind.COUNTER, BYTES_HELP)
            for (server, direction), total in sorted(self._totals.items())
        ]

