"""The demo's RouterOS routers (`netmon/demo/routeros.yaml`) and a blocking runner for the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from netmon.errors import ConfigError
from netmon.simulate.routeros.server import FAULTS, RouterOsSimulator, SimRouter
from netmon.simulate.routeros.spec import router_spec

DEMO_ROUTEROS = Path(__file__).resolve().parent.parent.parent / "demo" / "routeros.yaml"
_ROUTER_KEYS = {"user", "password", "port", "tls", "site_id", "fault", "seed", "host", "tls_anonymous"}


def load_routers(path: Path = DEMO_ROUTEROS) -> list[SimRouter]:
    """Routers from a fleet file: `defaults:` fills every entry of `routers:`; each entry holds the SimRouter
    keys (router_id, version, user, password, site_id, port, tls, fault, ...) and the RouterSpec keys."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read RouterOS fleet: {exc.__class__.__name__}", file=str(path)) from exc
    if not isinstance(doc, dict) or set(doc) - {"defaults", "routers"}:
        raise ConfigError("expected a mapping with defaults: and routers:", file=str(path))
    defaults: dict[str, Any] = doc.get("defaults") or {}
    routers = [_router({**defaults, **raw}, path) for raw in doc.get("routers") or []]
    ids = [r.router_id for r in routers]
    if len(ids) != len(set(ids)):
        raise ConfigError("duplicate router_id", file=str(path), key="routers")
    return routers


def load_demo_routers() -> list[SimRouter]:
    """The demo routers (fresh objects on every call; ports 0 unless the file fixes them)."""
    return load_routers(DEMO_ROUTEROS)


def _router(raw: dict[str, Any], path: Path) -> SimRouter:
    own = {k: raw.pop(k) for k in list(raw) if k in _ROUTER_KEYS}
    if "user" not in own or "password" not in own:
        raise ConfigError(f"{raw.get('router_id')}: needs user and password", file=str(path))
    if own.get("fault", "normal") not in FAULTS:
        raise ConfigError(f"unknown fault {own['fault']!r}", file=str(path), key="fault")
    try:
        spec = router_spec(raw)
    except ConfigError as exc:
        raise ConfigError(str(exc), file=str(path)) from exc
    return SimRouter(router_id=spec.router_id, version=spec.version, data=spec, **own)


def run_forever(routers: list[SimRouter], *, on_started: Callable[[RouterOsSimulator], None] | None = None,
                clock: Callable[[], float] | None = None) -> None:
    """Serve `routers` until SIGINT/SIGTERM (blocking). `on_started` gets the simulator once all listen."""

    async def main() -> None:
        sim = RouterOsSimulator() if clock is None else RouterOsSimulator(clock=clock)
        for router in routers:
            sim.add(router)
        await sim.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            if on_started is not None:
                on_started(sim)
            await stop.wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
