"""Which items the dispatcher may claim, what a claim does to one, and which items the
sync follows: shared by every QueueRepository so that they agree."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.domain import HistoryEvent, ItemState, QueueItem
from core.states import transition

S = ItemState
CLAIMED = HistoryEvent("claimed")
WAITING = frozenset({S.RETRYING, S.CLIENT_UNAVAILABLE})
TRACKED = frozenset({S.DOWNLOADING, S.PAUSED, S.WARNING, S.CLIENT_UNAVAILABLE})


def is_due(item: QueueItem, now: datetime) -> bool:
    if item.state is S.QUEUED:
        return True
    return item.state in WAITING and item.download_id is None and (
        item.next_attempt_at is None or item.next_attempt_at <= now)


def due_later(item: QueueItem, now: datetime) -> datetime | None:
    """When a waiting item that is not due yet (is_due) becomes due; None for any other."""
    at = item.next_attempt_at
    if item.state in WAITING and item.download_id is None and at is not None and at > now:
        return at
    return None


def is_tracked(item: QueueItem) -> bool:
    return item.state in TRACKED and item.download_id is not None


def leased(item: QueueItem, owner: str, now: datetime, lease: timedelta) -> QueueItem:
    """The item claimed: sending, held by `owner` until now + lease."""
    return transition(item, S.SENDING, now, lease_owner=owner, lease_expires_at=now + lease,
                      next_attempt_at=None)
