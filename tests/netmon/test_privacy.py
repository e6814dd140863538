"""Unique client devices per site per day, counted by keyed hashes that rotate at local midnight: each
site's own zone (WIB, WITA, WIT), so Papua's day ends two hours before Jawa's."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from zones_fleet import load, utc

from netmon.model import TimeZone
from netmon.privacy import DailyUniqueClients

MIDNIGHT_WIB = utc("2026-11-30T17:00")  # 1 Dec 2026 00:00 WIB
JAWA, BALI, PAPUA = "kim-karangsalam", "kim-sesetan", "kim-hinekombe"
MAC = "AA:BB:CC:00:00:01"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def zones(tmp_path: Path) -> dict[str, TimeZone]:
    """The zone of each site of the three-zone fleet, as the daemon builds it from the config."""
    return {site.id: site.timezone for site in load(tmp_path).sites.values()}


def test_same_device_counts_once_per_site_and_spelling_does_not_matter() -> None:
    uniques = DailyUniqueClients(clock=Clock(MIDNIGHT_WIB + 3600))
    uniques.add("kim-a", {uniques.fingerprint("kim-a", "aa:bb:cc:00:00:01"),
                          uniques.fingerprint("kim-a", "AA-BB-CC-00-00-01")})
    uniques.add("kim-a", {uniques.fingerprint("kim-a", "aa:bb:cc:00:00:02")})
    uniques.add("kim-b", {uniques.fingerprint("kim-b", "aa:bb:cc:00:00:01")})
    assert uniques.counts() == {"kim-a": 2, "kim-b": 1}


def test_fingerprints_hide_the_mac_and_change_every_day() -> None:
    clock = Clock(MIDNIGHT_WIB + 100)
    uniques = DailyUniqueClients(clock=clock)
    today = uniques.fingerprint("kim-a", MAC)
    day, digest = today.split(":", 1)
    assert day == "2026-12-01" and len(digest) == 32 and int(digest, 16) >= 0
    assert "aabbcc000001" not in digest
    clock.now += 86400
    tomorrow = uniques.fingerprint("kim-a", MAC)
    assert tomorrow.split(":", 1)[1] != today.split(":", 1)[1]


def test_counts_reset_at_local_midnight_and_late_hashes_are_ignored() -> None:
    clock = Clock(MIDNIGHT_WIB - 10)  # 23:59:50 WIB
    uniques = DailyUniqueClients(clock=clock)
    late = uniques.fingerprint("kim-a", "AA:BB:CC:00:00:09")
    uniques.add("kim-a", {late})
    assert uniques.counts() == {"kim-a": 1}
    clock.now = MIDNIGHT_WIB + 10  # a new day: new key, empty counts
    assert uniques.counts() == {}
    uniques.add("kim-a", {late})  # computed under yesterday's key: not counted today
    assert uniques.counts() == {}


def test_two_instances_never_share_a_key() -> None:
    a = DailyUniqueClients(clock=Clock(MIDNIGHT_WIB + 5))
    b = DailyUniqueClients(clock=Clock(MIDNIGHT_WIB + 5))
    assert a.fingerprint("kim-a", MAC) != b.fingerprint("kim-a", MAC)


@pytest.mark.parametrize(("at", "days"), [
    ("2026-11-30T14:59:59", {JAWA: "2026-11-30", BALI: "2026-11-30", PAPUA: "2026-11-30"}),
    ("2026-11-30T15:00:00", {JAWA: "2026-11-30", BALI: "2026-11-30", PAPUA: "2026-12-01"}),  # 00:00 WIT
    ("2026-11-30T16:00:00", {JAWA: "2026-11-30", BALI: "2026-12-01", PAPUA: "2026-12-01"}),  # 00:00 WITA
    ("2026-11-30T17:00:00", {JAWA: "2026-12-01", BALI: "2026-12-01", PAPUA: "2026-12-01"}),  # 00:00 WIB
], ids=["before-any-midnight", "papua-midnight", "bali-midnight", "jawa-midnight"])
def test_each_site_counts_its_own_local_day(zones: dict[str, TimeZone], at: str, days: dict[str, str]) -> None:
    uniques = DailyUniqueClients(zones, clock=Clock(utc(at)))
    for site in days:
        uniques.add(site, {uniques.fingerprint(site, MAC)})
    assert {site: str(day) for site, day, _count in uniques.today()} == days
    assert {site: fp.split(":", 1)[0] for site in days for fp in [uniques.fingerprint(site, MAC)]} == days


def test_each_zone_rotates_its_key_at_its_own_midnight(zones: dict[str, TimeZone]) -> None:
    clock = Clock(utc("2026-11-30T14:30"))  # 21:30 WIB, 22:30 WITA, 23:30 WIT
    uniques = DailyUniqueClients(zones, clock=clock)
    before = {site: uniques.fingerprint(site, MAC) for site in (JAWA, BALI, PAPUA)}
    for site, fingerprint in before.items():
        uniques.add(site, {fingerprint})
    assert len(set(before.values())) == 3  # one key per zone: the same phone hashes differently

    clock.now = utc("2026-11-30T15:30")  # 00:30 WIT: only Papua's day is new
    assert uniques.fingerprint(PAPUA, MAC) != before[PAPUA]
    assert uniques.fingerprint(JAWA, MAC) == before[JAWA] and uniques.fingerprint(BALI, MAC) == before[BALI]
    assert uniques.counts() == {JAWA: 1, BALI: 1}  # Papua's count went with its key
    uniques.add(PAPUA, {before[PAPUA]})  # a hash under Papua's old key is not counted today
    assert PAPUA not in uniques.counts()

    clock.now = utc("2026-11-30T16:30")  # 00:30 WITA
    assert uniques.fingerprint(BALI, MAC) != before[BALI] and uniques.fingerprint(JAWA, MAC) == before[JAWA]
    assert uniques.counts() == {JAWA: 1}

    clock.now = utc("2026-11-30T17:30")  # 00:30 WIB
    assert uniques.fingerprint(JAWA, MAC) != before[JAWA]
    assert uniques.counts() == {}


def test_daily_gives_each_site_its_local_date_and_the_final_count_of_a_day_that_ended(
        zones: dict[str, TimeZone]) -> None:
    clock = Clock(utc("2026-11-30T14:55"))  # 23:55 WIT
    uniques = DailyUniqueClients(zones, clock=clock)
    for site in (JAWA, PAPUA):
        uniques.add(site, {uniques.fingerprint(site, m) for m in (MAC, "AA:BB:CC:00:00:02")})
    assert uniques.daily() == [(JAWA, date(2026, 11, 30), 2), (PAPUA, date(2026, 11, 30), 2)]
    uniques.add(PAPUA, {uniques.fingerprint(PAPUA, "AA:BB:CC:00:00:03")})  # 23:57 WIT, before the store
    clock.now = utc("2026-11-30T15:05")  # 00:05 WIT: Papua's 30 November ended with 3 clients
    uniques.add(PAPUA, {uniques.fingerprint(PAPUA, MAC)})
    assert uniques.daily() == [(PAPUA, date(2026, 11, 30), 3), (JAWA, date(2026, 11, 30), 2),
                               (PAPUA, date(2026, 12, 1), 1)]
    assert uniques.daily() == [(JAWA, date(2026, 11, 30), 2), (PAPUA, date(2026, 12, 1), 1)]  # taken once


def test_a_site_without_a_zone_uses_the_default(zones: dict[str, TimeZone]) -> None:
    uniques = DailyUniqueClients(zones, default=TimeZone.WIT, clock=Clock(utc("2026-11-30T15:30")))
    assert uniques.zone("kim-unlisted") is TimeZone.WIT and uniques.zone(BALI) is TimeZone.WITA
    assert uniques.fingerprint("kim-unlisted", MAC).startswith("2026-12-01:")


def test_the_daemon_gives_each_site_the_key_of_its_zone(tmp_path: Path) -> None:
    from netmon.app import NetmonApp

    cfg = load(tmp_path)
    app = NetmonApp(cfg)
    assert {site: app.uniques.zone(site) for site in cfg.sites} == {
        JAWA: TimeZone.WIB, BALI: TimeZone.WITA, PAPUA: TimeZone.WIT, "kim-kotayasa": TimeZone.WIB}
