"""A site agent played by the test (it publishes what `netmon agent` would: netmon.wire results and status), an
office config with one agent serving one site, and an injected office clock."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from netmon import wire
from netmon.config.agents import Agent, AgentBroker, AgentsSettings
from netmon.config.loader import Config
from netmon.config.schema import StorageConfig
from netmon.errors import DeviceUnreachable
from netmon.model import Device, Owner, PollResult, Role, Sample, Site, Source

T0 = 1_764_547_200.0  # 2025-12-01 00:00 UTC
AGENT = "kec-sumbang-1"


@dataclass
class OfficeClock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


def office_config(data_dir: Path, database_url: str, prefix: str, *, client_id: str | None = None) -> Config:
    served = Site("kim-a", "KIM Karangturi", "Karangturi", "Sumbang", "Banyumas")
    own = Site("kim-b", "KIM Kebanggan", "Kebanggan", "Sumbang", "Banyumas")
    devices = {d.id: d for d in (
        Device("a-router", "kim-a", Role.ROUTER, "10.20.1.1", (Source.PING,), Owner.PEMDA),
        Device("a-ap", "kim-a", Role.AP, "10.20.1.2", (Source.PING,), Owner.PEMDA),
        Device("a-sw", "kim-a", Role.SWITCH, "10.20.1.3", (Source.PING,), Owner.PEMDA),
        Device("b-router", "kim-b", Role.ROUTER, "127.0.0.1", (Source.PING,), Owner.PEMDA),
    )}
    agents = AgentsSettings(
        broker=AgentBroker(prefix=prefix, client_id=client_id or f"netmon-office-{secrets.token_hex(4)}"),
        agents=(Agent(AGENT, ("kim-a",), silent_after_s=180.0),), late_after_s=300.0)
    return Config(sites={"kim-a": served, "kim-b": own}, devices=devices, agents=agents,
                  storage=StorageConfig(database_url=database_url, data_dir=str(data_dir)))


@dataclass
class PlayedAgent:
    """What a site agent sends, numbered as its outbox would number it."""

    prefix: str
    agent: str = AGENT
    seq: int = 0
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def result(self, device: str, at: float, *, ok: bool = True) -> tuple[str, bytes]:
        self.seq += 1
        samples = (Sample("netmon_device_up", 1.0),) if ok else ()
        result = PollResult(device, Source.PING, at, 0.05, samples=samples,
                            error=None if ok else DeviceUnreachable("no reply to ping"))
        message = (wire.result_topic(self.prefix, self.agent), wire.encode(self.agent, self.seq, result))
        self.sent.append(message)
        return message

    def status(self, at: float, *, online: bool = True, depth: int = 0, oldest_at: float | None = None,
               dropped: list[dict[str, float]] | None = None) -> tuple[str, bytes]:
        body = {"v": 1, "agent": self.agent, "at": at, "online": online, "last_seq": self.seq,
                "backlog": {"depth": depth, "oldest_at": oldest_at}, "dropped": dropped or []}
        return f"{self.prefix}/agent/{self.agent}/status", json.dumps(body).encode()

    def minute(self, at: float, down: set[str] = frozenset()) -> list[tuple[str, bytes]]:  # type: ignore[assignment]
        """One poll of every device of the site at `at`; the devices in `down` do not answer."""
        return [self.result(d, at, ok=d not in down) for d in ("a-router", "a-ap", "a-sw")]
