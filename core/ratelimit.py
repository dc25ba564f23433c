"""Failed authentication, limited per client address (a sliding window, as fail2ban's).

After `limit` failures within `window` seconds an address is refused, whatever it sends,
until the oldest of those failures is `window` old. A refused request is not checked, so
a right key from a limited address is refused too: answering it differently would tell
an attacker which of their guesses was right, at full speed. (Clients behind one proxy
share its address unless the server is told to trust the proxy's X-Forwarded-For.)"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 10
WINDOW = 60.0  # seconds
MAX_ADDRESSES = 10_000  # addresses remembered at once; the stalest go first


class FailureLimiter:
    """Counts failures per address; `retry_after` says whether one is refused now."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = WINDOW,
                 monotonic: Callable[[], float] = time.monotonic,
                 max_addresses: int = MAX_ADDRESSES) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._monotonic = monotonic
        self._failures: dict[str, deque[float]] = {}

    def __len__(self) -> int:
        """Addresses remembered."""
        return len(self._failures)

    def retry_after(self, address: str) -> float | None:
        """Seconds until `address` may try again, or None when it may now."""
        failures = self._failures.get(address)
        if failures is None or len(failures) < self.limit:
            return None
        left = failures[0] + self.window - self._monotonic()
        return left if left > 0 else None

    def failed(self, address: str) -> bool:
        """Count a failure; True when it is the one that gets the address refused."""
        now = self._monotonic()
        failures = self._failures.pop(address, None)  # re-inserted last: the freshest
        if failures is None:
            self._forget(now)
            failures = deque(maxlen=self.limit)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        failures.append(now)
        self._failures[address] = failures
        return len(failures) == self.limit

    def _forget(self, now: float) -> None:
        """Make room for a new address: drop those whose failures have all expired,
        then, if that is not enough, the ones that failed least recently."""
        if len(self._failures) < self.max_addresses:
            return
        for address in [a for a, f in self._failures.items() if f[-1] <= now - self.window]:
            del self._failures[address]
        while len(self._failures) >= self.max_addresses:
            del self._failures[next(iter(self._failures))]


class RateLimiter(FailureLimiter):
    """At most `limit` events per key within `window` seconds (the same sliding window):
    `allow` counts an event and says whether it may go ahead. Refused events are not
    counted, so a key that keeps going is let through again as its window passes."""

    def allow(self, key: str) -> bool:
        if self.retry_after(key) is not None:
            return False
        self.failed(key)
        return True
