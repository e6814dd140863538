"""The rejection tracker: implausible samples leave the result, are counted per device, metric and reason,
and are logged once per device and metric until the metric is plausible again (which is logged too);
the composition root screens every result before state, exporter, storage and alerts see it."""

from __future__ import annotations

import logging
import math

import pytest

from netmon.app import NetmonApp
from netmon.config.loader import Config
from netmon.exporter import render
from netmon.model import Device, Owner, PollResult, Role, Sample, SampleKind, Site, Source
from netmon.plausibility import RejectReason
from netmon.rejection import RejectionTracker

TEMP = "netmon_device_temperature_celsius"
UPTIME = "netmon_device_uptime_seconds"
RX = "netmon_interface_receive_bytes_total"
T0 = 1_700_000_000.0


def result(*samples: Sample, at: float = T0, device: str = "ap") -> PollResult:
    return PollResult(device, Source.SNMP, at, 0.1, samples)


def temp(value: float) -> Sample:
    return Sample(TEMP, value)


def rx(interface: str, value: float) -> Sample:
    return Sample(RX, value, (("interface", interface),), SampleKind.COUNTER)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "netmon.rejection" and r.levelno == logging.WARNING]


def infos(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "netmon.rejection" and r.levelno == logging.INFO]


def test_plausible_result_passes_unchanged_and_creates_zero_series() -> None:
    tracker = RejectionTracker()
    polled = result(Sample(UPTIME, 6372731.0), temp(66), rx("eth0", 1))
    assert tracker.screen(polled) is polled
    assert tracker.counts() == {("ap", UPTIME, RejectReason.OUT_OF_RANGE): 0,
                                ("ap", TEMP, RejectReason.OUT_OF_RANGE): 0,
                                ("ap", RX, RejectReason.OUT_OF_RANGE): 0}


def test_scaled_temperature_is_dropped_counted_and_logged_once_until_it_is_back(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "netmon.rejection")
    tracker = RejectionTracker()
    assert tracker.screen(result(Sample(UPTIME, 1.0), temp(66_000_000))).samples == (Sample(UPTIME, 1.0),)
    for i in range(1, 4):
        assert tracker.screen(result(temp(66_000_000), at=T0 + 60 * i)).samples == ()
    assert tracker.counts()[("ap", TEMP, RejectReason.OUT_OF_RANGE)] == 4
    assert warnings(caplog) == [
        "device ap: implausible netmon_device_temperature_celsius = 66000000 (temperature (°C): -40..150), "
        "not exported, stored or alerted on until it is plausible again"]
    assert infos(caplog) == []
    assert tracker.screen(result(temp(66), at=T0 + 300)).samples == (temp(66),)
    assert infos(caplog) == ["device ap: netmon_device_temperature_celsius is plausible again "
                             "(66; temperature (°C): -40..150)"]
    tracker.screen(result(temp(67), at=T0 + 360))
    tracker.screen(result(temp(1e9), at=T0 + 420))  # a new episode: logged again
    assert len(warnings(caplog)) == 2 and len(infos(caplog)) == 1
    assert tracker.counts()[("ap", TEMP, RejectReason.OUT_OF_RANGE)] == 5


def test_one_bad_series_of_a_metric_keeps_the_episode_open_while_others_pass(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "netmon.rejection")
    tracker = RejectionTracker()
    assert tracker.screen(result(rx("eth0", 5), rx("ath0", -1))).samples == (rx("eth0", 5),)
    tracker.screen(result(rx("eth0", 6), rx("ath0", -1)))
    assert infos(caplog) == [] and len(warnings(caplog)) == 1
    assert 'interface="ath0"' in warnings(caplog)[0]
    tracker.screen(result(rx("eth0", 7), rx("ath0", 9)))
    assert len(infos(caplog)) == 1
    assert tracker.counts()[("ap", RX, RejectReason.OUT_OF_RANGE)] == 2


def test_devices_and_reasons_are_counted_apart(caplog: pytest.LogCaptureFixture) -> None:
    tracker = RejectionTracker()
    tracker.screen(result(temp(math.nan), device="ap"))
    tracker.screen(result(temp(200), device="router"))
    tracker.screen(result(temp(math.inf), device="ap"))
    assert tracker.counts() == {("ap", TEMP, RejectReason.NOT_FINITE): 2,
                                ("ap", TEMP, RejectReason.OUT_OF_RANGE): 0,
                                ("router", TEMP, RejectReason.OUT_OF_RANGE): 1}
    assert len(warnings(caplog)) == 2  # once per device and metric
    assert tracker.of("ap") == {(TEMP, "not_finite"): 2, (TEMP, "out_of_range"): 0}
    assert tracker.of("router") == {(TEMP, "out_of_range"): 1} and tracker.of("switch") == {}


def test_a_failed_poll_changes_nothing() -> None:
    tracker = RejectionTracker()
    failed = PollResult("ap", Source.SNMP, T0, 2.0)
    assert tracker.screen(failed) is failed and tracker.counts() == {}


def app() -> NetmonApp:
    site = Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")
    devices = {"ap": Device("ap", "kim-a", Role.AP, "10.20.1.2", (Source.SNMP,), Owner.PEMDA),
               "router": Device("router", "kim-a", Role.ROUTER, "10.20.1.1", (Source.SNMP, Source.ROUTEROS),
                                Owner.PEMDA)}
    return NetmonApp(Config(sites={"kim-a": site}, devices=devices))


def test_the_app_exports_no_rejected_value_and_counts_it_once() -> None:
    netmon = app()
    netmon.on_result(result(Sample(UPTIME, 6372731.0), temp(66_000_000)))
    text = render(netmon.snapshot()).decode()
    assert TEMP not in text.replace(f'metric="{TEMP}"', "")
    assert 'netmon_device_uptime_seconds{device="ap"} 6.372731e+06' in text
    assert ('netmon_samples_rejected_total{device="ap",metric="netmon_device_temperature_celsius",'
            'reason="out_of_range"} 1.0') in text
    assert ('netmon_samples_rejected_total{device="ap",metric="netmon_device_uptime_seconds",'
            'reason="out_of_range"} 0.0') in text


def test_counters_exist_at_zero_before_the_first_event_for_every_device_source_and_reason() -> None:
    text = render(app().snapshot()).decode()
    for device in ("ap", "router"):
        assert f'netmon_device_reboots_total{{device="{device}"}} 0.0' in text
    for device, source in (("ap", "snmp"), ("router", "snmp"), ("router", "routeros")):
        for reason in ("error", "timeout", "auth", "protocol", "unavailable"):
            assert (f'netmon_poll_errors_total{{device="{device}",reason="{reason}",source="{source}"}} 0.0'
                    in text), (device, source, reason)


def series(text: str, device: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.startswith(f'netmon_samples_rejected_total{{device="{device}"')]


def test_a_device_shows_its_counts_with_its_own_series_as_they_change() -> None:
    """The counts are part of each device's kept /metrics text, written again when the device reports."""
    netmon = app()
    netmon.on_result(result(temp(40.0), rx("ether1", 1.0)))
    netmon.on_result(result(temp(40.0), device="router"))
    text = netmon.page().text().decode()
    assert series(text, "ap") == [
        f'netmon_samples_rejected_total{{device="ap",metric="{TEMP}",reason="out_of_range"}} 0.0',
        f'netmon_samples_rejected_total{{device="ap",metric="{RX}",reason="out_of_range"}} 0.0']
    assert series(text, "router") == [
        f'netmon_samples_rejected_total{{device="router",metric="{TEMP}",reason="out_of_range"}} 0.0']
    netmon.on_result(result(temp(900.0), at=T0 + 60, device="router"))  # implausible: counted
    netmon.on_result(result(temp(math.nan), Sample(UPTIME, 5.0), at=T0 + 60))  # a new reason, a new metric
    text = netmon.page().text().decode()
    assert series(text, "router") == [
        f'netmon_samples_rejected_total{{device="router",metric="{TEMP}",reason="out_of_range"}} 1.0']
    assert series(text, "ap") == [
        f'netmon_samples_rejected_total{{device="ap",metric="{TEMP}",reason="not_finite"}} 1.0',
        f'netmon_samples_rejected_total{{device="ap",metric="{TEMP}",reason="out_of_range"}} 0.0',
        f'netmon_samples_rejected_total{{device="ap",metric="{UPTIME}",reason="out_of_range"}} 0.0',
        f'netmon_samples_rejected_total{{device="ap",metric="{RX}",reason="out_of_range"}} 0.0']
    assert netmon.page().text() == render(netmon.snapshot())  # the kept texts show what a snapshot shows
