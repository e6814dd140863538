"""netmon.heap: the daemon process's garbage-collector tuning, and the watch that puts collections and their
pauses on /metrics. The tuning is global to a process, so each test puts back what it changed."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from netmon import heap
from netmon.exposition import expose


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_tune_sets_the_young_and_old_thresholds_and_keeps_the_middle_one(restored_gc: None) -> None:
    _, gen1, _ = gc.get_threshold()
    heap.tune()
    assert gc.get_threshold() == (heap.GEN0_THRESHOLD, gen1, heap.GEN2_THRESHOLD)


def test_the_young_threshold_can_be_set_from_the_environment(restored_gc: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(heap.YOUNG_ENV, "700")  # CPython's default, to measure against
    heap.tune()
    assert gc.get_threshold()[0] == 700


def test_settle_freezes_what_exists_so_full_collections_skip_it(restored_gc: None) -> None:
    kept = [[i] for i in range(1000)]  # long-lived containers
    frozen = heap.settle()
    # a thread left by an earlier test may free a frozen object in between: the count can only have shrunk
    assert frozen >= 1000 and len(kept) <= gc.get_freeze_count() <= frozen
    old = {id(o) for o in gc.get_objects(2)}
    assert not any(id(x) in old for x in kept)  # out of the old generation
    assert gc.collect() >= 0  # collecting still works


class StepClock:
    def __init__(self, steps: list[float]) -> None:
        self._steps = iter(steps)

    def __call__(self) -> float:
        return next(self._steps)


def test_watch_counts_collections_and_pauses_by_generation_while_installed() -> None:
    watch = heap.GcWatch(clock=StepClock([10.0, 10.25, 20.0, 20.5, 30.0, 30.1]))
    assert watch.samples() == []  # never installed (netmon poll): no figures
    watch.watched = True
    watch._callback("start", {"generation": 2})
    watch._callback("stop", {"generation": 2})  # 0.25 s
    watch._callback("start", {"generation": 2})
    watch._callback("stop", {"generation": 2})  # 0.5 s
    watch._callback("start", {"generation": 0})
    watch._callback("stop", {"generation": 0})  # 0.1 s
    values = {(s.metric, dict(s.labels)["generation"]): s.value for s in watch.samples()}
    assert values[("netmon_gc_collections_total", "2")] == 2
    assert values[("netmon_gc_seconds_total", "2")] == pytest.approx(0.75)
    assert values[("netmon_gc_longest_seconds", "2")] == pytest.approx(0.5)
    assert values[("netmon_gc_collections_total", "0")] == 1
    assert values[("netmon_gc_collections_total", "1")] == 0

    real = heap.GcWatch()
    real.install()
    real.install()  # once only
    try:
        gc.collect(1)
    finally:
        real.remove()
    assert real.collections[1] == 1 and real.cost_s[1] >= 0
    gc.collect(1)
    assert real.collections[1] == 1  # removed: no longer counting
    assert real._callback not in gc.callbacks


def test_gc_families_are_typed_and_described_on_the_page() -> None:
    watch = heap.GcWatch()
    watch.watched = True
    text = expose({}, watch.samples()).decode()
    assert "# TYPE netmon_gc_seconds_total counter" in text
    assert "# TYPE netmon_gc_longest_seconds gauge" in text
    assert 'netmon_gc_collections_total{generation="2"} 0' in text
