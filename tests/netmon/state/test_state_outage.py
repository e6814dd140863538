"""Outage spans and their settled cause, from device states given per step (see test_state_cause.py for
the situation table driven by poll results)."""

from __future__ import annotations

import itertools

import pytest
from state_helpers import device, poll, site

from netmon.model import (
    Cause,
    Device,
    DeviceState,
    MaintenanceWindow,
    Outage,
    Source,
    StateChange,
    StatePolicy,
    Status,
)
from netmon.state.availability import AvailabilityTracker
from netmon.state.outage import OutageEvent, OutageTracker

FLEET: dict[str, Device] = {d.id: d for d in [
    device("r1", site="s1"), device("ap1", site="s1", parent="r1"),
    device("r2", site="s2"), device("sw2", site="s2", parent="r2"), device("ap2", site="s2", parent="sw2"),
    device("other2", site="s2"),
    device("r3", site="s3", parent="r1"), device("ap3", site="s3", parent="r3"),
    device("solo", site="s4"),
    device("off", site="s1", sources=""),
]}
SITES = {s: site(s, "Baturraden" if s != "s4" else "Sumbang") for s in ("s1", "s2", "s3", "s4")}


def ids() -> itertools.count[int]:
    return itertools.count(1)


def tracker(windows: list[MaintenanceWindow] | None = None) -> OutageTracker:
    counter = ids()
    return OutageTracker(FLEET, SITES, windows or [], new_id=lambda: f"o{next(counter)}")


class Fleet:
    """Device states over time: every device UP unless a step says otherwise; `since` moves on change."""

    def __init__(self) -> None:
        self.states = {d: DeviceState(d, Status.UP, 0.0) for d in FLEET}

    def step(self, at: float, spec: str) -> dict[str, DeviceState]:
        wanted = {d: Status.UP for d in FLEET}
        wanted.update({k: Status(v) for k, v in (p.split("=") for p in spec.split())})
        for d, status in wanted.items():
            if self.states[d].status is not status:
                failing = at - 30 if status is Status.DOWN else None  # first failed poll 30 s before DOWN
                self.states[d] = DeviceState(d, status, at, failing_since=failing)
        return self.states


def brief(events: list[OutageEvent]) -> list[tuple[str, str, str, str | None]]:
    return [(e.kind, e.outage.device, str(e.outage.cause), e.previous_cause and str(e.previous_cause))
            for e in events]


SCENARIOS = [
    pytest.param([(100, "ap1=down"), (400, "")],
                 [[("opened", "ap1", "device", None)], [("closed", "ap1", "device", None)]],
                 id="ap-down-alone-is-a-device-failure"),
    pytest.param([(100, "ap1=down"), (400, "ap1=down r1=down"), (500, "ap1=down"), (600, "")],
                 [[("opened", "ap1", "device", None)], [("opened", "r1", "site", None)],
                  [("closed", "r1", "site", None)], [("closed", "ap1", "device", None)]],
                 id="ap-alone-then-router-later-ap-stays-device-router-is-site"),
    pytest.param([(100, "ap1=down"), (200, "ap1=down r1=down"), (300, "ap1=down"), (400, "")],
                 [[("opened", "ap1", "device", None)],
                  [("opened", "r1", "site", None), ("reclassified", "ap1", "site", "device")],
                  [("closed", "r1", "site", None)], [("closed", "ap1", "site", None)]],
                 id="router-failing-within-the-detection-window-settles-the-ap-as-site"),
    pytest.param([(100, "r1=down"), (160, "r1=down ap1=down")],
                 [[("opened", "r1", "device", None)],
                  [("reclassified", "r1", "site", "device"), ("opened", "ap1", "site", None)]],
                 id="router-first-then-ap-whole-site"),
    pytest.param([(100, "r1=down ap1=down")],
                 [[("opened", "r1", "site", None), ("opened", "ap1", "site", None)]],
                 id="whole-site-down-root-and-children-site"),
    pytest.param([(100, "r2=down sw2=down ap2=down")],
                 [[("opened", "r2", "device", None), ("opened", "sw2", "parent", None),
                   ("opened", "ap2", "parent", None)]],
                 id="children-of-down-parent-and-grandparent-get-parent"),
    pytest.param([(100, "r1=down ap1=down r3=down ap3=down")],
                 [[("opened", "r1", "site", None), ("opened", "ap1", "site", None),
                   ("opened", "r3", "parent", None), ("opened", "ap3", "parent", None)]],
                 id="site-behind-a-down-upstream-site-gets-parent"),
    pytest.param([(100, "solo=down")], [[("opened", "solo", "site", None)]],
                 id="single-device-site-is-site"),
    pytest.param([(100, "ap1=degraded"), (200, "")], [[], []], id="degraded-is-not-an-outage"),
    pytest.param([(100, "ap1=down"), (200, "ap1=unknown"), (300, "ap1=disabled")],
                 [[("opened", "ap1", "device", None)], [], [("closed", "ap1", "device", None)]],
                 id="unknown-keeps-open-disabled-closes"),
]


@pytest.mark.parametrize(("steps", "expected"), SCENARIOS)
def test_outage_scenarios(steps: list[tuple[float, str]], expected: list[list[tuple[str, str, str, str | None]]],
                          ) -> None:
    outages, fleet = tracker(), Fleet()
    assert [brief(outages.update(fleet.step(at, spec), at)) for at, spec in steps] == expected


def test_outage_times_and_stable_id() -> None:
    outages, fleet = tracker(), Fleet()
    [opened] = outages.update(fleet.step(100, "ap1=down"), 100)
    outages.update(fleet.step(200, "ap1=down r1=down"), 200)
    [_, closed] = outages.update(fleet.step(400, ""), 450)
    assert (opened.outage.started_at, opened.outage.site) == (70.0, "s1")
    assert (closed.outage.id, closed.outage.started_at, closed.outage.ended_at) == ("o1", 70.0, 400.0)
    assert outages.open_outages() == []


# --- maintenance ---

WORKS = MaintenanceWindow("works", start=50.0, end=1000.0, sites=frozenset({"s1"}))


@pytest.mark.parametrize(("window", "steps", "expected"), [
    pytest.param(WORKS, [(100, "ap1=down"), (500, "ap1=down")], [[("opened", "ap1", "maintenance", None)], []],
                 id="window-active-at-start-is-maintenance"),
    pytest.param(MaintenanceWindow("kec", start=50.0, end=1000.0, kecamatan=frozenset({"Baturraden"})),
                 [(100, "r1=down ap1=down")],
                 [[("opened", "r1", "maintenance", None), ("opened", "ap1", "maintenance", None)]],
                 id="kecamatan-window-covers-the-site"),
    pytest.param(MaintenanceWindow("late", start=500.0, end=1000.0, sites=frozenset({"s1"})),
                 [(100, "ap1=down"), (600, "ap1=down")], [[("opened", "ap1", "device", None)], []],
                 id="window-starting-mid-outage-changes-nothing"),
    pytest.param(WORKS, [(100, "ap1=down"), (1500, "ap1=down"), (1700, "ap1=down")],
                 [[("opened", "ap1", "maintenance", None)], [],
                  [("closed", "ap1", "maintenance", None), ("opened", "ap1", "device", "maintenance")]],
                 id="still-down-after-window-end-plus-grace-is-a-failure"),
    pytest.param(MaintenanceWindow("r1 only", start=50.0, end=1000.0, devices=frozenset({"r1"})),
                 [(100, "r1=down other2=down"), (160, "r1=down ap1=down")],
                 [[("opened", "r1", "maintenance", None), ("opened", "other2", "device", None)],
                  [("opened", "ap1", "site", None), ("closed", "other2", "device", None)]],
                 id="device-window-covers-only-that-device"),
])
def test_maintenance(window: MaintenanceWindow, steps: list[tuple[float, str]],
                     expected: list[list[tuple[str, str, str, str | None]]]) -> None:
    outages, fleet = tracker([window]), Fleet()
    assert [brief(outages.update(fleet.step(at, spec), at)) for at, spec in steps] == expected


# --- restart ---

def test_restored_outage_stays_open_with_same_id_and_is_not_duplicated() -> None:
    before, fleet = tracker(), Fleet()
    before.update(fleet.step(100, "ap1=down"), 100)
    kept = before.open_outages()
    after = tracker()
    after.restore(kept + kept)  # storage handing the same row twice must not duplicate it
    after.restore([Outage("old", "r2", "s2", 1.0, Cause.DEVICE, ended_at=5.0)])  # closed: ignored
    assert after.open_outages() == kept
    assert after.update(fleet.step(200, "ap1=down"), 200) == []
    assert after.update(fleet.step(260, "ap1=down"), 260) == []
    [closed] = after.update(fleet.step(300, ""), 300)
    assert (closed.kind, closed.outage.id, closed.outage.ended_at) == ("closed", kept[0].id, 300.0)


def test_restart_end_to_end_down_stays_down_and_outage_continues() -> None:
    devices = {"r1": FLEET["r1"], "other": device("other", site="s1")}
    policy = StatePolicy(down_after_failures=3, down_after_s=180.0, up_after_successes=2)
    counter = ids()
    states1, outages1 = AvailabilityTracker(devices, policy), OutageTracker(devices, SITES, [],
                                                                           new_id=lambda: f"o{next(counter)}")
    for t, ok in [(0, True), (60, False), (120, False), (180, False)]:
        states1.observe(poll("r1", Source.PING, t, ok))
        states1.observe(poll("other", Source.PING, t + 1))
    [opened] = outages1.update(states1.states(), 181)
    assert (opened.outage.cause, opened.outage.started_at) == (Cause.DEVICE, 60.0)

    # kill -9 here; the app stores states and open outages and restarts at 5000
    states2, outages2 = AvailabilityTracker(devices, policy, started_at=5000.0), OutageTracker(
        devices, SITES, [], new_id=lambda: "must-not-be-used")
    states2.restore(states1.states().values())
    outages2.restore(outages1.open_outages())
    assert states2.states()["r1"].status is Status.DOWN
    assert outages2.update(states2.states(), 5000) == []
    assert states2.observe(poll("r1", Source.PING, 5060)) == []  # one good poll is not a recovery
    assert outages2.update(states2.states(), 5060) == []
    [change] = states2.observe(poll("r1", Source.PING, 5120))
    assert isinstance(change, StateChange)
    assert (change.old, change.new) == (Status.DOWN, Status.UP)
    [closed] = outages2.update(states2.states(), 5121)
    assert (closed.kind, closed.outage.id, closed.outage.ended_at) == ("closed", "o1", 5060.0)  # first good poll
