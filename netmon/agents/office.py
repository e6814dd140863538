"""`OfficeAgents`: the office's site-agent parts, built from `agents:` for the composition root.

Built in two steps because the parts need each other: first the link state (`Liveness`) and the `AlertGate`
(the state keeper and the pipeline hand the alerts their news through it), then, with `attach`, the
`AgentIngest` that feeds the pipeline. `run()` listens to the broker (nothing to do without agents) and
acknowledges each message once what it caused is durable (netmon.agents.subscription).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from netmon.agents.gate import AlertGate
from netmon.agents.ingest import AgentClock, AgentIngest
from netmon.agents.liveness import Liveness
from netmon.agents.metrics import agent_samples
from netmon.agents.subscription import BrokerSource, Durable, MessageSource, listen
from netmon.config.agents import AgentsSettings
from netmon.model import Device, PollResult, Sample
from netmon.storage.record import AgentGap, AgentProgress, Record


class OfficeAgents:
    def __init__(self, settings: AgentsSettings, devices: Mapping[str, Device], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._devices = devices
        self.agent_of = settings.device_agent(devices)
        self.liveness = Liveness({a.id: a.silent_after_s for a in settings.agents},
                                 late_after_s=settings.late_after_s, started_at=clock(), clock=clock)
        self.gate = AlertGate(self.agent_of, self.liveness.live, late_after_s=settings.late_after_s)
        self.ingest: AgentIngest | None = None
        self._durable: Durable | None = None

    def attach(self, pipeline: Callable[[PollResult], None], clock: AgentClock, store: Callable[[Record], None],
               links: Callable[[Mapping[str, tuple[str, bool, float | None]], float], None],
               durable: Durable | None = None) -> None:
        """`durable(done)`: call done() once what `store` was given so far is safe (the MQTT acknowledgement)."""
        self._durable = durable
        self.ingest = AgentIngest(self.settings, self._devices, pipeline=pipeline, clock=clock, store=store,
                                  links=links, liveness=self.liveness)

    def receive(self, topic: str, payload: bytes) -> None:
        assert self.ingest is not None
        self.ingest.receive(topic, payload)

    def restore(self, progress: Sequence[AgentProgress], gaps: Sequence[AgentGap]) -> None:
        if self.ingest is not None:
            self.ingest.restore(progress, gaps)

    def tick(self) -> None:
        if self.ingest is not None:
            self.ingest.tick()

    def samples(self) -> list[Sample]:
        return agent_samples(self.ingest) if self.ingest is not None and self.settings.agents else []

    async def run(self, source: MessageSource | None = None) -> None:
        """Listen to the agents' topics until cancelled (the daemon's task); `source` defaults to the broker."""
        if not self.settings.agents or self.ingest is None:
            return
        if source is None:
            source = BrokerSource(self.settings.broker)
        if self._durable is None:
            await listen(source, self.receive)
        else:
            await listen(source, self.receive, durable=self._durable)
