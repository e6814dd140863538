"""Each asset's condition recounted from the raw rows, without netmon.assets or the Store: plain SQL on the
outage, unknown-span, reboot, hourly-rollup, discovery and inspection tables, time counted minute by minute,
the default rules of docs/assets.md restated here, and the evidence line written again from its documented
wording. The report tests compare what `netmon report monthly` printed with this."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from netmon.model import Device, TimeZone

# docs/assets.md, the defaults
RR_BELOW, RB_BELOW = 0.97, 0.80
DOWN_RR_S, DOWN_RB_S = 86400.0, 7 * 86400.0
REBOOTS_RR, SITE_WINDOW_S = 10, 120.0
SEVERITY = {"B": 0, "RR": 1, "RB": 2}


@dataclass(frozen=True)
class Raw:
    outages: list[Any]
    gaps: list[tuple[float, float]]
    reboots: list[Any]
    rollups: list[Any]
    identities: dict[str, dict[str, Any]]
    inspections: list[Any]


@dataclass(frozen=True)
class Expected:
    suggested: str
    evidence: str
    confirmed: str | None  # the inspected condition that holds at the end
    note: str | None
    previous: str
    condition: str

    @property
    def change(self) -> str:
        return "tetap" if self.previous == self.condition else f"{self.previous} → {self.condition}"


def read(url: str) -> Raw:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        def rows(table: str) -> list[Any]:
            return list(conn.execute(sa.text(f"SELECT * FROM {table}")).mappings())

        raw = Raw(rows("outages"), [(r["start"], r["end"]) for r in rows("unknown_spans")], rows("reboots"),
                  rows("hourly_rollups"),
                  {r["device"]: json.loads(r["payload"]).get("identity", {}) for r in rows("device_discovery")
                   if r["source"] == "snmp"},
                  rows("inspections"))
    engine.dispose()
    return raw


def _minutes(start: float, end: float, gaps: list[tuple[float, float]]) -> list[float]:
    """The minutes of [start, end) the daemon was running (outside every unknown span)."""
    return [m for m in (start + 60 * i for i in range(int((end - start) // 60)))
            if not any(a <= m < b for a, b in gaps)]


def _down(raw: Raw, device: str, minutes: list[float], own: bool) -> float:
    spans = [(o["started_at"], math.inf if o["ended_at"] is None else o["ended_at"]) for o in raw.outages
             if o["device"] == device and (o["cause"] == "device") == own]
    return 60.0 * sum(1 for m in minutes if any(a <= m < b for a, b in spans))


def _same(registered: str | None, seen: str | None) -> bool:
    if not registered or not seen:
        return True
    a, b = registered.replace(" ", "").lower(), seen.replace(" ", "").lower()
    return a == b or a.endswith(b) or b.endswith(a)


def percent(ratio: float) -> str:
    if ratio >= 1:
        return "100"
    if ratio <= 0:
        return "0"
    return f"{math.floor(ratio * 1000) / 10:.1f}".replace(".", ",")


def duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} menit"
    hours = round(seconds / 3600)
    if hours < 72:
        return f"{hours} jam"
    return f"{hours // 24} hari" + (f" {hours % 24} jam" if hours % 24 else "")


def _own_reboots(raw: Raw, device: Device, devices: Mapping[str, Device], start: float, end: float) -> int:
    others = [(o["started_at"] - SITE_WINDOW_S, (math.inf if o["ended_at"] is None else o["ended_at"]) + SITE_WINDOW_S)
              for o in raw.outages if o["device"] == device.id and o["cause"] != "device"]
    neighbours = [r["booted_at"] for r in raw.reboots
                  if r["device"] != device.id and r["device"] in devices and devices[r["device"]].site == device.site]
    return sum(1 for r in raw.reboots if r["device"] == device.id and start <= r["booted_at"] < end
               and not any(a <= r["booted_at"] <= b for a, b in others)
               and not any(abs(t - r["booted_at"]) <= SITE_WINDOW_S for t in neighbours))


def suggestion(raw: Raw, device: Device, devices: Mapping[str, Device], start: float,
               end: float) -> tuple[str | None, str]:
    """(the suggested condition, None without a poll in the window; the evidence line)."""
    hours = [r for r in raw.rollups if r["device"] == device.id and start <= r["hour_start"] < end]
    ok, failed = sum(r["polls_ok"] for r in hours), sum(r["polls_failed"] for r in hours)
    if ok + failed == 0:
        return None, "tidak ada data pemantauan pada periode ini"
    assert all(r["temperature_max"] is None and r["voltage_min"] is None for r in hours)  # not in the scenario
    minutes = _minutes(start, end, raw.gaps)
    monitored = 60.0 * len(minutes)
    own, other = _down(raw, device.id, minutes, True), _down(raw, device.id, minutes, False)
    open_at_end = [o["started_at"] for o in raw.outages if o["device"] == device.id and o["cause"] == "device"
                   and o["started_at"] < end and (o["ended_at"] is None or o["ended_at"] > end)]
    reboots = _own_reboots(raw, device, devices, start, end)
    identity = raw.identities.get(device.id, {})
    verdicts, parts = [0], ["tidak terlihat sama sekali"] if ok == 0 else []
    availability = 1 - own / monitored
    if own > 0:
        verdicts.append(2 if availability < RB_BELOW else 1 if availability < RR_BELOW else 0)
        parts.append(f"gangguan perangkat {duration(own)} ({percent(availability)} % tersedia)")
    else:
        parts.append("tanpa gangguan perangkat (100 % tersedia)")
    if open_at_end:
        at_end = end - min(open_at_end)
        verdicts.append(2 if at_end >= DOWN_RB_S else 1 if at_end >= DOWN_RR_S else 0)
        parts.append(f"masih mati di akhir periode ({duration(at_end)})")
    if reboots:
        verdicts.append(1 if reboots >= REBOOTS_RR else 0)
        parts.append(f"{reboots} kali reboot")
    for field, word in (("serial", "nomor seri"), ("model", "model")):
        registered = getattr(device.asset, field)
        if not _same(registered, identity.get(field)):
            verdicts.append(1)
            parts.append(f"{word} terbaca {identity[field]} ≠ register {registered}")
    if ok == 0 and own > 0:
        verdicts.append(2)
    if other > 0:
        parts.append(f"padam karena lokasi/induk/pemeliharaan {duration(other)} (tidak dihitung)")
    if monitored / (end - start) < 0.9995:
        parts.append(f"data tidak lengkap: {percent(monitored / (end - start))} %")
    return ["B", "RR", "RB"][max(verdicts)], ", ".join(parts)


def _inspected(raw: Raw, device: str, zone: TimeZone, before: float) -> Any | None:
    """The latest inspection counting (from local midnight of its day) before `before`."""
    def midnight(day: object) -> float:
        d = day if isinstance(day, date) else date.fromisoformat(str(day))
        return datetime(d.year, d.month, d.day, tzinfo=zone.tzinfo).timestamp()

    counting = [i for i in raw.inspections if i["device"] == device and midnight(i["inspected_on"]) < before]
    return max(counting, key=lambda i: (midnight(i["inspected_on"]), i["recorded_at"]), default=None)


def expected(raw: Raw, device: Device, devices: Mapping[str, Device], zone: TimeZone,
             window: tuple[float, float], previous: tuple[float, float],
             previous_condition: str | None = None) -> Expected:
    """The condition for `window`; the previous one from `previous` (its inspection, else its suggestion,
    else B), unless given."""
    suggested_then, _ = suggestion(raw, device, devices, *previous)
    then = _inspected(raw, device.id, zone, previous[1])
    before = previous_condition or (then["condition"] if then else suggested_then or "B")
    suggested, evidence = suggestion(raw, device, devices, *window)
    now = _inspected(raw, device.id, zone, window[1])
    suggested = suggested or before
    return Expected(suggested, evidence, now["condition"] if now else None, now["note"] if now else None, before,
                    now["condition"] if now else suggested)
