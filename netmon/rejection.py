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
"""

from __future__ import annotations

import dataclasses
import logging

from netmon.model import PollResult, Sample, SampleKind
from netmon.plausibility import Rejection, RejectReason, screen

log = logging.getLogger(__name__)

REJECTED_METRIC = "netmon_samples_rejected_total"


def _series(sample: Sample) -> str:
    labels = ",".join(f'{k}="{v}"' for k, v in sample.labels)
    return f"{sample.metric}{{{labels}}}" if labels else sample.metric


class RejectionTracker:
    """Counts and logs the rejected samples of the results it screens. Event loop only."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, RejectReason], int] = {}
        self._metrics: dict[str, set[str]] = {}  # device -> metrics it reported (their zero series exist)
        self._out: dict[str, dict[str, Rejection]] = {}  # device -> metric -> first rejection of the episode
        # the exported samples, made again only for a count that changed and sorted only when a series is
        # added: at 30,000 devices there are ~450,000 series (mostly at 0), and the exposition keeps the
        # text of a Sample it is handed again (netmon.exposition)
        self._samples: dict[tuple[str, str, RejectReason], Sample] = {}
        self._order: list[tuple[str, str, RejectReason]] | None = []

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
        known = self._metrics.setdefault(device, set())
        if len(known) >= len(samples) and all(s.metric in known for s in samples):
            return  # the common case: nothing new
        for sample in samples:
            if sample.metric not in known:
                known.add(sample.metric)
                key = (device, sample.metric, RejectReason.OUT_OF_RANGE)
                if key not in self._counts:
                    self._set(key, 0)

    def _count(self, device: str, rejection: Rejection) -> None:
        metric = rejection.sample.metric
        key = (device, metric, rejection.reason)
        self._set(key, self._counts.get(key, 0) + 1)
        out = self._out.setdefault(device, {})
        if metric in out:
            return
        out[metric] = rejection
        log.warning("device %s: implausible %s = %r (%s), not exported, stored or alerted on until it is "
                    "plausible again", device, _series(rejection.sample), rejection.sample.value,
                    rejection.bound.describe(),
                    extra={"device": device, "metric": metric, "reason": rejection.reason.value})

    def counts(self) -> dict[tuple[str, str, RejectReason], int]:
        return dict(self._counts)

    def samples(self) -> list[Sample]:
        """`netmon_samples_rejected_total`, one series per device, metric and reason, sorted."""
        if self._order is None:
            self._order = sorted(self._samples)
        samples = self._samples
        return [samples[key] for key in self._order]

    def _set(self, key: tuple[str, str, RejectReason], count: int) -> None:
        if key not in self._counts:
            self._order = None
        self._counts[key] = count
        device, metric, reason = key
        self._samples[key] = Sample(REJECTED_METRIC, count,
                                    (("device", device), ("metric", metric), ("reason", reason.value)),
                                    SampleKind.COUNTER)
