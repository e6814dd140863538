"""`ResultStream`: every node's poll results, to the leader's pipeline, through the shared journal.

In a cluster (docs/architecture.md, "Several nodes on one PostgreSQL") each node polls its share of the devices,
and one node, the leader, runs what needs the whole fleet: state, outages, alerts, tickets, rollups, reports. A
node's results reach the leader as the items of the cluster outbox `results` (netmon.cluster.outbox, its journal
the database table of netmon.storage.outbox): `put(result)` on the node that polled (into its local spool at
once, the shared journal soon after), `deliver(batch)` on the leader, which hands each result to the leader's
pipeline in journal order and returns only once what they caused is durable (`when_durable`, the storage write
queue's), so the batch's acknowledgement, which deletes it from the journal, never runs ahead of the writes it
caused. A leader that dies in between leaves the batch to the next leader, which hands it to its pipeline again
(at-least-once, like every outbox here). The leader's own results take the same path, so every result reaches the
pipeline in one order whoever polled it.

A result older than one the leader already handed on for the same device and source is stale and skipped
(counted): two nodes polled the device for a while (one of them cut off from the database kept polling the
sites it had, and its results arrive when it is back; a share moved while a poll ran), and the state machine
must see each device's polls in time order.

An item that is not a poll result (a newer node's format, a damaged row) is counted, logged once per kind of
damage, and skipped: it never stops the stream. A result the pipeline raises on is counted and logged the same
way (the pipeline screens results itself; this is the boundary that keeps one bug from blocking the fleet).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Callable
from typing import Any

from netmon import wire
from netmon.errors import WireError
from netmon.model import PollResult, Source

log = logging.getLogger(__name__)

NAME = "results"  # the cluster outbox that carries them
WhenDurable = Callable[[Callable[[], None]], None]  # netmon.storage.upkeep.StorageUpkeep.when_durable


class ResultStream:
    """`node_id` names this node's items (`<node>:<n>`, unique per node and process start with `started`);
    `on_result` is the leader's pipeline; `when_durable(done)` calls `done` once what was stored so far is
    committed or spooled. `outbox` (a ClusterOutbox delivering to `deliver`) is attached by the composition
    root: `stream.attach(ClusterOutbox(NAME, dir, stream.deliver, table, member.leading))`."""

    def __init__(self, node_id: str, started: float, on_result: Callable[[PollResult], None],
                 when_durable: WhenDurable) -> None:
        self._prefix = f"{node_id}:{started:.6f}:"
        self._numbers = itertools.count(1)
        self._on_result = on_result
        self._when_durable = when_durable
        self._outbox: Any = None
        self.put_total = 0
        self.handed_total = 0
        self.rejected_total = 0
        self.stale_total = 0
        self._latest: dict[tuple[str, Source], float] = {}  # (device, source) -> the newest poll handed on
        self._said: set[str] = set()

    def attach(self, outbox: Any) -> None:
        """The cluster outbox `results` (anything with `put(item)`)."""
        self._outbox = outbox

    def put(self, result: PollResult) -> None:
        """A result this node polled, on its way to the leader. Synchronous; never raises."""
        if self._outbox is None:
            raise RuntimeError("ResultStream.put before attach")
        self._outbox.put({"id": f"{self._prefix}{next(self._numbers)}", "result": wire.result_body(result)})
        self.put_total += 1

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        """On the leader: every result of `batch` to the pipeline, in order; returns once their writes are
        durable."""
        for item in batch:
            try:
                result = wire.result_from(item["result"])
            except (WireError, KeyError, TypeError) as exc:
                self._reject("not a poll result", exc, item)
                continue
            key = (result.device, result.source)
            if result.started_at <= self._latest.get(key, -math.inf):
                self.stale_total += 1  # another node polled it since (a partition; a share that moved)
                continue
            self._latest[key] = result.started_at
            try:
                self._on_result(result)
            except Exception as exc:  # the boundary: one bad result must not block every later one
                self._reject("the pipeline failed on it", exc, item)
                continue
            self.handed_total += 1
        await self._durable()

    async def _durable(self) -> None:
        done = asyncio.get_running_loop().create_future()

        def durable() -> None:
            if not done.done():
                done.set_result(None)

        loop = done.get_loop()
        self._when_durable(lambda: _call_soon(loop, durable))
        await done

    def _reject(self, why: str, exc: BaseException, item: Any) -> None:
        self.rejected_total += 1
        kind = f"{why}: {type(exc).__name__}"
        if kind not in self._said:
            self._said.add(kind)
            ident = item.get("id") if isinstance(item, dict) else None
            log.warning("result stream: item %s skipped, %s (%s); counted, logged once per kind", ident, why,
                        str(exc)[:200] or type(exc).__name__,
                        exc_info=why.startswith("the pipeline"))


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    loop.call_soon_threadsafe(fn)  # when_durable may call back from the writer's thread
