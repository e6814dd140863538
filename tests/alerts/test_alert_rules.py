"""Table-driven unit tests of the rules: comparisons, tolerance on raise and clear, and the device signals."""

from __future__ import annotations

import pytest
from alert_day import DAY, config, engine_for, fleet, wib

from alerts.engine import AlertEngine
from alerts.route import AlertConfig
from alerts.rules import Hysteresis, MetricRule, RuleSettings, Tolerance, Verdict, compare
from alerts.silence import Silence
from netmon.errors import ConfigError, DeviceUnreachable
from netmon.model import (
    DeviceState,
    MaintenanceWindow,
    PollResult,
    Reboot,
    Sample,
    Severity,
    Source,
    Status,
)

ROUTER, AP = "kim-ketenger-router", "kim-ketenger-ap"


@pytest.mark.parametrize(("value", "op", "threshold", "expected"), [
    (71, ">", 70, True), (70, ">", 70, False), (70, ">=", 70, True), (9, "<", 10, True), (10, "<=", 10, True),
    (1, "==", 1, True), (0, "!=", 1, True), (1, "!=", 1, False),
], ids=lambda v: str(v))
def test_compare(value: float, op: str, threshold: float, expected: bool) -> None:
    assert compare(value, op, threshold) is expected


# (for_s, clear_for_s, [(at, active)], expected edges as (at, edge))
TOLERANCE = {
    "fires-at-once": (0, 0, [(0, True), (60, False)], [(0, "firing"), (60, "resolved")]),
    "waits-for_s": (120, 0, [(0, True), (60, True), (120, True)], [(120, "firing")]),
    "short-spike-never-fires": (120, 0, [(0, True), (60, False), (120, True), (180, True)], []),
    "waits-clear_for_s": (0, 300, [(0, True), (60, False), (300, False), (360, False)], [(0, "firing"),
                                                                                         (360, "resolved")]),
    "relapse-keeps-firing": (0, 300, [(0, True), (60, False), (200, True), (600, False), (900, False)],
                             [(0, "firing"), (900, "resolved")]),
    "no-verdict-holds": (0, 0, [(0, True), (60, None), (120, None)], [(0, "firing")]),
}


@pytest.mark.parametrize(("for_s", "clear_for_s", "steps", "edges"), TOLERANCE.values(), ids=TOLERANCE.keys())
def test_hysteresis(for_s: float, clear_for_s: float, steps: list[tuple[float, bool | None]],
                    edges: list[tuple[float, str]]) -> None:
    track = Hysteresis(Tolerance(for_s, clear_for_s))
    seen = [(at, edge) for at, active in steps if (edge := track.step(Verdict(active), at)) is not None]
    assert seen == edges


def test_episode_start_moves_earlier_while_pending_when_the_data_says_so() -> None:
    """A site outage seen first through its router (failed at 100), then its AP (failed at 95, declared
    later): the site alert, still in its hold, dates the episode from 95. Once firing, the start is fixed."""
    track = Hysteresis(Tolerance(120, 0))
    assert track.step(Verdict(True, started_at=100.0), 130) is None
    assert track.step(Verdict(True, started_at=95.0), 140) is None
    assert track.step(Verdict(True, started_at=95.0), 250) == "firing"
    assert track.started_at == 95.0
    track.step(Verdict(True, started_at=50.0), 260)
    assert track.started_at == 95.0


def test_user_rule_with_bad_comparison_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        MetricRule("weird", "netmon_x", "=>", 1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        AlertConfig(metric_rules=(MetricRule("high_cpu", "netmon_x", ">", 1),))


def engine(**settings: object) -> AlertEngine:
    sites, devices = fleet()
    cfg = config()
    rules = RuleSettings(**settings)  # type: ignore[arg-type]
    user = MetricRule("many_hotspot_users", "netmon_hotspot_active_users", ">=", 50, for_s=120, clear_for_s=60,
                      severity=Severity.INFO, labels=(("server", "all"),))
    return engine_for(devices, sites, AlertConfig(cfg.channels, cfg.routes, cfg.escalation, rules, (user,)))


def poll(device: str, at: float, *samples: Sample, ok: bool = True) -> PollResult:
    return PollResult(device, Source.SNMP, at, 0.1, samples, None if ok else DeviceUnreachable("x"))


def fired(e: AlertEngine, steps: list[PollResult]) -> list[tuple[float, str, str, str]]:
    out = []
    for result in steps:
        out += [(ev.at - DAY, ev.rule, ev.subject, ev.transition) for ev in e.observe_result(result).events]
    return out


def temp(v: float) -> Sample:
    return Sample("netmon_device_temperature_celsius", v)


# rows: (samples per minute, expected events) - temperature rule: > 70 C for 300 s, clear after 300 s
TEMPERATURE = {
    "hot-for-5-min-fires": ([75, 75, 75, 75, 75, 75], [(300, "firing")]),
    "hot-for-4-min-does-not": ([75, 75, 75, 75, 60, 60], []),
    "cools-for-5-min-resolves": ([75] * 6 + [60] * 6, [(300, "firing"), (360, "resolved")]),  # dated when it cooled
}


@pytest.mark.parametrize(("values", "expected"), TEMPERATURE.values(), ids=TEMPERATURE.keys())
def test_temperature_rule_tolerances(values: list[float], expected: list[tuple[float, str]]) -> None:
    e = engine()
    events = fired(e, [poll(ROUTER, DAY + 60 * i, temp(v)) for i, v in enumerate(values)])
    assert [(at, t) for at, rule, subject, t in events] == expected
    assert all(rule == "high_temperature" and subject == ROUTER for _, rule, subject, _ in events)


def test_user_rule_matches_labels_and_uses_its_own_tolerance() -> None:
    e = engine()
    users = [Sample("netmon_hotspot_active_users", v, (("server", "all"),)) for v in (55, 60, 61, 10, 10)]
    other = Sample("netmon_hotspot_active_users", 99, (("server", "guest"),))
    events = fired(e, [poll(ROUTER, DAY + 60 * i, s, other) for i, s in enumerate(users)])
    assert events == [(120, "many_hotspot_users", f"{ROUTER}/all", "firing"),
                      (180, "many_hotspot_users", f"{ROUTER}/all", "resolved")]


def test_failed_poll_holds_metric_alerts() -> None:
    e = engine()
    steps = [poll(ROUTER, DAY, Sample("netmon_device_cpu_load_ratio", 0.99))]
    steps += [poll(ROUTER, DAY + 60 * i, ok=False) for i in range(1, 30)]
    assert fired(e, steps) == []  # no samples is no verdict: the CPU rule waits for data


@pytest.mark.parametrize(("volts", "expected"), [
    ([12.0, 12.1, 11.9], []),
    ([12.0, 10.0], [(60, "firing")]),
    ([12.0, 13.5, 11.0], [(120, "firing")]),  # swing of 2.5 V in 15 min: unstable
], ids=["steady", "low", "unstable"])
def test_voltage_rule(volts: list[float], expected: list[tuple[float, str]]) -> None:
    e = engine()
    steps = [poll(ROUTER, DAY + 60 * i, Sample("netmon_device_voltage_volts", v)) for i, v in enumerate(volts)]
    assert [(at, t) for at, _, _, t in fired(e, steps)] == expected


def test_interface_down_only_for_an_interface_that_was_up() -> None:
    e = engine(interface_down=Tolerance(0, 0))
    link = lambda iface, v: Sample("netmon_interface_up", v, (("interface", iface),))  # noqa: E731
    steps = [poll(ROUTER, DAY, link("ether1", 1), link("ether5", 0)),
             poll(ROUTER, DAY + 60, link("ether1", 0), link("ether5", 0)),
             poll(ROUTER, DAY + 120, link("ether1", 1), link("ether5", 0))]
    assert fired(e, steps) == [(60, "interface_down", f"{ROUTER}/ether1", "firing"),
                               (120, "interface_down", f"{ROUTER}/ether1", "resolved")]


def test_reboot_loop_fires_at_three_reboots_in_an_hour_and_clears_after() -> None:
    e = engine()
    events = []
    for minute in (0, 20, 40):
        reboot = Reboot(ROUTER, DAY + minute * 60, DAY + minute * 60 + 30)
        events += [(ev.at - DAY, ev.transition) for ev in e.observe_reboot(reboot).events]
    events += [(ev.at - DAY, ev.transition) for ev in e.tick(DAY + 3700).events]
    assert events == [(2430, "firing"), (3700, "resolved")]


def up(device: str, since: float) -> dict[str, DeviceState]:
    return {device: DeviceState(device, Status.UP, since)}


def test_idle_ap_in_opening_hours_only() -> None:
    e = engine()
    clients = lambda n: Sample("netmon_wifi_clients", n, (("interface", "wlan1"),))  # noqa: E731
    e.observe_state(up(AP, DAY), [], DAY)
    e.observe_result(poll(AP, wib("07:00"), clients(3)))
    events = []
    for hhmm in ("07:30", "09:59", "10:00", "20:59", "21:00", "23:00"):
        events += [(hhmm, ev.transition) for ev in e.observe_result(poll(AP, wib(hhmm), clients(0))).events]
        events += [(hhmm, ev.transition) for ev in e.tick(wib(hhmm)).events]
    events += [("23:30", ev.transition) for ev in e.observe_result(poll(AP, wib("23:30"), clients(2))).events]
    # idle counted from opening (08:00): fires at 10:00, held overnight, clears when a client associates
    assert events == [("10:00", "firing"), ("23:30", "resolved")]


def test_unknown_device_fires_once_and_clears_when_not_seen_for_a_day() -> None:
    e = engine()
    first = e.observe_unknown_device("ketenger", "fp-9f2c", DAY)
    again = e.observe_unknown_device("ketenger", "fp-9f2c", DAY + 600)
    later = e.tick(DAY + 600 + 86400)
    assert [c.kind for c in first.changes] == ["opened"] and again.changes == []
    assert [c.kind for c in later.changes] == ["resolved"]
    assert e.observe_unknown_device("nowhere", "fp", DAY).events == []


def test_silence_mutes_the_incident_until_it_ends() -> None:
    e = engine(temperature=Tolerance(0, 0))
    e.silence(Silence(until=DAY + 600, subject=ROUTER, created_by="ani"))
    muted = e.observe_result(poll(ROUTER, DAY, temp(80)))
    assert [ev.transition for ev in muted.events] == ["firing"] and muted.changes == []
    assert e.tick(DAY + 300).changes == []
    assert [c.kind for c in e.tick(DAY + 600).changes] == ["opened"]


def test_maintenance_freezes_device_rules() -> None:
    sites, devices = fleet()
    window = MaintenanceWindow("upgrade", DAY, DAY + 3600, devices=frozenset({ROUTER}))
    e = engine_for(devices, sites, config(), [window])
    for minute in range(0, 60, 10):
        e.observe_reboot(Reboot(ROUTER, DAY + minute * 60, DAY + minute * 60 + 5))
    assert e.tick(DAY + 3000).changes == [] and e.open_incidents() == []


# --- flapping: transitions counted, with a hold ---

@pytest.mark.parametrize(("changes", "ticks", "expected"), [
    pytest.param([0, 100, 200, 300], [300, 500, 600], [False, False, True],
                 id="four-transitions-fire-after-the-300-s-hold"),
    pytest.param([0, 100], [100, 1000], [False, False], id="one-power-cut-is-two-transitions-never-flapping"),
    pytest.param([0, 1500, 1600, 1700], [1700, 1801, 2100], [False, False, False],
                 id="spread-out-transitions-leave-the-window-during-the-hold"),
    pytest.param([0, 100, 200, 300], [300, 600, 2000, 2100], [False, True, True, False],
                 id="calm-for-1800-s-after-the-last-transition-clears"),
])
def test_flap_detector_counts_transitions_and_holds(changes: list[float], ticks: list[float],
                                                    expected: list[bool]) -> None:
    from alerts.flap import FlapDetector

    flaps = FlapDetector(4, 1800.0, 1800.0, hold_s=300.0)
    seen = []
    recorded = iter(sorted(changes))
    pending = next(recorded, None)
    for tick in ticks:
        while pending is not None and pending <= tick:
            flaps.record("kim-x-ap", pending)
            pending = next(recorded, None)
        verdict = flaps.verdict("kim-x-ap", tick)
        assert verdict is not None
        seen.append(bool(verdict.active))
    assert seen == expected
