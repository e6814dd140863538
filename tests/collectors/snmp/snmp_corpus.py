"""Corpus helpers for the profile tests: recordings as Varbinds, and reading a ReadPlan the way an agent
would answer it (GET = exact OID, walk = every record under the column, GETNEXT for probes).

Recordings come from the shared corpus (../shared/corpus) and from tests/fixtures (recordings the corpus
lacks, e.g. Cambium ePMP); a name (file stem) is unique across both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from snmpsim_fixture import CORPUS, FIXTURES

from collectors.snmp.profile import Profile, ProfileSet, ReadPlan
from collectors.snmp.varbind import SnmpValue, Varbinds, oid_tuple
from netmon.simulate.snmprec import load

SNMPREC_DIRS = (CORPUS / "snmprec", FIXTURES / "snmprec")
EXPECTED_DIRS = (CORPUS / "librenms-expected", FIXTURES / "librenms-expected")
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


def _files(dirs: tuple[Path, ...], suffix: str) -> dict[str, Path]:
    return {p.stem: p for d in dirs for p in sorted(d.glob(f"*{suffix}"))}


def recordings() -> list[str]:
    return sorted(_files(SNMPREC_DIRS, ".snmprec"))


def with_expected() -> list[str]:
    return sorted(_files(EXPECTED_DIRS, ".json"))


def varbinds(name: str) -> dict[str, SnmpValue]:
    path = _files(SNMPREC_DIRS, ".snmprec")[name]
    return {r.oid_text: r.value for r in load(path) if r.value is not None}


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_files(EXPECTED_DIRS, ".json")[name].read_text())
    return data


def read(agent: Varbinds, plan: ReadPlan) -> dict[str, SnmpValue]:
    out = {oid: agent[oid] for oid in plan.get if oid in agent}
    for col in plan.walk:
        prefix = col + "."
        out.update({oid: v for oid, v in agent.items() if oid.startswith(prefix)})
    return out


def getnext_under(agent: Varbinds, prefix: str) -> bool:
    """GETNEXT on `prefix`: does the next OID in the agent's (numeric) order lie under it?"""
    start = oid_tuple(prefix)
    following = sorted(o for o in map(oid_tuple, agent) if o > start)
    return bool(following) and following[0][: len(start)] == start


def text(value: SnmpValue | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def select(profiles: ProfileSet, agent: Varbinds) -> Profile:
    """The collector's choice: first candidate whose probe (if any) answers."""
    for profile in profiles.candidates(text(agent.get(SYS_OBJECT_ID)), text(agent.get(SYS_DESCR))):
        if profile.probe is None or getnext_under(agent, profile.probe):
            return profile
    raise AssertionError("candidates() must end with generic")


def labels_of(sample: Any) -> dict[str, str]:
    return dict(sample.labels)


def repo_path(*parts: str) -> Path:
    return Path(__file__).resolve().parents[3].joinpath(*parts)
