"""Real parts for the site agent's tests: a Mosquitto of the test's own (optionally TLS, password file, ACL file;
persistent, so it can be stopped, killed and started again on the same port), the office side of the wire (a
persistent subscription through netmon.mqtt collecting results and statuses), and a site config made from
the simulated demo's config (tests/peers.py `simulated_demo`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from peers import HANG_GUARD_S, free_tcp_port, require

from netmon import wire
from netmon.errors import BrokerUnavailable, WireError
from netmon.model import PollResult, Secret
from netmon.mqtt import BrokerSettings, connect

OFFICE_ONLY = ("alerts", "storage", "exporter", "state", "maintenance", "report", "assets", "agents")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@dataclass
class Mosquitto:
    work: Path
    tls: tuple[Path, Path, Path] | None = None  # ca, server certificate, key
    passwords: dict[str, str] | None = None
    acl: Path | None = None
    port: int = field(default_factory=free_tcp_port)
    proc: subprocess.Popen[bytes] | None = None
    listen: str = "127.0.0.1"  # the listener's address
    extra: tuple[str, ...] = ()  # more mosquitto.conf lines

    def __post_init__(self) -> None:
        binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK)
                                               else None)
        require(binary is not None, "`mosquitto` not found; install Debian package `mosquitto`")
        assert binary is not None
        self.binary = binary
        self.work.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {self.port} {self.listen}", "persistence true", f"persistence_location {self.work}/",
                 f"log_dest file {self.work}/mosquitto.log", "max_queued_messages 100000"]
        if self.tls is not None:
            ca, cert, key = self.tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        if self.passwords is not None:
            passwd = self.work / "passwd"
            passwd.write_text("")
            tool = shutil.which("mosquitto_passwd")
            require(tool is not None, "`mosquitto_passwd` not found; install Debian package `mosquitto`")
            for user, password in self.passwords.items():
                subprocess.run([str(tool), "-b", str(passwd), user, password], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            lines.append(f"acl_file {self.acl}")
        lines += self.extra
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise it drops to `mosquitto`, who cannot write the persistence file
        self.conf = self.work / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + HANG_GUARD_S
        while not port_open(self.port, self.listen):
            log = self.work / "mosquitto.log"
            require(self.proc.poll() is None and time.monotonic() < deadline,
                    f"mosquitto did not start: {log.read_text()[-500:] if log.exists() else ''}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM (a clean stop: the persistence file is written) or SIGKILL."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@dataclass
class Office:
    """The office end of the wire: a persistent session subscribed to every agent's results and status,
    reconnecting while the broker is away; keeps what arrives, in order."""

    broker: BrokerSettings
    prefix: str = "netmon"
    results: list[tuple[str, int, bytes]] = field(default_factory=list)  # (agent, seq, payload)
    statuses: list[wire.AgentStatus] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    mismatched: int = 0  # results whose payload names another agent than their topic: never believed

    async def run(self) -> None:
        while True:
            with contextlib.suppress(BrokerUnavailable):
                async with connect(self.broker) as conn:
                    await conn.subscribe(f"{self.prefix}/agent/+/result")
                    await conn.subscribe(f"{self.prefix}/agent/+/status")
                    self.subscribed.set()
                    async for message in conn.messages():
                        self._keep(message.topic, message.payload)
            await asyncio.sleep(0.1)

    def _keep(self, topic: str, payload: bytes) -> None:
        if topic.endswith("/status"):
            if payload:
                self.statuses.append(wire.decode_status(payload))
            return
        try:
            agent, seq, _result = wire.decode(payload)
        except WireError:
            return
        if topic != wire.result_topic(self.prefix, agent):  # the ACL vouches for the topic, not the payload
            self.mismatched += 1
            return
        self.results.append((agent, seq, payload))

    def seqs(self, agent: str) -> list[int]:
        return [seq for a, seq, _p in self.results if a == agent]

    def decoded(self, agent: str) -> dict[int, PollResult]:
        return {seq: wire.decode(p)[2] for a, seq, p in self.results if a == agent}


def office_settings(port: int, name: str, **changes: Any) -> BrokerSettings:
    return BrokerSettings(host="127.0.0.1", port=port, client_id=name, persistent_session=True, timeout_s=5.0,
                          **changes)


async def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = HANG_GUARD_S) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"hang guard: still waiting for {what}") from None


def site_config(demo_config: Path, path: Path, agent: dict[str, Any]) -> Path:
    """The demo's office config as a site agent's: office-only sections removed, `agent:` added. Written beside
    the demo config, whose secret files it shares."""
    doc = yaml.safe_load(demo_config.read_text())
    for key in OFFICE_ONLY:
        doc.pop(key, None)
    doc["agent"] = agent
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def agent_section(agent_id: str, port: int, outbox_path: Path, **changes: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "id": agent_id, "prefix": "netmon",
        "broker": {"host": "127.0.0.1", "port": port, "tls": False, "timeout_s": 5},
        "outbox": {"path": str(outbox_path)}, "boot_delay_max_s": 0.2, "status_interval_s": 1,
        "backoff": {"initial_s": 0.1, "max_s": 0.5},
    }
    section.update(changes)
    return section


def secret(text: str) -> Secret:
    return Secret(text)
