"""The suggested condition of each asset for a month, from history written to a real Store (SQLite and
PostgreSQL): each rule's verdict and its evidence line, inspections overriding, the previous month, and the
device's own availability recomputed independently from the raw outage rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from peers import postgres_database

from netmon.assets.condition import assess
from netmon.assets.evidence import gather
from netmon.config.assets import ConditionRules
from netmon.model import (
    AssetRecord,
    Cause,
    Condition,
    Device,
    Inspection,
    Outage,
    Owner,
    Reboot,
    Role,
    Site,
    Source,
    StoredDiscovery,
    TimeZone,
)
from netmon.storage import HourlyRollup, Store, UnknownSpan

WIB = TimeZone.WIB
START = datetime(2026, 11, 1, tzinfo=WIB.tzinfo).timestamp()
END = datetime(2026, 12, 1, tzinfo=WIB.tzinfo).timestamp()
OCT = datetime(2026, 10, 1, tzinfo=WIB.tzinfo).timestamp()
H = 3600.0
D = 86400.0
RULES = ConditionRules()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'netmon.sqlite3'}")
        s.upgrade()
        yield s
        s.close()
        return
    with postgres_database() as (_name, url):
        s = Store.open(url)
        s.upgrade()
        yield s
        s.close()


def dev(id: str, site: str, serial: str | None = None, model: str | None = None) -> Device:
    return Device(id, site, Role.AP, "10.0.0.1", (Source.SNMP,), Owner.PEMDA,
                  AssetRecord(kode_barang="02.06.02.01.003", nomor_register=id, serial=serial, model=model))


DEVICES = {d.id: d for d in (
    dev("ok", "s1"), dev("flaky", "s2"), dev("dead", "s3"), dev("loop", "s4"), dev("loop-peer", "s4"),
    dev("hot", "s5"), dev("swapped", "s6", serial="HG4090AAA", model="RBcAPGi-5acD2nD"), dev("unseen", "s7"),
    dev("inspected", "s8"), dev("new", "s9"),
)}
SITES = {f"s{i}": Site(f"s{i}", f"KIM {i}", "Desa", "Kec", "Kab") for i in range(1, 10)}


def daily(device: str, since: float, until: float, ok: int = 60, failed: int = 0) -> list[HourlyRollup]:
    """One rollup a day (noon), enough to say the device was polled and how."""
    out, day = [], since
    while day < until:
        hour = day + 12 * H
        out.append(HourlyRollup(device, hour, ok, failed, hour, hour + 3540))
        day += D
    return out


def history(store: Store) -> None:
    store.sync_inventory(SITES, DEVICES, OCT)
    rows: list[object] = []
    for device in DEVICES:
        if device == "new":
            continue
        unseen = device == "unseen"
        rows += daily(device, OCT, END, ok=0 if unseen else 60, failed=60 if unseen else 0)
    rows += [
        # flaky: 3 h of an outage from October, 28 h mid-month (own); 12 h site and 2 h maintenance (not counted)
        Outage("f1", "flaky", "s2", START - 4 * H, Cause.DEVICE, ended_at=START + 3 * H),
        Outage("f2", "flaky", "s2", START + 10 * D, Cause.DEVICE, ended_at=START + 10 * D + 28 * H),
        Outage("f3", "flaky", "s2", START + 15 * D, Cause.SITE, ended_at=START + 15 * D + 12 * H),
        Outage("f4", "flaky", "s2", START + 20 * D, Cause.MAINTENANCE, ended_at=START + 20 * D + 2 * H),
        *[Reboot("flaky", START + (2 + 5 * i) * D, START + (2 + 5 * i) * D + 60) for i in range(4)],
        # dead: its own outage open for the last 10 days
        Outage("d1", "dead", "s3", END - 10 * D, Cause.DEVICE),
        # loop: three reboots in 40 minutes; one inside a site outage and one with its neighbour (power)
        *[Reboot("loop", START + 3 * D + i * 1200, START + 3 * D + i * 1200 + 30) for i in range(3)],
        Outage("l1", "loop", "s4", START + 8 * D, Cause.SITE, ended_at=START + 8 * D + H),
        Reboot("loop", START + 8 * D + 1800, START + 8 * D + H),
        Reboot("loop", START + 12 * D, START + 12 * D + 60),
        Reboot("loop-peer", START + 12 * D + 45, START + 12 * D + 100),
        # hot: four hours above 70 °C
        *[HourlyRollup("hot", START + 5 * D + i * H, 60, 0, START + 5 * D + i * H, START + 5 * D + i * H + 3540,
                       temperature_max=74.0 + i) for i in range(4)],
        # swapped: SNMP discovery read another unit
        StoredDiscovery("swapped", Source.SNMP, START + D, "f" * 64, json.dumps(
            {"v": 1, "identity": {"serial": "HG4090ZZZ", "model": "RBcAPGi-5acD2nD"}})),
        # unseen: down by its own failure since before the month
        Outage("u1", "unseen", "s7", OCT + 20 * D, Cause.DEVICE),
        # inspected: as bad as flaky, but someone checked it
        Outage("i1", "inspected", "s8", START + 10 * D, Cause.DEVICE, ended_at=START + 13 * D),
    ]
    store.write(rows)  # type: ignore[arg-type]
    store.record_inspection(Inspection("inspected", date(2026, 10, 5), Condition.MINOR, "kabel", "Budi", OCT), WIB)
    store.record_inspection(Inspection("inspected", date(2026, 11, 20), Condition.GOOD, "diperbaiki", "Sri",
                                       START + 20 * D), WIB)
    store.record_inspection(Inspection("inspected", date(2026, 12, 2), Condition.MAJOR, "rusak", "Sri",
                                       END + 2 * D), WIB)  # after the month: not this month's


def test_each_rule_gives_its_verdict_and_evidence(store: Store) -> None:
    history(store)
    result = assess(store, DEVICES, START, END, RULES, previous_start=OCT)
    got = {d: (c.suggested, c.evidence) for d, c in result.items()}
    assert got["ok"] == (Condition.GOOD, "tanpa gangguan perangkat (100 % tersedia)")
    assert got["flaky"] == (Condition.MINOR, "gangguan perangkat 31 jam (95,6 % tersedia), 4 kali reboot, padam "
                            "karena lokasi/induk/pemeliharaan 14 jam (tidak dihitung)")
    assert got["dead"] == (Condition.MAJOR, "gangguan perangkat 10 hari (66,6 % tersedia), masih mati di akhir "
                           "periode (10 hari)")
    assert got["loop"] == (Condition.MINOR, "tanpa gangguan perangkat (100 % tersedia), 3 kali reboot, reboot "
                           "berulang 1 kali, padam karena lokasi/induk/pemeliharaan 1 jam (tidak dihitung)")
    assert got["loop-peer"][0] is Condition.GOOD  # its one reboot was the site's power
    assert got["hot"] == (Condition.MINOR, "tanpa gangguan perangkat (100 % tersedia), suhu di atas 70 °C selama "
                          "4 jam (maks 77,0 °C)")
    assert got["swapped"] == (Condition.MINOR, "tanpa gangguan perangkat (100 % tersedia), nomor seri terbaca "
                              "HG4090ZZZ ≠ register HG4090AAA")
    assert got["unseen"] == (Condition.MAJOR, "tidak terlihat sama sekali, gangguan perangkat 30 hari (0 % "
                             "tersedia), masih mati di akhir periode (41 hari)")
    assert got["new"] == (Condition.GOOD, "tidak ada data pemantauan pada periode ini")
    assert got["inspected"][0] is Condition.MINOR


def test_an_inspection_overrides_the_suggestion_from_its_day(store: Store) -> None:
    history(store)
    result = assess(store, DEVICES, START, END, RULES, previous_start=OCT)
    inspected = result["inspected"]
    assert inspected.confirmed is not None and inspected.confirmed.by == "Sri"
    assert inspected.confirmed.condition is Condition.GOOD and inspected.condition is Condition.GOOD
    assert inspected.suggested is Condition.MINOR
    assert inspected.previous is Condition.MINOR  # October's: the inspection of 5 October
    assert result["dead"].previous is Condition.GOOD and result["dead"].condition is Condition.MAJOR
    assert result["ok"].confirmed is None
    # the month before the second inspection's day: the first one still holds
    october = assess(store, DEVICES, OCT, START, RULES)
    assert october["inspected"].confirmed is not None and october["inspected"].confirmed.note == "kabel"


def test_a_month_without_polls_keeps_the_previous_condition(store: Store) -> None:
    history(store)
    december = assess(store, DEVICES, END, END + 31 * D, RULES)
    assert december["dead"].previous is Condition.MAJOR
    assert december["dead"].suggested is Condition.MAJOR
    assert december["dead"].evidence == "tidak ada data pemantauan pada periode ini"
    assert december["ok"].suggested is Condition.GOOD


def test_thresholds_come_from_the_rules(store: Store) -> None:
    history(store)
    lenient = ConditionRules.model_validate({"availability": {"rr_below": 0.9, "rb_below": 0.5},
                                             "reboots": {"loop": "RB"}, "identity_mismatch": "B",
                                             "temperature": {"above_c": 80}})
    result = assess(store, DEVICES, START, END, lenient)
    assert result["flaky"].suggested is Condition.GOOD
    assert result["loop"].suggested is Condition.MAJOR
    assert result["swapped"].suggested is Condition.GOOD
    assert result["hot"].suggested is Condition.GOOD and "suhu" not in result["hot"].evidence


def test_daemon_gaps_count_neither_as_downtime_nor_as_uptime(store: Store) -> None:
    history(store)
    store.write([UnknownSpan(START + 10 * D + 20 * H, START + 11 * D + 20 * H)])  # inside flaky's 28 h outage
    flaky = gather(store, DEVICES, START, END, RULES)["flaky"]
    assert flaky.monitored_s == 29 * D
    assert flaky.own_down_s == 23 * H  # 3 h + the 20 h of f2 before the gap
    evidence = assess(store, DEVICES, START, END, RULES)["flaky"].evidence
    assert evidence.startswith("gangguan perangkat 23 jam (96,6 % tersedia)")  # 23 of 696 monitored hours
    assert evidence.endswith("data tidak lengkap: 96,6 %")


def test_own_availability_matches_a_recount_of_the_raw_outage_rows(store: Store) -> None:
    """Minute by minute from the rows as stored (plain SQL), without the code under test."""
    history(store)
    store.write([UnknownSpan(START + 10 * D + 20 * H, START + 11 * D + 20 * H)])
    engine = sa.create_engine(store._engine.url)
    with engine.connect() as conn:
        outages = conn.execute(sa.text("SELECT device, started_at, ended_at, cause FROM outages")).all()
        gaps = conn.execute(sa.text('SELECT start, "end" FROM unknown_spans')).all()
    engine.dispose()
    facts = gather(store, DEVICES, START, END, RULES)
    minutes = [START + 60 * i + 30 for i in range(int((END - START) / 60))]
    known = [m for m in minutes if not any(a <= m < b for a, b in gaps)]
    for device in DEVICES:
        own = [(a, b if b is not None else END) for d, a, b, cause in outages if d == device and cause == "device"]
        down = sum(1 for m in known if any(a <= m < b for a, b in own))
        assert facts[device].monitored_s == len(known) * 60
        assert facts[device].own_down_s == down * 60, device
        expected = 1 - down / len(known)
        availability = facts[device].availability
        assert availability is not None and abs(availability - expected) < 1e-12
