"""`Liveness`: whether each site agent can be heard, and whether its news is current (pure; the clock is given).

* heard: any message from the agent (result or status), at the office's clock.
* silent: its status says `online: false` (its MQTT will, published by the broker when it lost the agent), or
  nothing was heard for `silent_after_s` (before the first message: since the office started). The link is not
  the device: a silent agent says nothing about its devices.
* live: heard, not silent, and its newest result is at most `late_after_s` older than the office's clock (or it
  has sent none yet). An agent that is heard but not live is catching up on a backlog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class Link:
    heard_at: float | None = None  # office clock
    online: bool | None = None  # from its latest status
    newest_at: float | None = None  # agent clock: the newest result ingested


class Liveness:
    def __init__(self, silent_after_s: Mapping[str, float], *, late_after_s: float, started_at: float,
                 clock: Callable[[], float]) -> None:
        self._silent_after = dict(silent_after_s)
        self._late_after_s = late_after_s
        self._started_at = started_at
        self.clock = clock
        self.links: dict[str, Link] = {agent: Link() for agent in silent_after_s}

    def restore(self, agent: str, heard_at: float | None, online: bool | None, newest_at: float | None) -> None:
        if agent in self.links:
            self.links[agent] = Link(heard_at, online, newest_at)

    def heard(self, agent: str, online: bool | None = None) -> None:
        link = self.links[agent]
        link.heard_at = self.clock()
        if online is not None:
            link.online = online
        elif link.online is False:
            link.online = None  # a result after its will: it is back, whatever the retained status said

    def result(self, agent: str, at: float) -> None:
        link = self.links[agent]
        link.newest_at = at if link.newest_at is None else max(at, link.newest_at)

    def silent(self, agent: str) -> bool:
        link = self.links[agent]
        if link.online is False:
            return True
        heard = link.heard_at if link.heard_at is not None else self._started_at
        return self.clock() - heard > self._silent_after[agent]

    def live(self, agent: str) -> bool:
        link = self.links[agent]
        if link.heard_at is None or self.silent(agent):
            return False
        return link.newest_at is None or self.clock() - link.newest_at <= self._late_after_s

    def lag(self, agent: str) -> float | None:
        """How far behind the office's clock its newest result is (None: no result yet)."""
        newest = self.links[agent].newest_at
        return None if newest is None else max(0.0, self.clock() - newest)
