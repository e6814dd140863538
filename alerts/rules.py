"""Alert rules as data, and the tolerance state machine every rule goes through (pure, no I/O).

A rule gives, per subject, a `Verdict`: active (the condition holds), inactive, or no verdict (`None`: hold
whatever the alert was, e.g. no samples because the device is down). `Hysteresis` turns verdicts into
"firing" and "resolved" edges with tolerance on both sides: a condition must hold `for_s` before it fires
and be gone `clear_for_s` before it resolves (openwisp-monitoring's tolerance on raise and recovery).

Built-in rule names are the constants below; user rules (`MetricRule`) come from config data. See
docs/alerts.md for the defaults.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from netmon.errors import ConfigError
from netmon.model import DEFAULT_TIMEZONE, Labels, Sample, Severity, TimeZone, Transition

DEVICE_DOWN = "device_down"
SITE_DOWN = "site_down"
AREA_OUTAGE = "area_outage"
HIGH_TEMPERATURE = "high_temperature"
VOLTAGE = "voltage"
HIGH_CPU = "high_cpu"
INTERFACE_DOWN = "interface_down"
REBOOT_LOOP = "reboot_loop"
IDLE_AP = "idle_ap"
ASSET_MISMATCH = "asset_mismatch"
UNKNOWN_DEVICE = "unknown_device"
FLAPPING = "flapping"
AUTH_FAILED = "auth_failed"  # alerts.credential
AGENT_SILENT = "agent_silent"  # a site's agent (issue #14) cannot be heard: one per site, for Diskominfo

BUILTIN_RULES = (DEVICE_DOWN, SITE_DOWN, AREA_OUTAGE, HIGH_TEMPERATURE, VOLTAGE, HIGH_CPU, INTERFACE_DOWN,
                 REBOOT_LOOP, IDLE_AP, ASSET_MISMATCH, UNKNOWN_DEVICE, FLAPPING, AUTH_FAILED, AGENT_SILENT)
AVAILABILITY_RULES = (DEVICE_DOWN, SITE_DOWN, INTERFACE_DOWN)  # the ones flapping freezes
FLAP_VERDICT_RULES = (SITE_DOWN, INTERFACE_DOWN)  # whose verdict flips count as transitions (devices: states)

Comparison = Literal[">", ">=", "<", "<=", "==", "!="]
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}


def compare(value: float, op: str, threshold: float) -> bool:
    return COMPARISONS[op](value, threshold)


@dataclass(frozen=True, slots=True)
class Tolerance:
    for_s: float = 0.0  # the condition must hold this long before the alert fires
    clear_for_s: float = 0.0  # ... and be gone this long before it resolves


@dataclass(frozen=True, slots=True)
class MetricRule:
    """A threshold on one metric, per series (device + the sample's labels). Built-in or from config."""

    name: str
    metric: str
    op: Comparison
    threshold: float
    for_s: float = 0.0
    clear_for_s: float = 0.0
    severity: Severity = Severity.WARNING
    labels: Labels = ()  # the sample must carry each of these (name, value) pairs
    summary: str = ""

    def __post_init__(self) -> None:
        if self.op not in COMPARISONS:
            raise ConfigError(f"unknown comparison {self.op!r}", key=f"alerts.rules.{self.name}.op")
        if self.for_s < 0 or self.clear_for_s < 0:
            raise ConfigError("durations must not be negative", key=f"alerts.rules.{self.name}")

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(self.for_s, self.clear_for_s)

    def matches(self, sample: Sample) -> bool:
        if sample.metric != self.metric:
            return False
        have = sample.label_dict()
        return all(have.get(name) == value for name, value in self.labels)

    def holds(self, value: float) -> bool:
        return compare(value, self.op, self.threshold)


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Daily hours in which a KIM site is expected to have wifi users, in the site's local time (its zone:
    08:00 WITA at a site in Bali is 07:00 WIB)."""

    open_hour: float = 8.0
    close_hour: float = 21.0

    def opened_at(self, at: float, zone: TimeZone = DEFAULT_TIMEZONE) -> float | None:
        """Unix time the current opening began in `zone`, or None outside opening hours."""
        local = zone.local(at)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        hours = (local - midnight).total_seconds() / 3600.0
        if not self.open_hour <= hours < self.close_hour:
            return None
        return (midnight + timedelta(hours=self.open_hour)).timestamp()


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Thresholds and tolerances of the built-in rules (docs/alerts.md lists them)."""

    device_down: Tolerance = Tolerance(120.0, 300.0)  # the hold outlasts the settling of an outage's cause
    site_down: Tolerance = Tolerance(120.0, 300.0)  # for_s doubles as the wait for an area to form
    area_min_sites: int = 3
    area_window_s: float = 600.0
    area_clear_for_s: float = 300.0
    temperature_max_c: float = 70.0
    temperature: Tolerance = Tolerance(300.0, 300.0)
    voltage_min_v: float = 10.5
    voltage_swing_v: float = 2.0  # max - min within voltage_window_s: unstable supply
    voltage_window_s: float = 900.0
    voltage: Tolerance = Tolerance(0.0, 900.0)
    cpu_max_ratio: float = 0.9
    cpu: Tolerance = Tolerance(600.0, 300.0)
    interface_down: Tolerance = Tolerance(120.0, 300.0)
    reboot_loop_count: int = 3
    reboot_loop_window_s: float = 3600.0
    idle_ap_s: float = 7200.0
    opening_hours: OpeningHours = field(default_factory=OpeningHours)
    unknown_device_forget_s: float = 86400.0  # an unknown device not seen for this long clears
    flap_changes: int = 4  # up/down transitions (not changes of a derived cause) ...
    flap_window_s: float = 1800.0  # ... within this window
    flap_for_s: float = 300.0  # hold: still that many within the window this long before it fires
    flap_calm_s: float = 1800.0  # no transition this long: flapping clears

    def builtin_metric_rules(self) -> tuple[MetricRule, ...]:
        return (
            _builtin(HIGH_TEMPERATURE, "netmon_device_temperature_celsius", ">", self.temperature_max_c,
                     self.temperature, "temperature above threshold"),
            _builtin(HIGH_CPU, "netmon_device_cpu_load_ratio", ">", self.cpu_max_ratio, self.cpu,
                     "processor load above threshold"),
        )


def _builtin(name: str, metric: str, op: Comparison, threshold: float, tolerance: Tolerance,
             summary: str) -> MetricRule:
    return MetricRule(name, metric, op, threshold, tolerance.for_s, tolerance.clear_for_s, summary=summary)


SEVERITY: dict[str, Severity] = {
    DEVICE_DOWN: Severity.CRITICAL, SITE_DOWN: Severity.CRITICAL, AREA_OUTAGE: Severity.CRITICAL,
    HIGH_TEMPERATURE: Severity.WARNING, VOLTAGE: Severity.WARNING, HIGH_CPU: Severity.WARNING,
    INTERFACE_DOWN: Severity.WARNING, REBOOT_LOOP: Severity.WARNING, IDLE_AP: Severity.WARNING,
    ASSET_MISMATCH: Severity.WARNING, UNKNOWN_DEVICE: Severity.WARNING, FLAPPING: Severity.WARNING,
    AUTH_FAILED: Severity.WARNING, AGENT_SILENT: Severity.WARNING,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's judgement of one subject now. `active=None`: no verdict (keep the alert as it is).
    `started_at` / `ended_at` date the episode from the data (e.g. the outage) when known."""

    active: bool | None
    value: float | None = None
    summary: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    labels: Labels = ()


@dataclass(slots=True)
class Hysteresis:
    """The tolerance state machine of one (rule, subject). `step` returns the edge it crossed, if any."""

    tolerance: Tolerance
    firing: bool = False
    pending_since: float | None = None  # condition holds, not firing yet
    clearing_since: float | None = None  # condition gone while firing
    started_at: float | None = None  # episode start of the firing alert
    ended_at: float | None = None  # when the condition went away (for the resolve)
    fresh: bool = False  # after a fold: the next episode starts when seen, not at the data's start
    dated: bool = False  # the pending episode's start comes from the data (it may move earlier until firing)

    def step(self, verdict: Verdict, at: float) -> Transition | None:
        if verdict.active is None:
            return None
        if verdict.active:
            self.clearing_since = self.ended_at = None
            if self.firing:
                return None
            if self.pending_since is None:
                self.pending_since = at
                known = verdict.started_at is not None and not self.fresh
                self.dated = known and verdict.started_at is not None
                self.started_at = verdict.started_at if known and verdict.started_at is not None else at
                self.fresh = False
            elif self.dated and verdict.started_at is not None and (
                    self.started_at is None or verdict.started_at < self.started_at):
                self.started_at = verdict.started_at  # e.g. a site's second device, declared later, failed first
            if at - self.pending_since >= self.tolerance.for_s:
                self.firing, self.pending_since = True, None
                return Transition.FIRING
            return None
        self.pending_since = None
        if not self.firing:
            self.fresh = False  # the folded episode is over: the next one is dated by its data
            return None
        if self.clearing_since is None:
            self.clearing_since = at
            self.ended_at = verdict.ended_at if verdict.ended_at is not None else at
        if at - self.clearing_since >= self.tolerance.clear_for_s:
            self.firing, self.clearing_since = False, None
            return Transition.RESOLVED
        return None

    @property
    def at_rest(self) -> bool:
        """Nothing pending, firing or to forget: stepping it with a verdict that is not active changes nothing."""
        return not (self.firing or self.fresh) and self.pending_since is None and self.clearing_since is None

    def reset(self) -> None:
        """Forget the alert without an edge (it was folded into another incident)."""
        self.firing, self.pending_since, self.clearing_since, self.fresh = False, None, None, True
