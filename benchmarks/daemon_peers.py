"""The real peers of benchmarks/daemon.py besides the devices: an SMTP sink (aiosmtpd, in this process) that
notes when each mail arrived, a Prometheus (Debian's package) scraping the daemon, a fresh PostgreSQL database
(dropped after), and the CPU and peak RSS of any process by pid. Mosquitto is benchmarks/agent_ingest.py's."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import yaml

from benchmarks.agent_ingest import free_port


def fetch(url: str, timeout_s: float = 30.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            return int(reply.status), bytes(reply.read())
    except OSError:
        return 0, b""


def usage(pid: int) -> tuple[float, int, int]:
    """(CPU seconds, current RSS kB, peak RSS kB) of a process; zeros once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0, 0, 0
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    kb = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS:", "VmHWM:"))}
    return cpu, kb.get("VmRSS", 0), kb.get("VmHWM", 0)


def children(pid: int) -> list[int]:
    """The direct children of a process (the daemon's SNMP worker processes, with `scheduler.workers` > 1)."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


# --- SMTP sink ------------------------------------------------------------------------------------------

@dataclass
class Mail:
    at: float
    to: str
    subject: str
    ticket: str  # X-Netmon-Ticket ("" for a notification)
    event: str  # X-Netmon-Event


@dataclass
class MailSink:
    mails: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.mails.append(Mail(time.time(), str(msg["To"]), str(msg["Subject"]), str(msg["X-Netmon-Ticket"] or ""),
                               str(msg["X-Netmon-Event"] or "")))
        return "250 OK"


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[int, MailSink]]:
    from aiosmtpd.controller import Controller

    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


# --- Prometheus -----------------------------------------------------------------------------------------

class Prometheus:
    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.proc = proc

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        status, body = fetch(f"{self.url}/api/v1/query?" + urllib.parse.urlencode(params))
        if status != 200:
            return []
        result: list[dict[str, Any]] = json.loads(body)["data"]["result"]
        return result

    def value(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def samples(self, metric: str, since: float, until: float) -> list[tuple[float, float]]:
        """The raw samples (timestamp, value) of one series between two instants."""
        result = self.query(f"{metric}[{max(1, int(until - since))}s]", until)
        return [(float(t), float(v)) for t, v in result[0]["values"]] if result else []


@contextlib.contextmanager
def prometheus(work: Path, target: str, every_s: float) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("`prometheus` not found; install Debian package `prometheus`")
    port = free_port()
    every = f"{every_s:g}s"
    (work / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": every, "evaluation_interval": every},
        "scrape_configs": [{"job_name": "netmon", "scrape_interval": every, "scrape_timeout": every,
                            "static_configs": [{"targets": [target]}]}]}))
    proc = subprocess.Popen([binary, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        prom = Prometheus(port, proc)
        deadline = time.monotonic() + 60
        while fetch(f"{prom.url}/-/ready")[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("prometheus did not start")
            time.sleep(0.2)
        yield prom
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- PostgreSQL -----------------------------------------------------------------------------------------

@contextlib.contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A fresh database on `server` ("user@host:port", trust auth), dropped afterwards; its SQLAlchemy URL."""
    import psycopg

    user, _, hostport = server.rpartition("@")
    host, _, port = hostport.partition(":")
    name = f"netmon_bench_{secrets.token_hex(4)}"

    def admin() -> Any:
        return psycopg.connect(host=host, port=int(port or 5432), user=user or "postgres", dbname="postgres",
                               autocommit=True, connect_timeout=5)

    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{user or 'postgres'}@{host}:{port or 5432}/{name}"
    finally:
        with admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
