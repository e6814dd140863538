"""The wire format between a site agent (`netmon agent`) and the office daemon (issue #14): one poll result per
MQTT message, JSON, numbered per agent.

    topic    {prefix}/agent/{agent_id}/result          QoS 1, not retained
    payload  {"v": 1, "agent": "kec-sumbang-1", "seq": 1234, "result": {...}}

`seq` counts from 1 per agent and never repeats (the agent keeps it in its durable outbox): the office ingests
each (agent, seq) once, whatever the broker redelivers. `result` is a `PollResult` with the device's real
times (`started_at` is when the agent polled, not when the office received it):

    {"device": "kim-x-router", "source": "snmp", "started_at": 1764547200.5, "duration_s": 0.12,
     "samples": [["netmon_device_uptime_seconds", 3600.0, [["k", "v"], ...], "gauge"], ...],
     "error": null | {"class": "DeviceUnreachable", "message": "..."},
     "identity": null | {"profile": "mikrotik", "vendor": ..., ...},
     "fingerprints": ["...", ...],   # keyed hashes (netmon.privacy), never MAC addresses
     "neighbours": null | ["10.0.0.2", ...]}

A sample's `help` is not sent (the office knows its metrics). An error travels as its class name (one of
`CollectorError` and its subclasses in netmon.errors; an unknown name decodes as `CollectorError`) and its
message, which the agent already wrote without secrets. Anything malformed raises `WireError` naming what.

The agent's status (`AgentStatus`, `encode_status`, `decode_status`):

    topic    {prefix}/agent/{agent_id}/status          QoS 1, retained
    payload  {"v": 1, "agent": ID, "at": unix (agent clock), "online": true|false,
              "last_seq": N (the newest seq assigned, 0 before the first),
              "backlog": {"depth": N, "oldest_at": unix|null},
              "dropped": [{"from_seq": a, "to_seq": b, "from_at": t0, "to_at": t1, "count": n}, ...]}

published on connect, every 60 s, and as the MQTT will (`online: false`, sent by the broker when the agent
vanishes; its other fields are those of the agent's connect). `dropped` lists every range of results the agent's
outbox bound dropped since its database was created (contiguous drops merged into one range), oldest first: the
results `from_seq`..`to_seq` (polled `from_at`..`to_at`, `count` of them) will never arrive.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from netmon import errors
from netmon.errors import CollectorError, WireError
from netmon.model import DeviceIdentity, PollResult, Sample, SampleKind, Source

VERSION = 1
_ERRORS: dict[str, type[CollectorError]] = {
    c.__name__: c for c in (CollectorError, *(getattr(errors, n) for n in errors.__all__))
    if isinstance(c, type) and issubclass(c, CollectorError)
}


@dataclass(frozen=True, slots=True)
class DroppedRange:
    """Results an agent's outbox dropped (its bound hit): seq `from_seq`..`to_seq`, polled `from_at`..`to_at`."""

    from_seq: int
    to_seq: int
    from_at: float
    to_at: float
    count: int


@dataclass(frozen=True, slots=True)
class AgentStatus:
    agent: str
    at: float  # when the agent said it (its clock)
    online: bool
    last_seq: int  # the newest sequence number assigned (0: none yet)
    backlog_depth: int  # results in the outbox, not yet acknowledged by the broker
    backlog_oldest_at: float | None  # poll time of the oldest of them
    dropped: tuple[DroppedRange, ...] = ()


def result_topic(prefix: str, agent: str) -> str:
    return f"{prefix}/agent/{agent}/result"


def status_topic(prefix: str, agent: str) -> str:
    return f"{prefix}/agent/{agent}/status"


def encode_status(status: AgentStatus) -> bytes:
    body = {
        "v": VERSION, "agent": status.agent, "at": status.at, "online": status.online, "last_seq": status.last_seq,
        "backlog": {"depth": status.backlog_depth, "oldest_at": status.backlog_oldest_at},
        "dropped": [asdict(d) for d in status.dropped],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode_status(payload: bytes) -> AgentStatus:
    """The status in `payload`; `WireError` when it is not one."""
    try:
        body = json.loads(payload)
        if body.get("v") != VERSION:
            raise WireError(f"unsupported wire version {body.get('v')!r}")
        agent, online, backlog = body["agent"], body["online"], body["backlog"]
        if not isinstance(agent, str) or not agent or not isinstance(online, bool):
            raise WireError("agent must be a non-empty string and online a boolean")
        oldest = backlog["oldest_at"]
        return AgentStatus(
            agent=agent, at=float(body["at"]), online=online, last_seq=_count(body["last_seq"]),
            backlog_depth=_count(backlog["depth"]), backlog_oldest_at=None if oldest is None else float(oldest),
            dropped=tuple(_dropped(d) for d in body["dropped"]))
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WireError(f"not an agent status: {type(exc).__name__}: {exc}") from exc


def _dropped(d: dict[str, Any]) -> DroppedRange:
    first, last = _count(d["from_seq"]), _count(d["to_seq"])
    if first < 1 or last < first:
        raise WireError(f"bad dropped range {first}..{last}")
    return DroppedRange(first, last, float(d["from_at"]), float(d["to_at"]), _count(d["count"]))


def encode(agent: str, seq: int, result: PollResult) -> bytes:
    """One agent message, as the bytes of its MQTT payload."""
    body = {"v": VERSION, "agent": agent, "seq": seq, "result": result_body(result)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def result_body(result: PollResult) -> dict[str, Any]:
    """A poll result as plain JSON values (the `result` of an agent message; the items of a cluster's result
    stream, netmon.cluster.results)."""
    return {
        "device": result.device, "source": result.source.value, "started_at": result.started_at,
        "duration_s": result.duration_s,
        "samples": [[s.metric, s.value, [list(kv) for kv in s.labels], s.kind.value] for s in result.samples],
        "error": None if result.error is None else {"class": type(result.error).__name__,
                                                    "message": str(result.error)},
        "identity": None if result.identity is None else asdict(result.identity),
        "fingerprints": sorted(result.fingerprints),
        "neighbours": None if result.neighbours is None else list(result.neighbours),
    }


def result_from(body: Any) -> PollResult:
    """The poll result of `result_body`'s output; `WireError` naming what is wrong when it is not one."""
    try:
        return _result(body)
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WireError(f"not a poll result: {type(exc).__name__}: {exc}") from exc


def decode(payload: bytes) -> tuple[str, int, PollResult]:
    """(agent, seq, result) of one agent message; `WireError` when it is not one."""
    try:
        body = json.loads(payload)
        if body.get("v") != VERSION:
            raise WireError(f"unsupported wire version {body.get('v')!r}")
        agent, seq, r = body["agent"], body["seq"], body["result"]
        if not isinstance(agent, str) or not agent or type(seq) is not int or seq < 1:
            raise WireError("agent must be a non-empty string and seq a positive integer")
        return agent, seq, _result(r)
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WireError(f"not an agent message: {type(exc).__name__}: {exc}") from exc


def _result(r: dict[str, Any]) -> PollResult:
    return PollResult(
        device=_text(r["device"]), source=Source(r["source"]), started_at=float(r["started_at"]),
        duration_s=float(r["duration_s"]),
        samples=tuple(Sample(_text(m), float(v), tuple((_text(k), _text(x)) for k, x in labels), SampleKind(kind))
                      for m, v, labels, kind in r["samples"]),
        error=_error(r["error"]),
        identity=None if r["identity"] is None else DeviceIdentity(**{k: _text(v) for k, v in r["identity"].items()}),
        fingerprints=frozenset(_text(f) for f in r["fingerprints"]),
        neighbours=None if r["neighbours"] is None else tuple(_text(n) for n in r["neighbours"]),
    )


def _error(e: dict[str, Any] | None) -> CollectorError | None:
    if e is None:
        return None
    return _ERRORS.get(e["class"], CollectorError)(_text(e["message"]))


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"expected a non-negative integer, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
