"""SNMP polling of one device: discovery (rarely) and polls (every interval).

Discovery reads what does not change between polls (profile choice, identity, interface names, SSIDs)
once, then again every `rediscover_s` or after the device rebooted. A poll reads only the columns the
chosen profile exports. The mapping from varbinds to samples is the profile's pure code.

Neighbour tables (LLDP, MikroTik MNDP: equipment next to the device) are read at their own slow cadence,
`neighbours_s` (15 min, spread per device like rediscovery), and with every discovery: equipment is plugged in
rarely, and the unknown-equipment rule it feeds forgets a device only after a day unseen, so reading them at
every poll would cost a walk per poll for nothing. Every poll result carries the addresses of the last reading.
With `keep_discoveries` (the daemon with storage), discoveries are kept across restarts: every new one is
handed to `save`, and a device with a stored discovery that still fits (collectors/snmp/stored.py) is
polled with it at once; `rediscover_s` still counts from when it was made, and a boot time later than the
stored one (a reboot while netmon was stopped) rediscovers it as a reboot seen while running does.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from collectors.snmp import stored
from collectors.snmp.neighbour import neighbour_addresses
from collectors.snmp.profile import Discovery, Profile, ProfileSet, ReadPlan
from collectors.snmp.reader import OpenReader, SnmpReader
from collectors.snmp.stored import UnusableDiscovery
from collectors.snmp.transport import SnmpEngineHandle, SnmpTransport
from collectors.snmp.varbind import SnmpValue
from netmon.errors import CollectorError, ConfigError, DeviceProtocolError
from netmon.model import Device, PollResult, Sample, Source, StoredDiscovery

log = logging.getLogger(__name__)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
UPTIME_METRIC = "netmon_device_uptime_seconds"
REDISCOVER_SPREAD = 0.25  # rediscovery falls due between rediscover_s and 1.25 x rediscover_s, per device
NEIGHBOURS_S = 900.0  # neighbour tables re-read after this (spread like rediscovery)
REBOOT_TOLERANCE_S = 120.0  # boot times estimated from uptime at two polls differ by seconds, not minutes
SaveFn = Callable[[StoredDiscovery], None]


def rediscover_after(device_id: str, rediscover_s: float) -> float:
    """Seconds after a discovery when the device is discovered again: a stable per-device point in
    [rediscover_s, (1 + REDISCOVER_SPREAD) x rediscover_s), so a fleet discovered together at start-up does
    not fall due for rediscovery in the same cycle (~32 ms of CPU each: 10,000 at once is minutes of CPU)."""
    return rediscover_s * (1.0 + REDISCOVER_SPREAD * zlib.crc32(device_id.encode()) / 2**32)


@dataclass(slots=True)
class _DeviceSession:
    """What the collector keeps of one device: thousands of these live for the process's lifetime."""

    transport: SnmpReader
    profile: Profile | None = None
    discovery: Discovery | None = None
    plan: ReadPlan | None = None  # what a poll reads, fixed by the discovery
    discovered_at: float = 0.0
    last_uptime_s: float | None = None
    neighbours: tuple[str, ...] | None = None  # IPv4 addresses from the last neighbour reading
    neighbours_at: float = float("-inf")
    neighbours_failing: bool = False  # the neighbour tables could not be read (logged once)
    unsaved_at: float | None = None  # when the discovery not yet saved was made (saving waits for the uptime)
    kept_booted_at: float | None = None  # boot time stored with a restored discovery, checked at its first poll


class SnmpCollector:
    """Polls devices over SNMP. One instance per process; sessions are kept per device.

    Each device's requests go through an `SnmpReader` (collectors/snmp/reader.py) that `open_reader` makes;
    by default an `SnmpTransport` on `handle`'s sockets."""

    def __init__(self, profiles: ProfileSet, handle: SnmpEngineHandle | None = None,
                 clock: Callable[[], float] = time.time, neighbours_s: float = NEIGHBOURS_S,
                 open_reader: OpenReader | None = None) -> None:
        self._profiles = profiles
        self._handle = handle or SnmpEngineHandle()
        self._open_reader = open_reader or self._open_transport
        self._clock = clock
        self._neighbours_s = neighbours_s
        self._sessions: dict[str, _DeviceSession] = {}
        self._kept: dict[str, StoredDiscovery] = {}
        self._save: SaveFn | None = None
        self._key = b""
        self.discoveries_total = 0  # discoveries made (each is SNMP requests to the device)
        self.restored_total = 0  # stored discoveries taken over instead

    def keep_discoveries(self, kept: Iterable[StoredDiscovery], save: SaveFn, key: bytes) -> None:
        """Keep discoveries across restarts: devices with a `kept` discovery that still fits are polled
        with it instead of being discovered again, and each new discovery goes to `save` (called on the
        event loop after the poll that made it; it must not block). `key` keys the fingerprints."""
        self._kept = {k.device: k for k in kept if k.source is Source.SNMP}
        self._save, self._key = save, key

    async def poll(self, device: Device) -> PollResult:
        started = self._clock()
        t0 = time.perf_counter()
        try:
            session = await self._session(device)
            if session.discovery is None and device.id in self._kept:
                self._restore(session, device)
            if self._needs_discovery(session, device, started):
                await self._discover(session, device)
                session.discovered_at = session.unsaved_at = started
                session.kept_booted_at = None
                session.neighbours_at = float("-inf")  # a new discovery (maybe a new profile): read them now
            assert session.profile is not None and session.discovery is not None and session.plan is not None
            values = await _read(session.transport, session.plan)
            samples = session.profile.samples(values, session.discovery)
            if started - session.neighbours_at >= rediscover_after(device.id, self._neighbours_s):
                await self._read_neighbours(session, device)
                session.neighbours_at = started
        except CollectorError as exc:
            return PollResult(device.id, Source.SNMP, started, time.perf_counter() - t0, error=exc)
        uptime = self._note_uptime(session, samples, started)
        if session.unsaved_at is not None and self._save is not None:
            self._save(self._stored(device, session, session.unsaved_at,
                                    None if uptime is None else started - uptime))
            session.unsaved_at = None
        return PollResult(device.id, Source.SNMP, started, time.perf_counter() - t0,
                          samples=tuple(samples), identity=session.discovery.identity,
                          neighbours=session.neighbours)

    async def open(self, devices: Iterable[Device]) -> None:
        """Open every device's session at start-up rather than at its first poll. A device that cannot be
        opened now (an unresolvable name) is left for its first poll, which reports the error."""
        for device in devices:
            if device.snmp is not None and device.id not in self._sessions:
                try:
                    await self._session(device)
                except CollectorError:
                    continue

    def forget(self, device_id: str) -> None:
        """Drop what discovery learnt (config changed, or the device was replaced)."""
        self._sessions.pop(device_id, None)
        self._kept.pop(device_id, None)

    async def close(self) -> None:
        self._sessions.clear()
        self._handle.close()

    def snmpv3_rejected(self) -> dict[tuple[str, str], int]:
        """SNMPv3 messages refused so far, by (who: "agent" | "netmon", reason) (`v3.py`)."""
        return {(by, str(reason)): count for (by, reason), count in self._handle.rejected_messages().items()}

    async def _session(self, device: Device) -> _DeviceSession:
        session = self._sessions.get(device.id)
        if session is None:
            if device.snmp is None:
                raise DeviceProtocolError("device has no SNMP settings")
            session = self._sessions[device.id] = _DeviceSession(await self._open_reader(device))
        return session

    async def _open_transport(self, device: Device) -> SnmpReader:
        assert device.snmp is not None
        return await SnmpTransport.open(self._handle, device.address, device.snmp)

    def _needs_discovery(self, session: _DeviceSession, device: Device, now: float) -> bool:
        assert device.snmp is not None
        age = now - session.discovered_at
        return (session.discovery is None or age >= rediscover_after(device.id, device.snmp.rediscover_s)
                or age < -REBOOT_TOLERANCE_S)  # made "in the future": the clock was set back, trust nothing

    def _restore(self, session: _DeviceSession, device: Device) -> None:
        """Take over the device's stored discovery if it still fits; else leave it to be discovered."""
        entry = self._kept.pop(device.id)
        try:
            if entry.fingerprint != stored.fingerprint(device, self._profiles.digest, self._key):
                raise UnusableDiscovery("made with other profile files or another profile, address, port or "
                                        "credential of the device")
            kept = stored.loads(entry.payload)
            profile = self._profiles.get(kept.profile)
        except (UnusableDiscovery, ConfigError) as exc:
            log.debug("device %s: stored discovery not used: %s", device.id, exc, extra={"device": device.id})
            return
        session.profile, session.discovery = profile, kept.discovery
        session.plan = profile.poll_plan(kept.discovery)
        session.discovered_at, session.kept_booted_at = entry.discovered_at, kept.booted_at
        self.restored_total += 1

    def _stored(self, device: Device, session: _DeviceSession, discovered_at: float,
                booted_at: float | None) -> StoredDiscovery:
        assert session.profile is not None and session.discovery is not None
        return StoredDiscovery(device.id, Source.SNMP, discovered_at,
                               stored.fingerprint(device, self._profiles.digest, self._key),
                               stored.dumps(session.profile.name, session.discovery, booted_at))

    async def _discover(self, session: _DeviceSession, device: Device) -> None:
        self.discoveries_total += 1
        transport = session.transport
        if device.profile:
            profile = self._profiles.get(device.profile)
        else:
            system = await transport.get([SYS_OBJECT_ID, SYS_DESCR])
            if SYS_OBJECT_ID not in system and SYS_DESCR not in system:
                raise DeviceProtocolError("device answers but has no sysObjectID or sysDescr")
            profile = await self._choose(transport, _text(system.get(SYS_OBJECT_ID)),
                                         _text(system.get(SYS_DESCR)))
        discovery = profile.discover(await _read(transport, profile.discovery_plan()), device.role.value)
        if session.profile is None or session.profile.name != profile.name:
            log.info("device %s: profile %s", device.id, profile.name,
                     extra={"device": device.id, "profile": profile.name})
        session.profile, session.discovery = profile, discovery
        session.plan = profile.poll_plan(discovery)

    async def _read_neighbours(self, session: _DeviceSession, device: Device) -> None:
        """Read the profile's neighbour tables. A device that times out fails the poll as any read does; one
        that answers them with garbage (a protocol error) keeps being polled without a neighbour feed."""
        assert session.profile is not None and session.discovery is not None
        plan = session.profile.neighbour_plan()
        if not plan.walk:
            session.neighbours = None  # the profile reads no neighbour table
            return
        try:
            found = session.profile.neighbours(await _read(session.transport, plan), session.discovery)
        except DeviceProtocolError as exc:
            if not session.neighbours_failing:
                log.warning("device %s: neighbour tables unreadable, no neighbour feed: %s", device.id, exc,
                            extra={"device": device.id})
            session.neighbours, session.neighbours_failing = None, True
            return
        session.neighbours, session.neighbours_failing = neighbour_addresses(found), False

    async def _choose(self, transport: SnmpReader, sys_object_id: str, sys_descr: str) -> Profile:
        candidates = self._profiles.candidates(sys_object_id, sys_descr)
        for profile in candidates:
            if profile.probe is None:
                return profile
            found = await transport.next(profile.probe)
            if found is not None and (found[0] + ".").startswith(profile.probe.rstrip(".") + "."):
                return profile
        return candidates[-1]

    def _note_uptime(self, session: _DeviceSession, samples: list[Sample], now: float) -> float | None:
        """A reboot (uptime going backwards, or a boot time later than the one stored with a restored
        discovery) may mean new firmware or a swapped unit: rediscover on the next poll. Returns the uptime."""
        uptime = next((s.value for s in samples if s.metric == UPTIME_METRIC), None)
        if uptime is None:
            return None
        if session.kept_booted_at is not None:
            if now - uptime > session.kept_booted_at + REBOOT_TOLERANCE_S:
                session.discovered_at = float("-inf")
            session.kept_booted_at = None
        elif session.last_uptime_s is not None and uptime < session.last_uptime_s:
            session.discovered_at = float("-inf")
        session.last_uptime_s = uptime
        return uptime


async def _read(transport: SnmpReader, plan: ReadPlan) -> dict[str, SnmpValue]:
    values: dict[str, SnmpValue] = {}
    if plan.get:
        values.update(await transport.get(list(plan.get)))
    if plan.walk:
        values.update(await transport.walk(plan.walk))
    return values


def _text(value: SnmpValue | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
