"""The situation table of docs/state.md ("Causes: situations and verdicts"), row by row, driven by poll results.

Every device is pinged every 60 s (routers at :00, access points at :20, switches at :40 of each minute) and
the real `AvailabilityTracker` (3 failed polls -> DOWN, 2 good polls -> UP) feeds the `OutageTracker` every
10 s of an injected clock. A script says when each device does not answer (`[from, to)`); the test
asserts every outage span exactly: device, cause, started (first failed poll), ended (first good poll) and
detected (when DOWN was declared, or when the evidence changed the cause)."""

from __future__ import annotations

import itertools
import math

import pytest
from state_helpers import device, poll, site

from netmon.model import Cause, Device, MaintenanceWindow, Outage, Role, Source, StatePolicy
from netmon.state.availability import AvailabilityTracker
from netmon.state.downtime import availability_ratio, own_downtime
from netmon.state.outage import OutageTracker

FLEET: dict[str, Device] = {d.id: d for d in [
    device("r1", site="s1"), device("ap1", site="s1", parent="r1", role=Role.AP),
    device("r2", site="s2"), device("ap2", site="s2", parent="r2", role=Role.AP),
    device("r3", site="s3"), device("sw3", site="s3", parent="r3", role=Role.SWITCH),
    device("ap3", site="s3", parent="sw3", role=Role.AP),
    device("r4", site="s4", parent="r1"), device("ap4", site="s4", parent="r4", role=Role.AP),
    device("solo", site="s5"),
]}
SITES = {s: site(s, "Sumbang" if s == "s5" else "Baturraden") for s in ("s1", "s2", "s3", "s4", "s5")}
PHASE = {Role.ROUTER: 0.0, Role.AP: 20.0, Role.SWITCH: 40.0}
NEVER = math.inf
Span = tuple[str, str, float, float | None, float | None]  # device, cause, started, ended, detected


def run(dead: dict[str, list[tuple[float, float]]], until: float = 4000.0,
        windows: tuple[MaintenanceWindow, ...] = (), restart_at: float | None = None) -> list[Span]:
    """Poll the fleet from 0 to `until`; `dead[device]` lists the [from, to) spans it does not answer.
    `restart_at`: the daemon restarts then, with fresh trackers seeded from the states and open outages."""
    counter = itertools.count(1)
    states = AvailabilityTracker(FLEET, StatePolicy())
    outages = OutageTracker(FLEET, SITES, windows, new_id=lambda: f"o{next(counter)}")
    spans: dict[str, Outage] = {}
    for step in range(int(until // 10) + 1):
        at = step * 10.0
        if at == restart_at:
            kept, still_open = list(states.states().values()), outages.open_outages()
            states = AvailabilityTracker(FLEET, StatePolicy(), started_at=at)
            outages = OutageTracker(FLEET, SITES, windows, new_id=lambda: f"o{next(counter)}")
            states.restore(kept)
            outages.restore(still_open, kept)
        for d in FLEET.values():
            if (at - PHASE[d.role]) % 60 == 0 and at >= PHASE[d.role]:
                ok = not any(start <= at < end for start, end in dead.get(d.id, []))
                states.observe(poll(d.id, Source.PING, at, ok))
        states.tick(at)
        for event in outages.update(states.states(), at):
            spans[event.outage.id] = event.outage
    return sorted(((o.device, o.cause.value, o.started_at, o.ended_at, o.detected_at) for o in spans.values()),
                  key=lambda s: (s[2], s[0]))


CUT = (600.0, 1800.0)  # a power cut: nothing answers from 600 until 1800 (routers back at 1800)

SITUATIONS = [
    pytest.param({"ap1": [(600, 1800)]},
                 [("ap1", "device", 620, 1820, 740)],
                 id="ap-fails-alone-is-device"),
    pytest.param({"r1": [(600, 1800)], "ap1": [(600, 1800)]},
                 [("r1", "site", 600, 1800, 720), ("ap1", "site", 620, 1820, 740)],
                 id="site-power-cut-back-together-is-site"),
    pytest.param({"r1": [(600, 1900)], "ap1": [(600, 1800)]},
                 [("r1", "site", 600, 1920, 720), ("ap1", "site", 620, 1820, 740)],
                 id="site-power-cut-ap-back-first-router-two-minutes-later-is-site"),
    pytest.param({"r1": [(600, 1800)], "ap1": [(600, 1900)]},
                 [("r1", "site", 600, 1800, 720), ("ap1", "site", 620, 1940, 740)],
                 id="site-power-cut-router-back-first-ap-two-minutes-later-is-site"),
    pytest.param({"r1": [(600, 1800)], "ap1": [(600, NEVER)]},
                 [("r1", "site", 600, 1800, 720), ("ap1", "site", 620, 1800, 740),
                  ("ap1", "device", 1800, None, 1980)],
                 id="router-back-ap-stays-broken-ap-is-its-own-from-the-routers-return"),
    pytest.param({"r1": [(600, 1800)], "ap1": [(600, 3000)]},
                 [("r1", "site", 600, 1800, 720), ("ap1", "site", 620, 1800, 740),
                  ("ap1", "device", 1800, 3020, 1980)],
                 id="router-back-ap-repaired-later-device-span-ends-at-its-first-good-poll"),
    pytest.param({"r1": [(600, NEVER)], "ap1": [(600, 1800)]},
                 [("r1", "site", 600, 1820, 720), ("ap1", "site", 620, 1820, 740),
                  ("r1", "device", 1820, None, 2000)],
                 id="ap-back-router-stays-dead-router-is-its-own-from-the-aps-return"),
    pytest.param({"r1": [CUT], "ap1": [(600, 1900)], "r2": [(600, 1950)], "ap2": [(600, 1800)],
                  "r3": [(600, 1900)], "sw3": [CUT], "ap3": [(600, 2000)]},
                 [("r1", "site", 600, 1800, 720), ("r2", "site", 600, 1980, 720), ("r3", "site", 600, 1920, 720),
                  ("ap1", "site", 620, 1940, 740), ("ap2", "site", 620, 1820, 740),
                  ("ap3", "site", 620, 2000, 740), ("sw3", "site", 640, 1840, 760)],
                 id="kecamatan-cut-of-three-sites-devices-back-in-any-order-all-site"),
    pytest.param({"ap1": [(300, 2400)], "r1": [(900, 1800)]},
                 [("ap1", "device", 320, 2420, 440), ("r1", "site", 900, 1800, 1020)],
                 id="parent-fails-after-its-child-child-stays-device-parent-is-site"),
    pytest.param({"ap1": [(300, 1800)], "r1": [(900, 1800)]},
                 [("ap1", "device", 320, 1820, 440), ("r1", "site", 900, 1800, 1020)],
                 id="parent-fails-after-its-child-both-back-together"),
    pytest.param({"r1": [(600, 1800)]},
                 [("r1", "device", 600, 1800, 720)],
                 id="router-fails-while-the-ap-answers-is-device"),
    pytest.param({"r3": [CUT], "sw3": [(600, NEVER)], "ap3": [(600, NEVER)]},
                 [("r3", "site", 600, 1800, 720), ("ap3", "site", 620, 1800, 740),
                  ("sw3", "site", 640, 1800, 760), ("ap3", "parent", 1800, None, 1980),
                  ("sw3", "device", 1800, None, 1980)],
                 id="site-back-switch-broken-switch-is-device-ap-behind-it-is-parent"),
    pytest.param({"r1": [CUT], "ap1": [CUT], "r4": [CUT], "ap4": [CUT]},
                 [("r1", "site", 600, 1800, 720), ("r4", "parent", 600, 1800, 720),
                  ("ap1", "site", 620, 1820, 740), ("ap4", "parent", 620, 1820, 740)],
                 id="site-behind-a-dark-upstream-site-is-parent"),
    pytest.param({"r1": [CUT], "ap1": [CUT], "r4": [(600, NEVER)], "ap4": [(600, NEVER)]},
                 [("r1", "site", 600, 1800, 720), ("r4", "parent", 600, 1800, 720),
                  ("ap1", "site", 620, 1820, 740), ("ap4", "parent", 620, 1800, 740),
                  ("ap4", "site", 1800, None, 1980), ("r4", "site", 1800, None, 1980)],
                 id="upstream-back-site-still-dark-becomes-site"),
    pytest.param({"solo": [(600, 1800)]}, [("solo", "site", 600, 1800, 720)],
                 id="single-device-site-is-site"),
    pytest.param({"ap1": [(600, 630)]}, [], id="one-lost-poll-is-no-outage"),
]


@pytest.mark.parametrize(("dead", "expected"), SITUATIONS)
def test_cause_is_settled_by_what_failed_together_not_by_the_order_of_return(
        dead: dict[str, list[tuple[float, float]]], expected: list[Span]) -> None:
    assert run(dead) == sorted(expected, key=lambda s: (s[2], s[0]))


@pytest.mark.parametrize("restart_at", [1870.0, 1900.0, 2000.0])
def test_a_restart_just_after_the_router_came_back_gives_the_same_spans(restart_at: float) -> None:
    assert run({"r1": [(600, 1800)], "ap1": [(600, NEVER)]}, restart_at=restart_at) == sorted(
        [("r1", "site", 600, 1800, 720), ("ap1", "site", 620, 1800, 740), ("ap1", "device", 1800, None, 1980)],
        key=lambda s: (s[2], s[0]))


WORKS = MaintenanceWindow("works", start=500.0, end=1500.0, sites=frozenset({"s1"}))


@pytest.mark.parametrize(("dead", "expected"), [
    pytest.param({"r1": [(600, 1200)], "ap1": [(600, 1200)]},
                 [("r1", "maintenance", 600, 1200, 720), ("ap1", "maintenance", 620, 1220, 740)],
                 id="works-inside-the-window-are-maintenance"),
    pytest.param({"r1": [(600, 3000)], "ap1": [(600, 3000)]},
                 [("r1", "maintenance", 600, 1500, 720), ("ap1", "maintenance", 620, 1500, 740),
                  ("r1", "site", 1500, 3000, 2100), ("ap1", "site", 1500, 3020, 2100)],
                 id="overrun-past-window-and-grace-is-a-new-site-span-from-the-windows-end"),
    pytest.param({"ap1": [(300, 1800)]},
                 [("ap1", "device", 320, 1820, 440)],
                 id="window-starting-mid-outage-changes-nothing"),
])
def test_maintenance_spans(dead: dict[str, list[tuple[float, float]]], expected: list[Span]) -> None:
    assert run(dead, windows=(WORKS,)) == sorted(expected, key=lambda s: (s[2], s[0]))


def test_device_spans_alone_count_against_the_asset() -> None:
    """Availability attributed to the AP: only its `device` span (from the router's return)."""
    spans = run({"r1": [(600, 1800)], "ap1": [(600, 3000)]})
    outages = [Outage(f"o{i}", d, "s1", started, Cause(cause), ended_at=ended)
               for i, (d, cause, started, ended, _) in enumerate(spans)]
    assert own_downtime(outages, 0.0, 4000.0) == {"ap1": 3020.0 - 1800.0}
    assert own_downtime(outages, 2000.0, 2500.0) == {"ap1": 500.0}
    assert availability_ratio(outages, "ap1", 0.0, 4000.0) == 1.0 - 1220.0 / 4000.0
    assert availability_ratio(outages, "r1", 0.0, 4000.0) == 1.0  # its site span is not its failure
