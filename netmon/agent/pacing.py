"""When a site agent (re)connects: a random delay after boot, then jittered exponential backoff ("full
jitter": a uniform draw between 0 and min(max, initial * 2^(attempt-1))), so that a whole kabupaten coming back
from a blackout spreads its connections over minutes instead of arriving at the broker at once. The random
source is injectable (a seeded `random.Random` in tests)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Pacing:
    boot_delay_max_s: float = 120.0
    initial_s: float = 2.0
    max_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def boot_delay(self) -> float:
        return self.rng.uniform(0.0, self.boot_delay_max_s)

    def backoff(self, attempt: int) -> float:
        """The wait before reconnect attempt `attempt` (1 = after the first failure)."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(max(attempt - 1, 0), 32))
        return self.rng.uniform(0.0, ceiling)
