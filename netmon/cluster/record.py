"""What the cluster tables say, as frozen records. No I/O.

Database times (`started_at`, `heartbeat_at`) are the database's clock, seconds since the Unix epoch; they are
for display and ordering only. A `Lease.deadline` is this process's MONOTONIC clock: the instant up to which this
node may act as the holder (see netmon.storage.cluster for why it is always before the database's expiry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LEADER = "leader"  # the lease whose holder evaluates alerts, opens tickets, notifies and builds reports


@dataclass(frozen=True, slots=True)
class Node:
    """One live netmon node, as its latest heartbeat left it."""

    node_id: str
    host: str
    pid: int
    started_at: float  # database clock: when this process (host, pid) first heartbeated under node_id
    heartbeat_at: float  # database clock


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease this node holds: `term` is the fencing token (strictly increasing across holders), `deadline` the
    local monotonic instant at which this node must stop acting on it unless renewed."""

    name: str
    holder: str
    term: int
    deadline: float


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds (or last held) a lease, as any node can read it: `remaining_s` by the database's clock,
    negative once expired; `since_term` the first term of the holder's current unbroken holding (the term it
    took the lease from another node in; re-acquiring its own expired lease keeps it)."""

    name: str
    holder: str
    term: int
    remaining_s: float
    since_term: int


@dataclass(frozen=True, slots=True)
class WriteFence:
    """What a leader's storage record carries from the moment it is produced (netmon.storage.queue): the node
    that produced it as leader and the leader term it was produced in. `Store.write` writes it only while
    `holder` still holds the leader lease and has held it without a break since `term` (its since_term <= term):
    once another node has led, the record can never be written."""

    holder: str
    term: int


@dataclass(frozen=True, slots=True)
class SharedItem:
    """One item of a shared outbox journal (netmon.storage.outbox): `seq` orders it and names it in an ack."""

    seq: int
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claim:
    """The oldest unacknowledged items of an outbox, now handed to the destination in one leader term, in seq
    order; `pending` counts that outbox's items left in the journal, these included."""

    items: tuple[SharedItem, ...]
    pending: int
