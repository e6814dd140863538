"""Hourly rollups of poll results (pure: no I/O, no clock; time comes from the results and `flush(at)`).

Per device and clock hour (by `PollResult.started_at`):

- polls_ok / polls_failed: results without / with an error, any source;
- wifi_clients, hotspot_users: per result, the sum of `netmon_wifi_clients` (all radios) and of
  `netmon_hotspot_active_users` (all servers); min/avg/max over the results that carried the metric
  (None when none did);
- bytes_in / bytes_out: the increases of `netmon_interface_{receive,transmit}_bytes_total`, summed over
  interfaces. An increase belongs to the hour of the later sample. A value below the previous one is a
  counter reset (reboot, wrap): the increase is the new value. An increase over a gap longer than
  `max_counter_gap_s` is not counted (it cannot be placed in an hour) but re-baselines the counter. When two
  sources (SNMP and RouterOS) report counters for one device, the larger per-source total is used, never
  the sum;
- temperature_max / voltage_min over all samples of the hour.

An hour is emitted once a result starts, or `flush(at)` is called, `grace_s` after its end (polls finish
out of order across devices and sources). A result for an hour already emitted is late: counted in `late`,
otherwise ignored. `flush(at, final=True)` (shutdown) also emits the running hour, partial; after a restart
the rest of that hour forms a second segment, which the store merges (`combine`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace

from netmon.model import PollResult, Source
from netmon.storage.record import HourlyRollup

HOUR = 3600.0
WIFI = "netmon_wifi_clients"
HOTSPOT = "netmon_hotspot_active_users"
RX = "netmon_interface_receive_bytes_total"
TX = "netmon_interface_transmit_bytes_total"
TEMPERATURE = "netmon_device_temperature_celsius"
VOLTAGE = "netmon_device_voltage_volts"


def hour_of(ts: float) -> float:
    return math.floor(ts / HOUR) * HOUR


@dataclass
class _Gauge:
    n: int = 0
    total: float = 0.0
    low: float | None = None
    high: float | None = None

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)

    @property
    def avg(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass
class _Hour:
    device: str
    hour_start: float
    first: float
    last: float
    ok: int = 0
    failed: int = 0
    wifi: _Gauge = field(default_factory=_Gauge)
    hotspot: _Gauge = field(default_factory=_Gauge)
    bytes_in: dict[Source, int] = field(default_factory=lambda: defaultdict(int))
    bytes_out: dict[Source, int] = field(default_factory=lambda: defaultdict(int))
    temperature_max: float | None = None
    voltage_min: float | None = None

    def rollup(self) -> HourlyRollup:
        return HourlyRollup(
            device=self.device, hour_start=self.hour_start, polls_ok=self.ok, polls_failed=self.failed,
            first_poll_at=self.first, last_poll_at=self.last,
            wifi_clients_min=self.wifi.low, wifi_clients_avg=self.wifi.avg, wifi_clients_max=self.wifi.high,
            wifi_clients_n=self.wifi.n, hotspot_users_min=self.hotspot.low, hotspot_users_avg=self.hotspot.avg,
            hotspot_users_max=self.hotspot.high, hotspot_users_n=self.hotspot.n,
            bytes_in=max(self.bytes_in.values()) if self.bytes_in else None,
            bytes_out=max(self.bytes_out.values()) if self.bytes_out else None,
            temperature_max=self.temperature_max, voltage_min=self.voltage_min)


CounterKey = tuple[str, Source, str, tuple[tuple[str, str], ...]]


class RollupAccumulator:
    def __init__(self, *, grace_s: float = 120.0, max_counter_gap_s: float = 900.0) -> None:
        self._grace = grace_s
        self._max_gap = max_counter_gap_s
        self._open: dict[tuple[str, float], _Hour] = {}
        self._counters: dict[CounterKey, tuple[float, float]] = {}  # key -> (value, at)
        self._closed_before = -math.inf  # hours starting before this were emitted
        self._watermark = -math.inf
        self.late = 0

    def add(self, result: PollResult) -> list[HourlyRollup]:
        at = result.started_at
        start = hour_of(at)
        if start < self._closed_before:
            self.late += 1
            return []
        hour = self._open.get((result.device, start))
        if hour is None:
            hour = self._open[(result.device, start)] = _Hour(result.device, start, at, at)
        hour.first, hour.last = min(hour.first, at), max(hour.last, at)
        if result.ok:
            hour.ok += 1
        else:
            hour.failed += 1
        self._samples(hour, result)
        self._watermark = max(self._watermark, at)
        return self._emit(hour_of(self._watermark - self._grace))

    def flush(self, at: float, *, final: bool = False) -> list[HourlyRollup]:
        """Emit the hours that ended `grace_s` or more before `at` (call it periodically, so the hours of
        devices that stopped reporting close too). `final=True` (shutdown) emits every hour that started
        before `at`, the running one included, partial."""
        if final:
            return self._emit(hour_of(at) + HOUR, closed=hour_of(at - self._grace))
        return self._emit(hour_of(at - self._grace))

    def _emit(self, before: float, *, closed: float | None = None) -> list[HourlyRollup]:
        """Emit (and forget) the hours starting before `before`, by hour then device; results for hours
        before `closed` (default: `before`) are late from now on."""
        closed = before if closed is None else closed
        if before <= self._closed_before:
            return []  # every open hour starts at or after _closed_before
        self._closed_before = max(self._closed_before, closed)
        due = sorted((k for k in self._open if k[1] < before), key=lambda k: (k[1], k[0]))
        stale = self._closed_before - HOUR - self._max_gap
        self._counters = {k: v for k, v in self._counters.items() if v[1] >= stale}
        return [self._open.pop(k).rollup() for k in due]

    def _samples(self, hour: _Hour, result: PollResult) -> None:
        wifi = hotspot = None
        for s in result.samples:
            if s.metric == WIFI:
                wifi = (wifi or 0.0) + s.value
            elif s.metric == HOTSPOT:
                hotspot = (hotspot or 0.0) + s.value
            elif s.metric == TEMPERATURE:
                hour.temperature_max = s.value if hour.temperature_max is None else max(hour.temperature_max, s.value)
            elif s.metric == VOLTAGE:
                hour.voltage_min = s.value if hour.voltage_min is None else min(hour.voltage_min, s.value)
            elif s.metric in (RX, TX):
                increase = self._increase((result.device, result.source, s.metric, s.labels), s.value,
                                          result.started_at)
                totals = hour.bytes_in if s.metric == RX else hour.bytes_out
                if increase is not None:
                    totals[result.source] += increase
        if wifi is not None:
            hour.wifi.add(wifi)
        if hotspot is not None:
            hour.hotspot.add(hotspot)

    def _increase(self, key: CounterKey, value: float, at: float) -> int | None:
        previous = self._counters.get(key)
        if previous is not None and at <= previous[1]:
            return None  # out of order: older than the baseline
        self._counters[key] = (value, at)
        if previous is None or at - previous[1] > self._max_gap:
            return None
        return int(value - previous[0]) if value >= previous[0] else int(value)


def combine(stored: HourlyRollup, new: HourlyRollup) -> HourlyRollup:
    """The stored rollup of an hour after writing `new` for the same device and hour.

    Disjoint poll spans are two segments of the hour (a restart inside it): summed. A span covering the
    stored one is a re-write or a more complete version: it replaces. Anything else is already contained.
    """
    if new.first_poll_at > stored.last_poll_at or new.last_poll_at < stored.first_poll_at:
        return _sum(stored, new)
    if new.first_poll_at <= stored.first_poll_at and new.last_poll_at >= stored.last_poll_at:
        return new
    return stored


def _sum(a: HourlyRollup, b: HourlyRollup) -> HourlyRollup:
    def low(x: float | None, y: float | None) -> float | None:
        return y if x is None else x if y is None else min(x, y)

    def high(x: float | None, y: float | None) -> float | None:
        return y if x is None else x if y is None else max(x, y)

    def plus(x: int | None, y: int | None) -> int | None:
        return y if x is None else x if y is None else x + y

    def avg(xa: float | None, na: int, xb: float | None, nb: int) -> float | None:
        if not na + nb:
            return None
        return ((xa or 0.0) * na + (xb or 0.0) * nb) / (na + nb)

    return replace(
        a, polls_ok=a.polls_ok + b.polls_ok, polls_failed=a.polls_failed + b.polls_failed,
        first_poll_at=min(a.first_poll_at, b.first_poll_at), last_poll_at=max(a.last_poll_at, b.last_poll_at),
        wifi_clients_min=low(a.wifi_clients_min, b.wifi_clients_min),
        wifi_clients_avg=avg(a.wifi_clients_avg, a.wifi_clients_n, b.wifi_clients_avg, b.wifi_clients_n),
        wifi_clients_max=high(a.wifi_clients_max, b.wifi_clients_max),
        wifi_clients_n=a.wifi_clients_n + b.wifi_clients_n,
        hotspot_users_min=low(a.hotspot_users_min, b.hotspot_users_min),
        hotspot_users_avg=avg(a.hotspot_users_avg, a.hotspot_users_n, b.hotspot_users_avg, b.hotspot_users_n),
        hotspot_users_max=high(a.hotspot_users_max, b.hotspot_users_max),
        hotspot_users_n=a.hotspot_users_n + b.hotspot_users_n,
        bytes_in=plus(a.bytes_in, b.bytes_in), bytes_out=plus(a.bytes_out, b.bytes_out),
        temperature_max=high(a.temperature_max, b.temperature_max), voltage_min=low(a.voltage_min, b.voltage_min))
