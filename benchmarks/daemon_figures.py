"""The figures of benchmarks/daemon.py computed from what it observed: poll-start lag and missed cycles seen by
the simulated devices, the daemon's CPU during Prometheus's scrapes, and the report table."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks.report import quantile, table
from netmon.worker import shard_of


def offset(device_id: str, interval_s: float) -> float:
    """netmon's stable start offset of a device within the interval (Scheduler.offset)."""
    return (zlib.crc32(device_id.encode()) / 2**32) * interval_s


@dataclass
class Lags:
    lags: list[float] = field(default_factory=list)
    polled: int = 0  # devices with at least one poll start in the window
    starts: int = 0
    due: int = 0  # scheduled instants inside the window
    unseen_due: int = 0  # scheduled instants whose poll the devices never saw (cycles missed, seen from outside)


def poll_lags(starts: Mapping[str, Sequence[float]], interval_s: float, workers: int, since: float,
              until: float) -> Lags:
    """Every poll start against its scheduled instant. The scheduler starts each device at `start + offset + k *
    interval` (plus jitter, 0 here unless asked for); `start` (one per worker process) is not visible from
    outside, so it is taken as the earliest residual `(t - offset) mod interval` of the shard (the poll with the
    smallest lag, a few ms): lags are then relative to that poll. Assumes lags below half an interval."""
    residuals: dict[int, list[tuple[str, float, float]]] = {}
    for device, ts in starts.items():
        off = offset(device, interval_s)
        for t in ts:
            residuals.setdefault(shard_of(device, workers) if workers > 1 else 0, []).append(
                (device, t, (t - off) % interval_s))
    out = Lags()
    seen: dict[str, list[float]] = {}
    for shard in residuals.values():
        anchor = shard[0][2]
        s0 = anchor + min(((r - anchor + interval_s / 2) % interval_s) - interval_s / 2 for _, _, r in shard)
        for device, t, r in shard:
            lag = (r - s0) % interval_s
            out.lags.append(0.0 if lag > interval_s - 0.5 else lag)
            seen.setdefault(device, []).append(t - out.lags[-1])
        base = s0
        for device, scheduled in seen.items():
            off = offset(device, interval_s)
            first = base + off + ((since - base - off) // interval_s + 1) * interval_s
            due = [first + k * interval_s for k in range(int((until - 1 - first) // interval_s) + 1)]
            out.due += len(due)
            out.unseen_due += sum(1 for d in due if not any(abs(s - d) < interval_s / 2 for s in scheduled))
        seen.clear()
    out.polled = len(starts)
    out.starts = len(out.lags)
    return out


def scrape_cpu(samples: Sequence[tuple[float, float]], scrapes: Sequence[tuple[float, float]]) -> list[float]:
    """The daemon's CPU spent in each scrape: its CPU (sampled every ~0.2 s: (wall time, CPU s)) over the scrape
    (Prometheus's start timestamp, scrape_duration_seconds) minus what it spends at its rate between scrapes."""
    if len(samples) < 2:
        return []

    def cpu_at(t: float) -> float:
        for (t0, c0), (t1, c1) in itertools.pairwise(samples):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * (t - t0) / max(t1 - t0, 1e-9)
        return samples[0][1] if t < samples[0][0] else samples[-1][1]

    inside = [(cpu_at(t + d) - cpu_at(t), d) for t, d in scrapes]
    span = samples[-1][0] - samples[0][0]
    busy = sum(d for _, d in inside)
    rest_cpu = samples[-1][1] - samples[0][1] - sum(c for c, _ in inside)
    rate = rest_cpu / max(span - busy, 1e-9)
    return [max(0.0, c - rate * d) for c, d in inside]


def figure(value: float | None, fmt: str = "{:.0f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def print_report(title: str, rows: list[list[object]]) -> None:
    print(table(title, ["figure", "value"], rows), flush=True)


def lag_rows(lags: Lags, devices: int, jitter_s: float) -> list[list[object]]:
    return [
        ["devices polled in the window (seen by the devices)", f"{lags.polled} of {devices}"],
        ["poll starts seen / due in the window", f"{lags.starts} / {lags.due} "
                                                  f"(due but not seen: {lags.unseen_due})"],
        ["poll-start lag p50 / p99 / max (seen by the devices" + (f", incl. jitter 0-{jitter_s:g} s)"
                                                                   if jitter_s else ")"),
         f"{quantile(lags.lags, 0.5):.3f} / {quantile(lags.lags, 0.99):.3f} / "
         f"{max(lags.lags, default=float('nan')):.3f} s"],
    ]
