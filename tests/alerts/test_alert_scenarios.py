"""A simulated day at the KIM sites of Kecamatan Baturraden (and Kotayasa in Sumbang): each scenario gives
exactly the expected incidents, tickets and messages, no more, no fewer. Polls every minute, availability and
outages from the real `netmon.state` trackers (3 failed polls -> down, 2 good polls -> up)."""

from __future__ import annotations

import re

from alert_day import BATURRADEN, DAY, Day, subjects, wib

from alerts.incident import incident_id
from netmon.model import DeviceIdentity, MaintenanceWindow

TICKET = re.compile(r"^NETMON-2026-\d{6}$")


def test_one_ap_failing_opens_one_device_incident_escalates_once_and_resolves_with_duration() -> None:
    day = Day.start()
    day.run_until("10:00")
    day.fail("kim-ketenger-ap")
    day.run_until("11:30")
    day.repair("kim-ketenger-ap")
    day.run_until("13:00")

    assert day.changes() == [("opened", "device_down", "kim-ketenger-ap"),
                             ("escalated", "device_down", "kim-ketenger-ap"),
                             ("resolved", "device_down", "kim-ketenger-ap")]
    incident = day.out.changes[-1].incident
    assert incident.opened_at == wib("10:01")  # first failed poll
    assert incident.resolved_at == wib("11:31")  # first good poll: the outage ends there
    assert incident.owner == "pemda" and incident.kecamatan == "Baturraden"
    [(kind1, ticket, _), (kind2, ticket2, _), (kind3, ticket3, _)] = day.actions()
    assert (kind1, kind2, kind3) == ("open", "update", "resolve") and ticket == ticket2 == ticket3
    assert TICKET.match(ticket)
    sent = day.messages()
    assert subjects(sent) == ["[GANGGUAN] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
                              "[ESKALASI] AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
                              "[PULIH] AP KIM Ketenger (Desa Ketenger, Baturraden) kembali terjangkau"]
    assert [m.notify_type for m, _ in sent] == ["failure", "failure", "success"]
    assert [targets for _, targets in sent] == [("diskominfo",), ("diskominfo", "kabid"), ("diskominfo", "kabid")]
    assert "durasi 1 jam 30 menit" in sent[2][0].body
    assert "Sejak: 12 Mei 2026 10:01:00 WIB" in sent[0][0].body


def test_acknowledged_incident_does_not_escalate() -> None:
    day = Day.start()
    day.run_until("10:00")
    day.fail("kim-ketenger-ap")
    day.run_until("10:10")
    [opened] = day.out.changes
    day.collect(day.engine.ack(opened.incident.id, "teknisi-ani", wib("10:10")))
    day.run_until("12:00")
    assert day.changes() == [("opened", "device_down", "kim-ketenger-ap"),
                             ("acknowledged", "device_down", "kim-ketenger-ap")]
    assert [a.ticket.state for a in day.out.actions] == ["open", "acknowledged"]


def test_site_losing_power_opens_one_site_incident_not_one_per_device() -> None:
    day = Day.start()
    day.run_until("13:00")
    day.fail(*day.site_devices("kemutug"))
    day.run_until("15:00")
    day.repair(*day.site_devices("kemutug"))
    day.run_until("16:00")

    assert day.changes() == [("opened", "site_down", "kemutug"), ("escalated", "site_down", "kemutug"),
                             ("resolved", "site_down", "kemutug")]
    incident = day.out.changes[-1].incident
    assert incident.members == ("kim-kemutug-router", "kim-kemutug-ap")
    assert (incident.opened_at, incident.resolved_at) == (wib("13:01"), wib("15:01"))  # first failed, first good
    assert len({t for _, t, _ in day.actions()}) == 1
    body = day.messages()[0][0].body
    assert "PLN" in body and "no. register 0003" in body and "no. register 0103" in body


def test_five_sites_in_a_kecamatan_failing_together_give_one_area_incident_and_one_ticket() -> None:
    day = Day.start()
    day.run_until("19:00")
    day.fail(*day.site_devices(*BATURRADEN))
    day.run_until("19:20")
    day.engine.ack(day.out.changes[0].incident.id, "diskominfo-noc", wib("19:20"))
    day.run_until("20:00")
    day.repair(*day.site_devices(*BATURRADEN))
    day.run_until("21:00")

    assert day.changes("opened", "resolved", "folded") == [("opened", "area_outage", "kecamatan:Baturraden"),
                                                           ("resolved", "area_outage", "kecamatan:Baturraden")]
    assert day.out.changes[0].incident.members == tuple(sorted(BATURRADEN))
    assert [kind for kind, _, _ in day.actions()] == ["open", "resolve"]
    [(opened, _), (resolved, _)] = day.messages()
    assert opened.subject == "[GANGGUAN] Gangguan wilayah Kecamatan Baturraden: 5 lokasi KIM tidak terjangkau"
    assert resolved.subject == "[PULIH] Gangguan wilayah Kecamatan Baturraden berakhir: 5 lokasi KIM kembali terjangkau"
    assert "cek status PLN dan ISP untuk Kecamatan Baturraden" in opened.body
    assert all(f"KIM {s.title()}" in opened.body for s in BATURRADEN)
    assert "durasi 1 jam" in resolved.body and "Pulih: 12 Mei 2026 20:01:00 WIB" in resolved.body  # first good poll


def test_sites_failing_minutes_apart_are_folded_into_the_area_incident() -> None:
    day = Day.start()
    day.run_until("19:00")
    for minute, site in zip((4, 8, 12), BATURRADEN[:3], strict=True):
        day.fail(*day.site_devices(site))
        day.run_until(f"19:{minute:02d}")
    day.run_until("20:00")
    day.repair(*day.site_devices(*BATURRADEN))
    day.run_until("21:00")

    assert day.changes("opened", "folded", "resolved") == [
        ("opened", "site_down", "karangmangu"), ("opened", "site_down", "ketenger"),
        ("opened", "area_outage", "kecamatan:Baturraden"),
        ("folded", "site_down", "karangmangu"), ("folded", "site_down", "ketenger"),
        ("resolved", "area_outage", "kecamatan:Baturraden")]
    area = day.out.changes[2].incident
    assert all(c.into == area.id for c in day.out.changes if c.kind == "folded")
    assert [(kind, a.reason) for kind, a in ((a.kind, a) for a in day.out.actions)
            if a.incident.rule == "site_down"] == [("open", "opened"), ("open", "opened"),
                                                    ("resolve", "folded"), ("resolve", "folded")]
    area_ticket = day.engine.ticket(area.id)
    assert area_ticket is not None
    merged = [a.text for a in day.out.actions if a.reason == "folded"]
    assert all(f"Digabung ke {area_ticket.id}" in text for text in merged)


def test_flapping_uplink_raises_one_flapping_incident_instead_of_a_stream() -> None:
    day = Day.start()
    day.run_until("09:00")
    kotayasa = day.site_devices("kotayasa")
    for cycle in range(10):  # 3 min down, 3 min up, for an hour
        start = wib("09:00") + cycle * 360
        day.fail(*kotayasa)
        day.run_until(_hhmm(start + 180))
        day.repair(*kotayasa)
        day.run_until(_hhmm(start + 360))
        if cycle == 3:  # the technician acknowledges the flapping incident
            flapping = next(c for c in day.out.changes if c.incident.rule == "flapping").incident
            day.collect(day.engine.ack(flapping.id, "teknisi-budi", day.now))
    day.run_until("12:00")

    assert day.changes("opened", "folded", "resolved") == [
        ("opened", "site_down", "kotayasa"), ("opened", "flapping", "kotayasa"),
        ("folded", "site_down", "kotayasa"), ("resolved", "flapping", "kotayasa")]
    assert subjects(day.messages()) == ["[GANGGUAN] Lokasi KIM Kotayasa (Desa Kotayasa, Sumbang) tidak terjangkau",
                                        "[GANGGUAN] Koneksi KIM Kotayasa (Desa Kotayasa, Sumbang) putus-sambung",
                                        "[PULIH] Koneksi KIM Kotayasa (Desa Kotayasa, Sumbang) stabil kembali"]
    resolved = day.out.changes[-1].incident
    assert resolved.resolved_at is not None and wib("09:59") <= resolved.resolved_at <= wib("10:02")
    assert len({t for _, t, _ in day.actions()}) == 2  # the site ticket (merged) and the flapping ticket


def test_outage_inside_a_maintenance_window_raises_nothing() -> None:
    window = MaintenanceWindow("ganti-router", wib("01:00"), wib("03:00"), sites=frozenset({"ketenger"}))
    day = Day.start(windows=[window])
    day.run_until("01:10")
    day.fail(*day.site_devices("ketenger"))
    day.run_until("02:30")
    day.repair(*day.site_devices("ketenger"))
    day.run_until("05:00")
    assert day.out.events == [] and day.out.changes == [] and day.out.actions == []


def test_works_overrunning_the_window_raise_the_site_incident_after_the_grace() -> None:
    window = MaintenanceWindow("ganti-router", wib("01:00"), wib("03:00"), sites=frozenset({"ketenger"}))
    day = Day.start(windows=[window])
    day.run_until("01:10")
    day.fail(*day.site_devices("ketenger"))
    day.run_until("03:30")
    assert day.changes() == [("opened", "site_down", "ketenger")]
    assert day.out.changes[0].at == wib("03:12")  # window end + 10 min grace + 2 min site hold
    day.repair(*day.site_devices("ketenger"))
    day.run_until("05:00")
    assert day.changes() == [("opened", "site_down", "ketenger"), ("resolved", "site_down", "ketenger")]
    # the span raising it starts where the works were due to end; the works' own span keeps 01:11-03:00
    assert day.out.changes[-1].incident.opened_at == wib("03:00")


def test_swapped_router_raises_one_asset_mismatch_incident() -> None:
    day = Day.start()

    def identity(device: str, at: float) -> DeviceIdentity:
        asset = day.devices[device].asset
        serial = "HG20X7Q9" if device == "kim-pamijen-router" and at >= wib("09:00") else asset.serial or ""
        return DeviceIdentity("mikrotik", vendor="MikroTik", model=f"MikroTik {asset.model}", serial=serial)

    day.identity = identity
    day.run_until("09:20")
    assert day.changes() == [("opened", "asset_mismatch", "kim-pamijen-router")]
    incident = day.out.changes[0].incident
    assert incident.summary == "serial HG20X7Q9 (KIB RTR0003)"
    [(message, targets)] = day.messages()
    assert targets == ("diskominfo",)
    assert "cocokkan nomor seri dan model dengan KIB" in message.body and "HG20X7Q9" in message.body
    [(english, _)] = day.messages("en")
    assert english.subject == ("[PROBLEM] Router KIM Pamijen (Desa Pamijen, Baturraden) does not match the asset "
                               "register (KIB)")
    assert "Keterangan: nomor seri terbaca HG20X7Q9, di KIB RTR0003" in message.body


def test_daemon_restart_mid_incident_continues_the_same_incident_and_ticket() -> None:
    day = Day.start()
    day.run_until("10:00")
    day.fail("kim-rempoah-ap")
    day.run_until("10:20")
    before = day.engine.open_incidents()
    day.restart()
    assert day.engine.open_incidents() == before
    day.run_until("11:00")
    day.repair("kim-rempoah-ap")
    day.run_until("12:00")

    assert day.changes() == [("opened", "device_down", "kim-rempoah-ap"),
                             ("escalated", "device_down", "kim-rempoah-ap"),
                             ("resolved", "device_down", "kim-rempoah-ap")]
    assert len({c.incident.id for c in day.out.changes}) == 1
    assert [k for k, _, _ in day.actions()] == ["open", "update", "resolve"]
    assert len({t for _, t, _ in day.actions()}) == 1


def test_restart_without_stored_incidents_re_derives_the_same_ids() -> None:
    day = Day.start()
    day.run_until("10:00")
    day.fail("kim-rempoah-ap")
    day.run_until("10:10")
    [opened] = day.out.changes
    assert opened.incident.id == incident_id("device_down", "kim-rempoah-ap", wib("10:01"))
    first = day.out.actions[0]
    day.engine = Day.start().engine  # storage lost the incident: a fresh engine, same facts
    day.out.changes.clear()
    day.out.actions.clear()
    day.run_until("10:14")  # the fresh engine holds device_down its 120 s again
    [again] = day.out.changes
    assert again.incident.id == opened.incident.id
    assert day.out.actions[0].ticket.id == first.ticket.id and day.out.actions[0].key == first.key


def _hhmm(at: float) -> str:
    minutes = round((at - DAY) / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
