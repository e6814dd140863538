"""Plausibility bounds: the physical range of every metric netmon exports, as data, and the pure check that
splits a poll's samples into the plausible and the rejected.

A value outside its metric's range is a vendor bug (a firmware that reports its temperature scaled by a
million, a signed counter read as unsigned, a division by zero), never a reading: it is not exported,
not stored and not evaluated by alert rules (`netmon.rejection` counts and logs it). Bounds are inclusive.
NaN and infinities are never plausible.

The table is keyed by metric name. A metric that is not in it (a new profile's metric) falls back on its
unit suffix (`_celsius`, `_volts`, `_ratio`, `_seconds`, `_bytes`, `_total`), else only the finiteness check
applies; tests keep every metric in the exporter's catalogue and in every SNMP profile in the table.
See docs/plausibility.md for why each range is what it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from netmon.model import Sample


class RejectReason(StrEnum):
    """Why a sample was rejected: the `reason` label of netmon_samples_rejected_total."""

    OUT_OF_RANGE = "out_of_range"
    NOT_FINITE = "not_finite"  # NaN or an infinity


@dataclass(frozen=True, slots=True)
class Bound:
    """An inclusive physical range; `kind` names it in docs and logs."""

    kind: str
    low: float = -math.inf
    high: float = math.inf

    def describe(self) -> str:
        if self.high == math.inf:
            return f"{self.kind}: >= {self.low:g}"
        return f"{self.kind}: {self.low:g}..{self.high:g}"


YEAR_S = 365.25 * 24 * 3600

TEMPERATURE = Bound("temperature (°C)", -40, 150)  # industrial parts' operating range, with margin
VOLTAGE = Bound("voltage (V)", 0, 100)  # 12/24 V DC and 48-57 V PoE, with margin
RATIO = Bound("ratio", 0, 1)
BOOLEAN = Bound("0 or 1", 0, 1)
COUNT = Bound("count", 0, 1_000_000)  # clients, leases, hosts: a negative or 2^32-wrapped value is a bug
BYTES = Bound("bytes counter", 0, 2.0**64)  # Counter64 at most
UPTIME = Bound("uptime (s)", 0, 20 * YEAR_S)  # catches centiseconds read as seconds (up to 136 years)
RTT = Bound("round-trip time (s)", 0, 60)  # a reply later than any probe waits is no reply
FREQUENCY = Bound("radio frequency (Hz)", 1e9, 100e9)  # wifi bands 2.4 to 60 GHz; MHz read as Hz is caught
SECONDS = Bound("duration (s)", 0)
NON_NEGATIVE = Bound("non-negative", 0)

BOUNDS: dict[str, Bound] = {
    "netmon_device_temperature_celsius": TEMPERATURE,
    "netmon_device_voltage_volts": VOLTAGE,
    "netmon_device_cpu_load_ratio": RATIO,
    "netmon_device_memory_used_ratio": RATIO,
    "netmon_ping_loss_ratio": RATIO,
    "netmon_interface_up": BOOLEAN,
    "netmon_wifi_clients": COUNT,
    "netmon_wifi_frequency_hertz": FREQUENCY,
    "netmon_wifi_registrations": COUNT,
    "netmon_hotspot_active_users": COUNT,
    "netmon_hotspot_hosts": COUNT,
    "netmon_dhcp_leases_active": COUNT,
    "netmon_interface_receive_bytes_total": BYTES,
    "netmon_interface_transmit_bytes_total": BYTES,
    "netmon_hotspot_bytes_total": BYTES,
    "netmon_device_uptime_seconds": UPTIME,
    "netmon_ping_rtt_seconds": RTT,
}

# a metric not in BOUNDS: by its unit suffix (Prometheus naming), first match wins
BY_SUFFIX: tuple[tuple[str, Bound], ...] = (
    ("_celsius", TEMPERATURE),
    ("_volts", VOLTAGE),
    ("_ratio", RATIO),
    ("_percent", Bound("percentage", 0, 100)),
    ("_bytes_total", BYTES),
    ("_bytes", NON_NEGATIVE),
    ("_seconds", SECONDS),
    ("_total", NON_NEGATIVE),
)
ANY_FINITE = Bound("any finite value")


def bound_for(metric: str) -> Bound:
    found = BOUNDS.get(metric)
    if found is not None:
        return found
    for suffix, bound in BY_SUFFIX:
        if metric.endswith(suffix):
            return bound
    return ANY_FINITE


@dataclass(frozen=True, slots=True)
class Rejection:
    sample: Sample
    reason: RejectReason
    bound: Bound


def verdict(value: float, bound: Bound) -> RejectReason | None:
    """None when `value` is plausible under `bound` (edges included)."""
    if not math.isfinite(value):
        return RejectReason.NOT_FINITE
    if bound.low <= value <= bound.high:
        return None
    return RejectReason.OUT_OF_RANGE


def screen(samples: Iterable[Sample]) -> tuple[tuple[Sample, ...], tuple[Rejection, ...]]:
    """(the plausible samples, in order; the rejected ones with why)."""
    kept: list[Sample] = []
    rejected: list[Rejection] = []
    for sample in samples:
        bound = bound_for(sample.metric)
        reason = verdict(sample.value, bound)
        if reason is None:
            kept.append(sample)
        else:
            rejected.append(Rejection(sample, reason, bound))
    return tuple(kept), tuple(rejected)
