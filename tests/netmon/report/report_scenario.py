"""A scenario month (November 2026) written into a real Store: sites in two time zones (Banyumas, WIB; Badung,
WITA), outages crossing both ends of the month, a maintenance window, parent and site outages, an outage
spanning a daemon gap (an unknown span with no rollups), outages still open at the month's end, reboots inside
and just outside the month, incidents and tickets, hourly rollups with wifi/hotspot/bytes, and daily unique
clients. Every instant is written as UTC ISO text so the expected figures can be read off by hand.

For the asset conditions (the real rules of netmon.assets, nothing hand-made): the Kotayasa router's own
failures make it RR, but a field inspection on 28 November confirms it B; the Kotayasa AP is down by its own
failure for the last eight days (RB, where it was B in October); the Kedonganan router is not the unit the
register lists (its stored SNMP discovery is that of a real RB750Gr3 recording: RR, as in October); the
Ketenger AP was inspected RR in October and B on 18 November (RR -> B)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from snmpsim_fixture import CORPUS

from collectors.snmp import stored
from collectors.snmp.profile import load_profiles
from netmon.model import (
    AssetRecord,
    Cause,
    Condition,
    Device,
    Incident,
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
    TimeZone,
)
from netmon.simulate.snmprec import load
from netmon.storage import DailyUniques, HourlyRollup, Store, UnknownSpan


def at(text: str) -> float:
    """"2026-11-01T17:00" (UTC) as unix time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


SITES = {
    "kim-ketenger": Site("kim-ketenger", "KIM Ketenger", "Ketenger", "Baturraden", "Banyumas", timezone=TimeZone.WIB),
    "kim-kotayasa": Site("kim-kotayasa", "KIM Kotayasa", "Kotayasa", "Sumbang", "Banyumas", timezone=TimeZone.WIB),
    "kim-kedonganan": Site("kim-kedonganan", "KIM Kedonganan", "Kedonganan", "Kuta", "Badung",
                           timezone=TimeZone.WITA),
}


def _device(id: str, site: str, role: Role, parent: str | None, asset: AssetRecord) -> Device:
    return Device(id, site, role, "192.0.2.1", (Source.SNMP,), Owner.PEMDA, asset, parent=parent)


DEVICES = {
    "ketenger-router": _device("ketenger-router", "kim-ketenger", Role.ROUTER, None, AssetRecord(
        "2.06.02.01.003", "0001", "HB1234", "MikroTik RB951Ui-2HnD", 2023, 1_250_000, "Router", "-", "Logam",
        "Pembelian", "APBD 2023", "Diskominfo")),
    "ketenger-ap": _device("ketenger-ap", "kim-ketenger", Role.AP, "ketenger-router", AssetRecord(
        "2.06.02.01.004", "0002", "HC5678", "MikroTik cAP ac", 2024, 1_100_000, "Access Point")),
    "kotayasa-router": _device("kotayasa-router", "kim-kotayasa", Role.ROUTER, None, AssetRecord(
        "2.06.02.01.003", "0003", "HB9999", "MikroTik hAP ac2", 2022, 950_000, "Router")),
    "kotayasa-ap": _device("kotayasa-ap", "kim-kotayasa", Role.AP, "kotayasa-router", AssetRecord(
        "2.06.02.01.004", "0006", "HF3333", "MikroTik cAP ac", 2024, 1_100_000, "Access Point")),
    "kedonganan-router": _device("kedonganan-router", "kim-kedonganan", Role.ROUTER, None, AssetRecord(
        "2.06.02.01.003", "0004", "HD1111", "MikroTik RB4011", 2021, 3_200_000, "Router")),
    "kedonganan-ap": _device("kedonganan-ap", "kim-kedonganan", Role.AP, "kedonganan-router", AssetRecord(
        "2.06.02.01.004", "0005", "HE2222", "Ubiquiti UniFi AP AC Lite", 2023, 1_500_000, "Access Point")),
}

# The daemon was not running from 20 Nov 00:00 UTC to 21 Nov 12:00 UTC: no rollups then.
GAP = (at("2026-11-20T00:00"), at("2026-11-21T12:00"))
NOW = at("2026-12-01T12:00")

OUTAGES = (
    # crosses the month's start (WIB starts 2026-10-31T17:00Z): 2 h of each inside November
    Outage("o1", "ketenger-router", "kim-ketenger", at("2026-10-31T15:00"), Cause.SITE,
           ended_at=at("2026-10-31T19:00")),
    Outage("o2", "ketenger-ap", "kim-ketenger", at("2026-10-31T15:00"), Cause.PARENT,
           ended_at=at("2026-10-31T19:00")),
    # a maintenance window, 01:00-03:00 WIB
    Outage("o3", "kotayasa-router", "kim-kotayasa", at("2026-11-10T18:00"), Cause.MAINTENANCE,
           ended_at=at("2026-11-10T20:00")),
    # the AP itself failed; the evidence turned it into a site outage half an hour later (one episode, two spans)
    Outage("o4", "ketenger-ap", "kim-ketenger", at("2026-11-15T03:00"), Cause.DEVICE, ended_at=at("2026-11-15T05:30")),
    Outage("o5", "ketenger-ap", "kim-ketenger", at("2026-11-15T05:30"), Cause.SITE, ended_at=at("2026-11-15T06:00"),
           episode="o4"),
    # spans the daemon gap: 2 h before it and 2 h after it are covered, the 36 h inside are not
    Outage("o6", "kotayasa-router", "kim-kotayasa", at("2026-11-19T22:00"), Cause.DEVICE,
           ended_at=at("2026-11-21T14:00")),
    # crosses the month's end in WITA (ends 2026-11-30T16:00Z): 2 h inside
    Outage("o7", "kedonganan-ap", "kim-kedonganan", at("2026-11-30T14:00"), Cause.DEVICE,
           ended_at=at("2026-11-30T18:00")),
    # still open: 30 h inside November (WITA)
    Outage("o8", "kedonganan-router", "kim-kedonganan", at("2026-11-29T10:00"), Cause.SITE),
    # entirely outside November
    Outage("o9", "kotayasa-router", "kim-kotayasa", at("2026-10-20T10:00"), Cause.DEVICE,
           ended_at=at("2026-10-20T11:00")),
    # the Kotayasa router's own failure for 30 h (with o6: RR), its AP down behind it (parent)
    Outage("o10", "kotayasa-router", "kim-kotayasa", at("2026-11-12T00:00"), Cause.DEVICE,
           ended_at=at("2026-11-13T06:00")),
    Outage("o11", "kotayasa-ap", "kim-kotayasa", at("2026-11-12T00:00"), Cause.PARENT,
           ended_at=at("2026-11-13T06:00")),
    # the Kotayasa AP's own failure, still open: 8 days 5 h at the end of November in WIB (RB)
    Outage("o12", "kotayasa-ap", "kim-kotayasa", at("2026-11-22T12:00"), Cause.DEVICE),
)

REBOOTS = (
    Reboot("ketenger-router", at("2026-11-05T02:00"), at("2026-11-05T02:01")),
    Reboot("ketenger-router", at("2026-11-06T02:00"), at("2026-11-06T02:01")),
    Reboot("ketenger-router", at("2026-10-31T16:30"), at("2026-10-31T16:31")),  # 23:30 WIB 31 Oct: outside
    Reboot("kedonganan-router", at("2026-11-30T16:30"), at("2026-11-30T16:31")),  # 00:30 WITA 1 Dec: outside
    Reboot("kedonganan-router", at("2026-11-30T15:30"), at("2026-11-30T15:31")),  # 23:30 WITA 30 Nov: inside
)


def _incident(id: str, site: str, device: str | None, opened: str, resolved: str | None,
              acknowledged: str | None = None) -> Incident:
    s = SITES[site]
    return Incident(id=id, rule="device_down" if device else "site_down", subject=device or site,
                    kind="device" if device else "site", severity=Severity.WARNING, opened_at=at(opened),
                    owner=Owner.PEMDA, kabupaten=s.kabupaten, kecamatan=s.kecamatan, site=site, device=device,
                    resolved_at=None if resolved is None else at(resolved),
                    acknowledged_at=None if acknowledged is None else at(acknowledged),
                    summary=f"{device or site} tidak terjangkau")


INCIDENTS = (
    _incident("i-old", "kim-kotayasa", "kotayasa-router", "2026-10-20T10:05", "2026-11-03T01:00"),
    _incident("i-ap", "kim-ketenger", "ketenger-ap", "2026-11-15T03:05", "2026-11-15T06:00"),
    _incident("i-gap", "kim-kotayasa", "kotayasa-router", "2026-11-19T22:05", "2026-11-21T14:00"),
    _incident("i-open", "kim-kedonganan", None, "2026-11-29T10:05", None, acknowledged="2026-11-30T01:00"),
    _incident("i-late", "kim-kedonganan", "kedonganan-ap", "2026-11-30T14:05", "2026-11-30T18:00"),
    _incident("i-kap", "kim-kotayasa", "kotayasa-ap", "2026-11-22T12:05", None),
    _incident("i-dec", "kim-ketenger", "ketenger-router", "2026-12-01T03:00", None),  # after the end
)
TICKETS = (
    Ticket("NETMON-2026-000041", "i-open", "acknowledged", at("2026-11-29T10:06"), at("2026-11-30T01:00")),
    Ticket("NETMON-2026-000042", "i-late", "resolved", at("2026-11-30T14:06"), at("2026-11-30T18:00")),
    Ticket("NETMON-2026-000043", "i-kap", "open", at("2026-11-22T12:06"), at("2026-11-22T12:06")),
)

# Field inspections as `netmon assets inspect` records them (each counts from local midnight of its day, WIB)
INSPECTIONS = (
    Inspection("ketenger-ap", date(2026, 10, 28), Condition.MINOR, "kabel PoE longgar", "Budi", at("2026-10-28T05:00")),
    Inspection("ketenger-ap", date(2026, 11, 18), Condition.GOOD, "kabel PoE diganti", "Budi", at("2026-11-18T05:00")),
    Inspection("kotayasa-router", date(2026, 11, 28), Condition.GOOD, "adaptor daya diganti, stabil", "Sri",
               at("2026-11-28T04:00")),
)
SWAP_RECORDING = "routeros_rb750gr3"  # the unit answering at Kedonganan; the register lists an RB4011 (HD1111)


def swapped_discovery() -> StoredDiscovery:
    """The Kedonganan router's stored SNMP discovery, made by the mikrotik profile from a real recording of an
    RB750Gr3 (its serial and board name are the recording's), as the collector stores it."""
    agent = {r.oid_text: r.value for r in load(CORPUS / "snmprec" / f"{SWAP_RECORDING}.snmprec")
             if r.value is not None}
    discovery = load_profiles().get("mikrotik").discover(agent, "router")
    return StoredDiscovery("kedonganan-router", Source.SNMP, at("2026-10-26T03:00"), "0" * 64,
                           stored.dumps("mikrotik", discovery, at("2026-10-26T02:50")))


def rollups() -> list[HourlyRollup]:
    """Every device, every hour from 25 Oct to 5 Dec (UTC) except inside the gap. APs carry wifi clients,
    routers hotspot users and bytes; the values follow the hour so that peaks and means are known."""
    out: list[HourlyRollup] = []
    hour = datetime(2026, 10, 25, tzinfo=UTC)
    while hour < datetime(2026, 12, 5, tzinfo=UTC):
        start = hour.timestamp()
        if not GAP[0] <= start < GAP[1]:
            for device in DEVICES.values():
                if device.id == "kotayasa-router" and start < at("2026-11-03T08:00"):
                    continue  # monitored from 3 Nov 08:20 UTC: its first hour is partial
                ap = device.role is Role.AP
                h = hour.hour
                dead = device.id == "kotayasa-ap" and start >= at("2026-11-22T12:00")  # o12: no answer
                wifi = ap and not dead
                out.append(HourlyRollup(
                    device=device.id, hour_start=start, polls_ok=0 if dead else 59, polls_failed=60 if dead else 1,
                    first_poll_at=start + (1200 if start == at("2026-11-03T08:00") else 60),
                    last_poll_at=start + 3550,
                    wifi_clients_min=0.0 if wifi else None, wifi_clients_avg=h / 2 if wifi else None,
                    wifi_clients_max=float(h) if wifi else None, wifi_clients_n=60 if wifi else 0,
                    hotspot_users_min=None if ap else 0.0, hotspot_users_avg=None if ap else h / 4,
                    hotspot_users_max=None if ap else h / 2, hotspot_users_n=0 if ap else 60,
                    bytes_in=None if ap else 1_000_000 * (h + 1), bytes_out=None if ap else 500_000 * (h + 1)))
        hour += timedelta(hours=1)
    return out


def uniques() -> list[DailyUniques]:
    out: list[DailyUniques] = []
    day = date(2026, 10, 28)
    while day < date(2026, 12, 4):
        for n, site in enumerate(SITES):
            out.append(DailyUniques(site, day, 10 * (n + 1) + day.day))
        day += timedelta(days=1)
    return out


def fill(store: Store) -> None:
    """Write the scenario into a migrated store."""
    store.sync_inventory(SITES, DEVICES, at("2026-10-01T00:00"))
    store.write([*rollups(), *uniques(), UnknownSpan(*GAP), *OUTAGES, *REBOOTS, *INCIDENTS, *TICKETS,
                 swapped_discovery()])
    for inspection in INSPECTIONS:
        store.record_inspection(inspection, SITES[DEVICES[inspection.device].site].timezone)
