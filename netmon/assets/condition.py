"""Each asset's condition for a period, suggested from stored history and confirmed by a person.

The contract the monthly report calls::

    assess(store: Store, devices: Mapping[str, Device], start: float, end: float, rules: ConditionRules,
           *, previous_start: float | None = None) -> dict[str, AssetCondition]

For every device in `devices` and the period [start, end) (unix seconds; a month in the kabupaten's zone),
an `AssetCondition` (netmon.model) with:

- `suggested`: the worst verdict of the rules below over the facts of the period (`netmon.assets.evidence`);
- `evidence`: those facts in one Indonesian line ("gangguan perangkat 31 jam (95,7 % tersedia), 4 kali
  reboot");
- `confirmed`: the latest field inspection that counts from before `end` (recorded with `netmon assets
  inspect`; it counts from local midnight of its day), or None. `AssetCondition.condition` is the confirmed
  condition where there is one, else the suggestion;
- `previous`: the previous period's resulting condition (its confirmed one, else its suggestion), the
  previous period being [previous_start, start), by default as long as this one (the report passes the
  previous calendar month's start).

The rules (`assets.condition` in the config; defaults in brackets; docs/assets.md):

| rule | verdict |
|---|---|
| availability of the device itself below `availability.rr_below` (0.97) / `rb_below` (0.80) | RR / RB |
| own outage still open at the end after `down_at_end.rr_s` (1 day) / `rb_s` (7 days) | RR / RB |
| `reboots.rr_count` (10) own reboots or more | RR |
| a reboot loop: `reboots.loop_count` (3) within `reboots.loop_window_s` (1 h) | `reboots.loop` (RR) |
| temperature above `temperature.above_c` (70 °C) for `temperature.rr_s` (3 h) or more | RR |
| voltage below `voltage.below_v` (10.5 V) for `voltage.rr_s` (3 h) or more | RR |
| serial or model read from the device differs from the register | `identity_mismatch` (RR) |
| polled but not one poll answered, with downtime of its own | `not_seen` (RB) |
| none of these | B |

A period without any poll of the device (the daemon off, the device not yet in the inventory) has no
evidence: the suggestion is then the previous period's condition (B when there is none), and the evidence
says so. Interfaces or radios down while the site is up are not among the rules: storage keeps no history of
interface states.
"""

from __future__ import annotations

from collections.abc import Mapping

from netmon.assets.evidence import Facts, evidence_line, gather
from netmon.config.assets import ConditionRules
from netmon.model import AssetCondition, Condition, Device, Inspection
from netmon.storage import Store

SEVERITY = {Condition.GOOD: 0, Condition.MINOR: 1, Condition.MAJOR: 2}


def worst(conditions: list[Condition]) -> Condition:
    return max(conditions, key=SEVERITY.__getitem__, default=Condition.GOOD)


def verdicts(f: Facts, rules: ConditionRules) -> list[Condition]:
    """What each rule says about the facts (an empty list: every rule finds the asset good)."""
    found = _downtime_verdicts(f, rules)
    if f.reboots >= rules.reboots.rr_count:
        found.append(Condition.MINOR)
    if f.reboot_loops:
        found.append(rules.reboots.loop)
    if f.hot_s >= rules.temperature.rr_s:
        found.append(Condition.MINOR)
    if f.low_voltage_s >= rules.voltage.rr_s:
        found.append(Condition.MINOR)
    if f.mismatch:
        found.append(rules.identity_mismatch)
    if f.has_data and f.polls_ok == 0 and f.own_down_s > 0:
        found.append(rules.not_seen)
    return found


def _downtime_verdicts(f: Facts, rules: ConditionRules) -> list[Condition]:
    """The availability and down-at-end rules."""
    found: list[Condition] = []
    availability = f.availability
    if availability is not None and f.own_down_s > 0:
        if availability < rules.availability.rb_below:
            found.append(Condition.MAJOR)
        elif availability < rules.availability.rr_below:
            found.append(Condition.MINOR)
    if f.down_at_end_s is not None:
        if f.down_at_end_s >= rules.down_at_end.rb_s:
            found.append(Condition.MAJOR)
        elif f.down_at_end_s >= rules.down_at_end.rr_s:
            found.append(Condition.MINOR)
    return found


def suggest(f: Facts, rules: ConditionRules, previous: Condition | None) -> Condition:
    if not f.has_data:
        return previous or Condition.GOOD
    return worst(verdicts(f, rules))


def _latest(inspections: list[Inspection]) -> dict[str, Inspection]:
    return {i.device: i for i in inspections}  # ordered by effect: the last one per device holds


def assess(store: Store, devices: Mapping[str, Device], start: float, end: float, rules: ConditionRules,
           *, previous_start: float | None = None) -> dict[str, AssetCondition]:
    """Each device's condition for [start, end) (module docstring)."""
    before = previous_start if previous_start is not None else start - (end - start)
    confirmed_then = _latest(store.inspections(before=start))
    confirmed_now = _latest(store.inspections(before=end))
    previous_facts = gather(store, devices, before, start, rules)
    facts = gather(store, devices, start, end, rules)
    out = {}
    for device_id in devices:
        then = confirmed_then.get(device_id)
        previous = then.condition if then else suggest(previous_facts[device_id], rules, None)
        f = facts[device_id]
        out[device_id] = AssetCondition(device_id, suggest(f, rules, previous), evidence_line(f, rules),
                                        confirmed_now.get(device_id), previous)
    return out
