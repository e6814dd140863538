"""Maintenance windows: which declared window, if any, covers a device at a given time.

A window matches a device when the device id is in `window.devices`, its site id in `window.sites`, or its
site's kecamatan in `window.kecamatan` (exact strings; empty scopes match nothing), and, for a window with a
`zone` (written in local time, see netmon.config), the site is in that zone. An occurrence covers the
half-open interval ``[start, end)``; with `every_s` set, occurrence ``k >= 0`` covers
``[start + k*every_s, end + k*every_s)``. A window whose end is not after its start matches nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from netmon.model import Device, MaintenanceWindow, Site


def window_matches(window: MaintenanceWindow, device: Device, site: Site) -> bool:
    """Whether `window`'s scope includes `device` (by device id, site id or kecamatan, in the window's zone)."""
    if window.zone is not None and site.timezone is not window.zone:
        return False
    return (
        device.id in window.devices
        or site.id in window.sites
        or device.site in window.sites
        or site.kecamatan in window.kecamatan
    )


def occurrence_end(window: MaintenanceWindow, at: float) -> float | None:
    """End of the occurrence of `window` that covers `at`, or None when `at` is outside every occurrence."""
    duration = window.end - window.start
    if duration <= 0 or at < window.start:
        return None
    begin = window.start
    if window.every_s is not None and window.every_s > 0:
        # the latest occurrence starting at or before `at`; an earlier one would also end earlier
        begin += math.floor((at - window.start) / window.every_s) * window.every_s
    end = begin + duration
    return end if at < end else None


def in_maintenance(windows: Iterable[MaintenanceWindow], device: Device, site: Site,
                   at: float) -> MaintenanceWindow | None:
    """The window covering `device` at `at`, or None.

    When several windows cover it, the one whose current occurrence ends last is returned, so the caller can
    tell how long the device stays in maintenance (`occurrence_end(window, at)`).
    """
    best: MaintenanceWindow | None = None
    best_end = -math.inf
    for window in windows:
        if not window_matches(window, device, site):
            continue
        end = occurrence_end(window, at)
        if end is not None and end > best_end:
            best, best_end = window, end
    return best
