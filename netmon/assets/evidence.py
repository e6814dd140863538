"""The facts about each asset in one period [start, end), from stored history only, and their evidence line.

`gather` reads storage in a handful of queries for all devices (outages, reboots, unknown spans, hourly
rollup totals, stored discoveries) and computes per device (`Facts`):

- monitored time: the period less the time the daemon was not running (unknown spans); nothing is known then,
  so it counts neither as downtime nor as uptime;
- own downtime: the device's outage spans with cause `device`, clipped to the period, less unknown spans;
  `site`, `parent` and `maintenance` spans are not the asset's failure and are counted apart (other downtime);
  availability = 1 - own downtime / monitored time;
- down at end: a `device` span still open at the period's end (or ending after it), and how long it had lasted;
- reboots: reboots booted in the period, except those inside (or within `reboots.site_window_s` of) one of the
  device's site, parent or maintenance outages, and those within `site_window_s` of another device of the same
  site rebooting (the site's power, not the asset); reboot loops: runs of at least `loop_count` of these
  within `loop_window_s`;
- temperature and voltage excursions: hours whose maximum temperature was above `temperature.above_c`, or
  whose minimum voltage was below `voltage.below_v` (the hourly rollups);
- polls answered and failed (the rollups), the last good poll;
- identity: the serial and model read from the device by SNMP discovery (the latest stored one; RouterOS
  discovery is not stored), and which of them differ from the register (equal ignoring case and spaces, or
  one ending with the other: "MikroTik RB951" ~ "RB951").

`evidence_line` writes them as one Indonesian line, e.g. "gangguan perangkat 31 jam (95,7 % tersedia), 4 kali
reboot".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netmon.config.assets import ConditionRules
from netmon.model import Cause, Device, Outage, Reboot, Source
from netmon.storage import Store

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Facts:
    device: str
    period_s: float
    monitored_s: float
    polls_ok: int = 0
    polls_failed: int = 0
    own_down_s: float = 0.0
    other_down_s: float = 0.0
    down_at_end_s: float | None = None
    reboots: int = 0
    reboot_loops: int = 0
    hot_s: float = 0.0
    temperature_max: float | None = None
    low_voltage_s: float = 0.0
    voltage_min: float | None = None
    last_ok_at: float | None = None
    serial_seen: str | None = None
    model_seen: str | None = None
    mismatch: tuple[str, ...] = ()  # "serial", "model"
    register_serial: str | None = None
    register_model: str | None = None

    @property
    def has_data(self) -> bool:
        return self.polls_ok + self.polls_failed > 0

    @property
    def availability(self) -> float | None:
        """Share of the monitored time the device was not down by its own failure; None when unmonitored."""
        if self.monitored_s <= 0:
            return None
        return max(0.0, 1.0 - self.own_down_s / self.monitored_s)

    @property
    def coverage(self) -> float:
        return self.monitored_s / self.period_s if self.period_s > 0 else 0.0


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def covered_s(intervals: Iterable[Interval], start: float, end: float, holes: Iterable[Interval] = ()) -> float:
    """Seconds of [start, end) inside the union of `intervals` and outside the union of `holes`."""
    total = 0.0
    gaps = merged(holes)
    for a, b in merged((max(a, start), min(b, end)) for a, b in intervals):
        total += b - a - sum(max(0.0, min(b, y) - max(a, x)) for x, y in gaps)
    return total


def _span(o: Outage, end: float) -> Interval:
    return o.started_at, end if o.ended_at is None else o.ended_at


def identity_seen(payload: str) -> tuple[str | None, str | None]:
    """(serial, model) from a stored SNMP discovery's `identity` object (collectors/snmp/stored.py); (None,
    None) when it is not readable."""
    try:
        identity = json.loads(payload)["identity"]
        serial, model = identity.get("serial"), identity.get("model")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None
    return (serial if isinstance(serial, str) and serial else None,
            model if isinstance(model, str) and model else None)


def same(registered: str | None, seen: str | None) -> bool:
    """Serial or model equal, ignoring case and spaces, or one ending with the other; nothing to compare is
    the same."""
    if not registered or not seen:
        return True
    a, b = "".join(registered.split()).casefold(), "".join(seen.split()).casefold()
    return a == b or a.endswith(b) or b.endswith(a)


def own_reboots(reboots: Iterable[Reboot], outages: Iterable[Outage], devices: Mapping[str, Device],
                window_s: float, end: float) -> dict[str, list[float]]:
    """Boot times per device that are the device's own (module docstring), sorted."""
    others: dict[str, list[Interval]] = {}
    for o in outages:
        if o.cause is not Cause.DEVICE:
            a, b = _span(o, end)
            others.setdefault(o.device, []).append((a - window_s, b + window_s))
    by_site: dict[str, list[tuple[float, str]]] = {}
    boots = [r for r in reboots if r.device in devices]
    for r in boots:
        by_site.setdefault(devices[r.device].site, []).append((r.booted_at, r.device))
    out: dict[str, list[float]] = {}
    for r in boots:
        at = r.booted_at
        if any(a <= at <= b for a, b in others.get(r.device, ())):
            continue
        if any(d != r.device and abs(t - at) <= window_s for t, d in by_site[devices[r.device].site]):
            continue
        out.setdefault(r.device, []).append(at)
    return {d: sorted(ts) for d, ts in out.items()}


def reboot_loops(boots: list[float], count: int, window_s: float) -> int:
    """Runs of at least `count` boots each within `window_s` of the run's first; one run counts once."""
    loops, i = 0, 0
    while i < len(boots):
        j = i + count - 1
        if j < len(boots) and boots[j] - boots[i] <= window_s:
            loops += 1
            while j + 1 < len(boots) and boots[j + 1] - boots[j] <= window_s:
                j += 1
            i = j + 1
        else:
            i += 1
    return loops


def gather(store: Store, devices: Mapping[str, Device], start: float, end: float,
           rules: ConditionRules) -> dict[str, Facts]:
    """The facts of every device in `devices` for [start, end) (module docstring)."""
    outages = [o for o in store.outages(since=start) if o.started_at < end and o.device in devices]
    unknown = [(s.start, s.end) for s in store.unknown_spans(since=start) if s.start < end]
    totals = store.rollup_totals(start, end, temperature_above=rules.temperature.above_c,
                                 voltage_below=rules.voltage.below_v)
    r = rules.reboots
    boots = own_reboots(store.reboots(since=start, until=end), outages, devices, r.site_window_s, end)
    seen = {d.device: identity_seen(d.payload) for d in store.load_discoveries(Source.SNMP)}
    monitored = (end - start) - covered_s(unknown, start, end)
    by_device: dict[str, list[Outage]] = {}
    for o in outages:
        by_device.setdefault(o.device, []).append(o)
    facts = {}
    for device_id, device in devices.items():
        own = [o for o in by_device.get(device_id, []) if o.cause is Cause.DEVICE]
        other = [o for o in by_device.get(device_id, []) if o.cause is not Cause.DEVICE]
        open_at_end = [o for o in own if o.ended_at is None or o.ended_at > end]
        t = totals.get(device_id)
        serial, model = seen.get(device_id, (None, None))
        a = device.asset
        mismatch = tuple(name for name, ok in (("serial", same(a.serial, serial)), ("model", same(a.model, model)))
                         if not ok)
        device_boots = boots.get(device_id, [])
        facts[device_id] = Facts(
            device=device_id, period_s=end - start, monitored_s=monitored,
            polls_ok=t.polls_ok if t else 0, polls_failed=t.polls_failed if t else 0,
            own_down_s=covered_s((_span(o, end) for o in own), start, end, unknown),
            other_down_s=covered_s((_span(o, end) for o in other), start, end, unknown),
            down_at_end_s=end - min(o.started_at for o in open_at_end) if open_at_end else None,
            reboots=len(device_boots), reboot_loops=reboot_loops(device_boots, r.loop_count, r.loop_window_s),
            hot_s=(t.hot_hours if t else 0) * 3600.0, temperature_max=t.temperature_max if t else None,
            low_voltage_s=(t.low_voltage_hours if t else 0) * 3600.0, voltage_min=t.voltage_min if t else None,
            last_ok_at=t.last_ok_at if t else None, serial_seen=serial, model_seen=model, mismatch=mismatch,
            register_serial=a.serial, register_model=a.model)
    return facts


# --- the evidence line (Bahasa Indonesia) -------------------------------------------------------------------

def number(value: float, decimals: int = 1) -> str:
    """"95,7", "1.234": Indonesian separators (a comma for decimals, a dot for thousands)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def percent(ratio: float) -> str:
    """Rounded down to a tenth, so an asset that was down never reads "100 %"; "100" when it never was."""
    if ratio >= 1.0:
        return "100"
    if ratio <= 0.0:
        return "0"
    return number(math.floor(ratio * 1000) / 10)


def duration(seconds: float) -> str:
    """"45 menit", "31 jam", "4 hari 3 jam"."""
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} menit"
    hours = round(seconds / 3600)
    if hours < 72:
        return f"{hours} jam"
    days, rest = divmod(hours, 24)
    return f"{days} hari" + (f" {rest} jam" if rest else "")


def evidence_line(f: Facts, rules: ConditionRules) -> str:
    if not f.has_data:
        return "tidak ada data pemantauan pada periode ini"
    parts = [*_downtime_parts(f), *_health_parts(f, rules)]
    if "serial" in f.mismatch:
        parts.append(f"nomor seri terbaca {f.serial_seen} ≠ register {f.register_serial}")
    if "model" in f.mismatch:
        parts.append(f"model terbaca {f.model_seen} ≠ register {f.register_model}")
    if f.other_down_s > 0:
        parts.append(f"padam karena lokasi/induk/pemeliharaan {duration(f.other_down_s)} (tidak dihitung)")
    if f.coverage < 0.9995:
        parts.append(f"data tidak lengkap: {percent(f.coverage)} %")
    return ", ".join(parts)


def _downtime_parts(f: Facts) -> list[str]:
    """Not seen, the device's own downtime, still down at the end."""
    parts = []
    if f.polls_ok == 0:
        parts.append("tidak terlihat sama sekali")
    availability = f.availability
    if f.own_down_s > 0 and availability is not None:
        parts.append(f"gangguan perangkat {duration(f.own_down_s)} ({percent(availability)} % tersedia)")
    else:
        parts.append("tanpa gangguan perangkat (100 % tersedia)")
    if f.down_at_end_s is not None:
        parts.append(f"masih mati di akhir periode ({duration(f.down_at_end_s)})")
    return parts


def _health_parts(f: Facts, rules: ConditionRules) -> list[str]:
    """Reboots, loops, heat and low voltage."""
    parts = []
    if f.reboots:
        parts.append(f"{f.reboots} kali reboot")
    if f.reboot_loops:
        parts.append(f"reboot berulang {f.reboot_loops} kali")
    if f.hot_s > 0:
        peak = f" (maks {number(f.temperature_max)} °C)" if f.temperature_max is not None else ""
        parts.append(f"suhu di atas {number(rules.temperature.above_c, 0)} °C selama {duration(f.hot_s)}{peak}")
    if f.low_voltage_s > 0:
        low = f" (min {number(f.voltage_min)} V)" if f.voltage_min is not None else ""
        parts.append(f"tegangan di bawah {number(rules.voltage.below_v)} V selama {duration(f.low_voltage_s)}{low}")
    return parts

