"""Causes settled end to end, with real processes: the simulated demo (SNMP and RouterOS API simulators), the
daemon and its SQLite database. A site loses power (router and AP stopped together) and both come back in
whatever order the polls see them: two `site` outages and one `site_down`. Or the router comes back
and the AP does not: the AP's outage is `site` until the router's first good poll and its own (`device`)
from exactly then, declared one detection window later; the alerts raise one `site_down` and then one
`device_down` for the AP from that same time, and nothing else (no flapping, no `device_down` for the
router). Poll interval 5 s, 2 failed polls -> DOWN, T = 12 s, 1 good poll -> UP: `together_s` = 10 s."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peers import command, free_tcp_port, simulated_demo
from test_outage_e2e import AP, ROUTER, daemon, eventually, outage, state, stored, wait_for

from netmon.model import Cause, Incident, Outage

TOGETHER_S = 10.0  # max(5, min(2 x 5, 12))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    def rules(doc: dict[str, Any]) -> None:
        doc["alerts"] = {"rules": {"device_down_for_s": 5, "device_down_clear_s": 0, "site_down_for_s": 5,
                                   "site_down_clear_s": 0}}

    with simulated_demo(tmp_path, extra=rules) as (config, sim):
        yield config, sim


@pytest.fixture
def slow_detection_demo(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """4 failed polls or 20 s -> DOWN: `together_s` = 20 s, room for the devices to return in any order."""
    def rules(doc: dict[str, Any]) -> None:
        doc["state"] = {"down_after_failures": 4, "down_after_s": 20, "up_after_successes": 1}
        doc["alerts"] = {"rules": {"device_down_for_s": 5, "device_down_clear_s": 0, "site_down_for_s": 5,
                                   "site_down_clear_s": 0}}

    with simulated_demo(tmp_path, extra=rules) as (config, sim):
        yield config, sim


def spans(config: Path) -> list[Outage]:
    return stored(config, lambda store: [o for o in store.outages() if o.site == "kim-karangmangu"])


def incidents(config: Path) -> list[Incident]:
    return stored(config, lambda store: store.incidents())


@pytest.mark.skipif(sys.platform != "linux", reason="uses loopback simulators")
def test_router_back_while_the_ap_stays_dark_makes_the_ap_its_own_failure_from_the_routers_return(
        demo: tuple[Path, subprocess.Popen[str]]) -> None:
    config, sim = demo
    port = free_tcp_port()
    proc = daemon(config, port)
    try:
        wait_for(port, lambda t: t.count('state="up"} 1.0') == 8, "all 8 demo devices up")
        command(sim, f"stop {ROUTER}")
        command(sim, f"stop {AP}")
        wait_for(port, lambda t: outage(ROUTER, "site") in t and outage(AP, "site") in t, "a site outage")

        command(sim, f"start {ROUTER}")
        wait_for(port, lambda t: outage(AP, "device") in t and outage(ROUTER, "site") not in t,
                 "the AP's own outage once the router is back")
        found = eventually(lambda: spans(config), lambda rows: len(rows) == 3 and any(o.open for o in rows))
        by = {(o.device, o.cause): o for o in found}
        assert set(by) == {(ROUTER, Cause.SITE), (AP, Cause.SITE), (AP, Cause.DEVICE)}
        router, ap_site, ap_own = by[(ROUTER, Cause.SITE)], by[(AP, Cause.SITE)], by[(AP, Cause.DEVICE)]
        assert router.ended_at is not None and ap_site.ended_at == router.ended_at  # the site came back there
        assert ap_own.started_at == router.ended_at and ap_own.open  # ... and from then on it is the AP's own
        assert ap_own.episode == ap_site.episode == ap_site.id != ap_own.id
        assert ap_own.detected_at is not None and ap_own.detected_at >= router.ended_at + TOGETHER_S
        for span in (router, ap_site):  # declared after the first failed poll, each
            assert span.detected_at is not None and span.started_at < span.detected_at

        raised = eventually(lambda: incidents(config), lambda rows: any(i.rule == "device_down" for i in rows), 30)
        assert [(i.rule, i.subject, i.opened_at) for i in raised if i.open] == [("device_down", AP, ap_own.started_at)]

        command(sim, f"start {AP}")
        wait_for(port, lambda t: state(AP, "up") in t and "netmon_device_outage_active{" not in t, "recovery")
        closed = eventually(lambda: spans(config), lambda rows: len(rows) == 3 and not any(o.open for o in rows))
        ap_own = next(o for o in closed if o.cause is Cause.DEVICE)
        assert ap_own.ended_at is not None and ap_own.ended_at > ap_own.started_at

        done = eventually(lambda: incidents(config), lambda rows: len(rows) == 2 and not any(i.open for i in rows))
        assert sorted((i.rule, i.subject, i.opened_at, i.resolved_at) for i in done) == sorted([
            ("site_down", "kim-karangmangu", min(router.started_at, ap_site.started_at), router.ended_at),
            ("device_down", AP, ap_own.started_at, ap_own.ended_at)])
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.skipif(sys.platform != "linux", reason="uses loopback simulators")
def test_site_power_cut_with_devices_back_in_any_order_is_one_site_outage_per_device_and_one_site_incident(
        slow_detection_demo: tuple[Path, subprocess.Popen[str]]) -> None:
    """The AP is started first and the router right after: which one answers first is up to the poll
    phases (the router has SNMP and the RouterOS API). Whatever the order: both outages `site`, one
    `site_down` resolved at the last device's first good poll, no `device_down`, no flapping."""
    config, sim = slow_detection_demo
    port = free_tcp_port()
    proc = daemon(config, port)
    try:
        wait_for(port, lambda t: t.count('state="up"} 1.0') == 8, "all 8 demo devices up")
        command(sim, f"stop {ROUTER}")
        command(sim, f"stop {AP}")
        wait_for(port, lambda t: outage(ROUTER, "site") in t and outage(AP, "site") in t, "a site outage", 90)
        eventually(lambda: incidents(config), lambda rows: [i.rule for i in rows] == ["site_down"], 30)

        command(sim, f"start {AP}")
        command(sim, f"start {ROUTER}")
        wait_for(port, lambda t: state(AP, "up") in t and "netmon_device_outage_active{" not in t
                 and state(ROUTER, "down") not in t, "both back")
        closed = eventually(lambda: spans(config), lambda rows: len(rows) == 2 and not any(o.open for o in rows))
        assert sorted((o.device, o.cause) for o in closed) == [(AP, Cause.SITE), (ROUTER, Cause.SITE)]
        done = eventually(lambda: incidents(config), lambda rows: len(rows) == 1 and not rows[0].open, 30)
        assert [(i.rule, i.subject, i.opened_at, i.resolved_at) for i in done] == [
            ("site_down", "kim-karangmangu", min(o.started_at for o in closed),
             max(o.ended_at or 0.0 for o in closed))]
        spans_after = spans(config)
        assert sorted((o.device, o.cause) for o in spans_after) == [(AP, Cause.SITE), (ROUTER, Cause.SITE)]
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
