"""RollupAccumulator and combine: pure, driven by tables of poll results."""

from __future__ import annotations

import pytest

from netmon.errors import DeviceUnreachable
from netmon.model import PollResult, Sample, SampleKind, Source
from netmon.storage import HourlyRollup, RollupAccumulator
from netmon.storage.rollup import combine

H = 1_750_003_200.0  # an hour boundary (2025-06-15 16:00 UTC = 23:00 WIB)
RX = "netmon_interface_receive_bytes_total"
TX = "netmon_interface_transmit_bytes_total"


def poll(at: float, *samples: Sample, device: str = "ap", source: Source = Source.SNMP,
         failed: bool = False) -> PollResult:
    return PollResult(device, source, at, 0.5, samples, DeviceUnreachable("timeout") if failed else None)


def wifi(n: float, interface: str = "wlan1") -> Sample:
    return Sample("netmon_wifi_clients", n, (("interface", interface),))


def rx(v: float, interface: str = "ether1") -> Sample:
    return Sample(RX, v, (("interface", interface),), SampleKind.COUNTER)


def tx(v: float, interface: str = "ether1") -> Sample:
    return Sample(TX, v, (("interface", interface),), SampleKind.COUNTER)


def run(results: list[PollResult], flush_at: float | None = None) -> list[HourlyRollup]:
    acc = RollupAccumulator(grace_s=120)
    out = [r for result in results for r in acc.add(result)]
    return out + (acc.flush(flush_at, final=True) if flush_at is not None else [])


CASES = [
    pytest.param(
        [poll(H + 60, wifi(3), wifi(2, "wlan2")), poll(H + 120, wifi(7)), poll(H + 180, failed=True)],
        {"polls_ok": 2, "polls_failed": 1, "wifi_clients_min": 5, "wifi_clients_avg": 6, "wifi_clients_max": 7,
         "wifi_clients_n": 2, "bytes_in": None, "hotspot_users_avg": None},
        id="wifi-summed-over-radios-failed-polls-counted-missing-metrics-none"),
    pytest.param(
        [poll(H + 60, rx(1000), tx(10)), poll(H + 120, rx(1500), tx(30)), poll(H + 180, rx(200), tx(35))],
        {"bytes_in": 500 + 200, "bytes_out": 25},
        id="counter-reset-counts-the-new-value"),
    pytest.param(
        [poll(H - 60, rx(1000)), poll(H + 60, rx(1600))],
        {"bytes_in": 600, "first_poll_at": H + 60},
        id="increase-across-the-boundary-belongs-to-the-later-hour"),
    pytest.param(
        [poll(H + 60, rx(1000)), poll(H + 2000, rx(9000)), poll(H + 2060, rx(9100))],
        {"bytes_in": 100},
        id="increase-over-a-long-gap-is-not-placed"),
    pytest.param(
        [poll(H + 60, rx(1000), rx(50, "wlan1")), poll(H + 120, rx(1100), rx(80, "wlan1")),
         poll(H + 60, rx(7000), source=Source.ROUTEROS), poll(H + 121, rx(7090), source=Source.ROUTEROS)],
        {"bytes_in": 130},
        id="interfaces-summed-two-sources-not-double-counted"),
    pytest.param(
        [poll(H + 60, Sample("netmon_device_temperature_celsius", 41), Sample("netmon_device_voltage_volts", 24.1)),
         poll(H + 120, Sample("netmon_device_temperature_celsius", 45), Sample("netmon_device_voltage_volts", 23.2)),
         poll(H + 180, Sample("netmon_hotspot_active_users", 4, (("server", "hs1"),)),
              Sample("netmon_hotspot_active_users", 1, (("server", "hs2"),)))],
        {"temperature_max": 45, "voltage_min": 23.2, "hotspot_users_min": 5, "hotspot_users_n": 1},
        id="health-extremes-and-hotspot-users"),
]


@pytest.mark.parametrize(("results", "expected"), CASES)
def test_one_hour_rollup(results: list[PollResult], expected: dict[str, object]) -> None:
    rollups = [r for r in run(results, flush_at=H + 3599) if r.hour_start == H]
    assert len(rollups) == 1
    for name, value in expected.items():
        assert getattr(rollups[0], name) == value, name


def test_an_hour_is_emitted_once_a_poll_starts_past_its_grace() -> None:
    acc = RollupAccumulator(grace_s=120)
    assert acc.add(poll(H + 60)) == []
    assert acc.add(poll(H + 3600 + 100, device="rt")) == []  # within grace: ap's hour may still get results
    assert acc.add(poll(H + 3599, device="ap")) == []  # a slow poll of the old hour
    [closed] = acc.add(poll(H + 3600 + 121, device="rt"))
    assert (closed.device, closed.hour_start, closed.polls_ok) == ("ap", H, 2)
    assert acc.add(poll(H + 3000)) == [] and acc.late == 1  # after closing: late, ignored
    assert [(r.device, r.hour_start, r.polls_ok) for r in acc.flush(H + 3600 + 200, final=True)] == [
        ("rt", H + 3600, 2)]


def test_periodic_flush_closes_quiet_devices_hours_after_the_grace_only() -> None:
    acc = RollupAccumulator(grace_s=120)
    acc.add(poll(H + 60))
    assert acc.flush(H + 1800) == []
    assert acc.flush(H + 3600 + 119) == []
    assert [r.polls_ok for r in acc.flush(H + 3600 + 120)] == [1]
    assert acc.flush(H + 3600 * 5) == []


def test_final_flush_emits_the_running_hour_and_later_polls_form_a_second_segment() -> None:
    acc = RollupAccumulator(grace_s=120)
    acc.add(poll(H + 60, wifi(2)))
    [first] = acc.flush(H + 1800, final=True)
    acc = RollupAccumulator(grace_s=120)  # restarted
    acc.add(poll(H + 1900, wifi(4)))
    [second] = acc.flush(H + 3600 + 120)
    assert (first.polls_ok, second.polls_ok) == (1, 1)
    merged = combine(first, second)
    assert (merged.polls_ok, merged.wifi_clients_avg, merged.first_poll_at, merged.last_poll_at) == (2, 3, H + 60,
                                                                                                     H + 1900)


def r(first: float, last: float, ok: int) -> HourlyRollup:
    return HourlyRollup("ap", H, ok, 0, first, last)


@pytest.mark.parametrize(("stored", "new", "expected_ok"), [
    pytest.param(r(10, 100, 5), r(10, 100, 5), 5, id="rewrite-is-a-no-op"),
    pytest.param(r(10, 100, 5), r(200, 300, 3), 8, id="later-segment-added"),
    pytest.param(r(200, 300, 3), r(10, 100, 5), 8, id="earlier-segment-added"),
    pytest.param(r(10, 100, 5), r(10, 300, 9), 9, id="fuller-version-replaces"),
    pytest.param(r(10, 300, 8), r(200, 300, 3), 8, id="contained-segment-ignored"),
])
def test_combine(stored: HourlyRollup, new: HourlyRollup, expected_ok: int) -> None:
    assert combine(stored, new).polls_ok == expected_ok
