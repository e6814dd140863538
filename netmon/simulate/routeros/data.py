"""The menus of one simulated router and their rows at time `now` (pure; the clock is an argument).

Field names and value formats follow the recorded replies in ../shared/corpus/routeros (FIELDS.md): raw
strings, `true`/`false`, `.id` as `*<hex>`, RouterOS durations, `tx,rx` pairs in registration tables, v6
`oct/04/2017 20:11:03` vs 7.10+ `2024-10-19 21:54:32` dates, v6 one-row /system/health vs v7 name/value/type
rows. Which menus exist depends on the version and the installed packages (`RouterSpec.packages`);
`/system/package` and `/ip/neighbor` exist on every router. The client tables render one population per
router (`population`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from netmon.simulate.routeros import clients, population
from netmon.simulate.routeros.inventory import neighbor_rows, package_rows
from netmon.simulate.routeros.population import Client
from netmon.simulate.routeros.registration import hotspot_rows, lease_rows, legacy_row, wifi_row
from netmon.simulate.routeros.spec import RadioSpec, RouterSpec
from netmon.simulate.variation import counter_value, daily_fraction, jitter

Row = dict[str, str]
Menu = tuple[str, ...]

SINGLE_ROW = frozenset({("system", "resource"), ("system", "routerboard"), ("system", "identity")})


def _b(value: bool) -> str:
    return "true" if value else "false"


@dataclass
class RouterData:
    """One router's state: its spec, when the simulation started, and values set through the API."""

    spec: RouterSpec
    started_at: float
    overrides: dict[tuple[Menu, str], Row] = field(default_factory=dict)

    # -- which menus exist -------------------------------------------------------------------------
    def menus(self) -> set[Menu]:
        v7, pkgs = self.spec.v7, self.spec.packages
        menus: set[Menu] = {("system", "resource"), ("system", "routerboard"), ("system", "identity"),
                            ("system", "health"), ("system", "package"), ("interface",), ("ip", "neighbor"),
                            ("ip", "dhcp-server"), ("ip", "dhcp-server", "lease")}
        if v7 or "hotspot" in pkgs:
            menus |= {("ip", "hotspot"), ("ip", "hotspot", "active"), ("ip", "hotspot", "host")}
        if "wireless" in pkgs:
            menus |= {("interface", "wireless"), ("interface", "wireless", "registration-table"),
                      ("caps-man", "interface"), ("caps-man", "registration-table")}
        if "wifi" in pkgs and self.spec.version_tuple >= (7, 13):
            menus |= {("interface", "wifi"), ("interface", "wifi", "registration-table")}
        return menus

    def directories(self) -> set[Menu]:
        return {menu[:i] for menu in self.menus() for i in range(1, len(menu) + 1)}

    # -- rows ----------------------------------------------------------------------------------------
    def rows(self, menu: Menu, now: float) -> list[Row]:
        builder: Callable[[float], list[Row]] = getattr(self, "_" + "_".join(menu).replace("-", "_"))
        rows = builder(now)
        for row in rows:
            key = row.get(".id", "")
            row.update(self.overrides.get((menu, key), {}))
        return rows

    def set(self, menu: Menu, target: str, values: Row, now: float) -> bool:
        """Store `values` on the row whose `.id` or `name` is `target`; False if there is none."""
        for row in self.rows(menu, now):
            if target in (row.get(".id"), row.get("name")) or (menu in SINGLE_ROW and target == ""):
                self.overrides.setdefault((menu, row.get(".id", "")), {}).update(values)
                return True
        return False

    @property
    def _iso(self) -> bool:
        return self.spec.version_tuple >= (7, 10)

    def _uptime(self, now: float) -> float:
        return self.spec.uptime_s + max(0.0, now - self.started_at)

    def _system_resource(self, now: float) -> list[Row]:
        s = self.spec
        seed = s.router_id
        load = s.cpu_load + (s.cpu_load_peak - s.cpu_load) * daily_fraction(now)
        free = int(s.total_memory * (0.42 - 0.12 * daily_fraction(now))) // 4096 * 4096
        row = {"uptime": clients.duration(self._uptime(now)), "version": f"{s.version} ({s.channel})",
               "build-time": s.build_time, "factory-software": s.factory_firmware,
               "free-memory": str(free), "total-memory": str(s.total_memory), "cpu": s.cpu,
               "cpu-count": str(s.cpu_count), "cpu-frequency": str(s.cpu_frequency),
               "cpu-load": str(max(0, min(100, jitter(now, value=round(load), spread=4, seed=seed + "-cpu")))),
               "free-hdd-space": str(s.total_hdd * 9 // 100 // 4096 * 4096), "total-hdd-space": str(s.total_hdd),
               "write-sect-since-reboot": str(int(self._uptime(now) // 60)),
               "write-sect-total": str(int(self._uptime(now) // 60) + 45359),
               "architecture-name": s.architecture, "board-name": s.board_name, "platform": "MikroTik"}
        if s.v7:
            row["bad-blocks"] = "0"
        return [row]

    def _system_routerboard(self, now: float) -> list[Row]:
        s = self.spec
        row = {"routerboard": "true", "model": s.model, "serial-number": s.serial,
               "firmware-type": s.firmware_type, "factory-firmware": s.factory_firmware,
               "current-firmware": s.firmware or s.version.split(" ")[0],
               "upgrade-firmware": s.version.split(" ")[0]}
        if s.v7:
            row = {"board-name": s.board_name, **row}
        return [row]

    def _system_identity(self, now: float) -> list[Row]:
        return [{"name": self.spec.identity}]

    def _system_health(self, now: float) -> list[Row]:
        h = self.spec.health
        seed = h.seed or self.spec.router_id
        values: list[tuple[str, str, str]] = []
        if h.voltage_dv is not None:
            dv = jitter(now, value=h.voltage_dv, spread=h.spread, seed=seed + "-volt")
            values.append(("voltage", f"{dv / 10:.1f}", "V"))
        if h.temperature_c is not None:
            values.append(("temperature", str(jitter(now, value=h.temperature_c, spread=h.spread,
                                                     seed=seed + "-temp")), "C"))
        if h.cpu_temperature_c is not None:
            values.append(("cpu-temperature", str(jitter(now, value=h.cpu_temperature_c, spread=h.spread,
                                                         seed=seed + "-cputemp")), "C"))
        if not self.spec.v7:  # v6: one row, one property per sensor
            return [{name: value for name, value, _ in values}] if values else []
        return [{".id": f"*{0xD + i:X}", "name": name, "value": value, "type": unit}
                for i, (name, value, unit) in enumerate(values)]

    def _system_package(self, now: float) -> list[Row]:
        return package_rows(self.spec)

    def _ip_neighbor(self, now: float) -> list[Row]:
        return neighbor_rows(self.spec, now, uptime_s=self._uptime(now))

    def _interface(self, now: float) -> list[Row]:
        s = self.spec
        rows = []
        link_up = clients.timestamp(now - self._uptime(now) + 27, iso=self._iso)
        for i, nic in enumerate(s.interfaces, start=1):
            rx = counter_value(self.started_at, now, rate=nic.rx_rate, initial=nic.rx_initial, bits=64, daily=True)
            tx = counter_value(self.started_at, now, rate=nic.tx_rate, initial=nic.tx_initial, bits=64, daily=True)
            row = {".id": f"*{i:X}", "name": nic.name, "type": nic.type, "mtu": "1500", "actual-mtu": "1500",
                   "l2mtu": "1598" if nic.type != "bridge" else "1596", "mac-address": nic.mac,
                   "link-downs": str(nic.link_downs), "rx-byte": str(rx), "tx-byte": str(tx),
                   "rx-packet": str(rx // 780), "tx-packet": str(tx // 1020), "rx-drop": "0", "tx-drop": "0",
                   "rx-error": "0", "tx-error": "0", "running": _b(nic.running and not nic.disabled),
                   "disabled": _b(nic.disabled)}
            if nic.type != "bridge":
                row["default-name"] = nic.name
            if nic.running and not nic.disabled:
                row["last-link-up-time"] = link_up
            if nic.slave:
                row["slave"] = "true"
            if s.v7:
                row.update({"fp-rx-byte": str(rx), "fp-tx-byte": "0", "fp-rx-packet": str(rx // 780),
                            "fp-tx-packet": "0", "tx-queue-drop": "0", "max-l2mtu": "2028"})
            else:
                row["fast-path"] = "true"
            if nic.comment:
                row["comment"] = nic.comment
            rows.append(row)
        return rows

    def _radios(self, kind: str) -> list[tuple[int, RadioSpec]]:
        names = {n.name: n for n in self.spec.interfaces}
        return [(i, r) for i, r in enumerate(self.spec.radios, start=1)
                if names.get(r.name) is None or names[r.name].type == kind]

    def _interface_wireless(self, now: float) -> list[Row]:
        macs = {n.name: n.mac for n in self.spec.interfaces}
        return [{".id": f"*{5 + i:X}", "name": r.name, "default-name": r.name, "mac-address": macs.get(r.name, ""),
                 "mode": "ap-bridge", "ssid": r.ssid, "band": r.band, "frequency": str(r.frequency),
                 "channel-width": r.channel_width, "wireless-protocol": "802.11", "security-profile": "default",
                 "radio-name": macs.get(r.name, "").replace(":", ""), "country": "indonesia",
                 "interface-type": "IPQ4019" if self.spec.v7 else "Atheros AR9300",
                 "running": "true", "disabled": "false"} for i, r in self._radios("wlan")]

    def _interface_wifi(self, now: float) -> list[Row]:
        macs = {n.name: n.mac for n in self.spec.interfaces}
        return [{".id": f"*{5 + i:X}", "name": r.name, "default-name": r.name, "mac-address": macs.get(r.name, ""),
                 "configuration.mode": "ap", "configuration.ssid": r.ssid, "channel.band": r.band,
                 "channel.frequency": str(r.frequency), "channel.width": r.channel_width,
                 "security.authentication-types": "" if r.security == "open" else r.security,
                 "running": "true", "disabled": "false", "inactive": "false"} for i, r in self._radios("wifi")]

    def _registrations(self, kind: str, now: float) -> list[Client]:
        radios = {i for i, _radio in self._radios(kind)}
        return [c for c in population.present(self.spec, now) if c.radio_index in radios]

    def _interface_wireless_registration_table(self, now: float) -> list[Row]:
        return [legacy_row(client, now) for client in self._registrations("wlan", now)]

    def _interface_wifi_registration_table(self, now: float) -> list[Row]:
        return [wifi_row(client, now) for client in self._registrations("wifi", now)]

    def _caps_man_interface(self, now: float) -> list[Row]:
        return []  # no simulated router is a CAPsMAN controller

    def _caps_man_registration_table(self, now: float) -> list[Row]:
        return []

    def _ip_hotspot(self, now: float) -> list[Row]:
        return [{".id": f"*{i:X}", "name": h.name, "interface": h.interface, "address-pool": h.address_pool,
                 "profile": h.profile, "idle-timeout": "5m", "keepalive-timeout": "none",
                 "addresses-per-mac": "2", "proxy-status": "running", "invalid": "false", "HTTPS": "false",
                 "disabled": "false"} for i, h in enumerate(self.spec.hotspots, start=1)]

    def _ip_hotspot_active(self, now: float) -> list[Row]:
        return hotspot_rows(self.spec, now, hosts=False)

    def _ip_hotspot_host(self, now: float) -> list[Row]:
        return hotspot_rows(self.spec, now, hosts=True)

    def _ip_dhcp_server(self, now: float) -> list[Row]:
        return [{".id": f"*{i:X}", "name": d.name, "interface": d.interface,
                 "lease-time": clients.duration(d.lease_time_s), "address-pool": f"pool-{d.name}",
                 "authoritative": "yes" if not self.spec.v7 else "true", "invalid": "false",
                 "disabled": "false"} for i, d in enumerate(self.spec.dhcp_servers, start=1)]

    def _ip_dhcp_server_lease(self, now: float) -> list[Row]:
        return lease_rows(self.spec, now)
