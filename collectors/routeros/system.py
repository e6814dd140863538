"""`/system/resource`, `/system/routerboard` and `/system/health` rows -> samples and identity. Pure."""

from __future__ import annotations

import re

from collectors.routeros.parse import Row, Rows, duration_s, field, number
from netmon.model import DeviceIdentity, Sample

PROFILE = "routeros-api"
VENDOR = "MikroTik"

UPTIME_HELP = "Time since the device's agent last started."
CPU_HELP = "CPU load of the device, 0 to 1."
MEMORY_HELP = "Share of the device's RAM in use, 0 to 1."
TEMPERATURE_HELP = "Temperature reported by the device."
VOLTAGE_HELP = "Supply voltage reported by the device."

_TEMPERATURE_NAME = re.compile(r"(?:^|-)temperature\d*$")


def _first(rows: Rows) -> Row:
    return rows[0] if rows else {}


def resource_samples(rows: Rows) -> list[Sample]:
    """Uptime, CPU load (`cpu-load` percent / 100) and memory used ((total - free) / total)."""
    row = _first(rows)
    out: list[Sample] = []
    uptime = duration_s(row.get("uptime", ""))
    if uptime is not None:
        out.append(Sample("netmon_device_uptime_seconds", uptime, help=UPTIME_HELP))
    load = number(row.get("cpu-load", ""))
    if load is not None:
        out.append(Sample("netmon_device_cpu_load_ratio", load / 100.0, help=CPU_HELP))
    total = number(row.get("total-memory", ""))
    free = number(row.get("free-memory", ""))
    if total and free is not None and 0 <= free <= total:
        out.append(Sample("netmon_device_memory_used_ratio", (total - free) / total, help=MEMORY_HELP))
    return out


def identity(resource_rows: Rows, routerboard_rows: Rows) -> DeviceIdentity:
    """Vendor facts: model from `/system/routerboard` `model`, else `/system/resource` `board-name`
    (x86, CHR); firmware = the version without its channel (`7.16 (stable)` -> `7.16`); serial from
    `/system/routerboard` `serial-number` (x86 and CHR have none -> "")."""
    resource = _first(resource_rows)
    board = _first(routerboard_rows)
    version = (resource.get("version") or "").split()
    return DeviceIdentity(
        profile=PROFILE,
        vendor=VENDOR,
        model=(field(board, "model") or field(resource, "board-name") or "").strip(),
        firmware=version[0] if version else "",
        serial=(field(board, "serial-number") or "").strip(),
    )


def _is_temperature(name: str, unit: str | None) -> bool:
    if unit:
        return unit == "C"
    return bool(_TEMPERATURE_NAME.search(name))


def health_samples(rows: Rows) -> list[Sample]:
    """Temperature (the hottest sensor) and supply voltage from either shape of `/system/health`.

    RouterOS 7 answers one row per sensor (`name`, `value`, `type`: `temperature 46 C`,
    `cpu-temperature 58 C`, `voltage 24.2 V`, `fan1-speed 6090 RPM`, `psu1-state ok`); RouterOS 6 one row
    with a field per sensor (`voltage=24.1 temperature=37 cpu-temperature=45`). Temperature: the maximum of
    all Celsius sensors (type `C`, or a name ending in `temperature[N]` when the type is absent), the same
    rule as the SNMP MikroTik profile, so the series means the same whichever source feeds it. Voltage:
    the sensor named `voltage`, else the first row of type `V` (e.g. `psu1-voltage`).
    """
    if any("name" in r and "value" in r for r in rows):
        readings = [(r.get("name", ""), r.get("value", ""), r.get("type") or None) for r in rows]
    else:
        readings = [(k, v, None) for k, v in _first(rows).items()]
    temperatures: list[float] = []
    voltages: dict[str, float] = {}
    for name, text, unit in readings:
        value = number(text)
        if value is None:
            continue
        if _is_temperature(name, unit):
            temperatures.append(value)
        elif unit == "V" or (unit is None and name.endswith("voltage")):
            voltages.setdefault(name, value)
    out: list[Sample] = []
    if temperatures:
        out.append(Sample("netmon_device_temperature_celsius", max(temperatures), help=TEMPERATURE_HELP))
    voltage = voltages.get("voltage", next(iter(voltages.values()), None))
    if voltage is not None:
        out.append(Sample("netmon_device_voltage_volts", voltage, help=VOLTAGE_HELP))
    return out
