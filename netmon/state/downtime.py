"""Downtime attributed to an asset: only its own outage spans (cause `device`) count (pure).

Spans caused by the site (power, uplink), a parent or declared maintenance are not the asset's failure and
are left out; so is the part of a span outside the period asked for. An open span counts up to the period's
end. The monthly asset-condition report and any availability figure per device use this.
"""

from __future__ import annotations

from collections.abc import Iterable

from netmon.model import Cause, Outage


def own_downtime(outages: Iterable[Outage], start: float, end: float) -> dict[str, float]:
    """Seconds of `device`-cause outage per device within [start, end) (devices without any are absent)."""
    totals: dict[str, float] = {}
    for outage in outages:
        if outage.cause is not Cause.DEVICE:
            continue
        ended = end if outage.ended_at is None else min(outage.ended_at, end)
        seconds = ended - max(outage.started_at, start)
        if seconds > 0:
            totals[outage.device] = totals.get(outage.device, 0.0) + seconds
    return totals


def availability_ratio(outages: Iterable[Outage], device: str, start: float, end: float) -> float:
    """Share of [start, end) in which `device` was not down by its own failure (1.0 for an empty period)."""
    if end <= start:
        return 1.0
    own = own_downtime((o for o in outages if o.device == device), start, end).get(device, 0.0)
    return 1.0 - own / (end - start)
