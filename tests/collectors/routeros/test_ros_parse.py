"""Value parsers against every value format listed in ../shared/corpus/routeros/FIELDS.md."""

from __future__ import annotations

from datetime import datetime

import pytest

from collectors.routeros.parse import band, boolean, duration_s, field, integer, mac, number, timestamp, tx_rx

W, D, H, M = 604800, 86400, 3600, 60


@pytest.mark.parametrize(("text", "seconds"), [
    pytest.param("1m30s", 90, id="np-x86-uptime"),
    pytest.param("1w4d23h26m9s", W + 4 * D + 23 * H + 26 * M + 9, id="np-ccr2004-uptime"),
    pytest.param("1w1h10m14s", W + H + 10 * M + 14, id="tg-uptime-no-days"),
    pytest.param("1w2d3h4m5s", W + 2 * D + 3 * H + 4 * M + 5, id="ha-uptime"),
    pytest.param("5h49m36s", 5 * H + 49 * M + 36, id="ha-registration-uptime"),
    pytest.param("2d15h28m27s", 2 * D + 15 * H + 28 * M + 27, id="ha-wifiwave2-uptime"),
    pytest.param("6d4h45m3s", 6 * D + 4 * H + 45 * M + 3, id="tg-registration-uptime"),
    pytest.param("2h32m50s", 2 * H + 32 * M + 50, id="tg-registration-uptime-2"),
    pytest.param("5d9m11s", 5 * D + 9 * M + 11, id="pr8-no-hours"),
    pytest.param("8w6d6h18m17s", 8 * W + 6 * D + 6 * H + 18 * M + 17, id="np-neighbor-uptime"),
    pytest.param("170ms", 0.170, id="ha-last-activity-ms"),
    pytest.param("1s530ms", 1.530, id="tg-last-activity"),
    pytest.param("3s70ms", 3.070, id="tg-last-activity-2"),
    pytest.param("4s750ms", 4.750, id="pr8-last-activity"),
    pytest.param("2w2d16h56m20s890ms", 2 * W + 2 * D + 16 * H + 56 * M + 20.890, id="octo-strength-at-rates"),
    pytest.param("4m700ms", 4 * M + 0.7, id="octo-minutes-then-ms"),
    pytest.param("60ms", 0.06, id="octo-60ms"),
    pytest.param("10ms", 0.01, id="octo-10ms"),
    pytest.param("21m57s", 21 * M + 57, id="tg-lease-expires-after"),
    pytest.param("8m3s", 8 * M + 3, id="tg-lease-last-seen"),
    pytest.param("7s", 7, id="np-bridge-host-age"),
    pytest.param("3d3h42m53s", 272573, id="exp-vector-1"),
    pytest.param("15w3d3h42m53s", 9344573, id="exp-vector-2"),
    pytest.param("42m53s", 2573, id="exp-vector-3"),
    pytest.param("7w6d9h34m", 4786440, id="exp-vector-ends-in-minutes"),
    pytest.param("5w4d3h2m1s", 5 * W + 4 * D + 3 * H + 2 * M + 1, id="mktxp-vector-1"),
    pytest.param("7w3s", 7 * W + 3, id="mktxp-vector-2"),
    pytest.param("8d2m", 8 * D + 2 * M, id="mktxp-vector-3"),
    pytest.param("0s", 0, id="zero"),
    pytest.param("2w6d13:21:53", 2 * W + 6 * D + 13 * H + 21 * M + 53, id="octo-legacy-uptime"),
    pytest.param("00:00:00.060", 0.06, id="octo-legacy-fraction"),
    pytest.param("01:22:53", H + 22 * M + 53, id="manual-legacy-clock"),
    pytest.param(" 1m30s ", 90, id="outer-blanks"),
])
def test_duration_formats_parse_to_seconds(text: str, seconds: float) -> None:
    assert duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [
    pytest.param("", id="empty"), pytest.param("never", id="word"), pytest.param("5", id="bare-number"),
    pytest.param("1h 2m", id="inner-space"), pytest.param("2m1h", id="wrong-order"),
    pytest.param("1:2:3", id="clock-short-fields"), pytest.param("-5s", id="negative"),
])
def test_unparsable_durations_are_none(text: str) -> None:
    assert duration_s(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("oct/04/2017 20:11:03", datetime(2017, 10, 4, 20, 11, 3), id="np-v6-link-up"),
    pytest.param("nov/24/2016 21:07:05", datetime(2016, 11, 24, 21, 7, 5), id="np-v6-link-up-2"),
    pytest.param("sep/08/2019 18:09:55", datetime(2019, 9, 8, 18, 9, 55), id="exp-vector"),
    pytest.param("Jul/19/2022 11:25:54", datetime(2022, 7, 19, 11, 25, 54), id="np-7.4-capitalised"),
    pytest.param("2024-10-19 21:54:32", datetime(2024, 10, 19, 21, 54, 32), id="tg-v7-link-up"),
    pytest.param("2024-09-20 13:00:27", datetime(2024, 9, 20, 13, 0, 27), id="tg-v7-build-time"),
])
def test_timestamps_of_both_generations_parse(text: str, expected: datetime) -> None:
    assert timestamp(text) == expected


@pytest.mark.parametrize("text", [
    pytest.param("", id="empty"), pytest.param("oct/04 20:11:03", id="no-year"),
    pytest.param("21:54:32", id="time-only"), pytest.param("foo/04/2017 20:11:03", id="bad-month"),
    pytest.param("2024-02-30 10:00:00", id="impossible-date"),
])
def test_unusable_timestamps_are_none(text: str) -> None:
    assert timestamp(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("17536671,2966351", (17536671, 2966351), id="ha-bytes"),
    pytest.param("5919271457,2570329671", (5919271457, 2570329671), id="tg-bytes-over-32-bit"),
    pytest.param("6387817,5106449", (6387817, 5106449), id="tg-packets"),
    pytest.param("1090924066,2872515632", (1090924066, 2872515632), id="octo-bytes"),
    pytest.param("0,0", (0, 0), id="zeros"),
])
def test_tx_rx_pairs_are_tx_first(text: str, expected: tuple[int, int]) -> None:
    assert tx_rx(text) == expected


@pytest.mark.parametrize("text", ["", "1", "1,2,3", "a,b", "-1,2", "1, 2"])
def test_malformed_pairs_are_none(text: str) -> None:
    assert tx_rx(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("false", False), ("yes", True), ("no", False), ("True", True), (" no ", False),
    ("", None), ("1", None), ("auto", None),
])
def test_booleans(text: str, expected: bool | None) -> None:
    assert boolean(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("1500", 1500.0, id="mtu"),
    pytest.param("194632346152", 194632346152.0, id="counter-over-32-bit"),
    pytest.param("45", 45.0, id="signal-to-noise-api"),
    pytest.param("43dB", 43.0, id="signal-to-noise-cli"),
    pytest.param("89", 89.0, id="tx-ccq-api"),
    pytest.param("96%", 96.0, id="tx-ccq-cli"),
    pytest.param("113", 113.0, id="pr8-ccq-over-100"),
    pytest.param("-64", -64.0, id="signal-ch0"),
    pytest.param("-47", -47.0, id="wifi-signal"),
    pytest.param("-62@6Mbps", -62.0, id="signal-strength-api"),
    pytest.param("-51@1Mbps", -51.0, id="pr8-signal-strength"),
    pytest.param("-74dBm@6Mbps", -74.0, id="octo-signal-with-unit"),
    pytest.param("-65dBm@1Mbps", -65.0, id="cli-signal"),
    pytest.param("-62@HT20-3", -62.0, id="signal-at-ht-rate"),
    pytest.param("24.1", 24.1, id="voltage"),
    pytest.param("50.0", 50.0, id="ha-float-on-the-wire"),
    pytest.param("46C", 46.0, id="temperature-with-unit"),
    pytest.param("24.1V", 24.1, id="voltage-with-unit"),
    pytest.param("6090RPM", 6090.0, id="fan-with-unit"),
    pytest.param("54000000", 54000000.0, id="ha-wifi-rate-number"),
])
def test_numbers(text: str, expected: float) -> None:
    assert number(text) == expected


@pytest.mark.parametrize("text", [
    pytest.param("", id="empty"), pytest.param("auto", id="mtu-auto"), pytest.param("true", id="bool"),
    pytest.param("585Mbps-80MHz/2S/SGI", id="rate"), pytest.param("6Mbps", id="plain-rate"),
    pytest.param("unknown", id="mktxp-unknown-rate"), pytest.param("1,2", id="pair"),
    pytest.param("nan", id="nan"), pytest.param("12abc", id="trailing-junk"), pytest.param("ok", id="psu-state"),
])
def test_non_numbers_are_none(text: str) -> None:
    assert number(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("15355309685", 15355309685), ("18446744073709551615", 2**64 - 1),
    ("", None), ("-1", None), ("1.5", None), ("١٢", None),
])
def test_integers_are_exact(text: str, expected: int | None) -> None:
    assert integer(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2ghz-b/g/n", "2.4GHz"), ("2ghz-onlyn", "2.4GHz"), ("2ghz-ax", "2.4GHz"), ("5ghz-a/n/ac", "5GHz"),
    ("5ghz-onlyac", "5GHz"), ("5ghz-ac", "5GHz"), ("6ghz-ax", "6GHz"), ("2412", "2.4GHz"), ("5180", "5GHz"),
    ("2412,2437,2462", "2.4GHz"), ("5180/ax/Ceee", "5GHz"), ("auto", None), ("", None), ("cfg1", None),
    ("1000", None),
])
def test_band_normalisation(text: str, expected: str | None) -> None:
    assert band(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("00:0c:42:3a:ec:cf", "00:0C:42:3A:EC:CF"), ("00-0C-42-3A-EC-CF", "00:0C:42:3A:EC:CF"),
    ("000c.423a.eccf", "00:0C:42:3A:EC:CF"), ("000C423AECCF", "00:0C:42:3A:EC:CF"),
    ("", None), ("00:0C:42:3A:EC", None), ("not-a-mac-addr", None),
])
def test_mac_normalisation(text: str, expected: str | None) -> None:
    assert mac(text) == expected


def test_field_takes_first_non_empty() -> None:
    assert field({"server": "", "active-server": "lan"}, "server", "active-server") == "lan"
    assert field({}, "server") is None
