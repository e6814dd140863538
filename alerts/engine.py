"""The alert engine: rule verdicts -> alert events -> incidents -> ticket actions (pure, no I/O, no clock).

Every input carries its time (`PollResult.started_at`, `Reboot.detected_at` or an explicit `at`); the app
calls `tick(at)` periodically for the time-based edges (tolerances, escalation, idle APs, calm after
flapping, silences that end). Each call returns an `AlertOutput`: the alert events, the incident changes and
the ticket actions it caused, in a deterministic order.

Suppression, in order: a subject that is flapping freezes its availability rules; a site inside an area
outage is absorbed by it; a device inside a maintenance window freezes its device rules (outages in a window
are already `maintenance` and raise nothing); children of a down parent raise nothing (cause `parent`).
A silenced alert still fires (its event is returned) but opens no incident while the silence lasts.

What the engine needs of the rest of the daemon comes in as functions: `maintenance(device, site, at)` (the
window covering a device, netmon.state's `in_maintenance` over the configured windows) and `ancestors(device)`
(its parent chain, netmon.state.cause's); without them nothing is in maintenance and no device has parents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from alerts.availability import AreaTracker, StandingVerdicts
from alerts.credential import credential_verdicts
from alerts.flap import FlapDetector
from alerts.incident import IncidentBook, IncidentChange
from alerts.route import AlertConfig
from alerts.rules import (
    AGENT_SILENT,
    AREA_OUTAGE,
    AVAILABILITY_RULES,
    DEVICE_DOWN,
    FLAP_VERDICT_RULES,
    FLAPPING,
    INTERFACE_DOWN,
    SEVERITY,
    SITE_DOWN,
    Hysteresis,
    Tolerance,
    Verdict,
)
from alerts.signal import Key, SignalBook
from alerts.silence import Silence, silenced
from alerts.ticket import TicketAction, TicketBook
from netmon.model import (
    AlertEvent,
    Device,
    DeviceState,
    Incident,
    Labels,
    MaintenanceWindow,
    Outage,
    PollResult,
    Reboot,
    Severity,
    Site,
    Status,
    Ticket,
    Transition,
)

# (device, site, at) -> the maintenance window covering the device then, or None
MaintenanceFn = Callable[[Device, Site, float], MaintenanceWindow | None]
AncestorsFn = Callable[[Device], Sequence[Device]]  # parent, grandparent, ... of a device

_STEP_ORDER = {FLAPPING: 0, AREA_OUTAGE: 1}  # flapping and area outages first: they freeze or absorb the rest


@dataclass(slots=True)
class AlertOutput:
    events: list[AlertEvent] = field(default_factory=list)
    changes: list[IncidentChange] = field(default_factory=list)
    actions: list[TicketAction] = field(default_factory=list)


class AlertEngine:
    def __init__(self, devices: Mapping[str, Device], sites: Mapping[str, Site], config: AlertConfig | None = None,
                 *, maintenance: MaintenanceFn | None = None, ancestors: AncestorsFn | None = None) -> None:
        self._devices = devices
        self._sites = sites
        self._config = config = config or AlertConfig()
        self._settings = s = config.rules
        self._maintenance: MaintenanceFn = maintenance or (lambda device, site, at: None)
        self._ancestors: AncestorsFn = ancestors or (lambda device: ())
        self._signals = SignalBook(devices, s, config.metric_rules, sites)
        self._flaps = FlapDetector(s.flap_changes, s.flap_window_s, s.flap_calm_s, s.flap_for_s)
        self._areas = AreaTracker(s.area_min_sites, s.area_window_s)
        self._book = IncidentBook(devices, sites, escalate_after_s=config.escalation.after_s,
                                  escalate_min_severity=config.escalation.min_severity)
        self._tickets = TicketBook(devices, sites, prefix=config.ticket_prefix, language=config.language)
        self._tracks: dict[Key, Hysteresis] = {}
        self._firing_keys: set[Key] = set()  # keys whose track fires (kept with the tracks: no scan of all tracks)
        self._restless: set[Key] = set()  # keys whose track is not at rest (firing, pending, clearing, fresh)
        self._judge = StandingVerdicts(devices, sites)  # device and site verdicts, judged again as states change
        self._standing: dict[Key, Verdict] = {}  # availability verdicts of the latest observe_state
        self._active: set[Key] = set()  # ... those that are active
        self._news: set[Key] = set()  # ... those that changed since the fleet's alerts were last stepped
        self._areas_standing: set[Key] = set()  # ... the area outages among them
        self._links: dict[Key, Verdict] = {}  # agent_silent verdicts of the latest observe_agents
        self._raw: dict[Key, bool] = {}  # last site / interface verdict, for flapping
        self._was_down: dict[str, bool] = {}  # device -> DOWN in the latest states, for flapping
        self._scope: dict[str, Labels] = {}  # subject -> its scope labels (device / site), for flapping
        self._states: dict[str, DeviceState] = {}
        self._last: dict[Key, Verdict] = {}  # latest verdict of every (rule, subject)
        self._silences: list[Silence] = []
        self._tolerances: dict[str, Tolerance] = {
            DEVICE_DOWN: s.device_down, SITE_DOWN: s.site_down, INTERFACE_DOWN: s.interface_down,
            AREA_OUTAGE: Tolerance(0.0, s.area_clear_for_s), "voltage": s.voltage,
            **{r.name: r.tolerance for r in (*s.builtin_metric_rules(), *config.metric_rules)},
        }
        self._severities = {**SEVERITY, **{r.name: r.severity for r in config.metric_rules}}

    # --- inputs ---

    def observe_result(self, result: PollResult, at: float | None = None) -> AlertOutput:
        """The verdicts of one poll result. Only they (and the firing alerts) are evaluated: the time edges of
        everything else wait for `tick` or `observe_state`, so a result costs O(its verdicts), not O(fleet)."""
        at = result.started_at if at is None else at
        verdicts = {**self._signals.observe(result), **credential_verdicts(result)}
        return self._evaluate({**self._signals.timed_for(result.device, self._states, at), **verdicts}, at,
                              everything=False)

    def observe_state(self, states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float,
                      delays: Mapping[str, float] | None = None) -> AlertOutput:
        """The current states and outages (open ones; recently closed ones date recoveries precisely).
        `delays`: devices whose news reached us late, by how many seconds (said in the message)."""
        self._states = states = dict(states)
        changed, judged = self._judge.update(states, outages, self._firing, delays)
        self._record_transitions(states, judged)
        verdicts = self._judge.verdicts
        for key in changed:
            self._stand(key, verdicts[key])
        site_ends = {}  # when the sites of open areas that are no longer down came back (dates the area's end)
        for site_id in self._areas.absorbed():
            verdict = verdicts.get((SITE_DOWN, site_id))
            if verdict is not None and verdict.ended_at is not None and not verdict.active:
                site_ends[site_id] = verdict.ended_at
        areas = self._areas.verdicts(self._sites, self._judge.site_starts, site_ends)
        for key in self._areas_standing - areas.keys():  # an area that closed has no verdict any more
            del self._standing[key]
            self._active.discard(key)
        self._areas_standing = set(areas)
        for key, verdict in areas.items():
            if self._standing.get(key) != verdict:
                self._stand(key, verdict)
        return self._evaluate({}, at, timed=False)  # time-based verdicts wait for the next tick (<= 5 s)

    def observe_agents(self, sites: Mapping[str, tuple[str, bool, float | None]], at: float) -> AlertOutput:
        """Site agents' links: site -> (agent, silent, since when silent / when heard again). One `agent_silent`
        alert per site served by a silent agent; its devices' own rules see them UNKNOWN meanwhile."""
        self._links = {
            (AGENT_SILENT, site): Verdict(silent, started_at=when if silent else None,
                                          ended_at=None if silent else when, summary=f"agent {agent}",
                                          labels=(("site", site), ("agent", agent)))
            for site, (agent, silent, when) in sites.items() if site in self._sites}
        return self._evaluate({}, at)

    def observe_reboot(self, reboot: Reboot) -> AlertOutput:
        verdicts = self._signals.reboot(reboot)
        at = reboot.detected_at
        return self._evaluate({**self._signals.timed_for(reboot.device, self._states, at), **verdicts}, at,
                              everything=False)

    def observe_unknown_device(self, site: str, fingerprint: str, at: float) -> AlertOutput:
        """A client-side fingerprint (keyed hash, see netmon.privacy) of a device the inventory does not
        hold, seen at `site`. The app feeds it with neighbour addresses (`ip:<address>`): RouterOS
        `/ip/neighbor`, LLDP/MNDP over SNMP."""
        if site not in self._sites:
            return AlertOutput()
        return self._evaluate(self._signals.unknown(site, fingerprint, at), at, everything=False)

    def tick(self, at: float) -> AlertOutput:
        return self._evaluate({}, at)

    def ack(self, incident_id: str, by: str, at: float) -> AlertOutput:
        changes = self._book.ack(incident_id, by, at)
        return AlertOutput([], changes, [a for c in changes for a in self._tickets.apply(c)])

    def silence(self, silence: Silence) -> None:
        self._silences.append(silence)

    def restore(self, open_incidents: Iterable[Incident], tickets: Iterable[Ticket] = (), *,
                at: float | None = None) -> None:
        """Adopt the incidents and tickets kept by storage (call before the first input)."""
        incidents = [i for i in open_incidents if i.open]
        self._book.restore(incidents)
        self._tickets.restore(tickets)
        for incident in self._book.open_incidents():
            key = (incident.rule, incident.subject)
            self._tracks[key] = Hysteresis(self._tolerance(incident.rule), firing=True,
                                           started_at=incident.opened_at)
            self._firing_keys.add(key)
            self._restless.add(key)
            if incident.rule == AREA_OUTAGE:
                self._areas.restore(incident.subject, incident.members)
            elif incident.rule == FLAPPING:
                self._flaps.restore(incident.subject, incident.opened_at if at is None else at)
            elif incident.rule in AVAILABILITY_RULES:
                self._raw[key] = True

    # --- output ---

    def open_incidents(self) -> list[Incident]:
        return self._book.open_incidents()

    def tickets(self) -> list[Ticket]:
        return self._tickets.tickets()

    def ticket(self, incident_id: str) -> Ticket | None:
        return self._tickets.get(incident_id)

    # --- the pipeline ---

    def _evaluate(self, verdicts: Mapping[Key, Verdict], at: float, *, everything: bool = True,
                  timed: bool = True) -> AlertOutput:
        """Step the alerts of `verdicts`; with `everything`, also the time edges of the fleet: the standing
        availability verdicts that can move, flapping, (with `timed`) the time-based verdicts, the level of
        everything firing (a silence that ended) and escalation. News from one device (a poll result) steps its
        own alerts only, so it costs O(its verdicts), not O(what is firing): the rest waits for the next
        `tick` (<= 5 s) or hand-over of the states."""
        self._silences = [s for s in self._silences if s.until > at]
        merged = self._merged(verdicts, at, everything=everything, timed=timed)
        out = AlertOutput()
        self._last.update(merged)
        keys = {key for key, verdict in merged.items() if self._moves(key, verdict)}
        if everything:
            keys |= self._firing_keys
        for key in sorted(keys, key=lambda k: (_STEP_ORDER.get(k[0], 2), k)):
            self._step(key, at, stepped=key in merged, out=out)
        if everything:
            out.changes.extend(self._book.tick(at))
        for change in out.changes:
            if change.kind == "folded":
                self._forget_folded(change.incident)
            out.actions.extend(self._tickets.apply(change))
        return out

    def _merged(self, verdicts: Mapping[Key, Verdict], at: float, *, everything: bool,
                timed: bool = True) -> dict[Key, Verdict]:
        """The verdicts to step now: `verdicts`, and with `everything` the standing, time-based (with `timed`)
        and flapping ones under them (news wins over what was standing)."""
        if not everything:
            merged = dict(verdicts)
            self._record_flips(merged, at)
            return merged
        live = self._news | self._active
        live.update(key for key in self._restless if key in self._standing)
        self._news = set()  # a standing verdict neither active, new nor under a restless track changes nothing
        merged = {**{key: self._standing[key] for key in live}, **self._links,
                  **(self._signals.timed(self._states, at, self._restless) if timed else {}), **verdicts}
        self._record_flips(merged, at)
        flaps = {subject: self._flaps.verdict(subject, at) for subject in self._flaps.subjects()}
        for subject, flap in flaps.items():
            if flap is not None and not self._flap_covered(subject):
                merged[(FLAPPING, subject)] = replace(flap, labels=self._scope.get(subject, ()))
        return merged

    def _moves(self, key: Key, verdict: Verdict) -> bool:
        """Whether stepping `key` with `verdict` can change anything: an active verdict, or a track that is not
        at rest. The rest (most of a fleet, most of the time: healthy devices' inactive verdicts) are skipped,
        so a tick costs O(what is happening), not O(fleet) steps."""
        if verdict.active:
            return True
        track = self._tracks.get(key)
        return track is not None and not track.at_rest

    def _step(self, key: Key, at: float, *, stepped: bool, out: AlertOutput) -> None:
        """Step one alert's hysteresis (only when it has a verdict now) and record its edges and level in `out`."""
        verdict = self._last.get(key, Verdict(None))
        if self._frozen(key, verdict, at):
            return
        track = self._tracks.setdefault(key, Hysteresis(self._tolerance(key[0])))
        edge = track.step(verdict, at) if stepped else None
        (self._firing_keys.add if track.firing else self._firing_keys.discard)(key)
        (self._restless.discard if track.at_rest else self._restless.add)(key)
        if edge == "resolved":
            event = self._event(key, verdict, "resolved", track.ended_at or at)
            out.events.append(event)
            out.changes.extend(self._book.apply(event))
            if key[0] == AREA_OUTAGE:
                self._areas.close(key[1])
        elif edge == "firing":
            out.events.append(self._event(key, verdict, "firing", at))
        if track.firing and not silenced(self._silences, *key, at) and (stepped or self._book.find(*key) is None):
            event = self._event(key, verdict, "firing", at)  # level: new members, or a silence that ended
            out.changes.extend(self._book.apply(event, started_at=track.started_at))

    def _forget_folded(self, incident: Incident) -> None:
        """An incident folded into a bigger one stops firing on its own."""
        self._reset((incident.rule, incident.subject))

    def _stand(self, key: Key, verdict: Verdict) -> None:
        self._standing[key] = verdict
        self._news.add(key)
        (self._active.add if verdict.active else self._active.discard)(key)

    def _reset(self, key: Key) -> None:
        """Forget an alert without an edge (folded or absorbed); its next episode starts when seen."""
        track = self._tracks.get(key)
        if track is not None:
            track.reset()
            self._restless.add(key)
        self._firing_keys.discard(key)

    def _record_transitions(self, states: Mapping[str, DeviceState], devices: Iterable[str]) -> None:
        """Devices going DOWN or coming back from DOWN count for flapping, at the time of their state."""
        for device_id in devices:
            state = states.get(device_id)
            if state is None or state.status not in (Status.UP, Status.DEGRADED, Status.DOWN):
                continue
            down = state.status is Status.DOWN
            was = self._was_down.get(device_id)
            self._was_down[device_id] = down
            if was is not None and was != down:
                self._scope[device_id] = (("device", device_id),)
                self._flaps.record(device_id, state.since)

    def _record_flips(self, verdicts: Mapping[Key, Verdict], at: float) -> None:
        for key, verdict in verdicts.items():
            if key[0] not in FLAP_VERDICT_RULES or verdict.active is None:
                continue
            self._scope[key[1]] = tuple((k, v) for k, v in verdict.labels if k != "members")
            if verdict.active != self._raw.get(key, False):
                self._flaps.record(key[1], at)
            self._raw[key] = verdict.active

    def _flap_covered(self, subject: str) -> bool:
        """A device whose site or an ancestor flaps too is part of that flapping, not one of its own (one
        incident for a flickering power feed, not one per device)."""
        device = self._devices.get(subject)
        if device is None or self._firing((FLAPPING, subject)):
            return False
        return self._flaps.flapping(device.site) or any(self._flaps.flapping(a.id)
                                                        for a in self._ancestors(device))

    def _frozen(self, key: Key, verdict: Verdict, at: float) -> bool:
        rule, subject = key
        if rule in AVAILABILITY_RULES and self._flaps.flapping(subject):
            return True
        if rule == SITE_DOWN and subject in self._areas.absorbed():
            self._reset(key)
            return True
        device = self._devices.get(dict(verdict.labels).get("device", ""))
        if device is None or rule == DEVICE_DOWN:
            return False  # outages in a window are already `maintenance` (netmon.state)
        site = self._sites.get(device.site) or Site(device.site, device.site, "", "", "")
        return self._maintenance(device, site, at) is not None

    def _firing(self, key: Key) -> bool:
        track = self._tracks.get(key)
        return track is not None and track.firing

    def _tolerance(self, rule: str) -> Tolerance:
        return self._tolerances.get(rule, Tolerance())

    def _event(self, key: Key, verdict: Verdict, transition: str, at: float) -> AlertEvent:
        return AlertEvent(rule=key[0], subject=key[1], transition=Transition(transition), at=at,
                          severity=self._severities.get(key[0], Severity.WARNING), value=verdict.value,
                          labels=verdict.labels, summary=verdict.summary)
