"""A token bucket per device: at most `per_minute` pushes a minute, with that many in a burst. Pure (the
clock is an argument)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Bucket:
    per_minute: int
    tokens: float = -1.0  # -1: full at the first take
    at: float = 0.0

    def take(self, now: float) -> float:
        """0.0 when a push is allowed now (and counted), else the seconds until the next one is."""
        rate = self.per_minute / 60.0
        if self.tokens < 0:
            self.tokens, self.at = float(self.per_minute), now
        self.tokens = min(float(self.per_minute), self.tokens + max(0.0, now - self.at) * rate)
        self.at = max(self.at, now)  # a clock stepping back refills nothing
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate


def retry_after(wait_s: float) -> str:
    """The `Retry-After` value for a wait: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))


def default_per_minute(interval_s: float) -> int:
    """Room for the script's own pace twice over, and at least 6 (an operator running it by hand)."""
    return max(6, math.ceil(2 * 60.0 / interval_s))
