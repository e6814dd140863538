"""StateKeeper alone, with the real trackers and recording outputs: what is stored, published and handed to
the alerts, and the throttle on re-deriving outages (driven by the event loop's clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from state_helpers import device, poll, site

from netmon.model import DeviceState, Outage, Reboot, Source, StateChange, StatePolicy, Status
from netmon.state import AvailabilityTracker, OutageTracker
from netmon.state.keeper import HANDOVER_SPACING, OUTAGES_EVERY_S, StateKeeper, StateOutputs

T0 = 1_780_000_000.0


class Recorder:
    def __init__(self) -> None:
        self.stored: list[object] = []
        self.published: list[tuple[str, Status]] = []
        self.outages: list[tuple[str, str, bool]] = []
        self.reboots: list[Reboot] = []
        self.views: list[tuple[dict[str, Status], list[str], float]] = []

    def outputs(self) -> StateOutputs:
        return StateOutputs(store=self.stored.append, on_state=self.on_state, on_outage=self.on_outage,
                            on_reboot=self.reboots.append, on_states=self.on_states)

    def on_state(self, device_id: str, state: DeviceState) -> None:
        self.published.append((device_id, state.status))

    def on_outage(self, outage: Outage) -> None:
        self.outages.append((outage.device, outage.cause.value, outage.ended_at is None))

    def on_states(self, states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float) -> None:
        self.views.append(({d: s.status for d, s in states.items()}, [o.device for o in outages], at))


def keeper(rec: Recorder) -> StateKeeper:
    devices = {"r1": device("r1"), "ap1": device("ap1", parent="r1")}
    sites = {"s1": site("s1")}
    policy = StatePolicy(down_after_failures=2, down_after_s=600, up_after_successes=1)
    return StateKeeper(AvailabilityTracker(devices, policy, started_at=T0), OutageTracker(devices, sites, (),
                       policy=policy), rec.outputs(), devices)


def test_state_changes_are_stored_published_and_outages_handed_to_the_alerts() -> None:
    rec = Recorder()
    k = keeper(rec)
    k.observe(poll("r1", Source.PING, T0 + 1))
    k.observe(poll("ap1", Source.PING, T0 + 1))
    assert rec.published == [("r1", Status.UP), ("ap1", Status.UP)]
    assert [type(r).__name__ for r in rec.stored] == ["StateChange", "DeviceState"] * 2
    assert rec.views[-1][0] == {"r1": Status.UP, "ap1": Status.UP} and rec.views[-1][1] == []

    for at in (T0 + 61, T0 + 121):
        k.observe(poll("ap1", Source.PING, at, ok=False))
    assert rec.published[-1] == ("ap1", Status.DOWN)
    assert rec.outages == [("ap1", "device", True)]
    assert rec.views[-1][1] == ["ap1"] and rec.views[-1][2] == T0 + 121.1
    assert any(isinstance(r, Outage) for r in rec.stored)

    k.observe(poll("ap1", Source.PING, T0 + 181))
    assert rec.outages[-1] == ("ap1", "device", False)
    assert rec.views[-1][1] == ["ap1"]  # the outage just closed still dates the recovery
    assert k.open_outages() == []


def test_a_reboot_is_stored_counted_and_handed_on_without_re_deriving_outages() -> None:
    rec = Recorder()
    k = keeper(rec)
    k.observe(poll("r1", Source.PING, T0 + 1, uptime=5000))
    views = len(rec.views)
    k.observe(poll("r1", Source.PING, T0 + 61, uptime=30))
    assert [r.device for r in rec.reboots] == ["r1"]
    assert k.reboots == {"r1": 1, "ap1": 0}
    assert isinstance(rec.stored[-1], Reboot)
    assert len(rec.views) == views


def test_restore_adopts_stored_states() -> None:
    rec = Recorder()
    k = keeper(rec)
    k.restore([DeviceState("r1", Status.DOWN, T0 - 600)], [])
    assert k.states()["r1"].status is Status.DOWN
    assert not any(isinstance(r, StateChange) for r in rec.stored)


async def test_in_the_event_loop_a_burst_of_changes_re_derives_outages_once_per_second() -> None:
    rec = Recorder()
    k = keeper(rec)
    k.observe(poll("r1", Source.PING, T0 + 1))  # first pass: at once
    k.observe(poll("ap1", Source.PING, T0 + 1))  # within the second: waits
    assert len(rec.views) == 1
    await asyncio.sleep(OUTAGES_EVERY_S + 0.2)
    assert len(rec.views) == 2 and rec.views[-1][0] == {"r1": Status.UP, "ap1": Status.UP}
    k.flush()  # nothing pending: nothing more
    assert len(rec.views) == 2


async def test_a_hand_over_that_costs_much_spaces_the_next_ones_out() -> None:
    """A hand-over re-derives the whole fleet: the next waits HANDOVER_SPACING x its CPU time when that is more
    than a second (here each costs 0.3 s by the injected CPU clock: 3 s apart)."""
    rec = Recorder()
    devices = {"r1": device("r1"), "ap1": device("ap1", parent="r1")}
    policy = StatePolicy(down_after_failures=2, down_after_s=600, up_after_successes=1)
    cpu = iter(x * 0.3 for x in range(100))
    k = StateKeeper(AvailabilityTracker(devices, policy, started_at=T0),
                    OutageTracker(devices, {"s1": site("s1")}, (), policy=policy), rec.outputs(), devices,
                    cpu_clock=lambda: next(cpu))
    k.observe(poll("r1", Source.PING, T0 + 1))  # the first: at once
    assert len(rec.views) == 1 and k.handover_every_s == HANDOVER_SPACING * 0.3
    k.observe(poll("ap1", Source.PING, T0 + 1))
    await asyncio.sleep(OUTAGES_EVERY_S + 0.2)
    assert len(rec.views) == 1  # a second later: still waiting (3 s)
    k.flush()  # shutdown: what is pending goes now
    assert len(rec.views) == 2 and rec.views[-1][0] == {"r1": Status.UP, "ap1": Status.UP}


def agent_keeper(rec: Recorder, judged: set[str]) -> StateKeeper:
    """Office router `o1` at site s0; a site agent `a1` polls r2 and ap2 at site s2."""
    devices = {"o1": device("o1", site="s0"), "r2": device("r2", site="s2"),
               "ap2": device("ap2", site="s2", parent="r2")}
    sites = {"s0": site("s0"), "s2": site("s2")}
    policy = StatePolicy(down_after_failures=2, down_after_s=600, up_after_successes=1)
    outputs = StateOutputs(store=rec.stored.append, on_state=rec.on_state, on_outage=rec.on_outage,
                           on_reboot=rec.reboots.append, on_states=rec.on_states, judged=judged.__contains__)
    return StateKeeper(AvailabilityTracker(devices, policy, started_at=T0), OutageTracker(devices, sites, (),
                       policy=policy), outputs, devices, agent_of={"r2": "a1", "ap2": "a1"})


def test_an_agent_not_judged_has_its_history_derived_but_nothing_handed_to_the_alerts() -> None:
    """A catching-up agent's backlog: outages opened and closed at the agent's times, stored and published,
    and `on_states` (the whole fleet's states, for the alerts) not called for it."""
    rec = Recorder()
    k = agent_keeper(rec, judged=set())
    for minute in range(6):
        at = T0 + 60 * minute
        k.observe(poll("r2", Source.PING, at))
        k.observe(poll("ap2", Source.PING, at + 1, ok=minute not in (2, 3)))
        k.advance("a1", at + 1)
    assert rec.outages == [("ap2", "device", True), ("ap2", "device", False)]
    closed = [r for r in rec.stored if isinstance(r, Outage) and r.ended_at is not None]
    assert [(o.started_at, o.ended_at) for o in closed] == [(T0 + 121, T0 + 241)]
    assert rec.views == []

    judged = set()
    k = agent_keeper(rec := Recorder(), judged)
    judged.add("a1")  # live: the same inputs reach the alerts
    k.observe(poll("r2", Source.PING, T0))
    assert rec.views and rec.views[-1][0]["r2"] is Status.UP and rec.views[-1][0]["o1"] is Status.UNKNOWN


def test_the_lazy_view_of_states_agrees_with_the_states() -> None:
    rec = Recorder()
    k = agent_keeper(rec, judged=set())
    k.observe(poll("r2", Source.PING, T0))
    k.observe(poll("o1", Source.PING, T0, ok=False))
    view = k.availability.view()
    assert dict(view) == k.states() and len(view) == 3 and set(view) == {"o1", "r2", "ap2"}
    assert view.get("nope") is None


async def test_a_live_agents_burst_reaches_the_alerts_once_per_second_and_its_view_is_taken_in_order() -> None:
    """Every device of a live agent coming up is one state change each: the alerts get one fleet-wide hand-over
    per `OUTAGES_EVERY_S`, not one per change. The agent's devices' states are noted at once, so an agent that
    stops being live before the hand-over is seen as it was at its last change (the gate's frozen view)."""
    from netmon.agents.gate import AlertGate

    live = {"a1"}
    gate = AlertGate({"r2": "a1", "ap2": "a1"}, live.__contains__, late_after_s=120)
    seen: list[tuple[dict[str, Status], float]] = []

    def alerts(states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float,
               delays: Mapping[str, float]) -> None:
        seen.append(({d: s.status for d, s in states.items()}, at))

    rec = Recorder()
    devices = {"o1": device("o1", site="s0"), "r2": device("r2", site="s2"),
               "ap2": device("ap2", site="s2", parent="r2")}
    policy = StatePolicy(down_after_failures=2, down_after_s=600, up_after_successes=1)
    k = StateKeeper(AvailabilityTracker(devices, policy, started_at=T0),
                    OutageTracker(devices, {"s0": site("s0"), "s2": site("s2")}, (), policy=policy),
                    StateOutputs(store=rec.stored.append, on_states=gate.states(alerts), judged=gate.judges,
                                 on_agent_states=gate.note),
                    devices, agent_of={"r2": "a1", "ap2": "a1"})
    k.observe(poll("r2", Source.PING, T0))  # the first hand-over: at once
    k.observe(poll("ap2", Source.PING, T0 + 1))  # within the second: noted, handed over later
    k.observe(poll("ap2", Source.PING, T0 + 61, ok=False))
    k.observe(poll("ap2", Source.PING, T0 + 121, ok=False))  # DOWN
    assert len(seen) == 1 and seen[0][0]["r2"] is Status.UP and seen[0][0]["ap2"] is Status.UNKNOWN
    live.clear()  # the agent goes silent before the hand-over
    k.observe(poll("ap2", Source.PING, T0 + 181))  # (a late result of a silent agent: not judged)
    await asyncio.sleep(OUTAGES_EVERY_S + 0.2)
    assert len(seen) == 2
    assert seen[-1][0]["ap2"] is Status.DOWN and seen[-1][1] == T0 + 121.1  # as it was when last live
    assert k.states()["ap2"].status is Status.UP  # while history has it back
