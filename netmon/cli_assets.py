"""`netmon assets ...`: the asset register (KIB B) in and out of the clerk's spreadsheet, field inspections, and
one asset's register entry with its condition. Registered in `netmon/cli.py`; shares its helpers (config,
store, one-line errors). docs/assets.md."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from netmon.errors import ConfigError, NetmonError

if TYPE_CHECKING:
    from netmon.assets.register import Matching
    from netmon.config import Config
    from netmon.model import Device

assets_app = typer.Typer(no_args_is_help=True, help="The asset register (KIB B): import, export, inspections.")

CONFIG = Annotated[Path, typer.Option("--config", "-c", help="Config file (its devices are the assets)")]
CONDITIONS = {"B": "B", "RR": "RR", "KB": "RR", "RB": "RB"}  # KB (Kurang Baik) is written for RR too


class ViewFormat(StrEnum):
    table = "table"
    json = "json"


class ExportFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"


def _cli() -> Any:
    from netmon import cli

    return cli


def _config(path: Path) -> Config:
    loaded: Config = _cli()._load(path, secrets=False)
    return loaded


def _bad(message: str, **where: Any) -> typer.Exit:
    exit_: typer.Exit = _cli()._fail(ConfigError(message, **where))
    return exit_


@assets_app.command("import")
def assets_import(
    file: Annotated[Path, typer.Argument(help="The clerk's KIB B spreadsheet (.xlsx or .csv)")],
    config: CONFIG,
    sheet: Annotated[str | None, typer.Option(help="Sheet name (default: the first)")] = None,
    header_row: Annotated[int | None, typer.Option(help="Row of the header (1-based; default: found)")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the register fragment (YAML for `include:`) here")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would change (the default "
                                          "without --out)")] = False,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
) -> None:
    """Read the register, match its rows to the configured devices (serial, kode barang + register number),
    and write a register fragment or show what would change; list rows and devices left unmatched."""
    from netmon.assets.kib import read_kib
    from netmon.assets.register import match_rows
    from netmon.assets.spreadsheet import read_sheet
    from netmon.config.fragment import register_fragment

    if out is not None and dry_run:
        raise _bad("give --out or --dry-run, not both")
    cfg = _config(config)
    try:
        kib = read_kib(read_sheet(file, sheet), file, header_row)
    except ConfigError as exc:
        raise _cli()._fail(exc) from None
    matching = match_rows(kib.rows, cfg.devices)
    changes = matching.changes(cfg.devices)
    if out is not None:
        try:
            out.write_text(register_fragment(matching.entries(), file.name), encoding="utf-8")
        except OSError as exc:
            raise _cli()._fail(NetmonError(f"{out}: cannot write: {exc.strerror or exc}")) from None
    if fmt is ViewFormat.json:
        typer.echo(json.dumps(_import_record(matching, changes, kib.ignored, out), indent=2, ensure_ascii=False))
        return
    _print_import(matching, changes, kib.ignored, out, cfg, file)


def _import_record(matching: Matching, changes: list[Any], ignored: tuple[str, ...], out: Path | None) -> Any:
    return {"matched": [{"line": m.row.line, "device": m.device, "by": m.by} for m in matching.matches],
            "unmatched_rows": [{"line": u.row.line, "row": u.row.label(), "reason": u.reason}
                               for u in matching.unmatched_rows],
            "unmatched_devices": list(matching.unmatched_devices),
            "changes": [{"device": c.device, "field": c.field, "old": c.old, "new": c.new} for c in changes],
            "ignored_columns": list(ignored), "written": str(out) if out else None}


def _print_import(matching: Matching, changes: list[Any], ignored: tuple[str, ...], out: Path | None,
                  cfg: Config, file: Path) -> None:
    console = _cli()._out()
    console.print(f"{len(matching.matches)} row(s) matched, {len(matching.unmatched_rows)} row(s) unmatched, "
                  f"{len(matching.unmatched_devices)} device(s) without a row", highlight=False)
    if changes:
        table = Table("device", "field", "now", "from the register")
        for c in changes:
            table.add_row(c.device, c.field, "" if c.old is None else str(c.old), str(c.new))
        console.print(table)
    else:
        console.print("no change: the register and the inventory agree", highlight=False)
    for u in matching.unmatched_rows:
        console.print(f"unmatched row {file.name}:{u.row.line} ({u.row.label()}): {u.reason}", highlight=False)
    if matching.unmatched_devices:
        console.print("devices without a row: " + ", ".join(matching.unmatched_devices), highlight=False)
    if ignored:
        console.print("columns not read: " + ", ".join(ignored), highlight=False)
    if out is not None:
        included = any(Path(f).resolve() == out.resolve() for f in cfg.files)
        hint = "" if included else "; add it to the main config's include: list"
        console.print(f"wrote {out} ({len(matching.matches)} register entries){hint}", highlight=False)


@assets_app.command("export")
def assets_export(
    config: CONFIG,
    out: Annotated[Path, typer.Option(help="The file to write")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="xlsx or csv")] = ExportFormat.xlsx,
) -> None:
    """Write the register in the KIB B layout, with netmon's columns: last seen, serial and model read from the
    device, mismatch, latest inspected condition. Importing it again changes nothing."""
    from netmon.assets.export import monitoring, register_table, write_register

    cli = _cli()
    cfg = _config(config)
    store = cli._store(config, cfg)
    try:
        known = monitoring(store)
    except NetmonError as exc:
        raise cli._fail(exc) from None
    finally:
        store.close()
    titles, header, rows = register_table(cfg.devices, known, cfg.zone_of)
    try:
        write_register(out, fmt.value, titles, header, rows)
    except ConfigError as exc:
        raise cli._fail(NetmonError(str(exc))) from None
    cli._out().print(f"wrote {out}: {len(rows)} assets", highlight=False)


@assets_app.command("inspect")
def assets_inspect(
    device: Annotated[str, typer.Argument(help="Device id")],
    config: CONFIG,
    condition: Annotated[str, typer.Option(help="B (Baik), RR (Rusak Ringan; KB accepted) or RB (Rusak Berat)")],
    note: Annotated[str, typer.Option(help="What was found")],
    by: Annotated[str, typer.Option(help="Who inspected")],
    on: Annotated[str | None, typer.Option("--date", help="Day of the inspection, YYYY-MM-DD in the site's "
                                           "zone (default: today there)")] = None,
) -> None:
    """Record a field inspection: from its day on, the asset's condition is the one confirmed here (kept with
    the inspections before it)."""
    from netmon.model import Condition, Inspection

    cli = _cli()
    cfg = _config(config)
    found = cfg.devices.get(device)
    if found is None:
        raise _bad(f"unknown device {device!r}", file=str(config))
    code = CONDITIONS.get(condition.strip().upper())
    if code is None:
        raise _bad(f"--condition {condition!r}: use B, RR (or KB) or RB")
    if not note.strip() or not by.strip():
        raise _bad("--note and --by must not be empty")
    zone = cfg.zone_of(found.site)
    now = time.time()
    today = zone.date_at(now)
    try:
        day = date.fromisoformat(on) if on is not None else today
    except ValueError:
        raise _bad(f"--date {on!r}: use YYYY-MM-DD") from None
    if day > today:
        raise _bad(f"--date {day}: in the future (today is {today} {zone.name})")
    inspection = Inspection(device, day, Condition(code), note.strip(), by.strip(), now)
    store = cli._store(config, cfg, existing=False)
    try:
        store.upgrade()
        store.record_inspection(inspection, zone)
    except NetmonError as exc:
        raise cli._fail(exc) from None
    finally:
        store.close()
    cli._out().print(f"{device}: {code} from {day} (by {inspection.by})", highlight=False)


@assets_app.command("show")
def assets_show(
    device: Annotated[str, typer.Argument(help="Device id")],
    config: CONFIG,
    month: Annotated[str | None, typer.Option(help="YYYY-MM in the site's zone (default: this month so far)")]
    = None,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
) -> None:
    """One asset: its register entry, its inspections, and its condition for a month (suggested, evidence,
    confirmed, previous month's)."""
    from netmon.assets.condition import assess

    cli = _cli()
    cfg = _config(config)
    found = cfg.devices.get(device)
    if found is None:
        raise _bad(f"unknown device {device!r}", file=str(config))
    zone = cfg.zone_of(found.site)
    start, end, previous = _month(month, zone)
    store = cli._store(config, cfg)
    try:
        inspections = store.inspections(device)
        result = assess(store, {device: found}, start, end, cfg.asset_rules, previous_start=previous)[device]
    except NetmonError as exc:
        raise cli._fail(exc) from None
    finally:
        store.close()
    record = _show_record(found, inspections, result, zone, start, end)
    if fmt is ViewFormat.json:
        typer.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    console = cli._out()
    console.print(f"[bold]{device}[/] at {found.site}", highlight=False)
    table = Table("KIB B", "value")
    for key, value in record["register"].items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)
    for i in record["inspections"]:
        console.print(f"inspected {i['on']}: {i['condition']} by {i['by']}: {i['note']}", highlight=False)
    c = record["condition"]
    console.print(f"{c['period']['start'][:10]} .. {c['period']['end'][:10]}: suggested {c['suggested']} "
                  f"({c['evidence']}); confirmed {c['confirmed'] or '-'}; condition {c['condition']}; "
                  f"previous month {c['previous'] or '-'}", highlight=False)


def _month(month: str | None, zone: Any) -> tuple[float, float, float]:
    """[start, end) of the month in `zone` (this month: up to now), and the previous month's start."""
    now = time.time()
    local = zone.local(now)
    try:
        year, number = (int(x) for x in month.split("-")) if month else (local.year, local.month)
        first = datetime(year, number, 1, tzinfo=zone.tzinfo)
    except ValueError:
        raise _bad(f"--month {month!r}: use YYYY-MM") from None
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone.tzinfo)
    before = datetime(year - (number == 1), (number - 2) % 12 + 1, 1, tzinfo=zone.tzinfo)
    return first.timestamp(), min(following.timestamp(), now), before.timestamp()


def _show_record(device: Device, inspections: list[Any], result: Any, zone: Any, start: float,
                 end: float) -> dict[str, Any]:
    import dataclasses

    return {
        "device": device.id, "site": device.site, "register": dataclasses.asdict(device.asset),
        "inspections": [{"on": i.on.isoformat(), "condition": i.condition.value, "by": i.by, "note": i.note,
                         "recorded": zone.rfc3339(i.recorded_at)} for i in inspections],
        "condition": {"period": {"start": zone.rfc3339(start), "end": zone.rfc3339(end)},
                      "suggested": result.suggested.value, "evidence": result.evidence,
                      "confirmed": result.confirmed.condition.value if result.confirmed else None,
                      "confirmed_on": result.confirmed.on.isoformat() if result.confirmed else None,
                      "condition": result.condition.value,
                      "previous": result.previous.value if result.previous else None},
    }
