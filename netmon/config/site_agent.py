"""A site agent's configuration (`netmon agent --config site.yaml`, docs/agent.md): a slice of the office's config
(`sites`, `devices`, `credentials`, `defaults`, `kabupaten`, `scheduler`, `include`: the same schema, the same
loader, the same file:line:key errors) plus an `agent:` section: who the agent is, the broker it sends to, its
outbox and its pacing. Office-only sections (alerts, storage, exporter, state, maintenance, report, assets, and
`agents:`, the office's list of agents) are errors here. Relative paths are relative to the config file.
Secrets are references (env/file), as everywhere.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, model_validator

from netmon.config.base import SecretRef, Strict
from netmon.config.loader import Config, Path_, _Origin, read_config, read_secret
from netmon.config.schema import ID_PATTERN, ConfigFile
from netmon.errors import ConfigError
from netmon.model import Secret

OFFICE_ONLY = ("alerts", "storage", "exporter", "state", "maintenance", "report", "assets", "agents", "cluster")
TOPIC_PREFIX = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"  # MQTT topic levels, no wildcards, no empty level
MIB = 1024 * 1024


class BrokerConfig(Strict):
    host: str = Field(min_length=1)
    port: int = Field(default=8883, ge=1, le=65535, description="8883 for MQTT over TLS, 1883 without")
    tls: bool = True
    ca_file: str | None = Field(default=None, description="The CA that signed the broker's certificate (PEM); "
                                "default: the system's trust store")
    username: str | None = None
    password: SecretRef | None = None
    cert_file: str | None = Field(default=None, description="Client certificate (PEM), with key_file")
    key_file: str | None = None
    keepalive_s: int = Field(default=60, ge=5, le=3600)
    timeout_s: float = Field(default=15, gt=0, le=120, description="CONNACK and each PUBACK")

    @model_validator(mode="after")
    def _pairs(self) -> BrokerConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if not self.tls and (self.cert_file or self.ca_file):
            raise ValueError("ca_file, cert_file and key_file need tls: true")
        return self


class OutboxConfig(Strict):
    path: str = Field(default="./netmon-agent/outbox.sqlite", description="The SQLite file of the outbox")
    max_bytes: int = Field(default=256 * MIB, ge=MIB, description="Bound on the results waiting (their size)")
    max_age_s: float = Field(default=7 * 86400.0, ge=3600, description="Bound on their age (7 days)")
    send_rate_per_s: float = Field(default=20, gt=0, le=10000, description=(
        "At most this many results a second to the broker: a backlog drains at this pace, held in the outbox "
        "rather than at the broker ahead of other agents' live results (a day of 30 devices: ~36 min)"))


class BackoffConfig(Strict):
    initial_s: float = Field(default=2, gt=0, description="First reconnect delay; doubles per failure")
    max_s: float = Field(default=300, gt=0, description="Longest reconnect delay")

    @model_validator(mode="after")
    def _order(self) -> BackoffConfig:
        if self.max_s < self.initial_s:
            raise ValueError("max_s must be at least initial_s")
        return self


class AgentMetricsConfig(Strict):
    listen: str = "127.0.0.1"
    port: int = Field(default=9878, ge=0, le=65535)


class AgentSection(Strict):
    id: str = Field(pattern=ID_PATTERN, description="The agent's name, as the office's config declares it")
    prefix: str = Field(default="netmon", pattern=TOPIC_PREFIX, description="Topics live under "
                        "{prefix}/agent/{id}/")
    broker: BrokerConfig
    outbox: OutboxConfig = OutboxConfig()
    boot_delay_max_s: float = Field(default=120, ge=0, le=3600, description="First connection after a random "
                                    "delay up to this (a kabupaten back from a blackout does not arrive at once)")
    backoff: BackoffConfig = BackoffConfig()
    status_interval_s: float = Field(default=60, gt=0, le=3600)
    metrics: AgentMetricsConfig | None = Field(default=None, description="/metrics of the agent (its outbox)")


class SiteAgentFile(ConfigFile):
    """A site agent's main file: the office's schema plus `agent:`."""

    agent: AgentSection | None = None


@dataclass(frozen=True)
class SiteAgentConfig:
    config: Config  # sites, devices (credentials resolved), scheduler
    agent: AgentSection  # file paths made absolute
    broker_password: Secret | None


def load_site_config(path: str | Path, *, resolve_secrets: bool = True) -> SiteAgentConfig:
    """Read a site agent's config; ConfigError (file, line, key) when it is not one."""
    config, main, lines = read_config(path, resolve_secrets=resolve_secrets, schema=SiteAgentFile,
                                      check_main=lambda parsed, index: _check_main(path, parsed, index))
    assert isinstance(main, SiteAgentFile) and main.agent is not None
    file = str(path)
    base = Path(path).resolve().parent
    agent = _absolute(main.agent, base)
    password: Secret | None = None
    if resolve_secrets and agent.broker.password is not None:
        origin = _Origin(file, lines.get(("agent", "broker", "password")))
        password = read_secret(agent.broker.password, origin, "agent.broker.password")
    if resolve_secrets:
        _check_tls_files(agent.broker, file, lines)
    if not config.devices:
        raise ConfigError("the agent has no devices to poll", file=file, line=lines.get(("devices",)), key="devices")
    return SiteAgentConfig(config, agent, password)


def _check_main(path: str | Path, parsed: ConfigFile, lines: dict[Path_, int]) -> None:
    for key in OFFICE_ONLY:
        if getattr(parsed, key):
            raise ConfigError(f"`{key}` belongs in the office's config, not a site agent's", file=str(path),
                              line=lines.get((key,)), key=key)
    if not isinstance(parsed, SiteAgentFile) or parsed.agent is None:
        raise ConfigError("a site agent's config needs an `agent:` section (id, broker, ...)", file=str(path),
                          line=1, key="agent")


def _absolute(agent: AgentSection, base: Path) -> AgentSection:
    def full(name: str | None) -> str | None:
        return None if name is None else str(base / Path(name).expanduser())

    broker = agent.broker.model_copy(update={"ca_file": full(agent.broker.ca_file),
                                             "cert_file": full(agent.broker.cert_file),
                                             "key_file": full(agent.broker.key_file)})
    outbox = agent.outbox.model_copy(update={"path": full(agent.outbox.path)})
    return agent.model_copy(update={"broker": broker, "outbox": outbox})


def _check_tls_files(broker: BrokerConfig, file: str, lines: dict[Path_, int]) -> None:
    """The CA, the client certificate and its key load (and belong together), offline."""
    if not broker.tls:
        return
    key = "ca_file"
    try:
        context = ssl.create_default_context(cafile=broker.ca_file)
        if broker.cert_file is not None:
            key = "cert_file"
            context.load_cert_chain(broker.cert_file, broker.key_file)
    except (OSError, ssl.SSLError) as exc:
        what = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
        raise ConfigError(f"cannot load {getattr(broker, key)}: {what}", file=file,
                          line=lines.get(("agent", "broker", key)), key=f"agent.broker.{key}") from None
