"""Reboot detection from uptime readings: the pure rule and the tracker's use of it."""

from __future__ import annotations

import pytest
from state_helpers import device, polls

from netmon.model import DeviceState, Reboot, Sample, StatePolicy, Status
from netmon.state.availability import AvailabilityTracker
from netmon.state.reboot import UptimeReading, booted_between, uptime_from


@pytest.mark.parametrize(("previous", "current", "same_source", "booted"), [
    pytest.param((1000, 0), (1060, 60), True, None, id="steady-uptime"),
    pytest.param((5000, 0), (30, 60), True, 30.0, id="uptime-went-backwards"),
    pytest.param((500, 0), (300, 600), True, 300.0, id="rebooted-between-polls-although-number-grew"),
    pytest.param((1000, 0), (998, 60), True, None, id="backwards-jitter-within-slack"),
    pytest.param((1000, 0), (57, 60), True, 3.0, id="backwards-is-a-reboot-even-soon-after"),
    pytest.param((50, 0), (58, 60), True, None, id="booted-before-previous-reading-within-slack"),
    pytest.param((5000, 0), (4980, 60), False, None, id="other-source-backwards-ignored"),
    pytest.param((5000, 0), (30, 60), False, 30.0, id="other-source-booted-after-previous-reading"),
    pytest.param((1000, 60), (10, 60), True, None, id="same-time-no-verdict"),
])
def test_booted_between(previous: tuple[float, float], current: tuple[float, float], same_source: bool,
                        booted: float | None) -> None:
    result = booted_between(UptimeReading(*previous), UptimeReading(*current), slack_s=5.0, same_source=same_source)
    assert result == booted


def test_uptime_from_samples() -> None:
    assert uptime_from([Sample("netmon_wifi_clients", 3), Sample("netmon_device_uptime_seconds", 42)]) == 42.0
    assert uptime_from([Sample("netmon_wifi_clients", 3)]) is None


def reboots(sources: str, script: str) -> list[Reboot]:
    tracker = AvailabilityTracker({"r1": device("r1", sources=sources)}, StatePolicy())
    return [e for r in polls("r1", script) for e in tracker.observe(r) if isinstance(e, Reboot)]


@pytest.mark.parametrize(("sources", "script", "expected"), [
    pytest.param("s", "0:s+@1000 60:s+@1060 120:s+@1120", [], id="no-reboot"),
    pytest.param("s", "0:s+@5000 60:s+@30", [Reboot("r1", 30.0, 60.0)], id="uptime-backwards"),
    pytest.param("s", "0:s+@500 600:s+@300", [Reboot("r1", 300.0, 600.0)], id="reboot-between-polls"),
    pytest.param("sr", "0:s+@1000 1:r+@1021 60:s+@1060 61:r+@1081 120:s+@1120 121:r+@1141", [],
                 id="sources-disagreeing-by-20s-no-false-reboot"),
    pytest.param("sr", "0:s+@1000 1:r+@1021 60:s+@1 61:r+@30", [Reboot("r1", 59.0, 60.0)],
                 id="one-reboot-seen-by-two-sources-reported-once"),
    pytest.param("s", "0:s+@5000 60:s+@30 3600:s+@40", [Reboot("r1", 30.0, 60.0), Reboot("r1", 3560.0, 3600.0)],
                 id="two-separate-reboots"),
    pytest.param("s", "0:s+@5000 60:s- 120:s+@5120", [], id="failed-poll-between-readings"),
])
def test_reboots_from_polls(sources: str, script: str, expected: list[Reboot]) -> None:
    assert reboots(sources, script) == expected


@pytest.mark.parametrize(("uptime", "expected"), [
    pytest.param(90_000.0, [], id="still-running-across-restart"),
    pytest.param(300.0, [Reboot("r1", 9_800.0, 10_100.0)], id="rebooted-while-we-were-stopped"),
])
def test_reboot_against_restored_reading(uptime: float, expected: list[Reboot]) -> None:
    tracker = AvailabilityTracker({"r1": device("r1", sources="s")}, StatePolicy())
    tracker.restore([DeviceState("r1", Status.UP, 0.0, uptime_s=80_000.0, uptime_at=0.0)])
    found = [e for r in polls("r1", f"10100:s+@{uptime}") for e in tracker.observe(r) if isinstance(e, Reboot)]
    assert found == expected
