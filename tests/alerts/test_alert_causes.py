"""Alerts follow settled causes: power cuts with devices returning in every order, a kecamatan cut, a router
back while its AP stays broken, a parent failing after its child. Each gives exactly the incidents below:
no `device_down` from the order of recovery, no flapping from one power cut, one area incident. Same
simulated day as test_alert_scenarios (ping every minute, 3 failed polls -> down, 2 good polls -> up)."""

from __future__ import annotations

import pytest
from alert_day import Day, wib


def incidents(day: Day) -> list[tuple[str, str, str, float, float | None]]:
    return [(c.kind, c.incident.rule, c.incident.subject, c.incident.opened_at, c.incident.resolved_at)
            for c in day.out.changes]


@pytest.mark.parametrize(("router_back", "ap_back"), [
    pytest.param("13:20", "13:20", id="together"),
    pytest.param("13:20", "13:22", id="router-first-ap-two-minutes-later"),
    pytest.param("13:22", "13:20", id="ap-first-router-two-minutes-later"),
    pytest.param("13:21", "13:20", id="ap-first-router-next-poll"),
])
def test_site_power_cut_is_one_site_incident_whatever_comes_back_first(router_back: str, ap_back: str) -> None:
    day = Day.start()
    day.run_until("13:00")
    day.fail(*day.site_devices("kemutug"))
    for hhmm, device in sorted([(router_back, "kim-kemutug-router"), (ap_back, "kim-kemutug-ap")]):
        day.run_until(hhmm)
        day.repair(device)
    day.run_until("14:00")
    last_back = max(wib(router_back), wib(ap_back)) + 60  # the first good poll of the last device back
    assert incidents(day) == [("opened", "site_down", "kemutug", wib("13:01"), None),
                              ("resolved", "site_down", "kemutug", wib("13:01"), last_back)]
    outages = day.outages
    assert outages is not None and outages.open_outages() == []


def test_kecamatan_cut_of_three_sites_is_one_area_incident_whatever_the_order_of_return() -> None:
    day = Day.start()
    day.run_until("19:00")
    cut = ["karangmangu", "ketenger", "kemutug"]
    day.fail(*day.site_devices(*cut))
    returns = [("19:20", "kim-ketenger-ap"), ("19:20", "kim-karangmangu-router"), ("19:21", "kim-ketenger-router"),
               ("19:22", "kim-karangmangu-ap"), ("19:22", "kim-kemutug-router"), ("19:23", "kim-kemutug-ap")]
    for hhmm, device in returns:
        day.run_until(hhmm)
        day.repair(device)
    day.run_until("20:00")
    assert incidents(day) == [("opened", "area_outage", "kecamatan:Baturraden", wib("19:01"), None),
                              ("resolved", "area_outage", "kecamatan:Baturraden", wib("19:01"), wib("19:24"))]
    assert day.out.changes[0].incident.members == ("karangmangu", "kemutug", "ketenger")
    assert [a.kind for a in day.out.actions] == ["open", "resolve"]


def test_router_back_while_the_ap_stays_broken_makes_the_ap_its_own_device_incident() -> None:
    day = Day.start()
    day.run_until("10:00")
    day.fail(*day.site_devices("ketenger"))
    day.run_until("10:20")
    day.repair("kim-ketenger-router")
    day.run_until("10:45")
    day.repair("kim-ketenger-ap")
    day.run_until("11:30")
    # the site incident ends when the router answers again (10:21); the AP's own failure starts there,
    # declared 3 min later (not back with its site), raised after the 120 s hold and ends at its first good poll
    assert incidents(day) == [("opened", "site_down", "ketenger", wib("10:01"), None),
                              ("opened", "device_down", "kim-ketenger-ap", wib("10:21"), None),
                              ("resolved", "site_down", "ketenger", wib("10:01"), wib("10:21")),
                              ("resolved", "device_down", "kim-ketenger-ap", wib("10:21"), wib("10:46"))]
    device_down = day.out.changes[1]
    assert (device_down.at, device_down.incident.detected_at) == (wib("10:26"), wib("10:26"))


def test_parent_failing_after_its_child_keeps_the_child_a_device_failure_and_the_parent_a_site_one() -> None:
    day = Day.start()
    day.run_until("09:00")
    day.fail("kim-ketenger-ap")
    day.run_until("09:10")
    day.fail("kim-ketenger-router")
    day.run_until("09:25")
    day.repair("kim-ketenger-router", "kim-ketenger-ap")
    day.run_until("10:00")
    assert incidents(day) == [("opened", "device_down", "kim-ketenger-ap", wib("09:01"), None),
                              ("opened", "site_down", "ketenger", wib("09:11"), None),
                              ("resolved", "device_down", "kim-ketenger-ap", wib("09:01"), wib("09:26")),
                              ("resolved", "site_down", "ketenger", wib("09:11"), wib("09:26"))]


def test_two_power_cuts_within_the_flap_window_are_flapping_after_the_hold() -> None:
    """Four up/down transitions of the site within 30 min: one flapping incident, raised after its 300 s
    hold, with the site incident folded into it; its devices raise no flapping of their own."""
    day = Day.start()
    day.run_until("13:00")
    for start, end in [("13:00", "13:06"), ("13:12", "13:18")]:
        day.run_until(start)
        day.fail(*day.site_devices("kemutug"))
        day.run_until(end)
        day.repair(*day.site_devices("kemutug"))
    day.run_until("15:00")
    rules = [(kind, rule, subject) for kind, rule, subject, _, _ in incidents(day)]
    assert rules == [("opened", "site_down", "kemutug"), ("resolved", "site_down", "kemutug"),
                     ("opened", "site_down", "kemutug"), ("opened", "flapping", "kemutug"),
                     ("folded", "site_down", "kemutug"), ("resolved", "flapping", "kemutug")]
    flapping = day.out.changes[3]
    assert flapping.at == wib("13:20") + 300  # the 4th transition (back at 13:20) + the hold
