"""Unique client devices per site per day, counted by keyed hashes that rotate at local midnight."""

from __future__ import annotations

from netmon.privacy import WIB_OFFSET_S, DailyUniqueClients

MIDNIGHT_WIB = 1_795_392_000 - WIB_OFFSET_S  # a local midnight in Asia/Jakarta


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_same_device_counts_once_per_site_and_spelling_does_not_matter() -> None:
    uniques = DailyUniqueClients(clock=Clock(MIDNIGHT_WIB + 3600))
    uniques.add("kim-a", {uniques.fingerprint("aa:bb:cc:00:00:01"), uniques.fingerprint("AA-BB-CC-00-00-01")})
    uniques.add("kim-a", {uniques.fingerprint("aa:bb:cc:00:00:02")})
    uniques.add("kim-b", {uniques.fingerprint("aa:bb:cc:00:00:01")})
    assert uniques.counts() == {"kim-a": 2, "kim-b": 1}


def test_fingerprints_hide_the_mac_and_change_every_day() -> None:
    clock = Clock(MIDNIGHT_WIB + 100)
    uniques = DailyUniqueClients(clock=clock)
    today = uniques.fingerprint("AA:BB:CC:00:00:01")
    day, digest = today.split(":", 1)
    assert day.isdigit() and len(digest) == 32 and int(digest, 16) >= 0
    assert "aabbcc000001" not in digest
    clock.now += 86400
    tomorrow = uniques.fingerprint("AA:BB:CC:00:00:01")
    assert tomorrow.split(":", 1)[1] != today.split(":", 1)[1]


def test_counts_reset_at_local_midnight_and_late_hashes_are_ignored() -> None:
    clock = Clock(MIDNIGHT_WIB - 10)  # 23:59:50 WIB
    uniques = DailyUniqueClients(clock=clock)
    late = uniques.fingerprint("AA:BB:CC:00:00:09")
    uniques.add("kim-a", {late})
    assert uniques.counts() == {"kim-a": 1}
    clock.now = MIDNIGHT_WIB + 10  # a new day: new key, empty counts
    assert uniques.counts() == {}
    uniques.add("kim-a", {late})  # computed under yesterday's key: not counted today
    assert uniques.counts() == {}


def test_two_instances_never_share_a_key() -> None:
    a = DailyUniqueClients(clock=Clock(MIDNIGHT_WIB + 5))
    b = DailyUniqueClients(clock=Clock(MIDNIGHT_WIB + 5))
    assert a.fingerprint("AA:BB:CC:00:00:01") != b.fingerprint("AA:BB:CC:00:00:01")
