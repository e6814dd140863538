"""Which live node polls which device: rendezvous (highest-random-weight) hashing. Pure, no I/O.

Each (node, device) pair gets a weight from a stable hash (BLAKE2b, the same on every node, every run and every
Python: never `hash()`, which is salted per process); a device belongs to the live node with the highest weight.
Every node computes the same answer from the same live set without talking to the others, and when a node dies
or joins only the devices it had (or takes) move: the others keep theirs (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable


def weight(node_id: str, device_id: str) -> int:
    """The pair's weight: 64 bits of BLAKE2b over both ids (length-prefixed, so "ab"+"c" is not "a"+"bc")."""
    data = f"{len(node_id)}:{node_id}|{device_id}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def owner(device_id: str, live_nodes: Iterable[str]) -> str:
    """The node that polls `device_id`. Ties (a 2**-64 chance) go to the smaller node id. ValueError when no
    node is live."""
    best = max(sorted(live_nodes), key=lambda node: weight(node, device_id), default=None)  # max keeps the first
    if best is None:
        raise ValueError("no live node to own a device")
    return best


def share(device_ids: Iterable[str], live_nodes: Collection[str], me: str) -> frozenset[str]:
    """The devices of `device_ids` that node `me` polls, given the live nodes (`me` counts as live: a node that
    asks has just been heard)."""
    nodes = sorted(set(live_nodes) | {me})
    return frozenset(d for d in device_ids if owner(d, nodes) == me)

