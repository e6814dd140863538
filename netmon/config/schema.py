"""The configuration file's schema (pydantic). Keys are snake_case, durations end in `_s`, unknown keys
are errors. `netmon config-schema` prints the JSON Schema of `ConfigFile` for editor completion."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator

from netmon.config.address import check_address
from netmon.config.agents import AgentsConfig
from netmon.config.alerting import AlertsConfig
from netmon.config.assets import ConditionRules
from netmon.config.base import SecretRef, Strict
from netmon.config.report import ReportConfig
from netmon.model import Owner, Role, Source, TimeZone

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


def _zone(value: Any) -> Any:
    return TimeZone.parse(value) if isinstance(value, str) else value


# Asia/Jakarta, Asia/Makassar, Asia/Jayapura, or WIB / WITA / WIT
TimeZoneName = Annotated[TimeZone, BeforeValidator(_zone), WithJsonSchema(
    {"type": "string", "enum": [z.value for z in TimeZone] + [z.name for z in TimeZone]})]


class SnmpV2cCredential(Strict):
    community: SecretRef


class SnmpV3Credential(Strict):
    user: str
    auth_protocol: Literal["sha", "sha256"] | None = None
    auth_key: SecretRef | None = None
    priv_protocol: Literal["aes128", "aes256", "aes256-reeder"] | None = None
    priv_key: SecretRef | None = None

    @model_validator(mode="after")
    def _levels(self) -> SnmpV3Credential:
        if (self.auth_protocol is None) != (self.auth_key is None):
            raise ValueError("auth_protocol and auth_key go together")
        if (self.priv_protocol is None) != (self.priv_key is None):
            raise ValueError("priv_protocol and priv_key go together")
        if self.priv_protocol and not self.auth_protocol:
            raise ValueError("privacy (priv_*) needs authentication (auth_*) too")
        return self


class RouterOsCredential(Strict):
    user: str
    password: SecretRef


class Credential(Strict):
    snmp_v2c: SnmpV2cCredential | None = None
    snmp_v3: SnmpV3Credential | None = None
    routeros: RouterOsCredential | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Credential:
        if sum(x is not None for x in (self.snmp_v2c, self.snmp_v3, self.routeros)) != 1:
            raise ValueError("a credential is exactly one of: snmp_v2c, snmp_v3, routeros")
        return self

    @property
    def kind(self) -> str:
        return "snmp_v2c" if self.snmp_v2c else "snmp_v3" if self.snmp_v3 else "routeros"


class Contact(Strict):
    name: str
    phone: str | None = None
    email: str | None = None


class SiteConfig(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    desa: str = Field(description="Desa or kelurahan")
    kecamatan: str
    kabupaten: str
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    kim_contact: Contact | None = None


class KabupatenConfig(Strict):
    """Facts about a kabupaten/kota that all its sites share."""

    timezone: TimeZoneName = Field(description="Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)")


class AssetConfig(Strict):
    kode_barang: str | None = None
    nomor_register: str | None = None
    serial: str | None = None
    model: str | None = None
    year_acquired: int | None = Field(default=None, ge=1990, le=2100)
    value_idr: int | None = Field(default=None, ge=0)
    name: str | None = Field(default=None, description="KIB B Nama / Jenis Barang")
    size: str | None = Field(default=None, description="KIB B Ukuran")
    material: str | None = Field(default=None, description="KIB B Bahan")
    origin: str | None = Field(default=None, description="KIB B Asal-usul / Cara Perolehan")
    remarks: str | None = Field(default=None, description="KIB B Keterangan")
    unit: str | None = Field(default=None, description="OPD / unit kerja holding the asset")


class AssetsConfig(Strict):
    """`assets:`. `register` (any file; what `netmon assets import` writes): KIB B entries by device id, each
    field given replacing that field of the device's own `asset:`. `condition` (main file only): the rules of
    the suggested condition (docs/assets.md)."""

    entries: dict[str, AssetConfig] = Field(default={}, alias="register", description="KIB B register entries "
                                            "by device id; a field given here replaces the device's `asset:` one")
    condition: ConditionRules | None = None


class SnmpOptions(Strict):
    port: int | None = Field(default=None, ge=1, le=65535)
    timeout_s: float | None = Field(default=None, gt=0, le=60)
    retries: int | None = Field(default=None, ge=0, le=10)
    max_repetitions: int | None = Field(default=None, ge=1, le=200)
    rediscover_s: float | None = Field(default=None, ge=60, description="Re-read static facts after this, "
                                       "at a stable point between 1x and 1.25x per device (spreads the load)")


class RouterOsOptions(Strict):
    port: int | None = Field(default=None, ge=1, le=65535, description="8728, or 8729 with tls")
    tls: bool | None = Field(default=None, description="API-SSL")
    tls_verify: bool | None = Field(default=None, description="Verify the router's certificate")
    tls_ca_file: str | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=120)


class PushOptions(Strict):
    """`push:` of a device with `sources: [push]` (docs/push.md)."""

    token: SecretRef = Field(description="The token the router's script sends as `Authorization: Bearer`")
    tolerance_s: float = Field(default=30, ge=0, le=3600, description="How late a push may be before it counts "
                               "as missed (one failed poll)")
    max_skew_s: float = Field(default=300, ge=1, le=86400, description="The router's clock is used for the "
                              "sample time while it is this close to ours")
    max_per_minute: int | None = Field(default=None, ge=1, le=600, description="Pushes accepted a minute "
                                       "(default: max(6, 2 per interval)); more are answered 429")


class DeviceConfig(Strict):
    id: str = Field(pattern=ID_PATTERN)
    site: str
    role: Role
    address: Annotated[str, AfterValidator(check_address)] = Field(
        description="IPv4 or IPv6 address, or host name")
    sources: list[Source] | None = None
    profile: str | None = None
    owner: Owner | None = None
    credential: str | None = Field(default=None, description="SNMP credential")
    routeros_credential: str | None = Field(default=None, description="RouterOS API credential")
    parent: str | None = None
    interval_s: float | None = Field(default=None, ge=5, le=3600)
    snmp: SnmpOptions | None = None
    routeros: RouterOsOptions | None = None
    push: PushOptions | None = None
    asset: AssetConfig = AssetConfig()


class Defaults(Strict):
    interval_s: float = Field(default=60, ge=5, le=3600)
    owner: Owner = Owner.PEMDA
    sources: list[Source] = [Source.SNMP]
    credential: str | None = None
    routeros_credential: str | None = None
    snmp: SnmpOptions = SnmpOptions()
    routeros: RouterOsOptions = RouterOsOptions()


class MaintenanceConfig(Strict):
    """A maintenance window. A time without an offset is local time at each device it covers (its site's
    zone: 02:00 is 02:00 WIB in Jawa and 02:00 WITA in Bali); a time with an offset is that instant."""

    name: str
    start: datetime
    end: datetime | None = None
    duration_s: float | None = Field(default=None, gt=0)
    every: Literal["day", "week"] | None = Field(default=None, description="Repeat daily or weekly")
    devices: list[str] = []
    sites: list[str] = []
    kecamatan: list[str] = []

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceConfig:
        if (self.end is None) == (self.duration_s is None):
            raise ValueError("give exactly one of `end` or `duration_s`")
        if self.end is not None and (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give `start` and `end` both an offset (+08:00) or neither (local time)")
        if not (self.devices or self.sites or self.kecamatan):
            raise ValueError("a window needs at least one of devices, sites, kecamatan")
        return self


class StateConfig(Strict):
    down_after_failures: int = Field(default=3, ge=1, le=100)
    down_after_s: float = Field(default=180, gt=0)
    up_after_successes: int = Field(default=2, ge=1, le=100)


class StorageConfig(Strict):
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir. "
                                     "NETMON_DATABASE_URL overrides it")
    data_dir: str = Field(default="./netmon-data", description="Where SQLite and the write spool live")
    rollup_retention_days: int = Field(default=760, ge=1, description="Hourly rollups kept (25 months)")
    queue_max: int = Field(default=10000, ge=100, description="Writes held in memory before spilling to disk")


class ExporterConfig(Strict):
    listen: str = "127.0.0.1"
    port: int = Field(default=9877, ge=0, le=65535)
    web_config_file: str | None = Field(default=None, description="A Prometheus-style web config (TLS, basic "
                                        "auth); relative to the main config file")


class SchedulerConfig(Strict):
    max_in_flight: int = Field(default=256, ge=1, le=100000)
    jitter_s: float = Field(default=5, ge=0, description="Random start offset per cycle, spread over devices")
    poll_deadline_s: float = Field(default=30, gt=0, description="Whole-poll deadline per device")
    workers: int = Field(default=1, ge=1, le=64,
                         description="SNMP poller processes; 1 polls in the daemon's own event loop")
    routeros_threads: int = Field(default=32, ge=1, le=1024,
                                  description="Threads for blocking RouterOS API calls (a hung router holds one)")


class ClusterConfig(Strict):
    """Several nodes on one PostgreSQL (docs/deploy.md, "Several nodes"): who is alive, who polls what, who leads."""

    node_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                                description="Unique among the nodes (a restarted node keeps its own); default "
                                "the host name. NETMON_NODE_ID overrides it")
    heartbeat_s: float = Field(default=5, gt=0, description="How often a node says it is alive and reshares")
    dead_after_s: float = Field(default=15, gt=0, description="A node not heard for this long is dead: its "
                                "devices move to the others")
    lease_ttl_s: float = Field(default=15, gt=0, description="The leader lease; a dead leader is replaced after it")
    lease_margin_s: float = Field(default=3, gt=0, description="The leader stops acting this long before its "
                                  "lease ends (by its own clock)")

    @model_validator(mode="after")
    def _timing(self) -> ClusterConfig:
        if self.lease_margin_s >= self.lease_ttl_s:
            raise ValueError("lease_margin_s must be below lease_ttl_s")
        if self.heartbeat_s >= self.lease_ttl_s - self.lease_margin_s:
            raise ValueError("heartbeat_s must be below lease_ttl_s - lease_margin_s, or the leader cannot renew")
        if self.dead_after_s <= self.heartbeat_s:
            raise ValueError("dead_after_s must be above heartbeat_s, or live nodes look dead between heartbeats")
        return self


class ConfigFile(Strict):
    """One YAML file. The main file may set everything; included files add sites, devices, credentials."""

    include: list[str] = []
    timezone: TimeZoneName | None = Field(default=None, description="Zone of sites whose kabupaten sets none "
                                          "(default Asia/Jakarta, WIB)")
    defaults: Defaults | None = None
    exporter: ExporterConfig | None = None
    scheduler: SchedulerConfig | None = None
    state: StateConfig | None = None
    storage: StorageConfig | None = None
    alerts: AlertsConfig | None = None
    report: ReportConfig | None = None
    agents: AgentsConfig | None = Field(default=None, description="Site agents (issue #14) and the broker the "
                                        "office reads them from (main file only)")
    cluster: ClusterConfig | None = Field(default=None, description="Several nodes on one PostgreSQL (issue "
                                          "#16; main file only)")
    credentials: dict[str, Credential] = {}
    kabupaten: dict[str, KabupatenConfig] = Field(default={}, description="By the name sites give in "
                                                  "`kabupaten`")
    sites: list[SiteConfig] = []
    devices: list[DeviceConfig] = []
    maintenance: list[MaintenanceConfig] = []
    assets: AssetsConfig | None = Field(default=None, description="Asset register entries (`register`, any "
                                        "file) and condition rules (`condition`, the main file only)")
