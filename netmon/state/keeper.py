"""`StateKeeper`: runs the state trackers in the daemon and says what changed.

A poll result (or the time, `tick`) goes to the `AvailabilityTracker`; its state changes and reboots are
stored (`store`), state changes are published (`on_state`) and reboots handed on (`on_reboot`, the alerts).
After state changes the `OutageTracker` re-derives outages: each new, changed or closed outage is stored and
published (`on_outage`), then the states with the open (and just closed) outages go to `on_states` (the
availability alerts). Each re-derivation looks at every device, so it runs at once, but at most once per
`OUTAGES_EVERY_S` while changes keep coming (a fleet coming up at start changes thousands of states within a
minute); the last pass of a burst comes `OUTAGES_EVERY_S` after the one before. Without a running event loop
(tests, `netmon poll`) it runs at once. The trackers are pure; this is the one part of netmon.state that
knows about the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from netmon.model import DeviceState, Outage, PollResult, Reboot, StateChange, Status
from netmon.state.availability import AvailabilityTracker
from netmon.state.outage import OutageTracker

log = logging.getLogger(__name__)

OUTAGES_EVERY_S = 1.0  # at most one re-derivation of outages and availability alerts per second


@dataclass(frozen=True, slots=True)
class StateOutputs:
    """Where the keeper's news goes (each a function: the keeper knows neither storage nor alerts)."""

    store: Callable[[StateChange | Reboot | DeviceState | Outage], None] = lambda record: None
    on_state: Callable[[str, DeviceState], None] = lambda device_id, state: None
    on_outage: Callable[[Outage], None] = lambda outage: None
    on_reboot: Callable[[Reboot], None] = lambda reboot: None
    on_states: Callable[[Mapping[str, DeviceState], Sequence[Outage], float], None] = lambda s, o, at: None


class StateKeeper:
    def __init__(self, availability: AvailabilityTracker, outages: OutageTracker, outputs: StateOutputs,
                 devices: Iterable[str] = ()) -> None:
        self.availability = availability
        self.outages = outages
        self._out = outputs
        self.reboots: dict[str, int] = dict.fromkeys(devices, 0)  # 0 from the first scrape: increase()
        self._outages_at = 0.0  # time of the latest state change not yet re-derived into outages
        self._outages_last = float("-inf")  # loop time of the last re-derivation
        self._outages_pending = False

    def observe(self, result: PollResult) -> None:
        self._after(self.availability.observe(result), result.started_at + result.duration_s)

    def tick(self, now: float) -> None:
        """The state machine's time edge; causes of open outages settle on time too (a device not back with
        its site)."""
        self._after(self.availability.tick(now), now)
        if self.outages.open_outages():
            self._outages_changed(now)

    def restore(self, states: Sequence[DeviceState], open_outages: Sequence[Outage]) -> None:
        self.availability.restore(states)
        self.outages.restore(open_outages, states)

    def flush(self) -> None:
        """Re-derive now what a burst left pending (at shutdown, before storage is drained)."""
        if self._outages_pending:
            self._outages_pending = False
            self._outages_last = asyncio.get_running_loop().time()
            self._update_outages(self._outages_at)

    def states(self) -> dict[str, DeviceState]:
        return self.availability.states()

    def open_outages(self) -> list[Outage]:
        return self.outages.open_outages()

    def _after(self, events: Iterable[StateChange | Reboot], at: float) -> None:
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
        if changed:
            self._outages_changed(at)

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

    def _outages_changed(self, at: float) -> None:
        self._outages_at = max(at, self._outages_at)
        if self._outages_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._update_outages(self._outages_at)
            return
        wait = self._outages_last + OUTAGES_EVERY_S - loop.time()
        if wait <= 0:
            self._outages_last = loop.time()
            self._update_outages(self._outages_at)
            return
        self._outages_pending = True
        loop.call_later(wait, self.flush)

    def _update_outages(self, at: float) -> None:
        closed = []
        states = self.availability.states()
        for event in self.outages.update(states, at):
            outage = event.outage
            self._out.store(outage)
            if outage.ended_at is not None:
                closed.append(outage)
            self._out.on_outage(outage)
            log.warning("outage %s: device %s, cause %s%s", event.kind, outage.device, outage.cause.value,
                        f" (was {event.previous_cause.value})" if event.previous_cause else "",
                        extra={"device": outage.device, "cause": outage.cause.value, "outage": outage.id})
        self._out.on_states(states, self.outages.open_outages() + closed, at)
