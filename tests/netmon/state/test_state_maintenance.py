"""Maintenance windows: scope and recurrence."""

from __future__ import annotations

import pytest
from state_helpers import device, site

from netmon.model import MaintenanceWindow
from netmon.state.maintenance import in_maintenance, occurrence_end

DAY = 86_400.0
ONCE = MaintenanceWindow("firmware", start=1000.0, end=2000.0, devices=frozenset({"r1"}))
NIGHTLY = MaintenanceWindow("pln", start=0.0, end=3600.0, every_s=DAY, sites=frozenset({"s1"}))
KECAMATAN = MaintenanceWindow("kec", start=1000.0, end=2000.0, kecamatan=frozenset({"Baturraden"}))
UNSCOPED = MaintenanceWindow("nobody", start=0.0, end=1e12)


@pytest.mark.parametrize(("window", "device_id", "site_id", "kecamatan", "at", "active"), [
    pytest.param(ONCE, "r1", "s9", "X", 1500.0, True, id="device-inside-once"),
    pytest.param(ONCE, "r1", "s9", "X", 999.0, False, id="before-start"),
    pytest.param(ONCE, "r1", "s9", "X", 2000.0, False, id="end-is-exclusive"),
    pytest.param(ONCE, "ap1", "s9", "X", 1500.0, False, id="other-device"),
    pytest.param(NIGHTLY, "ap1", "s1", "X", 3 * DAY + 600, True, id="recurring-site-third-night"),
    pytest.param(NIGHTLY, "ap1", "s1", "X", 3 * DAY + 4000, False, id="recurring-after-occurrence"),
    pytest.param(NIGHTLY, "ap1", "s2", "X", 3 * DAY + 600, False, id="recurring-other-site"),
    pytest.param(KECAMATAN, "ap1", "s2", "Baturraden", 1500.0, True, id="kecamatan-scope"),
    pytest.param(KECAMATAN, "ap1", "s2", "Kedungbanteng", 1500.0, False, id="other-kecamatan"),
    pytest.param(UNSCOPED, "r1", "s1", "Baturraden", 1500.0, False, id="empty-scope-matches-nothing"),
])
def test_in_maintenance(window: MaintenanceWindow, device_id: str, site_id: str, kecamatan: str, at: float,
                        active: bool) -> None:
    found = in_maintenance([window], device(device_id, site=site_id), site(site_id, kecamatan), at)
    assert (found is window) == active


def test_latest_ending_window_wins_and_occurrence_end() -> None:
    late = MaintenanceWindow("late", start=1200.0, end=5000.0, devices=frozenset({"r1"}))
    found = in_maintenance([ONCE, late], device("r1"), site("s1"), 1500.0)
    assert found is late
    assert occurrence_end(NIGHTLY, 2 * DAY + 10) == 2 * DAY + 3600
    assert occurrence_end(NIGHTLY, 2 * DAY + 3600) is None
