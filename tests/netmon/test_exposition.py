"""The exposition netmon writes itself (netmon/exposition.py) is byte for byte what prometheus_client's
`generate_latest` makes of the same snapshot through the reference collector (`render_with_client`), and
prometheus_client's parser reads the same families from both; the device texts kept between scrapes
(`DeviceTexts`) always show what a fresh rendering of the latest results shows."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest
from peers import promtool_check
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString
from test_exporter import DEVICES, IDENTITY, SITES, build, http_get, rejections

from netmon.app import NetmonApp
from netmon.config import Config
from netmon.errors import AuthenticationFailed, CollectorError, DeviceProtocolError, DeviceUnreachable
from netmon.exporter import ExporterServer, render_with_client
from netmon.exposition import DeviceTexts, go_float, page, render
from netmon.latest import LatestResults, Snapshot
from netmon.model import Device, DeviceIdentity, Owner, PollResult, Role, Sample, SampleKind, Site, Source
from netmon.pipeline import ResultPipeline
from netmon.rejection import RejectionTracker

GAUGE, COUNTER = SampleKind.GAUGE, SampleKind.COUNTER
AWKWARD_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.07, 24.1, 1e-7, 123456.0, 1234567.0, 12345678.9, 1.7000000005e9,
                  2_412_000_000.0, 1e21, 1e22, 1.5e300, -1e22, -1234567.0, 5e-324, math.inf, -math.inf, math.nan,
                  2**53, 2**63, 86400.5, 100.0, 999999.0, 1000000.0, 10000000.0]
AWKWARD_TEXT = ["", "plain", 'quote "x"', "back\\slash", "new\nline", "carriage\rreturn", "tab\tstop",
                "Désa Karangsalam", "emoji \N{SMILING FACE WITH SMILING EYES}", "\\n literal", '\\"', "a,b=c}"]


def parsed(text: bytes) -> list[tuple[str, str, str, list[tuple[str, tuple[tuple[str, str], ...], str]]]]:
    """The families prometheus_client's parser reads (NaN compared as text)."""
    return [(f.name, f.documentation, f.type,
             [(s.name, tuple(sorted(s.labels.items())), repr(s.value)) for s in f.samples])
            for f in text_string_to_metric_families(text.decode())]


def assert_same(snapshot: Snapshot) -> bytes:
    new, old = render(snapshot), render_with_client(snapshot)
    assert new == old
    assert parsed(new) == parsed(old)
    return new


@pytest.mark.parametrize("value", AWKWARD_FLOATS, ids=repr)
def test_values_are_written_as_go_writes_floats(value: float) -> None:
    assert go_float(value) == floatToGoString(value)


def test_go_float_agrees_with_prometheus_client_on_many_seeded_values() -> None:
    rng = random.Random(15)
    for _ in range(20_000):
        value = rng.choice([rng.uniform(-1e6, 1e6), rng.expovariate(1e-9), 10 ** rng.uniform(-12, 30),
                            float(rng.randrange(0, 2**64)), round(rng.uniform(0, 1e9), rng.randrange(0, 6))])
        assert go_float(value) == floatToGoString(value), value


def test_the_golden_snapshot_renders_as_prometheus_client_renders_it() -> None:
    assert_same(build(rejections()).snapshot([
        Sample("netmon_scheduler_polls_in_flight", 0),
        Sample("netmon_site_unique_clients_today", 12, (("site", "kim-a"),)),
        Sample("netmon_device_reboots_total", 0, (("device", "a-ap"),), COUNTER)]))


def test_an_empty_snapshot_is_an_empty_page() -> None:
    assert assert_same(LatestResults({}, {}).snapshot()) == b""


def awkward_snapshot(seed: int) -> Snapshot:
    """Devices (configured or not) with escaped label values, odd names, odd floats, metrics outside the
    catalogue whose kind and HELP differ between devices, a `device` label in a sample, duplicate series,
    several sources and errors, and process-wide samples that join a device family."""
    rng = random.Random(seed)
    sites = {"s1": Site("s1", "S1", 'Desa "Satu"', "Keca\\matan", "Kab"), "s2": Site("s2", "S2", "", "", "")}
    devices = {f"d{i}": Device(f"d{i}", rng.choice(["s1", "s2", "nowhere"]), Role.AP, "10.0.0.1",
                               (Source.SNMP, Source.ROUTEROS), rng.choice(list(Owner))) for i in range(12)}
    tracker = RejectionTracker()  # the awkward floats include NaN, inf and values out of range: counted
    latest = LatestResults(sites, devices, tracker)
    names = ["netmon_wifi_clients", "netmon_interface_receive_bytes_total", "custom_gauge", "custom_bytes_total",
             "custom_count", "bad-name.x", "1starts_with_digit", "netmon_device_temperature_celsius",
             "netmon_poll_duration_seconds", "netmon_poll_errors_total", "netmon_device_info"]
    label_names = ["interface", "ssid", "device", "if-name", "0zero", "band"]
    errors = [DeviceUnreachable("x"), AuthenticationFailed("x"), DeviceProtocolError("x"), CollectorError("x")]
    ids = [*devices, "unconfigured", 'odd "id"\n']
    for step in range(60):
        device = rng.choice(ids)
        source = rng.choice([Source.SNMP, Source.ROUTEROS, Source.PING])
        samples = tuple(Sample(rng.choice(names), rng.choice(AWKWARD_FLOATS),
                               tuple((rng.choice(label_names), rng.choice(AWKWARD_TEXT))
                                     for _ in range(rng.randrange(0, 4))),
                               rng.choice([GAUGE, COUNTER]), rng.choice(["", "Help\\with\nescapes", "other"]))
                        for _ in range(rng.randrange(0, 8)))
        identity = (DeviceIdentity("p", rng.choice(AWKWARD_TEXT), "m", "f", rng.choice(AWKWARD_TEXT))
                    if rng.random() < 0.3 else None)
        error = rng.choice(errors) if rng.random() < 0.3 else None
        latest.record(tracker.screen(PollResult(device, source, 1_700_000_000.0 + step, rng.choice(AWKWARD_FLOATS),
                                                samples, error=error, identity=identity)))
    extra = [Sample("netmon_scheduler_polls_in_flight", 3),
             Sample("custom_gauge", 1.0, (("process", "yes"),), COUNTER, "late"),
             Sample("netmon_device_reboots_total", 2, (("device", "d1"),), COUNTER),
             Sample("process_only_total", math.nan, (("a", "\\"),), COUNTER)]
    return latest.snapshot(extra)


@pytest.mark.parametrize("seed", range(25))
def test_awkward_snapshots_render_as_prometheus_client_renders_them(seed: int) -> None:
    assert_same(awkward_snapshot(seed))


def test_promtool_reads_a_page_with_escaped_labels_and_special_values() -> None:
    latest = LatestResults(SITES, DEVICES)
    latest.record(PollResult("a-router", Source.SNMP, 1.0, 0.1, tuple(
        Sample("netmon_wifi_clients", value, (("interface", "wlan1"), ("ssid", text), ("band", "5GHz")))
        for value, text in zip(AWKWARD_FLOATS, AWKWARD_TEXT, strict=False))))
    result = promtool_check(assert_same(latest.snapshot()))
    assert result.returncode == 0 and result.stdout.strip() == "" and result.stderr.strip() == "", (
        result.stdout + result.stderr)


def steps() -> Iterator[tuple[str, PollResult]]:
    """A router and an AP through first polls, failures, recovery, a second source and its loss."""
    t = 1_700_000_000.0
    yield "router snmp ok", PollResult("a-router", Source.SNMP, t, 0.25, (
        Sample("netmon_interface_receive_bytes_total", 100, (("interface", "ether1"),), COUNTER),
        Sample("netmon_device_temperature_celsius", 41)), identity=IDENTITY)
    yield "ap fails first", PollResult("a-ap", Source.SNMP, t, 2.0, error=DeviceUnreachable("no answer"))
    yield "router api ok", PollResult("a-router", Source.ROUTEROS, t + 1, 0.125, (
        Sample("netmon_interface_receive_bytes_total", 101, (("interface", "ether1"),), COUNTER),
        Sample("netmon_hotspot_active_users", 5, (("server", "hs-kim"),))))
    yield "ap ok", PollResult("a-ap", Source.SNMP, t + 60, 0.5, (
        Sample("netmon_wifi_clients", 3, (("interface", "wlan1"), ("ssid", "KIM"), ("band", "5GHz"))),),
        identity=DeviceIdentity("generic", "Ubiquiti", "UAP", "6.5", "X1"))
    yield "router api auth fails", PollResult("a-router", Source.ROUTEROS, t + 61, 0.1,
                                              error=AuthenticationFailed("refused"))
    yield "router snmp new values", PollResult("a-router", Source.SNMP, t + 62, 0.3, (
        Sample("netmon_interface_receive_bytes_total", 200, (("interface", "ether1"),), COUNTER),))
    yield "ap fails again", PollResult("a-ap", Source.SNMP, t + 120, 2.0, error=DeviceProtocolError("bad"))
    yield "unconfigured device", PollResult("elsewhere", Source.PUSH, t + 121, 0.0, (Sample("netmon_device_up", 1),))
    yield "router api back", PollResult("a-router", Source.ROUTEROS, t + 180, 0.1, (
        Sample("netmon_interface_receive_bytes_total", 300, (("interface", "ether1"),), COUNTER),))


def test_kept_device_texts_follow_every_change_of_the_latest_results() -> None:
    latest = LatestResults(SITES, DEVICES)
    texts = DeviceTexts(latest.part, DEVICES)
    pipeline = ResultPipeline(lambda result: result, [latest.record, texts.observe])
    extra = [Sample("netmon_scheduler_polls_in_flight", 1)]
    before = texts.page(extra).text()
    assert before == render(latest.snapshot(extra)) and b'netmon_poll_errors_total{device="a-ap"' in before
    for name, result in steps():
        pipeline(result)
        kept = texts.page(extra).text()
        assert kept == render(latest.snapshot(extra)) == render_with_client(latest.snapshot(extra)), name
    assert b'netmon_device_up{device="a-ap",site="kim-a",source="snmp"} 0.0' in kept
    assert b'netmon_wifi_clients{' not in kept  # the AP's last poll failed: its values are gone


def test_the_daemon_serves_its_kept_texts_as_a_fresh_rendering_would_show_them() -> None:
    app = NetmonApp(Config(sites=SITES, devices=DEVICES))
    for _name, result in steps():
        app.on_result(result)
        assert app.page().text() == render(app.snapshot())


async def test_the_server_serves_a_page_and_gzips_it() -> None:
    import gzip

    latest = build()
    texts = DeviceTexts(latest.part, [*DEVICES])
    server = ExporterServer(lambda: texts.page(), lambda: True, "127.0.0.1", 0)
    await server.start()
    try:
        plain = render(latest.snapshot())
        head, body = await http_get(server.port, "/metrics")
        assert body == plain and b"Content-Encoding" not in head
        head, body = await http_get(server.port, "/metrics", accept_encoding="gzip")
        assert b"Content-Encoding: gzip" in head and gzip.decompress(body) == plain
        pages, loop_s, writing_s = server.cost()  # each page counted with the CPU it took (/metrics shows them)
        assert pages == 2 and loop_s > 0 and writing_s > 0
    finally:
        await server.stop()


def test_a_whole_snapshot_and_its_device_parts_give_the_same_page() -> None:
    latest = build()
    whole = page(latest.snapshot())
    assert dict(whole.devices) == {d: t for d, t in DeviceTexts(latest.part, DEVICES).page().devices.items()}


def test_kept_lines_of_process_wide_samples_follow_their_value_and_family() -> None:
    latest = LatestResults({}, {})
    texts = DeviceTexts(latest.part)
    things = Sample("custom_things", 1.0, (("a", "b"),))
    extra = [things, Sample("netmon_scheduler_devices", 2)]
    for _ in range(2):  # the same Sample objects again: their kept lines
        assert texts.page(extra).text() == render(latest.snapshot(extra))
    result = PollResult("d", Source.SNMP, 1.0, 0.1, (Sample("custom_things", 5, (), COUNTER),))
    latest.record(result)
    texts.observe(result)  # now a device opens custom_things, as a counter: the kept line takes its name
    assert texts.page(extra).text() == render(latest.snapshot(extra)) == render_with_client(latest.snapshot(extra))
    assert b"custom_things_total{a=" in texts.page(extra).text()
    changed = [Sample("custom_things", 3.0, (("a", "b"),)), extra[1]]
    assert texts.page(changed).text() == render(latest.snapshot(changed))


QUIET_PAGE = """
import gc
from netmon.exporter import gzipped
from netmon.exposition import DeviceTexts
from netmon.latest import LatestResults
from netmon.errors import DeviceUnreachable
from netmon.model import Device, Owner, PollResult, Role, Sample, Site, Source
sites = {"s": Site("s", "S", "", "", "")}
devices = {f"ap{i:05d}": Device(f"ap{i:05d}", "s", Role.AP, "10.0.0.1", (Source.SNMP,), Owner.PEMDA)
           for i in range(5000)}
latest = LatestResults(sites, devices)
texts = DeviceTexts(latest.part, devices)
for i, device_id in enumerate(devices):  # two layouts: answering and silent devices
    result = (PollResult(device_id, Source.SNMP, 1.0, 0.1, error=DeviceUnreachable("timeout")) if i % 10 == 0 else
              PollResult(device_id, Source.SNMP, 1.0, 0.1, (Sample("netmon_wifi_clients", i, (("ssid", "x"),)),)))
    latest.record(result)
    texts.observe(result)
gzipped(texts.page())
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
gc.collect()
collections.clear()
gc.set_threshold(1000)
page = texts.page()
gzipped(page), page.text()
print(len(collections))
"""


def test_writing_a_page_makes_no_object_per_device_for_the_garbage_collector() -> None:
    """Each tracked object counts towards a garbage collection, which the thread that makes the one past the
    threshold pays for: transposing the device texts with zip made an iterator per device, and set off a young
    collection in the writing thread nearly every page. Run apart (no other thread allocates meanwhile):
    5,000 devices of two layouts, a page taken and written twice, set off none at a threshold of 1,000."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", QUIET_PAGE], capture_output=True, text=True, check=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": "."}).stdout
    assert out.strip() == "0"
