"""The latest poll result per device and source, plus counters: what the exporter and `netmon poll` show.

Only the event loop writes here; `snapshot()` hands out an immutable copy that may be rendered in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from netmon.model import Device, DeviceIdentity, PollResult, Site, Source

log = logging.getLogger(__name__)

Key = tuple[str, Source]


@dataclass(frozen=True)
class Snapshot:
    sites: Mapping[str, Site]
    devices: Mapping[str, Device]
    results: Mapping[Key, PollResult]
    last_success: Mapping[Key, float]
    identities: Mapping[str, DeviceIdentity]
    errors: Mapping[tuple[str, Source, str], int]
    extra: Mapping[str, float] = field(default_factory=dict)  # process-wide gauges (scheduler, queues)


class LatestResults:
    def __init__(self, sites: Mapping[str, Site], devices: Mapping[str, Device]) -> None:
        self._sites = dict(sites)
        self._devices = dict(devices)
        self._results: dict[Key, PollResult] = {}
        self._last_success: dict[Key, float] = {}
        self._identities: dict[str, DeviceIdentity] = {}
        self._errors: dict[tuple[str, Source, str], int] = {}
        # every device starts with zeroed error counters so rate() works from the first failure
        for device in self._devices.values():
            for source in device.sources:
                self._errors.setdefault((device.id, source, "timeout"), 0)

    def record(self, result: PollResult) -> bool:
        """Store a result. Returns True when the device/source availability changed (and logs it)."""
        key = (result.device, result.source)
        previous = self._results.get(key)
        self._results[key] = result
        if result.error is None:
            self._last_success[key] = result.started_at + result.duration_s
            if result.identity is not None:
                self._identities[result.device] = result.identity
        else:
            err_key = (result.device, result.source, result.error.reason)
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

    def snapshot(self, extra: Mapping[str, float] | None = None) -> Snapshot:
        return Snapshot(
            sites=self._sites,
            devices=self._devices,
            results=dict(self._results),
            last_success=dict(self._last_success),
            identities=dict(self._identities),
            errors=dict(self._errors),
            extra=dict(extra or {}),
        )
