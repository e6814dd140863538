"""One client population per simulated router, shared by every table that shows clients.

A real hotspot router sees one phone in several places: its MAC is in the wireless registration table
(while associated), in `/ip/hotspot/host` (while the hotspot sees its traffic), in `/ip/hotspot/active`
(once logged in) and in `/ip/dhcp-server/lease` (from association until the lease expires). This module
decides who is there at `now` (pure; the clock is an argument), and `registration` / `data` render the
same `Client` in each table:

- radio clients: each radio holds ranks 1..n with n = `variation.daily_count(now, peak_clients, seed)`
  (the SNMP simulator's count for the same seed). A rank is a slot; the phone in it is identified by the
  five-minute bucket its presence run began in (`clients.run_first_bucket`), so a slot re-filled later in
  the day is a new phone with a new MAC, as at a real village hall. Share `login_share` of them log in to
  the hotspot; the rest only show as hosts;
- clients of bridged access points (`RouterSpec.bridged_aps`): the same, per AP radio with the AP's own
  seed and peak (so as many as the AP's SNMP simulator reports at that instant), in the router's hotspot
  host/active lists and leases but not in its registration table (they are on the AP's radios);
- wired hotspot users (`HotspotSpec.wired_peak`): hosts with no radio entry; every second one (even
  ranks) has a manually set address (`DHCP: false`, no lease), the others a lease;
- phones that left the radio keep their bound lease until it expires (last renewal at half the lease
  time) while their slot stays empty (a new phone in the slot would need a new address; the simulator
  lets the new lease replace the old one);
- LAN clients of a DHCP server that serves no hotspot (`DhcpSpec.peak_leases`): leases only;
- static leases (`DhcpSpec.extra_leases`: CCTV, printer...) are bound part of the time and, on a hotspot
  network, show as bypassed hosts.

Addresses come from the network of the hotspot (or DHCP server) the client is on: radio clients of radio
i from host `100 + sum of earlier radios' peaks + rank - 1` (the router's radios, then the bridged APs'),
wired users after them, manual addresses
from `.50`, static leases from `.11`. MACs are locally administered and invented.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from netmon.simulate.routeros import clients
from netmon.simulate.routeros.spec import BridgedApSpec, DhcpSpec, HotspotSpec, RadioSpec, RouterSpec
from netmon.simulate.variation import NOISE_BUCKET_S

DEFAULT_NETWORK = "192.168.88.0/24"
STATIC_DEVICES = (("kamera-cctv-balai", "CCTV balai desa"), ("printer-sekretariat", "printer KIM"),
                  ("laptop-operator-kim", "laptop operator"), ("tv-informasi", "smart TV ruang tunggu"))


@dataclass(frozen=True, slots=True)
class Client:
    """One device of the public at one moment, as every table shows it."""

    key: str  # identity: seed/rank/first bucket of its presence run
    slot: int  # unique per router among the clients shown at one time (address, `.id`)
    mac: str
    address: str
    host_name: str
    start: float  # when it connected (this presence run)
    radio: RadioSpec | None  # None: wired
    radio_index: int  # 1-based position in `spec.radios`; 0 when wired or on a bridged AP's radio
    rank: int
    hotspot: HotspotSpec | None
    dhcp: DhcpSpec | None  # its lease's server; None: a manually set address (no lease)
    logged_in: bool
    ap: str = ""  # device id of the bridged access point whose radio it is on ("" on the router's own)
    left_at: float | None = None  # set when it left the radio and only its lease remains


@dataclass(frozen=True, slots=True)
class StaticLease:
    dhcp: DhcpSpec
    index: int  # 1-based position in STATIC_DEVICES
    mac: str
    address: str
    host_name: str
    comment: str
    bound: bool
    hotspot: HotspotSpec | None


def network(text: str) -> ipaddress.IPv4Network:
    """`10.5.50.0/24`, or the older prefix form `10.5.50.` (a /24)."""
    if text.endswith("."):
        text += "0/24"
    return ipaddress.IPv4Network(text, strict=False)


def host(net: str, number: int) -> str:
    base = network(net)
    return str(base.network_address + number % base.num_addresses)


def _segment(spec: RouterSpec, radio: RadioSpec | None = None,
             hotspot: HotspotSpec | None = None) -> tuple[HotspotSpec | None, DhcpSpec | None, str]:
    """The hotspot, DHCP server and network a client of `radio` (or of `hotspot`) is on."""
    if hotspot is None and spec.hotspots:
        wanted = radio.hotspot if radio is not None and radio.hotspot else spec.hotspots[0].name
        hotspot = next((h for h in spec.hotspots if h.name == wanted), spec.hotspots[0])
    if hotspot is not None:
        dhcp = next((d for d in spec.dhcp_servers if d.hotspot == hotspot.name), None)
        return hotspot, dhcp, hotspot.network
    dhcp = spec.dhcp_servers[0] if spec.dhcp_servers else None
    return None, dhcp, dhcp.network if dhcp is not None else DEFAULT_NETWORK


def radio_seed(spec: RouterSpec, radio: RadioSpec, ap: BridgedApSpec | None = None) -> str:
    return radio.seed or f"{ap.device_id if ap is not None else spec.router_id}-{radio.name}"


@dataclass(frozen=True, slots=True)
class _RadioGroup:
    """The clients of one radio: the router's own (`index` >= 1) or a bridged AP's (`ap` set, `index` 0)."""

    radio: RadioSpec
    index: int
    ap: str
    seed: str
    offset: int  # slot of its rank 1


def _radio_groups(spec: RouterSpec) -> list[_RadioGroup]:
    """The router's radios, then its bridged APs' radios, each with the slots its ranks take."""
    groups, offset = [], 0
    radios: list[tuple[RadioSpec, int, BridgedApSpec | None]] = [(r, i, None) for i, r in enumerate(spec.radios, 1)]
    radios += [(r, 0, ap) for ap in spec.bridged_aps for r in ap.radios]
    for radio, index, ap in radios:
        groups.append(_RadioGroup(radio, index, ap.device_id if ap is not None else "",
                                  radio_seed(spec, radio, ap), offset))
        offset += radio.peak_clients
    return groups


def _client(spec: RouterSpec, seed: str, peak: int, rank: int, now: float, *, slot: int,
            segment: tuple[HotspotSpec | None, DhcpSpec | None, str], group: _RadioGroup | None = None,
            at_bucket: int | None = None) -> Client:
    bucket = int(now // NOISE_BUCKET_S) if at_bucket is None else at_bucket
    first = clients.run_first_bucket(seed, peak, rank, bucket)
    key = f"{seed}/{rank}/{first}"
    hotspot, dhcp, net = segment
    manual = group is None and hotspot is not None and rank % 2 == 0  # every second wired user
    return Client(key=key, slot=slot, mac=clients.mac(key, 0), host_name=clients.host_name(key, 0),
                  address=host(net, 50 + rank) if manual else host(net, 100 + slot),
                  start=min(now, clients.run_start(seed, rank, first)),
                  radio=group.radio if group is not None else None,
                  radio_index=group.index if group is not None else 0, ap=group.ap if group is not None else "",
                  rank=rank, hotspot=hotspot, dhcp=None if manual else dhcp,
                  logged_in=hotspot is not None and clients.unit(key, "login") < hotspot.login_share)


def _wired_groups(spec: RouterSpec) -> Iterator[tuple[str, int, tuple[HotspotSpec | None, DhcpSpec | None, str]]]:
    """(seed, peak, segment) of each wired population: hotspot users, then LAN clients of plain DHCP servers."""
    for hs in spec.hotspots:
        yield f"{hs.seed or spec.router_id + '-hotspot'}-wired", hs.wired_peak, _segment(spec, hotspot=hs)
    for d in spec.dhcp_servers:
        if d.hotspot is None and d.peak_leases:
            yield d.seed or f"{spec.router_id}-{d.name}", d.peak_leases, (None, d, d.network)


def present(spec: RouterSpec, now: float) -> list[Client]:
    """Everyone connected at `now`: radio clients (the router's radios, then its bridged APs' radios, by
    rank), then wired ones."""
    out: list[Client] = []
    slot = 0
    for group in _radio_groups(spec):
        segment, peak = _segment(spec, group.radio), group.radio.peak_clients
        for rank in range(1, clients.count(now, peak=peak, seed=group.seed) + 1):
            out.append(_client(spec, group.seed, peak, rank, now, slot=group.offset + rank - 1, segment=segment,
                               group=group))
        slot = group.offset + peak
    for seed, peak, segment in _wired_groups(spec):
        for rank in range(1, clients.count(now, peak=peak, seed=seed) + 1):
            out.append(_client(spec, seed, peak, rank, now, slot=slot + rank - 1, segment=segment))
        slot += peak
    return out


def departed(spec: RouterSpec, now: float) -> list[Client]:
    """Radio clients (of the router's or a bridged AP's radios) that left but whose lease has not expired
    (only while their slot is empty)."""
    out: list[Client] = []
    for group in _radio_groups(spec):
        segment, peak, seed = _segment(spec, group.radio), group.radio.peak_clients, group.seed
        dhcp = segment[1]
        if dhcp is None:
            continue
        for rank in range(clients.count(now, peak=peak, seed=seed) + 1, peak + 1):
            gone = _left(seed, peak, rank, now, dhcp.lease_time_s)
            if gone is None:
                continue
            last_bucket, left_at = gone
            client = _client(spec, seed, peak, rank, left_at, slot=group.offset + rank - 1, segment=segment,
                             group=group, at_bucket=last_bucket)
            if client.dhcp is not None and lease_expiry(client, left_at) > now:
                out.append(replace(client, left_at=left_at))
    return out


def _left(seed: str, peak: int, rank: int, now: float, lease_time_s: int) -> tuple[int, float] | None:
    """(last bucket present, when it left) for a slot empty now, if it was filled within the lease time."""
    bucket = int(now // NOISE_BUCKET_S)
    return _last_present(seed, peak, rank, bucket, lease_time_s // NOISE_BUCKET_S + 1)


@lru_cache(maxsize=1 << 15)
def _last_present(seed: str, peak: int, rank: int, bucket: int, lookback: int) -> tuple[int, float] | None:
    for back in range(1, lookback + 1):
        b = bucket - back
        if clients.bucket_count(seed, peak, b) >= rank:
            return b, float((b + 1) * NOISE_BUCKET_S)
    return None


def lease_expiry(client: Client, at: float) -> float:
    """When the lease of `client` expires if it renews at half the lease time until `at`."""
    assert client.dhcp is not None
    half = client.dhcp.lease_time_s / 2
    renewed = client.start + ((at - client.start) // half) * half
    return renewed + client.dhcp.lease_time_s


def static_leases(spec: RouterSpec, now: float) -> list[StaticLease]:
    out = []
    hotspots = {h.name: h for h in spec.hotspots}
    for index, d in enumerate(spec.dhcp_servers, start=1):
        for i, (name, comment) in enumerate(STATIC_DEVICES[:d.extra_leases], start=1):
            out.append(StaticLease(
                dhcp=d, index=i, mac=clients.mac(f"{spec.router_id}-static", 100 * index + i),
                address=host(hotspots[d.hotspot].network if d.hotspot in hotspots else d.network, 10 + i),
                host_name=name, comment=comment, hotspot=hotspots.get(d.hotspot or ""),
                bound=clients.unit(spec.router_id, name, int(now // 3600)) < 0.6))
    return out


def clients_seen(spec: RouterSpec, instants: Iterable[float]) -> set[str]:
    """MACs of every client device in any table at any of `instants` (radio, hotspot host, bound lease):
    the distinct clients a poller looking at those instants must count."""
    seen: set[str] = set()
    for now in instants:
        seen.update(c.mac for c in present(spec, now))
        seen.update(c.mac for c in departed(spec, now))
        seen.update(s.mac for s in static_leases(spec, now) if s.bound)
    return seen
