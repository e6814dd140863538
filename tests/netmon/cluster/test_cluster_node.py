"""ClusterNode on its own: the share it polls is kept on disk, and a node that starts while the database is away
polls the sites it had when it last heard the cluster (instead of nothing) until a heartbeat gets through; with
the real PostgreSQL its first heartbeat gives it its share and keeps it. Waits end on conditions."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from cluster_database import Database
from peers import HANG_GUARD_S

from netmon.cluster.node import SHARE_FILE, ClusterNode
from netmon.config.schema import ClusterConfig
from netmon.model import Device, Owner, PollResult, Role, Source

DEVICES = {d.id: d for d in (Device("kim-a-ap", "kim-a", Role.AP, "10.0.0.2", (Source.PING,), Owner.PEMDA),
                             Device("kim-a-router", "kim-a", Role.ROUTER, "10.0.0.1", (Source.PING,), Owner.PEMDA),
                             Device("kim-b-ap", "kim-b", Role.AP, "10.0.1.2", (Source.PING,), Owner.PEMDA))}
FAST = ClusterConfig(heartbeat_s=0.2, dead_after_s=0.6, lease_ttl_s=1.0, lease_margin_s=0.2)
NOWHERE = "postgresql+psycopg://netmon@127.0.0.1:1/netmon"  # nothing listens on port 1: refused at once


def node(url: str, data_dir: Path, shares: list[frozenset[str]]) -> ClusterNode:
    async def lead(term: int) -> None:
        return None

    def durable(done: Any) -> None:
        done()

    def fleet(result: PollResult) -> None:
        return None

    return ClusterNode(FAST, url, DEVICES, data_dir, on_share=shares.append, lead=lead, deposed=lambda: None,
                       fleet=fleet, when_durable=durable, node_id="n1")


async def wait_for(predicate: Any) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_node_that_starts_without_the_database_polls_the_share_it_last_had(tmp_path: Path) -> None:
    (tmp_path / SHARE_FILE).write_text(json.dumps({"node": "n1", "sites": ["kim-a"]}))
    shares: list[frozenset[str]] = []
    n = node(NOWHERE, tmp_path, shares)
    n.start()
    await wait_for(lambda: shares)
    assert shares == [frozenset({"kim-a-ap", "kim-a-router"})]
    assert n.stats().database_available is False and n.leading() is None
    await n.stop()


async def test_another_nodes_share_file_or_none_leaves_a_node_without_the_database_polling_nothing(
        tmp_path: Path) -> None:
    (tmp_path / SHARE_FILE).write_text(json.dumps({"node": "someone-else", "sites": ["kim-a"]}))
    shares: list[frozenset[str]] = []
    n = node(NOWHERE, tmp_path, shares)
    n.start()
    await wait_for(lambda: n.stats().heartbeat_failures_total >= 3)  # well past the wait for the kept share
    assert shares == []
    await n.stop()


async def test_the_first_heartbeat_gives_the_share_and_it_is_kept_on_disk(database: Database, tmp_path: Path) -> None:
    shares: list[frozenset[str]] = []
    n = node(database.url, tmp_path, shares)
    n.start()
    await wait_for(lambda: shares and n.leading() is not None)
    assert shares[0] == frozenset(DEVICES)  # alone: every site
    assert json.loads((tmp_path / SHARE_FILE).read_text()) == {"node": "n1", "sites": ["kim-a", "kim-b"]}
    await n.stop()
