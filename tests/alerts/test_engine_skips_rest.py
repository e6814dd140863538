"""The engine steps only alerts that can move (an active verdict, or a track not at rest), and a hand-over of
the states judges again only the devices whose state or outage changed: a tick or a hand-over costs what is
happening, not the fleet. This must change nothing people see: the same seeded random days, run by the engine
and by reference engines that step every alert or judge every device and site on every hand-over, give the
same events, incident changes and ticket actions."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import pytest
from alert_day import Day, config, engine_for, wib

from alerts.availability import StandingVerdicts
from alerts.engine import AlertEngine, AlertOutput
from alerts.rules import IDLE_AP, RuleSettings, Verdict
from alerts.signal import Key, SignalBook
from netmon.model import DeviceState, Outage, PollResult, Sample, Source


class SteppingEverything(AlertEngine):
    def _moves(self, key: Key, verdict: Verdict) -> bool:
        return True


class JudgingEverything(AlertEngine):
    """Judges every device and site afresh on each hand-over: every standing verdict is news, and stepped."""

    def observe_state(self, states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float,
                      delays: Mapping[str, float] | None = None) -> AlertOutput:
        self._judge = StandingVerdicts(self._devices, self._sites)
        return super().observe_state(states, outages, at, delays)


def _day(seed: int, reference: type[AlertEngine] | None) -> Day:
    day = Day.start()
    if reference is not None:
        day.engine = engine_for(day.devices, day.sites, config(), kind=reference)
    rng = random.Random(seed)
    hot: set[str] = set()
    wifi: dict[str, int] = {}

    def samples(device: str, at: float) -> tuple[Sample, ...]:
        out = [Sample("netmon_device_temperature_celsius", 80.0 if device in hot else 45.0)]
        if device.endswith("-ap"):
            out.append(Sample("netmon_wifi_clients", wifi.get(device, 0), (("interface", "wlan1"),)))
        return tuple(out)

    day.samples = samples
    devices = sorted(day.devices)
    sites = sorted(day.sites)
    day.now = wib("06:00")  # the idle-AP rule counts in opening hours only
    for _ in range(80):  # random happenings 1-12 minutes apart (blips shorter than a tolerance among them)
        roll = rng.random()
        if roll < 0.25:
            day.fail(rng.choice(devices))
        elif roll < 0.35:
            day.fail(*day.site_devices(rng.choice(sites)))
        elif roll < 0.45:
            day.fail(*day.site_devices(*sites[:5]))  # the kecamatan: an area
        elif roll < 0.7:
            day.repair(*rng.sample(devices, k=rng.randint(1, len(devices))))
        elif roll < 0.8:
            (hot.add if rng.random() < 0.6 else hot.discard)(rng.choice(devices))
        else:
            wifi[rng.choice([d for d in devices if d.endswith("-ap")])] = rng.choice([0, 0, 3])
        for _ in range(rng.randint(1, 12)):
            day.now += 60
            day.minute()
    day.repair(*devices)
    hot.clear()
    for _ in range(30):  # what resolves, resolves
        day.now += 60
        day.minute()
    return day


@pytest.mark.parametrize("kind", [SteppingEverything, JudgingEverything])
@pytest.mark.parametrize("seed", range(4))
def test_skipping_alerts_at_rest_changes_nothing_people_see(seed: int, kind: type[AlertEngine]) -> None:
    fast, reference = _day(seed, reference=None), _day(seed, reference=kind)
    assert isinstance(reference.engine, kind)
    assert fast.out.events == reference.out.events
    assert fast.changes() == reference.changes()
    assert fast.actions() == reference.actions()
    assert fast.engine.open_incidents() == reference.engine.open_incidents()
    assert fast.out.events, "the day raised nothing: the comparison would prove nothing"
    assert fast.changes("resolved"), "nothing resolved: the comparison would prove little"


def test_a_tick_leaves_out_aps_with_a_recent_client_whose_alert_is_at_rest() -> None:
    day = Day.start()
    book = SignalBook(day.devices, RuleSettings(), ())
    aps = sorted(d for d in day.devices if d.endswith("-ap"))
    at = wib("10:00")
    for n, ap in enumerate(aps):  # the first AP has a client, the others none
        book.observe(PollResult(ap, Source.SNMP, at, 0.05,
                                (Sample("netmon_wifi_clients", 3.0 if n == 0 else 0.0, (("interface", "wlan1"),)),)))
    later = at + 600
    everything = book.timed({}, later)
    assert {key for key in everything if key[0] == IDLE_AP} == {(IDLE_AP, ap) for ap in aps}
    assert everything[(IDLE_AP, aps[0])].active is False
    skipped = book.timed({}, later, restless=set())
    assert {key for key in skipped if key[0] == IDLE_AP} == {(IDLE_AP, ap) for ap in aps[1:]}
    kept = book.timed({}, later, restless={(IDLE_AP, aps[0])})  # its alert is clearing: it needs the verdict
    assert kept[(IDLE_AP, aps[0])] == everything[(IDLE_AP, aps[0])]
