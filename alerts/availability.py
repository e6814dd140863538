"""Availability verdicts on top of `netmon.state` outages: device down, site down, area outage (pure).

Alerts do not re-derive availability: the outage cause decides.

* `device_down`: an open outage span with cause `device`, dated by the span's start. `netmon.state` settles
  causes, so no recovery order makes a transient `device` span: a device failure stays one until the device
  answers, and a site/parent outage becomes the device's own only on evidence, as a new span. The one
  change the other way, `device` -> `site`/`parent` within the failure's detection window, is outlasted by
  the default hold (120 s after DOWN); with a shorter hold an alert that already fired is held (no verdict)
  until the device answers, rather than "recovered" while it is still dead. Causes `parent` and
  `maintenance` raise nothing (dependency suppression, declared works).
* `site_down`: a site with open `site` outages; the episode starts at the earliest of them.
* Late news: `delays` names devices whose data reached the office late (a site agent's backlog): their
  device/site verdicts say so in the summary ("late N s"), which the message puts into words.
* `area_outage`: `min_sites` sites of one kecamatan whose site outages started within `window_s` of each
  other. Every down site of the kecamatan becomes a member, later ones join while the area is open, and
  members' site alerts are absorbed (see docs/alerts.md). The area clears when no member is down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from alerts.rules import AREA_OUTAGE, DEVICE_DOWN, SITE_DOWN, Verdict
from netmon.model import Cause, Device, DeviceState, Outage, Site, Status

Key = tuple[str, str]
ANSWERING = (Status.UP, Status.DEGRADED, Status.DISABLED)


def area_subject(kecamatan: str) -> str:
    return f"kecamatan:{kecamatan}"


def clustered(starts: Sequence[float], min_sites: int, window_s: float) -> bool:
    """Whether some span of `window_s` holds at least `min_sites` of `starts`."""
    ordered = sorted(starts)
    return any(ordered[i + min_sites - 1] - ordered[i] <= window_s for i in range(len(ordered) - min_sites + 1))


def availability_verdicts(devices: Mapping[str, Device], sites: Mapping[str, Site],
                          states: Mapping[str, DeviceState], outages: Sequence[Outage],
                          firing: Callable[[Key], bool], delays: Mapping[str, float] | None = None,
                          ) -> tuple[dict[Key, Verdict], dict[str, float]]:
    """Device and site verdicts, and the start of each down site's episode."""
    delays = delays or {}
    open_outages = {o.device: o for o in outages if o.open}
    closed = {o.device: o for o in outages if not o.open}
    verdicts: dict[Key, Verdict] = {}
    site_starts: dict[str, float] = {}
    site_members: dict[str, list[str]] = {}
    site_ended: dict[str, float] = {}  # the latest recovery among each site's devices
    for device_id, device in devices.items():
        key, scope = (DEVICE_DOWN, device_id), (("device", device_id),)
        outage = open_outages.get(device_id)
        ended = _ended(device_id, states, closed)
        if ended is not None:
            site_ended[device.site] = max(ended, site_ended.get(device.site, ended))
        if outage is not None and outage.cause is Cause.SITE:
            site_starts[device.site] = min(outage.started_at, site_starts.get(device.site, outage.started_at))
            site_members.setdefault(device.site, []).append(device_id)
        if outage is not None and outage.cause is Cause.DEVICE:
            verdicts[key] = Verdict(True, started_at=outage.started_at, labels=scope,
                                    summary=late_summary(delays.get(device_id)))
        elif outage is not None and outage.cause in (Cause.SITE, Cause.PARENT) and firing(key):
            verdicts[key] = Verdict(None, labels=scope)  # failed first, still dead: keep it open
        else:
            verdicts[key] = Verdict(False, ended_at=ended, labels=scope)
    for site_id in sites:
        key = (SITE_DOWN, site_id)
        if site_id in site_starts:
            members = ",".join(site_members[site_id])
            late = max((delays[d] for d in site_members[site_id] if d in delays), default=None)
            verdicts[key] = Verdict(True, float(len(site_members[site_id])), started_at=site_starts[site_id],
                                    labels=(("site", site_id), ("members", members)), summary=late_summary(late))
        else:
            verdicts[key] = Verdict(False, ended_at=site_ended.get(site_id), labels=(("site", site_id),))
    return verdicts, site_starts


def late_summary(delay_s: float | None) -> str:
    """"late 10800 s": the news reached the office that much later than it happened (alerts.message words it)."""
    return "" if delay_s is None else f"late {int(delay_s)} s"


def _ended(device_id: str, states: Mapping[str, DeviceState], closed: Mapping[str, Outage]) -> float | None:
    outage = closed.get(device_id)
    if outage is not None:
        return outage.ended_at
    state = states.get(device_id)
    if state is None or state.status not in ANSWERING:
        return None
    back = state.answering_since  # the first good poll, where the outage ended
    return back if back is not None and back <= state.since else state.since


class AreaTracker:
    """Which kecamatan has an area outage, and which sites it holds."""

    def __init__(self, min_sites: int, window_s: float) -> None:
        self._min = max(2, min_sites)
        self._window_s = window_s
        self.members: dict[str, set[str]] = {}  # kecamatan -> member sites, while the area is open

    def verdicts(self, sites: Mapping[str, Site], site_starts: Mapping[str, float],
                 site_ends: Mapping[str, float] | None = None) -> dict[Key, Verdict]:
        """`site_ends`: when each site that is no longer down came back (dates the area's recovery)."""
        ends = site_ends or {}
        down: dict[str, list[str]] = {}
        for site_id in site_starts:
            if site_id in sites:
                down.setdefault(sites[site_id].kecamatan, []).append(site_id)
        verdicts: dict[Key, Verdict] = {}
        for kecamatan in sorted(set(down) | set(self.members)):
            now_down = down.get(kecamatan, [])
            members = self.members.get(kecamatan)
            if members is None:
                if not clustered([site_starts[s] for s in now_down], self._min, self._window_s):
                    continue
                members = self.members[kecamatan] = set()
            members.update(now_down)
            active = any(s in site_starts for s in members)
            labels = (("kecamatan", kecamatan), ("members", ",".join(sorted(members))))
            start = min((site_starts[s] for s in members if s in site_starts), default=None)
            ended = None if active else max((ends[s] for s in members if s in ends), default=None)
            verdicts[(AREA_OUTAGE, area_subject(kecamatan))] = Verdict(
                active, float(len(members)), started_at=start, ended_at=ended, labels=labels)
        return verdicts

    def absorbed(self) -> set[str]:
        return set().union(*self.members.values()) if self.members else set()

    def close(self, subject: str) -> None:
        self.members.pop(subject.removeprefix("kecamatan:"), None)

    def restore(self, subject: str, members: Sequence[str]) -> None:
        self.members[subject.removeprefix("kecamatan:")] = set(members)
