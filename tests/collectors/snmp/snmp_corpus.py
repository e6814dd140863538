"""Corpus helpers for the profile tests: recordings as Varbinds, and reading a ReadPlan the way an agent
would answer it (GET = exact OID, walk = every record under the column, GETNEXT for probes).

`RecordedReader` is an `SnmpReader` (collectors/snmp/reader.py) answering from a recording, for collector tests
that need no wire (the wire is tested against snmpsim and snmpd).

Recordings come from the shared corpus (../shared/corpus) and from tests/fixtures (recordings the corpus
lacks, e.g. Cambium ePMP); a name (file stem) is unique across both."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from snmpsim_fixture import CORPUS, FIXTURES

from collectors.snmp.profile import Profile, ProfileSet, ReadPlan
from collectors.snmp.varbind import SnmpValue, Varbinds, oid_tuple
from netmon.errors import CollectorError
from netmon.model import Device
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


class RecordedReader:
    """An agent serving a recording, as an `SnmpReader`: GET = exact OID, GETNEXT in numeric OID order, walk =
    every record under each column. Every walk's columns are kept in `walked`; a walk that includes a column
    of `failing` raises that column's error (an agent that answers that table with garbage, say)."""

    def __init__(self, agent: Varbinds) -> None:
        self.agent = agent
        self._order = sorted((oid_tuple(oid), oid) for oid in agent)
        self.walked: list[list[str]] = []
        self.failing: dict[str, CollectorError] = {}

    async def open(self, device: Device) -> RecordedReader:
        """The collector's `open_reader`: every device reads this recording."""
        return self

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        return {oid: self.agent[oid] for oid in oids if oid in self.agent}

    async def next(self, oid: str) -> tuple[str, SnmpValue] | None:
        at = bisect.bisect_right(self._order, (oid_tuple(oid), "\uffff"))
        if at == len(self._order):
            return None
        following = self._order[at][1]
        return following, self.agent[following]

    async def walk(self, columns: Iterable[str]) -> dict[str, SnmpValue]:
        columns = list(columns)
        self.walked.append(columns)
        for col in columns:
            if col in self.failing:
                raise self.failing[col]
        return read(self.agent, ReadPlan(walk=tuple(columns)))
