"""Invented wifi/hotspot/DHCP clients that come and go with the daily curve, and RouterOS value formats.

Pure functions of (seed, rank, now). A population of `peak` clients with seed `s` holds ranks 1..n where
n = `variation.daily_count(now, peak=peak, seed=s)` -- the same count the SNMP simulator serves for that
seed, so both simulators agree on how many clients a radio or hotspot has. A client's session started at
the beginning of its current presence run, found by stepping back through five-minute buckets (cached).
MACs are locally administered (random-looking, like phones' private addresses) unless a base is given;
host names are generic device names. Nothing is a real person's or device's.
"""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache

from netmon.simulate.variation import NOISE_BUCKET_S, WIB_OFFSET_S, daily_count

MAX_LOOKBACK_BUCKETS = 36 * 3600 // NOISE_BUCKET_S
BUCKETS_A_DAY = 86400 // NOISE_BUCKET_S
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_HOSTS = ("android-{h}", "Redmi-Note-{n}", "OPPO-A{n}", "vivo-{n}", "Galaxy-A{n}", "iPhone", "POCO-X{n}",
          "realme-C{n}", "LAPTOP-{H}", "DESKTOP-{H}", "Infinix-HOT-{n}", "")


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts`."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def count(now: float, *, peak: int, seed: str) -> int:
    return daily_count(now, peak=peak, seed=seed) if peak > 0 else 0


@lru_cache(maxsize=1 << 16)
def bucket_count(seed: str, peak: int, bucket: int) -> int:
    """`count` in the middle of a five-minute bucket (what look-backs compare)."""
    return count(bucket * NOISE_BUCKET_S + NOISE_BUCKET_S / 2, peak=peak, seed=seed)


def present(rank: int, now: float, *, peak: int, seed: str) -> bool:
    return count(now, peak=peak, seed=seed) >= rank


def session_start(rank: int, now: float, *, peak: int, seed: str) -> float:
    """When the present client `rank` connected; always <= now."""
    first = run_first_bucket(seed, peak, rank, int(now // NOISE_BUCKET_S))
    return min(now, run_start(seed, rank, first))


def run_start(seed: str, rank: int, first: int) -> float:
    """When a presence run whose first bucket is `first` began (a moment in the bucket before)."""
    return first * NOISE_BUCKET_S - unit(seed, rank, first) * NOISE_BUCKET_S


def run_first_bucket(seed: str, peak: int, rank: int, bucket: int) -> int:
    """The first five-minute bucket of the presence run of `rank` that holds `bucket`: the run's identity.

    A slot filled for longer than the 36 h look-back (a device that never leaves) is one run per day
    of the look-back's start, so its identity and uptime restart at most once a day. The result depends
    only on the arguments; `_STARTS` (true run starts found so far) only saves walking back again."""
    first = bucket
    for _ in range(MAX_LOOKBACK_BUCKETS):
        if bucket_count(seed, peak, first - 1) < rank:
            if len(_STARTS) > 1 << 18:
                _STARTS.clear()  # a cache only: results do not depend on it
            _STARTS[(seed, peak, rank, bucket)] = first
            return first
        known = _STARTS.get((seed, peak, rank, first - 1))
        if known is not None:  # the bucket before is in the same run: same start, if within reach
            if known < 0 or bucket - known >= MAX_LOOKBACK_BUCKETS:
                _STARTS[(seed, peak, rank, bucket)] = -1
                return _anchor(bucket)
            _STARTS[(seed, peak, rank, bucket)] = known
            return known
        first -= 1
    _STARTS[(seed, peak, rank, bucket)] = -1  # filled for the whole look-back: so is every later bucket of it
    return _anchor(bucket)


def _anchor(bucket: int) -> int:
    return (bucket - MAX_LOOKBACK_BUCKETS) // BUCKETS_A_DAY * BUCKETS_A_DAY


_STARTS: dict[tuple[str, int, int, int], int] = {}


def mac(seed: str, rank: int, *, base: int | None = None, step: int = 0) -> str:
    if base is not None:
        value = (base + rank * step) % 2**48
    else:
        value = int(unit(seed, rank, "mac") * 2**48)
        value = (value & ~(0x03 << 40)) | (0x02 << 40)  # locally administered, unicast
    raw = value.to_bytes(6, "big").hex().upper()
    return ":".join(raw[i:i + 2] for i in range(0, 12, 2))


def host_name(seed: str, rank: int) -> str:
    pattern = _HOSTS[int(unit(seed, rank, "host") * len(_HOSTS))]
    n = 5 + int(unit(seed, rank, "n") * 60)
    h = hashlib.blake2b(f"{seed}/{rank}".encode(), digest_size=4).hexdigest()
    return pattern.format(n=n, h=h, H=h.upper()[:7])


def duration(seconds: float, *, millis: bool = False) -> str:
    """RouterOS time format: `1w2d3h4m5s`, with `ms` when asked (`1s530ms`); `0s` for zero."""
    total_ms = max(0, round(seconds * 1000)) if millis else max(0, int(seconds)) * 1000
    ms = total_ms % 1000
    s = total_ms // 1000
    parts = []
    for size, suffix in ((604800, "w"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if s >= size:
            parts.append(f"{s // size}{suffix}")
            s %= size
    if millis and ms:
        parts.append(f"{ms}ms")
    return "".join(parts) or ("0ms" if millis else "0s")


def timestamp(when: float, *, iso: bool, capital: bool = False) -> str:
    """Router local time (WIB): `2024-10-19 21:54:32` (7.10+) or `oct/19/2024 21:54:32` (older)."""
    t = time.gmtime(when + WIB_OFFSET_S)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    if iso:
        return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} {clock}"
    month = _MONTHS[t.tm_mon - 1]
    return f"{month.capitalize() if capital else month}/{t.tm_mday:02d}/{t.tm_year:04d} {clock}"
