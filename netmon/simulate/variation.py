"""Values that move over time, as pure functions of an injected `now` (Unix seconds).

A simulated device serves most records as recorded. A record written `OID|tag:variation|args` is computed
at request time instead; `args` is a comma-separated `key=value` list (see `netmon.simulate.snmprec`;
`value=...` comes last and is the recorded value). The variations:

- `uptime` (tag 67; also 65/66), args `initial` (0), `hz` (100): `initial + hz * (now - boot)`, wrapping
  at 2**32. `1.3.6.1.2.1.1.3.0|67:uptime|initial=312345600`
- `rate` (integer tags), args `rate` (per second), `initial` (0), `shape` (`flat` or `daily`):
  `initial + rate * seconds since boot`; `shape=daily` scales the rate by the daily curve (`rate` is the
  peak rate). Counter64 (70) wraps at 2**64, other tags at 2**32.
  `1.3.6.1.2.1.31.1.1.1.6.1|70:rate|rate=2600000,initial=0,shape=daily`
- `daily` (2, 65, 66), args `peak`, `floor` (0), `noise` (15% of peak), `seed` (the OID): a client count,
  `peak * curve(hour in WIB)` plus bounded noise, clamped to `[floor, peak]`.
  `1.3.6.1.4.1.14988.1.1.1.3.1.6.6|65:daily|peak=28,seed=gw-wlan1`
- `jitter` (2, 66), args `spread`, `seed` (the OID), `value`: `value` +- at most `spread` (temperature,
  CPU load). `1.3.6.1.4.1.14988.1.1.3.10.0|2:jitter|spread=20,seed=gw-temp,value=460`
- `row` (any tag), args `peak`, `rank`, `seed` (required), `floor`, `noise`, `value`: the record exists only
  while `daily(peak, seed) >= rank`, so a table's rows come and go (hotspot active users); it is served as
  `value`. `1.3.6.1.4.1.14988.1.1.5.1.1.3.4|4:row|peak=24,rank=4,seed=gw-hotspot,value=T-A4C3F0079E94`

`boot` is the simulated device's boot time: counters and uptime restart from `initial` when it reboots.
The daily curve is in Indonesia's western time (WIB, UTC+7): near zero at 03:00, rising through the day,
busiest 19:00-21:00. Noise is deterministic per `seed` and five-minute bucket, so one walk sees one value
and records sharing a `seed` (all cells of a hotspot table) agree with each other.
"""

from __future__ import annotations

import hashlib
import math
import time
from bisect import bisect_right
from collections.abc import Callable
from itertools import pairwise

from collectors.snmp.varbind import SnmpValue
from netmon.errors import ConfigError
from netmon.simulate.snmprec import SnmpRecord

WIB_OFFSET_S = 7 * 3600
NOISE_BUCKET_S = 300
DAY_S = 86400

# (hour of day in WIB, fraction of peak): a public-wifi day at a village information point.
DAILY_CURVE: tuple[tuple[float, float], ...] = (
    (0, 0.12), (3, 0.02), (5, 0.04), (7, 0.20), (9, 0.35), (12, 0.55), (15, 0.75),
    (17, 0.85), (19, 1.00), (21, 0.95), (23, 0.35), (24, 0.12),
)
_HOURS = tuple(h for h, _ in DAILY_CURVE)
# Integral of the curve in "peak-seconds" from midnight to each knot (trapezoids).
_CUMULATIVE = [0.0]
for (h0, f0), (h1, f1) in pairwise(DAILY_CURVE):
    _CUMULATIVE.append(_CUMULATIVE[-1] + (h1 - h0) * 3600 * (f0 + f1) / 2)
_DAY_INTEGRAL = _CUMULATIVE[-1]

VARIATIONS = frozenset({"uptime", "rate", "daily", "jitter", "row"})


def uptime_ticks(boot: float, now: float, *, initial: int = 0, hz: int = 100) -> int:
    """sysUpTime-style TimeTicks (hundredths by default) since `boot`, wrapping at 2**32."""
    return (initial + int(max(0.0, now - boot) * hz)) % 2**32


def counter_value(boot: float, now: float, *, rate: float, initial: int = 0, bits: int = 32,
                  daily: bool = False) -> int:
    """A counter that grows by `rate` a second since `boot` (at the daily curve's peak if `daily`)."""
    elapsed = daily_integral(boot, now) if daily else max(0.0, now - boot)
    return (initial + int(rate * elapsed)) % 2**bits


def local_hour(now: float) -> float:
    """Hour of day (0 <= h < 24, fractional) in WIB."""
    return ((now + WIB_OFFSET_S) % DAY_S) / 3600


def clock_at_wib_hour(hour: float) -> Callable[[], float]:
    """Real time moved to today's `hour` (WIB) and running on from there: daily curves (clients, hotspot
    users) sit at their value for that hour, so tests and benchmarks do not depend on when they run."""
    now = time.time()
    base = (now + WIB_OFFSET_S) // DAY_S * DAY_S - WIB_OFFSET_S + hour * 3600
    t0 = time.monotonic()
    return lambda: base + time.monotonic() - t0


REFERENCE_MIDNIGHT_WIB = 1_760_029_200.0  # 2025-10-10 00:00 WIB: a fixed day for tests


def clock_from(start: float) -> Callable[[], float]:
    """A clock that reads `start` now and runs on with the monotonic clock: tests that pin a simulator
    to a fixed moment (e.g. `REFERENCE_MIDNIGHT_WIB + 3 * 3600`) see the same clients on every run,
    whatever the date and time of day (the daily curve's noise changes only every five minutes)."""
    t0 = time.monotonic()
    return lambda: start + time.monotonic() - t0


def daily_fraction(now: float) -> float:
    """The daily curve at `now`: 0..1 of the peak, linear between the hourly knots."""
    return _fraction_at_hour(local_hour(now))


def _segment(hour: float) -> int:
    return min(bisect_right(_HOURS, hour) - 1, len(DAILY_CURVE) - 2)


def _fraction_at_hour(hour: float) -> float:
    i = _segment(hour)
    (h0, f0), (h1, f1) = DAILY_CURVE[i], DAILY_CURVE[i + 1]
    return f0 + (f1 - f0) * (hour - h0) / (h1 - h0)


def _since_midnight_integral(hour: float) -> float:
    i = _segment(hour)
    h0, f0 = DAILY_CURVE[i]
    return _CUMULATIVE[i] + (hour - h0) * 3600 * (f0 + _fraction_at_hour(hour)) / 2


def daily_integral(start: float, end: float) -> float:
    """Seconds-at-peak between `start` and `end`: the integral of the daily curve (0 if end <= start)."""
    if end <= start:
        return 0.0

    def absolute(t: float) -> float:
        local = t + WIB_OFFSET_S
        days = math.floor(local / DAY_S)
        return days * _DAY_INTEGRAL + _since_midnight_integral((local - days * DAY_S) / 3600)

    return absolute(end) - absolute(start)


def bounded_noise(seed: str, now: float, amplitude: float) -> float:
    """Deterministic noise in [-amplitude, amplitude], constant within a five-minute bucket."""
    bucket = int(now // NOISE_BUCKET_S)
    digest = hashlib.blake2b(f"{seed}/{bucket}".encode(), digest_size=8).digest()
    unit = int.from_bytes(digest, "big") / 2**64  # [0, 1)
    return (2 * unit - 1) * amplitude


def daily_count(now: float, *, peak: int, seed: str, noise: float | None = None, floor: int = 0) -> int:
    """A client count following the daily curve; noise scales with the curve (quiet nights stay quiet)."""
    fraction = daily_fraction(now)
    amplitude = (0.15 * peak if noise is None else noise) * fraction
    count = round(peak * fraction + bounded_noise(seed, now, amplitude))
    return max(floor, min(peak, count))


def jitter(now: float, *, value: int, spread: float, seed: str) -> int:
    return round(value + bounded_noise(seed, now, spread))


def check(record: SnmpRecord, *, file: str = "<snmprec>") -> None:
    """Reject an unknown variation or missing arguments when the data is loaded, not when served."""
    name = record.variation
    if name is None:
        return
    if name not in VARIATIONS:
        raise ConfigError(f"{record.oid_text}: unknown variation {name!r}", file=file)
    required = {"rate": ("rate",), "daily": ("peak",), "jitter": ("spread",), "row": ("peak", "rank", "seed")}
    for key in required.get(name, ()):
        if record.arg(key) is None:
            raise ConfigError(f"{record.oid_text}: variation {name} needs {key}=", file=file)
    try:
        value_at(record, now=0.0, boot=0.0)
    except ValueError as exc:
        raise ConfigError(f"{record.oid_text}: bad {name} arguments", file=file) from exc
    if name != "row" and record.tag not in (2, 65, 66, 67, 70):
        raise ConfigError(f"{record.oid_text}: variation {name} needs an integer tag", file=file)


def is_present(record: SnmpRecord, *, now: float) -> bool:
    """False while a `row` record's row is absent from its table."""
    if record.variation != "row":
        return True
    return _daily(record, now) >= int(record.arg("rank") or 0)


def value_at(record: SnmpRecord, *, now: float, boot: float) -> SnmpValue | None:
    """The value to serve at `now` for a device booted at `boot`."""
    name = record.variation
    if name is None or name == "row":
        return record.value
    if name == "uptime":
        return uptime_ticks(boot, now, initial=int(record.arg("initial", "0") or 0),
                            hz=int(record.arg("hz", "100") or 100))
    if name == "rate":
        return counter_value(boot, now, rate=float(record.arg("rate", "0") or 0),
                             initial=int(record.arg("initial", "0") or 0),
                             bits=64 if record.tag == 70 else 32, daily=record.arg("shape") == "daily")
    if name == "daily":
        return _daily(record, now)
    if name == "jitter":
        center = record.value if isinstance(record.value, int) else 0
        return jitter(now, value=center, spread=float(record.arg("spread", "0") or 0),
                      seed=record.arg("seed") or record.oid_text)
    return record.value


def _daily(record: SnmpRecord, now: float) -> int:
    noise = record.arg("noise")
    return daily_count(now, peak=int(record.arg("peak", "0") or 0),
                       seed=record.arg("seed") or record.oid_text,
                       noise=float(noise) if noise is not None else None,
                       floor=int(record.arg("floor", "0") or 0))
