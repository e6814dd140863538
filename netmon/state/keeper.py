"""`StateKeeper`: runs the state trackers in the daemon and says what changed.

A poll result (or the time, `tick`) goes to the `AvailabilityTracker`; its state changes and reboots are
stored (`store`), state changes are published (`on_state`) and reboots handed on (`on_reboot`, the alerts).
After state changes the `OutageTracker` re-derives outages: each new, changed or closed outage is stored and
published (`on_outage`), then the states with the open (and just closed) outages go to `on_states` (the
availability alerts). That hand-over runs at once, but at most once per `OUTAGES_EVERY_S` while changes keep
coming (a fleet coming up at start changes thousands of states within a minute); the last pass of a burst
comes `OUTAGES_EVERY_S` after the one before. For the office's own devices the re-derivation of outages waits
for the hand-over too, and takes only the devices whose state changed since the last one and those with an
open outage (the others have nothing to open, settle or close); the states handed on are rebuilt only for
the devices heard since, and the alerts judge again only those whose state or outage changed. Without a
running event loop (tests, `netmon poll`) it runs at once. The trackers are pure; this is the one part of
netmon.state that knows about the event loop.

**Clocks.** Devices polled by a site agent (issue #14, docs/agents-office.md) live on their agent's clock: their
results carry the agent's poll times and may arrive hours late (a backlog). `agent_of` names them. The office's
`tick(now)` never touches them (silence from the office's side is not a device failure); `advance(agent, at)`
applies the time edges to an agent's devices at the agent's time, and their outages are re-derived at once, at
the result's time, for their devices only, building only the states they read (a backlog replays days in
seconds, and an outage that began and ended inside it must still be seen). Whether the alerts hear of it is
`judged`'s to say: not while the agent is silent or catching up (the alerts see its devices as they were when it
was last live, so a backlog costs per result, not per fleet). A judged agent's devices go to `on_agent_states`
at once, in order with everything else the alerts hear (that is where the alerts' view of the agent is taken,
should it stop being live), and the fleet-wide hand-over follows, debounced as above.
`unheard(agent, at)` turns an agent's devices UNKNOWN with `Cause.AGENT` while it is silent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from netmon.model import Cause, DeviceState, Outage, PollResult, Reboot, StateChange, Status
from netmon.state.availability import AvailabilityTracker
from netmon.state.outage import OutageTracker

log = logging.getLogger(__name__)

OUTAGES_EVERY_S = 1.0  # at most one re-derivation of outages and availability alerts per second
# ... and at most a tenth of the event loop's time: the next waits HANDOVER_SPACING x the last one's CPU time
# when that is longer (a hand-over costs what changed, docs/performance.md: a storm that opens thousands of
# incidents at once still renders a ticket for each)
HANDOVER_SPACING = 10.0


@dataclass(frozen=True, slots=True)
class StateOutputs:
    """Where the keeper's news goes (each a function: the keeper knows neither storage nor alerts)."""

    store: Callable[[StateChange | Reboot | DeviceState | Outage], None] = lambda record: None
    on_state: Callable[[str, DeviceState], None] = lambda device_id, state: None
    on_outage: Callable[[Outage], None] = lambda outage: None
    on_reboot: Callable[[Reboot], None] = lambda reboot: None
    on_states: Callable[[Mapping[str, DeviceState], Sequence[Outage], float], None] = lambda s, o, at: None
    # whether a re-derivation of a site agent's devices goes to the alerts (the alerts see a silent or
    # catching-up agent's devices as they were when it was last live, so its backlog need not be handed on)
    judged: Callable[[str], bool] = lambda agent: True
    # a judged agent's devices' states and outages, at once (the alerts' view of it is taken here, in order);
    # the fleet-wide `on_states` that follows is debounced like the office's own
    on_agent_states: Callable[[str, Mapping[str, DeviceState], Sequence[Outage], float], None] = \
        lambda agent, s, o, at: None


class StateKeeper:
    def __init__(self, availability: AvailabilityTracker, outages: OutageTracker, outputs: StateOutputs,
                 devices: Iterable[str] = (), *, agent_of: Mapping[str, str] | None = None,
                 cpu_clock: Callable[[], float] = time.thread_time) -> None:
        self.availability = availability
        self.outages = outages
        self._out = outputs
        self.reboots: dict[str, int] = dict.fromkeys(devices, 0)  # 0 from the first scrape: increase()
        self._agent_of = dict(agent_of or {})  # device -> the site agent that polls it (its clock)
        self._members: dict[str | None, frozenset[str]] = {}
        for device_id, agent in self._agent_of.items():
            self._members[agent] = self._members.get(agent, frozenset()) | {device_id}
        self._office: frozenset[str] | None = None  # the office's own devices (None: every device)
        if self._agent_of:
            self._office = frozenset(d for d in availability.states() if d not in self._agent_of)
        self._advanced: dict[str, float] = {}  # agent -> its time at the last `advance` that settled outages
        self._outages_at = 0.0  # time of the latest state change not yet re-derived into outages
        self._outages_last = float("-inf")  # loop time of the last hand-over to `on_states`
        self._office_pending = False  # the office's devices changed: re-derive their outages
        self._handover_pending = False  # a judged agent's devices changed: hand the fleet to `on_states`
        self._scheduled = False
        self._closed: list[Outage] = []  # agents' outages closed since the last hand-over (they date recoveries)
        # the office's devices whose state changed since their outages were last re-derived: with the devices of
        # open outages, the only ones a re-derivation can change (the first one, after a restore, takes all)
        self._touched: set[str] | None = None
        self._cpu_clock = cpu_clock
        self.handover_every_s = OUTAGES_EVERY_S  # the spacing of hand-overs now (HANDOVER_SPACING)

    def observe(self, result: PollResult) -> None:
        self._after(self.availability.observe(result), result.started_at + result.duration_s,
                    self._agent_of.get(result.device))

    def tick(self, now: float) -> None:
        """The state machine's time edge for the office's own devices; causes of open outages settle on time too
        (a device not back with its site)."""
        self._after(self.availability.tick(now, self._office), now)
        if self._open_among(self._office):
            self._outages_changed(now)

    def advance(self, agent: str, at: float, settle_every_s: float = 5.0) -> None:
        """The time edge of `agent`'s devices at the agent's time `at` (its newest result); their open outages
        settle every `settle_every_s` of the agent's time."""
        members = self._members.get(agent, frozenset())
        self._after(self.availability.tick(at, members), at, agent)
        if at - self._advanced.get(agent, float("-inf")) >= settle_every_s and self._open_among(members):
            self._advanced[agent] = at
            self._update_outages(at, agent)

    def unheard(self, agent: str, at: float) -> None:
        """`agent` cannot be heard: its devices are UNKNOWN (cause AGENT) from `at` (its time)."""
        members = [d for d in self._agent_of if self._agent_of[d] == agent]
        self._after(self.availability.unheard(members, at, Cause.AGENT), at, agent)

    def refresh(self, at: float) -> None:
        """Hand the current states and open outages to `on_states` at `at` (an agent caught up: the alerts
        judge what is still true now)."""
        self._out.on_states(self.availability.states(), self.outages.open_outages(), at)

    def restore(self, states: Sequence[DeviceState], open_outages: Sequence[Outage]) -> None:
        self.availability.restore(states)
        self.outages.restore(open_outages, states)
        self._touched = None

    def flush(self) -> None:
        """Re-derive and hand on now what a burst left pending (at shutdown, before storage is drained)."""
        self._scheduled = False
        if self._office_pending or self._handover_pending:
            self._outages_last = asyncio.get_running_loop().time()
            self._hand_over()

    def states(self) -> dict[str, DeviceState]:
        return self.availability.states()

    def statuses(self) -> dict[str, Status]:
        return self.availability.statuses()

    def open_outages(self) -> list[Outage]:
        return self.outages.open_outages()

    def _after(self, events: Iterable[StateChange | Reboot], at: float, agent: str | None = None) -> None:
        """Record state changes and reboots, and re-derive outages when the picture changed."""
        events = list(events)
        if not events:
            return  # the common case: no need to build the states of every device
        changed = False
        for event in events:
            self._out.store(event)
            if isinstance(event, Reboot):
                self._rebooted(event)
            else:
                changed = True
                self._changed(event)
                if agent is None and self._touched is not None:
                    self._touched.add(event.device)
        if not changed:
            return
        if agent is None:
            self._outages_changed(at)
        else:
            self._update_outages(at, agent)

    def _rebooted(self, event: Reboot) -> None:
        self.reboots[event.device] = self.reboots.get(event.device, 0) + 1
        self._out.on_reboot(event)
        log.info("device %s rebooted at %s", event.device,
                 datetime.fromtimestamp(event.booted_at, UTC).isoformat(timespec="seconds"),
                 extra={"device": event.device})

    def _changed(self, event: StateChange) -> None:
        state = self.availability.state(event.device)
        self._out.store(state)
        self._out.on_state(event.device, state)
        if event.old is not Status.UNKNOWN or event.new is not Status.UP:
            log.info("device %s: %s -> %s (%s)", event.device, event.old.value, event.new.value, event.reason,
                     extra={"device": event.device, "state": event.new.value})

    def _outages_changed(self, at: float, agent: str | None = None) -> None:
        """Something changed: the office's devices (`agent` None; their outages are re-derived at the hand-over)
        or a judged agent's (already re-derived). At once, then at most once per `OUTAGES_EVERY_S`."""
        self._outages_at = max(at, self._outages_at)
        if agent is None:
            self._office_pending = True
        else:
            self._handover_pending = True
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._hand_over()
            return
        wait = self._outages_last + self.handover_every_s - loop.time()
        if wait <= 0:
            self._outages_last = loop.time()
            self._hand_over()
            return
        self._scheduled = True
        loop.call_later(wait, self.flush)

    def _open_among(self, devices: frozenset[str] | None) -> bool:
        return any(devices is None or o.device in devices for o in self.outages.open_outages())

    def _hand_over(self) -> None:
        """Re-derive the office's outages if they are pending, then hand every state to `on_states`."""
        began = self._cpu_clock()
        closed, self._closed = self._closed, []
        states = self.availability.states()
        if self._office_pending:
            closed += self._rederive(states, self._outages_at, self._office_due())
        self._office_pending = self._handover_pending = False
        self._out.on_states(states, self.outages.open_outages() + closed, self._outages_at)
        self.handover_every_s = max(OUTAGES_EVERY_S, HANDOVER_SPACING * (self._cpu_clock() - began))

    def _office_due(self) -> Collection[str] | None:
        """The office's devices whose outages a re-derivation may change now (None: every device)."""
        due, self._touched = self._touched, set()
        if due is None:
            return self._office
        due.update(o.device for o in self.outages.open_outages())
        return due if self._office is None else due & self._office

    def _update_outages(self, at: float, agent: str) -> None:
        """Re-derive the outages of one agent's devices at `at` (its time), at once; a judged agent's news goes
        to `on_agent_states` now and to `on_states` with the next hand-over."""
        members = self._members.get(agent, frozenset())
        view = self.availability.view()
        closed = self._rederive(view, at, members)
        if not self._out.judged(agent):
            return
        own = [o for o in self.outages.open_outages() if o.device in members] + closed
        self._out.on_agent_states(agent, {d: view[d] for d in members}, own, at)
        self._closed += closed
        self._outages_changed(at, agent)

    def _rederive(self, states: Mapping[str, DeviceState], at: float, only: Collection[str] | None) -> list[Outage]:
        """Open, settle and close the outages of `only` (None: every device); store and publish each; return
        the ones closed."""
        closed = []
        for event in self.outages.update(states, at, only):
            outage = event.outage
            self._out.store(outage)
            if outage.ended_at is not None:
                closed.append(outage)
            self._out.on_outage(outage)
            log.warning("outage %s: device %s, cause %s%s", event.kind, outage.device, outage.cause.value,
                        f" (was {event.previous_cause.value})" if event.previous_cause else "",
                        extra={"device": outage.device, "cause": outage.cause.value, "outage": outage.id})
        return closed
