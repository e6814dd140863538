"""One simulated device's managed objects: sorted snmprec records answering GET and GETNEXT.

Pure (no sockets, no pysnmp): `get` and `next` return what an agent puts in a response varbind, with the
RFC 3416 exceptions as `Miss` values. Records are ordered lexicographically by numeric OID (tuple order),
whatever the order in the file. Values with a variation are computed at request time from `clock()` and
the device's `boot` time (see `netmon.simulate.variation`).

noSuchObject vs noSuchInstance: a flat recording has no MIB, so the object type is guessed. A missing OID
is noSuchInstance when a record shares every arc but its last one (another instance of the same scalar
or single-index column) or lies below it; otherwise noSuchObject. Multi-arc indexes missing in their
first index arc therefore get noSuchObject where a MIB-aware agent would say noSuchInstance.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from collectors.snmp.varbind import SnmpValue
from netmon.simulate import snmprec, variation
from netmon.simulate.snmprec import SnmpRecord

Oid = tuple[int, ...]


class Miss(Enum):
    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


@dataclass(frozen=True, slots=True)
class Served:
    oid: Oid
    tag: int
    value: SnmpValue | None
    record: SnmpRecord  # `record.variation is None` means the value never changes


class RecordStore:
    """Sorted records of one device. `boot` may be moved (a simulated reboot restarts counters/uptime)."""

    def __init__(self, records: Iterable[SnmpRecord], *, name: str = "<records>",
                 clock: Callable[[], float] = time.time, boot: float | None = None) -> None:
        by_oid: dict[Oid, SnmpRecord] = {}
        for record in records:
            variation.check(record, file=name)
            by_oid[record.oid] = record  # a duplicate OID: the last one wins
        self.name = name
        self._records = [by_oid[oid] for oid in sorted(by_oid)]
        self._oids = [r.oid for r in self._records]
        self._moving = any(r.variation == "row" for r in self._records)
        self.clock = clock
        self.boot = clock() if boot is None else boot

    @classmethod
    def from_file(cls, path: Path, *, clock: Callable[[], float] = time.time,
                  boot: float | None = None) -> RecordStore:
        return cls(snmprec.load(path), name=str(path), clock=clock, boot=boot)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def records(self) -> list[SnmpRecord]:
        return list(self._records)

    def reboot(self, at: float | None = None) -> None:
        self.boot = self.clock() if at is None else at

    def get(self, oid: Oid, now: float | None = None) -> Served | Miss:
        now = self.clock() if now is None else now
        i = bisect_left(self._oids, oid)
        if i < len(self._oids) and self._oids[i] == oid:
            record = self._records[i]
            if not self._moving or variation.is_present(record, now=now):
                return self._serve(record, now)
            return Miss.NO_SUCH_INSTANCE
        return self._miss_kind(oid, i)

    def next(self, oid: Oid, now: float | None = None) -> Served | Miss:
        """The first record strictly after `oid` (that exists at `now`), or END_OF_MIB_VIEW."""
        now = self.clock() if now is None else now
        i = bisect_right(self._oids, oid)
        while i < len(self._records):
            record = self._records[i]
            if not self._moving or variation.is_present(record, now=now):
                return self._serve(record, now)
            i += 1
        return Miss.END_OF_MIB_VIEW

    def _serve(self, record: SnmpRecord, now: float) -> Served:
        value = record.value if record.variation is None else variation.value_at(record, now=now,
                                                                                  boot=self.boot)
        return Served(record.oid, record.tag, value, record)

    def _miss_kind(self, oid: Oid, i: int) -> Miss:
        parent = oid[:-1]
        for j in (i - 1, i):
            if 0 <= j < len(self._oids):
                other = self._oids[j]
                if other[: len(oid)] == oid or (parent and other[: len(parent)] == parent):
                    return Miss.NO_SUCH_INSTANCE
        return Miss.NO_SUCH_OBJECT
