"""A real Prometheus (Debian's `prometheus` package) scraping netmon, for the tests that judge PromQL and
counters as Grafana users see them: `running_prometheus(work, scrape)` starts the server on a free port with
the given scrape config, waits until it is ready and stops it afterwards; `Prometheus.wait` waits for a
query to return data (a hang guard, never a speed check)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from peers import HANG_GUARD_S, fetch, free_tcp_port, require_tool, stop_process


class Prometheus:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        status, body = fetch(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        reply = json.loads(body) if body else {}
        assert status == 200 and reply["status"] == "success", f"{expr}\n-> {body[:500]}"
        result: list[dict[str, Any]] = reply["data"]["result"]
        return result

    def wait(self, expr: str, what: str, timeout_s: float = HANG_GUARD_S) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}: {expr}")


def scrape_config(targets: list[str], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """`base` (e.g. the shipped deploy/prometheus/prometheus.yml) or one job, scraping `targets` every second."""
    scrape = base or {"scrape_configs": [{"job_name": "netmon", "static_configs": [{}]}]}
    scrape["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}  # faster than production
    job = scrape["scrape_configs"][0]
    job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
    job["static_configs"][0]["targets"] = targets
    return scrape


@contextlib.contextmanager
def running_prometheus(work: Path, scrape: dict[str, Any]) -> Iterator[Prometheus]:
    binary = require_tool("prometheus", "prometheus")
    port = free_tcp_port()
    (work / "prometheus.yml").write_text(yaml.safe_dump(scrape))
    server = subprocess.Popen([binary, f"--config.file={work / 'prometheus.yml'}",
                               f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        prom = Prometheus(port)
        deadline = time.monotonic() + HANG_GUARD_S
        while fetch(f"{prom.url}/-/ready")[0] != 200:
            assert time.monotonic() < deadline and server.poll() is None, "prometheus did not start"
            time.sleep(0.2)
        yield prom
    finally:
        stop_process(server)
