"""The state keeper does what changed, not the fleet: a time edge judges only devices with a failing source
(or not yet judged again after `unheard`), and a re-derivation of the office's outages only the devices whose
state changed since the last one and those with an open outage (docs/performance.md). This must change nothing
anyone sees: the same seeded random days, run by the keeper and by a reference that judges every device on
every tick and re-derives every outage, store the same records and hand the alerts the same states."""

from __future__ import annotations

import itertools
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import pytest
from state_helpers import device, site

from netmon.errors import DeviceUnreachable
from netmon.model import Device, DeviceState, Outage, PollResult, Role, Site, Source, StateChange, StatePolicy
from netmon.state.availability import AvailabilityTracker
from netmon.state.keeper import StateKeeper, StateOutputs
from netmon.state.outage import OutageTracker

DAY = 1_780_000_000.0


def fleet() -> tuple[dict[str, Site], dict[str, Device]]:
    """Six sites of a router and an AP behind it (the AP's parent), two kecamatan."""
    sites = {f"s{n}": site(f"s{n}", kecamatan=f"k{n % 2}") for n in range(6)}
    devices: dict[str, Device] = {}
    for site_id in sites:
        devices[f"{site_id}-router"] = device(f"{site_id}-router", site_id)
        devices[f"{site_id}-ap"] = device(f"{site_id}-ap", site_id, parent=f"{site_id}-router", role=Role.AP)
    return sites, devices


class TickingEverything(AvailabilityTracker):
    def tick(self, at: float, only: Iterable[str] | None = None) -> list[StateChange]:
        self._timed = set(self._tracks) if only is None else {d for d in only if d in self._tracks}
        return super().tick(at, only)


class RederivingEverything(StateKeeper):
    def _office_due(self) -> Collection[str] | None:
        self._touched = set()
        return self._office


Handed = list[tuple[dict[str, DeviceState], list[Outage], float]]


def _run(seed: int, *, reference: bool) -> tuple[list[object], Handed]:
    sites, devices = fleet()
    counter = itertools.count(1)
    stored: list[object] = []
    handed: Handed = []

    def on_states(states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float) -> None:
        handed.append((dict(states), list(outages), at))

    policy = StatePolicy(down_after_failures=3, down_after_s=100.0)
    tracker = (TickingEverything if reference else AvailabilityTracker)(devices, policy, started_at=DAY)
    outages = OutageTracker(devices, sites, (), new_id=lambda: f"out-{next(counter)}", policy=policy)
    keeper = (RederivingEverything if reference else StateKeeper)(
        tracker, outages, StateOutputs(store=stored.append, on_states=on_states), devices)
    rng = random.Random(seed)
    dead: set[str] = set()
    ids = sorted(devices)
    now = DAY
    for minute in range(240):
        roll = rng.random()
        if roll < 0.15:
            dead.add(rng.choice(ids))
        elif roll < 0.22:
            dead.update(_site(devices, rng.choice(sorted(sites))))
        elif roll < 0.4:
            dead.difference_update(rng.sample(ids, k=rng.randint(1, 4)))
        for device_id in ids:
            if rng.random() < 0.8:  # not every device every minute: the time rule has work to do
                at = now + rng.uniform(0, 50)
                error = DeviceUnreachable("no reply") if device_id in dead else None
                keeper.observe(PollResult(device_id, Source.PING, at, 0.05, error=error))
        now += 60.0
        keeper.tick(now)
        if minute % 30 == 29:
            dead.clear()  # what was down comes back
    return stored, handed


def _site(devices: Mapping[str, Device], site: str) -> list[str]:
    return [d.id for d in devices.values() if d.site == site]


@pytest.mark.parametrize("seed", range(4))
def test_judging_what_changed_changes_nothing_anyone_sees(seed: int) -> None:
    stored, handed = _run(seed, reference=False)
    stored_ref, handed_ref = _run(seed, reference=True)
    assert stored == stored_ref
    assert handed == handed_ref
    assert any(isinstance(r, Outage) and r.ended_at is not None for r in stored), "no outage closed: proves little"
    assert any(isinstance(r, StateChange) and "failing for" in r.reason for r in stored), \
        "no device went down by the time rule: the tick proved nothing"


def test_a_tick_judges_only_devices_with_a_failing_source() -> None:
    _, devices = fleet()
    tracker = AvailabilityTracker(devices, StatePolicy(down_after_failures=5, down_after_s=120.0), started_at=DAY)
    ids = sorted(devices)
    for device_id in ids:
        tracker.observe(PollResult(device_id, Source.PING, DAY + 10, 0.05))
    tracker.observe(PollResult(ids[0], Source.PING, DAY + 70, 0.05, error=DeviceUnreachable("no reply")))
    judged: list[str] = []
    evaluate = tracker._evaluate

    def judging(track: Any, at: float) -> StateChange | None:
        judged.append(track.device.id)
        return evaluate(track, at)

    tracker._evaluate = judging  # type: ignore[method-assign]
    assert [c.device for c in tracker.tick(DAY + 200)] == [ids[0]]  # down by the time rule
    assert judged == [ids[0]]
    judged.clear()
    tracker.observe(PollResult(ids[0], Source.PING, DAY + 260, 0.05))  # answers again: nothing left to time
    judged.clear()
    assert tracker.tick(DAY + 400) == [] and judged == []
