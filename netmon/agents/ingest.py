"""`AgentIngest`: messages of site agents in, the daemon's result pipeline fed (the rules: docs/agents-office.md).

`receive(topic, payload)` takes one MQTT message from `{prefix}/agent/{id}/result` or `/status`:

* a result (netmon.wire) of a declared agent, for a device of a site that agent serves, goes through the
  agent's `Sequencer`: each seq once, in seq order, whatever the broker redelivers. Each released result is
  handed to `pipeline` (the daemon's `ResultPipeline`: latest results, rollups, state, alerts behind the
  `AlertGate`) with the device's own times, then the agent's clock advances (`clock.advance`) and the progress
  (`AgentProgress`, last contiguous seq) is stored after the records the result caused. After a restart,
  `restore` sets each agent's mark from storage: what was ingested is skipped.
* a status (netmon.wire `decode_status`) updates the link (`online`, its will), the backlog figures, and the dropped
  ranges: each is stored once as an `AgentGap` (so history says which period is missing) and passed over.
* anything else (a topic of no agent we know, undecodable payload, an agent writing for a device it does not
  serve) is counted by reason, logged once per agent and reason every `LOG_EVERY_S`, and dropped. It never
  stops the ingest.

`tick()` (the daemon's housekeeping) turns links silent or heard: a silent agent's devices go UNKNOWN with
cause AGENT (`clock.unheard`), its sites raise one `agent_silent` each (`links`); an agent that caught up
hands the current states to the alerts (`clock.refresh`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from netmon import wire
from netmon.agents.liveness import Liveness
from netmon.agents.sequence import Gap, Sequencer
from netmon.config.agents import AgentsSettings
from netmon.errors import WireError
from netmon.model import Device, PollResult
from netmon.storage.record import AgentGap, AgentProgress, Record
from netmon.wire import AgentStatus, decode_status

log = logging.getLogger(__name__)

LOG_EVERY_S = 600.0
REASONS = ("topic", "unknown_agent", "malformed", "agent_mismatch", "device_not_served")


class AgentClock(Protocol):
    """What the state keeper offers for agents' clocks (netmon.state.keeper.StateKeeper)."""

    def advance(self, agent: str, at: float, settle_every_s: float = ...) -> None: ...
    def unheard(self, agent: str, at: float) -> None: ...
    def refresh(self, at: float) -> None: ...


@dataclass(slots=True)
class AgentStats:
    ingested: int = 0
    duplicates: int = 0
    gaps: int = 0
    dropped_results: int = 0  # results the agent reported dropped (sum of the gaps' counts)
    rejected: dict[str, int] = field(default_factory=dict)
    status: AgentStatus | None = None
    silent: bool = False
    live: bool = False


class AgentIngest:
    def __init__(self, settings: AgentsSettings, devices: Mapping[str, Device], *,
                 pipeline: Callable[[PollResult], None], clock: AgentClock, store: Callable[[Record], None],
                 links: Callable[[Mapping[str, tuple[str, bool, float | None]], float], None],
                 liveness: Liveness) -> None:
        self._prefix = settings.broker.prefix
        self._agents = {a.id: a for a in settings.agents}
        self._served = settings.site_agent()
        self._devices = devices
        self._pipeline = pipeline
        self._clock = clock
        self._store = store
        self._links = links
        self.liveness = liveness
        self.sequences: dict[str, Sequencer[PollResult]] = {a: Sequencer() for a in self._agents}
        self.stats: dict[str, AgentStats] = {a: AgentStats() for a in self._agents}
        self._unknown_rejected: dict[str, int] = {}  # reason -> count, for messages of no declared agent
        self._logged: dict[tuple[str, str], float] = {}
        self._known_gaps: set[tuple[str, int]] = set()

    def restore(self, progress: Sequence[AgentProgress], gaps: Sequence[AgentGap] = ()) -> None:
        """What storage kept: each agent's mark (its ingested seqs are skipped) and link. The first `tick`
        judges the links (a silent agent raises its alert then, if it is not open already)."""
        for p in progress:
            if p.agent in self.sequences:
                self.sequences[p.agent] = Sequencer(p.last_seq)
                self.liveness.restore(p.agent, p.heard_at, p.online, p.last_result_at)
        self._known_gaps |= {(g.agent, g.from_seq) for g in gaps}

    # --- messages --------------------------------------------------------------------------------------

    def receive(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) < 3 or "/".join(parts[:-3]) != self._prefix or parts[-3] != "agent" \
                or parts[-1] not in ("result", "status"):
            self._reject(None, "topic", f"not an agent topic: {topic[:200]!r}")
            return
        agent = parts[-2]
        if agent not in self._agents:
            self._reject(None, "unknown_agent", f"agent {agent[:64]!r} is not declared in `agents:`")
            return
        try:
            if parts[-1] == "status":
                self._status(agent, decode_status(payload))
            else:
                self._result(agent, *wire.decode(payload))
        except WireError as exc:
            self._reject(agent, "malformed", str(exc))
            return
        self._check(agent)

    def _result(self, agent: str, sender: str, seq: int, result: PollResult) -> None:
        if sender != agent:
            self._reject(agent, "agent_mismatch", f"message of agent {sender[:64]!r} on agent {agent!r}'s topic")
            return
        device = self._devices.get(result.device)
        if device is None or self._served.get(device.site) != agent:
            self._reject(agent, "device_not_served", f"device {result.device[:64]!r} is not at a site it serves")
            return
        self.liveness.heard(agent)
        released = self.sequences[agent].offer(seq, result)
        if released is None:
            self.stats[agent].duplicates += 1
            return
        self._release(agent, released)

    def _status(self, agent: str, status: AgentStatus) -> None:
        if status.agent != agent:
            self._reject(agent, "agent_mismatch", f"status of agent {status.agent[:64]!r} on agent {agent!r}'s topic")
            return
        self.liveness.heard(agent, status.online)
        stats = self.stats[agent]
        stats.status = status
        for span in status.dropped:
            if (agent, span.from_seq) not in self._known_gaps:
                self._known_gaps.add((agent, span.from_seq))
                stats.gaps += 1
                stats.dropped_results += span.count
                self._store(AgentGap(agent, span.from_seq, span.to_seq, span.from_at, span.to_at, span.count))
                log.warning("agent %s dropped %d results (seq %d-%d) to its outbox bound: that period is missing",
                            agent, span.count, span.from_seq, span.to_seq, extra={"agent": agent})
            self._release(agent, self.sequences[agent].dropped(span.from_seq, span.to_seq))
        self._progress(agent)

    def _release(self, agent: str, released: list[tuple[int, PollResult] | Gap]) -> None:
        stats = self.stats[agent]
        for item in released:
            if isinstance(item, Gap):
                if item.reason == "missing":
                    stats.gaps += 1
                    self._store(AgentGap(agent, item.from_seq, item.to_seq, self.liveness.links[agent].newest_at,
                                         None, item.to_seq - item.from_seq + 1, "missing"))
                continue
            _seq, result = item
            self._pipeline(result)
            at = result.started_at + result.duration_s
            self.liveness.result(agent, at)
            self._clock.advance(agent, at)
            stats.ingested += 1
        if released:
            self._progress(agent)

    def _progress(self, agent: str) -> None:
        link, status = self.liveness.links[agent], self.stats[agent].status
        self._store(AgentProgress(
            agent, self.sequences[agent].last, link.newest_at, link.heard_at, link.online,
            status.at if status else None, status.last_seq if status else None,
            status.backlog_depth if status else None, status.backlog_oldest_at if status else None))

    # --- links -----------------------------------------------------------------------------------------

    def tick(self) -> None:
        for agent in self._agents:
            self._check(agent)

    def _check(self, agent: str) -> None:
        stats, now = self.stats[agent], self.liveness.clock()
        silent, live = self.liveness.silent(agent), self.liveness.live(agent)
        if silent != stats.silent:
            stats.silent = silent
            link = self.liveness.links[agent]
            if silent:
                log.warning("agent %s cannot be heard (last heard %s): its devices are unknown", agent,
                            "never" if link.heard_at is None else f"{now - link.heard_at:.0f} s ago",
                            extra={"agent": agent})
                self._clock.unheard(agent, link.newest_at if link.newest_at is not None else now)
            else:
                log.info("agent %s is heard again", agent, extra={"agent": agent})
            self._links(self.link_verdicts(), now)
        if live != stats.live:
            stats.live = live
            if live:
                log.info("agent %s is live (caught up)", agent, extra={"agent": agent})
                self._clock.refresh(now)

    def link_verdicts(self) -> dict[str, tuple[str, bool, float | None]]:
        """site -> (agent, silent, since when silent or when heard again), for the `agent_silent` alert."""
        out: dict[str, tuple[str, bool, float | None]] = {}
        for site, agent in self._served.items():
            link = self.liveness.links[agent]
            out[site] = (agent, self.stats[agent].silent, link.heard_at)
        return out

    # --- bad input -------------------------------------------------------------------------------------

    def _reject(self, agent: str | None, reason: str, detail: str) -> None:
        counts = self.stats[agent].rejected if agent is not None else self._unknown_rejected
        counts[reason] = counts.get(reason, 0) + 1
        key, now = (agent or "", reason), self.liveness.clock()
        if now - self._logged.get(key, float("-inf")) >= LOG_EVERY_S:
            self._logged[key] = now
            log.warning("agent message dropped (%s%s): %s; further ones counted in "
                        "netmon_agent_messages_rejected_total", reason, f", agent {agent}" if agent else "",
                        detail, extra={"agent": agent or "", "reason": reason})

    @property
    def unknown_rejected(self) -> Mapping[str, int]:
        return self._unknown_rejected
