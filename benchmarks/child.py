"""A helper process of a benchmark (an agent, a simulator, a poller): spawned, spoken to over a pipe.

The target is a module-level function whose last argument is its end of the pipe. It may send a first message
when it is ready (`wait_ready`), answers requests (`ask`), and ends on the stop message, whose reply, if any,
`close()` returns. A child that does not end when asked is killed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable
from typing import Any, Self


class ChildProcess:
    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=target, args=(*args, child), daemon=True, name=name)
        self._proc.start()
        self.name = name

    def wait_ready(self, timeout_s: float = 30.0) -> Any:
        """The child's first message (its ports, say); kills it and raises when none comes in `timeout_s`."""
        if not self._conn.poll(timeout_s):
            self._proc.kill()
            raise RuntimeError(f"{self.name} did not start")
        try:
            return self._conn.recv()
        except EOFError:
            raise RuntimeError(f"{self.name} exited before it was ready (exit code {self._proc.exitcode})") from None

    def ask(self, message: Any, timeout_s: float | None = None) -> Any:
        """Send a request and return the reply; with `timeout_s`, raise when none comes in time."""
        self._conn.send(message)
        if timeout_s is not None and not self._conn.poll(timeout_s):
            raise RuntimeError(f"{self.name} did not answer")
        return self._conn.recv()

    def stop(self, message: Any = "stop", timeout_s: float = 10.0) -> Any:
        """Ask the child to end; its last reply (None without one), then wait for it, killing it if it lingers."""
        reply = None
        with contextlib.suppress(OSError, EOFError):
            self._conn.send(message)
            if self._conn.poll(timeout_s):
                reply = self._conn.recv()
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
        return reply

    def close(self) -> Any:
        return self.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
