"""JSON for records, one object per line in the write spool: `{"type": "outage", ...fields}`.

Enum fields are written as their values and dates as ISO strings; decoding converts them back using the
dataclass annotations, so a field added to a record needs no change here (a spooled line from an older
version decodes with that field's default)."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import date
from enum import Enum
from functools import cache
from typing import Any

from netmon.errors import StorageError
from netmon.storage.record import RECORD_TYPES, Record

TAGS: dict[type, str] = {
    t: "".join("_" + c.lower() if c.isupper() else c for c in t.__name__).lstrip("_") for t in RECORD_TYPES
}
BY_TAG: dict[str, type] = {tag: t for t, tag in TAGS.items()}


def encode(record: Record) -> str:
    tag = TAGS.get(type(record))
    if tag is None:
        raise StorageError(f"not a storage record: {type(record).__name__}")
    body: dict[str, Any] = {"type": tag}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        body[f.name] = value.isoformat() if isinstance(value, date) else value
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def decode(line: str) -> Record:
    try:
        body = json.loads(line)
        cls = BY_TAG[body.pop("type")]
        hints = _hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: _convert(hints[k], v) for k, v in body.items() if k in names}
        return typing.cast(Record, cls(**kwargs))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StorageError(f"undecodable spool line: {exc}") from exc


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    for t in typing.get_args(hint) or (hint,):
        if isinstance(t, type) and issubclass(t, Enum):
            return t(value)
        if t is date:
            return date.fromisoformat(value)
        if t is float and isinstance(value, int):
            return float(value)
    return value
