"""An agent's status message (`{prefix}/agent/{id}/status`, QoS 1, retained; its MQTT will says `online: false`).

    {"v": 1, "agent": ID, "at": unix (agent clock), "online": true|false, "last_seq": N,
     "backlog": {"depth": N, "oldest_at": unix|null},
     "dropped": [{"from_seq": a, "to_seq": b, "from_at": t0, "to_at": t1, "count": n}, ...]}

The office's own decoder, written while the agent's `wire.decode_status` is not merged (the #14 contract):
the lead keeps one of the two. Anything malformed raises `WireError` naming what.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from netmon.errors import WireError

VERSION = 1


@dataclass(frozen=True, slots=True)
class DroppedRange:
    """Results the agent dropped (its outbox bound): they will never arrive."""

    from_seq: int
    to_seq: int
    from_at: float | None
    to_at: float | None
    count: int


@dataclass(frozen=True, slots=True)
class AgentStatus:
    agent: str
    at: float
    online: bool
    last_seq: int
    depth: int = 0
    oldest_at: float | None = None
    dropped: tuple[DroppedRange, ...] = ()


def status_topic(prefix: str, agent: str) -> str:
    return f"{prefix}/agent/{agent}/status"


def decode_status(payload: bytes) -> AgentStatus:
    try:
        body = json.loads(payload)
        if body.get("v") != VERSION:
            raise WireError(f"unsupported status version {body.get('v')!r}")
        backlog = body.get("backlog") or {}
        status = AgentStatus(
            agent=_text(body["agent"]), at=float(body["at"]), online=_flag(body["online"]),
            last_seq=_count(body.get("last_seq", 0)), depth=_count(backlog.get("depth", 0)),
            oldest_at=_time(backlog.get("oldest_at")),
            dropped=tuple(_range(r) for r in body.get("dropped") or ()))
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WireError(f"not an agent status: {type(exc).__name__}: {exc}") from exc
    return status


def _range(r: dict[str, Any]) -> DroppedRange:
    first, last = _count(r["from_seq"]), _count(r["to_seq"])
    if first < 1 or last < first:
        raise ValueError(f"bad dropped range {first}..{last}")
    return DroppedRange(first, last, _time(r.get("from_at")), _time(r.get("to_at")),
                        _count(r.get("count", last - first + 1)))


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise TypeError("expected a non-negative integer")
    return value


def _time(value: Any) -> float | None:
    return None if value is None else float(value)
