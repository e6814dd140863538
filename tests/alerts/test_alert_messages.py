"""Message texts, table-driven: every message kind x language x owner (pemda/kim) x cause gives the exact
subject and the key lines of the body; every built-in rule is put into words (no internal rule names, raw enum
values or engine summaries reach people); recoveries are `success`."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest
from alert_day import fleet, wib

from alerts.flap import FlapDetector
from alerts.incident import incident_id
from alerts.message import NotifyType, facts, notify_type, percent, render
from alerts.rules import BUILTIN_RULES
from netmon.model import Incident, Owner, Severity, Ticket

SITES, DEVICES = fleet()
OPENED = wib("10:01")


def incident(rule: str = "device_down", subject: str = "kim-ketenger-ap", *, kind: str = "device",
             owner: Owner = Owner.PEMDA, severity: Severity = Severity.CRITICAL, site: str | None = "ketenger",
             device: str | None = "kim-ketenger-ap", members: tuple[str, ...] = (), summary: str = "") -> Incident:
    return Incident(incident_id(rule, subject, OPENED), rule, subject, kind, severity, OPENED, owner, "Banyumas",
                    "Baturraden" if site != "kotayasa" else "Sumbang", site, device, members, summary=summary)


# case -> (incident, {language: (problem phrase, end phrase)}, {language: key body lines})
CASES: dict[str, tuple[Incident, dict[str, tuple[str, str]], dict[str, list[str]]]] = {
    "pemda-ap-device-with-parent": (
        incident(),
        {"id": ("AP KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
                "AP KIM Ketenger (Desa Ketenger, Baturraden) kembali terjangkau"),
         "en": ("AP KIM Ketenger (Desa Ketenger, Baturraden) unreachable",
                "AP KIM Ketenger (Desa Ketenger, Baturraden) reachable again")},
        {"id": ["Lokasi: KIM Ketenger, Desa Ketenger, Kec. Baturraden, Banyumas",
                "Perangkat: kim-ketenger-ap (access point, milik Pemda), kode barang 02.06.02.01.002, "
                "no. register 0102",
                "Penyebab: kerusakan perangkat (induk dan lokasi masih menjawab)"],
         "en": ["Site: KIM Ketenger, Desa Ketenger, Kec. Baturraden, Banyumas",
                "Device: kim-ketenger-ap (access point, owned by the Pemda), kode barang 02.06.02.01.002, "
                "register no. 0102",
                "Cause: the device itself failed (its parent and the site still answer)"]}),
    "pemda-router-device-without-parent": (
        incident(subject="kim-ketenger-router", device="kim-ketenger-router"),
        {"id": ("Router KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
                "Router KIM Ketenger (Desa Ketenger, Baturraden) kembali terjangkau"),
         "en": ("Router KIM Ketenger (Desa Ketenger, Baturraden) unreachable",
                "Router KIM Ketenger (Desa Ketenger, Baturraden) reachable again")},
        {"id": ["Perangkat: kim-ketenger-router (router, milik Pemda), kode barang 02.06.02.01.001, "
                "no. register 0002",
                "Penyebab: kerusakan perangkat (lokasi masih menjawab)"],
         "en": ["Device: kim-ketenger-router (router, owned by the Pemda)",
                "Cause: the device itself failed (the site still answers)"]}),
    "kim-ap-device": (
        incident(subject="kim-kotayasa-ap", device="kim-kotayasa-ap", site="kotayasa", owner=Owner.KIM),
        {"id": ("AP KIM Kotayasa (Desa Kotayasa, Sumbang) tidak terjangkau",
                "AP KIM Kotayasa (Desa Kotayasa, Sumbang) kembali terjangkau"),
         "en": ("AP KIM Kotayasa (Desa Kotayasa, Sumbang) unreachable",
                "AP KIM Kotayasa (Desa Kotayasa, Sumbang) reachable again")},
        {"id": ["Lokasi: KIM Kotayasa, Desa Kotayasa, Kec. Sumbang, Banyumas",
                "Perangkat: kim-kotayasa-ap (access point, milik KIM), kode barang 02.06.02.01.002, "
                "no. register 0106",
                "Penyebab: kerusakan perangkat (induk dan lokasi masih menjawab)"],
         "en": ["Device: kim-kotayasa-ap (access point, owned by the KIM)",
                "Cause: the device itself failed (its parent and the site still answer)"]}),
    "pemda-site": (
        incident("site_down", "ketenger", kind="site", device=None,
                 members=("kim-ketenger-router", "kim-ketenger-ap")),
        {"id": ("Lokasi KIM Ketenger (Desa Ketenger, Baturraden) tidak terjangkau",
                "Lokasi KIM Ketenger (Desa Ketenger, Baturraden) kembali terjangkau"),
         "en": ("Site KIM Ketenger (Desa Ketenger, Baturraden) unreachable",
                "Site KIM Ketenger (Desa Ketenger, Baturraden) reachable again")},
        {"id": ["Perangkat: kim-ketenger-router (router, milik Pemda), kode barang 02.06.02.01.001, "
                "no. register 0002",
                "Perangkat: kim-ketenger-ap (access point, milik Pemda)",
                "Penyebab: seluruh perangkat di lokasi tidak menjawab (listrik atau uplink)"],
         "en": ["Device: kim-ketenger-router (router, owned by the Pemda)",
                "Cause: nothing at the site answers (power or uplink)"]}),
    "kim-area": (
        incident("area_outage", "kecamatan:Baturraden", kind="area", site=None, device=None, owner=Owner.KIM,
                 members=("ketenger", "kemutug", "pamijen")),
        {"id": ("Gangguan wilayah Kecamatan Baturraden: 3 lokasi KIM tidak terjangkau",
                "Gangguan wilayah Kecamatan Baturraden berakhir: 3 lokasi KIM kembali terjangkau"),
         "en": ("Area outage in Kecamatan Baturraden: 3 KIM sites unreachable",
                "Area outage in Kecamatan Baturraden over: 3 KIM sites reachable again")},
        {"id": ["Wilayah: Kec. Baturraden, Banyumas", "Lokasi terdampak (3):", "- KIM Pamijen, Desa Pamijen",
                "Penyebab: banyak lokasi dalam satu kecamatan mati bersamaan"],
         "en": ["Area: Kec. Baturraden, Banyumas", "Sites affected (3):", "- KIM Kemutug, Desa Kemutug",
                "Cause: many sites in one kecamatan failed together"]}),
}

INTO = Ticket("NETMON-2026-000777", "inc-area", "open", OPENED, OPENED)
# kind -> (prefix by language, what the incident carries for it, key lines by language, apprise type)
KINDS: dict[str, tuple[dict[str, str], dict[str, Any], dict[str, list[str]], NotifyType]] = {
    "opened": ({"id": "[GANGGUAN]", "en": "[PROBLEM]"}, {},
               {"id": ["Sejak: 12 Mei 2026 10:01:00 WIB", "Yang perlu diperiksa: "],
                "en": ["Since: 12 May 2026 10:01:00 WIB", "What to check: "]}, NotifyType.FAILURE),
    "escalated": ({"id": "[ESKALASI]", "en": "[ESCALATED]"}, {"escalated_at": wib("10:31")},
                  {"id": ["Belum ditangani; sudah berlangsung 30 menit.", "Yang perlu diperiksa: "],
                   "en": ["Not acknowledged yet; ongoing for 30 min.", "What to check: "]}, NotifyType.FAILURE),
    "acknowledged": ({"id": "[DITANGANI]", "en": "[ACKNOWLEDGED]"},
                     {"acknowledged_at": wib("10:20"), "acknowledged_by": "teknisi-budi"},
                     {"id": ["Ditangani oleh teknisi-budi pada 12 Mei 2026 10:20:00 WIB."],
                      "en": ["Acknowledged by teknisi-budi at 12 May 2026 10:20:00 WIB."]}, NotifyType.INFO),
    "updated": ({"id": "[PEMBARUAN]", "en": "[UPDATE]"}, {},
                {"id": ["Daftar terdampak diperbarui."], "en": ["The list of affected sites changed."]},
                NotifyType.FAILURE),
    "resolved": ({"id": "[PULIH]", "en": "[RECOVERED]"}, {"resolved_at": wib("12:16")},
                 {"id": ["Sejak: 12 Mei 2026 10:01:00 WIB", "Pulih: 12 Mei 2026 12:16:00 WIB (durasi 2 jam 15 menit)"],
                  "en": ["Recovered: 12 May 2026 12:16:00 WIB (duration 2 h 15 min)"]}, NotifyType.SUCCESS),
    "folded": ({"id": "[DIGABUNG]", "en": "[MERGED]"}, {"resolved_at": wib("10:40")},
               {"id": ["Digabung ke NETMON-2026-000777; tiket ini ditutup."],
                "en": ["Merged into NETMON-2026-000777; this ticket is closed."]}, NotifyType.INFO),
}
TABLE = {f"{case}-{kind}-{language}": (case, kind, language)
         for case, kind, language in itertools.product(CASES, KINDS, ("id", "en"))}


@pytest.mark.parametrize(("case", "kind", "language"), TABLE.values(), ids=TABLE.keys())
def test_every_kind_language_owner_and_cause(case: str, kind: str, language: str) -> None:
    base, phrases, case_lines = CASES[case]
    prefixes, extra, kind_lines, expected_type = KINDS[kind]
    inc = replace(base, **extra)
    ticket = Ticket("NETMON-2026-000123", inc.id, "open", OPENED, OPENED)

    message = render(inc, DEVICES, SITES, language=language, kind=kind, ticket=ticket, into=INTO)

    phrase = phrases[language][1 if kind == "resolved" else 0]
    assert message.subject == f"{prefixes[language]} {phrase}"
    lines = message.body.splitlines()
    assert lines[0] == ("Tiket: " if language == "id" else "Ticket: ") + "NETMON-2026-000123"
    for line in case_lines[language] + kind_lines[language]:
        assert any(text.startswith(line) for text in lines), (line, message.body)
    assert message.notify_type is expected_type
    assert message.severity is inc.severity


# rule -> (incident, {language: (problem subject phrase, end subject phrase, details line)})
AP = {"subject": "kim-ketenger-ap", "device": "kim-ketenger-ap", "kind": "metric"}
ROUTER = {"subject": "kim-ketenger-router", "device": "kim-ketenger-router", "kind": "metric"}
WHERE = "(Desa Ketenger, Baturraden)"
RULES: dict[str, tuple[Incident, dict[str, tuple[str, str, str | None]]]] = {
    "high_temperature": (incident("high_temperature", **ROUTER, severity=Severity.WARNING, summary="71 (> 65)"), {
        "id": (f"Suhu Router KIM Ketenger {WHERE} terlalu tinggi", f"Suhu Router KIM Ketenger {WHERE} kembali normal",
               "Keterangan: suhu 71 °C (batas 65 °C)"),
        "en": (f"Router KIM Ketenger {WHERE} temperature too high",
               f"Router KIM Ketenger {WHERE} temperature back to normal", "Details: temperature 71 °C (limit 65 °C)")}),
    "voltage-low": (incident("voltage", **ROUTER, summary="11.2 V (< 11.5 V)"), {
        "id": (f"Tegangan listrik Router KIM Ketenger {WHERE} rendah atau tidak stabil",
               f"Tegangan listrik Router KIM Ketenger {WHERE} kembali normal",
               "Keterangan: tegangan 11,2 V (batas bawah 11,5 V)"),
        "en": (f"Router KIM Ketenger {WHERE} supply voltage low or unstable",
               f"Router KIM Ketenger {WHERE} supply voltage back to normal",
               "Details: voltage 11.2 V (minimum 11.5 V)")}),
    "voltage-swing": (incident("voltage", **ROUTER, summary="11.6-13.9 V"), {
        "id": (f"Tegangan listrik Router KIM Ketenger {WHERE} rendah atau tidak stabil",
               f"Tegangan listrik Router KIM Ketenger {WHERE} kembali normal",
               "Keterangan: tegangan berubah-ubah antara 11,6 dan 13,9 V"),
        "en": (f"Router KIM Ketenger {WHERE} supply voltage low or unstable",
               f"Router KIM Ketenger {WHERE} supply voltage back to normal",
               "Details: voltage swinging between 11.6 and 13.9 V")}),
    "high_cpu": (incident("high_cpu", **ROUTER, summary="0.97 (> 0.9)"), {
        "id": (f"Beban CPU Router KIM Ketenger {WHERE} tinggi", f"Beban CPU Router KIM Ketenger {WHERE} kembali normal",
               "Keterangan: beban CPU 97% (batas 90%)"),
        "en": (f"Router KIM Ketenger {WHERE} CPU load high", f"Router KIM Ketenger {WHERE} CPU load back to normal",
               "Details: CPU load 97% (limit 90%)")}),
    "interface_down": (incident("interface_down", "kim-ketenger-router/ether2", kind="metric",
                                device="kim-ketenger-router"), {
        "id": (f"Port ether2 pada Router KIM Ketenger {WHERE} terputus",
               f"Port ether2 pada Router KIM Ketenger {WHERE} tersambung kembali", None),
        "en": (f"Port ether2 of Router KIM Ketenger {WHERE} down",
               f"Port ether2 of Router KIM Ketenger {WHERE} up again", None)}),
    "reboot_loop": (incident("reboot_loop", **AP, summary="3x / 60 min"), {
        "id": (f"AP KIM Ketenger {WHERE} restart berulang", f"AP KIM Ketenger {WHERE} tidak lagi restart berulang",
               "Keterangan: restart 3 kali dalam 60 menit"),
        "en": (f"AP KIM Ketenger {WHERE} rebooting repeatedly",
               f"AP KIM Ketenger {WHERE} no longer rebooting repeatedly",
               "Details: rebooted 3 times in 60 min")}),
    "idle_ap": (incident("idle_ap", **AP, summary="125 min"), {
        "id": (f"AP KIM Ketenger {WHERE} tanpa pengguna wifi",
               f"AP KIM Ketenger {WHERE} kembali melayani pengguna wifi",
               "Keterangan: tanpa pengguna wifi selama 125 menit pada jam layanan"),
        "en": (f"AP KIM Ketenger {WHERE} has no wifi clients", f"AP KIM Ketenger {WHERE} serving wifi clients again",
               "Details: no wifi clients for 125 min during opening hours")}),
    "asset_mismatch": (incident("asset_mismatch", **ROUTER,
                                summary="serial HG20X7Q9 (KIB RTR0001); model RB4011 (KIB RB951Ui-2HnD)"), {
        "id": (f"Router KIM Ketenger {WHERE} tidak sesuai data aset (KIB)",
               f"Router KIM Ketenger {WHERE} kembali sesuai data aset (KIB)",
               "Keterangan: nomor seri terbaca HG20X7Q9, di KIB RTR0001; model terbaca RB4011, di KIB RB951Ui-2HnD"),
        "en": (f"Router KIM Ketenger {WHERE} does not match the asset register (KIB)",
               f"Router KIM Ketenger {WHERE} matches the asset register (KIB) again",
               "Details: serial read HG20X7Q9, register says RTR0001; model read RB4011, register says RB951Ui-2HnD")}),
    "unknown_device": (incident("unknown_device", "ketenger/3f9a0c12d4e5b6a7", kind="metric", device=None,
                                summary="3f9a0c12d4e5"), {
        "id": (f"Perangkat tak dikenal di KIM Ketenger {WHERE}",
               f"Perangkat tak dikenal di KIM Ketenger {WHERE} tidak terlihat lagi",
               "Keterangan: sidik perangkat 3f9a0c12d4e5"),
        "en": (f"Unknown device at KIM Ketenger {WHERE}", f"Unknown device at KIM Ketenger {WHERE} no longer seen",
               "Details: device fingerprint 3f9a0c12d4e5")}),
    "flapping-device": (incident("flapping", **AP, summary="4x / 30 min"), {
        "id": (f"Koneksi AP KIM Ketenger {WHERE} putus-sambung", f"Koneksi AP KIM Ketenger {WHERE} stabil kembali",
               "Keterangan: status berubah 4 kali dalam 30 menit"),
        "en": (f"Connection of AP KIM Ketenger {WHERE} flapping", f"Connection of AP KIM Ketenger {WHERE} stable again",
               "Details: changed state 4 times in 30 min")}),
    "user-rule": (incident("many_users", "kim-ketenger-router/all", kind="metric", device="kim-ketenger-router",
                           summary="55 (>= 50)"), {
        "id": (f"Nilai many_users pada Router KIM Ketenger {WHERE} di luar batas",
               f"Nilai many_users pada Router KIM Ketenger {WHERE} kembali normal",
               "Keterangan: nilai 55 (batas >= 50)"),
        "en": (f"many_users of Router KIM Ketenger {WHERE} out of bounds",
               f"many_users of Router KIM Ketenger {WHERE} back to normal", "Details: value 55 (limit >= 50)")}),
}
END_PREFIX = {"id": ("[PULIH]", "[SELESAI]"), "en": ("[RECOVERED]", "[RESOLVED]")}
RULE_TABLE = {f"{rule}-{language}": (rule, language) for rule, language in itertools.product(RULES, ("id", "en"))}


@pytest.mark.parametrize(("rule", "language"), RULE_TABLE.values(), ids=RULE_TABLE.keys())
def test_every_rule_in_words(rule: str, language: str) -> None:
    inc, texts = RULES[rule]
    problem, end, details = texts[language]
    opened = render(inc, DEVICES, SITES, language=language)
    resolved = render(replace(inc, resolved_at=wib("10:46")), DEVICES, SITES, language=language, kind="resolved")

    assert opened.subject == ("[GANGGUAN] " if language == "id" else "[PROBLEM] ") + problem
    recovery = inc.rule in ("interface_down", "flapping")  # something came back; the others are conditions
    assert resolved.subject == f"{END_PREFIX[language][0 if recovery else 1]} {end}"
    if details is not None:
        assert details in opened.body.splitlines()
    end_word = {"id": ("Pulih", "Selesai"), "en": ("Recovered", "Ended")}[language][0 if recovery else 1]
    assert f"{end_word}: 12 {'Mei' if language == 'id' else 'May'} 2026 10:46:00 WIB" in resolved.body
    assert resolved.notify_type is NotifyType.SUCCESS
    assert opened.notify_type is (NotifyType.WARNING if inc.severity is Severity.WARNING else NotifyType.FAILURE)
    if inc.rule == "many_users":  # the operator's own rule name is named, as the operator wrote it
        assert ("Aturan: many_users" if language == "id" else "Rule: many_users") in opened.body.splitlines()


RAW = [*(r for r in BUILTIN_RULES if "_" in r), "(ap,", "(other,", "pemda)", "kim)", "other)", "kecamatan:", "x / ",
       "(KIB R", "(> ", "(< ", "0.9"]


@pytest.mark.parametrize("language", ["id", "en"])
def test_no_internal_names_or_raw_values_in_any_message(language: str) -> None:
    incidents = [inc for inc, _, _ in CASES.values()] + [inc for inc, _ in RULES.values()]
    for inc, kind in itertools.product(incidents, KINDS):
        message = render(replace(inc, **KINDS[kind][1]), DEVICES, SITES, language=language, kind=kind, into=INTO)
        text = f"{message.subject}\n{message.body}"
        for raw in RAW + (list(BUILTIN_RULES) if language == "id" else []):  # "voltage" is an English word
            assert raw not in text, (raw, inc.rule, kind, text)
        if language == "id":
            assert " min" not in text and "times" not in text, text


def test_two_devices_of_one_role_at_a_site_are_told_apart_by_name() -> None:
    second = replace(DEVICES["kim-ketenger-ap"], id="kim-ketenger-ap2")
    devices = {**DEVICES, second.id: second}
    message = render(incident(subject=second.id, device=second.id), devices, SITES)
    assert message.subject == f"[GANGGUAN] AP kim-ketenger-ap2 di KIM Ketenger {WHERE} tidak terjangkau"
    english = render(incident(), devices, SITES, language="en", kind="resolved")
    assert english.subject == f"[RECOVERED] AP kim-ketenger-ap at KIM Ketenger {WHERE} reachable again"


@pytest.mark.parametrize(("language", "line"), [
    ("id", "Sejak: 12 Mei 2026 10:01:00 WIB (terdeteksi 12 Mei 2026 10:03:00 WIB)"),
    ("en", "Since: 12 May 2026 10:01:00 WIB (detected 12 May 2026 10:03:00 WIB)"),
])
def test_start_is_the_first_failed_poll_and_detection_is_named_when_known(language: str, line: str) -> None:
    base = incident()
    detected = replace(base, detected_at=wib("10:03"))
    assert line in render(detected, DEVICES, SITES, language=language).body.splitlines()
    plain = render(base, DEVICES, SITES, language=language).body
    assert "terdeteksi" not in plain and "detected" not in plain


@pytest.mark.parametrize(("kind", "severity", "expected"), [
    ("opened", Severity.CRITICAL, "failure"), ("opened", Severity.WARNING, "warning"),
    ("opened", Severity.INFO, "info"),
    ("escalated", Severity.CRITICAL, "failure"), ("escalated", Severity.WARNING, "warning"),
    ("updated", Severity.CRITICAL, "failure"), ("acknowledged", Severity.CRITICAL, "info"),
    ("folded", Severity.CRITICAL, "info"), ("resolved", Severity.CRITICAL, "success"),
    ("resolved", Severity.WARNING, "success"), ("resolved", Severity.INFO, "success"),
])
def test_notify_type_of_every_kind(kind: str, severity: Severity, expected: str) -> None:
    assert notify_type(kind, severity) == expected


def test_the_flap_detectors_own_summary_is_put_into_words() -> None:
    """The engine's summary shape is read by `facts`: a change of the detector's wording fails here."""
    detector = FlapDetector(4, 1800, 1800)
    for minute in (0, 5, 10, 15):
        detector.record("kim-ketenger-ap", OPENED + minute * 60)
    verdict = detector.verdict("kim-ketenger-ap", OPENED + 15 * 60)
    assert verdict is not None and verdict.active
    inc = incident("flapping", **AP, summary=verdict.summary)
    assert facts(inc) == {"count": "4", "window_min": "30"}


@pytest.mark.parametrize(("text", "language", "shown"), [
    ("0.97", "id", "97%"), ("0.905", "en", "90%"), ("1", "id", "100%"), ("..", "id", ".."),
])
def test_percent(text: str, language: str, shown: str) -> None:
    assert percent(text, language) == shown
