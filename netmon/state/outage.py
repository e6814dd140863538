"""Outages: spans of a device being DOWN with a settled cause (pure). docs/state.md has the rules as a table.

* An outage opens when a device is DOWN: `started_at` is the first failed poll of the episode
  (`DeviceState.failing_since`), `detected_at` when DOWN was declared. It closes when the device is UP,
  DEGRADED or DISABLED again; `ended_at` is the first good poll of the recovery
  (`DeviceState.answering_since`; DISABLED: the state's `since`). DEGRADED episodes are not outages. UNKNOWN
  leaves an open outage open.
* The cause (`netmon.state.cause`) is settled from what failed together: while the detection window of
  the failure is open (`together_s` after its first failed poll) a related failure seen late may still turn
  `device` into `site` / `parent` ("reclassified", same span); never the other way.
* After that the cause changes only on evidence: a `site` / `parent` outage whose explanation came back
  (a device of the site, or the ancestors, answering for `together_s`) while this device still does not
  answer becomes the device's own (or the next explanation): the span is closed when the explanation ended
  and a new span of the same episode (`episode` = the first span's id) opens then, with its own cause
  ("closed" then "opened"). A `device` outage stays `device` until the device answers: a power cut at its
  site afterwards is no evidence that it was mended. So the order in which devices come back never
  changes a cause, and availability counted from `device` spans only is the asset's own.
* Maintenance is judged at the episode's start: a window active then makes it `maintenance`. A window that
  starts mid-outage changes nothing. When the occurrence that covered the start has been over for
  `maintenance_grace_s` and the device is still down, a new span opens at the occurrence's end with the
  structural cause: the works are over and the asset is not back.
* `restore` takes the open outages kept by storage after a restart: they stay open with the same ids, and
  the next `update` continues them. Outages of devices no longer configured are kept open untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal
from uuid import uuid4

from netmon.model import (
    Cause,
    Device,
    DeviceState,
    MaintenanceWindow,
    Outage,
    Site,
    StatePolicy,
    Status,
    site_index,
)
from netmon.state.cause import Picture, explanation_ended, related, structural_cause, together_s
from netmon.state.maintenance import in_maintenance, occurrence_end

CLOSING = (Status.UP, Status.DEGRADED, Status.DISABLED)
EXPLAINED = (Cause.SITE, Cause.PARENT)


@dataclass(frozen=True, slots=True)
class OutageEvent:
    kind: Literal["opened", "reclassified", "closed"]
    outage: Outage
    previous_cause: Cause | None = None


def _new_id() -> str:
    return uuid4().hex


def _within(value: float | None, low: float, high: float) -> float | None:
    return value if value is not None and low <= value <= high else None


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


class OutageTracker:
    def __init__(self, devices: Mapping[str, Device], sites: Mapping[str, Site],
                 windows: Sequence[MaintenanceWindow], *, new_id: Callable[[], str] = _new_id,
                 maintenance_grace_s: float = 600.0, policy: StatePolicy | None = None) -> None:
        self._devices = devices
        self._order = {device_id: n for n, device_id in enumerate(devices)}
        self._sites = sites
        self._windows = tuple(windows)
        self._new_id = new_id
        self._grace_s = maintenance_grace_s
        self._policy = policy or StatePolicy()
        self._by_site = site_index(devices)
        self._open: dict[str, Outage] = {}
        self._ref: dict[str, float] = {}  # device -> first failed poll of its open episode
        self._returned: dict[str, float] = {}  # device -> first good poll after its latest outage

    def update(self, states: Mapping[str, DeviceState], at: float,
               only: Collection[str] | None = None) -> list[OutageEvent]:
        """Open, settle, split and close outages from the current states; events in device order. With `only`,
        just those devices' outages (the devices on one clock, `at`; the picture still holds every device)."""
        for device_id, outage in self._open.items():
            if only is not None and device_id not in only:
                continue
            state = states.get(device_id)
            back = _within(state.answering_since if state else None, outage.started_at, at)
            if back is not None:
                self._returned[device_id] = back
        picture = Picture(self._devices, states, self._returned, self._policy, at, self._by_site)
        events: list[OutageEvent] = []
        ids = self._devices if only is None else sorted((d for d in only if d in self._order),
                                                         key=self._order.__getitem__)
        for device_id in ids:
            device = self._devices[device_id]
            state = states.get(device_id)
            current = self._open.get(device_id)
            if state is None:
                continue
            if state.status is Status.DOWN:
                events += self._open_or_settle(device, state, current, picture)
            elif current is not None and state.status in CLOSING:
                events.append(self._close(current, state, at))
        return events

    def restore(self, open_outages: Iterable[Outage], states: Iterable[DeviceState] = ()) -> None:
        """Adopt outages left open before a restart (same ids); closed ones and duplicates are ignored.

        `states` (the stored ones) tell when answering devices came back, so a device that returned just
        before the restart still gives its site's other devices `together_s` to follow."""
        for state in states:
            if state.status is not Status.DOWN and state.answering_since is not None:
                self._returned[state.device] = state.answering_since
        for outage in open_outages:
            if not outage.open:
                continue
            kept = self._open.get(outage.device)
            if kept is None or outage.started_at < kept.started_at:
                self._open[outage.device] = outage
                self._ref[outage.device] = outage.started_at

    def open_outages(self) -> list[Outage]:
        return sorted(self._open.values(), key=lambda o: (o.started_at, o.device))

    # --- rules ---

    def _open_or_settle(self, device: Device, state: DeviceState, current: Outage | None,
                        picture: Picture) -> list[OutageEvent]:
        at = picture.at
        if current is None:
            started = state.failing_since if state.failing_since is not None else state.since
            outage_id = self._new_id()
            outage = Outage(outage_id, device.id, device.site, started, self._first_cause(device, started, picture),
                            detected_at=_or(_within(state.since, started, at), at), episode=outage_id)
            self._open[device.id], self._ref[device.id] = outage, started
            return [OutageEvent("opened", outage)]
        ref = self._ref.get(device.id, current.started_at)
        if current.cause is Cause.MAINTENANCE:
            end = self._maintenance_end(device, current.started_at)
            if end is None or at < end + self._grace_s:
                return []
            return self._split(current, structural_cause(device, picture, ref), max(end, current.started_at), at)
        if self._settling(device, current, ref, at):
            cause = structural_cause(device, picture, ref)
            if current.cause is Cause.DEVICE and cause is not Cause.DEVICE:
                self._open[device.id] = settled = replace(current, cause=cause)
                return [OutageEvent("reclassified", settled, previous_cause=current.cause)]
            return []
        if current.cause not in EXPLAINED or state.answering_since is not None:
            return []  # a device failure stays one; a device answering again is coming back
        cause = structural_cause(device, picture, ref)
        if cause is current.cause:
            return []
        ended = explanation_ended(device, current.cause, picture, ref)
        return self._split(current, cause, min(max(_or(ended, at), current.started_at), at), at)

    def _split(self, current: Outage, cause: Cause, when: float, at: float) -> list[OutageEvent]:
        """Close `current` at `when` and continue the episode with a new span of `cause` from then."""
        closed = replace(current, ended_at=when)
        new_id = self._new_id()
        span = Outage(new_id, current.device, current.site, when, cause, detected_at=at,
                      episode=current.episode or current.id)
        self._open[current.device] = span
        return [OutageEvent("closed", closed), OutageEvent("opened", span, previous_cause=current.cause)]

    def _close(self, current: Outage, state: DeviceState, at: float) -> OutageEvent:
        back = _within(state.answering_since, current.started_at, at)
        ended = back if back is not None and state.status is not Status.DISABLED else _or(
            _within(state.since, current.started_at, at), at)
        del self._open[current.device]
        self._ref.pop(current.device, None)
        if state.status is not Status.DISABLED:
            self._returned[current.device] = ended
        return OutageEvent("closed", replace(current, ended_at=ended))

    def _settling(self, device: Device, current: Outage, ref: float, at: float) -> bool:
        """Whether the first span is still within the detection window of its failure."""
        if current.episode not in (None, current.id):
            return False
        windows = [together_s(device, other, self._policy)
                   for other in related(device, self._devices, self._by_site.get(device.site, ()))]
        return at <= ref + max(windows, default=together_s(device, device, self._policy))

    def _first_cause(self, device: Device, started: float, picture: Picture) -> Cause:
        if self._maintenance_end(device, started) is not None:
            return Cause.MAINTENANCE
        return structural_cause(device, picture, started)

    def _maintenance_end(self, device: Device, started: float) -> float | None:
        """End of the maintenance occurrence covering `started` for `device`, or None."""
        site = self._sites.get(device.site) or Site(device.site, device.site, "", "", "")
        window = in_maintenance(self._windows, device, site, started)
        return None if window is None else occurrence_end(window, started)
