"""`assets.condition`: the rules that suggest each asset's condition (B/RR/RB) from stored history, with their
thresholds. Used by `netmon.assets.condition.assess`; docs/assets.md explains every rule."""

from __future__ import annotations

from pydantic import Field, model_validator

from netmon.config.base import Strict
from netmon.model import Condition


class AvailabilityRule(Strict):
    """Availability attributable to the device itself (its own outages, cause `device`) over the monitored
    part of the period."""

    rr_below: float = Field(default=0.97, ge=0, le=1, description="RR when availability is below this")
    rb_below: float = Field(default=0.80, ge=0, le=1, description="RB when availability is below this")

    @model_validator(mode="after")
    def _order(self) -> AvailabilityRule:
        if self.rb_below > self.rr_below:
            raise ValueError("rb_below must not be above rr_below")
        return self


class DownAtEndRule(Strict):
    """The device's own outage still open at the period's end, and for how long it had lasted."""

    rr_s: float = Field(default=86400, gt=0, description="RR when down (own failure) this long at the end")
    rb_s: float = Field(default=7 * 86400, gt=0, description="RB when down (own failure) this long at the end")

    @model_validator(mode="after")
    def _order(self) -> DownAtEndRule:
        if self.rb_s < self.rr_s:
            raise ValueError("rb_s must not be below rr_s")
        return self


class RebootRule(Strict):
    """The device's own reboots (not those inside a site, parent or maintenance outage, nor a site-wide one)."""

    rr_count: int = Field(default=10, ge=1, description="RR at this many reboots in the period")
    loop_count: int = Field(default=3, ge=2, description="A reboot loop: this many reboots ...")
    loop_window_s: float = Field(default=3600, gt=0, description="... within this long")
    loop: Condition = Field(default=Condition.MINOR, description="The condition a reboot loop suggests")
    site_window_s: float = Field(default=120, ge=0, description="Reboots of two devices of one site this "
                                 "close together are the site's power, not the asset's")


class ExcursionRule(Strict):
    """Hours past a threshold (from the hourly rollups: an hour counts when its extreme is past it)."""

    rr_s: float = Field(default=3 * 3600, gt=0, description="RR when this long past the threshold (in hours)")


class TemperatureRule(ExcursionRule):
    above_c: float = Field(default=70, description="Hotter than this is an excursion")


class VoltageRule(ExcursionRule):
    below_v: float = Field(default=10.5, description="Lower supply voltage than this is an excursion")


class ConditionRules(Strict):
    """How the suggested condition is found; the worst verdict of all the rules wins."""

    availability: AvailabilityRule = AvailabilityRule()
    down_at_end: DownAtEndRule = DownAtEndRule()
    reboots: RebootRule = RebootRule()
    temperature: TemperatureRule = TemperatureRule()
    voltage: VoltageRule = VoltageRule()
    identity_mismatch: Condition = Field(default=Condition.MINOR, description="The condition suggested when the "
                                         "serial or model read from the device differs from the register")
    not_seen: Condition = Field(default=Condition.MAJOR, description="The condition suggested when the device "
                                "answered no poll in the period, by its own failure")

