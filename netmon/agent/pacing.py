"""When a site agent (re)connects: a random delay after boot, then jittered exponential backoff ("full
jitter": a uniform draw between 0 and min(max, initial * 2^(attempt-1))), so that a whole kabupaten coming back
from a blackout spreads its connections over minutes instead of arriving at the broker at once. The random
source is injectable (a seeded `random.Random` in tests).

And how fast it sends: at most `send_rate_per_s` results a second. Live results (a site's devices polled
every minute: well under one a second) never meet the bound; a backlog drains at that pace and stays in the
agent's outbox (durable) instead of piling up at the broker ahead of every other agent's live results: the
office's subscription is one queue, first in, first out (docs/agents-office.md, "Catching up")."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Pacing:
    boot_delay_max_s: float = 120.0
    initial_s: float = 2.0
    max_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    send_rate_per_s: float = 20.0

    def boot_delay(self) -> float:
        return self.rng.uniform(0.0, self.boot_delay_max_s)

    def backoff(self, attempt: int) -> float:
        """The wait before reconnect attempt `attempt` (1 = after the first failure)."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(max(attempt - 1, 0), 32))
        return self.rng.uniform(0.0, ceiling)

    def batch(self, most: int) -> int:
        """Results to send at once: at most a second's worth, at most `most`."""
        return max(1, min(most, int(self.send_rate_per_s)))

    def send_pause(self, sent: int, elapsed_s: float) -> float:
        """The wait after sending `sent` results in `elapsed_s`, to keep to `send_rate_per_s`."""
        return max(0.0, sent / self.send_rate_per_s - elapsed_s)
