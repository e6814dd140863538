"""The config file benchmarks/daemon.py hands to `netmon run`: D access points (one community each, from a
secret file, as a user writes them) in sites of SITE_SIZE, every site its own kecamatan (a failing device is a
`device` incident, never an area), storage, alerts with a mail channel and ticket mail to the SMTP sink, and
MQTT events to Mosquitto."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SITE_SIZE = 10
HELPDESK = "helpdesk@bench.test"
NOC = "noc@bench.test"


@dataclass(frozen=True)
class Tolerances:
    """The state and alert tolerances written to the config (production defaults: 3 failures or 180 s,
    then a 120 s hold before `device_down` fires)."""

    down_after_failures: int = 3
    down_after_s: float = 180.0
    device_down_for_s: float = 120.0

    def outage_bound_s(self, interval_s: float) -> float:
        """From a failure to its outage: N failed polls or T seconds, whichever first, plus one interval (the
        first failed poll can come up to one interval after the failure)."""
        return min(self.down_after_failures * interval_s, self.down_after_s) + interval_s

    def ticket_bound_s(self, interval_s: float) -> float:
        return self.outage_bound_s(interval_s) + self.device_down_for_s


def community(i: int) -> str:
    return f"bench-{i:05d}"


def device_id(i: int) -> str:
    return f"ap{i:05d}"


@dataclass(frozen=True)
class Peers:
    agent_port: int
    exporter_port: int
    smtp_port: int
    mqtt_port: int
    database_url: str


def write_config(work: Path, devices: int, interval_s: float, peers: Peers, tol: Tolerances, *,
                 workers: int = 1, jitter_s: float = 0.0) -> Path:
    secrets = work / "secrets"
    secrets.mkdir(exist_ok=True)
    credentials: dict[str, Any] = {}
    for i in range(devices):
        path = secrets / f"c{i:05d}.secret"
        path.write_text(community(i) + "\n", encoding="utf-8")
        path.chmod(0o600)
        credentials[f"c{i:05d}"] = {"snmp_v2c": {"community": {"file": f"secrets/{path.name}"}}}
    (work / "notify.secret").write_text(
        f"mailto://127.0.0.1:{peers.smtp_port}?mode=insecure&from=netmon@bench.test&to={NOC}\n", encoding="utf-8")
    sites = [{"id": f"s{s:04d}", "name": f"KIM Bench {s}", "desa": f"Desa {s}", "kecamatan": f"Kec {s}",
              "kabupaten": "Banyumas"} for s in range((devices + SITE_SIZE - 1) // SITE_SIZE)]
    doc: dict[str, Any] = {
        "defaults": {"interval_s": interval_s, "snmp": {"timeout_s": min(2.0, interval_s / 8), "retries": 1}},
        "exporter": {"listen": "127.0.0.1", "port": peers.exporter_port},
        "scheduler": {"jitter_s": jitter_s, "workers": workers},
        "storage": {"database_url": peers.database_url, "data_dir": str(work / "data")},
        "state": {"down_after_failures": tol.down_after_failures, "down_after_s": tol.down_after_s},
        "alerts": {
            "channels": {"noc": {"url": {"file": "notify.secret"}}},
            "routes": [{"channels": ["noc"]}],
            "rules": {"device_down_for_s": tol.device_down_for_s},
            "tickets": {"mail": {"host": "127.0.0.1", "port": peers.smtp_port, "sender": "netmon@bench.test",
                                 "recipient": HELPDESK, "starttls": False}},
            "mqtt": {"host": "127.0.0.1", "port": peers.mqtt_port, "prefix": "bench"},
        },
        "credentials": credentials,
        "sites": sites,
        "devices": [{"id": device_id(i), "site": f"s{i // SITE_SIZE:04d}", "role": "ap", "address": "127.0.0.1",
                     "sources": ["snmp"], "credential": f"c{i:05d}", "snmp": {"port": peers.agent_port}}
                    for i in range(devices)],
    }
    config = work / "netmon.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return config
