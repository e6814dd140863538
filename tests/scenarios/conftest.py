"""The scenario suite's one fixture: `world(backend)` builds and tears down a running World (world.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_peer import HttpPeer
from mqtt_peer import MqttCollector, mosquitto_reachable
from peers import free_tcp_port, postgres_database, require, simulated_demo
from smtp_peer import RestartableSmtp
from world import INTERVAL_S, JITTER_S, NOC, World, tuned


@pytest.fixture
def world(tmp_path: Path, http_server: HttpPeer) -> Iterator[Callable[[str], World]]:
    """`world("sqlite")` or `world("postgresql")`: the simulators, SMTP, MQTT and the daemon, all running and all
    8 demo devices up. Everything is stopped when the test ends."""
    stack = contextlib.ExitStack()

    def make(backend: str) -> World:
        require(mosquitto_reachable(), "no MQTT broker on 127.0.0.1:1883 (Debian package mosquitto)")
        url = stack.enter_context(postgres_database())[1] if backend == "postgresql" else None
        smtp = RestartableSmtp()
        smtp.start()
        stack.callback(smtp.stop)
        prefix = f"netmon-scenario-{uuid.uuid4().hex[:8]}"
        (tmp_path / "notify.secret").write_text(
            f"mailto://127.0.0.1:{smtp.port}?mode=insecure&from=netmon@kab.test&to={NOC}\n")
        (tmp_path / "noc-json.secret").write_text(f"json://127.0.0.1:{http_server.port}/notify\n")

        def extra(doc: dict[str, Any]) -> None:
            tuned(doc, smtp.port, prefix, url)
            doc["scheduler"]["jitter_s"] = JITTER_S

        config, sim = stack.enter_context(simulated_demo(tmp_path, interval_s=INTERVAL_S, extra=extra))
        mqtt = MqttCollector(prefix)
        mqtt.start()
        stack.callback(mqtt.stop)
        built = World(config, sim, free_tcp_port(), smtp, mqtt, http_server)
        stack.callback(built.end_daemon)
        built.run_daemon()
        return built

    with stack:
        yield make
