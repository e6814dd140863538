"""Per-device signals from poll results, reboots and discovery, turned into rule verdicts (pure).

Covers the metric rules (built-in temperature / CPU and user rules), voltage (low or unstable), interface
down (only an interface that was seen up), reboot loops, idle access points in opening hours, asset
identity mismatches and unknown devices. Availability (device, site, area) lives in `alerts.engine`, on top
of `netmon.state` outages.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence

from alerts.rules import (
    ASSET_MISMATCH,
    IDLE_AP,
    INTERFACE_DOWN,
    REBOOT_LOOP,
    UNKNOWN_DEVICE,
    VOLTAGE,
    MetricRule,
    RuleSettings,
    Verdict,
)
from netmon.model import (
    DEFAULT_TIMEZONE,
    Device,
    DeviceIdentity,
    DeviceState,
    Labels,
    PollResult,
    Reboot,
    Role,
    Sample,
    Site,
    Status,
    TimeZone,
)

Key = tuple[str, str]  # (rule, subject)
WIFI_METRIC = "netmon_wifi_clients"
LINK_METRIC = "netmon_interface_up"
VOLTAGE_METRIC = "netmon_device_voltage_volts"


def series_subject(device: str, labels: Labels) -> str:
    """`device`, or `device/<label values>` for a labelled series (e.g. "kim-x-router/ether1")."""
    values = [value for _, value in sorted(labels) if value]
    return "/".join([device, *values]) if values else device


def _same(inventory: str | None, seen: str) -> bool:
    """Serial or model equal, ignoring case, spaces and a vendor prefix ("MikroTik RB951" ~ "RB951")."""
    if not inventory or not seen:
        return True  # nothing to compare
    a, b = inventory.casefold().replace(" ", ""), seen.casefold().replace(" ", "")
    return a == b or a.endswith(b) or b.endswith(a)


class SignalBook:
    def __init__(self, devices: Mapping[str, Device], settings: RuleSettings,
                 metric_rules: Sequence[MetricRule], sites: Mapping[str, Site] | None = None) -> None:
        self._devices = devices
        self._sites = sites or {}
        self._settings = settings
        self._rules = (*settings.builtin_metric_rules(), *metric_rules)
        self._ever_up: set[str] = set()
        self._voltage: dict[str, deque[tuple[float, float]]] = {}
        self._reboots: dict[str, deque[float]] = {}
        self._wifi_seen: dict[str, float] = {}  # AP -> first poll with a wifi client count
        self._wifi_client_at: dict[str, float] = {}  # AP -> last poll with at least one client
        self._unknown: dict[tuple[str, str], float] = {}  # (site, fingerprint) -> last seen

    def observe(self, result: PollResult) -> dict[Key, Verdict]:
        device = self._devices.get(result.device)
        if device is None or not result.ok:
            return {}
        at, scope = result.started_at, (("device", device.id),)
        verdicts = self._metric_verdicts(device.id, result.samples, scope)
        verdicts.update(self._link_verdicts(device.id, result.samples, scope))
        volts = [s.value for s in result.samples if s.metric == VOLTAGE_METRIC]
        if volts:
            verdicts[(VOLTAGE, device.id)] = self._voltage_verdict(device.id, at, volts[0])
        self._note_wifi_clients(device, result.samples, at)
        if result.identity is not None:
            verdicts[(ASSET_MISMATCH, device.id)] = self._identity_verdict(device, result.identity)
        return verdicts

    def _metric_verdicts(self, device_id: str, samples: Sequence[Sample], scope: Labels) -> dict[Key, Verdict]:
        """One verdict per (metric rule, matching series)."""
        verdicts: dict[Key, Verdict] = {}
        for rule in self._rules:
            for sample in samples:
                if rule.matches(sample):
                    key = (rule.name, series_subject(device_id, sample.labels))
                    summary = f"{sample.value:g} ({rule.op} {rule.threshold:g})"
                    verdicts[key] = Verdict(rule.holds(sample.value), sample.value, summary,
                                            labels=scope + sample.labels)
        return verdicts

    def _link_verdicts(self, device_id: str, samples: Sequence[Sample], scope: Labels) -> dict[Key, Verdict]:
        """Interface down, only for an interface that was seen up once."""
        verdicts: dict[Key, Verdict] = {}
        for sample in samples:
            if sample.metric != LINK_METRIC:
                continue
            subject = series_subject(device_id, sample.labels)
            if sample.value >= 1:
                self._ever_up.add(subject)
                verdicts[(INTERFACE_DOWN, subject)] = Verdict(False, 1.0, labels=scope + sample.labels)
            elif subject in self._ever_up:
                verdicts[(INTERFACE_DOWN, subject)] = Verdict(True, 0.0, "", labels=scope + sample.labels)
        return verdicts

    def _note_wifi_clients(self, device: Device, samples: Sequence[Sample], at: float) -> None:
        """Remember when an access point first reported clients at all, and last had one (for idle AP)."""
        clients = [s.value for s in samples if s.metric == WIFI_METRIC]
        if device.role is Role.AP and clients:
            self._wifi_seen.setdefault(device.id, at)
            if sum(clients) > 0:
                self._wifi_client_at[device.id] = at

    def reboot(self, reboot: Reboot) -> dict[Key, Verdict]:
        if reboot.device not in self._devices:
            return {}
        self._reboots.setdefault(reboot.device, deque()).append(reboot.booted_at)
        return {(REBOOT_LOOP, reboot.device): self._reboot_verdict(reboot.device, reboot.detected_at)}

    def unknown(self, site: str, fingerprint: str, at: float) -> dict[Key, Verdict]:
        self._unknown[(site, fingerprint)] = at
        return {(UNKNOWN_DEVICE, f"{site}/{fingerprint}"): Verdict(True, summary=fingerprint[:12],
                                                                   labels=(("site", site),))}

    def timed_for(self, device_id: str, states: Mapping[str, DeviceState], at: float) -> dict[Key, Verdict]:
        """The time-based verdicts of one device (its reboot window, its idle radio), after news from it."""
        verdicts: dict[Key, Verdict] = {}
        if device_id in self._reboots:
            verdicts[(REBOOT_LOOP, device_id)] = self._reboot_verdict(device_id, at)
        if device_id in self._wifi_seen:
            verdicts[(IDLE_AP, device_id)] = self._idle_verdict(device_id, states.get(device_id), at)
        return verdicts

    def timed(self, states: Mapping[str, DeviceState], at: float,
              restless: Collection[Key] | None = None) -> dict[Key, Verdict]:
        """Verdicts that change with time alone: reboot windows, idle APs, forgotten unknown devices. With
        `restless` (the alerts whose track is not at rest), an AP that had a client within the idle time and
        whose alert is at rest is left out: its verdict is "not idle", which moves nothing (most APs by day)."""
        verdicts: dict[Key, Verdict] = {}
        for device_id in list(self._reboots):
            verdicts[(REBOOT_LOOP, device_id)] = self._reboot_verdict(device_id, at)
        opened: dict[TimeZone, float | None] = {}  # the opening hours' start, once per zone (not per AP)
        idle_s, client_at = self._settings.idle_ap_s, self._wifi_client_at
        for device_id in self._wifi_seen:
            last = client_at.get(device_id)
            recent = last is not None and at - last < idle_s
            if recent and restless is not None and (IDLE_AP, device_id) not in restless:
                continue
            verdicts[(IDLE_AP, device_id)] = self._idle_verdict(device_id, states.get(device_id), at, opened)
        forget = self._settings.unknown_device_forget_s
        for (site, fingerprint), seen in list(self._unknown.items()):
            if at - seen >= forget:
                del self._unknown[(site, fingerprint)]
                verdicts[(UNKNOWN_DEVICE, f"{site}/{fingerprint}")] = Verdict(False, ended_at=seen + forget,
                                                                              labels=(("site", site),))
        return verdicts

    # --- rules ---

    def _voltage_verdict(self, device: str, at: float, volts: float) -> Verdict:
        s = self._settings
        readings = self._voltage.setdefault(device, deque())
        readings.append((at, volts))
        while readings and at - readings[0][0] > s.voltage_window_s:
            readings.popleft()
        values = [v for _, v in readings]
        swing = max(values) - min(values)
        scope = (("device", device),)
        if volts < s.voltage_min_v:
            return Verdict(True, volts, f"{volts:.1f} V (< {s.voltage_min_v:g} V)", labels=scope)
        if swing > s.voltage_swing_v:
            return Verdict(True, volts, f"{min(values):.1f}-{max(values):.1f} V",
                           labels=scope)
        return Verdict(False, volts, labels=scope)

    def _reboot_verdict(self, device: str, at: float) -> Verdict:
        s = self._settings
        boots = self._reboots[device]
        while boots and at - boots[0] > s.reboot_loop_window_s:
            boots.popleft()
        if not boots:
            del self._reboots[device]
        count = len(boots)
        return Verdict(count >= s.reboot_loop_count, float(count),
                       f"{count}x / {s.reboot_loop_window_s / 60:.0f} min",
                       started_at=boots[0] if boots else None, labels=(("device", device),))

    def _zone(self, device_id: str) -> TimeZone:
        """The zone of the device's site (its opening hours are local time there)."""
        device = self._devices.get(device_id)
        site = self._sites.get(device.site) if device is not None else None
        return site.timezone if site is not None else DEFAULT_TIMEZONE

    def _idle_verdict(self, device: str, state: DeviceState | None, at: float,
                      opened_by_zone: dict[TimeZone, float | None] | None = None) -> Verdict:
        scope = (("device", device),)
        client_at = self._wifi_client_at.get(device)
        if client_at is not None and at - client_at < self._settings.idle_ap_s:
            return Verdict(False, at - client_at, labels=scope)  # a client proves the radio, at any hour
        zone, known = self._zone(device), {} if opened_by_zone is None else opened_by_zone
        if zone not in known:
            known[zone] = self._settings.opening_hours.opened_at(at, zone)
        opened = known[zone]
        if state is None or state.status is not Status.UP or opened is None:
            return Verdict(None, labels=scope)  # down is another rule's business; nights do not count
        since = max(self._wifi_client_at.get(device, self._wifi_seen[device]), opened, state.since)
        idle = at - since
        return Verdict(idle >= self._settings.idle_ap_s, idle, f"{idle / 60:.0f} min",
                       started_at=since, labels=scope)

    def _identity_verdict(self, device: Device, identity: DeviceIdentity) -> Verdict:
        asset, scope = device.asset, (("device", device.id),)
        problems = []
        if not _same(asset.serial, identity.serial):
            problems.append(f"serial {identity.serial} (KIB {asset.serial})")
        if not _same(asset.model, identity.model):
            problems.append(f"model {identity.model} (KIB {asset.model})")
        return Verdict(bool(problems), summary="; ".join(problems), labels=scope)
