"""A real HTTP server on loopback that records what is POSTed to it (webhook sinks, apprise `json://`
channels). `statuses` are answers to give, in order (then 200); `redirect_to` answers every POST with a 302."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpPeer:
    url: str
    port: int = 0
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    redirect_to: str | None = None


@pytest.fixture
def http_server() -> Iterator[HttpPeer]:
    peer = HttpPeer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            peer.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if peer.redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", peer.redirect_to)
            else:
                self.send_response(peer.statuses.pop(0) if peer.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # a followed redirect would land here
            peer.received.append(Received(self.path, {}, b""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer.port = int(server.server_address[1])
    peer.url = f"http://127.0.0.1:{peer.port}/hooks/netmon?token=url-token-777"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
