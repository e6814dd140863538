"""`netmon agent --config site.yaml` (run a site agent) and `netmon agent check --config site.yaml` (validate a
site agent's config offline). Registered in `netmon/cli.py`; shares its one-line errors and exit codes (2 bad
input, 1 runtime). docs/agent.md."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from netmon.errors import ConfigError, NetmonError

if TYPE_CHECKING:
    from netmon.config.site_agent import SiteAgentConfig

agent_app = typer.Typer(help="A site agent: polls a site's devices and sends the results out to the office's "
                        "MQTT broker through a durable outbox (docs/agent.md).")

CONFIG = Annotated[Path | None, typer.Option("--config", "-c", help="The site agent's config file")]


def _cli() -> Any:
    from netmon import cli

    return cli


def _load(path: Path | None) -> SiteAgentConfig:
    from netmon.config.site_agent import load_site_config

    if path is None:
        raise _cli()._fail(ConfigError("--config is required (the site agent's config file)"))
    try:
        return load_site_config(path)
    except ConfigError as exc:
        raise _cli()._fail(exc) from None


@agent_app.callback(invoke_without_command=True)
def agent(ctx: typer.Context, config: CONFIG = None,
          seed: Annotated[int | None, typer.Option(help="Seed of the boot delay and backoff draws (tests)")] = None,
          ) -> None:
    """Run the site agent until SIGTERM or Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    site = _load(config)
    from netmon.agent.site import SiteAgent
    from netmon.app import install_stop_signals

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        runner = SiteAgent(site, rng=random.Random(seed))
        await runner.serve(stop)

    try:
        asyncio.run(main())
    except ConfigError as exc:  # e.g. the outbox belongs to another agent
        raise _cli()._fail(exc) from None
    except NetmonError as exc:
        raise _cli()._fail(exc) from None


@agent_app.command("check")
def check(config: CONFIG = None) -> None:
    """Validate a site agent's config offline (secrets, TLS files, devices), print a summary."""
    site = _load(config)
    agent, cfg = site.agent, site.config
    broker = agent.broker
    login = ("client certificate" if broker.cert_file else "username/password" if broker.username else "anonymous")
    out = _cli()._out()
    out.print(f"[green]OK[/] {config}: agent {agent.id}, {len(cfg.sites)} sites, {len(cfg.devices)} devices")
    out.print(f"  broker {broker.host}:{broker.port} ({'TLS' if broker.tls else 'NO TLS'}, {login}), topics "
              f"{agent.prefix}/agent/{agent.id}/#", highlight=False)
    days = agent.outbox.max_age_s / 86400
    out.print(f"  outbox {agent.outbox.path}: at most {agent.outbox.max_bytes / 1048576:.0f} MiB and {days:g} days",
              highlight=False)
