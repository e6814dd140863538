"""`AlertFeed`: what the daemon hands the alert engine, and where its output goes.

One entry per input of the engine (a poll result, a reboot, the states and outages, the time, an
acknowledgement made with `netmon tickets ack`); each hands the engine's `AlertOutput` to `deliver`
(alerts.delivery). A poll result also feeds the unknown-equipment rule: the neighbour addresses a router
announces (from the one source `neighbour_source(device)` names, so a neighbour is not reported twice) that no
inventory device has raise `unknown_device` for the router's site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from alerts.engine import AlertEngine, AlertOutput
from netmon.model import Device, DeviceState, Incident, Outage, PollResult, Reboot, Source, Ticket


class AlertFeed:
    def __init__(self, engine: AlertEngine, devices: Mapping[str, Device], deliver: Callable[[AlertOutput], None],
                 *, neighbour_source: Callable[[str], Source | None]) -> None:
        self.engine = engine
        self._devices = devices
        self._deliver = deliver
        self._neighbour_source = neighbour_source
        self._known_addresses = frozenset(d.address for d in devices.values())

    def observe_result(self, result: PollResult) -> None:
        at = result.started_at + result.duration_s
        self._deliver(self.engine.observe_result(result, at))
        device = self._devices.get(result.device)
        if device is None or not result.neighbours or self._neighbour_source(device.id) is not result.source:
            return
        for address in result.neighbours:
            if address not in self._known_addresses:  # equipment the inventory does not hold
                self._deliver(self.engine.observe_unknown_device(device.site, f"ip:{address}", at))

    def observe_reboot(self, reboot: Reboot) -> None:
        self._deliver(self.engine.observe_reboot(reboot))

    def observe_state(self, states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float,
                      delays: Mapping[str, float] | None = None) -> None:
        self._deliver(self.engine.observe_state(states, outages, at, delays))

    def observe_agents(self, sites: Mapping[str, tuple[str, bool, float | None]], at: float) -> None:
        """Site agents' links (site -> agent, silent, since / heard again): `agent_silent` per site."""
        self._deliver(self.engine.observe_agents(sites, at))

    def tick(self, at: float) -> None:
        self._deliver(self.engine.tick(at))

    def restore(self, incidents: Iterable[Incident], tickets: Iterable[Ticket], at: float) -> None:
        self.engine.restore(incidents, tickets, at=at)

    def awaiting_ack(self) -> set[str]:
        """The open incidents nobody has acknowledged yet."""
        return {i.id for i in self.engine.open_incidents() if i.acknowledged_at is None}

    def acknowledged(self, incidents: Iterable[Incident], now: float) -> None:
        """Incidents acknowledged in storage (`netmon tickets ack`): stop escalating, update their tickets."""
        for incident in incidents:
            if incident.acknowledged_at:
                self._deliver(self.engine.ack(incident.id, incident.acknowledged_by or "helpdesk",
                                              incident.acknowledged_at or now))

    def open_incidents(self) -> list[Incident]:
        return self.engine.open_incidents()
