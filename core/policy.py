"""Pure policies of the processor: what a failure means for an item, when it is tried
again, how a client that is down is backed off, and when a download counts as stalled.
No I/O, no clock of their own: callers pass `now`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.clients import STALL_STATES, ClientState
from core.errors import ClientRejected, ClientUnavailable, DownloadClientError
from core.retry import DEFAULT_DELAYS, RetryPolicy

__all__ = ["DEFAULT_DELAYS", "ClientBackoff", "FailureClass", "RetryPolicy", "StallPolicy",
           "classify"]


class FailureClass(StrEnum):
    PERMANENT = "permanent"  # failed at once, reason kept
    TRANSIENT = "transient"  # retried with backoff, then failed with the last error
    UNAVAILABLE = "unavailable"  # the client's fault: no attempt burned, client backs off


def classify(error: DownloadClientError) -> FailureClass:
    if isinstance(error, ClientUnavailable):
        return FailureClass.UNAVAILABLE
    if isinstance(error, ClientRejected):
        return FailureClass.PERMANENT
    return FailureClass.TRANSIENT




# Radarr's escalation for a provider that keeps failing (NzbDrone's EscalationBackOff).
CLIENT_BACKOFF = (0, 60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400)


@dataclass(slots=True)
class ClientBackoff:
    """Per-client backoff: each failure escalates one step, a success resets it."""

    steps: Sequence[float] = CLIENT_BACKOFF
    failures: int = 0
    until: datetime | None = None
    last_error: str | None = None

    def failed(self, now: datetime, error: str) -> datetime:
        """Escalate one step, unless still backing off from an earlier failure (several
        calls failing at once are one outage, not several)."""
        self.last_error = error
        if self.until is not None and now < self.until:
            return self.until
        step = self.steps[min(self.failures, len(self.steps) - 1)] if self.steps else 0
        self.failures += 1
        self.until = now + timedelta(seconds=step)
        return self.until

    def succeeded(self) -> bool:
        """Reset; True if the client was backing off (it is back)."""
        was_down = self.failures > 0
        self.failures, self.until, self.last_error = 0, None, None
        return was_down

    def ready(self, now: datetime) -> bool:
        return self.until is None or now >= self.until

    @property
    def available(self) -> bool:
        return self.failures == 0


@dataclass(frozen=True, slots=True)
class StallPolicy:
    """A download is stalled when no byte arrived for `stall` (or a magnet's metadata
    did not arrive within `metadata`); a shorter stall is nothing."""

    stall: timedelta = timedelta(minutes=30)
    metadata: timedelta = timedelta(minutes=15)

    def limit(self, state: ClientState) -> timedelta | None:
        """How long a download in `state` may go without progress; None if never
        stalled in that state (paused, queued, checking, complete...)."""
        if state is ClientState.METADATA:
            return self.metadata
        if state in STALL_STATES or state is ClientState.DOWNLOADING:
            return self.stall
        return None

    def stalled(self, state: ClientState, progress_at: datetime | None,
                now: datetime, times: int = 1) -> str | None:
        """Why the download counts as stalled (for `times` its limit), or None."""
        limit = self.limit(state)
        if progress_at is None or limit is None:
            return None
        idle = now - progress_at
        if idle < limit * times:
            return None
        if state is ClientState.METADATA:
            return (f"metadata has not arrived after {_minutes(idle)} "
                    f"(limit {_minutes(limit)})")
        return f"no data for {_minutes(idle)} (limit {_minutes(limit)})"


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:g} min"
