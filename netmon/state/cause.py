"""Whose problem an outage is: the cause classes of `netmon.model.Cause`, judged from what failed together
(pure). The rules, as a table of situations and verdicts, are in docs/state.md.

A device `x` *explains* the failure of device `d` (judged at time `at`, for a failure that began at `ref`) when

* `x` is failing (every source failing, declared DOWN or not yet) and its failure began no later than
  `ref + together_s(d, x)`: it failed before `d` or together with it; or
* `x` came back from an outage less than `together_s(d, x)` ago: `d` is given as long to come back too
  (a site's devices return in any order, and an AP boots slower than its router).

`together_s` is the detection window of the pair: the time the state machine may take to declare a device
down after its first failed poll, `min(N * interval, T)` with the longer poll interval of the two, and at
least one interval (the poll phases of two devices differ by up to one interval).

With that, for a device that is DOWN (maintenance is `netmon.state.outage`'s business):

1. `parent`, upstream: an ancestor at *another* site explains it (the site's feed is down, not the site).
2. `site`: every other monitored device at its site explains it (nothing there answered when it failed):
   power or uplink. A site with a single monitored device cannot tell a dead asset from a dead power feed:
   `site`. Devices never polled yet do not count either way.
3. `parent`: an ancestor at the same site explains it while something else at the site answers.
4. `device`: nothing explains it: a failed asset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netmon.model import Cause, Device, DeviceState, StatePolicy, Status

ANSWERING = (Status.UP, Status.DEGRADED)


def ancestors(device: Device, devices: Mapping[str, Device]) -> list[Device]:
    """Parent, grandparent, ... of `device` (stops at unknown ids and at cycles)."""
    chain: list[Device] = []
    seen = {device.id}
    parent_id = device.parent
    while parent_id is not None and parent_id not in seen and parent_id in devices:
        parent = devices[parent_id]
        chain.append(parent)
        seen.add(parent_id)
        parent_id = parent.parent
    return chain


def together_s(a: Device, b: Device, policy: StatePolicy) -> float:
    """The detection window of two devices: failures (and returns) this close belong together."""
    interval = max(a.interval_s, b.interval_s)
    return max(interval, min(policy.down_after_failures * interval, policy.down_after_s))


@dataclass(frozen=True, slots=True)
class Picture:
    """The fleet as the cause rules see it at `at`.

    `returned` maps a device that came back from an outage to its first good poll (kept by the outage
    tracker while that device's outage is open and recovering, or recently closed)."""

    devices: Mapping[str, Device]
    states: Mapping[str, DeviceState]
    returned: Mapping[str, float]
    policy: StatePolicy
    at: float
    by_site: Mapping[str, Sequence[Device]] | None = None  # devices per site (`site_index`), else scanned

    def site_devices(self, site: str) -> Sequence[Device]:
        if self.by_site is not None:
            return self.by_site.get(site, ())
        return [d for d in self.devices.values() if d.site == site]

    def failing_since(self, device_id: str) -> float | None:
        """First failed poll of the device's current failure, None while any source answers."""
        state = self.states.get(device_id)
        if state is None or state.answering_since is not None:
            return None
        return state.failing_since if state.failing_since is not None else (
            state.since if state.status is Status.DOWN else None)

    def explains(self, device: Device, other: Device, ref: float) -> bool:
        """Whether `other`'s failure explains `device`'s failure that began at `ref` (module docstring)."""
        window = together_s(device, other, self.policy)
        failing = self.failing_since(other.id)
        if failing is not None:
            return failing <= ref + window
        back = self.returned.get(other.id)
        return back is not None and self.at < back + window

    def back_since(self, device_id: str) -> float | None:
        """When the device came back: from an outage (`returned`), else the start of its answering streak."""
        back = self.returned.get(device_id)
        if back is not None:
            return back
        state = self.states.get(device_id)
        return state.answering_since if state is not None else None

    def known(self, device_id: str) -> bool:
        """Polled at least once (a device never polled says nothing about its site)."""
        state = self.states.get(device_id)
        return state is not None and (state.status in (*ANSWERING, Status.DOWN) or state.failing_since is not None)


def structural_cause(device: Device, picture: Picture, ref: float) -> Cause:
    """The cause of `device` being DOWN since `ref`, ignoring maintenance (rules of the module docstring)."""
    chain = ancestors(device, picture.devices)
    explaining = [a for a in chain if picture.explains(device, a, ref)]
    if any(a.site != device.site for a in explaining):
        return Cause.PARENT
    mates = [d for d in picture.site_devices(device.site)
             if d.sources and d.id != device.id and picture.known(d.id)]
    if all(picture.explains(device, d, ref) for d in mates):
        return Cause.SITE
    if explaining:
        return Cause.PARENT
    return Cause.DEVICE


def explanation_ended(device: Device, cause: Cause, picture: Picture, ref: float) -> float | None:
    """When the explanation of a `site` / `parent` outage ended: the first device of the site back (`site`),
    or the last of the ancestors back (`parent`). None when nothing related came back."""
    if cause is Cause.SITE:
        mates = [d for d in picture.site_devices(device.site) if d.id != device.id]
        return min(_backs(device, mates, picture, ref), default=None)
    return max(_backs(device, ancestors(device, picture.devices), picture, ref), default=None)


def _backs(device: Device, related: list[Device], picture: Picture, ref: float) -> list[float]:
    backs = [(d, picture.back_since(d.id)) for d in related if not picture.explains(device, d, ref)]
    return [b for _, b in backs if b is not None]


def related(device: Device, devices: Mapping[str, Device], site_devices: Sequence[Device]) -> list[Device]:
    """The devices whose failure may explain `device`'s: its ancestors and the other devices of its site."""
    chain = ancestors(device, devices)
    mates = [d for d in site_devices if d.sources and d.id != device.id]
    return list({d.id: d for d in (*chain, *mates)}.values())
