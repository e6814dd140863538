"""What the durable queues in front of a destination that can go away have in common (the notification and ticket
outboxes, netmon.outbox; the database write queue, netmon.storage.queue): one delivery loop at a time, a shutdown
that delivers what it can within a deadline and keeps the rest on disk, and the bookkeeping of an unavailable
destination (failures, the last error, one log line when it is lost and one when it is back).

A subclass writes `_loop()` (deliver until `self._draining` finds nothing left, or `self._abandoned`), and says
what happens when a drain runs out of time (`_give_up`) and after every drain (`_after_drain`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path


class Backlog:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what  # names the destination in log lines: "outbox notify", "storage"
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
            self._log.warning("%s lost (%s); %s, retrying with backoff", self._what, self._last_error, holding)

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
