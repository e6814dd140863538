"""The latest poll result per device and source, plus counters: what the exporter and `netmon poll` show.

Only the event loop writes here; `snapshot()` hands out an immutable copy that may be rendered in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from netmon.errors import POLL_ERROR_REASONS
from netmon.model import Device, DeviceIdentity, PollResult, Sample, Site, Source

log = logging.getLogger(__name__)

Key = tuple[str, Source]


# When a device is polled by several sources, each metric is taken from the first source in this order that
# reported it (the API and the router's own push know hotspot sessions and DHCP servers by name; SNMP is the
# fallback), so no series is exported twice and a failing source is covered by the other.
SOURCE_PRECEDENCE = (Source.ROUTEROS, Source.PUSH, Source.SNMP, Source.PING)


@dataclass(frozen=True)
class Snapshot:
    sites: Mapping[str, Site]
    devices: Mapping[str, Device]
    results: Mapping[Key, PollResult]
    last_success: Mapping[Key, float]
    identities: Mapping[Key, DeviceIdentity]
    errors: Mapping[tuple[str, Source, str], int]
    extra: tuple[Sample, ...] = ()  # process-wide series (scheduler, unique clients per site, queues)
    rejected: Mapping[tuple[str, str, str], int] = field(default_factory=dict)  # (device, metric, reason) -> n

    def identity(self, device_id: str) -> DeviceIdentity | None:
        for source in SOURCE_PRECEDENCE:
            found = self.identities.get((device_id, source))
            if found is not None:
                return found
        return None

    def values(self, device_id: str) -> list[tuple[Source, Sample]]:
        """The device's value series from its last successful polls, each metric from one source only."""
        owner: dict[str, Source] = {}
        out: list[tuple[Source, Sample]] = []
        for source in SOURCE_PRECEDENCE:
            result = self.results.get((device_id, source))
            if result is None or not result.ok:
                continue
            for sample in result.samples:
                if owner.setdefault(sample.metric, source) is source:
                    out.append((source, sample))
        return out


def neighbour_source(results: Mapping[Key, PollResult], device_id: str) -> Source | None:
    """The one source whose neighbours feed the unknown-equipment rule for a device: as for metrics, the first
    in SOURCE_PRECEDENCE whose last poll succeeded and read neighbours (RouterOS `/ip/neighbor` when the API
    answers and has the menu, else SNMP's LLDP/MNDP tables), so a neighbour is not reported twice."""
    for source in SOURCE_PRECEDENCE:
        result = results.get((device_id, source))
        if result is not None and result.ok and result.neighbours is not None:
            return source
    return None


class Rejections(Protocol):
    """The counts of implausible samples (netmon.rejection.RejectionTracker): exported with each device."""

    def of(self, device: str) -> Mapping[tuple[str, str], int]: ...  # (metric, reason) -> rejected samples

    def counts(self) -> Mapping[tuple[str, str, str], int]: ...  # (device, metric, reason) -> rejected samples


class _NoRejections:
    def of(self, device: str) -> Mapping[tuple[str, str], int]:
        return {}

    def counts(self) -> Mapping[tuple[str, str, str], int]:
        return {}


class LatestResults:
    def __init__(self, sites: Mapping[str, Site], devices: Mapping[str, Device],
                 rejections: Rejections | None = None) -> None:
        self._sites = dict(sites)
        self._devices = dict(devices)
        self._rejections = rejections if rejections is not None else _NoRejections()
        self._results: dict[Key, PollResult] = {}
        self._last_success: dict[Key, float] = {}
        self._identities: dict[Key, DeviceIdentity] = {}
        self._errors: dict[tuple[str, Source, str], int] = {}
        self._reasons: set[str] = set(POLL_ERROR_REASONS)  # every reason counted so far
        # every device starts with zeroed error counters, one per source and reason, so rate() and
        # increase() see the first failure
        for device in self._devices.values():
            for source in device.sources:
                for reason in POLL_ERROR_REASONS:
                    self._errors.setdefault((device.id, source, reason), 0)

    def record(self, result: PollResult) -> bool:
        """Store a result. Returns True when the device/source availability changed (and logs it)."""
        key = (result.device, result.source)
        previous = self._results.get(key)
        self._results[key] = result
        if result.error is None:
            self._last_success[key] = result.started_at + result.duration_s
            if result.identity is not None:
                self._identities[key] = result.identity
        else:
            err_key = (result.device, result.source, result.error.reason)
            self._reasons.add(result.error.reason)
            self._errors[err_key] = self._errors.get(err_key, 0) + 1
        changed = previous is None or previous.ok != result.ok
        if changed:
            if result.ok:
                log.info("device %s: %s polling works", result.device, result.source.value,
                         extra={"device": result.device, "source": result.source.value})
            else:
                log.warning("device %s: %s poll failed: %s", result.device, result.source.value,
                            result.error, extra={"device": result.device, "source": result.source.value,
                                                 "reason": result.error.reason if result.error else ""})
        return changed

    def forget(self, device_ids: Iterable[str]) -> None:
        """The latest results of `device_ids` go (another cluster node polls them now); their error counters
        stay, so a device that comes back counts on from where it was."""
        for device_id in device_ids:
            for source in Source:
                key = (device_id, source)
                self._results.pop(key, None)
                self._last_success.pop(key, None)
                self._identities.pop(key, None)

    def neighbour_source(self, device_id: str) -> Source | None:
        return neighbour_source(self._results, device_id)

    def part(self, device_id: str) -> Snapshot:
        """One device's part of the latest results, read live (only on the loop, right after `record`): what
        its exported series are rendered from (netmon.exposition.DeviceTexts) without copying the whole."""
        keys = [(device_id, source) for source in Source]
        return Snapshot(
            sites=self._sites,
            devices=self._devices,
            results={key: found for key in keys if (found := self._results.get(key)) is not None},
            last_success={key: at for key in keys if (at := self._last_success.get(key)) is not None},
            identities={key: ident for key in keys if (ident := self._identities.get(key)) is not None},
            errors={err: n for key in keys for reason in self._reasons
                    if (n := self._errors.get(err := (*key, reason))) is not None},
            rejected={(device_id, metric, reason): n for (metric, reason), n in self._rejections.of(device_id).items()},
        )

    def snapshot(self, extra: Iterable[Sample] = ()) -> Snapshot:
        return Snapshot(
            sites=self._sites,
            devices=self._devices,
            results=dict(self._results),
            last_success=dict(self._last_success),
            identities=dict(self._identities),
            errors=dict(self._errors),
            extra=tuple(extra),
            rejected=dict(self._rejections.counts()),
        )
