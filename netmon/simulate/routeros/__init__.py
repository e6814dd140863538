"""RouterOS API simulator: the binary API protocol (plain and API-SSL) over asyncio, serving invented data.

Modules: `wire` (word/sentence encoding), `query` (`?` query evaluation), `session` (per-connection protocol
state machine), `spec` (declarative router description), `data` / `registration` / `clients` (menus and
moving values as pure functions of time), `tls` (certificates), `server` (listeners, faults), `fleet`
(demo fleet file, blocking runner).
"""

from netmon.simulate.routeros.fleet import load_demo_routers, load_routers, run_forever
from netmon.simulate.routeros.server import FAULTS, RouterOsSimulator, SimRouter, default_spec

__all__ = ["FAULTS", "RouterOsSimulator", "SimRouter", "default_spec", "load_demo_routers", "load_routers",
           "run_forever"]
