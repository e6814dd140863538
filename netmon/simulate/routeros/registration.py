"""Rows of the client tables: wireless/wifi registrations, hotspot active users and hosts, DHCP leases.

Every table renders the same `population.Client`s (one population per router): per-client values are
derived from the client's identity key, so a phone keeps its MAC, address, rates and signal in every
table, and its byte counters grow with the integral of the daily curve since its session started.
"""

from __future__ import annotations

from netmon.simulate.routeros import clients, population
from netmon.simulate.routeros.population import Client
from netmon.simulate.routeros.spec import RouterSpec
from netmon.simulate.variation import daily_integral

Row = dict[str, str]

_RATES_2G = ("72.2Mbps-20MHz/1S/SGI", "65Mbps-20MHz/1S", "144.4Mbps-20MHz/2S/SGI", "58.5Mbps-20MHz/1S", "6Mbps")
_RATES_5G = ("866.6Mbps-80MHz/2S/SGI", "585Mbps-80MHz/2S/SGI", "433.3Mbps-80MHz/1S/SGI", "780Mbps-80MHz/2S/SGI")
_RATE_SET_2G = "CCK:1-11 OFDM:6-54 BW:1x SGI:1x HT:0-15"
_RATE_SET_5G = "OFDM:6-54 BW:1x-4x SGI:1x-4x HT:0-15 VHTMCS:SS1=0-9,SS2=0-9"


def _pair(tx: int, rx: int) -> str:
    return f"{tx},{rx}"


def _session(client: Client, now: float) -> tuple[float, int, int]:
    """(session start, bytes sent to the client, bytes received from it)."""
    key = client.key
    down_rate = 2_000 + clients.unit(key, "down") * 23_000  # bytes/s at the daily peak
    up_rate = down_rate * (0.08 + 0.1 * clients.unit(key, "up"))
    at_peak = daily_integral(client.start, now)
    return client.start, int(down_rate * at_peak), int(up_rate * at_peak)


def _signal(key: str) -> int:
    return -45 - int(clients.unit(key, "signal") * 35)


def legacy_row(client: Client, now: float) -> Row:
    """`/interface/wireless/registration-table` (legacy `wireless` package; same keys on v6 and v7)."""
    radio, seed, rank, index = client.radio, client.key, client.rank, client.radio_index
    assert radio is not None
    start, tx, rx = _session(client, now)
    five = radio.band.startswith("5")
    rates = _RATES_5G if five else _RATES_2G
    signal = _signal(seed)
    basic = "6Mbps" if five else "1Mbps"
    tx_rate = rates[int(clients.unit(seed, rank, "tx") * len(rates))]
    row = {".id": f"*{0x100 * index + rank:X}", "interface": radio.name,
           "mac-address": client.mac, "ap": "false", "wds": "false", "bridge": "false",
           "rx-rate": rates[int(clients.unit(seed, rank, "rx") * len(rates))], "tx-rate": tx_rate,
           "packets": _pair(tx // 1100, rx // 400), "bytes": _pair(tx, rx),
           "frames": _pair(tx // 1100, rx // 400), "frame-bytes": _pair(tx + tx // 90, rx + rx // 90),
           "hw-frames": _pair(tx // 900, rx // 380), "hw-frame-bytes": _pair(tx + tx // 3, rx + rx // 20),
           "tx-frames-timed-out": "0", "uptime": clients.duration(now - start),
           "last-activity": clients.duration(clients.unit(seed, rank, int(now // 10)) * 5, millis=True),
           "signal-strength": f"{signal}@{basic}", "signal-to-noise": str(signal + (112 if five else 108)),
           "signal-strength-ch0": str(signal - 2), "signal-strength-ch1": str(signal - 6),
           "strength-at-rates": f"{signal}@{basic} 3s300ms,{signal - 1}@{'24Mbps' if five else 'HT20-7'} 1s530ms",
           "tx-ccq": str(60 + int(clients.unit(seed, rank, "ccq", int(now // 300)) * 38)),
           "p-throughput": str(int(float(tx_rate.split("Mbps")[0]) * 830)),
           "last-ip": client.address, "802.1x-port-enabled": "true",
           "management-protection": "false", "wmm-enabled": "true",
           "tx-rate-set": _RATE_SET_5G if five else _RATE_SET_2G, "distance": "1"}
    if radio.security != "open":
        row.update({"authentication-type": radio.security, "encryption": "aes-ccm", "group-encryption": "aes-ccm"})
    return row


def wifi_row(client: Client, now: float) -> Row:
    """`/interface/wifi/registration-table` (RouterOS 7 `wifi` package; documented keys, HA fixture shapes)."""
    radio, seed, rank, index = client.radio, client.key, client.rank, client.radio_index
    assert radio is not None
    start, tx, rx = _session(client, now)
    rate = (54, 86, 144, 286, 573, 1201)[int(clients.unit(seed, rank, "rate") * 6)] * 1_000_000
    row = {".id": f"*{0x100 * index + rank:X}", "interface": radio.name, "ssid": radio.ssid,
           "mac-address": client.mac, "uptime": clients.duration(now - start),
           "last-activity": clients.duration(clients.unit(seed, rank, int(now // 10)) * 5, millis=True),
           "signal": str(_signal(seed)), "tx-rate": str(rate), "rx-rate": str(rate // 2),
           "packets": _pair(tx // 1100, rx // 400), "bytes": _pair(tx, rx),
           "tx-bits-per-second": str(int(clients.unit(seed, rank, "bps", int(now // 10)) * 400_000)),
           "rx-bits-per-second": str(int(clients.unit(seed, rank, "rbps", int(now // 10)) * 60_000)),
           "authorized": "true", "band": radio.band.split("/")[0] if "ax" in radio.band else radio.band}
    if radio.security != "open":
        row["auth-type"] = radio.security
    return row


def _hotspot_id(client: Client) -> str:
    """A session's `.id`: new for every presence run (RouterOS numbers new entries upwards)."""
    first = int(client.key.rsplit("/", 1)[1])
    return f"*{(first % 0x100000) * 0x100 + client.slot % 0x100:X}"


def hotspot_rows(spec: RouterSpec, now: float, *, hosts: bool) -> list[Row]:
    """`/ip/hotspot/active` (users logged in) or `/ip/hotspot/host` (every device the hotspot sees: logged
    in or not, radio or wired, and bound static devices as bypassed hosts)."""
    rows: list[Row] = []
    for client in population.present(spec, now):
        hs = client.hotspot
        if hs is None or not (hosts or client.logged_in):
            continue
        start, tx, rx = _session(client, now)
        idle = clients.duration(clients.unit(client.key, int(now // 60)) * 40)
        row = {".id": _hotspot_id(client), "server": hs.name, "mac-address": client.mac,
               "address": client.address, "uptime": clients.duration(now - start), "idle-time": idle,
               "bytes-in": str(rx), "bytes-out": str(tx), "packets-in": str(rx // 400),
               "packets-out": str(tx // 1100)}
        if hosts:
            row.update(_host_fields(client.mac, client.address, authorized=client.logged_in,
                                    dhcp=client.dhcp is not None))
        else:
            row.update({"user": "T-" + client.mac.replace(":", ""), "login-by": "trial", "idle-timeout": "5m",
                        "keepalive-timeout": "2m", "radius": "false", "blocked": "false"})
        rows.append(row)
    if hosts:
        for lease in population.static_leases(spec, now):
            if lease.bound and lease.hotspot is not None:
                row = {".id": f"*{0xF000 + 0x10 * lease.index:X}", "server": lease.hotspot.name,
                       "mac-address": lease.mac, "address": lease.address, "uptime": clients.duration(
                           now % 3600 + 60), "idle-time": "0s", "bytes-in": "0", "bytes-out": "0",
                       "packets-in": "0", "packets-out": "0"}
                row.update(_host_fields(lease.mac, lease.address, authorized=False, dhcp=True, bypassed=True))
                rows.append(row)
    return rows


def _host_fields(mac: str, address: str, *, authorized: bool, dhcp: bool, bypassed: bool = False) -> Row:
    return {"to-address": address, "authorized": "true" if authorized else "false",
            "bypassed": "true" if bypassed else "false", "found-by": f"IP packet from {mac}",
            "idle-timeout": "5m", "keepalive-timeout": "2m", "host-dead-time": "0s", "static": "false",
            "DHCP": "true" if dhcp else "false", "dynamic": "true"}


def lease_rows(spec: RouterSpec, now: float) -> list[Row]:
    """`/ip/dhcp-server/lease`: a bound dynamic lease for every client with one (present, or left with an
    unexpired lease), then the static leases."""
    rows: list[Row] = []
    for client in population.present(spec, now) + population.departed(spec, now):
        d = client.dhcp
        if d is None:
            continue
        expires = population.lease_expiry(client, now if client.left_at is None else client.left_at)
        row = {".id": f"*{0x1000 + client.slot:X}", "address": client.address, "mac-address": client.mac,
               "client-id": "1:" + client.mac.lower(), "server": d.name, "status": "bound",
               "expires-after": clients.duration(expires - now),
               "last-seen": clients.duration(now - client.left_at if client.left_at is not None
                                             else clients.unit(client.key, int(now // 30)) * 30),
               "active-address": client.address, "active-mac-address": client.mac, "active-server": d.name,
               "dynamic": "true", "disabled": "false", "blocked": "false", "radius": "false",
               "address-lists": "", "dhcp-option": ""}
        if client.host_name:
            row["host-name"] = client.host_name
        rows.append(row)
    for lease in population.static_leases(spec, now):
        d = lease.dhcp
        row = {".id": f"*{0x10 * (spec.dhcp_servers.index(d) + 1) + lease.index:X}", "address": lease.address,
               "mac-address": lease.mac, "server": d.name, "status": "bound" if lease.bound else "waiting",
               "dynamic": "false", "disabled": "false", "blocked": "false", "radius": "false",
               "comment": lease.comment, "address-lists": "", "dhcp-option": "",
               "last-seen": clients.duration(120 + clients.unit(lease.host_name, int(now // 3600)) * 3000)}
        if lease.bound:
            row.update({"host-name": lease.host_name, "expires-after": clients.duration(d.lease_time_s * 0.7),
                        "active-address": lease.address, "active-mac-address": lease.mac, "active-server": d.name})
        rows.append(row)
    return rows
