"""Whose problem an outage is: the cause classes of `netmon.model.Cause` (pure).

Checked in this order for a device that is DOWN:

1. `maintenance`: a window covering the device, its site or its kecamatan was active when the outage started
   (and that occurrence has not ended more than `grace_s` ago; see `netmon.state.outage`).
2. `parent`, upstream: an ancestor at *another* site is DOWN (the site's feed is down, not the site).
3. `site`: no monitored device at the device's site answers (none is UP or DEGRADED): power or uplink. Every
   DOWN device there gets it, the root and its children alike. A site with a single monitored device cannot
   tell a dead asset from a dead power feed; its outages are `site`.
4. `parent`: an ancestor (any level) is DOWN while something else at the site answers.
5. `device`: the device is down while its parent and site answer: a failed asset.
"""

from __future__ import annotations

from collections.abc import Mapping

from netmon.model import Cause, Device, Status

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


def structural_cause(device: Device, devices: Mapping[str, Device], statuses: Mapping[str, Status]) -> Cause:
    """The cause of `device` being DOWN, ignoring maintenance (rules 2-5 of the module docstring)."""
    down_ancestors = [a for a in ancestors(device, devices) if statuses.get(a.id) is Status.DOWN]
    if any(a.site != device.site for a in down_ancestors):
        return Cause.PARENT
    at_site = [d for d in devices.values() if d.site == device.site and d.sources]
    if not any(statuses.get(d.id) in ANSWERING for d in at_site):
        return Cause.SITE
    if down_ancestors:
        return Cause.PARENT
    return Cause.DEVICE
