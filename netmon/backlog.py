"""What the durable queues in front of a destination that can go away have in common (the notification and ticket
outboxes, netmon.outbox; the database write queue, netmon.storage.queue): one delivery loop at a time, a shutdown
that delivers what it can within a deadline and keeps the rest on disk, and the bookkeeping of an unavailable
destination (failures, the last error, one log line when it is lost and one when it is back).

A subclass writes `_loop()` (deliver until `self._draining` finds nothing left, or `self._abandoned`), and says
what happens when a drain runs out of time (`_give_up`) and after every drain (`_after_drain`).

While the destination is lost, deliveries are retried on one bounded schedule (`RetrySchedule`): after 1, 2, 5, 10,
15 s, then every 30 s, each delay within +-10 % (so daemons restarted together do not retry in step). So once the
destination is back, the queue finds out within at most 33 s, and within seconds after a short outage; nothing
waits minutes, and no retry follows a failure by a fraction of a second. The sleep and the jitter's random source
are injected, so tests assert the schedule without waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from netmon.errors import ConfigError

Sleep = Callable[[float], Awaitable[None]]
RETRY_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
RETRY_JITTER = 0.1


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """How long a queue waits before trying a lost destination again: `delays_s[n-1]` after the n-th failure in a
    row, then the last delay for every later one; each delay multiplied by a random factor in
    [1 - jitter, 1 + jitter]. A success starts the schedule again."""

    delays_s: tuple[float, ...] = RETRY_DELAYS_S
    jitter: float = RETRY_JITTER

    def __post_init__(self) -> None:
        if not self.delays_s or any(d <= 0 for d in self.delays_s):
            raise ConfigError(f"retry delays must be positive seconds, got {self.delays_s!r}")
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"retry jitter must be a fraction in [0, 1), got {self.jitter!r}")

    def delay(self, failures: int, rng: random.Random) -> float:
        """The wait after the `failures`-th failure in a row (1 = the first)."""
        base = self.delays_s[min(max(failures, 1), len(self.delays_s)) - 1]
        return base * rng.uniform(1 - self.jitter, 1 + self.jitter)

    def describe(self) -> str:
        """"after 1, 2, 5, 10, 15 s, then every 30 s" (for log lines)."""
        first, last = self.delays_s[:-1], self.delays_s[-1]
        every = f"every {last:g} s"
        return f"after {', '.join(f'{d:g}' for d in first)} s, then {every}" if first else every

    @property
    def longest_s(self) -> float:
        """The longest wait between two tries: how late a queue can notice that its destination is back."""
        return max(self.delays_s) * (1 + self.jitter)


async def pause(sleep: Sleep, seconds: float, interrupt: asyncio.Event) -> None:
    """`sleep(seconds)`, ended early when `interrupt` is set."""
    sleeper = asyncio.ensure_future(sleep(seconds))
    waiter = asyncio.ensure_future(interrupt.wait())
    try:
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waiter):
            task.cancel()
        for task in (sleeper, waiter):
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Backlog:
    def __init__(self, log: logging.Logger, what: str, *, retry: RetrySchedule | None = None,
                 sleep: Sleep = asyncio.sleep, rng: random.Random | None = None) -> None:
        self._log = log
        self._what = what  # names the destination in log lines: "outbox notify", "storage"
        self._retry = retry or RetrySchedule()
        self._sleep_fn = sleep
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()  # new work, or a drain
        self._draining = False
        self._abandoned = False  # a drain ran out of time: stop delivering, keep the rest for the next start
        self._running = False
        self._finished = asyncio.Event()
        self._failures = 0
        self._last_error: str | None = None
        self._available = True
        self._lost_at = 0.0

    async def run(self) -> None:
        """Deliver until `drain()` finds nothing left (or gives up). Cancel-safe: what is pending stays queued.
        A second concurrent call just waits for the first."""
        if self._running:
            await self._finished.wait()
            return
        self._running = True
        self._finished.clear()
        try:
            await self._loop()
        finally:
            self._running = False
            self._finished.set()
            await self._after_run()

    async def drain(self, timeout_s: float) -> None:
        """Shut down: deliver what is pending within `timeout_s`; what is left is kept for the next start.
        Stops `run()`."""
        self._draining = True
        self._wake.set()
        self._interrupt_wait()
        try:
            if self._running:
                await asyncio.wait_for(self._finished.wait(), timeout_s)
            else:
                await asyncio.wait_for(self.run(), timeout_s)
        except TimeoutError:
            await self._give_up()
        await self._after_drain()

    async def _loop(self) -> None:
        raise NotImplementedError

    async def _after_run(self) -> None:
        """When `run()` ends, however it ends."""

    def _interrupt_wait(self) -> None:
        """A drain started: end a backoff now."""

    async def _give_up(self) -> None:
        """A drain ran out of time while `run()` was still delivering."""

    async def _after_drain(self) -> None:
        """After every drain: keep what is left and say so."""

    def _failed(self, exc: Exception, holding: str) -> None:
        """A delivery failed; the first failure after a success logs that the destination is lost."""
        self._failures += 1
        self._last_error = f"{type(exc).__name__}: {exc}"[:300]
        if self._available:
            self._available = False
            self._lost_at = time.monotonic()
            self._log.warning("%s lost (%s); %s, retrying %s", self._what, self._last_error, holding,
                              self._retry.describe())

    def retry_delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row, on this queue's schedule (with its jitter)."""
        return self._retry.delay(failures, self._rng)

    def _recovered(self, backlog: str) -> None:
        """A delivery succeeded; the first success after a failure logs that the destination is back."""
        if not self._available:
            self._available = True
            self._log.info("%s back after %.1f s; %s", self._what, time.monotonic() - self._lost_at, backlog)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
