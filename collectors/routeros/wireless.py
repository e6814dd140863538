"""Wireless interfaces and registration tables -> client counts per radio interface and SSID. Pure.

Three packages, one result: legacy `wireless` (`/interface/wireless`, RouterOS 6 and 7), the v7 `wifi`
package (`/interface/wifi`, `wifiwave2` before 7.13) and CAPsMAN v1 (`/caps-man/registration-table`).
Only the number of rows is exported; a client's MAC address, IP or name never becomes a label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from collectors.routeros.parse import Rows, band, boolean, field
from netmon.model import Sample

CLIENTS_HELP = "Wifi clients associated, per radio interface and SSID."

# where each package keeps the SSID and the band/frequency of an interface, most specific first
_SSID_FIELDS = ("ssid", "configuration.ssid")
_BAND_FIELDS = ("band", "channel.band", "frequency", "channel.frequency", "channel")


def _band_of(row: Mapping[str, str]) -> str:
    for name in _BAND_FIELDS:
        label = band(row.get(name, ""))
        if label:
            return label
    return ""


def wireless_interfaces(rows: Rows) -> dict[str, tuple[str, str]]:
    """`/interface/wireless` or `/interface/wifi` rows -> {interface name: (ssid, band)}.

    Legacy rows carry `ssid`, `band` (`2ghz-b/g/n`, `5ghz-a/n/ac`) and `frequency` (`2412`, or `auto`);
    `wifi` rows carry `configuration.ssid` and `channel.band` (`5ghz-ax`) / `channel.frequency` when set on
    the interface itself. The band is normalised to `2.4GHz`/`5GHz`/`6GHz`/`60GHz`. A virtual AP without
    a band of its own takes its `master-interface`'s. Unknown parts are "" (e.g. a `wifi` interface whose
    SSID lives in a named `/interface/wifi/configuration` profile).
    """
    found: dict[str, tuple[str, str]] = {}
    masters: dict[str, str] = {}
    for row in rows:
        name = row.get("name", "").strip()
        if not name:
            continue
        found[name] = ((field(row, *_SSID_FIELDS) or "").strip(), _band_of(row))
        master = row.get("master-interface", "").strip()
        if master and master != "none":
            masters[name] = master
    for name, master in masters.items():
        ssid, label = found[name]
        if not label and master in found:
            found[name] = (ssid, found[master][1])
    return found


def _sample(name: str, ssid: str, label: str, n: int) -> Sample:
    return Sample("netmon_wifi_clients", float(n), (("band", label), ("interface", name), ("ssid", ssid)),
                  help=CLIENTS_HELP)


def registration_samples(rows: Rows, interfaces: Mapping[str, tuple[str, str]]) -> list[Sample]:
    """`netmon_wifi_clients{interface, ssid, band}` = registration rows per interface.

    Works for the legacy, `wifi`/`wifiwave2` and CAPsMAN tables: a row's own `ssid` and `band` (wifi,
    CAPsMAN) win over what `interfaces` (from `wireless_interfaces`) says about its interface. Rows whose
    peer is an access point or WDS bridge (`ap=true` / `wds=true`: this radio is a station, e.g. a CPE on
    its uplink) are not clients: their interface shows 0. Rows without an interface are skipped.
    Radios with no rows at all get no series here (one call per table would repeat them); add them once
    per poll with `with_idle_interfaces`.
    """
    counts: dict[tuple[str, str, str], int] = {}
    stations: set[str] = set()
    for row in rows:
        name = row.get("interface", "").strip()
        if not name:
            continue
        if boolean(row.get("ap", "")) or boolean(row.get("wds", "")):
            stations.add(name)
            continue
        ssid, label = interfaces.get(name, ("", ""))
        key = (name, (field(row, "ssid") or ssid).strip(), band(row.get("band", "")) or label)
        counts[key] = counts.get(key, 0) + 1
    busy = {name for name, _ssid, _band in counts}
    for name in stations - busy:
        ssid, label = interfaces.get(name, ("", ""))
        counts[(name, ssid, label)] = 0
    return [_sample(name, ssid, label, n) for (name, ssid, label), n in sorted(counts.items())]


def with_idle_interfaces(samples: Sequence[Sample], interfaces: Mapping[str, tuple[str, str]]) -> list[Sample]:
    """`samples` plus `netmon_wifi_clients 0` for every interface of `interfaces` that has no
    `netmon_wifi_clients` series yet, so an idle radio reads 0 rather than nothing (as the SNMP
    `mtxrWlApClientCount` does). Call once per poll, after all registration tables."""
    seen = {s.label_dict().get("interface") for s in samples if s.metric == "netmon_wifi_clients"}
    idle = [_sample(name, ssid, label, 0) for name, (ssid, label) in sorted(interfaces.items()) if name not in seen]
    return [*samples, *idle]
