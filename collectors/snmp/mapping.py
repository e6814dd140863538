"""Applying a parsed profile to varbinds: discovery, poll plan and samples. Pure functions, no I/O.

Bad data policy (one rule, everywhere): a value that is absent (noSuchObject/noSuchInstance, a truncated
table) or cannot be interpreted (bytes where a number is expected, unparsable text, an unmapped enum) is
skipped: its sample, row or label is left out and the rest is still mapped. The only error raised is
`DeviceProtocolError` from `discover` when the answer holds none of the SNMPv2-MIB system group, because
then nothing the device said can be attributed to it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from itertools import chain

from collectors.snmp.spec import IDENTITY_FIELDS, Metric, ProfileSpec, Source, Table
from collectors.snmp.value import as_number, as_text, band_of, column, index_part
from collectors.snmp.varbind import SnmpValue, Varbinds, oid_tuple
from netmon.errors import DeviceProtocolError
from netmon.model import DeviceIdentity, Labels, Sample, SampleKind, SharedPool

RowLabels = Mapping[str, str]
_Emit = Callable[[Metric, float | None, Mapping[str, str]], None]
Choice = tuple[str, str | None]  # (value OID or column, divisor OID or column)


@dataclass(frozen=True, slots=True)
class Discovery:
    """What discovery learnt: identity, the rows of each table with their labels (e.g. interface name by
    ifIndex, ssid/band by wifi index) and, per metric, which OID or column each row is read from (e.g.
    ifHCInOctets where the interface has it, else ifInOctets).

    Kept per device for hours, so `discover` (and a stored discovery read back) returns it `shared`: its
    parts equal to another device's are that device's objects. Never change a discovery's mappings."""

    identity: DeviceIdentity
    rows: Mapping[str, Mapping[str, RowLabels]] = field(default_factory=dict)
    choice: Mapping[str, Mapping[str, Choice]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReadPlan:
    get: tuple[str, ...] = ()  # scalar OIDs (with .0) to GET
    walk: tuple[str, ...] = ()  # column OIDs to bulk-walk


def _plan(get: set[str], walk: set[str]) -> ReadPlan:
    plan = ReadPlan(get=tuple(sorted(get, key=oid_tuple)), walk=tuple(sorted(walk, key=oid_tuple)))
    return _PLANS.get(plan, plan)


def discovery_plan(spec: ProfileSpec) -> ReadPlan:
    get: set[str] = set()
    walk: set[str] = set()
    sources = [s for srcs in spec.identity.values() for s in srcs]
    for table in spec.tables.values():
        walk.update(table.rows)
        walk.update(table.where)
        sources.extend(s for srcs in table.labels.values() for s in srcs)
    for src in sources:
        if src.get:
            get.add(src.get)
        if src.walk:
            walk.add(src.walk)
    for m in spec.metrics:
        if m.get:
            get.update(m.get)
            get.update(m.divide_by)
            get.update(m.subtract)
        elif len(m.walk) > 1:  # per-row alternatives: presence decides; the last one is the fallback
            walk.update(m.walk[:-1])
    return _plan(get, walk)


def _transform(text: str | None, src: Source) -> str | None:
    if text is None:
        return None
    if src.regex is not None:
        match = src.regex.search(text)
        if not match:
            return None
        text = match.group(1) if match.groups() else match.group(0)
    if src.map is not None:
        text = src.map.get(text)
        if text is None:
            return None
    if src.template is not None:
        text = src.template.replace("{}", text)
    return text.strip() or None


def _identity_value(varbinds: Varbinds, src: Source, known: Mapping[str, str]) -> str | None:
    raw: SnmpValue | None = None
    if src.get:
        raw = varbinds.get(src.get)
    elif src.walk:
        rows = column(varbinds, src.walk)  # the first row with some text
        raw = next((rows[i] for i in sorted(rows, key=oid_tuple) if as_text(rows[i])), None)
    elif src.ref:
        raw = known.get(src.ref) or None
    elif src.value is not None:
        raw = src.value
    text = band_of(raw) if src.band else as_text(raw)
    return _transform(text, src)


def _label_value(varbinds: Varbinds, src: Source, index: str, name: str,
                 rows: Mapping[str, Mapping[str, RowLabels]],
                 cache: dict[str, dict[str, SnmpValue]]) -> str | None:
    key = index_part(index, src.index_arc)
    raw: SnmpValue | None = None
    if src.walk:
        if src.walk not in cache:
            cache[src.walk] = column(varbinds, src.walk)
        raw = cache[src.walk].get(key)
    elif src.lookup:
        raw = rows.get(src.lookup, {}).get(key, {}).get(src.label or name)
    elif src.value is not None:
        raw = src.value
    text = band_of(raw) if src.band else as_text(raw)
    return _transform(text, src)


def _table_rows(varbinds: Varbinds, table: Table, rows: Mapping[str, Mapping[str, RowLabels]],
                cache: dict[str, dict[str, SnmpValue]]) -> dict[str, RowLabels]:
    indexes: set[str] = set()
    for col in table.rows:
        cache.setdefault(col, column(varbinds, col))
        indexes.update(cache[col])
    for col, accepted in table.where.items():
        cache.setdefault(col, column(varbinds, col))
        indexes = {i for i in indexes if (as_text(cache[col].get(i)) or "").strip(".") in accepted}
    result: dict[str, RowLabels] = {}
    seen: set[tuple[str, ...]] = set()
    for index in sorted(indexes, key=oid_tuple):
        labels: dict[str, str] = {}
        for name, sources in table.labels.items():
            values = (_label_value(varbinds, s, index, name, rows, cache) for s in sources)
            labels[name] = next((v for v in values if v), "")
        if labels and tuple(labels.values()) in seen:  # two rows named alike (airFiber: two "eth0")
            first = next(iter(labels))
            labels[first] = f"{labels[first]}#{index}"
        seen.add(tuple(labels.values()))
        result[index] = labels
    return result


def _table_order(spec: ProfileSpec) -> list[Table]:
    """Tables whose labels look up another table come after it."""
    done: list[Table] = []
    pending = list(spec.tables.values())
    while pending:
        ready = [t for t in pending
                 if all(s.lookup in {d.name for d in done} or not s.lookup
                        for srcs in t.labels.values() for s in srcs)]
        if not ready:  # a lookup cycle or unknown table: resolve the rest without those labels
            ready = pending
        done.extend(ready)
        pending = [t for t in pending if t not in ready]
    return done


def _series_key(metric: Metric) -> tuple[str, Labels]:
    return metric.metric, tuple(sorted(metric.labels.items()))


def discover(spec: ProfileSpec, varbinds: Varbinds, role: str = "") -> Discovery:
    """`role` is the device's inventory role, for `when: {role: ...}` entries."""
    known: dict[str, str] = {}
    for name in IDENTITY_FIELDS:
        for src in spec.identity.get(name, ()):
            value = _identity_value(varbinds, src, known)
            if value:
                known[name] = value
                break
    if not any(known.get(k) for k in ("sys_descr", "sys_object_id", "sys_name")):
        raise DeviceProtocolError("no SNMPv2-MIB system group (sysDescr/sysObjectID/sysName) in the answer")
    identity = DeviceIdentity(profile=spec.name, vendor=spec.vendor, **known)
    cache: dict[str, dict[str, SnmpValue]] = {}
    rows: dict[str, dict[str, RowLabels]] = {}
    for table in _table_order(spec):
        rows[table.name] = _table_rows(varbinds, table, rows, cache)
    choice: dict[str, dict[str, Choice]] = {}
    claimed: set[tuple[str, Labels]] = set()
    for m in spec.metrics:
        if not _applies(m, {**known, "role": role}):
            continue
        picked = _choose(m, varbinds, rows, cache)
        if not picked:
            continue
        if m.get or m.aggregate:  # one series: the first metric entry that has data claims it
            key = _series_key(m)
            if key in claimed:
                continue
            claimed.add(key)
        choice[m.id] = picked
    return shared(Discovery(identity=identity, rows=rows, choice=choice))


# --- sharing what devices discover alike -----------------------------------------------------------------
# A worker keeps a discovery per device (15,000 of them), and most of one is what every device of its model
# has too: the column each metric reads per row, rows named alike (ether1, wlan1), a site's SSIDs. So each
# part is shared at the grain where a real fleet repeats itself: each row's labels, each table, each (column,
# divisor), each metric's choice and a whole choice (which depends on the model and its row indexes, not on
# names), and the poll plan; a device whose interfaces differ still shares its rows named alike. The pools
# are keyed by flat tuples (k1, v1, k2, v2, ...: equal keys are equal mappings in the same order), whose
# values are the shared parts' own keys; every pool is bounded (SharedPool), strings are interned.

_POOL_CAP = 50_000
_Flat = tuple[object, ...]
_PLANS: SharedPool[ReadPlan, ReadPlan] = SharedPool(_POOL_CAP)
_ROW_LABELS: SharedPool[_Flat, tuple[_Flat, RowLabels]] = SharedPool(_POOL_CAP)
_TABLE_ROWS: SharedPool[_Flat, Mapping[str, RowLabels]] = SharedPool(_POOL_CAP)
_CHOICES: SharedPool[Choice, Choice] = SharedPool(_POOL_CAP)
_METRIC_CHOICE: SharedPool[_Flat, tuple[_Flat, Mapping[str, Choice]]] = SharedPool(_POOL_CAP)
_CHOICE: SharedPool[_Flat, Mapping[str, Mapping[str, Choice]]] = SharedPool(_POOL_CAP)


def shared(discovery: Discovery) -> Discovery:
    """An equal discovery whose parts are the objects of other discoveries' equal parts (in the same order:
    row order decides sums and which series wins)."""
    identity = DeviceIdentity(**{f.name: sys.intern(getattr(discovery.identity, f.name))
                                 for f in fields(DeviceIdentity)})
    rows = {sys.intern(table): _shared_table(table_rows) for table, table_rows in discovery.rows.items()}
    return Discovery(identity=identity, rows=rows, choice=_shared_choice(discovery.choice))


def _shared_table(table_rows: Mapping[str, RowLabels]) -> Mapping[str, RowLabels]:
    flat: list[object] = []
    found: dict[str, RowLabels] = {}
    for index, labels in table_rows.items():
        index = sys.intern(index)
        row = {sys.intern(name): sys.intern(value) for name, value in labels.items()}
        row_key: _Flat = tuple(chain.from_iterable(row.items()))
        row_key, found[index] = _ROW_LABELS.get(row_key, (row_key, row))
        flat += (index, row_key)
    return _TABLE_ROWS.get(tuple(flat), found)


def _shared_choice(choice: Mapping[str, Mapping[str, Choice]]) -> Mapping[str, Mapping[str, Choice]]:
    flat: list[object] = []
    found: dict[str, Mapping[str, Choice]] = {}
    for metric, picked in choice.items():
        metric = sys.intern(metric)
        rows = {sys.intern(index): _shared_pair(pair) for index, pair in picked.items()}
        rows_key: _Flat = tuple(chain.from_iterable(rows.items()))
        rows_key, found[metric] = _METRIC_CHOICE.get(rows_key, (rows_key, rows))
        flat += (metric, rows_key)
    return _CHOICE.get(tuple(flat), found)


def _shared_pair(pair: Choice) -> Choice:
    col, divisor = pair
    interned = (sys.intern(col), None if divisor is None else sys.intern(divisor))
    return _CHOICES.get(interned, interned)


def _applies(m: Metric, identity: Mapping[str, str]) -> bool:
    """`when`: every named identity field (or the inventory role) is known and matches its regex."""
    return all(pattern.search(identity.get(name, "")) for name, pattern in m.when.items())


def _choose(m: Metric, varbinds: Varbinds, rows: Mapping[str, Mapping[str, RowLabels]],
            cache: dict[str, dict[str, SnmpValue]]) -> dict[str, Choice]:
    if any(rows.get(t) for t in m.unless_rows):
        return {}
    if m.count:
        return {"": (m.count, None)}
    if m.get:
        oid = next((o for o in m.get if o in varbinds), None)
        if oid is None:
            return {}
        divisor = next((o for o in m.divide_by if o in varbinds), None)
        if m.divide_by and divisor is None:
            return {}
        if any(o not in varbinds for o in m.subtract):
            return {}
        return {"": (oid, divisor)}
    picked: dict[str, Choice] = {}
    table_rows = rows.get(m.table or "", {})
    for index in table_rows:
        col = m.walk[-1]
        for alternative in m.walk[:-1]:
            cache.setdefault(alternative, column(varbinds, alternative))
            if index in cache[alternative]:
                col = alternative
                break
        picked[index] = (col, m.divide_by[0] if m.divide_by else None)
    return picked


def poll_plan(spec: ProfileSpec, discovery: Discovery) -> ReadPlan:
    get: set[str] = set()
    walk: set[str] = set()
    for m in spec.metrics:
        for value_oid, divisor in discovery.choice.get(m.id, {}).values():
            target = get if m.get else walk
            target.add(value_oid)
            target.update(m.subtract)
            if divisor:
                target.add(divisor)
    return _plan(get, walk)


def _number(m: Metric, raw: SnmpValue | None) -> float | None:
    if m.map is not None:
        key = as_text(raw) if not isinstance(raw, int) else str(raw)
        mapped = m.map.get(key or "")
        return mapped if mapped is not None else m.default
    return as_number(raw)


def _less(m: Metric, value: float | None, varbinds: Varbinds, index: str | None = None) -> float | None:
    """`subtract`: the value minus every listed scalar (or the same row of every listed column), e.g.
    memTotalReal - memAvailReal - memBuffer - memCached. Any part missing, or a negative result (parts read
    at different instants of a changing quantity), gives no value."""
    if value is None or not m.subtract:
        return value
    for oid in m.subtract:
        part = as_number(varbinds.get(oid if index is None else f"{oid}.{index}"))
        if part is None:
            return None
        value -= part
    return value if value >= 0 else None


def _finish(m: Metric, value: float) -> float:
    if m.complement:
        value = 1.0 - value
    return value * m.scale


def _fold(m: Metric, values: list[float], divisors: list[float]) -> float | None:
    if not values:
        return None
    if m.divide_by:
        total = sum(divisors)
        return sum(values) / total if total else None
    if m.aggregate == "sum":
        return sum(values)
    if m.aggregate == "mean":
        return sum(values) / len(values)
    if m.aggregate == "max":
        return max(values)
    if m.aggregate == "min":
        return min(values)
    return values[0]


def samples(spec: ProfileSpec, varbinds: Varbinds, discovery: Discovery) -> list[Sample]:
    out: dict[tuple[str, Labels], Sample] = {}

    def emit(m: Metric, value: float | None, labels: Mapping[str, str]) -> None:
        if value is None:
            return
        merged: Labels = tuple(sorted({**labels, **m.labels}.items()))
        key = (m.metric, merged)
        if key in out:  # the same series from two sources: the first listed wins
            return
        kind = SampleKind.COUNTER if m.kind == "counter" else SampleKind.GAUGE
        out[key] = Sample(metric=m.metric, value=_finish(m, value), labels=merged, kind=kind, help=m.help)

    for m in spec.metrics:
        chosen = discovery.choice.get(m.id)
        if not chosen:
            continue
        if m.count:
            _emit_counts(m, varbinds, discovery, emit)
        elif m.get:
            emit(m, _scalar_value(m, varbinds, chosen[""]), {})
        elif m.aggregate:
            emit(m, _aggregate_value(m, varbinds, chosen), {})
        else:
            for labels, total in _row_values(m, varbinds, chosen, discovery.rows.get(m.table or "", {})).items():
                emit(m, total, dict(labels))
    return list(out.values())


def _scalar_value(m: Metric, varbinds: Varbinds, choice: Choice) -> float | None:
    """A scalar metric: its value (less `subtract`), divided by its divisor OID if it has one."""
    oid, divisor = choice
    value = _less(m, _number(m, varbinds.get(oid)), varbinds)
    if divisor is None or value is None:
        return value
    denominator = as_number(varbinds.get(divisor))
    return value / denominator if denominator else None


def _aggregate_value(m: Metric, varbinds: Varbinds, chosen: Mapping[str, Choice]) -> float | None:
    """A table folded into one value (`aggregate`); a row whose divisor is missing is left out."""
    values: list[float] = []
    divisors: list[float] = []
    for index, (col, div) in chosen.items():
        value = _less(m, _number(m, varbinds.get(f"{col}.{index}")), varbinds, index)
        if value is None:
            continue
        denominator = as_number(varbinds.get(f"{div}.{index}")) if div else None
        if div and denominator is None:
            continue
        values.append(value)
        divisors.append(denominator or 0.0)
    return _fold(m, values, divisors)


def _row_values(m: Metric, varbinds: Varbinds, chosen: Mapping[str, Choice],
                table_rows: Mapping[str, RowLabels]) -> dict[tuple[tuple[str, str], ...], float]:
    """A table metric per row labels; rows with equal labels are summed, a row whose divisor is 0 or
    missing is left out."""
    per_row: dict[tuple[tuple[str, str], ...], float] = {}
    for index, (col, div) in chosen.items():
        value = _less(m, _number(m, varbinds.get(f"{col}.{index}")), varbinds, index)
        if value is None:
            continue
        if div:
            denominator = as_number(varbinds.get(f"{div}.{index}"))
            if not denominator:
                continue
            value = value / denominator
        key = tuple(table_rows.get(index, {}).items())
        per_row[key] = per_row.get(key, 0.0) + value
    return per_row


def _emit_counts(m: Metric, varbinds: Varbinds, discovery: Discovery, emit: _Emit) -> None:
    """Count the rows of one column (e.g. hotspot users); values are never exported, only the count."""
    assert m.count is not None
    counts: dict[tuple[tuple[str, str], ...], int] = {}
    if not m.group_by:
        counts[()] = 0
    for index in column(varbinds, m.count):
        labels = tuple((name, _label_value(varbinds, src, index, name, discovery.rows, {}) or "")
                       for name, src in m.group_by.items())
        counts[labels] = counts.get(labels, 0) + 1
    for labels, n in counts.items():
        emit(m, float(n), dict(labels))
