"""Clocks: the system's, and the database's (for leases several hosts must agree on)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)

CALIBRATE_EVERY = 300.0  # seconds between readings of the database's time


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TimeSource(Protocol):
    async def server_time(self) -> datetime: ...


class DatabaseClock:
    """The database server's time, read now and then and carried forward by the local
    monotonic clock: every process on every host stamps and compares leases on one
    clock (the issue's "expiry from the database clock") without a query per reading.
    Until the first reading it is the system clock."""

    def __init__(self, source: TimeSource) -> None:
        self.source = source
        self._offset = timedelta(0)
        self._calibrated_at: float | None = None

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    async def calibrate(self, force: bool = False) -> None:
        """Read the server's time (at most every CALIBRATE_EVERY seconds)."""
        at = time.monotonic()
        if not force and self._calibrated_at is not None and \
                at - self._calibrated_at < CALIBRATE_EVERY:
            return
        before = datetime.now(UTC)
        server = await self.source.server_time()
        after = datetime.now(UTC)
        offset = server - (before + (after - before) / 2)
        if abs(offset - self._offset) > timedelta(seconds=1):
            log.info("Database clock is %+.3f s from this host's", offset.total_seconds())
        self._offset = offset
        self._calibrated_at = at
