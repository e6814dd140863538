"""A simulated day for the alert scenarios: a small KIM fleet polled every minute, availability and outages
derived by the real `netmon.state` trackers, fed to the `AlertEngine` with an injected clock."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from alerts.engine import AlertEngine, AlertOutput
from alerts.message import Message, render
from alerts.route import DEFAULT_ROUTES, AlertConfig, Channel, Escalation, route
from netmon.errors import DeviceUnreachable
from netmon.model import (
    AssetRecord,
    Contact,
    Device,
    DeviceIdentity,
    MaintenanceWindow,
    Outage,
    Owner,
    PollResult,
    Role,
    Sample,
    Secret,
    Site,
    Source,
    StatePolicy,
    TimeZone,
)
from netmon.state.availability import AvailabilityTracker
from netmon.state.cause import ancestors
from netmon.state.maintenance import in_maintenance
from netmon.state.outage import OutageTracker

DAY = datetime(2026, 5, 12, tzinfo=TimeZone.WIB.tzinfo).timestamp()  # Tuesday 12 May 2026, 00:00 WIB


def wib(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")
    return DAY + int(hours) * 3600 + int(minutes) * 60


BATURRADEN = ["karangmangu", "ketenger", "kemutug", "pamijen", "rempoah"]


def fleet() -> tuple[dict[str, Site], dict[str, Device]]:
    sites = {s: Site(s, f"KIM {s.title()}", s.title(), "Baturraden", "Banyumas",
                     kim_contact=Contact(f"Pengelola {s.title()}", phone="+62800000" + str(i)))
             for i, s in enumerate(BATURRADEN)}
    sites["kotayasa"] = Site("kotayasa", "KIM Kotayasa", "Kotayasa", "Sumbang", "Banyumas",
                             kim_contact=Contact("Pengelola Kotayasa"))
    devices: dict[str, Device] = {}
    for n, site_id in enumerate(sites):
        router, ap = f"kim-{site_id}-router", f"kim-{site_id}-ap"
        devices[router] = Device(router, site_id, Role.ROUTER, f"10.0.{n}.1", (Source.PING,), Owner.PEMDA,
                                 AssetRecord("02.06.02.01.001", f"{n + 1:04d}", f"RTR{n:04d}", "RB951Ui-2HnD"))
        devices[ap] = Device(ap, site_id, Role.AP, f"10.0.{n}.2", (Source.PING,),
                             Owner.KIM if site_id == "kotayasa" else Owner.PEMDA,
                             AssetRecord("02.06.02.01.002", f"{n + 101:04d}", f"AP{n:04d}", "cAP ac"), parent=router)
    return sites, devices


def config() -> AlertConfig:
    return AlertConfig(
        channels=(Channel("diskominfo", Secret("tgram://123:token/-100"), "id"),
                  Channel("kabid", Secret("mailto://user:pass@example.org"), "id")),
        routes=DEFAULT_ROUTES, escalation=Escalation(1800.0, ("kabid",)),
    )


def engine_for(devices: dict[str, Device], sites: dict[str, Site], cfg: AlertConfig | None = None,
               windows: Sequence[MaintenanceWindow] = (), *, kind: type[AlertEngine] = AlertEngine) -> AlertEngine:
    """An engine wired as the daemon wires it: maintenance windows and parent chains from netmon.state."""
    return kind(devices, sites, cfg, maintenance=functools.partial(in_maintenance, tuple(windows)),
                ancestors=functools.partial(ancestors, devices=devices))


@dataclass
class Day:
    sites: dict[str, Site]
    devices: dict[str, Device]
    engine: AlertEngine
    windows: Sequence[MaintenanceWindow] = ()
    now: float = DAY
    dead: set[str] = field(default_factory=set)  # devices that do not answer
    samples: Callable[[str, float], tuple[Sample, ...]] = lambda device, at: ()
    identity: Callable[[str, float], DeviceIdentity | None] = lambda device, at: None
    out: AlertOutput = field(default_factory=AlertOutput)
    avail: AvailabilityTracker | None = None
    outages: OutageTracker | None = None

    @classmethod
    def start(cls, *, windows: Sequence[MaintenanceWindow] = (), cfg: AlertConfig | None = None) -> Day:
        sites, devices = fleet()
        day = cls(sites, devices, engine_for(devices, sites, cfg or config(), windows), windows)
        day.boot()
        return day

    def boot(self) -> None:
        counter = itertools.count(1)
        self.avail = AvailabilityTracker(self.devices, StatePolicy(), started_at=self.now)
        self.outages = OutageTracker(self.devices, self.sites, self.windows, new_id=lambda: f"out-{next(counter)}")

    def restart(self) -> None:
        """A daemon restart: fresh trackers and engine, seeded from what storage kept."""
        assert self.avail is not None and self.outages is not None
        states, open_outages = self.avail.states(), self.outages.open_outages()
        incidents, tickets = self.engine.open_incidents(), self.engine.tickets()
        self.boot()
        assert self.avail is not None and self.outages is not None
        self.avail.restore(states.values())
        self.outages.restore(open_outages, states.values())
        self.engine = engine_for(self.devices, self.sites, config(), self.windows)
        self.engine.restore(incidents, tickets, at=self.now)

    def run_until(self, hhmm: str, *, step_s: float = 60.0) -> None:
        end = wib(hhmm)
        while self.now + step_s <= end:
            self.now += step_s
            self.minute()

    def minute(self) -> None:
        assert self.avail is not None and self.outages is not None
        at = self.now
        # the daemon's periodic tick: time edges at `at` of what was known before this minute's polls
        self.collect(self.engine.tick(at))
        for device_id in self.devices:
            error = DeviceUnreachable("no reply") if device_id in self.dead else None
            identity = self.identity(device_id, at)
            result = PollResult(device_id, Source.PING, at, 0.05, () if error else self.samples(device_id, at),
                                error=error, identity=identity if not error else None)
            self.avail.observe(result)
            self.collect(self.engine.observe_result(result))
        self.avail.tick(at)
        states = self.avail.states()
        events = self.outages.update(states, at)
        closed: list[Outage] = [e.outage for e in events if e.kind == "closed"]
        self.collect(self.engine.observe_state(states, [*self.outages.open_outages(), *closed], at))
        self.collect(self.engine.tick(at))

    def fail(self, *devices: str) -> None:
        self.dead.update(devices)

    def repair(self, *devices: str) -> None:
        self.dead.difference_update(devices)

    def site_devices(self, *sites: str) -> list[str]:
        return [d.id for d in self.devices.values() if d.site in sites]

    def collect(self, out: AlertOutput) -> None:
        self.out.events.extend(out.events)
        self.out.changes.extend(out.changes)
        self.out.actions.extend(out.actions)

    # --- what people and the helpdesk saw ---

    def changes(self, *kinds: str) -> list[tuple[str, str, str]]:
        return [(c.kind, c.incident.rule, c.incident.subject) for c in self.out.changes if not kinds or c.kind in kinds]

    def actions(self) -> list[tuple[str, str, str]]:
        return [(a.kind, a.ticket.id, a.incident.rule) for a in self.out.actions]

    def messages(self, language: str = "id") -> list[tuple[Message, tuple[str, ...]]]:
        """The notifications a notifier would send: one per opened / escalated / resolved change."""
        cfg = config()
        sent = []
        for change in self.out.changes:
            if change.kind not in ("opened", "escalated", "resolved"):
                continue
            delivery = route(change.incident, self.sites, cfg, kind=change.kind)
            ticket = self.engine.ticket(change.incident.id)
            message = render(change.incident, self.devices, self.sites, language=language, kind=change.kind,
                             ticket=ticket)
            targets = tuple(c.name for c in delivery.channels) + tuple(c.name for c in delivery.contacts)
            sent.append((message, targets))
        return sent


def subjects(messages: Iterable[tuple[Message, tuple[str, ...]]]) -> list[str]:
    return [m.subject for m, _ in messages]
