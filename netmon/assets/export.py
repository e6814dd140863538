"""The register as the clerk keeps it (KIB B), with what monitoring knows about each asset added: when it last
answered, the serial and model read from it, whether they differ from the register, and the condition of its
latest field inspection. Rows are the configured devices, by site then device id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from netmon.assets.evidence import identity_seen, same
from netmon.assets.kib import kib_header, kib_values
from netmon.assets.spreadsheet import CellValue, write_csv, write_xlsx
from netmon.model import Condition, Device, Source, TimeZone
from netmon.storage import Store

TITLES = ("KARTU INVENTARIS BARANG (KIB) B", "PERALATAN DAN MESIN")
FORMATS = {0: "0", 7: "0", 10: "#,##0"}  # No, Tahun Pembelian, Harga (Rp): what Excel id-ID shows as 2.750.000


@dataclass(frozen=True, slots=True)
class Monitoring:
    last_seen: float | None = None
    serial_seen: str | None = None
    model_seen: str | None = None
    condition: Condition | None = None  # of the latest inspection

    def mismatch(self, device: Device) -> str:
        found = [name for name, ok in (("seri", same(device.asset.serial, self.serial_seen)),
                                       ("model", same(device.asset.model, self.model_seen))) if not ok]
        return ", ".join(found)


def monitoring(store: Store) -> dict[str, Monitoring]:
    """What storage knows about each device: the last good poll, the stored SNMP identity, the inspection."""
    last = {s.device: s.last_good_poll for s in store.load_states()}
    seen = {d.device: identity_seen(d.payload) for d in store.load_discoveries(Source.SNMP)}
    inspected = {i.device: i.condition for i in store.inspections()}
    return {d: Monitoring(last.get(d), *seen.get(d, (None, None)), inspected.get(d))
            for d in set(last) | set(seen) | set(inspected)}


def register_table(devices: Mapping[str, Device], known: Mapping[str, Monitoring],
                   zone_of: Callable[[str], TimeZone]) -> tuple[list[str], list[str], list[list[CellValue]]]:
    """(title lines, header, rows) of the register."""
    units = {d.asset.unit for d in devices.values()}
    with_unit = any(units)
    titles = list(TITLES) + ([f"SKPD: {next(iter(units))}"] if len(units) == 1 and with_unit else [])
    rows: list[list[CellValue]] = []
    for number, device in enumerate(sorted(devices.values(), key=lambda d: (d.site, d.id)), start=1):
        m = known.get(device.id, Monitoring())
        rows.append([*kib_values(number, device.asset, unit=with_unit), device.id, device.site,
                     zone_of(device.site).stamp(m.last_seen) if m.last_seen is not None else None,
                     m.serial_seen, m.model_seen, m.mismatch(device) or None,
                     m.condition.value if m.condition else None])
    return titles, kib_header(unit=with_unit), rows


def write_register(path: Path, fmt: str, titles: list[str], header: list[str], rows: list[list[CellValue]]) -> None:
    if fmt == "csv":
        write_csv(path, header, rows)
    else:
        write_xlsx(path, sheet="KIB B", titles=titles, header=header, rows=rows, formats=FORMATS)
