"""A province's month of stored history, generated (seeded) and written through `Store` as the daemon would write
it, for benchmarks/monthly_report.py.

The province: N sites of 3 assets (a router and two access points behind it), 4 sites per kecamatan, 12
kecamatan per kabupaten, all in WIB. For the month (and two days either side):

- hourly rollups of every device (60 polls an hour, failed while the device is down; wifi clients on the APs
  and hotspot users and bytes on the router following the day; temperature, and voltage on the router; a few
  devices run hot or on low voltage), none while the daemon was not running;
- outages: power cuts of whole sites (every device, cause `site`, each device rebooting when the power comes
  back), the router's own failures (its APs `parent`), the APs' own failures (some turning into a site outage
  half an hour later: one episode, two spans), maintenance windows, a few long ones still open at the end;
- reboots besides (a few devices in reboot loops), two daemon gaps (unknown spans), an incident per site
  outage and per device outage of 5 minutes or more, with its ticket, distinct clients per site and day,
  field inspections of 5 % of the assets, and a stored SNMP discovery per device (1 % with a swapped serial).

Every figure follows from `seed`: the same arguments write the same rows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from collectors.snmp.mapping import Discovery
from collectors.snmp.stored import dumps
from netmon.model import (
    AssetRecord,
    Cause,
    Condition,
    Device,
    DeviceIdentity,
    Incident,
    IncidentKind,
    Inspection,
    Outage,
    Owner,
    Reboot,
    Role,
    Severity,
    Site,
    Source,
    StoredDiscovery,
    Ticket,
    TicketState,
    TimeZone,
)
from netmon.report.period import Period
from netmon.storage import DailyUniques, HourlyRollup, Record, Store, UnknownSpan

HOUR = 3600.0
DAY = 86400.0
ZONE = TimeZone.WIB
KABUPATEN = ("Banyumas", "Cilacap", "Purbalingga", "Banjarnegara", "Kebumen", "Wonosobo", "Magelang", "Boyolali",
             "Klaten", "Sukoharjo", "Wonogiri", "Karanganyar", "Sragen", "Grobogan", "Blora", "Rembang", "Pati",
             "Kudus", "Jepara", "Demak", "Semarang", "Temanggung", "Kendal", "Batang", "Pekalongan", "Pemalang",
             "Tegal", "Brebes")
SITES_PER_KECAMATAN = 4
KECAMATAN_PER_KABUPATEN = 12
SITES_PER_CHUNK = 25  # sites whose history is generated and written in one transaction
MARGIN_S = 2 * DAY  # history before and after the month


def province(n_sites: int) -> tuple[dict[str, Site], dict[str, Device]]:
    """The sites and devices (3 per site), named in order; no randomness."""
    sites: dict[str, Site] = {}
    devices: dict[str, Device] = {}
    for i in range(n_sites):
        kab, rest = divmod(i, SITES_PER_KECAMATAN * KECAMATAN_PER_KABUPATEN)
        name = KABUPATEN[kab % len(KABUPATEN)] + ("" if kab < len(KABUPATEN) else f" {kab // len(KABUPATEN) + 1}")
        site = Site(f"kim-{i:05d}", f"KIM Desa {i:05d}", f"Desa {i:05d}",
                    f"Kecamatan {kab:02d}-{rest // SITES_PER_KECAMATAN:02d}", name, timezone=ZONE)
        sites[site.id] = site
        for device in _site_devices(site, i):
            devices[device.id] = device
    return sites, devices


def _site_devices(site: Site, i: int) -> list[Device]:
    router = Device(f"{site.id}-router", site.id, Role.ROUTER, f"10.{i // 250}.{i % 250}.1", (Source.SNMP,),
                    Owner.PEMDA, _asset(3 * i, "Router", "MikroTik hAP ac2", 950_000))
    aps = [Device(f"{site.id}-ap{n}", site.id, Role.AP, f"10.{i // 250}.{i % 250}.{n + 1}", (Source.SNMP,),
                  Owner.PEMDA, _asset(3 * i + n, "Access Point", "MikroTik cAP ac", 1_100_000), parent=router.id)
           for n in (1, 2)]
    return [router, *aps]


def _asset(n: int, name: str, model: str, value: int) -> AssetRecord:
    return AssetRecord("2.06.02.01.003" if name == "Router" else "2.06.02.01.004", f"{n + 1:06d}", f"SN{n:08X}",
                       model, 2021 + n % 5, value, name, "-", "Logam/Plastik", "Pembelian", None, "Diskominfo")


@dataclass(frozen=True, slots=True)
class Month:
    period: Period
    start: float
    end: float
    gaps: tuple[tuple[float, float], ...]  # the daemon was not running

    @property
    def first(self) -> float:
        return self.start - MARGIN_S

    @property
    def last(self) -> float:
        return self.end + MARGIN_S


def month_of(period: Period) -> Month:
    start, end = period.bounds(ZONE)
    return Month(period, start, end, ((start + 9.3 * DAY, start + 9.3 * DAY + 3 * HOUR),
                                      (start + 21.6 * DAY, start + 21.6 * DAY + 1200)))


def write_history(store: Store, n_sites: int, period: Period, seed: int = 13) -> int:
    """Generate and write the whole history into a migrated store; returns the number of records written."""
    sites, devices = province(n_sites)
    month = month_of(period)
    store.sync_inventory(sites, devices, month.first)
    written = 0
    ids = list(sites)
    for n in range(0, len(ids), SITES_PER_CHUNK):
        records: list[Record] = [UnknownSpan(*gap) for gap in month.gaps] if n == 0 else []
        for site_id in ids[n:n + SITES_PER_CHUNK]:
            members = [devices[f"{site_id}-{role}"] for role in ("router", "ap1", "ap2")]
            records += SiteHistory(sites[site_id], members, month, random.Random(f"{seed}:{site_id}")).records()
        store.write(records)
        written += len(records)
    for inspection in inspections(devices, month, random.Random(f"{seed}:inspections")):
        store.record_inspection(inspection, ZONE)
        written += 1
    return written


def inspections(devices: dict[str, Device], month: Month, rng: random.Random) -> Iterator[Inspection]:
    """5 % of the assets inspected on a day of the month (a third of them found RR, a tenth RB)."""
    for device_id in devices:
        if rng.random() < 0.05:
            day = ZONE.date_at(month.start) + timedelta(days=rng.randrange(28))
            condition = rng.choices((Condition.GOOD, Condition.MINOR, Condition.MAJOR), (6, 3, 1))[0]
            yield Inspection(device_id, day, condition, "pemeriksaan lapangan bulanan", "Petugas Lapangan",
                             month.start + rng.uniform(0, 28 * DAY))


class SiteHistory:
    """One site's records for the month: outages first, then everything that follows from them."""

    def __init__(self, site: Site, devices: Sequence[Device], month: Month, rng: random.Random) -> None:
        self.site, self.devices, self.month, self.rng = site, devices, month, rng
        self.router = devices[0]
        self.outages: list[Outage] = []
        self.reboots: list[Reboot] = []
        self.incidents: list[Incident] = []
        self.tickets: list[Ticket] = []

    def records(self) -> list[Record]:
        self._site_outages()
        self._device_outages()
        self._maintenance()
        self._extra_reboots()
        rollups = [r for d in self.devices for r in self._rollups(d)]
        return [*rollups, *self._uniques(), *self.outages, *self.reboots, *self.incidents, *self.tickets,
                *self._discoveries()]

    # --- outages ---------------------------------------------------------------------------------------

    def _when(self) -> float:
        return self.rng.uniform(self.month.first, self.month.end)

    def _duration(self, median_s: float) -> float:
        return min(self.rng.lognormvariate(math.log(median_s), 1.2), 12 * DAY)

    def _ended(self, start: float, length: float) -> float | None:
        end = start + length
        return None if end > self.month.end + DAY else end  # still down when the report is made

    def _outage(self, device: Device, start: float, end: float | None, cause: Cause,
                episode: str | None = None) -> Outage:
        outage = Outage(f"{device.id}@{start:.0f}", device.id, self.site.id, start, cause, ended_at=end,
                        detected_at=start + 180, episode=episode)
        self.outages.append(outage)
        return outage

    def _site_outages(self) -> None:
        """Power cuts: every device down, cause `site`, each rebooting when the power comes back."""
        for _ in range(self._poisson(1.5)):
            start = self._when()
            end = self._ended(start, self._duration(2400))
            for device in self.devices:
                self._outage(device, start, end, Cause.SITE)
                if end is not None:
                    self.reboots.append(Reboot(device.id, end - 40, end + 60))
            self._incident(IncidentKind.SITE, None, start, end)

    def _device_outages(self) -> None:
        """The router's own failures (its APs down as `parent`), the APs' own (some turning into a site outage)."""
        for device in self.devices:
            chronic = self.rng.random() < 0.02  # a failing unit: down most of the month
            for _ in range(self._poisson(6 if chronic else 0.6)):
                start = self._when()
                end = self._ended(start, self._duration(4 * DAY if chronic else 1200))
                first = self._outage(device, start, end, Cause.DEVICE)
                if device is self.router:
                    for ap in self.devices[1:]:
                        self._outage(ap, start + 30, end, Cause.PARENT)
                elif end is not None and end - start > 1800 and self.rng.random() < 0.1:
                    self.outages.pop()
                    first = self._outage(device, start, start + 1800, Cause.DEVICE)
                    self._outage(device, start + 1800, end, Cause.SITE, episode=first.id)
                if end is None or end - start >= 300:
                    self._incident(IncidentKind.DEVICE, device, start, end)

    def _maintenance(self) -> None:
        if self.rng.random() < 0.05:
            start = self.month.start + self.rng.randrange(28) * DAY + 18 * HOUR  # 01:00 WIB
            for device in self.devices:
                self._outage(device, start, start + 2 * HOUR, Cause.MAINTENANCE)

    def _incident(self, kind: IncidentKind, device: Device | None, start: float, end: float | None) -> None:
        subject = device.id if device is not None else self.site.id
        acknowledged = start + self.rng.uniform(600, 7200) if self.rng.random() < 0.6 else None
        if acknowledged is not None and end is not None and acknowledged > end:
            acknowledged = None
        incident = Incident(f"{kind.value}:{subject}@{start:.0f}", f"{kind.value}_down", subject, kind,
                            Severity.WARNING if device is not None else Severity.CRITICAL, start, Owner.PEMDA,
                            self.site.kabupaten, self.site.kecamatan, self.site.id,
                            device.id if device is not None else None, acknowledged_at=acknowledged,
                            acknowledged_by="NOC" if acknowledged is not None else None, resolved_at=end,
                            summary=f"{subject} tidak terjangkau", detected_at=start + 180)
        self.incidents.append(incident)
        state = TicketState.RESOLVED if end is not None else \
            TicketState.ACKNOWLEDGED if acknowledged is not None else TicketState.OPEN
        self.tickets.append(Ticket(f"NETMON-{incident.id}", incident.id, state, start + 200,
                                   end or acknowledged or start + 200, (("email", f"<{incident.id}@netmon>"),)))

    def _poisson(self, mean: float) -> int:
        n, p, limit = 0, 1.0, math.exp(-mean)
        while True:
            p *= self.rng.random()
            if p < limit:
                return n
            n += 1

    def _extra_reboots(self) -> None:
        """Besides the power cuts: now and then, and a few devices in loops or rebooting every few days."""
        for device in self.devices:
            draw = self.rng.random()
            boots = [self._when() for _ in range(self._poisson(0.8))]
            if draw < 0.01:
                loop = self._when()
                boots += [loop + k * 600 for k in range(5)]
            elif draw < 0.03:
                boots += [self.month.start + k * 2.5 * DAY for k in range(12)]
            self.reboots += [Reboot(device.id, at, at + 90) for at in boots]

    # --- rollups and the rest --------------------------------------------------------------------------

    def _down(self, device: Device) -> list[tuple[float, float]]:
        return [(o.started_at, self.month.last if o.ended_at is None else o.ended_at)
                for o in self.outages if o.device == device.id]

    def _rollups(self, device: Device) -> Iterator[HourlyRollup]:
        down = self._down(device)
        offset = self.rng.uniform(0, 59)
        profile = Profile.draw(device, self.rng)
        hour = math.floor(self.month.first / HOUR) * HOUR
        while hour < self.month.last:
            polled = _outside((hour, hour + HOUR), self.month.gaps)
            if polled:
                failed = sum(min(b, hour + HOUR) - max(a, hour) for a, b in down if a < hour + HOUR and b > hour)
                yield profile.rollup(device.id, hour, polled, offset, round(60 * min(1.0, failed / HOUR)), self.rng)
            hour += HOUR

    def _uniques(self) -> Iterator[DailyUniques]:
        day: date = ZONE.date_at(self.month.first)
        busy = self.rng.uniform(20, 150)
        while day <= ZONE.date_at(self.month.last):
            yield DailyUniques(self.site.id, day, max(0, round(self.rng.gauss(busy, busy / 5))))
            day += timedelta(days=1)

    def _discoveries(self) -> Iterator[StoredDiscovery]:
        for device in self.devices:
            serial = device.asset.serial or ""
            if self.rng.random() < 0.01:
                serial = f"SWAP{self.rng.randrange(16**6):06X}"  # the unit on site is not the one registered
            identity = DeviceIdentity("mikrotik", "MikroTik", device.asset.model or "", "7.15.3", serial,
                                      device.id, f"RouterOS {device.asset.model}", "1.3.6.1.4.1.14988.1")
            payload = dumps("mikrotik", Discovery(identity), self.month.first)
            yield StoredDiscovery(device.id, Source.SNMP, self.month.first, "0" * 64, payload)


def _outside(hour: tuple[float, float], gaps: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The part of the hour the daemon was running (a gap cuts at most one end of an hour here); None: none."""
    low, high = hour
    for a, b in gaps:
        if a <= low and b >= high:
            return None
        if a <= low < b:
            low = b
        elif a < high <= b:
            high = a
    return (low, high) if high > low else None


@dataclass(frozen=True, slots=True)
class Profile:
    """How busy and how healthy one device is."""

    role: Role
    clients: float  # peak wifi clients (APs) or hotspot users (routers) of a busy hour
    temperature: float  # mean temperature
    voltage: float | None  # supply voltage (routers)

    @classmethod
    def draw(cls, device: Device, rng: random.Random) -> Profile:
        hot = rng.random() < 0.02
        weak = device.role is Role.ROUTER and rng.random() < 0.02
        voltage = (10.6 if weak else 24.0) if device.role is Role.ROUTER else None
        return cls(device.role, rng.uniform(5, 40), 66.0 if hot else rng.uniform(38, 52), voltage)

    def rollup(self, device: str, hour: float, polled: tuple[float, float], offset: float, failed: int,
               rng: random.Random) -> HourlyRollup:
        local = (hour + ZONE.utc_offset_s) % DAY / HOUR
        busy = max(0.0, math.sin(math.pi * (local - 6) / 16)) if 6 <= local <= 22 else 0.0
        ok = 60 - failed
        level = self.clients * busy * rng.uniform(0.7, 1.1)
        wifi = ok > 0 and self.role is Role.AP
        users = ok > 0 and self.role is Role.ROUTER
        traffic = int(level * 60e6 * rng.uniform(0.5, 1.5)) if users else None
        return HourlyRollup(
            device, hour, ok, failed, polled[0] + offset, polled[1] - 60 + offset,
            wifi_clients_min=0.0 if wifi else None, wifi_clients_avg=level * 0.6 if wifi else None,
            wifi_clients_max=level if wifi else None, wifi_clients_n=ok if wifi else 0,
            hotspot_users_min=0.0 if users else None, hotspot_users_avg=level * 0.6 if users else None,
            hotspot_users_max=level if users else None, hotspot_users_n=ok if users else 0,
            bytes_in=traffic, bytes_out=None if traffic is None else traffic // 6,
            temperature_max=(self.temperature + 8 * busy + rng.uniform(0, 3)) if ok else None,
            voltage_min=(self.voltage - rng.uniform(0, 0.3 + busy)) if ok and self.voltage is not None else None)
