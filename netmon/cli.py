"""The `netmon` command line (typer)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netmon.cli_agent import agent_app
from netmon.cli_assets import assets_app
from netmon.config.demo import write_demo_config
from netmon.errors import ConfigError, NetmonError, TicketNotApplicable, WebServerError
from netmon.logs import setup_logging
from netmon.report.command import report_app

if TYPE_CHECKING:
    from netmon.config import Config
    from netmon.latest import Snapshot
    from netmon.model import DeviceState, Incident, Site, Ticket, TimeZone
    from netmon.simulate.fleet import SimDevice
    from netmon.simulate.routeros.server import RouterOsSimulator, SimRouter
    from netmon.simulate.snmp_agent import SnmpSimulator
    from netmon.storage import Store

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="kim-netmon: monitoring for the public wifi at KIM sites.")
simulate_app = typer.Typer(no_args_is_help=True, help="Serve simulated devices for trying things out.")
app.add_typer(simulate_app, name="simulate")
app.add_typer(assets_app, name="assets")
app.add_typer(report_app, name="report")
app.add_typer(agent_app, name="agent")
log = logging.getLogger("netmon")
err = Console(stderr=True, soft_wrap=True)


def _out() -> Console:
    """Standard output; tables keep their columns when piped (no terminal width to fit)."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class OutputFormat(StrEnum):
    json = "json"
    prometheus = "prometheus"


# exit codes (README "Command line"): 0 done, 1 runtime failure, 2 bad input or usage
EXIT_FAILURE = 1
EXIT_USAGE = 2
LOG_LEVELS = ("debug", "info", "warning", "error")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"kim-netmon {version('kim-netmon')}")
        raise typer.Exit()


@app.callback()
def _main(
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    log_format: Annotated[LogFormat, typer.Option(help="text, or one JSON object per line")] = LogFormat.text,
    _show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit")] = False,
) -> None:
    if log_level.lower() not in LOG_LEVELS:
        raise _fail(ConfigError(f"--log-level {log_level!r}: use one of {', '.join(LOG_LEVELS)}"))
    setup_logging(log_level, log_format.value)


def _fail(exc: NetmonError, code: int | None = None) -> typer.Exit:
    """One line on standard error; exit 2 for bad input (a ConfigError), else 1 (or `code`)."""
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    return typer.Exit(code if code is not None else EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE)


def _load(path: Path, *, secrets: bool = True) -> Config:
    """The config; `secrets=False` for read-only commands, which need no polling credentials."""
    from netmon.config import load_config

    try:
        return load_config(path, resolve_secrets=secrets)
    except ConfigError as exc:
        raise _fail(exc) from None


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file; none = embedded demo")] = None,
    port: Annotated[int | None, typer.Option(help="Exporter port (overrides the config)")] = None,
    listen: Annotated[str | None, typer.Option(help="Exporter bind address (overrides the config)")] = None,
) -> None:
    """Run the daemon. Without --config, run the embedded demo on simulated KIM-site devices."""
    import shutil

    from netmon import heap
    from netmon.app import NetmonApp, install_stop_signals

    if port is not None and not 0 <= port <= 65535:
        raise _fail(ConfigError(f"--port {port}: a TCP port is 0-65535"))
    demo_dir: list[Path] = []

    async def main() -> int:
        simulators: list[SnmpSimulator | RouterOsSimulator] = []
        stop = asyncio.Event()
        install_stop_signals(stop)
        if config is None:
            cfg, simulators = await _start_demo(port if port is not None else 9877, demo_dir)
        else:
            cfg = _load(config)
        if port is not None or listen is not None:
            exp = cfg.exporter.model_copy(update={k: v for k, v in (("port", port), ("listen", listen))
                                                  if v is not None})
            cfg = dataclasses.replace(cfg, exporter=exp)
        try:
            netmon = NetmonApp(cfg)
        except ConfigError as exc:
            raise _fail(exc) from None
        try:
            await netmon.serve(stop, started=heap.settle)
            return netmon.exit_code  # 75: a cluster node that stopped leading, to be started again
        except ConfigError as exc:  # the exporter's web config file, a cluster without PostgreSQL
            raise _fail(exc) from None
        except WebServerError as exc:  # the port in use: a runtime failure, exit 1
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
        finally:
            for simulator in simulators:
                await simulator.stop()

    heap.tune()  # this process runs the daemon: young collections tuned for millions of long-lived objects
    try:
        code = asyncio.run(main())
    finally:
        for directory in demo_dir:  # the demo's config and secret files
            shutil.rmtree(directory, ignore_errors=True)
    if code:
        raise typer.Exit(code)


async def _start_demo(port: int, made: list[Path]) -> tuple[Config, list[SnmpSimulator | RouterOsSimulator]]:
    """The simulators and their config, written to a temporary directory (appended to `made`, removed on
    stop); the demo's data stays in ./netmon-data of the working directory."""
    import tempfile

    from netmon.config import load_config

    directory = Path(tempfile.mkdtemp(prefix="netmon-demo-"))
    made.append(directory)
    simulators, sites, devices, routers = await _start_simulators(snmp=True, routeros=True)
    path = write_demo_config(directory / "netmon-demo.yaml", sites, devices, routers, port=port)
    log.info("embedded demo: %d simulated SNMP agents and %d RouterOS API routers on 127.0.0.1 (config %s)",
             len(devices), len(routers), path)
    cfg = load_config(path)
    storage = cfg.storage.model_copy(update={"data_dir": str(Path.cwd() / "netmon-data")})
    return dataclasses.replace(cfg, storage=storage), simulators


async def _start_simulators(*, snmp: bool, routeros: bool, base_port: int = 0, tls: bool = False) -> tuple[
        list[SnmpSimulator | RouterOsSimulator], list[Site], list[SimDevice], list[SimRouter]]:
    from netmon.simulate.fleet import load_demo_fleet, load_demo_sites
    from netmon.simulate.routeros.server import RouterOsSimulator, load_demo_routers
    from netmon.simulate.snmp_agent import SnmpSimulator

    simulators: list[SnmpSimulator | RouterOsSimulator] = []
    devices = load_demo_fleet() if snmp else []
    routers = load_demo_routers() if routeros else []
    if devices:
        agent = SnmpSimulator()
        for offset, device in enumerate(devices):
            device.port = base_port + offset if base_port else 0
            agent.add(device)
        await agent.start()
        simulators.append(agent)
    if routers:
        api = RouterOsSimulator()
        for offset, router in enumerate(routers):
            router.port = base_port + len(devices) + offset if base_port else 0
            router.tls = router.tls or tls
            api.add(router)
        await api.start()
        simulators.append(api)
    return simulators, load_demo_sites(), devices, routers


@app.command()
def poll(
    config: Annotated[Path, typer.Option("--config", "-c", help="Config file")],
    once: Annotated[bool, typer.Option("--once", help="Poll once and print (the only mode for now)")] = True,
    device: Annotated[list[str] | None, typer.Option("--device", "-d", help="Only this device (repeatable)")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.json,
) -> None:
    """Poll devices once and print the result (Prometheus text is exactly what /metrics serves)."""
    from netmon.app import NetmonApp
    from netmon.exporter import render

    if not once:
        raise typer.BadParameter("only --once is supported; use `netmon run` for continuous polling")
    cfg = _load(config)
    unknown = sorted(set(device or ()) - set(cfg.devices))
    if unknown:
        raise _fail(ConfigError(f"unknown device(s): {', '.join(unknown)}", file=str(config)))

    async def main() -> tuple[bytes | str, list[str]]:
        netmon = NetmonApp(cfg)
        try:
            snap = await netmon.poll_once(device)
        finally:
            await netmon.close()
        failed = sorted(f"{d} ({s.value})" for (d, s), r in snap.results.items() if not r.ok)
        if fmt is OutputFormat.prometheus:
            return render(snap), failed
        return json.dumps(_snapshot_json(snap), indent=2, ensure_ascii=False), failed

    try:
        out, failed = asyncio.run(main())
    except ConfigError as exc:
        raise _fail(exc) from None
    if isinstance(out, bytes):
        sys.stdout.buffer.write(out)
    else:
        typer.echo(out)
    if failed:
        raise _fail(NetmonError(f"{len(failed)} poll(s) failed: {', '.join(failed)}"))


def _snapshot_json(snap: Snapshot) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for (device_id, source), result in sorted(snap.results.items()):
        identity = snap.identities.get((device_id, source))
        rows.append({
            "device": device_id,
            "source": source.value,
            "ok": result.ok,
            "error": None if result.ok else {"reason": result.error.reason, "message": str(result.error)}
            if result.error else None,
            "duration_s": round(result.duration_s, 4),
            "identity": None if identity is None else {
                "profile": identity.profile, "vendor": identity.vendor, "model": identity.model,
                "firmware": identity.firmware, "serial": identity.serial, "sys_name": identity.sys_name,
                "sys_descr": identity.sys_descr, "sys_object_id": identity.sys_object_id},
            "samples": [{"metric": s.metric, "labels": s.label_dict(), "value": s.value}
                        for s in result.samples],
        })
    return rows


db_app = typer.Typer(no_args_is_help=True, help="The database: migrations.")
app.add_typer(db_app, name="db")
CONFIG_OPTION = Annotated[Path | None, typer.Option(
    "--config", "-c", help="Config file (for storage settings); none = defaults (./netmon-data, or "
    "NETMON_DATABASE_URL)")]


# the fields of `--format json|csv` (CSV header): a device is "device", its site "site", times RFC 3339
STATUS_FIELDS = ("device", "site", "kecamatan", "kabupaten", "role", "owner", "state", "since", "cause")
OUTAGE_FIELDS = ("id", "device", "site", "cause", "started", "ended", "duration_s", "open", "detected", "episode")
TICKET_FIELDS = ("ticket", "state", "incident", "rule", "subject", "kecamatan", "opened", "updated")


class TableFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _store(config: Path | None, cfg: Config | None = None, *, existing: bool = True) -> Store:
    """The database the config names. `existing`: a default SQLite file that is not there yet is an error
    (one line, exit 1) instead of an empty database made on the spot."""
    from netmon.config.schema import StorageConfig
    from netmon.storage import StorageUnavailable, Store, database_url

    if cfg is None and config is not None:
        cfg = _load(config, secrets=False)
    storage = cfg.storage if cfg is not None else StorageConfig()
    try:
        url = database_url(storage)
    except OSError as exc:
        raise _fail(NetmonError(f"storage.data_dir {storage.data_dir}: {exc.strerror or exc}")) from None
    except ConfigError as exc:
        raise _fail(exc) from None
    if existing and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise _fail(NetmonError(f"no database yet at {url.removeprefix('sqlite:///')} (the daemon creates it "
                                "on start; or run `netmon db upgrade`)"))
    try:
        return Store.open(url)
    except (StorageUnavailable, ConfigError) as exc:
        raise _fail(exc) from None


def _when(ts: float | None, zone: TimeZone) -> str:
    """For people: "2026-11-30 21:15:00 WITA"."""
    return "" if ts is None else zone.stamp(ts)


def _rfc3339(ts: float | None, zone: TimeZone) -> str | None:
    """For machines (JSON, CSV): "2026-11-30T21:15:00+08:00"."""
    return None if ts is None else zone.rfc3339(ts)


def _config_and_zone(config: Path | None) -> tuple[Config | None, Callable[[str | None], TimeZone]]:
    """The config (when given) and the zone of a site id: the site's own zone from the config; without a
    config, the default zone (WIB)."""
    from netmon.model import DEFAULT_TIMEZONE

    if config is None:
        return None, lambda _site: DEFAULT_TIMEZONE
    cfg = _load(config, secrets=False)
    return cfg, cfg.zone_of


@db_app.command("upgrade")
def db_upgrade(config: CONFIG_OPTION = None) -> None:
    """Create or migrate the database schema to the current version."""
    store = _store(config, existing=False)
    try:
        store.upgrade()
    except NetmonError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    _out().print(f"database is at the current schema ({store.dialect})")


@app.command()
def status(
    config: CONFIG_OPTION = None,
    site: Annotated[str | None, typer.Option(help="Only this site id")] = None,
    kecamatan: Annotated[str | None, typer.Option(help="Only sites in this kecamatan")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
) -> None:
    """Sites and devices with their state, since when (in the site's zone; RFC 3339 in JSON and CSV), and the
    cause of an open outage."""
    cfg, zone_of = _config_and_zone(config)
    store = _store(config, cfg)
    try:
        rows = store.state_rows()
    except NetmonError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    rows = [r for r in rows if (site is None or r.site.id == site)
            and (kecamatan is None or r.site.kecamatan.lower() == kecamatan.lower())]
    if fmt is not TableFormat.table:
        _print_records([{"device": r.device.id, "site": r.site.id, "kecamatan": r.site.kecamatan,
                         "kabupaten": r.site.kabupaten, "role": r.device.role.value, "owner": r.device.owner.value,
                         "state": r.state.status.value if r.state else "unknown",
                         "since": _rfc3339(_since(r.state), zone_of(r.site.id)),
                         "cause": r.open_outage.cause.value if r.open_outage else None}
                        for r in sorted(rows, key=lambda r: (r.site.kecamatan, r.site.id, r.device.id))], fmt,
                       STATUS_FIELDS)
        return
    table = Table("kecamatan", "site", "device", "role", "owner", "state", "since", "outage cause")
    colours = {"up": "green", "degraded": "yellow", "down": "red", "unknown": "dim", "disabled": "dim"}
    for row in sorted(rows, key=lambda r: (r.site.kecamatan, r.site.id, r.device.id)):
        state = row.state.status.value if row.state else "unknown"
        table.add_row(row.site.kecamatan, f"{row.site.id} ({row.site.desa})", row.device.id, row.device.role.value,
                      row.device.owner.value, f"[{colours.get(state, 'white')}]{state}[/]",
                      _when(_since(row.state), zone_of(row.site.id)),
                      row.open_outage.cause.value if row.open_outage else "")
    _out().print(table)


def _since(state: DeviceState | None) -> float | None:
    """Since when the state holds: a DOWN device since its first failed poll, as its outage (docs/state.md)."""
    from netmon.model import Status

    if state is None:
        return None
    return state.failing_since if state.status is Status.DOWN and state.failing_since is not None else state.since


@app.command()
def outages(
    config: CONFIG_OPTION = None,
    since: Annotated[str | None, typer.Option(help="Only outages still open or ended after this date "
                                              "(YYYY-MM-DD, from midnight in --tz)")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Zone of --since: Asia/Jakarta (WIB), Asia/Makassar "
                                           "(WITA) or Asia/Jayapura (WIT); default the config's timezone, "
                                           "else WIB")] = None,
    device: Annotated[str | None, typer.Option(help="Only this device")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
) -> None:
    """Outage history: device, site, cause, start, end (in the site's zone; RFC 3339 in JSON and CSV) and
    duration."""
    from datetime import datetime, timedelta

    from netmon.model import DEFAULT_TIMEZONE, TimeZone

    cfg, zone_of = _config_and_zone(config)
    try:
        since_zone = TimeZone.parse(tz) if tz is not None else cfg.timezone if cfg else DEFAULT_TIMEZONE
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tz") from None
    since_ts = None
    if since is not None:
        try:
            since_ts = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=since_zone.tzinfo).timestamp()
        except ValueError:
            raise typer.BadParameter("use YYYY-MM-DD", param_hint="--since") from None
    store = _store(config, cfg)
    try:
        found = store.outages(since=since_ts, device=device)
    except NetmonError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    when = _when if fmt is TableFormat.table else _rfc3339
    rows = [{"id": o.id, "device": o.device, "site": o.site, "cause": o.cause.value,
             "started": when(o.started_at, zone_of(o.site)), "ended": when(o.ended_at, zone_of(o.site)),
             "duration_s": None if o.ended_at is None else round(o.ended_at - o.started_at),
             "open": o.open, "detected": when(o.detected_at, zone_of(o.site)),
             "episode": o.episode or o.id} for o in sorted(found, key=lambda o: o.started_at)]
    if fmt is not TableFormat.table:
        _print_records(rows, fmt, OUTAGE_FIELDS)
    else:
        table = Table("device", "site", "cause", "started", "ended", "duration")
        for row in rows:
            duration = row["duration_s"]
            table.add_row(str(row["device"]), str(row["site"]), str(row["cause"]), str(row["started"]),
                          str(row["ended"]) or "[red]open[/]",
                          "" if duration is None else str(timedelta(seconds=int(duration))))
        _out().print(table)


def _print_records(rows: Sequence[Mapping[str, object]], fmt: TableFormat, fields: Sequence[str] = ()) -> None:
    """Records as JSON (a list of objects) or CSV (a header row, then one row each; empty for None).
    `fields`: the CSV header when there are no rows."""
    import csv

    if fmt is TableFormat.json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


tickets_app = typer.Typer(no_args_is_help=True, help="Outage tickets (the built-in ticket store).")
app.add_typer(tickets_app, name="tickets")


@tickets_app.command("list")
def tickets_list(
    config: CONFIG_OPTION = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only tickets not resolved")] = False,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
) -> None:
    """Tickets with their incident: what, where, state, opened, updated (in the incident's zone; RFC 3339 in
    JSON)."""
    cfg = _load(config, secrets=False) if config is not None else None
    store = _store(config, cfg)
    try:
        incidents = {i.id: i for i in store.incidents()}
        tickets = store.tickets()
    except NetmonError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    rows = []
    for ticket in tickets:
        incident = incidents.get(ticket.incident)
        if open_only and ticket.state == "resolved":
            continue
        zone = _incident_zone(incident, cfg)
        when = _when if fmt is TableFormat.table else _rfc3339
        rows.append({"ticket": ticket.id, "state": ticket.state, "incident": ticket.incident,
                     "rule": incident.rule if incident else "", "subject": incident.subject if incident else "",
                     "kecamatan": incident.kecamatan if incident else "",
                     "opened": when(ticket.opened_at, zone), "updated": when(ticket.updated_at, zone)})
    if fmt is not TableFormat.table:
        _print_records(rows, fmt, TICKET_FIELDS)
        return
    table = Table("ticket", "state", "rule", "subject", "kecamatan", "opened", "updated")
    for row in rows:
        table.add_row(*(str(row[k]) for k in ("ticket", "state", "rule", "subject", "kecamatan", "opened",
                                                "updated")))
    _out().print(table)


@tickets_app.command("show")
def tickets_show(ticket_id: Annotated[str, typer.Argument(help="e.g. NETMON-2026-123456")],
                 config: CONFIG_OPTION = None,
                 fmt: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table) -> None:
    """One ticket and its incident in full (times in the incident's zone; RFC 3339 in JSON and CSV)."""
    cfg = _load(config, secrets=False) if config is not None else None
    store = _store(config, cfg)
    try:
        ticket = next((t for t in store.tickets() if t.id == ticket_id), None)
        incident = next((i for i in store.incidents() if ticket and i.id == ticket.incident), None)
    finally:
        store.close()
    if ticket is None:
        raise _fail(NetmonError(f"no ticket {ticket_id}"), EXIT_USAGE)
    zone = _incident_zone(incident, cfg)
    if fmt is not TableFormat.table:
        _print_records([_ticket_record(ticket, incident, zone)], fmt)
        return
    out = _out()
    out.print(f"[bold]{ticket.id}[/]  {ticket.state}  opened {_when(ticket.opened_at, zone)}, "
              f"updated {_when(ticket.updated_at, zone)}")
    if incident is not None:
        out.print(f"incident {incident.id}: {incident.rule} on {incident.subject} ({incident.kind}, "
                  f"{incident.severity.value}, owner {incident.owner.value})")
        out.print(f"  {incident.kecamatan}, {incident.kabupaten}; members: {', '.join(incident.members) or '-'}")
        out.print(f"  opened {_when(incident.opened_at, zone)}; "
                  f"acknowledged {_when(incident.acknowledged_at, zone) or '-'}"
                  f"{' by ' + incident.acknowledged_by if incident.acknowledged_by else ''}; "
                  f"escalated {_when(incident.escalated_at, zone) or '-'}; "
                  f"resolved {_when(incident.resolved_at, zone) or '-'}")
        if incident.summary:
            out.print(f"  {incident.summary}")
    for sink, ref in ticket.external_refs:
        out.print(f"  {sink}: {ref}")


@tickets_app.command("ack")
def tickets_ack(ticket_id: Annotated[str, typer.Argument(help="e.g. NETMON-2026-123456")],
                by: Annotated[str, typer.Option(help="Who takes it (name or team)")] = "helpdesk",
                config: CONFIG_OPTION = None) -> None:
    """Acknowledge a ticket: someone is on it. Stops escalation; the running daemon updates the ticket."""
    import time as _time

    from alerts.handling import acknowledge

    store = _store(config)
    try:
        store.write(acknowledge(ticket_id, store.tickets(), store.incidents(), by=by, at=_time.time()))
    except TicketNotApplicable as exc:
        raise _fail(exc, EXIT_USAGE) from None
    finally:
        store.close()
    _out().print(f"{ticket_id} acknowledged by {by}")


@tickets_app.command("resolve")
def tickets_resolve(ticket_id: Annotated[str, typer.Argument(help="e.g. NETMON-2026-123456")],
                    config: CONFIG_OPTION = None) -> None:
    """Close a ticket whose incident has ended (tickets close by themselves on recovery; this closes one
    the daemon could not, e.g. for a device removed from the inventory)."""
    import time as _time

    from alerts.handling import resolve

    inventory = _config_devices(config)
    store = _store(config)
    try:
        store.write(resolve(ticket_id, store.tickets(), store.incidents(), inventory=inventory, at=_time.time()))
    except TicketNotApplicable as exc:
        raise _fail(exc, EXIT_USAGE) from None
    finally:
        store.close()
    _out().print(f"{ticket_id} resolved")


def _ticket_record(ticket: Ticket, incident: Incident | None, zone: TimeZone) -> dict[str, object]:
    """A ticket with its incident, under the field names of `tickets list` (and more)."""
    i = incident
    return {"ticket": ticket.id, "state": ticket.state, "incident": ticket.incident,
            "rule": i.rule if i else "", "subject": i.subject if i else "", "kecamatan": i.kecamatan if i else "",
            "opened": _rfc3339(ticket.opened_at, zone), "updated": _rfc3339(ticket.updated_at, zone),
            "kabupaten": i.kabupaten if i else "", "kind": str(i.kind) if i else "",
            "severity": i.severity.value if i else "", "owner": i.owner.value if i else "",
            "members": list(i.members) if i else [], "summary": i.summary if i else "",
            "acknowledged": _rfc3339(i.acknowledged_at, zone) if i else None,
            "acknowledged_by": i.acknowledged_by if i else None,
            "escalated": _rfc3339(i.escalated_at, zone) if i else None,
            "resolved": _rfc3339(i.resolved_at, zone) if i else None,
            "external_refs": {sink: ref for sink, ref in ticket.external_refs}}


def _incident_zone(incident: Incident | None, cfg: Config | None) -> TimeZone:
    """The zone of the incident's site (from the config), else the config's default, else WIB."""
    from alerts.message import incident_zone
    from netmon.model import DEFAULT_TIMEZONE

    if cfg is None:
        return DEFAULT_TIMEZONE
    return cfg.timezone if incident is None else incident_zone(incident, cfg.devices, cfg.sites, cfg.timezone)


def _config_devices(config: Path | None) -> set[str]:
    return set(_load(config, secrets=False).devices) if config is not None else set()


@app.command("check-config")
def check_config(file: Annotated[Path, typer.Argument(help="Config file to validate")],
                 fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="table: the summary; json, "
                                                          "csv: one record per kecamatan")] = TableFormat.table,
                 ) -> None:
    """Validate a config file (and its includes) and print a summary."""
    cfg = _load(file)
    rows = _kecamatan_rows(cfg)
    if fmt is not TableFormat.table:
        _print_records(rows, fmt, KECAMATAN_FIELDS)
        return
    out = _out()
    out.print(f"[green]OK[/] {file}: {len(cfg.sites)} sites, {len(cfg.devices)} devices, "
              f"{len(cfg.credential_kinds)} credentials, {len(cfg.files)} file(s)")
    for extra in cfg.files[1:]:
        out.print(f"  included {extra}")
    from netmon.model import TimeZone

    table = Table(*KECAMATAN_FIELDS)
    for row in rows:
        zone = TimeZone(str(row["zone"]))
        table.add_row(*(f"{zone.value} ({zone.abbreviation})" if k == "zone" else str(row[k])
                        for k in KECAMATAN_FIELDS))
    out.print(table)
    for name, kind in sorted(cfg.credential_kinds.items()):
        out.print(f"  credential {name}: {kind} (resolved)")


KECAMATAN_FIELDS = ("kabupaten", "zone", "kecamatan", "sites", "routers", "aps", "other", "pemda", "kim")


def _kecamatan_rows(cfg: Config) -> list[dict[str, object]]:
    """Per kecamatan: its zone, how many sites, devices by role and by owner."""
    groups: dict[tuple[str, str], list[str]] = {}
    for site in cfg.sites.values():
        groups.setdefault((site.kabupaten, site.kecamatan), []).append(site.id)
    rows: list[dict[str, object]] = []
    for (kab, kec), site_ids in sorted(groups.items()):
        devs = [d for d in cfg.devices.values() if d.site in site_ids]
        zone = cfg.sites[site_ids[0]].timezone
        rows.append({"kabupaten": kab, "zone": zone.value, "kecamatan": kec,
                     "sites": len(site_ids), "routers": sum(d.role.value == "router" for d in devs),
                     "aps": sum(d.role.value == "ap" for d in devs),
                     "other": sum(d.role.value not in ("router", "ap") for d in devs),
                     "pemda": sum(d.owner.value == "pemda" for d in devs),
                     "kim": sum(d.owner.value == "kim" for d in devs)})
    return rows


@app.command("config-schema")
def config_schema() -> None:
    """Print the JSON Schema of the config file (for editor completion)."""
    from netmon.config import ConfigFile

    typer.echo(json.dumps(ConfigFile.model_json_schema(), indent=2))


class SimKind(StrEnum):
    demo = "demo"
    snmp = "snmp"
    routeros = "routeros"


def _simulate(kind: SimKind, base_port: int, write_config: Path | None, *, tls: bool = False) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        from netmon.app import install_stop_signals
        from netmon.simulate.control import USAGE

        install_stop_signals(stop)
        simulators, sites, devices, routers = await _start_simulators(
            snmp=kind is not SimKind.routeros, routeros=kind is not SimKind.snmp, base_port=base_port, tls=tls)
        for device in devices:
            err.print(f"{device.device_id}: SNMP on udp 127.0.0.1:{device.port} (community {device.community})",
                      highlight=False)
        for router in routers:
            api = "API-SSL" if router.tls else "API"
            err.print(f"{router.router_id}: RouterOS {router.version} {api} on tcp 127.0.0.1:{router.port} "
                      f"(user {router.user})", highlight=False)
        if write_config is not None:
            write_demo_config(write_config, sites, devices, routers, tls_ca_pem=_ca_pem(simulators))
            err.print(f"wrote {write_config}: try `netmon poll --config {write_config} --once`", highlight=False)
        err.print(f"serving; Ctrl-C stops. On standard input, {USAGE}; MODE is one of "
                  f"{'|'.join(FAULTS)}", highlight=False)
        control = asyncio.create_task(_control(simulators, devices, routers))
        try:
            await stop.wait()
        finally:
            control.cancel()
            for simulator in simulators:
                await simulator.stop()

    from netmon.simulate.fault import FAULTS

    try:
        asyncio.run(main())
    except NetmonError as exc:
        raise _fail(exc) from None


def _ca_pem(simulators: list[SnmpSimulator | RouterOsSimulator]) -> bytes | None:
    from netmon.simulate.routeros.server import RouterOsSimulator

    for simulator in simulators:
        if isinstance(simulator, RouterOsSimulator) and simulator.tls_ca_file is not None:
            return simulator.tls_ca_file.read_bytes()
    return None


async def _control(simulators: list[SnmpSimulator | RouterOsSimulator], devices: list[SimDevice],
                   routers: list[SimRouter]) -> None:
    """Drive the simulators from standard input, so a demo device can fail and come back. A bad command
    gets one error line on standard error; the loop goes on."""
    from netmon.simulate.control import SimulatorControl
    from netmon.simulate.routeros.server import RouterOsSimulator
    from netmon.simulate.snmp_agent import SnmpSimulator

    control = SimulatorControl(next((s for s in simulators if isinstance(s, SnmpSimulator)), None),
                               [d.device_id for d in devices],
                               next((s for s in simulators if isinstance(s, RouterOsSimulator)), None),
                               [r.router_id for r in routers])
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return  # no (more) input: just keep serving
        try:
            answer = await control.handle(line)
        except Exception as exc:
            err.print(f"error: {exc}", highlight=False)
            continue
        if answer:
            err.print(answer, highlight=False)


BASE_PORT = Annotated[int, typer.Option(help="First port (one per simulated device; 0 = any free port)")]
WRITE_CONFIG = Annotated[Path | None, typer.Option(
    help="Write a netmon config for the simulated devices here (secrets in files beside it)")]


TLS = Annotated[bool, typer.Option(
    "--tls", help="Serve the RouterOS API as API-SSL (a self-signed CA made at start; --write-config "
    "writes it beside the config and sets routeros: {tls: true, tls_ca_file: ...})")]


@simulate_app.command("demo")
def simulate_demo(base_port: BASE_PORT = 0, write_config: WRITE_CONFIG = None, tls: TLS = False) -> None:
    """Serve the whole demo: SNMP agents and RouterOS API routers of the simulated KIM sites."""
    _simulate(SimKind.demo, base_port, write_config, tls=tls)


@simulate_app.command("snmp")
def simulate_snmp(
    base_port: BASE_PORT = 0,
    write_config: WRITE_CONFIG = None,
    data_dir: Annotated[Path | None, typer.Option(help="Instead of the demo: serve every .snmprec here on one "
                                                  "port (community = file name without .snmprec)")] = None,
    port: Annotated[int, typer.Option(help="UDP port for --data-dir (0 = any free port)")] = 1161,
) -> None:
    """Serve simulated SNMP agents: the demo's (one port each), or a directory of recordings."""
    if data_dir is None:
        _simulate(SimKind.snmp, base_port, write_config)
        return
    from netmon.simulate.snmp_agent import run_forever

    try:
        run_forever([], data_dir=data_dir, port=port)
    except NetmonError as exc:
        raise _fail(exc) from None


@simulate_app.command("routeros")
def simulate_routeros(base_port: BASE_PORT = 0, write_config: WRITE_CONFIG = None, tls: TLS = False) -> None:
    """Serve the demo's simulated MikroTik routers over the RouterOS API (TCP, one port each; --tls: API-SSL)."""
    _simulate(SimKind.routeros, base_port, write_config, tls=tls)


def main() -> None:
    """The command; what escapes a command as an exception still ends in one line (exit 1), not a traceback, and
    a usage error (an unknown option or command, `--format xml`) is one line too (exit 2), not the usage box."""
    usage_error: type[Exception] = typer.BadParameter.__mro__[1]  # click's UsageError (typer may vendor click)
    try:
        code = app(standalone_mode=False)
        raise SystemExit(code if isinstance(code, int) else 0)
    except usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `netmon` alone: the help, as typer shows it
            from typer import rich_utils

            rich_utils.rich_format_error(exc)  # type: ignore[arg-type]
            raise SystemExit(EXIT_USAGE) from None
        ctx = getattr(exc, "ctx", None)
        where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        message = exc.format_message()  # type: ignore[attr-defined]
        err.print(f"[bold red]error:[/] {escape(message)}{where}", highlight=False)
        raise SystemExit(EXIT_USAGE) from None
    except typer.Abort:
        err.print("Aborted!")
        raise SystemExit(EXIT_FAILURE) from None
    except NetmonError as exc:
        raise SystemExit(_fail(exc).exit_code) from None
    except OSError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise SystemExit(EXIT_FAILURE) from None


if __name__ == "__main__":
    main()
