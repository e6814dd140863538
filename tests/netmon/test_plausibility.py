"""Plausibility bounds: every metric kind's physical range, edges inclusive, NaN and infinities never; every
metric netmon exports (the exporter's catalogue and every SNMP profile) has its bound in the table."""

from __future__ import annotations

import math

import pytest

from collectors.snmp.profile import load_profiles
from netmon.exporter import CATALOGUE
from netmon.model import Sample, SampleKind
from netmon.plausibility import BOUNDS, RejectReason, bound_for, screen, verdict

OUT, NAN = RejectReason.OUT_OF_RANGE, RejectReason.NOT_FINITE
YEAR = 365.25 * 24 * 3600

# (metric, value, expected verdict): below, at and above each edge of every metric netmon exports
CASES = [
    ("netmon_device_temperature_celsius", -40.0001, OUT),
    ("netmon_device_temperature_celsius", -40, None),
    ("netmon_device_temperature_celsius", 66, None),
    ("netmon_device_temperature_celsius", 150, None),
    ("netmon_device_temperature_celsius", 150.0001, OUT),
    ("netmon_device_temperature_celsius", 66_000_000, OUT),  # the scaled firmware of issue 10
    ("netmon_device_voltage_volts", -0.1, OUT),
    ("netmon_device_voltage_volts", 0, None),
    ("netmon_device_voltage_volts", 100, None),
    ("netmon_device_voltage_volts", 240, OUT),  # decivolts read as volts
    ("netmon_device_cpu_load_ratio", -0.01, OUT),
    ("netmon_device_cpu_load_ratio", 0, None),
    ("netmon_device_cpu_load_ratio", 1, None),
    ("netmon_device_cpu_load_ratio", 1.01, OUT),
    ("netmon_device_cpu_load_ratio", 42, OUT),  # a percentage not divided
    ("netmon_device_memory_used_ratio", 0, None),
    ("netmon_device_memory_used_ratio", 1, None),
    ("netmon_device_memory_used_ratio", 1.5, OUT),
    ("netmon_ping_loss_ratio", 0, None),
    ("netmon_ping_loss_ratio", 1, None),
    ("netmon_ping_loss_ratio", -1, OUT),
    ("netmon_interface_up", 0, None),
    ("netmon_interface_up", 1, None),
    ("netmon_interface_up", 2, OUT),  # ifOperStatus down(2) passed through unmapped
    ("netmon_wifi_frequency_hertz", 5_210_000_000, None),  # the ePMP recording's channel
    ("netmon_wifi_frequency_hertz", 1e9, None),
    ("netmon_wifi_frequency_hertz", 100e9, None),
    ("netmon_wifi_frequency_hertz", 5210, OUT),  # MHz not converted
    ("netmon_wifi_frequency_hertz", 0, OUT),
    ("netmon_wifi_clients", -1, OUT),
    ("netmon_wifi_clients", 0, None),
    ("netmon_wifi_clients", 1_000_000, None),
    ("netmon_wifi_clients", 4_294_967_295, OUT),  # -1 read as an unsigned 32-bit value
    ("netmon_wifi_registrations", 0, None),
    ("netmon_wifi_registrations", -3, OUT),
    ("netmon_hotspot_active_users", 0, None),
    ("netmon_hotspot_active_users", 1_000_001, OUT),
    ("netmon_hotspot_hosts", 12, None),
    ("netmon_hotspot_hosts", -1, OUT),
    ("netmon_dhcp_leases_active", 254, None),
    ("netmon_dhcp_leases_active", -1, OUT),
    ("netmon_interface_receive_bytes_total", 0, None),
    ("netmon_interface_receive_bytes_total", 2.0**64, None),
    ("netmon_interface_receive_bytes_total", -1, OUT),
    ("netmon_interface_transmit_bytes_total", 2.0**65, OUT),
    ("netmon_hotspot_bytes_total", 0, None),
    ("netmon_hotspot_bytes_total", -5, OUT),
    ("netmon_device_uptime_seconds", 0, None),
    ("netmon_device_uptime_seconds", 20 * YEAR, None),
    ("netmon_device_uptime_seconds", 4_294_967_295, OUT),  # TimeTicks read as seconds: 136 years
    ("netmon_device_uptime_seconds", -1, OUT),
    ("netmon_ping_rtt_seconds", 0, None),
    ("netmon_ping_rtt_seconds", 60, None),
    ("netmon_ping_rtt_seconds", 60.5, OUT),
    # metrics not in the table fall back on their unit suffix, else only finiteness is checked
    ("netmon_radio_temperature_celsius", 151, OUT),
    ("netmon_battery_volts", 12.6, None),
    ("netmon_link_quality_ratio", 1.2, OUT),
    ("netmon_signal_quality_percent", 100, None),
    ("netmon_signal_quality_percent", 101, OUT),
    ("netmon_flash_free_bytes", -1, OUT),
    ("netmon_wifi_frames_total", -1, OUT),
    ("netmon_lease_age_seconds", -1, OUT),
    ("netmon_radio_frequency_hertz", 5.18e9, None),
    ("netmon_radio_signal_dbm", -67, None),
]


def _id(case: tuple[str, float, RejectReason | None]) -> str:
    metric, value, expected = case
    return f"{metric.removeprefix('netmon_')}={value:g}->{expected.value if expected else 'kept'}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_value_is_kept_inside_its_bound_and_rejected_outside(case: tuple[str, float, RejectReason | None]) -> None:
    metric, value, expected = case
    assert verdict(value, bound_for(metric)) is expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("metric", [*sorted(BOUNDS), "netmon_radio_signal_dbm"])
def test_nan_and_infinities_are_never_plausible(metric: str, value: float) -> None:
    assert verdict(value, bound_for(metric)) is NAN


def test_every_exported_metric_kind_is_covered_by_the_table_and_the_cases() -> None:
    device_metrics = {name for name in CATALOGUE if name not in {
        "netmon_device_up", "netmon_device_info", "netmon_poll_duration_seconds", "netmon_poll_errors_total",
        "netmon_last_poll_success_timestamp_seconds"}}  # made by netmon itself, not read from a device
    assert device_metrics == set(BOUNDS)
    assert {metric for metric, _v, _e in CASES} >= set(BOUNDS)


def test_every_metric_of_every_snmp_profile_has_its_own_bound() -> None:
    profiles = load_profiles()
    metrics = {m.metric for name in profiles.names for m in profiles.get(name).spec.metrics}
    assert metrics and metrics <= set(BOUNDS), sorted(metrics - set(BOUNDS))


def test_screen_keeps_order_and_says_why_each_sample_went() -> None:
    samples = (
        Sample("netmon_device_uptime_seconds", 6372731.0),
        Sample("netmon_device_temperature_celsius", 66_000_000),
        Sample("netmon_interface_receive_bytes_total", 10, (("interface", "eth0"),), SampleKind.COUNTER),
        Sample("netmon_device_cpu_load_ratio", math.nan),
        Sample("netmon_interface_receive_bytes_total", 20, (("interface", "ath0"),), SampleKind.COUNTER),
    )
    kept, rejected = screen(samples)
    assert kept == (samples[0], samples[2], samples[4])
    assert [(r.sample, r.reason, r.bound.low, r.bound.high) for r in rejected] == [
        (samples[1], OUT, -40, 150), (samples[3], NAN, 0, 1)]
    assert screen(()) == ((), ())
