"""Reboot detection from `netmon_device_uptime_seconds` readings (pure).

Only readings of the same source are compared for the "went backwards" rule: an SNMP agent usually starts
some seconds after the RouterOS system, so the two numbers differ slightly and comparing them across
sources would invent reboots. A device rebooted between two readings of one source when

* its uptime went backwards (``new + slack < previous``), or
* it booted after the previous reading although the number grew: ``new + slack < at - previous_at``
  (e.g. 500 s at t0, then 300 s at t0+600: it booted at about t0+300).

The second rule does not depend on which source took the previous reading, so it is also applied against a
reading restored after a restart (whose source is not known). The boot time is ``at - new``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netmon.model import Sample

UPTIME_METRIC = "netmon_device_uptime_seconds"


@dataclass(frozen=True, slots=True)
class UptimeReading:
    uptime_s: float
    at: float  # when it was read


def uptime_from(samples: Iterable[Sample]) -> float | None:
    """The uptime a poll reported, or None when it carried no (sane) uptime sample."""
    for sample in samples:
        if sample.metric == UPTIME_METRIC and sample.value >= 0:
            return float(sample.value)
    return None


def booted_between(previous: UptimeReading | None, current: UptimeReading, *, slack_s: float,
                   same_source: bool = True) -> float | None:
    """Estimated boot time if the device rebooted between `previous` and `current`, else None.

    `same_source=False` (a reading restored after a restart, source unknown) applies only the
    "booted after the previous reading" rule.
    """
    if previous is None or current.at <= previous.at:
        return None
    went_backwards = same_source and current.uptime_s + slack_s < previous.uptime_s
    booted_after_previous = current.uptime_s + slack_s < current.at - previous.at
    if went_backwards or booted_after_previous:
        return current.at - current.uptime_s
    return None
