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
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from netmon import errors
from netmon.errors import CollectorError, WireError
from netmon.model import DeviceIdentity, PollResult, Sample, SampleKind, Source

VERSION = 1
_ERRORS: dict[str, type[CollectorError]] = {
    c.__name__: c for c in (CollectorError, *(getattr(errors, n) for n in errors.__all__))
    if isinstance(c, type) and issubclass(c, CollectorError)
}


def result_topic(prefix: str, agent: str) -> str:
    return f"{prefix}/agent/{agent}/result"


def encode(agent: str, seq: int, result: PollResult) -> bytes:
    """One agent message, as the bytes of its MQTT payload."""
    body = {
        "v": VERSION, "agent": agent, "seq": seq,
        "result": {
            "device": result.device, "source": result.source.value, "started_at": result.started_at,
            "duration_s": result.duration_s,
            "samples": [[s.metric, s.value, [list(kv) for kv in s.labels], s.kind.value] for s in result.samples],
            "error": None if result.error is None else {"class": type(result.error).__name__,
                                                        "message": str(result.error)},
            "identity": None if result.identity is None else asdict(result.identity),
            "fingerprints": sorted(result.fingerprints),
            "neighbours": None if result.neighbours is None else list(result.neighbours),
        },
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


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


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
