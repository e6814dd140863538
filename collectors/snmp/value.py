"""Turning raw SNMP values into numbers and label text, and reading columns out of varbinds.

Pure and forgiving by design: a value that cannot be interpreted (garbage type, unparsable text) yields
`None` and is skipped by the caller; nothing here raises on device data.
"""

from __future__ import annotations

import math
import re

from collectors.radio import band_of_mhz
from collectors.snmp.varbind import SnmpValue, Varbinds, under

_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")


def decoded(value: SnmpValue) -> str:
    """Bytes decoded as UTF-8, else Latin-1 (which decodes anything); other values as str."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return str(value)


def as_text(value: SnmpValue | None) -> str | None:
    """Printable text of a value: bytes decoded (UTF-8, else Latin-1), NULs and outer blanks removed."""
    if value is None:
        return None
    text = decoded(value)
    text = text.replace("\x00", "").strip()
    if not text.isprintable():
        return None
    return text


def as_number(value: SnmpValue | None) -> float | None:
    """Integers as they are; text only if it is entirely a decimal number (some agents send "12.5")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    text = as_text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def band_of(value: SnmpValue | None) -> str | None:
    """Wifi band from a frequency in MHz, or from text that starts with it ("2412/20-Ce/gn")."""
    if isinstance(value, int):
        mhz = float(value)
    else:
        text = as_text(value)
        match = _NUMBER.match(text) if text else None
        if not match:
            return None
        mhz = float(match.group(1))
    return band_of_mhz(mhz)


def column(varbinds: Varbinds, prefix: str) -> dict[str, SnmpValue]:
    """All rows of one column: index suffix -> value."""
    rows: dict[str, SnmpValue] = {}
    for oid, value in varbinds.items():
        index = under(oid, prefix)
        if index is not None:
            rows[index] = value
    return rows


def index_part(index: str, arc: int | None) -> str:
    if arc is None:
        return index
    parts = index.split(".")
    try:
        return parts[arc]
    except IndexError:
        return ""
