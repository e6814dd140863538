"""Load the YAML configuration: includes, validation with file/line/key in every error, cross-references,
secret resolution, and conversion into the core records of `netmon.model`."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from netmon.config.agents import AgentsSettings, agents_settings
from netmon.config.alerting import AlertsConfig, AlertSettings
from netmon.config.assets import ConditionRules
from netmon.config.report import ReportConfig
from netmon.config.schema import (
    AssetConfig,
    ClusterConfig,
    ConfigFile,
    Credential,
    Defaults,
    DeviceConfig,
    ExporterConfig,
    KabupatenConfig,
    MaintenanceConfig,
    PushOptions,
    SchedulerConfig,
    SecretRef,
    SiteConfig,
    StateConfig,
    StorageConfig,
)
from netmon.errors import ConfigError
from netmon.model import (
    DEFAULT_TIMEZONE,
    AssetRecord,
    Contact,
    Device,
    MaintenanceWindow,
    PushSettings,
    RouterOsSettings,
    Secret,
    Site,
    SnmpAuth,
    SnmpSettings,
    SnmpV2cAuth,
    SnmpV3Auth,
    Source,
    StatePolicy,
    TimeZone,
)

Path_ = tuple[str | int, ...]
MIN_PUSH_TOKEN = 16
MAIN_ONLY = ("timezone", "defaults", "exporter", "scheduler", "state", "storage", "alerts", "report", "agents",
             "cluster")


@dataclass(frozen=True)
class Config:
    sites: dict[str, Site]
    devices: dict[str, Device]
    exporter: ExporterConfig = field(default_factory=ExporterConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    files: tuple[str, ...] = ()
    credential_kinds: dict[str, str] = field(default_factory=dict)
    state: StatePolicy = field(default_factory=StatePolicy)
    storage: StorageConfig = field(default_factory=StorageConfig)
    maintenance: tuple[MaintenanceWindow, ...] = ()
    alerts: AlertSettings = field(default_factory=AlertSettings)
    report: ReportConfig = field(default_factory=ReportConfig)
    report_secrets: dict[str, Secret] = field(default_factory=dict)  # "schedule.mail.password"
    timezone: TimeZone = DEFAULT_TIMEZONE  # the default; each site carries its own effective zone
    asset_rules: ConditionRules = field(default_factory=ConditionRules)  # assets.condition
    agents: AgentsSettings = field(default_factory=AgentsSettings)  # site agents (netmon.config.agents)
    cluster: ClusterConfig | None = None  # several nodes on one PostgreSQL (netmon.cluster)
    cluster_line: int | None = None  # where `cluster:` is in the main file (errors found at start name it)

    def polled_devices(self) -> dict[str, Device]:
        """The devices the office polls itself: all but those of sites a site agent serves."""
        served = self.agents.site_agent()
        return {k: d for k, d in self.devices.items() if d.site not in served}

    def zone_of(self, site: str | None) -> TimeZone:
        """The zone of site `site`, or the default for an unknown or missing site."""
        found = self.sites.get(site or "")
        return found.timezone if found is not None else self.timezone


@dataclass(frozen=True)
class _Origin:
    file: str
    line: int | None
    keys: dict[str, int] = field(default_factory=dict)  # line of each top-level key of the item

    def line_of(self, key: str) -> int | None:
        return self.keys.get(key, self.line)


def _item_origins(file: Path, lines: dict[Path_, int], section: str) -> Callable[[int], _Origin]:
    """Where each item of the top-level list `section` is, and each of its keys: one pass over the line
    index for the whole list (a kabupaten file holds thousands of devices)."""
    keys: dict[str | int, dict[str, int]] = {}
    for p, line in lines.items():
        if len(p) == 3 and p[0] == section:
            keys.setdefault(p[1], {})[str(p[2])] = line
    return lambda index: _Origin(str(file), lines.get((section, index)), keys.get(index, {}))


# libyaml's parser when PyYAML was built with it (the wheels are): ~10x faster on a large inventory
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> tuple[Any, dict[Path_, int]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the file "
                          "as UTF-8", file=str(path), line=raw[:exc.start].count(b"\n") + 1) from exc
    loader = _Loader(text)
    try:  # parse once: the node tree gives the lines, the same tree gives the data
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        # not chained: PyYAML's text quotes the lines around the problem, which may hold an inline secret
        raise ConfigError(f"invalid YAML: {problem}", file=str(path), line=line) from None
    finally:
        loader.dispose()
    if node is None:
        raise ConfigError("the file is empty (no YAML document)", file=str(path), line=1)
    lines: dict[Path_, int] = {}
    duplicate = _index(node, (), lines)
    if duplicate is not None:
        key, line, first = duplicate
        raise ConfigError(f"duplicate key (first at line {first}); YAML keeps only the last one", file=str(path),
                          line=line, key=_key_text(key))
    return data, lines


def _index(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> tuple[Path_, int, int] | None:
    """Index the line of every key and item; returns the first duplicate mapping key found (its path, its
    line and the line of its first occurrence), else None."""
    lines.setdefault(path, node.start_mark.line + 1)
    found: tuple[Path_, int, int] | None = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if (*path, key) in lines and key != "<<" and found is None:
                found = ((*path, key), line, lines[(*path, key)])
            lines[(*path, key)] = line
            found = found or _index(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            found = found or _index(item, (*path, i), lines)
    return found


def _line_for(loc: Path_, lines: dict[Path_, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _key_text(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(path: Path, data: Any, lines: dict[Path_, int], schema: type[ConfigFile] = ConfigFile) -> ConfigFile:
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", file=str(path), line=1)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _document_path(data, first["loc"], missing=first["type"] == "missing")
        more = len(exc.errors()) - 1
        message = first["msg"] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        # not chained: pydantic's text quotes the input values, which may be secrets; `msg` does not
        raise ConfigError(message, file=str(path), line=_line_for(loc, lines), key=_key_text(loc)) from None


def _document_path(data: Any, loc: tuple[Any, ...], *, missing: bool) -> Path_:
    """The part of a pydantic error location that exists in the document (pydantic adds union tags)."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(node, dict) and part in node
        if in_dict or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            path.append(part)
            node = node[part]
        elif last and missing and isinstance(part, str):
            path.append(part)
    return tuple(path)


def _collect(path: Path, seen: list[Path], out: list[tuple[Path, ConfigFile, dict[Path_, int]]],
             main: bool, schema: type[ConfigFile] = ConfigFile) -> None:
    resolved = path.resolve()
    if resolved in seen:
        raise ConfigError("include cycle", file=str(path))
    seen.append(resolved)
    data, lines = _load_yaml(path)
    parsed = _validate(path, data, lines, schema if main else ConfigFile)
    if not main:
        for key in MAIN_ONLY:
            if getattr(parsed, key) is not None:
                raise ConfigError(f"`{key}` may only be set in the main file", file=str(path),
                                  line=lines.get((key,)), key=key)
        if parsed.assets is not None and parsed.assets.condition is not None:
            raise ConfigError("`assets.condition` may only be set in the main file (an included file may hold "
                              "`assets.register`)", file=str(path), line=lines.get(("assets", "condition")),
                              key="assets.condition")
    out.append((path, parsed, lines))
    for i, pattern in enumerate(parsed.include):
        full = str(path.parent / pattern)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        if not matches or not all(Path(m).exists() for m in matches):
            raise ConfigError(f"included file not found: {pattern}", file=str(path),
                              line=lines.get(("include", i)), key=f"include[{i}]")
        for match in matches:
            _collect(Path(match), seen, out, main=False)


def read_secret(ref: SecretRef, origin: _Origin, key: str) -> Secret:
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None or value == "":
            raise ConfigError(f"environment variable {ref.env} is not set", file=origin.file,
                              line=origin.line, key=key)
        return Secret(value)
    assert ref.file is not None
    secret_path = Path(ref.file)
    if not secret_path.is_absolute():
        secret_path = Path(origin.file).parent / secret_path
    try:
        value = secret_path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        raise ConfigError(f"secret file {ref.file} is missing, unreadable or empty", file=origin.file,
                          line=origin.line, key=key) from None
    return Secret(value)


def _resolve_credential(name: str, cred: Credential, origin: _Origin) -> SnmpAuth | tuple[str, Secret]:
    key = f"credentials.{name}"
    if cred.routeros is not None:
        return cred.routeros.user, read_secret(cred.routeros.password, origin, f"{key}.routeros.password")
    if cred.snmp_v2c is not None:
        return SnmpV2cAuth(community=read_secret(cred.snmp_v2c.community, origin, f"{key}.snmp_v2c.community"))
    v3 = cred.snmp_v3
    assert v3 is not None
    return SnmpV3Auth(
        user=v3.user,
        auth_protocol=v3.auth_protocol,
        auth_key=read_secret(v3.auth_key, origin, f"{key}.snmp_v3.auth_key") if v3.auth_key else None,
        priv_protocol=v3.priv_protocol,
        priv_key=read_secret(v3.priv_key, origin, f"{key}.snmp_v3.priv_key") if v3.priv_key else None,
    )


_Files = list[tuple[Path, ConfigFile, dict[Path_, int]]]


@dataclass
class _Sections:
    """The named items of the main file and its includes, merged, each with where it was written."""

    credentials: dict[str, tuple[Credential, _Origin]] = field(default_factory=dict)
    kabupaten: dict[str, tuple[KabupatenConfig, _Origin]] = field(default_factory=dict)
    sites: dict[str, tuple[SiteConfig, _Origin]] = field(default_factory=dict)
    devices: dict[str, tuple[DeviceConfig, _Origin]] = field(default_factory=dict)
    register: dict[str, tuple[AssetConfig, _Origin]] = field(default_factory=dict)  # assets.register entries


def load_config(path: str | Path, *, resolve_secrets: bool = True) -> Config:
    """Read `path` and its includes. Raises ConfigError naming file, line and key."""
    return read_config(path, resolve_secrets=resolve_secrets)[0]


def read_config(path: str | Path, *, resolve_secrets: bool = True, schema: type[ConfigFile] = ConfigFile,
                check_main: Callable[[ConfigFile, dict[Path_, int]], None] | None = None,
                ) -> tuple[Config, ConfigFile, dict[Path_, int]]:
    """`load_config` with the main file validated by `schema` (a ConfigFile with more keys: a site agent's
    config), checked by `check_main(parsed, lines)` before anything is resolved; returns the Config, the main
    file as parsed and its line index (key path -> line)."""
    files: _Files = []
    _collect(Path(path), [], files, main=True, schema=schema)
    if check_main is not None:
        check_main(files[0][1], files[0][2])
    main = files[0][1]
    defaults = main.defaults or Defaults()
    default_zone = main.timezone or DEFAULT_TIMEZONE
    found = _gather(files)
    credentials, sites, devices, register = found.credentials, found.sites, found.devices, found.register

    auths: dict[str, SnmpAuth | tuple[str, Secret]] = {}
    if resolve_secrets:
        auths = {name: _resolve_credential(name, cred, origin) for name, (cred, origin) in credentials.items()}

    zones = _kabupaten_zones(found.kabupaten, sites, default_zone)
    site_records = {sid: _site(cfg, zones.get(cfg.kabupaten, default_zone)) for sid, (cfg, _o) in sites.items()}
    windows = _windows(files, site_records, devices)
    _check_parent_cycles(devices)
    _check_register(register, devices)
    device_records: dict[str, Device] = {}
    for did, (dev, origin) in devices.items():
        kept = register.get(did)
        device_records[did] = _device(dev, origin, defaults, sites, devices, credentials, auths,
                                      resolve_secrets, kept[0] if kept else None)
    if resolve_secrets:
        _check_web_config(main.exporter, files[0][0], files[0][2])
    agents = _agents(main, files[0][0], files[0][2], device_records, sites, resolve_secrets)
    _check_cluster(main, agents, device_records, files[0][0], files[0][2].get(("cluster",)))
    config = Config(
        sites=site_records,
        devices=device_records,
        exporter=main.exporter or ExporterConfig(),
        scheduler=main.scheduler or SchedulerConfig(),
        files=tuple(str(p) for p, _c, _l in files),
        credential_kinds={n: c.kind for n, (c, _o) in credentials.items()},
        state=StatePolicy(**(main.state or StateConfig()).model_dump()),
        storage=_storage(main.storage, files[0][0]),
        maintenance=tuple(windows),
        report_secrets=_report_secrets(main.report, main.alerts, site_records, files[0][0], files[0][2],
                                       resolve_secrets),
        alerts=_alerts(main.alerts, _Origin(str(files[0][0]), files[0][2].get(("alerts",))), resolve_secrets),
        timezone=default_zone,
        asset_rules=(main.assets.condition if main.assets else None) or ConditionRules(),
        report=main.report or ReportConfig(),
        agents=agents,
        cluster=main.cluster,
        cluster_line=files[0][2].get(("cluster",)),
    )
    return config, main, files[0][2]


def _check_cluster(main: ConfigFile, agents: AgentsSettings, devices: dict[str, Device], file: Path,
                   line: int | None) -> None:
    """What a cluster cannot do yet (docs/deploy.md, "Several nodes: limits"): site agents, routers that push."""
    if main.cluster is None:
        return
    if agents.site_agent():
        raise ConfigError("site agents are not supported with several nodes yet: run the office on one node "
                          "(remove `cluster`) or the agents' sites on a daemon of their own", file=str(file),
                          line=line, key="cluster")
    pushing = sorted(d.id for d in devices.values() if Source.PUSH in d.sources)
    if pushing:
        raise ConfigError(f"devices that push ({', '.join(pushing[:3])}{', ...' if len(pushing) > 3 else ''}) are "
                          "not supported with several nodes yet: poll them, or run them on a daemon of their own",
                          file=str(file), line=line, key="cluster")


def _agents(main: ConfigFile, file: Path, lines: dict[Path_, int], devices: dict[str, Device],
            sites: dict[str, Any], resolve: bool) -> AgentsSettings:
    """`agents:` checked against the inventory (netmon.config.agents); errors name file, line and key."""
    def where(path: Path_) -> tuple[str, int | None]:
        line = next((lines[("agents", *path[:n])] for n in range(len(path), -1, -1)
                     if ("agents", *path[:n]) in lines), None)
        return str(file), line

    def secret(ref: SecretRef, key: str) -> Secret | None:
        return read_secret(ref, _Origin(str(file), lines.get(("agents", "broker", "password"))), key) \
            if resolve else None

    return agents_settings(main.agents, devices, sites, where, secret)


def _gather(files: _Files) -> _Sections:
    """Credentials, kabupaten, sites and devices of every file; a name or id given twice is an error."""
    found = _Sections()
    for file_path, parsed, lines in files:
        for name, cred in parsed.credentials.items():
            origin = _Origin(str(file_path), lines.get(("credentials", name)))
            if name in found.credentials:
                raise ConfigError(f"credential {name!r} is defined twice", file=origin.file, line=origin.line,
                                  key=f"credentials.{name}")
            found.credentials[name] = (cred, origin)
        for name, kab in parsed.kabupaten.items():
            origin = _Origin(str(file_path), lines.get(("kabupaten", name)))
            if name in found.kabupaten:
                first = found.kabupaten[name][1]
                raise ConfigError(f"kabupaten {name!r} is described twice (first at {first.file}:{first.line})",
                                  file=origin.file, line=origin.line, key=f"kabupaten.{name}")
            found.kabupaten[name] = (kab, origin)
        site_origin = _item_origins(file_path, lines, "sites")
        for i, site in enumerate(parsed.sites):
            _add_unique(found.sites, "site", i, site.id, site, site_origin(i))
        device_origin = _item_origins(file_path, lines, "devices")
        for i, dev in enumerate(parsed.devices):
            _add_unique(found.devices, "device", i, dev.id, dev, device_origin(i))
        _gather_register(found.register, file_path, parsed, lines)
    return found


def _gather_register(register: dict[str, tuple[AssetConfig, _Origin]], file_path: Path, parsed: ConfigFile,
                     lines: dict[Path_, int]) -> None:
    """The `assets.register` entries of one file; a device's entry given twice is an error."""
    for device_id, entry in (parsed.assets.entries if parsed.assets else {}).items():
        origin = _Origin(str(file_path), lines.get(("assets", "register", device_id)))
        if device_id in register:
            first = register[device_id][1]
            raise ConfigError(f"register entry of {device_id!r} given twice (first at {first.file}:"
                              f"{first.line})", file=origin.file, line=origin.line,
                              key=f"assets.register.{device_id}")
        register[device_id] = (entry, origin)


def _check_register(register: dict[str, tuple[AssetConfig, _Origin]],
                    devices: dict[str, tuple[DeviceConfig, _Origin]]) -> None:
    """Every register entry names a configured device."""
    for device_id, (_entry, origin) in register.items():
        if device_id not in devices:
            raise ConfigError(f"register entry for unknown device {device_id!r}", file=origin.file,
                              line=origin.line, key=f"assets.register.{device_id}")


def _windows(files: _Files, sites: dict[str, Site],
             devices: dict[str, tuple[DeviceConfig, _Origin]]) -> list[MaintenanceWindow]:
    """The maintenance windows of every file, as records."""
    windows: list[MaintenanceWindow] = []
    for file_path, parsed, lines in files:
        window_origin = _item_origins(file_path, lines, "maintenance")
        for i, window in enumerate(parsed.maintenance):
            windows += _window(window, sites, devices, window_origin(i))
    return windows


def _check_web_config(exporter: ExporterConfig | None, main_file: Path, lines: dict[Path_, int]) -> None:
    """The web config file (`exporter.web_config_file`: TLS, basic auth) must load too, where the secrets are
    resolved (the daemon, `check-config`): its errors name that file, line and key; a missing file names the
    key of the main config. Read-only commands serve nothing and skip it."""
    if exporter is None or exporter.web_config_file is None:
        return
    from netmon.config.webconfig import load_web_config, web_config_path  # it imports this module

    path = web_config_path(exporter.web_config_file, main_file)
    if not path.is_file():
        raise ConfigError(f"no such file: {path}", file=str(main_file),
                          line=lines.get(("exporter", "web_config_file")), key="exporter.web_config_file")
    load_web_config(path)


def _storage(section: StorageConfig | None, main_file: Path) -> StorageConfig:
    """`storage:` with a relative `data_dir` (the default `./netmon-data` too) made absolute against the main
    config file's directory: the daemon and the read-only commands find the same database from any working
    directory."""
    storage = section or StorageConfig()
    data_dir = Path(storage.data_dir).expanduser()
    if not data_dir.is_absolute():
        data_dir = main_file.resolve().parent / data_dir
    return storage.model_copy(update={"data_dir": str(data_dir)})


def _check_parent_cycles(devices: dict[str, tuple[DeviceConfig, _Origin]]) -> None:
    """A device may not be its own ancestor (a -> b -> a): cause analysis walks parents up to the root."""
    for start, (dev, origin) in devices.items():
        chain = [start]
        parent = dev.parent
        while parent is not None and parent in devices and parent not in chain:
            chain.append(parent)
            parent = devices[parent][0].parent
        if parent == start and len(chain) > 1:
            raise ConfigError(f"parent cycle: {' -> '.join([*chain, start])}", file=origin.file,
                              line=origin.line_of("parent"), key=f"devices[{start}].parent")


def _kabupaten_zones(kabupaten: dict[str, tuple[KabupatenConfig, _Origin]],
                     sites: dict[str, tuple[SiteConfig, _Origin]], default: TimeZone) -> dict[str, TimeZone]:
    """Zone by kabupaten name. A described kabupaten that no site names is an error: most likely a spelling
    that differs from the sites' (whose devices would then silently keep the default zone)."""
    named = {cfg.kabupaten for cfg, _o in sites.values()}
    for name, (_kab, origin) in kabupaten.items():
        if name not in named:
            known = ", ".join(repr(n) for n in sorted(named)[:5]) or "none"
            raise ConfigError(f"no site is in kabupaten {name!r} (sites name: {known}); the name must be "
                              "written as the sites write it", file=origin.file, line=origin.line,
                              key=f"kabupaten.{name}")
    return {name: kab.timezone for name, (kab, _o) in kabupaten.items()}


def _add_unique(table: dict[str, tuple[Any, _Origin]], kind: str, index: int, item_id: str, item: Any,
                origin: _Origin) -> None:
    if item_id in table:
        first = table[item_id][1]
        raise ConfigError(f"duplicate {kind} id {item_id!r} (first at {first.file}:{first.line})",
                          file=origin.file, line=origin.line_of("id"), key=f"{kind}s[{index}].id")
    table[item_id] = (item, origin)


def _window(cfg: MaintenanceConfig, sites: dict[str, Site], devices: dict[str, tuple[DeviceConfig, _Origin]],
            origin: _Origin) -> list[MaintenanceWindow]:
    """The window as records: one with `zone` None when its times carry an offset, else one per zone of
    the sites it covers, each holding that zone's instants (02:00 local is 02:00 WIB in Jawa, WITA in Bali)."""
    for key, known in (("devices", devices), ("sites", sites)):
        for name in getattr(cfg, key):
            if name not in known:
                raise ConfigError(f"unknown {key[:-1]} {name!r}", file=origin.file, line=origin.line_of(key),
                                  key=f"maintenance[{cfg.name}].{key}")
    if cfg.end is not None and cfg.end <= cfg.start:
        raise ConfigError("the window ends before it starts", file=origin.file, line=origin.line_of("end"),
                          key=f"maintenance[{cfg.name}]")
    every = {"day": 86400.0, "week": 7 * 86400.0}.get(cfg.every or "")

    def record(zone: TimeZone | None) -> MaintenanceWindow:
        def instant(at: datetime) -> float:
            return (at if zone is None else at.replace(tzinfo=zone.tzinfo)).timestamp()

        start = instant(cfg.start)
        end = instant(cfg.end) if cfg.end is not None else start + (cfg.duration_s or 0)
        return MaintenanceWindow(name=cfg.name, start=start, end=end, every_s=every, devices=frozenset(cfg.devices),
                                 sites=frozenset(cfg.sites), kecamatan=frozenset(cfg.kecamatan), zone=zone)

    if cfg.start.tzinfo is not None:
        return [record(None)]
    covered = set(cfg.sites) | {devices[d][0].site for d in cfg.devices if devices[d][0].site in sites}
    covered |= {s.id for s in sites.values() if s.kecamatan in cfg.kecamatan}
    zones = {sites[s].timezone for s in covered}
    return [record(zone) for zone in TimeZone if zone in zones]


def _alerts(section: AlertsConfig | None, origin: _Origin, resolve: bool) -> AlertSettings:
    if section is None:
        return AlertSettings()
    refs: dict[str, SecretRef | None] = {f"channels.{n}": c.url for n, c in section.channels.items()}
    refs |= {"kim_contact_url": section.kim_contact_url,
             "mail.password": section.tickets.mail.password if section.tickets.mail else None,
             "webhook.secret": section.tickets.webhook.secret if section.tickets.webhook else None,
             "mqtt.password": section.mqtt.password if section.mqtt else None}
    known = set(section.channels)
    for i, route in enumerate(section.routes):
        for name in route.channels:
            if name not in known:
                raise ConfigError(f"unknown channel {name!r}", file=origin.file, line=origin.line,
                                  key=f"alerts.routes[{i}].channels")
    for name in section.escalation.channels:
        if name not in known:
            raise ConfigError(f"unknown channel {name!r}", file=origin.file, line=origin.line,
                              key="alerts.escalation.channels")
    secrets = {key: read_secret(ref, origin, f"alerts.{key}") for key, ref in refs.items()
               if ref is not None and resolve}
    return AlertSettings(section, secrets)


def _report_secrets(section: ReportConfig | None, alerts: AlertsConfig | None, sites: dict[str, Site],
                    main_file: Path, lines: dict[Path_, int], resolve: bool) -> dict[str, Secret]:
    """The scheduled report's SMTP password; checks that the schedule has a mail server (its own or the ticket
    mail's) and that `kabupaten_recipients` names kabupaten the sites use."""
    schedule = section.schedule if section is not None else None
    if schedule is None:
        return {}
    origin = _Origin(str(main_file), lines.get(("report", "schedule")))
    if schedule.mail is None and (alerts is None or alerts.tickets.mail is None):
        raise ConfigError("no mail server: give report.schedule.mail, or alerts.tickets.mail to share its server",
                          file=origin.file, line=origin.line, key="report.schedule.mail")
    known = {s.kabupaten for s in sites.values()}
    for name in schedule.kabupaten_recipients:
        if name not in known:
            raise ConfigError(f"no site is in kabupaten {name!r} (kabupaten: {', '.join(sorted(known)) or 'none'})",
                              file=origin.file, line=lines.get(("report", "schedule", "kabupaten_recipients", name),
                                                               origin.line),
                              key=f"report.schedule.kabupaten_recipients.{name}")
    ref = schedule.mail.password if schedule.mail is not None else None
    if ref is None or not resolve:
        return {}
    return {"schedule.mail.password": read_secret(ref, origin, "report.schedule.mail.password")}


def _site(cfg: SiteConfig, zone: TimeZone) -> Site:
    contact = cfg.kim_contact
    return Site(
        id=cfg.id, name=cfg.name, desa=cfg.desa, kecamatan=cfg.kecamatan, kabupaten=cfg.kabupaten,
        latitude=cfg.latitude, longitude=cfg.longitude,
        kim_contact=Contact(contact.name, contact.phone, contact.email) if contact else None, timezone=zone,
    )


def _device(dev: DeviceConfig, origin: _Origin, defaults: Defaults, sites: dict[str, Any],
            devices: dict[str, Any], credentials: dict[str, Any], auths: dict[str, Any],
            resolve_secrets: bool, register: AssetConfig | None = None) -> Device:
    def fail(message: str, key: str) -> ConfigError:
        return ConfigError(message, file=origin.file, line=origin.line_of(key), key=f"devices[{dev.id}].{key}")

    _check_device_links(dev, sites, devices, fail)

    def credential(key: str, wanted: tuple[str, ...], what: str) -> Any:
        return _credential(getattr(dev, key) or getattr(defaults, key), key, wanted, what, credentials, auths, fail)

    sources = tuple(dev.sources if dev.sources is not None else defaults.sources)
    snmp: SnmpSettings | None = None
    routeros: RouterOsSettings | None = None
    if Source.SNMP in sources:
        auth = credential("credential", ("snmp_v2c", "snmp_v3"), "snmp")
        snmp = SnmpSettings(auth=auth or SnmpV2cAuth(Secret("")), **_options(defaults.snmp, dev.snmp))
    if Source.ROUTEROS in sources:
        user, password = credential("routeros_credential", ("routeros",), "routeros") or ("", Secret(""))
        routeros = RouterOsSettings(user=user, password=password, **_options(defaults.routeros, dev.routeros))
    push = _push(dev.push, Source.PUSH in sources, origin, f"devices[{dev.id}].push", resolve_secrets, fail)
    asset = dev.asset.model_dump()
    if register is not None:  # the register entry's fields replace the device's own
        asset |= register.model_dump(exclude_none=True)
    return Device(
        id=dev.id, site=dev.site, role=dev.role, address=dev.address, sources=sources,
        owner=dev.owner or defaults.owner, profile=dev.profile, parent=dev.parent,
        interval_s=dev.interval_s or defaults.interval_s, snmp=snmp, routeros=routeros, push=push,
        asset=AssetRecord(**asset),
    )


_Fail = Callable[[str, str], ConfigError]  # (message, key of the device) -> the error to raise


def _push(options: PushOptions | None, pushes: bool, origin: _Origin, key: str, resolve_secrets: bool,
          fail: _Fail) -> PushSettings | None:
    """A push device's settings: `push:` goes with `sources: [push]` (each needs the other)."""
    if not pushes:
        if options is not None:
            raise fail("`push:` is set but `sources` does not list push", "push")
        return None
    if options is None:
        raise fail("a device with source push needs `push: {token: {env: ...} or {file: ...}}`", "sources")
    token = read_secret(options.token, origin, f"{key}.token") if resolve_secrets else Secret("")
    if resolve_secrets and len(token.reveal()) < MIN_PUSH_TOKEN:
        raise fail(f"the push token is shorter than {MIN_PUSH_TOKEN} characters (make one with "
                   "`openssl rand -hex 24`)", "push")
    return PushSettings(token=token, tolerance_s=options.tolerance_s, max_skew_s=options.max_skew_s,
                        max_per_minute=options.max_per_minute)


def _check_device_links(dev: DeviceConfig, sites: dict[str, Any], devices: dict[str, Any], fail: _Fail) -> None:
    """The device's site and parent exist, and it is not its own parent."""
    if dev.site not in sites:
        raise fail(f"unknown site {dev.site!r}", "site")
    if dev.parent is not None:
        if dev.parent not in devices:
            raise fail(f"unknown parent device {dev.parent!r}", "parent")
        if dev.parent == dev.id:
            raise fail("a device cannot be its own parent", "parent")


def _credential(name: str | None, key: str, wanted: tuple[str, ...], what: str, credentials: dict[str, Any],
                auths: dict[str, Any], fail: _Fail) -> Any:
    """The resolved credential named `name` (the device's `key` or its default), of a kind in `wanted`; None
    when secrets are not resolved."""
    if name is None:
        raise fail(f"a device with source {what} needs `{key}` (or defaults.{key})", key)
    if name not in credentials:
        raise fail(f"unknown credential {name!r}", key)
    if credentials[name][0].kind not in wanted:
        raise fail(f"credential {name!r} is not a {what} credential", key)
    return auths.get(name)


def _options(default: Any, own: Any) -> dict[str, Any]:
    """Protocol options: the defaults' set fields, overridden by the device's own set fields."""
    opts = {k: v for k, v in default.model_dump().items() if v is not None}
    if own is not None:
        opts.update({k: v for k, v in own.model_dump().items() if v is not None})
    return opts
