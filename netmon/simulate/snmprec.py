"""Reader for snmpsim's `.snmprec` recording format (`OID|tag|value`, one record a line).

Tags are decimal BER tag numbers (2 Integer32, 4 OCTET STRING, 5 NULL, 6 OID, 64 IpAddress,
65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64) with optional modifiers: `x` hex value,
`e` Python string literal, `:variation` (e.g. `70:rate`).

A record with a variation keeps the variation name and its arguments: the value field is then a
comma-separated list of `key=value` arguments (snmpsim's convention), e.g. `70:rate|rate=1250000,initial=0`.
An argument named `value` runs to the end of the line (it may hold commas) and is decoded like a plain
value of the tag (honouring `x`/`e`); it becomes `SnmpRecord.value`. Without it, `value` is the tag's zero
(0, b"", "0.0", "0.0.0.0"). `netmon.simulate.variation` documents the variations and computes the values
that move; other readers may ignore the two variation fields and see the static value.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from collectors.snmp.varbind import SnmpValue, oid_tuple
from netmon.errors import ConfigError

INTEGER_TAGS = frozenset({2, 65, 66, 67, 70})
KNOWN_TAGS = INTEGER_TAGS | {4, 5, 6, 64, 68}


@dataclass(frozen=True, slots=True)
class SnmpRecord:
    oid: tuple[int, ...]
    tag: int
    value: SnmpValue | None  # None for NULL
    variation: str | None = None
    variation_args: tuple[tuple[str, str], ...] = ()

    def arg(self, key: str, default: str | None = None) -> str | None:
        """One variation argument by name (`None`/default when absent)."""
        for name, text in self.variation_args:
            if name == key:
                return text
        return default

    @property
    def oid_text(self) -> str:
        return ".".join(map(str, self.oid))


def parse_line(line: str, *, file: str = "<snmprec>", lineno: int = 0) -> SnmpRecord | None:
    text = line.rstrip("\r\n")
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    parts = text.split("|", 2)
    if len(parts) != 3:
        raise ConfigError("expected OID|tag|value", file=file, line=lineno)
    oid_text, tag_text, raw = parts
    tag_name, _, variation = tag_text.partition(":")
    hexed = tag_name.endswith("x")
    literal = tag_name.endswith("e")
    digits = tag_name.rstrip("xe")
    try:
        oid = oid_tuple(oid_text)
        tag = int(digits)
    except ValueError as exc:
        raise ConfigError(f"bad OID or tag {oid_text!r}|{tag_text!r}", file=file, line=lineno) from exc
    if tag not in KNOWN_TAGS:
        raise ConfigError(f"unknown BER tag {tag}", file=file, line=lineno)
    if not variation:
        return SnmpRecord(oid=oid, tag=tag, value=_decode(tag, raw, hexed, literal, file, lineno))
    args = _split_args(raw, file=file, lineno=lineno)
    static = dict(args).get("value")
    value = _decode(tag, static, hexed, literal, file, lineno) if static is not None else _ZERO.get(tag)
    return SnmpRecord(oid=oid, tag=tag, value=value, variation=variation.strip(), variation_args=args)


_ZERO: dict[int, SnmpValue] = {2: 0, 65: 0, 66: 0, 67: 0, 70: 0, 4: b"", 68: b"", 6: "0.0", 64: "0.0.0.0"}


def _split_args(raw: str, *, file: str, lineno: int) -> tuple[tuple[str, str], ...]:
    """`a=1,b=2,value=x,y` -> (("a", "1"), ("b", "2"), ("value", "x,y")): `value` takes the rest."""
    args: list[tuple[str, str]] = []
    rest = raw
    while rest:
        if rest.startswith("value="):
            args.append(("value", rest[len("value="):]))
            break
        item, _, rest = rest.partition(",")
        key, eq, text = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"variation argument {item!r} is not key=value", file=file, line=lineno)
        args.append((key.strip(), text.strip()))
    return tuple(args)


def _decode(tag: int, raw: str, hexed: bool, literal: bool, file: str, lineno: int) -> SnmpValue | None:
    data: bytes | None = None
    try:
        if hexed:
            data = bytes.fromhex(raw)
        elif literal:
            evaluated = ast.literal_eval(raw if raw[:1] in "'\"bB" else repr(raw))
            data = evaluated.encode("latin-1") if isinstance(evaluated, str) else bytes(evaluated)
        if tag in INTEGER_TAGS:
            return int(data.decode() if data is not None else raw or "0")
    except ValueError as exc:
        raise ConfigError(f"bad value {raw[:40]!r} for tag {tag}", file=file, line=lineno) from exc
    if tag == 4 or tag == 68:
        return data if data is not None else raw.encode("utf-8")
    if tag == 6:
        return raw.strip(".")
    if tag == 64:
        return ".".join(str(b) for b in data) if data is not None else raw
    return None


def parse(lines: Iterable[str], *, file: str = "<snmprec>") -> list[SnmpRecord]:
    """Parse and sort records numerically by OID (some real recordings are not sorted)."""
    records = [rec for n, line in enumerate(lines, 1) if (rec := parse_line(line, file=file, lineno=n))]
    records.sort(key=lambda r: r.oid)
    return records


def load(path: Path) -> list[SnmpRecord]:
    with path.open(encoding="utf-8") as fh:
        return parse(fh, file=str(path))
