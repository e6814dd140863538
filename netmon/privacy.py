"""Counting the public's devices without keeping who they are (UU PDP 27/2022).

A client MAC address is turned into an HMAC-SHA256 digest under a random key that lives only in memory
and is replaced at local midnight; the digests of a day are counted per site and dropped with the key.
So a device can be counted once per site per day, but no digest can be linked to a MAC address or to
the same device on another day, and nothing on disk or in a metric ever holds the address.
After a restart the key is new, so a device seen before and after the restart counts twice that day
(a known, documented over-count rather than keeping the key anywhere).

"Local" is the site's own zone (`Site.timezone`): each of WIB, WITA and WIT has its own key and its own
day, which ends at that zone's midnight (17:00 UTC for WIB, 16:00 for WITA, 15:00 for WIT). A site's day
is its local calendar date, the `day` stored in `daily_uniques`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from netmon.model import DEFAULT_TIMEZONE, TimeZone


@dataclass
class _Day:
    """One zone's current day: its key and the digests seen per site."""

    date: date
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    seen: dict[str, set[str]] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return f"{self.date.isoformat()}:"


class DailyUniqueClients:
    def __init__(self, zones: Mapping[str, TimeZone] | None = None, *, default: TimeZone = DEFAULT_TIMEZONE,
                 clock: Callable[[], float] = time.time) -> None:
        """`zones`: the zone of each site id; sites not in it are in `default`."""
        self._zones = dict(zones or {})
        self._default = default
        self._clock = clock
        self._days: dict[TimeZone, _Day] = {}
        self._closed: list[tuple[str, date, int]] = []  # final counts of days that ended, not yet taken

    def zone(self, site: str) -> TimeZone:
        return self._zones.get(site, self._default)

    def _day(self, zone: TimeZone) -> _Day:
        """The zone's current day; at its midnight the key and the digests go, the final counts are kept."""
        today = zone.date_at(self._clock())
        day = self._days.get(zone)
        if day is None or day.date != today:
            if day is not None:
                self._closed += [(site, day.date, len(d)) for site, d in sorted(day.seen.items())]
            day = self._days[zone] = _Day(today)
        return day

    def fingerprint(self, site: str, mac: str) -> str:
        """The keyed hash of a normalised MAC address seen at `site`, under the key of the site's zone and
        day (prefixed with the local date it belongs to)."""
        day = self._day(self.zone(site))
        normal = mac.strip().upper().replace("-", ":").encode()
        digest = hmac.new(day.key, normal, hashlib.sha256).hexdigest()[:32]
        return f"{day.prefix}{digest}"

    def add(self, site: str, fingerprints: Iterable[str]) -> None:
        day = self._day(self.zone(site))
        fresh = {f for f in fingerprints if f.startswith(day.prefix)}  # yesterday's hashes never leak into today
        if fresh:
            day.seen.setdefault(site, set()).update(fresh)

    def counts(self) -> dict[str, int]:
        """Distinct clients per site on each site's current local day."""
        return {site: count for site, _day, count in self.today()}

    def today(self) -> list[tuple[str, date, int]]:
        """(site, its local date, distinct clients) for every site with clients on its current day."""
        out: list[tuple[str, date, int]] = []
        for zone in list(self._days):
            day = self._day(zone)
            out += [(site, day.date, len(d)) for site, d in sorted(day.seen.items())]
        return out

    def daily(self) -> list[tuple[str, date, int]]:
        """What to store: the final counts of days that ended since the last call (so the last minutes
        before a zone's midnight are not lost), then today's counts so far."""
        current = self.today()  # rotates first, so a day that just ended is among the closed ones
        closed, self._closed = self._closed, []
        return closed + current
