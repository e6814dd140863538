"""Parsed, validated form of a vendor profile YAML file (format reference: docs/profiles.md).

Parsing only: no SNMP values are touched here. Every error is a `ConfigError` naming the file, the line
and the key path, so a typo in a profile is found at start-up, not at the first poll.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from netmon.errors import ConfigError

IDENTITY_FIELDS = ("sys_descr", "sys_object_id", "sys_name", "model", "firmware", "serial")
WHEN_FIELDS = (*IDENTITY_FIELDS, "role")  # `when:` may also name the inventory role (router, ap, switch, other)
AGGREGATES = frozenset({"sum", "mean", "max", "min", "first"})
KINDS = frozenset({"gauge", "counter"})
_OID = re.compile(r"^\d+(\.\d+)+$")


@dataclass(frozen=True, slots=True)
class Source:
    """Where one text value (identity field or label) comes from, and how it is cleaned up."""

    get: str | None = None  # scalar OID (GET)
    walk: str | None = None  # column OID: identity takes the first row, a label the row's own index
    ref: str | None = None  # another identity field, e.g. sys_descr
    lookup: str | None = None  # label of another table's row with the same index (see index_arc)
    label: str | None = None  # which label of the looked-up row (default: the label being built)
    index_arc: int | None = None  # use only this arc of the row index (-1: last) for lookup / walk
    value: str | None = None  # a constant
    regex: re.Pattern[str] | None = None  # keep the first group (or the whole match) of the text
    template: str | None = None  # "{}" is replaced by the value
    map: Mapping[str, str] | None = None  # text -> label; unmapped values yield nothing
    band: bool = False  # frequency in MHz (or text starting with it) -> "2.4GHz", "5GHz", ...


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    rows: tuple[str, ...]  # columns walked at discovery; the union of their indexes is the row set
    where: Mapping[str, frozenset[str]]  # column -> accepted values (text), checked at discovery
    labels: Mapping[str, tuple[Source, ...]]


@dataclass(frozen=True, slots=True)
class Metric:
    id: str
    metric: str
    kind: str = "gauge"
    help: str = ""
    get: tuple[str, ...] = ()  # scalar OIDs, first present at discovery wins
    table: str | None = None
    walk: tuple[str, ...] = ()  # columns of `table`, per row the first present at discovery wins
    count: str | None = None  # column walked at every poll; only its row count is used
    group_by: Mapping[str, Source] = field(default_factory=dict)  # count: labels computed per row
    divide_by: tuple[str, ...] = ()  # denominator: scalar OIDs (with get) or columns (with walk)
    complement: bool = False  # value = 1 - value (after divide_by)
    scale: float = 1.0
    map: Mapping[str, float] | None = None  # enumerated value -> number
    default: float | None = None  # for map: unmapped values
    aggregate: str | None = None  # table metric folded to one sample: sum, mean, max, min, first
    labels: Mapping[str, str] = field(default_factory=dict)  # constant labels
    unless_rows: tuple[str, ...] = ()  # skip when any of these tables had rows at discovery
    subtract: tuple[str, ...] = ()  # scalar OIDs (with get) or columns (with walk) subtracted, all required
    when: Mapping[str, re.Pattern[str]] = field(default_factory=dict)  # identity field -> regex, all must match


@dataclass(frozen=True, slots=True)
class MatchRule:
    sys_object_id: tuple[str, ...] = ()  # prefixes, matched on arc boundaries
    sys_descr: re.Pattern[str] | None = None  # re.search
    probe: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    name: str
    vendor: str
    file: str
    match: tuple[MatchRule, ...]
    identity: Mapping[str, tuple[Source, ...]]
    tables: Mapping[str, Table]
    metrics: tuple[Metric, ...]
    extends: str | None = None
    neighbours: Mapping[str, NeighbourTable] = field(default_factory=dict)  # name -> table (lldp, mndp)


class _LineDict(dict[str, Any]):
    lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key (for error messages)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.lines[str(key)] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Ctx:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, message: str, node: Any, key: str, path: str) -> ConfigError:
        line = node.lines.get(key) if isinstance(node, _LineDict) else None
        return ConfigError(message, file=self.file, line=line, key=f"{path}.{key}".lstrip("."))

    def mapping(self, node: Any, path: str, allowed: frozenset[str], parent: Any, key: str) -> _LineDict:
        if not isinstance(node, _LineDict):
            raise self.fail("expected a mapping", parent, key, path)
        for k in node:
            if k not in allowed:
                raise self.fail(f"unknown key (allowed: {', '.join(sorted(allowed))})", node, k,
                                f"{path}.{key}")
        return node

    def oid(self, node: Any, value: Any, key: str, path: str) -> str:
        text = str(value).strip(".") if isinstance(value, str | int) else ""
        if not _OID.match(text):
            raise self.fail(f"not a numeric OID: {value!r}", node, key, path)
        return text

    def oids(self, node: Any, key: str, path: str) -> tuple[str, ...]:
        value = node[key]
        items = value if isinstance(value, list) else [value]
        return tuple(self.oid(node, item, key, path) for item in items)

    def regex(self, node: Any, key: str, path: str) -> re.Pattern[str]:
        try:
            return re.compile(str(node[key]))
        except re.error as exc:
            raise self.fail(f"bad regex: {exc}", node, key, path) from exc


_SOURCE_KEYS = frozenset({"get", "walk", "ref", "lookup", "label", "index_arc", "value", "regex", "template",
                          "map", "band"})


def _source(ctx: _Ctx, raw: Any, parent: Any, key: str, path: str) -> Source:
    node = ctx.mapping(raw, path, _SOURCE_KEYS, parent, key)
    here = f"{path}.{key}"
    kinds = [k for k in ("get", "walk", "ref", "lookup", "value") if k in node]
    if len(kinds) != 1:
        raise ctx.fail("needs exactly one of get, walk, ref, lookup, value", parent, key, path)
    if "ref" in node and node["ref"] not in IDENTITY_FIELDS:
        raise ctx.fail(f"unknown identity field {node['ref']!r}", node, "ref", here)
    return Source(
        get=ctx.oid(node, node["get"], "get", here) if "get" in node else None,
        walk=ctx.oid(node, node["walk"], "walk", here) if "walk" in node else None,
        ref=node.get("ref"),
        lookup=node.get("lookup"),
        label=node.get("label"),
        index_arc=int(node["index_arc"]) if "index_arc" in node else None,
        value=str(node["value"]) if "value" in node else None,
        regex=ctx.regex(node, "regex", here) if "regex" in node else None,
        template=str(node["template"]) if "template" in node else None,
        map={str(k): str(v) for k, v in node["map"].items()} if "map" in node else None,
        band=bool(node.get("band", False)),
    )


def _sources(ctx: _Ctx, raw: Any, parent: Any, key: str, path: str) -> tuple[Source, ...]:
    items = raw if isinstance(raw, list) else [raw]
    return tuple(_source(ctx, item, parent, key, path) for item in items)


_TABLE_KEYS = frozenset({"rows", "where", "labels"})
_METRIC_KEYS = frozenset({"id", "metric", "kind", "help", "get", "table", "walk", "count", "group_by",
                          "divide_by", "complement", "scale", "map", "default", "aggregate", "labels",
                          "unless_rows", "subtract", "when"})


def _table(ctx: _Ctx, name: str, raw: Any, parent: Any, path: str) -> Table:
    node = ctx.mapping(raw, path, _TABLE_KEYS, parent, name)
    here = f"{path}.{name}"
    if "rows" not in node:
        raise ctx.fail("a table needs rows (the columns whose indexes are its rows)", parent, name, path)
    where: dict[str, frozenset[str]] = {}
    for col, accepted in (node.get("where") or {}).items():
        values = accepted if isinstance(accepted, list) else [accepted]
        where[ctx.oid(node["where"], col, col, f"{here}.where")] = frozenset(str(v) for v in values)
    labels = {str(k): _sources(ctx, v, node["labels"], k, f"{here}.labels")
              for k, v in (node.get("labels") or {}).items()}
    return Table(name=name, rows=ctx.oids(node, "rows", here), where=where, labels=labels)


def _metric(ctx: _Ctx, raw: Any, parent: Any, position: int, path: str, tables: set[str]) -> Metric:
    node = ctx.mapping(raw, path, _METRIC_KEYS, parent, str(position)) if isinstance(raw, _LineDict) else None
    if node is None:
        raise ConfigError("expected a mapping", file=ctx.file, key=f"{path}[{position}]")
    here = f"{path}[{position}]"
    for required in ("id", "metric"):
        if required not in node:
            line = min(node.lines.values(), default=None)
            raise ConfigError(f"missing {required!r}", file=ctx.file, line=line, key=here)
    sources = [k for k in ("get", "walk", "count") if k in node]
    if len(sources) != 1:
        raise ctx.fail("needs exactly one of get, walk, count", node, "metric", here)
    if "walk" in node and node.get("table") not in tables:
        raise ctx.fail(f"walk needs table: one of {sorted(tables)}", node, "walk", here)
    kind = str(node.get("kind", "gauge"))
    if kind not in KINDS:
        raise ctx.fail(f"kind must be one of {sorted(KINDS)}", node, "kind", here)
    aggregate = node.get("aggregate")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise ctx.fail(f"aggregate must be one of {sorted(AGGREGATES)}", node, "aggregate", here)
    for t in node.get("unless_rows") or []:
        if t not in tables:
            raise ctx.fail(f"unknown table {t!r}", node, "unless_rows", here)
    if "subtract" in node and "count" in node:
        raise ctx.fail("subtract needs get or walk, not count", node, "subtract", here)
    mapping = node.get("map")
    return Metric(
        id=str(node["id"]),
        metric=str(node["metric"]),
        kind=kind,
        help=str(node.get("help", "")),
        get=ctx.oids(node, "get", here) if "get" in node else (),
        table=node.get("table"),
        walk=ctx.oids(node, "walk", here) if "walk" in node else (),
        count=ctx.oid(node, node["count"], "count", here) if "count" in node else None,
        group_by={str(k): _source(ctx, v, node["group_by"], k, f"{here}.group_by")
                  for k, v in (node.get("group_by") or {}).items()},
        divide_by=ctx.oids(node, "divide_by", here) if "divide_by" in node else (),
        complement=bool(node.get("complement", False)),
        scale=float(node.get("scale", 1.0)),
        map={str(k): float(v) for k, v in mapping.items()} if mapping else None,
        default=float(node["default"]) if "default" in node else None,
        aggregate=aggregate,
        labels={str(k): str(v) for k, v in (node.get("labels") or {}).items()},
        unless_rows=tuple(node.get("unless_rows") or ()),
        subtract=ctx.oids(node, "subtract", here) if "subtract" in node else (),
        when=_when(ctx, node, here) if "when" in node else {},
    )


def _when(ctx: _Ctx, node: Any, path: str) -> dict[str, re.Pattern[str]]:
    """`when: {firmware: '^8\\.7\\.[4-6]\\.'}`: the entry applies only to devices whose discovered identity
    fields (or inventory `role`) match these regexes (re.search), e.g. a divisor that only some firmware
    versions need."""
    raw = node["when"]
    if not isinstance(raw, _LineDict) or not raw:
        raise ctx.fail("when needs a mapping of identity field -> regex", node, "when", path)
    for key in raw:
        if key not in WHEN_FIELDS:
            raise ctx.fail(f"unknown identity field (allowed: {', '.join(WHEN_FIELDS)})", raw, key,
                           f"{path}.when")
    return {key: ctx.regex(raw, key, f"{path}.when") for key in raw}


_TOP_KEYS = frozenset({"name", "vendor", "extends", "match", "identity", "tables", "metrics", "neighbours"})
_MATCH_KEYS = frozenset({"sys_object_id", "sys_descr", "probe"})


def parse_file(path: Path) -> _LineDict:
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {exc}", file=str(path),
                          line=mark.line + 1 if mark is not None else None) from exc
    if not isinstance(data, _LineDict):
        raise ConfigError("a profile file must be a mapping", file=str(path))
    return data


def build(raw: Mapping[str, Any], file: str, parent: ProfileSpec | None) -> ProfileSpec:
    """Validate one profile document and merge it over its parent (`extends`)."""
    ctx = _Ctx(file)
    node = ctx.mapping(raw, "", _TOP_KEYS, {"": raw}, "") if isinstance(raw, _LineDict) else raw
    if "name" not in node:
        raise ConfigError("missing 'name'", file=file)
    match = _match_rules(ctx, node)
    identity = _merged_identity(ctx, node, parent)
    tables = _merged_tables(ctx, node, parent)
    table_names = set(tables)
    own = _own_metrics(ctx, node, table_names)
    own_ids = {m.id for m in own}
    inherited = [m for m in (parent.metrics if parent else ()) if m.id not in own_ids]
    return ProfileSpec(
        name=str(node["name"]),
        vendor=str(node.get("vendor", parent.vendor if parent else "")),
        file=file,
        match=match,
        identity=identity,
        tables=tables,
        metrics=tuple(own) + tuple(inherited),  # a child's metrics come first: first series wins
        extends=node.get("extends"),
        neighbours=_neighbour_tables(ctx, node, parent, table_names),
    )


def _match_rules(ctx: _Ctx, node: Mapping[str, Any]) -> tuple[MatchRule, ...]:
    match = []
    for i, rule in enumerate(node.get("match") or []):
        r = ctx.mapping(rule, "match", _MATCH_KEYS, node, str(i))
        match.append(MatchRule(
            sys_object_id=ctx.oids(r, "sys_object_id", f"match[{i}]") if "sys_object_id" in r else (),
            sys_descr=ctx.regex(r, "sys_descr", f"match[{i}]") if "sys_descr" in r else None,
            probe=ctx.oid(r, r["probe"], "probe", f"match[{i}]") if "probe" in r else None,
        ))
    return tuple(match)


def _merged_identity(ctx: _Ctx, node: Mapping[str, Any], parent: ProfileSpec | None) -> dict[str, tuple[Source, ...]]:
    """The parent's identity sources, each field the profile lists replacing the parent's."""
    identity = dict(parent.identity) if parent else {}
    raw_identity = node.get("identity") or {}
    for key, value in raw_identity.items():
        if key not in IDENTITY_FIELDS:
            raise ctx.fail(f"unknown identity field (allowed: {', '.join(IDENTITY_FIELDS)})", raw_identity,
                           key, "identity")
        identity[key] = _sources(ctx, value, raw_identity, key, "identity")
    return identity


def _merged_tables(ctx: _Ctx, node: Mapping[str, Any], parent: ProfileSpec | None) -> dict[str, Table]:
    """The parent's tables with the profile's own over them; every label lookup names a known table."""
    tables = dict(parent.tables) if parent else {}
    raw_tables = node.get("tables") or {}
    for name, value in raw_tables.items():
        tables[name] = _table(ctx, name, value, raw_tables, "tables")
    for table in tables.values():
        for label, srcs in table.labels.items():
            if any(s.lookup and s.lookup not in tables for s in srcs):
                raise ctx.fail(f"lookup of an unknown table in labels.{label}", raw_tables or node,
                               table.name, "tables")
    return tables


def _own_metrics(ctx: _Ctx, node: Mapping[str, Any], table_names: set[str]) -> list[Metric]:
    """The profile's own metrics: unique ids, group_by lookups of known tables."""
    own = [_metric(ctx, m, node.get("metrics"), i, "metrics", table_names)
           for i, m in enumerate(node.get("metrics") or [])]
    if len({m.id for m in own}) != len(own):
        raise ctx.fail("metric ids must be unique", node, "metrics", "")
    for m in own:
        for src in m.group_by.values():
            if src.lookup and src.lookup not in table_names:
                raise ctx.fail(f"unknown table {src.lookup!r} in group_by of {m.id}", node, "metrics", "")
    return own


# --- neighbour tables (LLDP-MIB, MikroTik MNDP): the `neighbours:` section, see docs/profiles.md ---


class NeighbourField(StrEnum):
    """What a neighbour table row can tell about a piece of equipment next to the device."""

    ADDRESS = "address"  # IPv4 management address: what the unknown-equipment rule matches the inventory on
    NAME = "name"  # LLDP system name, MNDP identity
    DESCRIPTION = "description"  # LLDP system description
    PLATFORM = "platform"
    VERSION = "version"
    SOFTWARE_ID = "software_id"
    CHASSIS_ID = "chassis_id"  # only subtypes that are not MAC addresses (the profile filters with `where`)
    PORT_ID = "port_id"
    INTERFACE = "interface"  # the device's own interface the neighbour was heard on


class Decode(StrEnum):
    TEXT = "text"
    IPV4 = "ipv4"  # IpAddress, four octets, or dotted text
    FAMILY_ADDRESS = "family_address"  # one IANA address-family octet, then the address (LLDP networkAddress)
    INET_INDEX = "inet_index"  # with index_of: <family>.<length>.<octets> after the neighbour's index


ADDRESS_DECODES = frozenset({Decode.IPV4, Decode.FAMILY_ADDRESS, Decode.INET_INDEX})


@dataclass(frozen=True, slots=True)
class NeighbourSource:
    walk: str | None = None  # column: its value at the neighbour's own index
    index_of: str | None = None  # column whose rows below the neighbour's index carry the value in their index
    where: Mapping[str, frozenset[str]] = field(default_factory=dict)  # column -> accepted values (same index)
    decode: Decode = Decode.TEXT
    lookup: str | None = None  # the value is a row index of this discovery table (e.g. ifIndex -> interface)
    label: str | None = None  # ... whose label is taken (default: the field's name)


@dataclass(frozen=True, slots=True)
class NeighbourTable:
    name: str
    rows: tuple[str, ...]  # columns walked; the union of their indexes is the set of neighbours
    fields: Mapping[NeighbourField, tuple[NeighbourSource, ...]]


_NEIGHBOUR_TABLE_KEYS = frozenset({"rows", "fields"})
_NEIGHBOUR_SOURCE_KEYS = frozenset({"walk", "index_of", "where", "decode", "lookup", "label"})


def _where(ctx: _Ctx, node: Any, here: str) -> dict[str, frozenset[str]]:
    where: dict[str, frozenset[str]] = {}
    raw = node.get("where") or {}
    if not isinstance(raw, Mapping):
        raise ctx.fail("expected a mapping of column -> accepted values", node, "where", here)
    for col, accepted in raw.items():
        values = accepted if isinstance(accepted, list) else [accepted]
        where[ctx.oid(raw, col, col, f"{here}.where")] = frozenset(str(v) for v in values)
    return where


def _neighbour_source(ctx: _Ctx, raw: Any, parent: Any, key: str, path: str, name: NeighbourField,
                      tables: set[str]) -> NeighbourSource:
    node = ctx.mapping(raw, path, _NEIGHBOUR_SOURCE_KEYS, parent, key)
    here = f"{path}.{key}"
    if ("walk" in node) == ("index_of" in node):
        raise ctx.fail("needs exactly one of walk, index_of", parent, key, path)
    try:
        decode = Decode(str(node.get("decode", Decode.TEXT)))
    except ValueError:
        raise ctx.fail(f"decode must be one of {[d.value for d in Decode]}", node, "decode", here) from None
    if (name is NeighbourField.ADDRESS) != (decode in ADDRESS_DECODES):
        raise ctx.fail("address needs decode ipv4, family_address or inet_index; other fields are text",
                       node, "decode" if "decode" in node else ("walk" if "walk" in node else "index_of"), here)
    if ("index_of" in node) != (decode is Decode.INET_INDEX):
        raise ctx.fail("index_of goes with decode: inet_index (and only with it)", node,
                       "index_of" if "index_of" in node else "decode", here)
    lookup = node.get("lookup")
    if lookup is not None and lookup not in tables:
        raise ctx.fail(f"lookup of an unknown table {lookup!r}", node, "lookup", here)
    return NeighbourSource(
        walk=ctx.oid(node, node["walk"], "walk", here) if "walk" in node else None,
        index_of=ctx.oid(node, node["index_of"], "index_of", here) if "index_of" in node else None,
        where=_where(ctx, node, here),
        decode=decode,
        lookup=str(lookup) if lookup is not None else None,
        label=str(node["label"]) if "label" in node else None,
    )


def _neighbour_table(ctx: _Ctx, name: str, raw: Any, parent: Any, path: str, tables: set[str]) -> NeighbourTable:
    node = ctx.mapping(raw, path, _NEIGHBOUR_TABLE_KEYS, parent, name)
    here = f"{path}.{name}"
    if "rows" not in node or "fields" not in node:
        raise ctx.fail("a neighbour table needs rows and fields", parent, name, path)
    raw_fields = ctx.mapping(node["fields"], here, frozenset(f.value for f in NeighbourField), node, "fields")
    fields: dict[NeighbourField, tuple[NeighbourSource, ...]] = {}
    for key, value in raw_fields.items():
        items = value if isinstance(value, list) else [value]
        fields[NeighbourField(key)] = tuple(_neighbour_source(ctx, item, raw_fields, key, f"{here}.fields",
                                                              NeighbourField(key), tables) for item in items)
    return NeighbourTable(name=name, rows=ctx.oids(node, "rows", here), fields=fields)


def _neighbour_tables(ctx: _Ctx, node: Any, parent: ProfileSpec | None,
                      tables: set[str]) -> dict[str, NeighbourTable]:
    """The parent's neighbour tables, with this file's tables added (a table of the same name replaces it)."""
    found = dict(parent.neighbours) if parent else {}
    raw = node.get("neighbours")
    if raw is None:
        return found
    if not isinstance(raw, _LineDict):
        raise ctx.fail("expected a mapping of table name -> table", node, "neighbours", "")
    for name, value in raw.items():
        found[name] = _neighbour_table(ctx, name, value, raw, "neighbours", tables)
    return found
