"""Retention (QUEUARR_RETENTION_DAYS): completed and failed items, history rows and stored
release candidates older than the limit are forgotten, at most once an hour. The
processor's housekeeping calls run(); zero days keeps everything."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from core.ports import CandidateRepository, Clock, QueueRepository

log = logging.getLogger("queuarr")
EVERY = timedelta(hours=1)


class Retention:
    def __init__(self, items: QueueRepository, clock: Clock, days: float,
                 candidates: CandidateRepository | None = None) -> None:
        self.items = items
        self.clock = clock
        self.days = days
        self.candidates = candidates
        self._ran_at: datetime | None = None

    async def run(self) -> None:
        """Forget what is past the limit, unless a pass ran less than an hour ago."""
        now = self.clock.now()
        if not self.days or (self._ran_at is not None and now - self._ran_at < EVERY):
            return
        self._ran_at = now
        before = now - timedelta(days=self.days)
        items = await self.items.delete_finished(before)
        rows = await self.items.delete_history(before)
        if self.candidates is not None:
            rows += await self.candidates.delete_before(before)
        if items or rows:
            log.info("Retention: removed %d finished item(s) and %d history/candidate "
                     "row(s) older than %s days", items, rows, self.days)
