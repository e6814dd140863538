"""Counting the public's devices without keeping who they are (UU PDP 27/2022).

A client MAC address is turned into an HMAC-SHA256 digest under a random key that lives only in memory
and is replaced at local midnight; the digests of a day are counted per site and dropped with the key.
So a device can be counted once per site per day, but no digest can be linked to a MAC address or to
the same device on another day, and nothing on disk or in a metric ever holds the address.
After a restart the key is new, so a device seen before and after the restart counts twice that day
(a known, documented over-count rather than keeping the key anywhere).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable

WIB_OFFSET_S = 7 * 3600  # Asia/Jakarta, UTC+7, no daylight saving


class DailyUniqueClients:
    def __init__(self, *, utc_offset_s: int = WIB_OFFSET_S, clock: Callable[[], float] = time.time) -> None:
        self._offset = utc_offset_s
        self._clock = clock
        self._day = -1
        self._key = b""
        self._seen: dict[str, set[str]] = {}
        self._rotate()

    def _today(self) -> int:
        return int((self._clock() + self._offset) // 86400)

    def _rotate(self) -> None:
        day = self._today()
        if day != self._day:
            self._day = day
            self._key = secrets.token_bytes(32)
            self._seen = {}

    def fingerprint(self, mac: str) -> str:
        """The day's keyed hash of a normalised MAC address (prefixed with the day it belongs to)."""
        self._rotate()
        normal = mac.strip().upper().replace("-", ":").encode()
        digest = hmac.new(self._key, normal, hashlib.sha256).hexdigest()[:32]
        return f"{self._day}:{digest}"

    def add(self, site: str, fingerprints: Iterable[str]) -> None:
        self._rotate()
        prefix = f"{self._day}:"
        fresh = {f for f in fingerprints if f.startswith(prefix)}  # yesterday's hashes never leak into today
        if fresh:
            self._seen.setdefault(site, set()).update(fresh)

    def counts(self) -> dict[str, int]:
        self._rotate()
        return {site: len(digests) for site, digests in self._seen.items()}
