"""ResultStream on the real PostgreSQL: every node's poll results reach the leader's pipeline, each node's in its
poll order, and leave the shared journal only once what they caused is durable; a leader that dies before that
leaves them to the next leader, which hands them to its pipeline again; a damaged item is skipped and counted,
the stream goes on. Leases are real rows (ClusterStore) handed by the test (Leadership, as in
test_cluster_outbox); waits end on conditions, never on elapsed time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from cluster_database import Database
from test_cluster_outbox import FAST, Leadership, running, wait_for

from netmon.cluster.outbox import ClusterOutbox
from netmon.cluster.results import NAME, ResultStream
from netmon.model import DeviceIdentity, PollResult, Sample, SampleKind, Source
from netmon.storage.outbox import OutboxTable

BASE = PollResult(
    device="kim-kotayasa-router", source=Source.ROUTEROS, started_at=1_764_547_200.5, duration_s=0.25,
    samples=(Sample("netmon_device_uptime_seconds", 3600.0),
             Sample("netmon_interface_received_bytes_total", 1.5e9, (("interface", "ether1"),), SampleKind.COUNTER)),
    identity=DeviceIdentity("mikrotik", "MikroTik", "hAP ac2", "7.14", "HG20A1B2C3D"),
    fingerprints=frozenset({"a1b2", "c3d4"}), neighbours=("10.0.0.2",))


def result(device: str, n: int) -> PollResult:
    return dataclasses.replace(BASE, device=device, started_at=BASE.started_at + 60 * n)


class Durability:
    """when_durable that answers at once, or holds the callbacks while `held`."""

    def __init__(self) -> None:
        self.held = False
        self.waiting: list[Callable[[], None]] = []

    def __call__(self, done: Callable[[], None]) -> None:
        if self.held:
            self.waiting.append(done)
        else:
            done()

    def release(self) -> None:
        self.held = False
        waiting, self.waiting = self.waiting, []
        for done in waiting:
            done()


class Node:
    def __init__(self, node_id: str, database: Database, lead: Leadership, tmp_path: Path) -> None:
        self.seen: list[PollResult] = []
        self.durable = Durability()
        self.table = OutboxTable.open(database.url, node_id=node_id)
        self.stream = ResultStream(node_id, 1.0, self.seen.append, self.durable)
        self.outbox = ClusterOutbox(NAME, tmp_path / node_id, self.stream.deliver, self.table, lead.of(node_id),
                                    batch=10, poll_s=0.02, retry=FAST)
        self.stream.attach(self.outbox)

    def close(self) -> None:
        self.table.close()


def keys(results: list[PollResult]) -> list[tuple[str, float]]:
    return [(r.device, r.started_at) for r in results]


async def test_every_nodes_results_reach_the_leaders_pipeline_in_each_nodes_order(
        database: Database, tmp_path: Path) -> None:
    lead = Leadership(database.url)
    lead.give("a")
    a, b = Node("a", database, lead, tmp_path), Node("b", database, lead, tmp_path)
    sent = {"a": [result("kim-a-router", n) for n in range(25)], "b": [result("kim-b-ap", n) for n in range(25)]}
    async with running(a.outbox), running(b.outbox):
        for ra, rb in zip(sent["a"], sent["b"], strict=True):
            a.stream.put(ra)
            b.stream.put(rb)
        await wait_for(lambda: len(a.seen) >= 50 and a.table.pending(NAME) == [])
    assert b.seen == []  # only the leader's pipeline
    for node, device in (("a", "kim-a-router"), ("b", "kim-b-ap")):
        assert [r for r in a.seen if r.device == device] == sent[node]  # the same results, in poll order
    assert a.stream.handed_total == 50 and a.stream.rejected_total == 0
    assert (a.stream.put_total, b.stream.put_total) == (25, 25)
    for node in (a, b):
        node.close()
    lead.close()


async def test_results_stay_in_the_journal_until_durable_and_a_new_leader_hands_them_again(
        database: Database, tmp_path: Path) -> None:
    lead = Leadership(database.url)
    lead.give("a")
    a, b = Node("a", database, lead, tmp_path), Node("b", database, lead, tmp_path)
    a.durable.held = True  # the leader's writes are not durable yet
    sent = [result("kim-b-ap", n) for n in range(10)]
    async with running(a.outbox, drain_s=0.2), running(b.outbox):
        for r in sent:
            b.stream.put(r)
        await wait_for(lambda: len(a.seen) == 10 and a.durable.waiting)
        assert len(a.table.pending(NAME)) == 10  # handed to the pipeline, not acknowledged
        lead.give("b")  # a is gone as leader before its writes were durable
        b.outbox.retry_now()
        await wait_for(lambda: len(b.seen) == 10 and b.table.pending(NAME) == [])
        a.durable.release()  # a late ack leaves alone what the new leader claimed
    assert keys(b.seen) == keys(sent) and keys(a.seen) == keys(sent)  # at-least-once: handed again, in order
    for node in (a, b):
        node.close()
    lead.close()


async def test_a_damaged_item_is_skipped_and_counted_and_the_stream_goes_on(
        database: Database, tmp_path: Path) -> None:
    lead = Leadership(database.url)
    lead.give("a")
    a = Node("a", database, lead, tmp_path)
    a.table.append(NAME, [{"id": "x:1", "result": {"device": "kim-x", "source": "telnet"}}, {"id": "x:2"}])
    async with running(a.outbox):
        a.stream.put(result("kim-a-router", 1))
        await wait_for(lambda: len(a.seen) == 1 and a.table.pending(NAME) == [])
    assert a.stream.rejected_total == 2 and a.stream.handed_total == 1
    assert keys(a.seen) == keys([result("kim-a-router", 1)])
    a.close()
    lead.close()


async def test_a_result_the_pipeline_fails_on_is_counted_and_the_later_ones_still_arrive(
        database: Database, tmp_path: Path) -> None:
    lead = Leadership(database.url)
    lead.give("a")
    a = Node("a", database, lead, tmp_path)
    seen: list[PollResult] = []

    def pipeline(r: PollResult) -> None:
        if r.device == "kim-bug":
            raise ValueError("a bug in one rule")
        seen.append(r)

    a.stream = ResultStream("a", 1.0, pipeline, a.durable)
    a.outbox = ClusterOutbox(NAME, tmp_path / "a2", a.stream.deliver, a.table, lead.of("a"), batch=10, poll_s=0.02,
                             retry=FAST)
    a.stream.attach(a.outbox)
    async with running(a.outbox):
        for r in (result("kim-ok", 1), result("kim-bug", 2), result("kim-ok", 3)):
            a.stream.put(r)
        await wait_for(lambda: len(seen) == 2 and a.table.pending(NAME) == [])
    assert keys(seen) == keys([result("kim-ok", 1), result("kim-ok", 3)]) and a.stream.rejected_total == 1
    a.close()
    lead.close()


async def test_a_result_older_than_one_already_handed_on_is_stale_and_skipped(
        database: Database, tmp_path: Path) -> None:
    """Two nodes polled one device for a while (one was cut off from the database and its results come late):
    the leader hands each device's polls on in time order only."""
    lead = Leadership(database.url)
    lead.give("a")
    a, b = Node("a", database, lead, tmp_path), Node("b", database, lead, tmp_path)
    async with running(a.outbox), running(b.outbox):
        for n in (1, 2, 3):
            a.stream.put(result("kim-x-ap", n))
        await wait_for(lambda: len(a.seen) == 3 and a.table.pending(NAME) == [])
        for n in (2, 3, 4):  # b's spool, back from a partition: two of them are older than what a handed on
            b.stream.put(result("kim-x-ap", n))
        b.stream.put(dataclasses.replace(result("kim-x-ap", 2), source=Source.SNMP))  # another source: in order
        await wait_for(lambda: len(a.seen) == 5 and a.table.pending(NAME) == [])
    assert [(r.source, r.started_at) for r in a.seen] == [
        (Source.ROUTEROS, BASE.started_at + 60 * n) for n in (1, 2, 3, 4)] + [(Source.SNMP, BASE.started_at + 120)]
    assert a.stream.stale_total == 2 and a.stream.handed_total == 5
    for node in (a, b):
        node.close()
    lead.close()
