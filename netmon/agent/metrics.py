"""The site agent's own metrics (served on its optional /metrics beside its devices' series): the outbox's
depth, size, oldest age, dropped results, the newest sequence number and whether the broker is connected."""

from __future__ import annotations

from netmon.agent.outbox import ResultOutbox
from netmon.model import Sample, SampleKind


def agent_samples(outbox: ResultOutbox, *, connected: bool, sent_total: int, now: float) -> list[Sample]:
    agent = (("agent", outbox.agent),)
    oldest = outbox.oldest_at
    return [
        Sample("netmon_agent_outbox_depth", outbox.depth, agent),
        Sample("netmon_agent_outbox_bytes", outbox.size_bytes, agent),
        Sample("netmon_agent_outbox_oldest_age_seconds", 0.0 if oldest is None else max(0.0, now - oldest), agent),
        Sample("netmon_agent_outbox_dropped_total", outbox.dropped_total, agent, SampleKind.COUNTER),
        Sample("netmon_agent_last_seq", outbox.last_seq, agent),
        Sample("netmon_agent_results_sent_total", sent_total, agent, SampleKind.COUNTER),
        Sample("netmon_agent_broker_connected", 1 if connected else 0, agent),
    ]
