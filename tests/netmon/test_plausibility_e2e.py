"""Issue 10's buggy firmware, end to end: a real SNMP agent (`netmon simulate snmp --data-dir`) serves a copy
of the corpus airOS recording in which only the temperature is scaled by 1,000,000, as some firmware does,
and netmon polls it. /metrics has no temperature series for it, `netmon_samples_rejected_total` counts
every poll once (also when SNMP is polled in worker processes), the high-temperature rule raises nothing,
and the log says it once. A control device served the unchanged recording shows the same rule does fire.

And the counters that exist from the first scrape at 0 (reboots, every poll-error reason, rejected
samples) let a real Prometheus's `increase()` see a device's first poll error."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from peers import NETMON, REPO, fetch, free_tcp_port, free_udp_port, require, stop_process
from prometheus_peer import running_prometheus, scrape_config
from snmpsim_fixture import SNMPREC_DIR, _answers

from netmon.app import NetmonApp
from netmon.config import load_config
from netmon.exporter import render
from netmon.plausibility import RejectReason

TEMPERATURE_OID = "1.3.6.1.4.1.41112.1.4.8.4.0"  # UBNT-AirMAX-MIB::ubntHostTemperature.0, 66 °C recorded
SYS_UPTIME_OID = "1.3.6.1.2.1.1.3.0"
SCALE = 1_000_000
TEMP = "netmon_device_temperature_celsius"


def scaled_copy(data: Path) -> int:
    """airos.snmprec as recorded (community `airos`) and with its temperature scaled (`airos_scaled`);
    returns the recorded temperature. In both, sysUpTime.0 ticks on from its recorded value as a live
    agent's does (the simulator's `uptime` variation)."""
    source = SNMPREC_DIR / "airos.snmprec"
    require(source.exists(), f"corpus recording {source} missing (../shared/corpus)")
    data.mkdir()
    plain, scaled, recorded = [], [], None
    for line in source.read_text(encoding="utf-8").splitlines():
        oid, tag, value = line.split("|", 2) if line.count("|") >= 2 else (line, "", "")
        if oid == SYS_UPTIME_OID and tag == "67":
            line = f"{oid}|67:uptime|initial={value}"
        plain.append(line)
        if oid == TEMPERATURE_OID:
            recorded = int(value)
            line = f"{oid}|{tag}|{recorded * SCALE}"
        scaled.append(line)
    assert recorded is not None, "the recording has no temperature"
    (data / "airos.snmprec").write_text("\n".join(plain) + "\n", encoding="utf-8")
    (data / "airos_scaled.snmprec").write_text("\n".join(scaled) + "\n", encoding="utf-8")
    return recorded


class Agent:
    """`netmon simulate snmp --data-dir` on a fixed UDP port, stopped and started (or rebooted) by tests."""

    def __init__(self, data: Path, port: int, recorded: int) -> None:
        self.data, self.port, self.recorded = data, port, recorded
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start, and return once it answers (so no poll fails for a simulator still starting)."""
        self.proc = subprocess.Popen([*NETMON, "simulate", "snmp", "--data-dir", str(self.data), "--port",
                                      str(self.port)], cwd=REPO, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 30
        while not _answers(self.port, "airos"):
            assert time.monotonic() < deadline and self.proc.poll() is None, "the SNMP simulator did not start"
            time.sleep(0.1)

    def boot_again(self) -> None:
        """Start again as a device that has just booted: uptime from 0."""
        for path in self.data.glob("*.snmprec"):
            lines = [f"{SYS_UPTIME_OID}|67:uptime|initial=0" if ln.startswith(SYS_UPTIME_OID + "|") else ln
                     for ln in path.read_text(encoding="utf-8").splitlines()]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.start()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    """The simulator serving both copies of the recording."""
    recorded = scaled_copy(tmp_path / "snmprec")
    sim = Agent(tmp_path / "snmprec", free_udp_port(), recorded)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def write_config(work: Path, port: int, communities: dict[str, str], *, interval_s: float = 60,
                 workers: int = 1, metrics_port: int = 9877) -> Path:
    """A netmon config with one site and an SNMP device per community (secrets in files beside it)."""
    credentials = {}
    for community in set(communities.values()):
        (work / f"{community}.secret").write_text(community + "\n")
        (work / f"{community}.secret").chmod(0o600)
        credentials[community] = {"snmp_v2c": {"community": {"file": f"{community}.secret"}}}
    doc: dict[str, Any] = {
        "defaults": {"interval_s": interval_s, "snmp": {"port": port, "timeout_s": 0.5, "retries": 1}},
        "exporter": {"listen": "127.0.0.1", "port": metrics_port},
        "scheduler": {"jitter_s": 0.1, "poll_deadline_s": 5, "workers": workers},
        "storage": {"data_dir": str(work / "data")},
        "alerts": {"rules": {"temperature_max_c": 50}},  # the recorded 66 °C is hot: the rule must fire
        "credentials": credentials,
        "sites": [{"id": "kim-a", "name": "KIM A", "desa": "Karangsalam", "kecamatan": "Baturraden",
                   "kabupaten": "Banyumas"}],
        "devices": [{"id": device, "site": "kim-a", "role": "ap", "address": "127.0.0.1", "sources": ["snmp"],
                     "credential": community} for device, community in communities.items()],
    }
    path = work / "netmon.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


async def poll_until_up(app: NetmonApp, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        snap = await app.poll_once()
        if all(r.ok for r in snap.results.values()):
            return
        assert time.monotonic() < deadline, {k: r.error for k, r in snap.results.items()}
        await asyncio.sleep(0.2)


async def test_scaled_temperature_is_rejected_counted_logged_once_and_not_alerted_on(
        tmp_path: Path, agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    port, recorded = agent.port, agent.recorded
    caplog.set_level(logging.INFO)
    config = load_config(write_config(tmp_path, port, {"ap-buggy": "airos_scaled", "ap-ok": "airos"}))
    app = NetmonApp(config)
    try:
        await poll_until_up(app)  # the simulator may take a moment to answer: polls before count as failed
        before = app.rejections.counts().get(("ap-buggy", TEMP, RejectReason.OUT_OF_RANGE), 0)
        # two more polls, handed to the daemon's entry point as the scheduler does; the second one dated
        # past the high-temperature rule's 5-minute hold, so a plausible reading above 50 °C fires
        start = time.time()
        for offset in (0.0, 400.0):
            for device in config.devices.values():
                polled = await app.snmp.poll(device)
                assert polled.ok, polled.error
                app.on_result(dataclasses.replace(polled, started_at=start + offset))
        text = render(app.snapshot()).decode()
    finally:
        await app.close()

    assert f'{TEMP}{{device="ap-ok"}} {float(recorded)}' in text
    assert f'{TEMP}{{device="ap-buggy"}}' not in text
    assert 'netmon_device_uptime_seconds{device="ap-buggy"}' in text  # the rest of the poll is kept
    counted = re.search(rf'netmon_samples_rejected_total{{device="ap-buggy",metric="{TEMP}",'
                        r'reason="out_of_range"} ([0-9.e+]+)', text)
    assert counted is not None and float(counted.group(1)) == before + 2  # once per poll
    assert (f'netmon_samples_rejected_total{{device="ap-ok",metric="{TEMP}",reason="out_of_range"}} 0.0'
            in text)
    implausible = [r.getMessage() for r in caplog.records if "implausible" in r.getMessage()]
    assert implausible == [f"device ap-buggy: implausible {TEMP} = {float(recorded * SCALE)!r} "
                           "(temperature (°C): -40..150), not exported, stored or alerted on until it is "
                           "plausible again"]

    firing = {(i.rule, i.device) for i in app.alerts.open_incidents()}
    assert ("high_temperature", "ap-ok") in firing
    assert not [i for i in app.alerts.open_incidents() if i.device == "ap-buggy"]


def metrics(port: int) -> str:
    status, text = fetch(f"http://127.0.0.1:{port}/metrics")
    return text if status == 200 else ""


def value(text: str, series: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_worker_processes_results_are_screened_and_counted_once(
        tmp_path: Path, agent: Agent) -> None:
    port = agent.port
    http = free_tcp_port()
    config = write_config(tmp_path, port, {"ap-buggy": "airos_scaled"}, interval_s=5, workers=2,
                          metrics_port=http)
    log = tmp_path / "daemon.log"
    with log.open("w") as sink:
        daemon = subprocess.Popen([*NETMON, "run", "--config", str(config)], cwd=REPO,
                                  stdout=sink, stderr=subprocess.STDOUT, text=True)
    rejected = f'netmon_samples_rejected_total{{device="ap-buggy",metric="{TEMP}",reason="out_of_range"}}'
    try:
        deadline = time.monotonic() + 90
        while True:
            text = metrics(http)
            count = value(text, rejected)
            if count is not None and count >= 2:
                break
            assert time.monotonic() < deadline and daemon.poll() is None, log.read_text()[-2000:]
            time.sleep(0.5)
        polls = value(text, "netmon_scheduler_polls_total")
        errors = sum(value(text, f'netmon_poll_errors_total{{device="ap-buggy",reason="{r}",source="snmp"}}') or 0
                     for r in ("error", "timeout", "auth", "protocol", "unavailable"))
        assert polls is not None
        # each worker's first poll (discovery) comes before its scheduler counts polls: at most one more
        assert polls - errors <= count <= polls - errors + 1, (count, polls, errors)
        assert f'{TEMP}{{device="ap-buggy"}}' not in text
    finally:
        daemon.terminate()
        daemon.wait(30)
    lines = [line for line in log.read_text().splitlines() if "implausible" in line]
    assert len(lines) == 1 and "device ap-buggy: implausible" in lines[0], lines


def test_prometheus_increase_sees_a_devices_first_poll_error_and_first_reboot(
        tmp_path: Path, agent: Agent) -> None:
    port = agent.port
    http = free_tcp_port()
    config = write_config(tmp_path, port, {"ap": "airos"}, interval_s=5, metrics_port=http)
    daemon = subprocess.Popen([*NETMON, "run", "--config", str(config)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    timeout = 'netmon_poll_errors_total{device="ap",reason="timeout",source="snmp"}'
    try:
        with running_prometheus(tmp_path, scrape_config([f"127.0.0.1:{http}"])) as prom:
            prom.wait('netmon_device_up{device="ap"} == 1', "the device polled")
            # before any event: the counters are there, at 0, for a few scrapes already
            prom.wait(f"count_over_time({timeout}[1m]) >= 3", "three scrapes of the poll-error counter")
            assert prom.query(f"max_over_time({timeout}[1m])")[0]["value"][1] == "0"
            for series in ('netmon_device_reboots_total{device="ap"}',
                           f'netmon_samples_rejected_total{{device="ap",metric="{TEMP}",reason="out_of_range"}}',
                           *(f'netmon_poll_errors_total{{device="ap",reason="{r}",source="snmp"}}'
                             for r in ("error", "auth", "protocol", "unavailable"))):
                assert [r["value"][1] for r in prom.query(series)] == ["0"], series
            agent.stop()  # the agent goes away: the next polls time out
            prom.wait(f"{timeout} >= 1", "the first poll error scraped")
            (increase,) = prom.query(f"increase({timeout}[1m])")
            assert float(increase["value"][1]) > 0
            agent.boot_again()  # back, rebooted
            reboots = 'netmon_device_reboots_total{device="ap"}'
            prom.wait(f"{reboots} >= 1", "the first reboot scraped")
            (increase,) = prom.query(f"increase({reboots}[1m])")
            assert float(increase["value"][1]) > 0
    finally:
        stop_process(daemon)
