"""`/system/package` and `/ip/neighbor`: menus every RouterOS has (pure; the clock is an argument).

`/ip/neighbor` rows follow the recorded reply in ../shared/corpus/routeros (napalm-ros fixture, FIELDS.md):
`interface` is "<port>,<bridge>" for a bridge port, `age` is seconds since the last announcement, the
neighbour's own `uptime`, `system-description` "<platform> RouterOS <version> <board>". The corpus holds no
recorded `/system/package` reply; its rows carry the properties MikroTik documents (`name`, `version`,
`build-time`, `scheduled`, `disabled`): RouterOS 7 lists the `routeros` bundle plus the extra packages
installed (`wireless`, or `wifi-qcom`/`wifi-qcom-ac` for the wifi package); RouterOS 6 lists the
`routeros-<arch>` bundle and the packages inside it, each with `bundle`.
"""

from __future__ import annotations

from netmon.simulate.routeros import clients
from netmon.simulate.routeros.spec import RouterSpec

Row = dict[str, str]

_V6_BUNDLED = ("system", "ppp", "wireless", "hotspot", "dhcp", "routing", "security", "advanced-tools")


def package_rows(spec: RouterSpec) -> list[Row]:
    version = spec.version.split(" ")[0]

    def row(index: int, name: str, **extra: str) -> Row:
        return {".id": f"*{index:X}", "name": name, "version": version, "build-time": spec.build_time,
                "scheduled": "", "disabled": "false", **extra}

    if not spec.v7:
        bundle = f"routeros-{spec.architecture}"
        names = [n for n in _V6_BUNDLED if n not in ("wireless", "hotspot", "dhcp") or n in spec.packages]
        return [row(1, bundle)] + [row(i, n, bundle=bundle) for i, n in enumerate(names, start=2)]
    extras = []
    if "wireless" in spec.packages:
        extras.append("wireless")
    if "wifi" in spec.packages:
        extras.append("wifi-qcom" if spec.architecture == "arm64" else "wifi-qcom-ac")
    return [row(1, "routeros")] + [row(i, n) for i, n in enumerate(extras, start=2)]


def neighbor_rows(spec: RouterSpec, now: float, *, uptime_s: float) -> list[Row]:
    """One row per configured neighbour; its uptime moves with the router's (both run since the start)."""
    rows = []
    for i, n in enumerate(spec.neighbors, start=1):
        age = int(clients.unit(spec.router_id, n.address, int(now // 60)) * 60)  # MNDP announces every 60 s
        row = {".id": f"*{i:X}", "interface": f"{n.interface},{n.bridge}" if n.bridge else n.interface,
               "address": n.address, "address4": n.address, "mac-address": n.mac, "identity": n.identity,
               "platform": n.platform, "age": clients.duration(age),
               "uptime": clients.duration(n.uptime_s + uptime_s - spec.uptime_s),
               "interface-name": n.interface_name, "system-caps": n.system_caps,
               "system-caps-enabled": n.system_caps_enabled}
        if n.version:
            row.update({"version": n.version, "unpack": "none",
                        "software-id": f"{clients.mac(n.mac, 0).replace(':', '')[:4]}-"
                                       f"{clients.mac(n.mac, 1).replace(':', '')[:4]}"})
        if n.board:
            row["board"] = n.board
        row["system-description"] = " ".join(p for p in (n.platform, "RouterOS" if n.version else "",
                                                          n.version, n.board) if p)
        rows.append(row)
    return rows
