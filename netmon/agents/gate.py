"""`AlertGate`: what the alerts see of a site agent's devices (the rules: docs/agents-office.md).

The state keeper and storage take every ingested result, late or not, so history holds what really happened.
The alerts must judge only what is current: an outage that began and ended inside a backlog is history, not a
ticket. So between the state keeper (and the pipeline) and the alerts:

* results and reboots of an agent's devices reach the alerts only while the agent is live (heard and caught up);
* the states and outages handed to the alerts hold, for an agent that is not live, the view of its devices as
  they were when it was last live (frozen: a device down then stays down, nothing is resolved or opened);
* when it is live again, the alerts see its devices as they are now: outages still open fire (dated by their
  real start, detected now, each with `delays`: how late the news came, said in the message); outages that
  opened and closed in the backlog are not among the open ones and raise nothing;
* the alerts' clock never goes back: `at` is the latest time handed on (an agent's results are seconds behind
  the office's clock when live).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from netmon.model import DeviceState, Outage, PollResult, Reboot

StatesFn = Callable[[Mapping[str, DeviceState], Sequence[Outage], float], None]
LateStatesFn = Callable[[Mapping[str, DeviceState], Sequence[Outage], float, Mapping[str, float]], None]


class AlertGate:
    def __init__(self, agent_of: Mapping[str, str], live: Callable[[str], bool], *, late_after_s: float) -> None:
        self._agent_of = dict(agent_of)
        self._live = live
        self._late_after_s = late_after_s
        self._members: dict[str, list[str]] = {}
        for device, agent in self._agent_of.items():
            self._members.setdefault(agent, []).append(device)
        self._frozen: dict[str, tuple[dict[str, DeviceState], list[Outage]]] = {}
        self._late: dict[str, float] = {}  # outage id -> how late its news came (open outages only)
        self._seen: set[str] = set()  # outage ids the alerts have seen while their agent was live
        self._at = float("-inf")

    def passes(self, device: str) -> bool:
        agent = self._agent_of.get(device)
        return agent is None or self._live(agent)

    def judges(self, agent: str) -> bool:
        """Whether the alerts' view of `agent`'s devices follows their states now: while it is live, and until
        its view is first frozen. Otherwise handing them its re-derived states changes nothing they see."""
        return self._live(agent) or agent not in self._frozen

    def note(self, agent: str, states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float) -> None:
        """`agent`'s devices as they are now (the keeper says so at once; its fleet-wide hand-over comes later,
        debounced): the view the alerts keep of it should it stop being live before that hand-over."""
        self._frozen[agent] = (dict(states), list(outages))
        if self._live(agent):
            self._note_late(outages, max(self._at, at))

    def results(self, consume: Callable[[PollResult], object]) -> Callable[[PollResult], None]:
        def gated(result: PollResult) -> None:
            if self.passes(result.device):
                consume(result)
        return gated

    def reboots(self, consume: Callable[[Reboot], object]) -> Callable[[Reboot], None]:
        def gated(reboot: Reboot) -> None:
            if self.passes(reboot.device):
                consume(reboot)
        return gated

    def states(self, consume: LateStatesFn) -> StatesFn:
        def gated(states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float) -> None:
            self._at = max(self._at, at)
            view, shown = self.view(states, outages, self._at)
            delays = {o.device: self._late[o.id] for o in shown if o.id in self._late}
            consume(view, shown, self._at, delays)
        return gated

    def view(self, states: Mapping[str, DeviceState], outages: Sequence[Outage],
             at: float) -> tuple[dict[str, DeviceState], list[Outage]]:
        """The states and outages the alerts may see now."""
        view = dict(states)
        shown = [o for o in outages if o.device not in self._agent_of]
        for agent, members in self._members.items():
            own = [o for o in outages if self._agent_of.get(o.device) == agent]
            if self._live(agent) or agent not in self._frozen:
                self._frozen[agent] = ({d: states[d] for d in members if d in states}, own)
                if self._live(agent):
                    self._note_late(own, at)
            frozen_states, frozen_outages = self._frozen[agent]
            view.update(frozen_states)
            shown += frozen_outages
        return view, shown

    def _note_late(self, outages: Sequence[Outage], at: float) -> None:
        for outage in outages:
            if outage.id in self._seen or not outage.open:
                continue
            self._seen.add(outage.id)
            detected = outage.detected_at if outage.detected_at is not None else outage.started_at
            if at - detected > self._late_after_s:
                self._late[outage.id] = at - detected
        for outage in outages:
            if not outage.open:
                self._late.pop(outage.id, None)
