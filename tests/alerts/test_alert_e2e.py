"""The alerts issue's acceptance, end to end: the simulated demo, the daemon, a real SMTP server (ticket
mail and notifications), the Mosquitto broker (events). Stopping a government-owned AP gives one ticket
mail and one notification; starting it again resolves the same ticket; stopping the sites of one kecamatan
gives one area incident, not one ticket per site.

When each message is due (the first failed poll, escalation, grace periods) is proven on an injected clock in
test_alert_scenarios.py; here the daemon runs on the real clock of a machine that may be loaded, so waits end
on what the daemon observably did (mails, further polls of the stopped devices), never on elapsed time."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_peer import HttpPeer
from mqtt_peer import MqttCollector, mosquitto_reachable
from peers import HANG_GUARD_S, NETMON, REPO, command, fetch, free_tcp_port, require, simulated_demo
from smtp_peer import SmtpPeer

INTERVAL_S = 5
AP = "kim-karangmangu-ap"
AP_WHERE = "AP KIM Sinar Karangmangu (Desa Karangmangu, Baturraden)"  # what a subject says of it
BATURRADEN = ["kim-karangmangu-router", "kim-karangmangu-ap", "kim-ketenger-router", "kim-ketenger-ap",
              "kim-ketenger-rb951"]


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = HANG_GUARD_S) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


FAILED_POLLS = re.compile(r'^netmon_poll_errors_total\{device="(?P<device>[^"]+)",reason="[^"]+",'
                          r'source="(?P<source>[^"]+)"\} (?P<value>\S+)$')


def failed_polls(port: int) -> dict[tuple[str, str], float]:
    """The daemon's count of failed polls per (device, source), all reasons together."""
    counts: dict[tuple[str, str], float] = defaultdict(float)
    for line in fetch(f"http://127.0.0.1:{port}/metrics")[1].splitlines():
        if match := FAILED_POLLS.match(line):
            counts[(match["device"], match["source"])] += float(match["value"])
    return counts


def wait_for_more_failed_polls(port: int, devices: list[str], polls: int) -> None:
    """Until the daemon has polled each (stopped) device `polls` more times over one of its sources: it had that
    many chances to send something it should not, however slowly the machine runs."""
    before = failed_polls(port)

    def done() -> bool:
        now = failed_polls(port)
        return all(any(count >= before.get(key, 0.0) + polls for key, count in now.items() if key[0] == device)
                   for device in devices)

    wait_until(done, f"{polls} more polls of {', '.join(devices)}")


@pytest.fixture
def demo_with_alerts(tmp_path: Path, smtp_server: SmtpPeer,
                     http_server: HttpPeer) -> Iterator[tuple[Path, subprocess.Popen[str], str]]:
    require(mosquitto_reachable(), "no MQTT broker on 127.0.0.1:1883 (Debian package mosquitto)")
    prefix = f"netmon-e2e-{uuid.uuid4().hex[:8]}"
    (tmp_path / "notify.secret").write_text(
        f"mailto://127.0.0.1:{smtp_server.port}?mode=insecure&from=netmon@kab.test&to=noc@diskominfo.test\n")
    (tmp_path / "noc-json.secret").write_text(f"json://127.0.0.1:{http_server.port}/notify\n")

    def alerts(doc: dict[str, Any]) -> None:
        doc["alerts"] = {
            "channels": {"diskominfo": {"url": {"file": "notify.secret"}},
                         "noc-json": {"url": {"file": "noc-json.secret"}, "language": "en"}},
            "routes": [{"owner": "pemda", "channels": ["diskominfo", "noc-json"]},
                       {"owner": "kim", "kim_contact": True}],
            "escalation": {"after_s": 3600},
            "rules": {"device_down_for_s": 15, "device_down_clear_s": 0, "site_down_for_s": 15,
                      "site_down_clear_s": 0, "area_min_sites": 2, "area_window_s": 300},
            "tickets": {"mail": {"host": "127.0.0.1", "port": smtp_server.port, "sender": "netmon@kab.test",
                                 "recipient": "helpdesk@diskominfo.test", "starttls": False}},
            "mqtt": {"host": "127.0.0.1", "port": 1883, "prefix": prefix},
        }

    with simulated_demo(tmp_path, interval_s=INTERVAL_S, extra=alerts) as (config, sim):
        yield config, sim, prefix


def test_ap_failure_one_ticket_and_one_notification_then_resolved_and_an_area_incident(
        demo_with_alerts: tuple[Path, subprocess.Popen[str], str], smtp_server: SmtpPeer,
        http_server: HttpPeer) -> None:
    config, sim, prefix = demo_with_alerts
    mqtt = MqttCollector(prefix)
    mqtt.start()
    port = free_tcp_port()
    daemon = subprocess.Popen([*NETMON, "run", "--config", str(config), "--port", str(port)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mails = smtp_server.handler.messages

    def to(address: str) -> list[Any]:
        return [m for m in mails if address in str(m["To"])]

    try:
        wait_until(lambda: fetch(f"http://127.0.0.1:{port}/metrics")[1].count('state="up"} 1.0') == 8,
                   "all demo devices up")
        assert mails == []  # unknown -> up sends nothing

        command(sim, f"stop {AP}")
        wait_until(lambda: len(to("helpdesk@")) >= 1 and len(to("noc@")) >= 1, "a ticket mail and a notification")
        wait_for_more_failed_polls(port, [AP], 2)  # and nothing more arrives for this one failure
        tickets, notes = to("helpdesk@"), to("noc@")
        assert len(tickets) == 1 and len(notes) == 1, [m["Subject"] for m in mails]
        opened = tickets[0]
        assert "[NETMON-" in str(opened["Subject"]) and AP in opened.get_content()
        ticket_id = str(opened["Subject"]).split("[", 1)[1].split("]", 1)[0]
        assert str(opened["Subject"]) == f"[{ticket_id}] [GANGGUAN] {AP_WHERE} tidak terjangkau"
        assert str(notes[0]["Subject"]) == f"[GANGGUAN] {AP_WHERE} tidak terjangkau"
        assert "Karangmangu" in notes[0].get_content()  # the desa, in Bahasa Indonesia by default
        wait_until(lambda: bool(mqtt.topics("/incident")) and bool(mqtt.topics("/ticket")), "MQTT events")
        assert any(t.endswith(f"/{AP}/state") for t in mqtt.topics("/state"))

        listed = json.loads(subprocess.run([*NETMON, "tickets", "list", "--open", "--format", "json", "--config",
                                            str(config)], cwd=REPO, capture_output=True, text=True,
                                           timeout=60).stdout)
        assert [t["ticket"] for t in listed] == [ticket_id]
        acked = subprocess.run([*NETMON, "tickets", "ack", ticket_id, "--by", "Budi (helpdesk)", "--config",
                                str(config)], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert acked.returncode == 0, acked.stderr

        command(sim, f"start {AP}")
        wait_until(lambda: any(m["X-Netmon-Event"] == "resolve" for m in to("helpdesk@")), "the ticket's resolve mail")
        resolve = next(m for m in to("helpdesk@") if m["X-Netmon-Event"] == "resolve")
        assert str(resolve["Subject"]) == f"[{ticket_id}] [PULIH] {AP_WHERE} kembali terjangkau"  # not the open's
        assert str(opened["Message-ID"]) in str(resolve["In-Reply-To"])  # the same ticket thread
        wait_until(lambda: len(to("noc@")) >= 2, "the recovery notification")
        assert str(to("noc@")[1]["Subject"]) == f"[PULIH] {AP_WHERE} kembali terjangkau"
        wait_until(lambda: len(http_server.received) >= 2, "the json channel's two notifications")
        assert [(r.json()["type"], r.json()["title"]) for r in http_server.received[:2]] == [
            ("failure", f"[PROBLEM] {AP_WHERE} unreachable"), ("success", f"[RECOVERED] {AP_WHERE} reachable again")]

        before = len(to("helpdesk@"))
        for device in BATURRADEN:
            command(sim, f"stop {device}")
        wait_until(lambda: len(to("helpdesk@")) > before, "a ticket for the kecamatan")
        wait_for_more_failed_polls(port, BATURRADEN, 4)  # past site_down_for_s: per-site tickets would be out
        new = to("helpdesk@")[before:]
        opened_tickets = {str(m["Subject"]).split("]", 1)[0] for m in new if not m["In-Reply-To"]}
        assert len(opened_tickets) == 1, [m["Subject"] for m in new]  # one area incident, not one per site
        assert "Baturraden" in new[0].get_content()
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
