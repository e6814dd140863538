"""Alerts in a fleet spanning WIB, WITA and WIT: opening hours are local at each site, and messages say
"Sejak" in the site's own time with its abbreviation. Injected clock: instants are built from UTC."""

from __future__ import annotations

from pathlib import Path

import pytest
from zones_fleet import load, local, utc

from alerts.engine import AlertEngine
from alerts.incident import IncidentChange, incident_id
from alerts.message import incident_zone, local_time, render
from alerts.route import AlertConfig
from alerts.rules import IDLE_AP, OpeningHours
from alerts.ticket import TicketBook, ticket_id
from netmon.config import Config
from netmon.model import DeviceState, Incident, Owner, PollResult, Sample, Severity, Source, Status, TimeZone

APS = {"ks-ap": "kim-karangsalam", "ss-ap": "kim-sesetan", "hk-ap": "kim-hinekombe"}


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return load(tmp_path)


@pytest.mark.parametrize(("zone", "at", "opened"), [
    (TimeZone.WIB, "2026-12-01T00:59", None),  # 07:59 WIB
    (TimeZone.WIB, "2026-12-01T01:00", "2026-12-01T01:00"),  # 08:00 WIB
    (TimeZone.WITA, "2026-12-01T00:00", "2026-12-01T00:00"),  # 08:00 WITA
    (TimeZone.WITA, "2026-12-01T12:59", "2026-12-01T00:00"),  # 20:59 WITA
    (TimeZone.WITA, "2026-12-01T13:00", None),  # 21:00 WITA (14:00 WIB: open in Jawa)
    (TimeZone.WIT, "2026-11-30T22:59", None),  # 07:59 WIT
    (TimeZone.WIT, "2026-11-30T23:00", "2026-11-30T23:00"),  # 08:00 WIT
], ids=lambda v: str(v))
def test_opening_hours_are_local_time_in_the_zone(zone: TimeZone, at: str, opened: str | None) -> None:
    hours = OpeningHours(8, 21)
    assert hours.opened_at(utc(at), zone) == (utc(opened) if opened else None)


def test_an_idle_access_point_fires_at_ten_local_in_each_zone(cfg: Config) -> None:
    """Opening at 08:00 local, idle for 2 h: 10:00 WIT (01:00 UTC), 10:00 WITA (02:00), 10:00 WIB (03:00)."""
    engine = AlertEngine(cfg.devices, cfg.sites, AlertConfig())
    start = utc("2026-11-30T20:00")  # 03:00 WIB, 04:00 WITA, 05:00 WIT: every site closed
    engine.observe_state({ap: DeviceState(ap, Status.UP, start) for ap in APS}, [], start)
    idle = (Sample("netmon_wifi_clients", 0, (("interface", "wlan1"),)),)
    fired: dict[str, float] = {}
    for step in range(0, 10 * 3600 + 1, 900):
        at = start + step
        for ap in APS:
            events = engine.observe_result(PollResult(ap, Source.SNMP, at, 0.1, idle)).events + engine.tick(at).events
            fired |= {e.subject: e.at for e in events if e.rule == IDLE_AP and e.transition == "firing"}
    assert fired == {ap: local(site, "2026-12-01T10:00") for ap, site in APS.items()}
    assert sorted(fired, key=fired.__getitem__) == ["hk-ap", "ss-ap", "ks-ap"]  # Papua first, Jawa last


def incident(cfg: Config, device: str, opened_at: float, **extra: object) -> Incident:
    site = cfg.sites[cfg.devices[device].site]
    return Incident(incident_id("device_down", device, opened_at), "device_down", device, "device",
                    Severity.CRITICAL, opened_at, Owner.PEMDA, site.kabupaten, site.kecamatan, site.id, device,
                    **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("device", "since", "recovered"), [
    ("ks-ap", "Sejak: 1 Desember 2026 09:15:00 WIB", "Pulih: 1 Desember 2026 11:30:00 WIB (durasi 2 jam 15 menit)"),
    ("ss-ap", "Sejak: 1 Desember 2026 10:15:00 WITA", "Pulih: 1 Desember 2026 12:30:00 WITA (durasi 2 jam 15 menit)"),
    ("hk-ap", "Sejak: 1 Desember 2026 11:15:00 WIT", "Pulih: 1 Desember 2026 13:30:00 WIT (durasi 2 jam 15 menit)"),
])
def test_messages_give_times_in_the_sites_zone(cfg: Config, device: str, since: str, recovered: str) -> None:
    opened = incident(cfg, device, utc("2026-12-01T02:15"))
    assert since in render(opened, cfg.devices, cfg.sites).body
    resolved = incident(cfg, device, utc("2026-12-01T02:15"), resolved_at=utc("2026-12-01T04:30"))
    body = render(resolved, cfg.devices, cfg.sites, kind="resolved").body
    assert since in body and recovered in body
    english = render(opened, cfg.devices, cfg.sites, language="en").body
    assert since.replace("Sejak", "Since").replace("Desember", "December") in english


def test_area_incident_takes_the_zone_of_its_member_sites(cfg: Config) -> None:
    area = Incident("area-1", "area_outage", "kecamatan:Sentani", "area", Severity.WARNING,
                    utc("2026-12-01T02:15"), Owner.PEMDA, "Jayapura", "Sentani", members=("kim-hinekombe",))
    assert incident_zone(area, cfg.devices, cfg.sites) is TimeZone.WIT
    assert "11:15:00 WIT" in render(area, cfg.devices, cfg.sites).body
    nowhere = Incident("x", "device_down", "ghost", "device", Severity.WARNING, 0.0, Owner.PEMDA, "", "")
    assert incident_zone(nowhere, cfg.devices, cfg.sites, TimeZone.WITA) is TimeZone.WITA


def test_local_time_formats_each_zone_with_its_abbreviation() -> None:
    at = utc("2026-12-31T16:30")
    assert [local_time(at, zone, "en") for zone in TimeZone] == [
        "31 December 2026 23:30:00 WIB", "1 January 2027 00:30:00 WITA", "1 January 2027 01:30:00 WIT"]
    assert local_time(None, TimeZone.WIT) == "-"


def test_ticket_year_is_the_year_at_the_site(cfg: Config) -> None:
    """New Year's Eve 23:30 WIB is already 2027 in Bali and Papua."""
    at = utc("2026-12-31T16:30")
    book = TicketBook(cfg.devices, cfg.sites)
    years = {}
    for device in ("ks-ap", "ss-ap", "hk-ap"):
        actions = book.apply(IncidentChange("opened", incident(cfg, device, at), at))
        years[device] = actions[0].ticket.id.split("-")[1]
    assert years == {"ks-ap": "2026", "ss-ap": "2027", "hk-ap": "2027"}
    assert ticket_id(incident(cfg, "hk-ap", at)).split("-")[1] == "2026"  # WIB unless told the zone
