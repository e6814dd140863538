"""`Sequencer`: one agent's results in sequence order, each once (pure).

The agent numbers its results from 1 and never reuses a number. `last` is the contiguous mark: every seq up to
it was handed on (or lies in a gap). A result at or below the mark, or one already waiting, is a duplicate (a
broker's redelivery, a republish after the agent's restart). One above `last + 1` waits for the ones before
it, so history is replayed in order; a hole is passed over when the agent reports the range dropped (its
outbox bound: a `dropped` gap), or when more than `hold` results wait behind it (a `missing` gap: we will not
wait for ever).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Gap:
    from_seq: int
    to_seq: int
    reason: Literal["dropped", "missing"]


class Sequencer(Generic[T]):
    def __init__(self, last: int = 0, *, hold: int = 1000) -> None:
        self.last = last
        self._hold = hold
        self._waiting: dict[int, T] = {}
        self._dropped: list[tuple[int, int]] = []  # reported ranges not yet passed

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def offer(self, seq: int, item: T) -> list[tuple[int, T] | Gap] | None:
        """What can be handed on now, in order (results and gaps passed); None for a duplicate."""
        if seq <= self.last or seq in self._waiting:
            return None
        self._waiting[seq] = item
        return self._release()

    def dropped(self, from_seq: int, to_seq: int) -> list[tuple[int, T] | Gap]:
        """The agent says `from_seq`..`to_seq` will never come."""
        if to_seq > self.last and (from_seq, to_seq) not in self._dropped:
            self._dropped.append((from_seq, to_seq))
        return self._release()

    def _release(self) -> list[tuple[int, T] | Gap]:
        out: list[tuple[int, T] | Gap] = []
        while True:
            following = self.last + 1
            if following in self._waiting:
                out.append((following, self._waiting.pop(following)))
                self.last = following
            elif (span := self._dropped_at(following)) is not None:
                out.append(Gap(max(span[0], following), span[1], "dropped"))
                self.last = span[1]
            elif len(self._waiting) > self._hold:
                resume = min(self._waiting)
                out.append(Gap(following, resume - 1, "missing"))
                self.last = resume - 1
            else:
                return out

    def _dropped_at(self, seq: int) -> tuple[int, int] | None:
        for span in list(self._dropped):
            if span[1] < seq:
                self._dropped.remove(span)
            elif span[0] <= seq:
                self._dropped.remove(span)
                return span
        return None
