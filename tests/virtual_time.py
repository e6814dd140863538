"""An asyncio event loop on virtual time, for tests of timing logic (the scheduler's intervals, deadlines and
skipped cycles). `asyncio.sleep`, `asyncio.wait_for`, `loop.call_later` and `loop.time()` run on a clock that
starts at 0 and jumps straight to the next timer whenever nothing is ready to run, so "polled every 0.2 s for
1.3 s" gives the same answer on an idle laptop and on a loaded CI runner, at any time of day, and takes no
real time. Code under test takes the clock as an argument (`clock=loop.time`).

Only for code that waits on timers, not on real I/O: while the loop jumps, a socket or a thread would see
time fly past it. Ready sockets are still served (the loop polls them without waiting), and a loop with no
timer at all waits for real I/O as usual.

For code that does real I/O (a thread pool, sockets to a peer) and takes its clock and sleep as arguments (the
Scheduler's `clock=`, `wall=`, `sleep=`), `JumpingClock` is the injected pair: a sleep returns at once and
moves the clock to its end, so the code runs its intervals back to back while the I/O stays real.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # no timer pending: only real I/O (a thread's result) can wake the loop
            return super().select(None)
        events: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if not events and timeout > 0:
            self._clock.now += timeout  # nothing to do until the next timer: jump to it
        return events


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual = VirtualClock()
        super().__init__(selector=_JumpingSelector(self._virtual))

    def time(self) -> float:
        return self._virtual.now


def run_virtual(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main()` to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


class JumpingClock:
    """An injected clock and sleep: `sleep(s)` yields to the loop once, then the clock is at least the
    sleeper's wake time. No wall time passes between polls; the loop itself keeps real time for the I/O and
    for deadlines (`asyncio.wait_for`)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = self.now + max(0.0, seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, wake)
