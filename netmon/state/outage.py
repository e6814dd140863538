"""Outages: episodes of a device being DOWN, with a cause that is recomputed on every update (pure).

* An outage opens when a device is DOWN; `started_at` is the first failed poll of the episode
  (`DeviceState.failing_since`, else `since`). It closes when the device is UP, DEGRADED or DISABLED again
  (`ended_at` = the state's `since`). DEGRADED episodes are not outages: the device answers, only an agent or
  credentials fail; they are recorded as state only. UNKNOWN leaves an open outage open.
* The cause (`netmon.state.cause`) is recomputed on every `update`; a change emits "reclassified" with the
  previous cause. E.g. the AP is down alone (`device`), then its router goes down (`site`), then the router
  comes back while the AP stays down (`device` again).
* Maintenance is judged at the outage's start: a window active then makes it `maintenance`. A window that
  starts mid-outage changes nothing: the device failed before the declared works, so it stays a failure.
  When the occurrence that covered the start has been over for `maintenance_grace_s` and the device is still
  down, the outage is reclassified to its structural cause: the works are over and the asset is not back.
* `restore` takes the open outages kept by storage after a restart: they stay open with the same ids, and
  the next `update` continues them instead of opening duplicates. Outages of devices no longer configured are
  kept open untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal
from uuid import uuid4

from netmon.model import Cause, Device, DeviceState, MaintenanceWindow, Outage, Site, Status
from netmon.state.cause import structural_cause
from netmon.state.maintenance import in_maintenance, occurrence_end

CLOSING = (Status.UP, Status.DEGRADED, Status.DISABLED)


@dataclass(frozen=True, slots=True)
class OutageEvent:
    kind: Literal["opened", "reclassified", "closed"]
    outage: Outage
    previous_cause: Cause | None = None


def _new_id() -> str:
    return uuid4().hex


class OutageTracker:
    def __init__(self, devices: Mapping[str, Device], sites: Mapping[str, Site],
                 windows: Sequence[MaintenanceWindow], *, new_id: Callable[[], str] = _new_id,
                 maintenance_grace_s: float = 600.0) -> None:
        self._devices = devices
        self._sites = sites
        self._windows = tuple(windows)
        self._new_id = new_id
        self._grace_s = maintenance_grace_s
        self._open: dict[str, Outage] = {}

    def update(self, states: Mapping[str, DeviceState], at: float) -> list[OutageEvent]:
        """Open, reclassify and close outages from the current states; events in device order."""
        statuses = {device_id: state.status for device_id, state in states.items()}
        events: list[OutageEvent] = []
        for device_id, device in self._devices.items():
            state = states.get(device_id)
            current = self._open.get(device_id)
            if state is not None and state.status is Status.DOWN:
                started = current.started_at if current is not None else (
                    state.failing_since if state.failing_since is not None else state.since)
                cause = self._cause(device, started, statuses, at)
                if current is None:
                    outage = Outage(self._new_id(), device_id, device.site, started, cause)
                    self._open[device_id] = outage
                    events.append(OutageEvent("opened", outage))
                elif current.cause is not cause:
                    outage = replace(current, cause=cause)
                    self._open[device_id] = outage
                    events.append(OutageEvent("reclassified", outage, previous_cause=current.cause))
            elif current is not None and state is not None and state.status in CLOSING:
                ended = state.since if current.started_at <= state.since <= at else at
                del self._open[device_id]
                events.append(OutageEvent("closed", replace(current, ended_at=ended)))
        return events

    def restore(self, open_outages: Iterable[Outage]) -> None:
        """Adopt outages left open before a restart (same ids); closed ones and duplicates are ignored."""
        for outage in open_outages:
            if not outage.open:
                continue
            kept = self._open.get(outage.device)
            if kept is None or outage.started_at < kept.started_at:
                self._open[outage.device] = outage

    def open_outages(self) -> list[Outage]:
        return sorted(self._open.values(), key=lambda o: (o.started_at, o.device))

    def _cause(self, device: Device, started: float, statuses: Mapping[str, Status], at: float) -> Cause:
        site = self._sites.get(device.site) or Site(device.site, device.site, "", "", "")
        window = in_maintenance(self._windows, device, site, started)
        if window is not None:
            end = occurrence_end(window, started)
            if end is not None and at < end + self._grace_s:
                return Cause.MAINTENANCE
        return structural_cause(device, self._devices, statuses)
