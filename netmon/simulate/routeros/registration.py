"""Rows of the client tables: wireless/wifi registrations, hotspot active users and hosts, DHCP leases.

Each table is a population from `clients` (ranks 1..n present at `now`); per-client values are derived from
(seed, rank) so a client keeps its MAC, rates and signal, and its byte counters grow with the integral of
the daily curve since its session started.
"""

from __future__ import annotations

from netmon.simulate.routeros import clients
from netmon.simulate.routeros.spec import HotspotSpec, RadioSpec, RouterSpec
from netmon.simulate.variation import daily_integral

Row = dict[str, str]

_RATES_2G = ("72.2Mbps-20MHz/1S/SGI", "65Mbps-20MHz/1S", "144.4Mbps-20MHz/2S/SGI", "58.5Mbps-20MHz/1S", "6Mbps")
_RATES_5G = ("866.6Mbps-80MHz/2S/SGI", "585Mbps-80MHz/2S/SGI", "433.3Mbps-80MHz/1S/SGI", "780Mbps-80MHz/2S/SGI")
_RATE_SET_2G = "CCK:1-11 OFDM:6-54 BW:1x SGI:1x HT:0-15"
_RATE_SET_5G = "OFDM:6-54 BW:1x-4x SGI:1x-4x HT:0-15 VHTMCS:SS1=0-9,SS2=0-9"


def _pair(tx: int, rx: int) -> str:
    return f"{tx},{rx}"


def _session(seed: str, rank: int, now: float, peak: int) -> tuple[float, int, int]:
    """(session start, bytes sent to the client, bytes received from it)."""
    start = clients.session_start(rank, now, peak=peak, seed=seed)
    down_rate = 2_000 + clients.unit(seed, rank, "down") * 23_000  # bytes/s at the daily peak
    up_rate = down_rate * (0.08 + 0.1 * clients.unit(seed, rank, "up"))
    at_peak = daily_integral(start, now)
    return start, int(down_rate * at_peak), int(up_rate * at_peak)


def _signal(seed: str, rank: int) -> int:
    return -45 - int(clients.unit(seed, rank, "signal") * 35)


def legacy_row(radio: RadioSpec, seed: str, rank: int, now: float, *, index: int, v7: bool) -> Row:
    """`/interface/wireless/registration-table` (legacy `wireless` package; same keys on v6 and v7)."""
    start, tx, rx = _session(seed, rank, now, radio.peak_clients)
    five = radio.band.startswith("5")
    rates = _RATES_5G if five else _RATES_2G
    signal = _signal(seed, rank)
    basic = "6Mbps" if five else "1Mbps"
    tx_rate = rates[int(clients.unit(seed, rank, "tx") * len(rates))]
    row = {".id": f"*{0x100 * index + rank:X}", "interface": radio.name,
           "mac-address": clients.mac(seed, rank), "ap": "false", "wds": "false", "bridge": "false",
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
           "last-ip": f"10.5.50.{100 + rank}", "802.1x-port-enabled": "true",
           "management-protection": "false", "wmm-enabled": "true",
           "tx-rate-set": _RATE_SET_5G if five else _RATE_SET_2G, "distance": "1"}
    if radio.security != "open":
        row.update({"authentication-type": radio.security, "encryption": "aes-ccm", "group-encryption": "aes-ccm"})
    return row


def wifi_row(radio: RadioSpec, seed: str, rank: int, now: float, *, index: int) -> Row:
    """`/interface/wifi/registration-table` (RouterOS 7 `wifi` package; documented keys, HA fixture shapes)."""
    start, tx, rx = _session(seed, rank, now, radio.peak_clients)
    rate = (54, 86, 144, 286, 573, 1201)[int(clients.unit(seed, rank, "rate") * 6)] * 1_000_000
    row = {".id": f"*{0x100 * index + rank:X}", "interface": radio.name, "ssid": radio.ssid,
           "mac-address": clients.mac(seed, rank), "uptime": clients.duration(now - start),
           "last-activity": clients.duration(clients.unit(seed, rank, int(now // 10)) * 5, millis=True),
           "signal": str(_signal(seed, rank)), "tx-rate": str(rate), "rx-rate": str(rate // 2),
           "packets": _pair(tx // 1100, rx // 400), "bytes": _pair(tx, rx),
           "tx-bits-per-second": str(int(clients.unit(seed, rank, "bps", int(now // 10)) * 400_000)),
           "rx-bits-per-second": str(int(clients.unit(seed, rank, "rbps", int(now // 10)) * 60_000)),
           "authorized": "true", "band": radio.band.split("/")[0] if "ax" in radio.band else radio.band}
    if radio.security != "open":
        row["auth-type"] = radio.security
    return row


def _hotspot_seed(spec: RouterSpec, hotspot: HotspotSpec) -> str:
    return hotspot.seed or f"{spec.router_id}-hotspot"


def hotspot_rows(spec: RouterSpec, now: float, *, hosts: bool) -> list[Row]:
    """`/ip/hotspot/active` (users logged in) or `/ip/hotspot/host` (every device seen, incl. not logged in)."""
    rows: list[Row] = []
    for index, hs in enumerate(spec.hotspots, start=1):
        seed = _hotspot_seed(spec, hs)
        active = clients.count(now, peak=hs.peak_users, seed=seed)
        extra = min(hs.peak_users, active + max(1, active // 4)) if hosts and active else active
        for rank in range(1, extra + 1):
            start, tx, rx = _session(seed, rank, now, hs.peak_users) if rank <= active else (now - 45, 9000, 2100)
            user_mac = clients.mac(seed, rank, base=hs.mac_base, step=hs.mac_step)
            idle = clients.duration(clients.unit(seed, rank, int(now // 60)) * 40)
            base = {".id": f"*{0x1000 * index + rank:X}", "server": hs.name, "mac-address": user_mac,
                    "address": f"{hs.network}{100 + rank}", "uptime": clients.duration(now - start),
                    "idle-time": idle, "bytes-in": str(rx), "bytes-out": str(tx),
                    "packets-in": str(rx // 400), "packets-out": str(tx // 1100)}
            if hosts:
                base.update({"to-address": f"{hs.network}{100 + rank}", "authorized": "true" if rank <= active
                             else "false", "bypassed": "false", "found-by": f"IP packet from {user_mac}",
                             "idle-timeout": "5m", "keepalive-timeout": "2m", "host-dead-time": "0s",
                             "static": "false", "DHCP": "true", "dynamic": "true"})
            else:
                base.update({"user": "T-" + user_mac.replace(":", ""), "login-by": "trial",
                             "idle-timeout": "5m", "keepalive-timeout": "2m", "radius": "false",
                             "blocked": "false"})
            rows.append(base)
    return rows


_STATIC = (("kamera-cctv-balai", "CCTV balai desa"), ("printer-sekretariat", "printer KIM"),
           ("laptop-operator-kim", "laptop operator"), ("tv-informasi", "smart TV ruang tunggu"))


def lease_rows(spec: RouterSpec, now: float) -> list[Row]:
    """`/ip/dhcp-server/lease`: a dynamic bound lease per present client plus a few static leases."""
    rows: list[Row] = []
    hotspots = {h.name: h for h in spec.hotspots}
    for index, d in enumerate(spec.dhcp_servers, start=1):
        hs = hotspots.get(d.hotspot or "")
        seed = _hotspot_seed(spec, hs) if hs else (d.seed or f"{spec.router_id}-{d.name}")
        peak = hs.peak_users if hs else d.peak_leases
        network = hs.network if hs else d.network
        for rank in range(1, clients.count(now, peak=peak, seed=seed) + 1):
            start = clients.session_start(rank, now, peak=peak, seed=seed)
            lease_mac = clients.mac(seed, rank, base=hs.mac_base, step=hs.mac_step) if hs else clients.mac(seed, rank)
            renewed = (now - start) % (d.lease_time_s / 2)
            row = {".id": f"*{0x1000 * index + rank:X}", "address": f"{network}{100 + rank}",
                   "mac-address": lease_mac, "client-id": "1:" + lease_mac.lower(), "server": d.name,
                   "status": "bound", "expires-after": clients.duration(d.lease_time_s - renewed),
                   "last-seen": clients.duration(clients.unit(seed, rank, int(now // 30)) * 30),
                   "active-address": f"{network}{100 + rank}", "active-mac-address": lease_mac,
                   "active-server": d.name, "dynamic": "true", "disabled": "false", "blocked": "false",
                   "radius": "false", "address-lists": "", "dhcp-option": ""}
            name = clients.host_name(seed, rank)
            if name:
                row["host-name"] = name
            rows.append(row)
        for i, (host, comment) in enumerate(_STATIC[:d.extra_leases], start=1):
            lease_mac = clients.mac(f"{spec.router_id}-static", 100 * index + i)
            bound = clients.unit(spec.router_id, host, int(now // 3600)) < 0.6
            row = {".id": f"*{0x10 * index + i:X}", "address": f"{d.network}{10 + i}", "mac-address": lease_mac,
                   "server": d.name, "status": "bound" if bound else "waiting", "dynamic": "false",
                   "disabled": "false", "blocked": "false", "radius": "false", "comment": comment,
                   "address-lists": "", "dhcp-option": "",
                   "last-seen": clients.duration(120 + clients.unit(host, int(now // 3600)) * 3000)}
            if bound:
                row.update({"host-name": host, "expires-after": clients.duration(d.lease_time_s * 0.7),
                            "active-address": f"{d.network}{10 + i}", "active-mac-address": lease_mac,
                            "active-server": d.name})
            rows.append(row)
    return rows
