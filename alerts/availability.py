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
from netmon.model import Cause, Device, DeviceState, Outage, Site, Status, site_index

Key = tuple[str, str]
ANSWERING = (Status.UP, Status.DEGRADED, Status.DISABLED)


def area_subject(kecamatan: str) -> str:
    return f"kecamatan:{kecamatan}"


def clustered(starts: Sequence[float], min_sites: int, window_s: float) -> bool:
    """Whether some span of `window_s` holds at least `min_sites` of `starts`."""
    ordered = sorted(starts)
    return any(ordered[i + min_sites - 1] - ordered[i] <= window_s for i in range(len(ordered) - min_sites + 1))


class StandingVerdicts:
    """The device and site verdicts of the latest states, kept between observations: each `update` judges again
    only the devices whose state or outage changed (and the sites they belong to), so a hand-over of the
    states costs what changed, not the fleet (docs/performance.md). `verdicts` holds every device's and site's
    verdict; `site_starts` the start of each down site's episode."""

    def __init__(self, devices: Mapping[str, Device], sites: Mapping[str, Site]) -> None:
        self._devices = devices
        self._sites = sites
        self._by_site = {site: [d.id for d in members] for site, members in site_index(devices).items()}
        self._states: Mapping[str, DeviceState] = {}
        self._open: dict[str, Outage] = {}  # device -> its open outage, as handed in last time
        self._closed: dict[str, Outage] = {}  # device -> its outage closed since the hand-over before
        self._delays: Mapping[str, float] = {}
        self.verdicts: dict[Key, Verdict] = {}
        self.site_starts: dict[str, float] = {}
        self._judged = False

    def update(self, states: Mapping[str, DeviceState], outages: Sequence[Outage], firing: Callable[[Key], bool],
               delays: Mapping[str, float] | None = None) -> tuple[set[Key], list[str]]:
        """Judge the devices whose state (a new object), outage or delay changed, and devices with an outage
        (their verdict follows the alerts' `firing`); return the keys whose verdict changed and the devices
        judged."""
        delays = delays or {}
        open_now = {o.device: o for o in outages if o.open}
        closed = {o.device: o for o in outages if not o.open}
        if self._judged:
            old = self._states
            dirty = {d for d, state in states.items() if old.get(d) is not state}
            dirty.update(open_now, closed, self._open, self._closed, delays, self._delays)
            sites = {self._devices[d].site for d in dirty if d in self._devices}
        else:
            dirty, sites = set(self._devices), set(self._sites)
        self._states, self._open, self._closed, self._delays, self._judged = states, open_now, closed, delays, True
        judged = [d for d in dirty if d in self._devices]
        changed = {(DEVICE_DOWN, d) for d in judged if self._set((DEVICE_DOWN, d), self._device_verdict(d, firing))}
        changed.update((SITE_DOWN, s) for s in sites
                       if s in self._sites and self._set((SITE_DOWN, s), self._site_verdict(s)))
        return changed, judged

    def _set(self, key: Key, verdict: Verdict) -> bool:
        changed = self.verdicts.get(key) != verdict
        self.verdicts[key] = verdict
        return changed

    def _device_verdict(self, device_id: str, firing: Callable[[Key], bool]) -> Verdict:
        key, scope = (DEVICE_DOWN, device_id), (("device", device_id),)
        outage = self._open.get(device_id)
        ended = _ended(device_id, self._states, self._closed)
        if outage is None:
            return Verdict(False, ended_at=ended, labels=scope)
        if outage.cause is Cause.DEVICE:
            return Verdict(True, started_at=outage.started_at, labels=scope,
                           summary=late_summary(self._delays.get(device_id)))
        if outage.cause in (Cause.SITE, Cause.PARENT) and firing(key):
            return Verdict(None, labels=scope)  # failed first, still dead: keep it open
        return Verdict(False, ended_at=ended, labels=scope)

    def _site_verdict(self, site_id: str) -> Verdict:
        members = [d for d in self._by_site.get(site_id, ()) if _down_with_site(self._open.get(d))]
        if not members:
            self.site_starts.pop(site_id, None)
            ends = (_ended(d, self._states, self._closed) for d in self._by_site.get(site_id, ()))
            ended = max((e for e in ends if e is not None), default=None)  # the site's latest recovery
            return Verdict(False, ended_at=ended, labels=(("site", site_id),))
        start = self.site_starts[site_id] = min(self._open[d].started_at for d in members)
        late = max((self._delays[d] for d in members if d in self._delays), default=None)
        return Verdict(True, float(len(members)), started_at=start,
                       labels=(("site", site_id), ("members", ",".join(members))), summary=late_summary(late))


def _down_with_site(outage: Outage | None) -> bool:
    return outage is not None and outage.cause is Cause.SITE


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
