"""The site agent's composition root (wiring only, as netmon/app.py is the daemon's): the outbox, the sender,
the polling (netmon.polling) and the optional /metrics, from a `SiteAgentConfig`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

from collectors.snmp.profile import ProfileSet, load_profiles
from netmon.agent.metrics import agent_samples
from netmon.agent.outbox import OutboxBounds, ResultOutbox
from netmon.agent.pacing import Pacing
from netmon.agent.runner import AgentLink, AgentSender, ResultIntake, trim_periodically
from netmon.config.site_agent import SiteAgentConfig
from netmon.daemon_metrics import scheduler_samples
from netmon.exporter import ExporterServer
from netmon.latest import LatestResults, Snapshot
from netmon.mqtt import BrokerSettings
from netmon.polling import Polling

log = logging.getLogger(__name__)


def broker_settings(site: SiteAgentConfig) -> BrokerSettings:
    b = site.agent.broker
    return BrokerSettings(host=b.host, port=b.port, client_id=site.agent.id, username=b.username,
                          password=site.broker_password, tls=b.tls, ca_file=b.ca_file, cert_file=b.cert_file,
                          key_file=b.key_file, keepalive_s=b.keepalive_s, timeout_s=b.timeout_s)


class SiteAgent:
    def __init__(self, site: SiteAgentConfig, *, profiles: ProfileSet | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time) -> None:
        agent, config = site.agent, site.config
        self.site = site
        self._clock = clock
        self.outbox = ResultOutbox(Path(agent.outbox.path), agent.id,
                                   OutboxBounds(agent.outbox.max_bytes, agent.outbox.max_age_s), clock=clock)
        pacing = Pacing(agent.boot_delay_max_s, agent.backoff.initial_s, agent.backoff.max_s, rng or random.Random(),
                        send_rate_per_s=agent.outbox.send_rate_per_s)
        self.sender = AgentSender(self.outbox, AgentLink(broker_settings(site), agent.prefix,
                                                         agent.status_interval_s), pacing)
        self.latest = LatestResults(config.sites, config.devices)
        self.intake = ResultIntake(self.outbox, self.sender.wake, also=self.latest.record)
        self.polling = Polling(config.devices, config.scheduler, profiles or load_profiles(), self.intake)
        self.exporter: ExporterServer | None = None

    def snapshot(self) -> Snapshot:
        extra = [*scheduler_samples(self.polling.schedulers),
                 *agent_samples(self.outbox, connected=self.sender.connected, sent_total=self.sender.sent_total,
                                now=self._clock())]
        return self.latest.snapshot(extra)

    async def serve(self, stop: asyncio.Event) -> None:
        """Poll and send until `stop` is set; then say offline and close."""
        metrics = self.site.agent.metrics
        if metrics is not None:
            self.exporter = ExporterServer(self.snapshot, lambda: True, metrics.listen, metrics.port)
            await self.exporter.start()
        config = self.site.config
        log.info("agent %s: polling %d devices at %d sites (%s); %d results waiting in the outbox (last seq %d)",
                 self.outbox.agent, len(config.devices), len(config.sites), self.polling.summary(),
                 self.outbox.depth, self.outbox.last_seq)
        tasks = [*self.polling.tasks(), asyncio.create_task(self.sender.run(), name="agent-sender"),
                 asyncio.create_task(trim_periodically(self.outbox), name="agent-trim")]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.sender.say_offline()
            if self.exporter is not None:
                await self.exporter.stop()
            await self.polling.close()
            log.info("agent %s: stopped; %d results kept in the outbox for the next start", self.outbox.agent,
                     self.outbox.depth)
            self.outbox.close()
