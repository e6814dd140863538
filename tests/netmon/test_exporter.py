"""The exporter: a golden /metrics guards names, types and HELP texts; promtool finds it clean; a failed
device shows up 0 and no stale values; the HTTP server serves exactly what render() produces."""

from __future__ import annotations

import asyncio
import gzip
import os
import threading
from pathlib import Path

from peers import promtool_check

from netmon.errors import DeviceUnreachable
from netmon.exporter import ExporterServer, render
from netmon.exposition import Page
from netmon.latest import LatestResults, Snapshot
from netmon.model import (
    Device,
    DeviceIdentity,
    Owner,
    PollResult,
    Role,
    Sample,
    SampleKind,
    Site,
    Source,
)
from netmon.rejection import RejectionTracker

GOLDEN = Path(__file__).parent / "golden" / "metrics.prom"
SITES = {"kim-a": Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")}
DEVICES = {
    "a-router": Device("a-router", "kim-a", Role.ROUTER, "127.0.0.1", (Source.SNMP, Source.ROUTEROS), Owner.PEMDA),
    "a-ap": Device("a-ap", "kim-a", Role.AP, "127.0.0.1", (Source.SNMP,), Owner.KIM, parent="a-router"),
}
ROUTER_SAMPLES = (
    Sample("netmon_device_uptime_seconds", 86400.5),
    Sample("netmon_interface_receive_bytes_total", 123456789, (("interface", "ether1"),), SampleKind.COUNTER),
    Sample("netmon_interface_transmit_bytes_total", 987654, (("interface", "ether1"),), SampleKind.COUNTER),
    Sample("netmon_interface_up", 1, (("interface", "ether1"),)),
    Sample("netmon_wifi_clients", 7, (("interface", "wlan1"), ("ssid", "KIM-Gratis"), ("band", "2.4GHz"))),
    Sample("netmon_wifi_frequency_hertz", 2_412_000_000, (("interface", "wlan1"),)),
    Sample("netmon_dhcp_leases_active", 9, (("server", "all"),)),
    Sample("netmon_device_cpu_load_ratio", 0.07),
    Sample("netmon_device_temperature_celsius", 41),
    Sample("netmon_device_voltage_volts", 24.1),
)
IDENTITY = DeviceIdentity("mikrotik", "MikroTik", "RBD52G-5HacD2HnD", "7.16.1", "HG20A1B2C3D", "router-a",
                          "RouterOS RBD52G-5HacD2HnD", "1.3.6.1.4.1.14988.1")


def build(rejections: RejectionTracker | None = None) -> LatestResults:
    latest = LatestResults(SITES, DEVICES, rejections)
    latest.record(PollResult("a-router", Source.SNMP, 1_700_000_000.0, 0.25, ROUTER_SAMPLES, identity=IDENTITY))
    latest.record(PollResult("a-router", Source.ROUTEROS, 1_700_000_000.0, 0.125, (
        Sample("netmon_hotspot_active_users", 5, (("server", "hs-kim"),)),
        Sample("netmon_hotspot_hosts", 8, (("server", "hs-kim"),)),
        Sample("netmon_hotspot_bytes_total", 1_048_576, (("server", "hs-kim"), ("direction", "in")),
               SampleKind.COUNTER),
        Sample("netmon_dhcp_leases_active", 9, (("server", "dhcp-kim"),)),
    )))
    latest.record(PollResult("a-ap", Source.SNMP, 1_700_000_000.0, 0.5,
                             (Sample("netmon_wifi_clients", 3, (("interface", "wlan1"), ("ssid", "KIM"),
                                                                ("band", "5GHz"))),)))
    latest.record(PollResult("a-ap", Source.SNMP, 1_700_000_060.0, 2.0, error=DeviceUnreachable("no answer")))
    return latest


def rejections() -> RejectionTracker:
    """The counts of implausible samples after a poll of the AP whose firmware scales its temperature
    (`netmon_samples_rejected_total`, shown with the AP's series)."""
    tracker = RejectionTracker()
    tracker.screen(PollResult("a-ap", Source.SNMP, 1_700_000_000.0, 0.5, (
        Sample("netmon_device_temperature_celsius", 66_000_000), Sample("netmon_device_uptime_seconds", 6372731))))
    return tracker


def test_metrics_match_the_golden_file() -> None:
    text = render(build(rejections()).snapshot([Sample("netmon_scheduler_polls_in_flight", 0),
                                                Sample("netmon_site_unique_clients_today", 12, (("site", "kim-a"),)),
                                                Sample("netmon_device_reboots_total", 0, (("device", "a-ap"),),
                                                       SampleKind.COUNTER)]))
    if os.environ.get("NETMON_UPDATE_GOLDEN") == "1":
        GOLDEN.write_bytes(text)
    assert text.decode() == GOLDEN.read_text()


def test_promtool_finds_the_exposition_clean() -> None:
    result = promtool_check(render(build(rejections()).snapshot([Sample("netmon_scheduler_missed_cycles_total", 3,
                                                                        kind=SampleKind.COUNTER)])))
    assert result.returncode == 0 and result.stdout.strip() == "" and result.stderr.strip() == "", (
        result.stdout + result.stderr)


def test_failed_device_reports_down_and_drops_its_values() -> None:
    text = render(build().snapshot()).decode()
    assert 'netmon_device_up{device="a-ap",site="kim-a",source="snmp"} 0.0' in text
    assert 'netmon_wifi_clients{band="5GHz"' not in text and 'device="a-ap",interface' not in text
    assert 'netmon_poll_errors_total{device="a-ap",reason="timeout",source="snmp"} 1.0' in text
    # the last success stays visible so staff can see how long it has been failing
    assert 'netmon_last_poll_success_timestamp_seconds{device="a-ap",source="snmp"} 1.7000000005e+09' in text


def test_identity_carries_inventory_and_discovery_labels() -> None:
    text = render(build().snapshot()).decode()
    assert ('netmon_device_info{device="a-router",firmware="7.16.1",kecamatan="Baturraden",'
            'model="RBD52G-5HacD2HnD",owner="pemda",serial="HG20A1B2C3D",site="kim-a",vendor="MikroTik"} 1.0'
            in text)


async def test_http_server_serves_metrics_and_health() -> None:
    latest = build()
    healthy = {"ok": True}
    server = ExporterServer(latest.snapshot, lambda: healthy["ok"], "127.0.0.1", 0)
    await server.start()
    try:
        head, body = await http_get(server.port, "/metrics")
        assert status_of(head) == 200 and body == render(latest.snapshot())
        assert b"Content-Encoding" not in head  # not asked for
        assert status_of((await http_get(server.port, "/healthz"))[0]) == 200
        healthy["ok"] = False
        assert status_of((await http_get(server.port, "/healthz"))[0]) == 503
        assert status_of((await http_get(server.port, "/nothing"))[0]) == 404
    finally:
        await server.stop()


async def test_metrics_are_gzipped_when_the_scraper_accepts_it() -> None:
    latest = build()
    server = ExporterServer(latest.snapshot, lambda: True, "127.0.0.1", 0)
    await server.start()
    try:
        plain = render(latest.snapshot())
        # what Prometheus sends
        head, body = await http_get(server.port, "/metrics", accept_encoding="gzip")
        assert b"Content-Encoding: gzip" in head and gzip.decompress(body) == plain
        assert len(body) < len(plain)
        head, body = await http_get(server.port, "/metrics", accept_encoding="deflate, gzip;q=0.5")
        assert b"Content-Encoding: gzip" in head and gzip.decompress(body) == plain
        for refused in ("identity", "gzip;q=0", "deflate"):
            head, body = await http_get(server.port, "/metrics", accept_encoding=refused)
            assert b"Content-Encoding" not in head and body == plain, refused
    finally:
        await server.stop()


async def http_get(port: int, path: str, *, accept_encoding: str | None = None) -> tuple[bytes, bytes]:
    """(status line and headers, body) of one request (Connection: close, so the server ends it after the answer
    instead of keeping it alive for the next scrape)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = f"Accept-Encoding: {accept_encoding}\r\n" if accept_encoding is not None else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def status_of(head: bytes) -> int:
    return int(head.split()[1])


def test_a_metric_reported_by_two_sources_is_exported_once_and_falls_back() -> None:
    latest = LatestResults(SITES, DEVICES)
    snmp = (Sample("netmon_interface_receive_bytes_total", 100, (("interface", "ether1"),), SampleKind.COUNTER),
            Sample("netmon_device_temperature_celsius", 41))
    api = (Sample("netmon_interface_receive_bytes_total", 101, (("interface", "ether1"),), SampleKind.COUNTER),)
    latest.record(PollResult("a-router", Source.SNMP, 1.0, 0.1, snmp))
    latest.record(PollResult("a-router", Source.ROUTEROS, 1.0, 0.1, api))
    text = render(latest.snapshot()).decode()
    assert text.count("netmon_interface_receive_bytes_total{") == 1
    assert 'netmon_interface_receive_bytes_total{device="a-router",interface="ether1"} 101.0' in text
    assert 'netmon_device_temperature_celsius{device="a-router"} 41.0' in text  # only SNMP has it
    latest.record(PollResult("a-router", Source.ROUTEROS, 2.0, 0.1, error=DeviceUnreachable("api down")))
    text = render(latest.snapshot()).decode()
    assert 'netmon_interface_receive_bytes_total{device="a-router",interface="ether1"} 100.0' in text
    assert promtool_check(text.encode()).returncode == 0


async def test_a_scrape_that_comes_while_a_page_is_written_gets_that_page() -> None:
    """One page written at a time: a second scraper (or one that timed out and came back) waits for the page
    being written instead of starting another beside it; the next scrape after it writes a new one."""
    from netmon.exporter import _Coalesced

    release = threading.Event()
    taken: list[int] = []

    def content() -> Snapshot:
        taken.append(len(taken))
        return build().snapshot()

    def write(snapshot: Page | Snapshot) -> bytes:
        assert release.wait(10), "never released"
        return render(snapshot) + str(len(taken)).encode()

    pages = _Coalesced()
    first = asyncio.ensure_future(pages.get(write, content))
    second = asyncio.ensure_future(pages.get(write, content))
    await asyncio.sleep(0)  # both are waiting now, one page being written
    first.cancel()  # the first scraper leaves: the page is still written for the second
    release.set()
    assert (await second).endswith(b"1") and taken == [0]
    assert first.cancelled()
    assert (await pages.get(write, content)).endswith(b"2") and taken == [0, 1]  # a new page
