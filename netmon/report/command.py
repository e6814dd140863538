"""`netmon report monthly`: build the report from the database and write it (read-only: it needs no polling
credentials, like `netmon outages`). Registered in `netmon.cli`; errors are one line, exit 2 for bad input."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from netmon.errors import ConfigError, NetmonError

report_app = typer.Typer(no_args_is_help=True, help="Asset condition reports (PDF, XLSX, CSV).")


@report_app.command("monthly")
def monthly(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the files (created if missing)")],
    month: Annotated[str | None, typer.Option(help="YYYY-MM, e.g. 2026-11")] = None,
    semester: Annotated[str | None, typer.Option(help="YYYY-1 (January-June) or YYYY-2 (July-December)")] = None,
    year: Annotated[str | None, typer.Option(help="YYYY")] = None,
    kabupaten: Annotated[str | None, typer.Option(help="Only the sites of this kabupaten/kota (its name as "
                                                  "the sites give it)")] = None,
    formats: Annotated[str, typer.Option("--format", "-f", help="pdf, xlsx and/or csv, comma-separated")]
    = "pdf,xlsx,csv",
    lang: Annotated[str | None, typer.Option(help="id (Bahasa Indonesia) or en; default report.language")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file (sites, zones, storage, "
                                                "report: section); none = the default database, WIB")] = None,
    now: Annotated[float | None, typer.Option(hidden=True, help="Unix time taken as now (tests)")] = None,
) -> None:
    """The asset condition report of a month (or --semester, --year), in each kabupaten's own time zone."""
    from netmon.cli import _fail, _load, _store
    from netmon.config.assets import ConditionRules
    from netmon.config.report import ReportConfig
    from netmon.model import DEFAULT_TIMEZONE
    from netmon.report.build import agent_gaps_by_site, build_report, in_scope
    from netmon.report.condition import conditions_for
    from netmon.report.language import language
    from netmon.report.output import parse_formats, write_report
    from netmon.report.period import parse_period

    try:
        period = parse_period(month=month, semester=semester, year=year)
        chosen = parse_formats(formats)
    except ValueError as exc:
        raise _fail(ConfigError(str(exc))) from None
    cfg = _load(config, secrets=False) if config is not None else None
    settings = cfg.report if cfg is not None else ReportConfig()
    rules = cfg.asset_rules if cfg is not None else ConditionRules()
    try:
        t = language(lang or settings.language)
    except ValueError as exc:
        raise _fail(ConfigError(str(exc))) from None
    at = time.time() if now is None else now
    store = _store(config, cfg)
    try:
        if cfg is not None:
            sites, devices = cfg.sites, cfg.devices
        else:
            rows = store.state_rows()
            sites = {r.site.id: r.site for r in rows}
            devices = {r.device.id: r.device for r in rows}
        if kabupaten is not None and not in_scope(sites, kabupaten):
            known = ", ".join(sorted({s.kabupaten for s in sites.values()})) or "none"
            raise _fail(ConfigError(f"--kabupaten {kabupaten!r}: no site is in it (kabupaten: {known})"))
        gaps = agent_gaps_by_site(store, cfg.agents.site_agent(), period.bounds(DEFAULT_TIMEZONE)[0] - 86400.0) \
            if cfg is not None else {}
        report = build_report(store, sites, devices, period, conditions_for(store, devices, sites, period, rules, at),
                              now=at, kabupaten=kabupaten, gaps=gaps)
    except NetmonError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    zone = report.zones[0] if report.zones else DEFAULT_TIMEZONE
    try:
        written = write_report(report, chosen, t, settings, out, generated=zone.date_at(at))
    except OSError as exc:
        raise _fail(NetmonError(f"--out {out}: {exc.strerror or exc}")) from None
    for path in written:
        typer.echo(str(path))
