"""Flapping detection: a subject that goes up and down often raises one alert, not a stream.

What counts is a *transition* of the subject itself: a device going DOWN or coming back from DOWN (its
`DeviceState`, not a change of a derived outage cause), a site's `site_down` verdict turning on or off, an
interface going down or up. One power cut is two transitions per device (down, up), so it never flaps.

A subject with `changes` transitions within `window_s` is flapping once that still holds `hold_s` later (the
hold: transitions spread so thinly that they leave the window first raise nothing). It stays flapping until
it has been calm (no transition) for `calm_s`. While it flaps, the engine freezes the subject's availability
rules and folds their open incident into the one "flapping" incident.
"""

from __future__ import annotations

from collections import deque

from alerts.rules import Verdict


class FlapDetector:
    def __init__(self, changes: int, window_s: float, calm_s: float, hold_s: float = 0.0) -> None:
        self._changes = max(2, changes)
        self._window_s = window_s
        self._calm_s = calm_s
        self._hold_s = hold_s
        self._times: dict[str, deque[float]] = {}
        self._pending: dict[str, float] = {}  # subject -> when the count first reached `changes`
        self._flapping: set[str] = set()

    def record(self, subject: str, at: float) -> None:
        """The subject went up or down at `at`."""
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
        if len(recent) < self._changes:
            self._pending.pop(subject, None)
            if not recent:
                del self._times[subject]  # nothing left within the window: forgotten until its next transition
            return Verdict(False)
        pending = self._pending.setdefault(subject, at)
        if at - pending < self._hold_s:
            return Verdict(False)
        del self._pending[subject]
        self._flapping.add(subject)
        return Verdict(True, value=float(len(recent)), started_at=recent[0],
                       summary=f"{len(recent)}x / {self._window_s / 60:.0f} min")

    def flapping(self, subject: str) -> bool:
        return subject in self._flapping

    def restore(self, subject: str, at: float) -> None:
        """Continue a flapping incident kept open across a restart (calm counted from `at`)."""
        self._flapping.add(subject)
        self._times.setdefault(subject, deque()).append(at)

    def subjects(self) -> list[str]:
        return sorted(self._times)
