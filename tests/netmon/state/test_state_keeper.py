"""StateKeeper alone, with the real trackers and recording outputs: what is stored, published and handed to
the alerts, and the throttle on re-deriving outages (driven by the event loop's clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from state_helpers import device, poll, site

from netmon.model import DeviceState, Outage, Reboot, Source, StateChange, StatePolicy, Status
from netmon.state import AvailabilityTracker, OutageTracker
from netmon.state.keeper import OUTAGES_EVERY_S, StateKeeper, StateOutputs

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
