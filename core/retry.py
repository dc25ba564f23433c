"""The retry policy: when an item is tried again after a transient failure. Pure, no
clock of its own. An item may carry its own (a grab's `retryPolicy`); otherwise the
processor's (QUEUARR_RETRY_DELAYS) applies."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

DEFAULT_DELAYS = (0, 120, 480)  # the seed's 0 s -> 2 min -> 8 min -> failed


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delays before each new attempt after a transient failure: `delays[n]` follows the
    (n+1)th failure; when they run out the item fails. With `factor`, delays past the
    list grow geometrically up to `cap` for `max_attempts` attempts in all; `jitter`
    spreads each delay by up to that fraction."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    max_attempts: int | None = None
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.0

    @property
    def attempts(self) -> int:
        """How many attempts in all (the first send included)."""
        return self.max_attempts if self.max_attempts is not None else len(self.delays) + 1

    def delay(self, failures: int, rng: random.Random | None = None) -> timedelta | None:
        """The wait after the `failures`th failure, or None when the item should fail."""
        if failures < 1 or failures >= self.attempts:
            return None
        if failures <= len(self.delays):
            seconds = self.delays[failures - 1]
        else:
            last = self.delays[-1] if self.delays else 1.0
            seconds = min(max(last, 1.0) * self.factor ** (failures - len(self.delays)),
                          self.cap)
        if self.jitter and seconds:
            seconds *= 1 + (rng or random).uniform(-self.jitter, self.jitter)
        return timedelta(seconds=max(seconds, 0.0))

    @classmethod
    def parse(cls, text: str) -> RetryPolicy:
        """From QUEUARR_RETRY_DELAYS: comma-separated seconds, such as `0,120,480`."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            delays = tuple(float(p) for p in parts)
        except ValueError:
            raise ValueError(f"retry delays must be seconds separated by commas, got {text!r}"
                             ) from None
        if any(not math.isfinite(d) or d < 0 for d in delays):
            raise ValueError(f"retry delays must be finite and not negative, got {text!r}")
        return cls(delays=delays)

    def to_json(self) -> dict[str, Any]:
        return {"delays": list(self.delays), "maxAttempts": self.max_attempts,
                "factor": self.factor, "cap": self.cap, "jitter": self.jitter}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryPolicy:
        return cls(delays=tuple(float(d) for d in data["delays"]),
                   max_attempts=data.get("maxAttempts"), factor=float(data["factor"]),
                   cap=float(data["cap"]), jitter=float(data["jitter"]))
