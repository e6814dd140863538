"""Vendor SNMP profiles: YAML data (collectors/snmp/profiles/*.yaml) and the pure functions applying it.

The collector's sequence for one device:

1. GET sysObjectID/sysDescr, `ProfileSet.candidates(...)` (or `ProfileSet.get(name)` when the inventory names
   the profile); for each candidate whose `probe` is set, GETNEXT on it and keep the candidate only if the
   answer lies under the probe OID. The last candidate is always `generic`.
2. `profile.discovery_plan()` -> read it -> `profile.discover(varbinds)` -> `Discovery` (keep it until the
   next rediscovery).
3. Each poll: `profile.poll_plan(discovery)` -> read it -> `profile.samples(varbinds, discovery)`.

Reading a plan: every `get` OID with GET; every `walk` column with GETBULK/GETNEXT, keeping all varbinds
under the column. Absent objects (noSuchObject, endOfMibView) are simply absent keys.

Bad data: see collectors/snmp/mapping.py - uninterpretable values are skipped, never exported as zero;
`discover` raises `DeviceProtocolError` only when the system group is missing altogether.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from collectors.snmp import mapping
from collectors.snmp.mapping import Discovery, ReadPlan
from collectors.snmp.neighbour import Neighbour, neighbour_plan, neighbours
from collectors.snmp.selection import rank
from collectors.snmp.spec import ProfileSpec, build, parse_file
from collectors.snmp.varbind import Varbinds
from netmon.errors import ConfigError
from netmon.model import Sample

__all__ = ["Discovery", "Neighbour", "Profile", "ProfileSet", "ReadPlan", "load_profiles"]

GENERIC = "generic"
PACKAGED_DIR = Path(__file__).with_name("profiles")


@dataclass(frozen=True)
class Profile:
    """One vendor profile. `probe` is set only on a copy returned by `ProfileSet.candidates` whose
    match rule needs it (e.g. sysObjectID .10002.1 is shared by UniFi and airOS)."""

    name: str
    vendor: str
    spec: ProfileSpec = dataclasses.field(repr=False, compare=False)
    probe: str | None = None

    def discovery_plan(self) -> ReadPlan:
        return mapping.discovery_plan(self.spec)

    def discover(self, varbinds: Varbinds, role: str = "") -> Discovery:
        return mapping.discover(self.spec, varbinds, role)

    def poll_plan(self, discovery: Discovery) -> ReadPlan:
        return mapping.poll_plan(self.spec, discovery)

    def samples(self, varbinds: Varbinds, discovery: Discovery) -> list[Sample]:
        return mapping.samples(self.spec, varbinds, discovery)

    def neighbour_plan(self) -> ReadPlan:
        """The neighbour tables' columns (LLDP, MNDP): read at a slow cadence, not every poll."""
        return neighbour_plan(self.spec)

    def neighbours(self, varbinds: Varbinds, discovery: Discovery) -> list[Neighbour]:
        return neighbours(self.spec, varbinds, discovery.rows)


class ProfileSet:
    def __init__(self, specs: Iterable[ProfileSpec], *, digest: str = "") -> None:
        """`digest` identifies the profile files (`load_profiles` hashes them): stored discoveries made
        with other files are not used (collectors/snmp/stored.py)."""
        self.digest = digest
        self._profiles = {s.name: Profile(name=s.name, vendor=s.vendor, spec=s) for s in specs}
        self._probing: dict[tuple[str, str | None], Profile] = {}  # (name, probe) -> one copy (sessions keep it)
        if GENERIC not in self._profiles:
            raise ConfigError(f"no {GENERIC!r} profile")

    @property
    def names(self) -> list[str]:
        return sorted(self._profiles)

    def get(self, name: str) -> Profile:
        try:
            return self._profiles[name]
        except KeyError:
            raise ConfigError(f"unknown SNMP profile {name!r} (known: {', '.join(self.names)})",
                              key="profile") from None

    def candidates(self, sys_object_id: str, sys_descr: str) -> list[Profile]:
        """Profiles whose match rules fit, most specific first, always ending with `generic`."""
        specs = [p.spec for p in self._profiles.values() if p.name != GENERIC]
        found = [self._with_probe(spec.name, rule.probe) for spec, rule in rank(specs, sys_object_id, sys_descr)]
        return [*found, self._profiles[GENERIC]]

    def _with_probe(self, name: str, probe: str | None) -> Profile:
        found = self._probing.get((name, probe))
        if found is None:  # at most one per match rule
            found = self._probing[name, probe] = dataclasses.replace(self._profiles[name], probe=probe)
        return found


def load_profiles(directory: Path | None = None) -> ProfileSet:
    """Load every *.yaml in `directory` (default: the packaged profiles), resolving `extends`."""
    folder = directory or PACKAGED_DIR
    raw = {}
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.yaml")):
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode() + data)
        doc = parse_file(path)
        name = str(doc.get("name", ""))
        if not name:
            raise ConfigError("missing 'name'", file=str(path))
        if name in raw:
            raise ConfigError(f"profile {name!r} defined twice", file=str(path), key="name")
        raw[name] = (path, doc)
    built: dict[str, ProfileSpec] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> ProfileSpec:
        if name in built:
            return built[name]
        path, doc = raw[name]
        parent_name = doc.get("extends")
        parent = None
        if parent_name is not None:
            if parent_name not in raw:
                raise ConfigError(f"extends unknown profile {parent_name!r}", file=str(path),
                                  line=doc.lines.get("extends"), key="extends")
            if parent_name in chain:
                raise ConfigError(f"extends cycle: {' -> '.join((*chain, parent_name))}", file=str(path),
                                  key="extends")
            parent = resolve(parent_name, (*chain, name))
        built[name] = build(doc, str(path), parent)
        return built[name]

    for name in raw:
        resolve(name, (name,))
    return ProfileSet(built.values(), digest=digest.hexdigest())
