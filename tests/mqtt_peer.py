"""The MQTT side of the end-to-end tests: `MqttCollector` subscribes to `<prefix>/#` on the local broker
(Mosquitto on 127.0.0.1:1883) in a thread and keeps every JSON message in order; `mosquitto_reachable` says
whether that broker answers (tests require it, loudly, and fail under CI=true without it)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

from peers import HANG_GUARD_S


class MqttCollector:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        import aiomqtt

        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            await client.subscribe(f"{self.prefix}/#", qos=1)
            self._ready.set()
            async for message in client.messages:
                if self._stop.is_set():
                    return
                payload = message.payload
                if isinstance(payload, bytes | bytearray) and payload.startswith(b"{"):
                    self.messages.append((str(message.topic), json.loads(payload)))

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(HANG_GUARD_S), "no MQTT subscription"

    def stop(self) -> None:
        self._stop.set()

    def topics(self, suffix: str) -> list[str]:
        return [t for t, _p in self.messages if t.endswith(suffix)]

    def events(self, event: str, key: str, value: str) -> list[dict[str, Any]]:
        return [p for _t, p in list(self.messages) if p.get("event") == event and p.get(key) == value]


def mosquitto_reachable() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", 1883)) == 0
