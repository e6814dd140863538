"""The availability state machine driven by tables of poll sequences."""

from __future__ import annotations

import pytest
from state_helpers import device, poll, polls

from netmon.model import Cause, DeviceState, Reboot, Source, StateChange, StatePolicy, Status
from netmon.state.availability import AvailabilityTracker

U, UP, DG, DN = Status.UNKNOWN, Status.UP, Status.DEGRADED, Status.DOWN
POLICY = StatePolicy(down_after_failures=3, down_after_s=180.0, up_after_successes=2)


def run(sources: str, script: str, policy: StatePolicy = POLICY) -> tuple[AvailabilityTracker, list[StateChange]]:
    tracker = AvailabilityTracker({"r1": device("r1", sources=sources)}, policy)
    changes = [e for r in polls("r1", script) for e in tracker.observe(r) if isinstance(e, StateChange)]
    return tracker, changes


CASES = [
    pytest.param("p", "0:p+", [(U, UP, 0)], UP, id="unknown-to-up-at-once-on-first-poll"),
    pytest.param("p", "0:p- 60:p- 120:p-", [(U, DN, 120)], DN, id="unknown-to-down-after-three-failures"),
    pytest.param("p", "0:p+ 60:p- 120:p- 180:p-", [(U, UP, 0), (UP, DN, 180)], DN,
                 id="up-to-down-after-three-failed-polls"),
    pytest.param("p", "0:p+ 60:p- 120:p- 180:p+ 240:p- 300:p- 360:p+ 420:p-", [(U, UP, 0)], UP,
                 id="flapping-shorter-than-tolerance-is-absorbed"),
    pytest.param("p", "0:p+ 60:p- 120:p- 180:p- 240:p+ 300:p- 360:p+ 420:p+",
                 [(U, UP, 0), (UP, DN, 180), (DN, UP, 420)], UP,
                 id="down-recovers-only-after-two-consecutive-good-polls"),
    pytest.param("p", "0:p+ 300:p- 600:p-", [(U, UP, 0), (UP, DN, 600)], DN,
                 id="slow-polls-go-down-by-time-before-three-failures"),
    pytest.param("ps", "0:p+", [], U, id="two-sources-no-verdict-until-both-reported"),
    pytest.param("ps", "0:p+ 1:s+", [(U, UP, 1)], UP, id="two-sources-up-when-both-answer"),
    pytest.param("ps", "0:p+ 1:s+ 60:p+ 61:s- 120:p+ 121:s- 180:p+ 181:s-", [(U, UP, 1), (UP, DG, 181)], DG,
                 id="degraded-ping-ok-snmp-failing"),
    pytest.param("ps", "0:p+ 1:s+ 60:p+ 61:s- 120:p+ 121:s+ 180:p+ 181:s- 240:p+ 241:s+", [(U, UP, 1)], UP,
                 id="single-snmp-failures-do-not-flap-to-degraded"),
    pytest.param("ps", "0:p+ 1:s- 60:p+ 61:s- 120:p+ 121:s-", [(U, DG, 121)], DG,
                 id="unknown-to-degraded-with-tolerance"),
    pytest.param("ps", "0:p+ 1:s- 60:p+ 61:s- 120:p+ 121:s- 180:p+ 181:s+", [(U, DG, 121), (DG, UP, 181)], UP,
                 id="degraded-to-up-at-once"),
    pytest.param("ps", "0:p+ 1:s- 60:p+ 61:s- 120:p+ 121:s- 180:p- 181:s- 240:p-", [(U, DG, 121)], DG,
                 id="degraded-long-snmp-failure-does-not-count-toward-down"),
    pytest.param("ps", "0:p+ 1:s- 60:p+ 61:s- 120:p+ 121:s- 180:p- 181:s- 240:p- 241:s- 300:p-",
                 [(U, DG, 121), (DG, DN, 300)], DN, id="degraded-to-down-after-three-polls-with-everything-failing"),
    pytest.param("ps", "0:p+ 1:s+ 60:p- 61:s- 120:p- 121:s- 180:p- 181:s- 240:p+ 241:s- 300:p+",
                 [(U, UP, 1), (UP, DN, 181), (DN, DG, 300)], DG, id="down-to-degraded-when-only-ping-recovers"),
    pytest.param("ps", "0:p+ 1:s+ 60:p- 61:s- 120:p- 121:s- 180:p- 181:s- 240:p+ 300:p+ 301:s+",
                 [(U, UP, 1), (UP, DN, 181), (DN, UP, 301)], UP,
                 id="down-waits-for-every-source-before-a-verdict"),
    pytest.param("p", "0:p+ 120:p- 60:p-", [(U, UP, 0)], UP, id="stale-result-arriving-late-is-ignored"),
]


@pytest.mark.parametrize(("sources", "script", "expected", "final"), CASES)
def test_poll_sequence_gives_transitions(sources: str, script: str, expected: list[tuple[Status, Status, float]],
                                         final: Status) -> None:
    tracker, changes = run(sources, script)
    assert [(c.old, c.new, c.at) for c in changes] == expected
    assert tracker.states()["r1"].status is final


def test_unknown_to_up_is_distinguishable_from_recovery() -> None:
    _, changes = run("p", "0:p+ 60:p- 120:p- 180:p- 240:p+ 300:p+")
    first, recovered = changes[0], changes[-1]
    assert (first.old, first.reason) == (U, "first poll")
    assert (recovered.old, recovered.new) == (DN, UP)


def test_never_polled_devices_are_unknown_and_sourceless_disabled() -> None:
    tracker = AvailabilityTracker({"r1": device("r1"), "x": device("x", sources="")}, POLICY, started_at=5.0)
    states = tracker.states()
    assert (states["r1"].status, states["r1"].since) == (U, 5.0)
    assert states["x"].status is Status.DISABLED
    assert tracker.observe(poll("x", Source.PING, 10.0)) == []
    assert tracker.tick(1000.0) == []
    assert tracker.states()["x"].status is Status.DISABLED


def test_results_of_unconfigured_devices_or_sources_are_ignored() -> None:
    tracker = AvailabilityTracker({"r1": device("r1", sources="p")}, POLICY)
    assert tracker.observe(poll("ghost", Source.PING, 0.0)) == []
    assert tracker.observe(poll("r1", Source.SNMP, 0.0)) == []
    assert tracker.states()["r1"].status is U


@pytest.mark.parametrize(("tick_at", "expected"), [
    pytest.param(200.0, [], id="failing-140s-not-yet-down"),
    pytest.param(240.0, [(UP, DN, 240.0)], id="failing-180s-down-by-tick"),
])
def test_tick_turns_down_a_failure_lasting_down_after_s(tick_at: float, expected: list[tuple[Status, Status, float]],
                                                        ) -> None:
    tracker, _ = run("p", "0:p+ 60:p-")
    assert [(c.old, c.new, c.at) for c in tracker.tick(tick_at)] == expected
    assert tracker.tick(tick_at) == []  # an edge fires once


def test_tick_turns_degraded_by_time() -> None:
    tracker, _ = run("ps", "0:p+ 1:s+ 60:p+ 61:s-")
    assert tracker.tick(200.0) == []
    assert [(c.old, c.new) for c in tracker.tick(241.0)] == [(UP, DG)]


def test_state_reports_failure_start_and_counters() -> None:
    tracker, _ = run("p", "0:p+ 60:p- 120:p- 180:p- 240:p-")
    state = tracker.states()["r1"]
    assert (state.status, state.since, state.failing_since) == (DN, 180.0, 60.0)
    assert state.consecutive_failures == 4
    assert state.last_good_poll == 0.0
    assert state.last_error == "ping: DeviceUnreachable (timeout)"


def test_failure_start_survives_a_single_good_poll_while_down() -> None:
    tracker, _ = run("p", "0:p+ 60:p- 120:p- 180:p- 240:p+ 300:p-")
    state = tracker.states()["r1"]
    assert (state.status, state.failing_since) == (DN, 60.0)


def test_failing_since_is_when_every_source_was_failing() -> None:
    tracker, _ = run("ps", "0:p+ 1:s- 60:p+ 61:s- 120:p+ 121:s- 180:p- 240:p- 300:p-")
    state = tracker.states()["r1"]
    assert (state.status, state.failing_since) == (DN, 180.0)


# --- restore after a restart (clean or kill -9) ---

def restarted(states: dict[str, DeviceState], sources: str = "p") -> AvailabilityTracker:
    tracker = AvailabilityTracker({"r1": device("r1", sources=sources)}, POLICY, started_at=10_000.0)
    tracker.restore(states.values())
    return tracker


def test_restore_keeps_down_until_two_good_polls() -> None:
    before, _ = run("p", "0:p+ 60:p- 120:p- 180:p-")
    tracker = restarted(before.states())
    state = tracker.states()["r1"]
    assert (state.status, state.since, state.failing_since) == (DN, 180.0, 60.0)
    assert tracker.tick(20_000.0) == []
    assert tracker.observe(poll("r1", Source.PING, 10_060.0)) == []
    [change] = tracker.observe(poll("r1", Source.PING, 10_120.0))
    assert isinstance(change, StateChange)
    assert (change.old, change.new) == (DN, UP)


def test_restore_up_and_degraded_as_they_were() -> None:
    up, _ = run("p", "0:p+")
    assert restarted(up.states()).states()["r1"].status is UP
    degraded, _ = run("ps", "0:p+ 1:s- 60:p+ 61:s- 120:p+ 121:s-")
    tracker = restarted(degraded.states(), "ps")
    assert tracker.states()["r1"].status is DG
    assert tracker.observe(poll("r1", Source.PING, 10_060.0)) == []  # no verdict from ping alone
    assert tracker.observe(poll("r1", Source.SNMP, 10_061.0, ok=False)) == []
    assert tracker.states()["r1"].status is DG


def test_restore_ignores_unknown_and_unconfigured_states() -> None:
    tracker = AvailabilityTracker({"r1": device("r1")}, POLICY, started_at=7.0)
    tracker.restore([DeviceState("r1", U, 1.0), DeviceState("gone", DN, 1.0)])
    assert tracker.states() == {"r1": DeviceState("r1", U, 7.0)}


def test_reboot_and_recovery_reported_together() -> None:
    tracker = AvailabilityTracker({"r1": device("r1", sources="s")}, POLICY)
    events = [e for r in polls("r1", "0:s+@5000 60:s- 120:s- 180:s- 240:s+@40 300:s+@100") for e in tracker.observe(r)]
    assert [e for e in events if isinstance(e, Reboot)] == [Reboot("r1", booted_at=200.0, detected_at=240.0)]
    assert [(e.old, e.new) for e in events if isinstance(e, StateChange)] == [(U, UP), (UP, DN), (DN, UP)]


def _built_now(tracker: AvailabilityTracker) -> dict[str, DeviceState]:
    return {device_id: tracker._state(track) for device_id, track in tracker._tracks.items()}


@pytest.mark.parametrize(("sources", "script", "expected", "final"), CASES)
def test_kept_states_are_never_stale(sources: str, script: str, expected: list[tuple[Status, Status, float]],
                                     final: Status) -> None:
    """States are kept between inputs (a hand-over builds only those of the devices heard since): after every
    poll, tick, agent silence and restore they equal states built afresh, and an unchanged one is the same."""
    devices = {"r1": device("r1", sources=sources), "r2": device("r2", sources=sources)}
    tracker = AvailabilityTracker(devices, POLICY)
    assert tracker.states() == _built_now(tracker)
    for result in polls("r1", script):
        before = tracker.states()
        tracker.observe(result)
        assert tracker.states() == _built_now(tracker)
        assert tracker.states()["r2"] is before["r2"]  # not heard: kept
        tracker.tick(result.started_at + 200.0)  # time edges (a failure lasting down_after_s)
        assert tracker.states() == _built_now(tracker)
        assert tracker.statuses() == {d: s.status for d, s in _built_now(tracker).items()}  # what a scrape shows
    tracker.unheard(["r1", "r2"], 10_000.0, Cause.AGENT)
    assert tracker.states() == _built_now(tracker)
    assert tracker.statuses() == {d: s.status for d, s in _built_now(tracker).items()}
    restored = AvailabilityTracker(devices, POLICY)
    restored.states()
    restored.restore(tracker.states().values())
    assert restored.states() == _built_now(restored)
