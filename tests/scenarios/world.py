"""One running world for the scenario suite: the demo's simulators (`netmon simulate demo`, driven by `stop ID` /
`start ID` on stdin), the daemon (`netmon run`), a real SMTP server that can be stopped and started on its port,
Mosquitto (a topic prefix of its own per test) and SQLite or PostgreSQL.

The interval is 5 s (the shortest the config allows) and the production tolerances are scaled to it (x 5/60):
3 failed polls or 15 s -> DOWN (so `together_s` = 15 s), 2 good polls -> UP, 10 s holds for `device_down` and
`site_down`, area window 50 s, flap window 150 s, hold 25 s, calm 150 s. The clear holds are 0 so a test does
not wait for them (their timing is proven on an injected clock in tests/alerts/test_alert_scenarios.py).

Every wait ends on something observable (metrics, database rows, mails, MQTT messages); the deadlines only stop
a hung test (peers.HANG_GUARD_S)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

from http_peer import HttpPeer
from mqtt_peer import MqttCollector
from peers import HANG_GUARD_S, NETMON, REPO, command, fetch
from smtp_peer import RestartableSmtp

from netmon.config import load_config
from netmon.model import Incident, Outage, Ticket
from netmon.storage import Store, database_url

INTERVAL_S = 5.0
JITTER_S = 0.2
# a span's start is the first failed poll, its end the first good one: within one interval (plus jitter) of the
# simulator's stop/start instant, with half an interval more for a poll that starts late on a loaded machine and
# the stdin command's delivery. Still well before the third failed poll (+2 intervals), when DOWN is declared.
TOLERANCE_S = 1.5 * INTERVAL_S + JITTER_S + 1.0
TOGETHER_S = 15.0  # max(interval, min(3 x 5, 15))
HELPDESK, NOC = "helpdesk@diskominfo.test", "noc@diskominfo.test"

T = TypeVar("T")


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = HANG_GUARD_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


POLLS = re.compile(r'^netmon_scheduler_polls_total(\{[^}]*\})? (?P<value>\S+)$')


@dataclass
class World:
    config: Path
    sim: subprocess.Popen[str]
    port: int
    smtp: RestartableSmtp
    mqtt: MqttCollector
    json: HttpPeer  # the apprise `json://` channel: what apprise itself sends, with its notify type
    daemon: subprocess.Popen[str] | None = None
    stopped: dict[str, float] = field(default_factory=dict)  # device -> the instant its simulator was stopped
    started: dict[str, float] = field(default_factory=dict)

    # --- driving ---------------------------------------------------------------------------------------

    def run_daemon(self) -> None:
        self.daemon = subprocess.Popen([*NETMON, "run", "--config", str(self.config), "--port", str(self.port)],
                                       cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        wait_until(lambda: self.metrics().count('state="up"} 1.0') == 8, "all 8 demo devices up")

    def end_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()

    def stop(self, *devices: str) -> None:
        for device in devices:
            self.stopped[device] = time.time()
            command(self.sim, f"stop {device}")

    def start(self, *devices: str) -> None:
        for device in devices:
            self.started[device] = time.time()
            command(self.sim, f"start {device}")

    # --- observing -------------------------------------------------------------------------------------

    def metrics(self) -> str:
        status, text = fetch(f"http://127.0.0.1:{self.port}/metrics")
        return text if status == 200 else ""

    def states(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in self.metrics().splitlines():
            if line.startswith("netmon_device_state{") and line.endswith(" 1.0"):
                out[line.split('device="')[1].split('"')[0]] = line.split('state="')[1].split('"')[0]
        return out

    def wait_status(self, status: str, *devices: str) -> None:
        wait_until(lambda: all(self.states().get(d) == status for d in devices), f"{', '.join(devices)} {status}")

    def polls(self) -> float:
        return sum(float(m["value"]) for line in self.metrics().splitlines() if (m := POLLS.match(line)))

    def wait_polls(self, rounds: int) -> None:
        """Until the daemon has polled the whole fleet `rounds` more times: chances to do what it must not."""
        before = self.polls()
        wait_until(lambda: self.polls() >= before + rounds * 8, f"{rounds} more rounds of polls")

    def stored(self, read: Callable[[Store], T]) -> T:
        store = Store.open(database_url(load_config(self.config).storage))
        try:
            return read(store)
        finally:
            store.close()

    def outages(self, *sites: str) -> list[Outage]:
        return self.stored(lambda s: [o for o in s.outages() if o.site in sites])

    def incidents(self) -> list[Incident]:
        return self.stored(lambda s: s.incidents())

    def tickets(self) -> list[Ticket]:
        return self.stored(lambda s: s.tickets())

    def mails(self, to: str) -> list[EmailMessage]:
        return [m for m in self.smtp.messages if to in str(m["To"])]

    def posted(self) -> list[tuple[str, str]]:
        """(apprise type, title) of every notification the `json://` channel received, in order."""
        return [(r.json()["type"], r.json()["title"]) for r in list(self.json.received)]

    def transitions(self, device: str) -> list[str]:
        """The device's up/down statuses as published on MQTT (`device_state`), repeats folded. `degraded` is left
        out: a router polled over SNMP and the API is `degraded` for the moment between its two sources'
        first good polls after a power cut, or not at all when both answer in one round."""
        out: list[str] = []
        for payload in self.mqtt.events("device_state", "device", device):
            if payload["status"] != "degraded" and (not out or out[-1] != payload["status"]):
                out.append(payload["status"])
        return out

    def outage_events(self, device: str) -> list[tuple[str, bool]]:
        """(cause, open) of each MQTT `outage` event of the device, in order."""
        return [(p["cause"], p["open"]) for p in self.mqtt.events("outage", "device", device)]

    def incident_events(self, incident: str) -> list[str]:
        return [p["state"] for p in self.mqtt.events("incident", "incident", incident)]

    def ticket_events(self, ticket: str) -> list[str]:
        return [p["state"] for p in self.mqtt.events("ticket", "ticket", ticket)]


def tuned(doc: dict[str, Any], smtp_port: int, prefix: str, database_url: str | None) -> None:
    """The demo's config with the production tolerances scaled to a 5 s interval (see the module docstring)."""
    doc["state"] = {"down_after_failures": 3, "down_after_s": 15, "up_after_successes": 2}
    if database_url is not None:
        doc["storage"]["database_url"] = database_url
    doc["alerts"] = {
        "channels": {"diskominfo": {"url": {"file": "notify.secret"}},
                     "noc-json": {"url": {"file": "noc-json.secret"}}},
        "routes": [{"channels": ["diskominfo", "noc-json"]}],
        "escalation": {"after_s": 3600},
        "rules": {"device_down_for_s": 10, "device_down_clear_s": 0, "site_down_for_s": 10, "site_down_clear_s": 0,
                  "area_min_sites": 2, "area_window_s": 50, "area_clear_s": 0,
                  "flap_changes": 4, "flap_window_s": 150, "flap_for_s": 25, "flap_calm_s": 150},
        "tickets": {"mail": {"host": "127.0.0.1", "port": smtp_port, "sender": "netmon@kab.test",
                             "recipient": HELPDESK, "starttls": False}},
        "mqtt": {"host": "127.0.0.1", "port": 1883, "prefix": prefix},
    }


# a poll that began before the instant can cross it: its SNMP retry (2 s timeout, 1 retry) or its API call (3 s)
# is the request that failed (or answered), and the poll is recorded at its start
POLL_SPAN_S = 4.5


def near(at: float | None, instant: float) -> bool:
    """A span edge `at` (first failed / first good poll) within one poll interval of the simulator's instant."""
    return at is not None and instant - POLL_SPAN_S <= at <= instant + TOLERANCE_S


def summary(world: World) -> str:
    """What the world produced, for an assertion message."""
    lines = [f"outage {o.device} {o.cause} {o.started_at:.1f}-{o.ended_at} det={o.detected_at}"
             for o in world.stored(lambda s: s.outages())]
    lines += [f"incident {i.rule} {i.subject} {i.opened_at:.1f}-{i.resolved_at}" for i in world.incidents()]
    lines += [f"mail to={m['To']} {m['Subject']}" for m in world.smtp.messages]
    counts: dict[str, int] = defaultdict(int)
    for topic, payload in list(world.mqtt.messages):
        counts[f"{payload.get('event')} {topic.split('/', 1)[1]}"] += 1
    lines += [f"mqtt {k} x{v}" for k, v in sorted(counts.items())]
    return "\n".join(lines)
