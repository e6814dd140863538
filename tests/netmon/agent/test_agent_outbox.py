"""The agent's outbox (netmon.agent.outbox) on real SQLite files: numbered once and for ever, deleted only when
acknowledged, bounded by size and age with every dropped run recorded, and nothing lost to `kill -9`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from peers import HANG_GUARD_S, REPO

from netmon import wire
from netmon.agent.outbox import OutboxBounds, ResultOutbox
from netmon.errors import ConfigError
from netmon.model import PollResult, Sample, Source

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86400.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def result(n: int, at: float | None = None) -> PollResult:
    return PollResult(f"kim-dev-{n % 7}", Source.SNMP, T0 + n if at is None else at, 0.01,
                      samples=(Sample("netmon_device_uptime_seconds", 1000.0 + n),))


def payload_size(outbox: ResultOutbox) -> int:
    return len(wire.encode(outbox.agent, outbox.last_seq + 1, result(0)))


def test_sequence_numbers_start_at_one_and_continue_after_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    first = ResultOutbox(path, "kec-a", clock=Clock())
    assert [first.put(result(n)) for n in range(3)] == [1, 2, 3]
    first.acknowledge(3)
    first.close()
    again = ResultOutbox(path, "kec-a", clock=Clock())
    assert again.depth == 0 and again.last_seq == 3
    assert again.put(result(4)) == 4  # never reused, even though the outbox was empty


def test_what_is_taken_is_the_exact_wire_message_and_stays_until_acknowledged(tmp_path: Path) -> None:
    outbox = ResultOutbox(tmp_path / "o.sqlite", "kec-a", clock=Clock())
    for n in range(5):
        outbox.put(result(n))
    batch = outbox.take(3)
    assert [p.seq for p in batch] == [1, 2, 3]
    agent, seq, decoded = wire.decode(batch[0].payload)
    assert (agent, seq, decoded) == ("kec-a", 1, result(0))
    outbox.release()  # the publish failed: nothing is gone
    assert outbox.take(3) == batch
    outbox.acknowledge(2)
    assert [p.seq for p in outbox.take(10)] == [3, 4, 5] and outbox.depth == 3
    assert outbox.oldest_at == T0 + 2


def test_an_outbox_of_another_agent_is_refused(tmp_path: Path) -> None:
    ResultOutbox(tmp_path / "o.sqlite", "kec-a").close()
    with pytest.raises(ConfigError, match="belongs to agent 'kec-a', not 'kec-b'"):
        ResultOutbox(tmp_path / "o.sqlite", "kec-b")


def test_the_size_bound_drops_the_oldest_and_records_one_merged_range(tmp_path: Path) -> None:
    probe = ResultOutbox(tmp_path / "probe.sqlite", "kec-a")
    size = payload_size(probe)
    outbox = ResultOutbox(tmp_path / "o.sqlite", "kec-a", OutboxBounds(max_bytes=10 * size + size // 2),
                          clock=Clock())
    for n in range(1, 16):
        outbox.put(result(n))
    assert outbox.depth == 10 and outbox.size_bytes <= 10 * size + size // 2
    assert [p.seq for p in outbox.take(100)] == list(range(6, 16))
    outbox.release()
    # one put at a time dropped one result at a time: contiguous runs make one range
    assert outbox.dropped == (wire.DroppedRange(1, 5, T0 + 1, T0 + 5, 5),)
    assert outbox.dropped_total == 5
    status = outbox.status(online=True)
    assert (status.last_seq, status.backlog_depth, status.backlog_oldest_at) == (15, 10, T0 + 6)
    assert status.dropped == outbox.dropped


def test_drops_separated_by_delivered_results_are_separate_ranges_and_survive_a_reopen(tmp_path: Path) -> None:
    size = payload_size(ResultOutbox(tmp_path / "probe.sqlite", "kec-a"))
    path = tmp_path / "o.sqlite"
    outbox = ResultOutbox(path, "kec-a", OutboxBounds(max_bytes=3 * size + 10), clock=Clock())
    for n in range(1, 6):
        outbox.put(result(n))  # 1, 2 dropped
    outbox.acknowledge(5)  # 3..5 delivered
    for n in range(6, 11):
        outbox.put(result(n))  # 6, 7 dropped
    expected = (wire.DroppedRange(1, 2, T0 + 1, T0 + 2, 2), wire.DroppedRange(6, 7, T0 + 6, T0 + 7, 2))
    assert outbox.dropped == expected
    outbox.close()
    assert ResultOutbox(path, "kec-a").dropped == expected


def test_the_age_bound_drops_what_was_polled_too_long_ago(tmp_path: Path) -> None:
    clock = Clock()
    outbox = ResultOutbox(tmp_path / "o.sqlite", "kec-a", OutboxBounds(max_age_s=7 * DAY), clock=clock)
    for n in range(4):
        outbox.put(result(n, at=T0 + n * DAY))  # polled on days 0, 1, 2, 3
    clock.now = T0 + 8.5 * DAY  # days 0 and 1 are older than 7 days now
    outbox.trim()
    assert [p.seq for p in outbox.take(10)] == [3, 4]
    assert outbox.dropped == (wire.DroppedRange(1, 2, T0, T0 + DAY, 2),)


def test_results_in_flight_are_not_dropped_while_the_broker_may_be_acknowledging_them(tmp_path: Path) -> None:
    clock = Clock()
    outbox = ResultOutbox(tmp_path / "o.sqlite", "kec-a", OutboxBounds(max_age_s=DAY), clock=clock)
    for n in range(4):
        outbox.put(result(n))
    assert [p.seq for p in outbox.take(2)] == [1, 2]
    clock.now = T0 + 2 * DAY
    outbox.trim()  # 3 and 4 are dropped; 1 and 2 are being sent
    outbox.acknowledge(2)
    assert outbox.depth == 0
    assert outbox.dropped == (wire.DroppedRange(3, 4, T0 + 2, T0 + 3, 2),)


def test_the_database_is_wal_with_full_sync(tmp_path: Path) -> None:
    outbox = ResultOutbox(tmp_path / "o.sqlite", "kec-a")
    outbox.put(result(1))
    with sqlite3.connect(tmp_path / "o.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


WRITER = """
import sys, time
from pathlib import Path
from netmon.agent.outbox import ResultOutbox
from netmon.model import PollResult, Sample, Source
outbox = ResultOutbox(Path(sys.argv[1]), "kec-a")
n = 0
while True:
    n += 1
    seq = outbox.put(PollResult("kim-dev", Source.SNMP, time.time(), 0.01,
                                samples=(Sample("netmon_device_uptime_seconds", float(n)),)))
    if n % 3 == 0:
        outbox.take(2)
        outbox.acknowledge(seq - 1)   # as the sender does after a PUBACK
        print("acked", seq - 1, flush=True)
    print("put", seq, flush=True)
"""


@pytest.mark.parametrize("after", [5, 37, 200], ids=["early", "middle", "late"])
def test_kill_9_loses_no_stored_result_and_reuses_no_sequence_number(tmp_path: Path, after: int) -> None:
    """A writer is killed at some point while putting and acknowledging: every seq it was told was stored and
    not yet acknowledged is still there, and the next seq is past every seq ever handed out."""
    path = tmp_path / "o.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    put: list[int] = []
    acked = 0
    deadline = time.monotonic() + HANG_GUARD_S
    assert proc.stdout is not None
    while len(put) < after and time.monotonic() < deadline:
        word, number = proc.stdout.readline().split()
        if word == "put":
            put.append(int(number))
        else:
            acked = int(number)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert len(put) == after
    reopened = ResultOutbox(path, "kec-a")
    kept = [p.seq for p in reopened.take(10_000)]
    reopened.release()
    assert set(range(acked + 1, put[-1] + 1)) <= set(kept)  # everything stored and not acknowledged
    assert kept == list(range(kept[0], kept[-1] + 1))  # in order, no hole
    assert reopened.last_seq >= put[-1] and reopened.last_seq == kept[-1]
    assert reopened.put(result(0)) == kept[-1] + 1
