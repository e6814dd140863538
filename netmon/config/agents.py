"""`agents:` in the office's config (issue #14): the site agents that poll sites the office cannot reach, and how
the office reaches the broker they publish to.

    agents:
      broker: {host: mqtt.kominfo.example, port: 8883, tls: true, ca_file: ca.pem, username: netmon-office,
               password: {env: NETMON_MQTT_OFFICE}, client_id: netmon-office, prefix: netmon}
      silent_after_s: null        # default: 3 x the longest interval of the agent's devices (at least 180 s)
      late_after_s: 300           # an agent whose newest result is older than this is catching up (no alerts)
      list:
        - id: kec-sumbang-1
          sites: [kim-karangturi, kim-kebanggan]
          username: agent-kec-sumbang-1          # its own broker login (docs, ACL), never used by the office
          password: {file: secrets/agent-kec-sumbang-1}

The devices of a served site are polled by the agent, not by the office (`Config.polled_devices`). The
agents' own passwords are secret references kept for the docs and the ACL; the office never reads them.
Only the office's `broker.password` is resolved (when secrets are).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from netmon.config.base import SecretRef, Strict
from netmon.errors import ConfigError
from netmon.model import Device, Secret

AGENT_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"  # also an MQTT topic level: no '/', '+', '#'
MIN_SILENT_S = 180.0


class AgentBrokerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    ca_file: str | None = Field(default=None, description="CA bundle for the broker's certificate (tls)")
    username: str | None = None
    password: SecretRef | None = None
    client_id: str = Field(default="netmon-office", description="Fixed: the broker keeps the office's session "
                           "(and queues agent results for it) under this id")
    prefix: str = Field(default="netmon", pattern=r"^[^#+]+$")
    keepalive_s: int = Field(default=30, ge=5, le=3600)


class AgentDeclaration(Strict):
    id: str = Field(pattern=AGENT_ID_PATTERN)
    sites: list[str] = Field(min_length=1)
    username: str | None = Field(default=None, description="The agent's broker login (for the ACL)")
    password: SecretRef | None = Field(default=None, description="The agent's broker password (docs, ACL; "
                                       "the office never reads it)")
    client_cert: str | None = Field(default=None, description="Or the agent's client certificate (its CN)")


class AgentsConfig(Strict):
    broker: AgentBrokerConfig = AgentBrokerConfig()
    silent_after_s: float | None = Field(default=None, gt=0, description="An agent not heard this long is "
                                         "silent; default 3 x the longest interval of its devices, >= 180 s")
    late_after_s: float = Field(default=300, gt=0, description="An agent whose newest result is older than "
                                "this is catching up: its news goes to history, not to alerts")
    entries: list[AgentDeclaration] = Field(default=[], alias="list")


@dataclass(frozen=True, slots=True)
class AgentBroker:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password: Secret | None = None
    client_id: str = "netmon-office"
    prefix: str = "netmon"
    keepalive_s: int = 30


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    sites: tuple[str, ...]
    silent_after_s: float
    username: str | None = None
    password_ref: str | None = None  # where the agent's password lives ("env NAME" / "file PATH"), never the value
    client_cert: str | None = None


@dataclass(frozen=True, slots=True)
class AgentsSettings:
    broker: AgentBroker = field(default_factory=AgentBroker)
    agents: tuple[Agent, ...] = ()
    late_after_s: float = 300.0

    def site_agent(self) -> dict[str, str]:
        """site -> the agent that serves it."""
        return {site: a.id for a in self.agents for site in a.sites}

    def device_agent(self, devices: Mapping[str, Device]) -> dict[str, str]:
        """device -> the agent that polls it (devices of served sites)."""
        served = self.site_agent()
        return {d.id: served[d.site] for d in devices.values() if d.site in served}


Locate = tuple[str, int | None]  # (file, line)


def agents_settings(section: AgentsConfig | None, devices: Mapping[str, Device], sites: Mapping[str, Any],
                    where: Any, secret: Any) -> AgentsSettings:
    """Validate `agents:` against the inventory. `where(path)` gives (file, line) of a key path under
    `agents`; `secret(ref, key)` resolves the office's broker password (or returns None when secrets are not
    resolved). Raises ConfigError naming file, line and key."""
    if section is None:
        return AgentsSettings()
    served: dict[str, str] = {}
    agents: list[Agent] = []
    seen: set[str] = set()
    for i, entry in enumerate(section.entries):
        key = f"agents.list[{i}]"
        if entry.id in seen:
            file, line = where(("list", i, "id"))
            raise ConfigError(f"agent {entry.id!r} is declared twice", file=file, line=line, key=f"{key}.id")
        seen.add(entry.id)
        for j, site in enumerate(entry.sites):
            file, line = where(("list", i, "sites", j))
            if site not in sites:
                raise ConfigError(f"unknown site {site!r}", file=file, line=line, key=f"{key}.sites[{j}]")
            if site in served:
                raise ConfigError(f"site {site!r} is already served by agent {served[site]!r}; a site has one "
                                  "agent", file=file, line=line, key=f"{key}.sites[{j}]")
            served[site] = entry.id
        agents.append(_agent(entry, section, devices))
    broker = section.broker
    password = secret(broker.password, "agents.broker.password") if broker.password is not None else None
    return AgentsSettings(
        broker=AgentBroker(host=broker.host, port=broker.port, tls=broker.tls, ca_file=broker.ca_file,
                           username=broker.username, password=password, client_id=broker.client_id,
                           prefix=broker.prefix, keepalive_s=broker.keepalive_s),
        agents=tuple(agents), late_after_s=section.late_after_s)


def _agent(entry: AgentDeclaration, section: AgentsConfig, devices: Mapping[str, Device]) -> Agent:
    intervals = [d.interval_s for d in devices.values() if d.site in entry.sites]
    silent = section.silent_after_s or max(MIN_SILENT_S, 3 * max(intervals, default=60.0))
    ref = entry.password
    where = None if ref is None else (f"env {ref.env}" if ref.env else f"file {ref.file}")
    return Agent(entry.id, tuple(entry.sites), silent, entry.username, where, entry.client_cert)
