"""Core records shared by collectors, state, exporter, storage and alerts.

Frozen, slotted dataclasses with no I/O (STYLE.md section 2). Collectors and alerts depend on these
records, never on each other.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from netmon.errors import CollectorError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Role(StrEnum):
    ROUTER = "router"
    AP = "ap"
    SWITCH = "switch"
    OTHER = "other"


class Owner(StrEnum):
    PEMDA = "pemda"
    KIM = "kim"
    OTHER = "other"


class Source(StrEnum):
    SNMP = "snmp"
    ROUTEROS = "routeros"
    PING = "ping"
    PUSH = "push"  # the router sends its own heartbeat (deploy/routeros/netmon-push.rsc, docs/push.md)


class SampleKind(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"
    INFO = "info"


class Secret:
    """A credential value that never shows itself in repr, str, logs or exceptions."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class TimeZone(StrEnum):
    """Indonesia's three time zones (none has daylight saving). The value is the IANA name; the member
    name is what people read: "08:15 WITA"."""

    WIB = "Asia/Jakarta"  # UTC+7: Sumatra, Java, West and Central Kalimantan
    WITA = "Asia/Makassar"  # UTC+8: Bali, Nusa Tenggara, South/East/North Kalimantan, Sulawesi
    WIT = "Asia/Jayapura"  # UTC+9: Maluku, Papua

    @classmethod
    def parse(cls, text: str) -> TimeZone:
        """`Asia/Jakarta` or `WIB` (exactly so written); ValueError for anything else."""
        for zone in cls:
            if text in (zone.value, zone.name):
                return zone
        raise ValueError(f"unknown time zone {text!r}: use one of "
                         + ", ".join(f"{z.value} ({z.name})" for z in cls))

    @property
    def abbreviation(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> ZoneInfo:
        return _zoneinfo(self.value)

    @property
    def utc_offset_s(self) -> int:
        return _offset_s(self.value)

    def local(self, at: float) -> datetime:
        """Unix time `at` as an aware local datetime."""
        return datetime.fromtimestamp(at, self.tzinfo)

    def date_at(self, at: float) -> date:
        """The local calendar date at unix time `at`."""
        return self.local(at).date()

    def rfc3339(self, at: float) -> str:
        """"2026-11-30T21:15:00+08:00" (RFC 3339, whole seconds, the zone's offset)."""
        return self.local(at).isoformat(timespec="seconds")

    def stamp(self, at: float) -> str:
        """"2026-11-30 21:15:00 WITA", for people."""
        return f"{self.local(at):%Y-%m-%d %H:%M:%S} {self.name}"


@cache
def _zoneinfo(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def _offset_s(name: str) -> int:
    offset = datetime(2026, 1, 1, tzinfo=_zoneinfo(name)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


DEFAULT_TIMEZONE = TimeZone.WIB


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    desa: str
    kecamatan: str
    kabupaten: str
    latitude: float | None = None
    longitude: float | None = None
    kim_contact: Contact | None = None
    timezone: TimeZone = DEFAULT_TIMEZONE  # effective zone: the kabupaten's, else the config's default


@dataclass(frozen=True, slots=True)
class AssetRecord:
    """Fields of the regional asset register, in the KIB B layout (Kartu Inventaris Barang B, Peralatan dan Mesin);
    the KIB B column each field fills is named beside it."""

    kode_barang: str | None = None  # Kode Barang
    nomor_register: str | None = None  # Nomor Register
    serial: str | None = None  # Nomor Pabrik / Seri
    model: str | None = None  # Merk / Type
    year_acquired: int | None = None  # Tahun Pembelian
    value_idr: int | None = None  # Harga (Rp)
    name: str | None = None  # Nama / Jenis Barang
    size: str | None = None  # Ukuran
    material: str | None = None  # Bahan
    origin: str | None = None  # Asal-usul / Cara Perolehan (e.g. "Pembelian", "Hibah")
    remarks: str | None = None  # Keterangan
    unit: str | None = None  # OPD / unit kerja that holds the asset


class Condition(StrEnum):
    """An asset's condition as the register records it (Permendagri 47/2021)."""

    GOOD = "B"  # Baik: intact and working properly
    MINOR = "RR"  # Rusak Ringan (also written KB, Kurang Baik): needs a minor repair
    MAJOR = "RB"  # Rusak Berat: not intact or not working; major repair or replacement of main components


@dataclass(frozen=True, slots=True)
class Inspection:
    """A person's field inspection of one asset: from `on` (a local date in the kabupaten's zone) the condition is
    what they confirmed, whatever the evidence suggests."""

    device: str
    on: date
    condition: Condition
    note: str
    by: str
    recorded_at: float


@dataclass(frozen=True, slots=True)
class AssetCondition:
    """One asset's condition for one period: what the stored history suggests (with its evidence in one line), what a
    person confirmed (the latest inspection on or before the period's end, if any), and the previous period's."""

    device: str
    suggested: Condition
    evidence: str
    confirmed: Inspection | None = None
    previous: Condition | None = None

    @property
    def condition(self) -> Condition:
        """The condition the report states: the confirmed one where a person inspected, else the suggestion."""
        return self.confirmed.condition if self.confirmed else self.suggested


@dataclass(frozen=True, slots=True)
class SnmpV2cAuth:
    community: Secret


@dataclass(frozen=True, slots=True)
class SnmpV3Auth:
    user: str
    auth_protocol: str | None  # "sha" | "sha256" | None (noAuthNoPriv)
    auth_key: Secret | None
    priv_protocol: str | None  # "aes128" | "aes256" | None (authNoPriv)
    priv_key: Secret | None


SnmpAuth = SnmpV2cAuth | SnmpV3Auth


@dataclass(frozen=True, slots=True)
class SnmpSettings:
    """How to talk SNMP to one device (resolved from config + credentials + defaults)."""

    auth: SnmpAuth
    port: int = 161
    timeout_s: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    rediscover_s: float = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class RouterOsSettings:
    """How to talk to one router's RouterOS API (resolved from config + credentials + defaults)."""

    user: str
    password: Secret
    port: int | None = None  # None: 8728, or 8729 with tls
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str | None = None
    timeout_s: float = 5.0

    @property
    def effective_port(self) -> int:
        return self.port or (8729 if self.tls else 8728)


@dataclass(frozen=True, slots=True)
class PushSettings:
    """How one router pushes its heartbeat (docs/push.md): the token it sends as `Authorization: Bearer`, how
    late a push may be before it counts as missed, how far the router's clock may be from ours before its
    time is not used, and how many pushes a minute are accepted (None: max(6, 2 per interval))."""

    token: Secret
    tolerance_s: float = 30.0
    max_skew_s: float = 300.0
    max_per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """One asset at a site, as the inventory describes it."""

    id: str
    site: str
    role: Role
    address: str
    sources: tuple[Source, ...]
    owner: Owner
    asset: AssetRecord = field(default_factory=AssetRecord)
    profile: str | None = None
    parent: str | None = None
    interval_s: float = 60.0
    snmp: SnmpSettings | None = None
    routeros: RouterOsSettings | None = None
    push: PushSettings | None = None


def site_index(devices: Mapping[str, Device]) -> dict[str, list[Device]]:
    """The devices of each site, in configuration order."""
    index: dict[str, list[Device]] = {}
    for device in devices.values():
        index.setdefault(device.site, []).append(device)
    return index


Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One value a collector read. `labels` excludes the device label (the exporter adds it)."""

    metric: str
    value: float
    labels: Labels = ()
    kind: SampleKind = SampleKind.GAUGE
    help: str = ""

    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)

    def __reduce__(self) -> tuple[Callable[..., Sample], tuple[str, float, Labels, SampleKind, str]]:
        # pickled by its fields in order (3x cheaper than a slotted dataclass's generic state): SNMP worker
        # processes send every result to the main process (netmon.worker)
        return unpickled_sample, (self.metric, self.value, self.labels, self.kind, self.help)


class SharedPool(Generic[K, V]):
    """One object for equal values that many devices hold alike (a sample's label tuple, a discovered row's
    labels, ...): `get(key, value)` returns the object first given for an equal `key`, else keeps `value`.
    Bounded: cleared when it holds `cap` keys (values that keep changing start it over). Sharing only saves
    memory: the objects must be immutable, or at least never changed once given."""

    __slots__ = ("_cap", "_objects")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._objects: dict[K, V] = {}

    def get(self, key: K, value: V) -> V:
        found = self._objects.get(key)
        if found is None:
            if len(self._objects) >= self._cap:
                self._objects.clear()
            found = self._objects[key] = value
        return found

    def __len__(self) -> int:
        return len(self._objects)


_SHARED_LABELS: SharedPool[Labels, Labels] = SharedPool(200_000)


def unpickled_sample(metric: str, value: float, labels: Labels, kind: SampleKind, help: str) -> Sample:
    """A sample as it arrives from a worker process, its strings and label tuple shared with every other
    sample that has them: the main process keeps each device's latest samples (netmon.latest), and a
    fresh copy of "netmon_interface_rx_bytes_total", its help text and `(("interface", "wlan1"),)` per
    result would be ~5 KB and ~100 objects for the garbage collector to walk per device (docs/performance.md)."""
    shared = _SHARED_LABELS.get(labels, labels)
    return Sample(sys.intern(metric), value, shared, kind, sys.intern(help))


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What discovery learnt about a device: vendor profile and static facts."""

    profile: str
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    serial: str = ""
    sys_name: str = ""
    sys_descr: str = ""
    sys_object_id: str = ""

    def as_labels(self) -> Mapping[str, str]:
        return {
            "vendor": self.vendor,
            "model": self.model,
            "firmware": self.firmware,
            "serial": self.serial,
        }


@dataclass(frozen=True, slots=True)
class PollResult:
    device: str
    source: Source
    started_at: float  # unix time
    duration_s: float
    samples: tuple[Sample, ...] = ()
    error: CollectorError | None = None
    identity: DeviceIdentity | None = None
    # keyed hashes of client devices seen (see netmon.privacy); never MAC addresses
    fingerprints: frozenset[str] = frozenset()
    # IPv4 addresses of network equipment announcing itself next to the device (MNDP/LLDP/CDP neighbours);
    # None: this source does not read neighbours for the device (() is "read, none there")
    neighbours: tuple[str, ...] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __reduce__(self) -> tuple[type[PollResult], tuple[object, ...]]:
        return PollResult, (self.device, self.source, self.started_at, self.duration_s, self.samples, self.error,
                            self.identity, self.fingerprints, self.neighbours)


class Status(StrEnum):
    """Availability of a device (STYLE.md section 2). Derived from polls, never set by hand."""

    UNKNOWN = "unknown"  # never polled yet, or the daemon was not running
    UP = "up"
    DEGRADED = "degraded"  # some source answers and another fails (e.g. ping ok, SNMP fails)
    DOWN = "down"
    DISABLED = "disabled"  # monitoring switched off for the device


class Cause(StrEnum):
    """Whose problem an outage is."""

    DEVICE = "device"  # the device itself failed while its parent / site answers: a failed asset
    SITE = "site"  # everything at the site is unreachable: power or uplink
    PARENT = "parent"  # behind a parent that is down: not counted against the device
    MAINTENANCE = "maintenance"  # inside a declared maintenance window
    AGENT = "agent"  # not an outage: the site agent (or its uplink) cannot be heard; its devices are UNKNOWN


@dataclass(frozen=True, slots=True)
class DeviceState:
    device: str
    status: Status
    since: float  # unix time of the last status change
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_error: str | None = None  # error class name and reason only: bounded, no secrets
    last_good_poll: float | None = None
    uptime_s: float | None = None  # last uptime seen (for reboot detection)
    uptime_at: float | None = None  # when it was seen
    failing_since: float | None = None  # first failed poll of the current all-sources-failing episode
    answering_since: float | None = None  # first good poll of the current answering streak (None: nothing answers)
    unknown_cause: Cause | None = None  # UNKNOWN for a reason of its own: AGENT (the site agent cannot be heard)


@dataclass(frozen=True, slots=True)
class StateChange:
    device: str
    old: Status
    new: Status
    at: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Reboot:
    device: str
    booted_at: float  # estimated from uptime
    detected_at: float


@dataclass(frozen=True, slots=True)
class StoredDiscovery:
    """What a collector's discovery learnt about a device, kept across restarts (docs/storage.md).
    `payload` is the collector's own versioned JSON; `fingerprint` is a keyed hash of everything the facts
    depend on (profile files, the device's profile/address/port/credential): a mismatch discards them."""

    device: str
    source: Source
    discovered_at: float
    fingerprint: str
    payload: str


@dataclass(frozen=True, slots=True)
class Outage:
    """One span of a device being down with one cause (docs/state.md). `id` is stable across restarts.

    `started_at` is the first failed poll (or, for a later span of the same episode, when the evidence that
    changed the cause began); `detected_at` is when netmon declared it ("terdeteksi"); `ended_at` is the
    first good poll. An episode whose cause changed on evidence has several spans sharing `episode` (the id
    of its first span)."""

    id: str
    device: str
    site: str
    started_at: float
    cause: Cause
    status: Status = Status.DOWN
    ended_at: float | None = None
    detected_at: float | None = None
    episode: str | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A declared window in which outages are `maintenance`, not failures. Repeats every `every_s`
    seconds from `start` when set (daily or weekly windows). Empty scope lists match nothing. With `zone`
    set, the window covers only devices whose site is in that zone (a window written in local time is one
    record per zone, each with that zone's unix times)."""

    name: str
    start: float  # unix time
    end: float  # unix time of the first occurrence's end
    every_s: float | None = None
    devices: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    kecamatan: frozenset[str] = frozenset()
    zone: TimeZone | None = None


@dataclass(frozen=True, slots=True)
class StatePolicy:
    """Tolerance on both edges of the availability state machine."""

    down_after_failures: int = 3  # consecutive failed polls ...
    down_after_s: float = 180.0  # ... or a failure lasting this long, whichever comes first
    up_after_successes: int = 2  # good polls before down -> up


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Transition(StrEnum):
    """The edge an alert crossed."""

    FIRING = "firing"
    RESOLVED = "resolved"


class IncidentKind(StrEnum):
    """What an incident is about: the values stored in `incidents.kind` and sent in MQTT/webhook payloads."""

    DEVICE = "device"  # one device down
    SITE = "site"  # a whole site down
    AREA = "area"  # several sites of one kecamatan down together
    METRIC = "metric"  # any other rule (thresholds, interfaces, reboots, credentials, ...)


class TicketState(StrEnum):
    """A helpdesk ticket's state: the values stored in `tickets.state` and sent in MQTT payloads."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A rule changed its verdict for a subject (a device, a site or an area)."""

    rule: str
    subject: str  # device id, site id, or "kecamatan:<name>" for an area
    transition: Transition
    at: float
    severity: Severity = Severity.WARNING
    value: float | None = None
    labels: Labels = ()
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Incident:
    """One episode that people must act on; outages, site and area failures fold into one incident.
    `id` is stable across restarts and retries (derived from what it is about and when it began)."""

    id: str
    rule: str
    subject: str
    kind: IncidentKind
    severity: Severity
    opened_at: float
    owner: Owner  # routes the notification: pemda -> Diskominfo, kim -> the KIM contact
    kabupaten: str
    kecamatan: str
    site: str | None = None
    device: str | None = None
    members: tuple[str, ...] = ()  # devices or sites folded into this incident
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    escalated_at: float | None = None
    resolved_at: float | None = None
    summary: str = ""
    detected_at: float | None = None  # when the alert was raised ("terdeteksi"); `opened_at` is the episode start

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class Ticket:
    """The helpdesk ticket of an incident: exactly one per incident, whatever the number of sinks."""

    id: str  # e.g. "NETMON-2026-000123", stable
    incident: str
    state: TicketState
    opened_at: float
    updated_at: float
    external_refs: tuple[tuple[str, str], ...] = ()  # (sink name, reference at that sink)
