"""Flapping detection: a subject whose availability verdict flips often raises one alert, not a stream.

A subject (device, site or interface) that changes state `changes` times within `window_s` is flapping.
It stays flapping until it has been calm (no change) for `calm_s`. While it flaps, the engine freezes the
subject's availability rules and folds their open incident into the one "flapping" incident.
"""

from __future__ import annotations

from collections import deque

from alerts.rules import Verdict


class FlapDetector:
    def __init__(self, changes: int, window_s: float, calm_s: float) -> None:
        self._changes = max(2, changes)
        self._window_s = window_s
        self._calm_s = calm_s
        self._times: dict[str, deque[float]] = {}
        self._flapping: set[str] = set()

    def record(self, subject: str, at: float) -> None:
        """The subject's availability verdict changed at `at`."""
        times = self._times.setdefault(subject, deque())
        times.append(at)
        while len(times) > self._changes:
            times.popleft()

    def verdict(self, subject: str, at: float) -> Verdict | None:
        """Whether `subject` is flapping at `at` (None: nothing ever recorded for it)."""
        times = self._times.get(subject)
        if times is None:
            return None
        if subject in self._flapping:
            if at - times[-1] >= self._calm_s:
                self._flapping.discard(subject)
                last = times[-1]
                times.clear()  # a fresh count after calm
                return Verdict(False, ended_at=last)  # stable since the last change
            return Verdict(True, value=float(len(times)))
        recent = [t for t in times if at - t <= self._window_s]
        if len(recent) >= self._changes:
            self._flapping.add(subject)
            return Verdict(True, value=float(len(recent)), started_at=recent[0],
                           summary=f"{len(recent)}x / {self._window_s / 60:.0f} min")
        return Verdict(False)

    def flapping(self, subject: str) -> bool:
        return subject in self._flapping

    def restore(self, subject: str, at: float) -> None:
        """Continue a flapping incident kept open across a restart (calm counted from `at`)."""
        self._flapping.add(subject)
        self._times.setdefault(subject, deque()).append(at)

    def subjects(self) -> list[str]:
        return sorted(self._times)
