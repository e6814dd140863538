"""net-snmp's command-line tools as an independent SNMP client for the simulator tests."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass

from peers import require_tool

from netmon.simulate.snmprec import SnmpRecord

# No MIBs: numeric OIDs, raw numbers for enums and TimeTicks, every string as hex.
OUTPUT = ["-m", "", "-On", "-Oe", "-Ot", "-Ox"]
_LINE = re.compile(r"^(\.[0-9.]+) = (.*)$")


@dataclass
class Result:
    rc: int
    out: str
    err: str


async def run(tool: str, *args: str, timeout_s: float = 1.0, retries: int = 0) -> Result:
    path = require_tool(tool, "snmp")
    proc = await asyncio.create_subprocess_exec(
        path, *OUTPUT, "-t", str(timeout_s), "-r", str(retries), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"},
    )
    out, err = await proc.communicate()
    return Result(proc.returncode or 0, out.decode(), err.decode())


def v2c(community: str, port: int) -> list[str]:
    return ["-v2c", f"-c{community}", f"127.0.0.1:{port}"]


def varbinds(text: str) -> list[tuple[str, str]]:
    """`(oid without leading dot, "TYPE: value")` per varbind; hex strings spanning lines are joined."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            out.append((match.group(1)[1:], match.group(2).strip()))
        elif out and line.strip():
            oid, value = out[-1]
            out[-1] = (oid, f"{value} {line.strip()}")
    return out


def value_of(shown: str) -> tuple[str, object]:
    """("Counter32", 5), ("STRING", b"..."), ("OID", "1.3..."), ("noSuchObject", None), ..."""
    if shown.startswith("No Such Object"):
        return "noSuchObject", None
    if shown.startswith("No Such Instance"):
        return "noSuchInstance", None
    if shown.startswith("No more variables"):
        return "endOfMibView", None
    if shown == '""':
        return "STRING", b""
    if re.fullmatch(r"\d+", shown):  # -Ot prints TimeTicks as a bare number
        return "Timeticks", int(shown)
    kind, _, raw = shown.partition(": ")
    raw = raw.strip()
    if kind in ("Hex-STRING", "STRING"):
        if kind == "Hex-STRING":
            return "STRING", bytes.fromhex(raw.replace(" ", ""))
        return "STRING", raw.strip('"').encode()
    if kind == "OID":
        return "OID", raw.lstrip(".")
    if kind == "IpAddress":
        return "IpAddress", raw
    if kind == "Opaque":
        return "Opaque", raw
    digits = re.search(r"-?\d+", raw)
    return kind, int(digits.group(0)) if digits else raw


_KINDS = {2: "INTEGER", 4: "STRING", 6: "OID", 64: "IpAddress", 65: "Counter32", 66: "Gauge32",
          67: "Timeticks", 70: "Counter64", 68: "Opaque"}


def expected(record: SnmpRecord) -> tuple[str, object]:
    """What net-snmp should show for a static record (integers wrapped as a device would send them)."""
    value = record.value
    if record.tag == 2 and isinstance(value, int):
        value = (value + 2**31) % 2**32 - 2**31
    elif record.tag in (65, 66, 67) and isinstance(value, int):
        value %= 2**32
    elif record.tag == 70 and isinstance(value, int):
        value %= 2**64
    return _KINDS[record.tag], value
