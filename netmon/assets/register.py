"""Matching the clerk's register rows to the configured devices, and what importing them would change (pure).

A row matches a device, in this order of trust:

1. by netmon's device id, when the file has that column (a register `netmon assets export` wrote);
2. by serial number (Nomor Pabrik/Seri), compared without case or spaces;
3. by Kode Barang and Nomor Register together (a register number is unique only within its kode barang);
4. by Nomor Register alone, when exactly one device and one row carry it.

A row whose serial and register point at two different devices is not matched (it says why): one of them is
wrong in the register or in the inventory, and a person must decide which. A device matched by two rows takes
the first; the second is listed as unmatched. Rows and devices left over are listed.

The register entry of a matched device holds every field the row gives a value for; `changes` lists, per
device and field, the value now in force and the one the entry would put in its place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from netmon.assets.kib import KibRow
from netmon.model import AssetRecord, Device

FIELDS = tuple(f.name for f in dataclasses.fields(AssetRecord))


@dataclass(frozen=True, slots=True)
class Match:
    row: KibRow
    device: str
    by: str  # "device id", "serial", "kode barang + register", "register"


@dataclass(frozen=True, slots=True)
class Unmatched:
    row: KibRow
    reason: str


@dataclass(frozen=True, slots=True)
class Change:
    device: str
    field: str
    old: str | int | None
    new: str | int | None


@dataclass(frozen=True, slots=True)
class Matching:
    matches: tuple[Match, ...]
    unmatched_rows: tuple[Unmatched, ...]
    unmatched_devices: tuple[str, ...]

    def entries(self) -> dict[str, dict[str, str | int]]:
        """The register fragment: per matched device (by id), the fields its row gives, in KIB B order."""
        out: dict[str, dict[str, str | int]] = {}
        for m in sorted(self.matches, key=lambda m: m.device):
            out[m.device] = {name: value for name in FIELDS if (value := getattr(m.row.asset, name)) is not None}
        return out

    def changes(self, devices: Mapping[str, Device]) -> list[Change]:
        """What the fragment would change: the fields whose value in force differs from the row's."""
        found = []
        for device, entry in self.entries().items():
            now = devices[device].asset
            found += [Change(device, name, getattr(now, name), value) for name, value in entry.items()
                      if getattr(now, name) != value]
        return found


def _key(text: str | None) -> str | None:
    return "".join(text.split()).casefold() if text else None


def _index(devices: Mapping[str, Device], key: Callable[[AssetRecord], object]) -> dict[object, list[str]]:
    found: dict[object, list[str]] = {}
    for device_id, device in devices.items():
        value = key(device.asset)
        if value is not None:
            found.setdefault(value, []).append(device_id)
    return found


def match_rows(rows: Sequence[KibRow], devices: Mapping[str, Device]) -> Matching:
    by_serial = _index(devices, lambda a: _key(a.serial))
    by_pair = _index(devices, lambda a: (_key(a.kode_barang), _key(a.nomor_register))
                     if a.kode_barang and a.nomor_register else None)
    by_register = _index(devices, lambda a: _key(a.nomor_register))
    row_registers: dict[str | None, int] = {}
    for row in rows:
        row_registers[_key(row.asset.nomor_register)] = row_registers.get(_key(row.asset.nomor_register), 0) + 1

    def candidates(row: KibRow) -> list[tuple[str, str]]:
        a = row.asset
        found = []
        if row.device is not None and row.device in devices:
            found.append((row.device, "device id"))
        serial = by_serial.get(_key(a.serial), [])
        if len(serial) == 1:
            found.append((serial[0], "serial"))
        pair = by_pair.get((_key(a.kode_barang), _key(a.nomor_register)), []) if a.kode_barang else []
        if len(pair) == 1:
            found.append((pair[0], "kode barang + register"))
        register = by_register.get(_key(a.nomor_register), [])
        if len(register) == 1 and row_registers[_key(a.nomor_register)] == 1 and not pair:
            found.append((register[0], "register"))
        return found

    matches: list[Match] = []
    unmatched: list[Unmatched] = []
    taken: dict[str, int] = {}
    for row in rows:
        found = candidates(row)
        if not found:
            unmatched.append(Unmatched(row, "no device has this serial or register number"))
            continue
        named = {device for device, _by in found}
        if len(named) > 1:
            unmatched.append(Unmatched(row, "points at different devices: " + ", ".join(
                f"{by} -> {device}" for device, by in found)))
            continue
        device, by = found[0]
        if device in taken:
            unmatched.append(Unmatched(row, f"{device} is already matched by line {taken[device]}"))
            continue
        taken[device] = row.line
        matches.append(Match(row, device, by))
    left = tuple(sorted(set(devices) - set(taken)))
    return Matching(tuple(matches), tuple(unmatched), left)
