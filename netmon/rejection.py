"""Implausible samples taken out of poll results before anything else sees them (netmon.plausibility holds
the bounds), counted in `netmon_samples_rejected_total{device,metric,reason}` and logged once per device
and metric: when the metric first goes out of range, and when it is back.

The composition root runs every PollResult through `RejectionTracker.screen` first, whether the poll ran
in the daemon's own event loop or in an SNMP worker process (worker results arrive in the parent as
they are), so each sample is counted once.

Counter series are created at 0 for every (device, metric) a device reports, with the reason
`out_of_range`, from the poll that first reports the metric, so `increase()` sees the first rejection of a
metric that used to be plausible. `not_finite` series appear with their first event (NaN/inf cannot be
encoded in an SNMP integer; they would be a collector bug), to keep /metrics small at 10,000 devices.

The counts are kept per device, and a device's series are part of its own /metrics text (netmon.latest hands
them to netmon.exposition with the device's results), written again only when the device reports: at 30,000
devices there are ~330,000 such series, nearly all at 0, and a Sample and a kept line for each would be
~8 KB and ~40 objects per device for the garbage collector to walk (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from types import MappingProxyType

from netmon.model import PollResult, Sample
from netmon.plausibility import Rejection, RejectReason, screen

log = logging.getLogger(__name__)

REJECTED_METRIC = "netmon_samples_rejected_total"


def _series(sample: Sample) -> str:
    labels = ",".join(f'{k}="{v}"' for k, v in sample.labels)
    return f"{sample.metric}{{{labels}}}" if labels else sample.metric


RejectedKey = tuple[str, str]  # metric, reason (a RejectReason)
_KEYS: dict[RejectedKey, RejectedKey] = {}  # one key object per (metric, reason), shared by the devices


def _key(metric: str, reason: str) -> RejectedKey:
    key = (metric, reason)
    return _KEYS.setdefault(key, key)


class RejectionTracker:
    """Counts and logs the rejected samples of the results it screens. Event loop only."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[RejectedKey, int]] = {}  # device -> (metric, reason) -> rejected samples
        self._out: dict[str, dict[str, Rejection]] = {}  # device -> metric -> first rejection of the episode

    def screen(self, result: PollResult) -> PollResult:
        """The result without its implausible samples (the same object when all are plausible)."""
        if not result.samples:
            return result
        device = result.device
        kept, rejected = screen(result.samples)
        self._create_zero_series(device, result.samples)
        out = self._out.get(device)
        if not rejected and not out:
            return result
        failing = {r.sample.metric for r in rejected}
        for rejection in rejected:
            self._count(device, rejection)
        if out:
            for sample in kept:
                metric = sample.metric
                if metric in out and metric not in failing:
                    first = out.pop(metric)
                    log.info("device %s: %s is plausible again (%g; %s)", device, metric, sample.value,
                             first.bound.describe(), extra={"device": device, "metric": metric})
        return dataclasses.replace(result, samples=kept) if rejected else result

    def _create_zero_series(self, device: str, samples: tuple[Sample, ...]) -> None:
        counts = self._counts.get(device)
        if counts is None:
            counts = self._counts[device] = {}
        last = None
        for sample in samples:
            metric = sample.metric
            if metric is last:  # a metric's series come one after another (its interfaces, its radios)
                continue
            last = metric
            if (metric, OUT_OF_RANGE) not in counts:
                counts[_key(metric, OUT_OF_RANGE)] = 0

    def _count(self, device: str, rejection: Rejection) -> None:
        metric = rejection.sample.metric
        counts = self._counts[device]
        key = _key(metric, rejection.reason)
        counts[key] = counts.get(key, 0) + 1
        out = self._out.setdefault(device, {})
        if metric in out:
            return
        out[metric] = rejection
        log.warning("device %s: implausible %s = %r (%s), not exported, stored or alerted on until it is "
                    "plausible again", device, _series(rejection.sample), rejection.sample.value,
                    rejection.bound.describe(),
                    extra={"device": device, "metric": metric, "reason": rejection.reason.value})

    def counts(self) -> dict[tuple[str, str, str], int]:
        """Every series: (device, metric, reason) -> rejected samples."""
        return {(device, metric, reason): n for device, counts in self._counts.items()
                for (metric, reason), n in counts.items()}

    def of(self, device: str) -> Mapping[RejectedKey, int]:
        """One device's series, (metric, reason) -> rejected samples (live: read it on the event loop)."""
        return self._counts.get(device, _NONE)


_NONE: Mapping[RejectedKey, int] = MappingProxyType({})
OUT_OF_RANGE = RejectReason.OUT_OF_RANGE
