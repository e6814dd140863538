"""The daemon's garbage collector: tuned for a process that holds millions of long-lived objects, and watched.

At 10,000 devices the main process holds ~1.5 million objects the cyclic garbage collector tracks (the latest
samples of every device, alert verdicts, state); at 30,000 several million. CPython's defaults (a young
collection every 700 net allocations; a full collection whenever the objects promoted since the last one
reach a quarter of the old ones) are made for small heaps: even with the tuning below, at 10,000 devices
collections take ~20 % of the main process's CPU and a full one stops its event loop for ~1.3 s
(docs/performance.md, "The main process, per result"). So the process that runs the daemon (`netmon run`
and its SNMP worker processes; never a test process or a library user: it is global state):

- `tune()`: young collections every GEN0_THRESHOLD allocations instead of 700 (measured: 0.36 -> 0.28 ms of
  CPU per result in `on_result` at 3,000 devices), and a full collection at most once per GEN2_THRESHOLD
  middle ones instead of 10: every result replaces the device's kept objects, so a quarter of the old
  generation is promoted anew within a minute at 30,000 devices and CPython's rule alone collected it all
  (~3 s of CPU at 30,000) every ~50 s; replaced objects are freed by their reference count, only cycles wait
  for the full collection (measured in docs/performance.md);
- `settle()`: once started (config, profiles, stored state and discoveries loaded), collect and freeze what
  exists, so full collections no longer walk what lives as long as the process (`gc.freeze`).

`GcWatch` counts collections and their CPU time per generation for /metrics (`netmon_gc_*`), so a pause that
makes polls late is seen, not guessed.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from typing import Any

from netmon.model import Sample, SampleKind

GEN0_THRESHOLD = 10_000
GEN2_THRESHOLD = 100  # middle collections between full ones (CPython: 10), on top of CPython's quarter rule
GENERATIONS = (0, 1, 2)
YOUNG_ENV = "NETMON_GC_YOUNG"  # overrides GEN0_THRESHOLD (700 is CPython's default), for measuring


def tune(gen0: int | None = None) -> None:
    """Young collections every `gen0` allocations (else $NETMON_GC_YOUNG, else GEN0_THRESHOLD); full ones
    after GEN2_THRESHOLD middle ones at the least."""
    if gen0 is None:
        gen0 = int(os.environ.get(YOUNG_ENV) or GEN0_THRESHOLD)
    _, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, GEN2_THRESHOLD)


def settle() -> int:
    """Collect, then move every object that exists now out of the collector's way; returns how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class GcWatch:
    """Collections and their cost per generation, from `gc.callbacks` while installed. The cost is the CPU time
    of the collecting thread (`time.thread_time`): the loop stands still at least that long, and, unlike wall
    time, it does not count the waits for the GIL while the exporter's or the worker readers' threads run."""

    def __init__(self, clock: Callable[[], float] = time.thread_time) -> None:
        self._clock = clock
        self._began = 0.0
        self.collections = [0, 0, 0]
        self.cost_s = [0.0, 0.0, 0.0]
        self.longest_s = [0.0, 0.0, 0.0]
        self.watched = False  # ever installed: only then are there figures to show

    def install(self) -> None:
        self.watched = True
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def remove(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = self._clock()
            return
        generation = info["generation"]
        cost = self._clock() - self._began
        self.collections[generation] += 1
        self.cost_s[generation] += cost
        self.longest_s[generation] = max(self.longest_s[generation], cost)

    def samples(self) -> list[Sample]:
        """The `netmon_gc_*` families; none from a watch never installed (`netmon poll`, tests)."""
        counter = SampleKind.COUNTER
        out: list[Sample] = []
        if not self.watched:
            return out
        for g in GENERATIONS:
            labels = (("generation", str(g)),)
            out += [Sample("netmon_gc_collections_total", self.collections[g], labels, counter),
                    Sample("netmon_gc_seconds_total", self.cost_s[g], labels, counter),
                    Sample("netmon_gc_longest_seconds", self.longest_s[g], labels)]
        return out
