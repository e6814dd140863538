"""The site agents' families on the office's `/metrics` (STYLE.md names; label `agent` is a declared agent id,
`reason` one of `netmon.agents.ingest.REASONS`; messages of undeclared agents count under agent="")."""

from __future__ import annotations

from netmon.agents.ingest import AgentIngest
from netmon.model import Sample, SampleKind

COUNTER = SampleKind.COUNTER


def agent_samples(ingest: AgentIngest) -> list[Sample]:
    out: list[Sample] = []
    now = ingest.liveness.clock()
    for agent, stats in ingest.stats.items():
        labels = (("agent", agent),)
        link = ingest.liveness.links[agent]
        status = stats.status
        out += [
            Sample("netmon_agent_silent", float(stats.silent), labels, help="1 while the site agent cannot be heard"),
            Sample("netmon_agent_live", float(stats.live), labels,
                   help="1 while the agent is heard and its newest result is current (0: silent or catching up)"),
            Sample("netmon_agent_last_seq", float(ingest.sequences[agent].last), labels,
                   help="Every result of the agent up to this sequence number is ingested (or a known gap)"),
            Sample("netmon_agent_results_ingested_total", float(stats.ingested), labels, COUNTER,
                   help="Agent results handed to the pipeline since start"),
            Sample("netmon_agent_results_duplicate_total", float(stats.duplicates), labels, COUNTER,
                   help="Agent results received again and skipped (redelivery, republish)"),
            Sample("netmon_agent_gaps_total", float(stats.gaps), labels, COUNTER,
                   help="Ranges of agent results that will never arrive (dropped by its bound, or missing)"),
            Sample("netmon_agent_results_dropped_total", float(stats.dropped_results), labels, COUNTER,
                   help="Results the agent reported dropped to its outbox bound, since start"),
            Sample("netmon_agent_results_waiting", float(ingest.sequences[agent].waiting), labels,
                   help="Agent results held for an earlier sequence number"),
        ]
        if link.heard_at is not None:
            out.append(Sample("netmon_agent_last_heard_timestamp_seconds", link.heard_at, labels,
                              help="When the office last heard the agent (office clock)"))
        if link.newest_at is not None:
            out.append(Sample("netmon_agent_lag_seconds", max(0.0, now - link.newest_at), labels,
                              help="How far the newest ingested result is behind the office's clock"))
        if status is not None:
            out.append(Sample("netmon_agent_backlog_messages", float(status.backlog_depth), labels,
                              help="Results in the agent's outbox not yet acknowledged (its latest status)"))
            out.append(Sample("netmon_agent_backlog_age_seconds",
                              0.0 if status.backlog_oldest_at is None
                              else max(0.0, now - status.backlog_oldest_at), labels,
                              help="Age of the oldest result in the agent's outbox (its latest status)"))
        for reason, count in sorted(stats.rejected.items()):
            out.append(_rejected(agent, reason, count))
    for reason, count in sorted(ingest.unknown_rejected.items()):
        out.append(_rejected("", reason, count))
    return out


def _rejected(agent: str, reason: str, count: int) -> Sample:
    return Sample("netmon_agent_messages_rejected_total", float(count), (("agent", agent), ("reason", reason)),
                  COUNTER, help="Agent messages dropped without ingest, by reason")
