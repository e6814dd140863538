"""Parsers for RouterOS API values. Pure, no I/O, never raise on device data.

Every value arrives as a wire string (see ../shared/corpus/routeros/FIELDS.md for the formats seen in
real recordings). A parser returns `None` for anything it does not recognise; callers skip that value
(it is never exported as 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from collectors.radio import band_of_mhz

Row = Mapping[str, str]
Rows = Sequence[Row]

# unit format: 1w2d3h4m5s, 170ms, 2w2d16h56m20s890ms (largest unit first, any subset, no spaces)
_DURATION = re.compile(
    r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?"
    r"(?:(?P<ms>\d+)ms)?(?:(?P<us>\d+)us)?"
)
# legacy format (RouterOS <= 5 and the API manual): [Nw][Nd]hh:mm:ss[.fff]
_LEGACY_DURATION = re.compile(
    r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2})(?P<frac>\.\d+)?"
)
_UNIT_SECONDS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_V6_TIMESTAMP = re.compile(r"([A-Za-z]{3})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2})")
_V7_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")

# a decimal number, an optional unit the CLI (and old API versions) append, an optional "@rate" suffix
_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:%|dBm|dB|C|V|W|A|RPM)?(?:@\S+)?")

_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})


def duration_s(text: str) -> float | None:
    """Seconds of a RouterOS time value.

    Accepts the unit format (`1w2d3h4m5s`, `170ms`, `2w2d16h56m20s890ms`, `4m700ms`, also `us`) and the
    legacy clock format (`2w6d13:21:53`, `00:00:00.060`, `01:22:53`). `None` for anything else,
    including the empty string and words such as `never`.
    """
    text = text.strip()
    if not text:
        return None
    match = _DURATION.fullmatch(text)
    if match:
        return sum(int(v) * _UNIT_SECONDS[k] for k, v in match.groupdict().items() if v is not None)
    match = _LEGACY_DURATION.fullmatch(text)
    if match:
        parts = match.groupdict()
        frac = parts.pop("frac")
        seconds = sum(int(v) * _UNIT_SECONDS[k] for k, v in parts.items() if v is not None)
        return seconds + (float(frac) if frac else 0.0)
    return None


def timestamp(text: str) -> datetime | None:
    """A RouterOS date and time as a naive datetime in the router's local time zone.

    RouterOS 6 writes `oct/04/2017 20:11:03` (month abbreviation in any case, e.g. `Jul/19/2022` on 7.4),
    RouterOS 7.10+ writes `2024-10-19 21:54:32`. Forms without a year (CLI `oct/04 20:11:03`,
    time-only) are not accepted because the date cannot be known.
    """
    text = text.strip()
    match = _V6_TIMESTAMP.fullmatch(text)
    if match:
        month = _MONTHS.get(match.group(1).lower())
        if month is None:
            return None
        day, year, hour, minute, second = (int(g) for g in match.groups()[1:])
    else:
        match = _V7_TIMESTAMP.fullmatch(text)
        if not match:
            return None
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def tx_rx(text: str) -> tuple[int, int] | None:
    """A registration-table pair such as `bytes="17536671,2966351"` as (tx, rx).

    The first number is what the router transmitted to the peer, the second what it received from it
    (MikroTik WiFi manual; the same split as mikrotik-exporter and mktxp). 64-bit values are kept exact.
    """
    parts = text.strip().split(",")
    if len(parts) != 2 or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def boolean(text: str) -> bool | None:
    """`true`/`false` (current API) or `yes`/`no` (old manuals), any case; `None` otherwise."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def number(text: str) -> float | None:
    """A decimal number, optionally with a unit suffix or a `@rate` suffix.

    Accepted: `1500`, `-62`, `24.1`, `50.0`, `89%`, `43dB`, `-65dBm`, `46C`, `24.1V`, `6090RPM`,
    `-62@6Mbps`, `-74dBm@6Mbps` (the number before `@` is the signal). Rejected (`None`): empty text,
    words (`auto`, `true`), rates (`585Mbps-80MHz/2S/SGI`), pairs (`1,2`), NaN and infinities. A unit is
    dropped, not converted: callers know which unit a field carries.
    """
    match = _NUMBER.fullmatch(text.strip())
    if not match:
        return None
    value = float(match.group(1))
    return value if math.isfinite(value) else None


def integer(text: str) -> int | None:
    """A non-negative decimal integer such as a 64-bit byte counter (`194632346152`), exactly."""
    text = text.strip()
    if not (text.isdigit() and text.isascii()):
        return None
    return int(text)


def field(row: Row, *names: str) -> str | None:
    """The first of `names` the row carries with a non-empty value (keys are omitted when empty)."""
    for name in names:
        value = row.get(name)
        if value:
            return value
    return None


def band(text: str) -> str | None:
    """A wifi band label (`2.4GHz`, `5GHz`, `6GHz`, `60GHz`) from a RouterOS band or frequency value.

    Band values: `2ghz-b/g/n`, `2ghz-onlyn`, `5ghz-a/n/ac`, `5ghz-ax`, `6ghz-ax`; frequencies in MHz:
    `2412`, `5180`, also `5180/ax/Ceee` style channel text. `None` for `auto` and anything else.
    """
    word = text.strip().lower()
    for prefix, label in (("2ghz", "2.4GHz"), ("5ghz", "5GHz"), ("6ghz", "6GHz"), ("60ghz", "60GHz")):
        if word.startswith(prefix):
            return label
    match = re.match(r"(\d{4,5})(?:\D|$)", word)
    if not match:
        return None
    return band_of_mhz(int(match.group(1)))


def mac(text: str) -> str | None:
    """A MAC address in upper-case colon form (`00:0C:42:3A:EC:CF`) from colon, dash, dot or bare hex."""
    digits = re.sub(r"[:\-.]", "", text.strip())
    if len(digits) != 12 or not re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        return None
    digits = digits.upper()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
