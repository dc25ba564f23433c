"""The item state machine: which transitions are legal, and applying one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.domain import ItemState, QueueItem
from core.errors import IllegalTransition

S = ItemState

TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    S.QUEUED: frozenset({S.SENDING, S.PAUSED, S.CLIENT_UNAVAILABLE, S.FAILED}),
    S.SENDING: frozenset({S.QUEUED, S.DOWNLOADING, S.RETRYING, S.CLIENT_UNAVAILABLE, S.FAILED}),
    S.DOWNLOADING: frozenset(
        {S.PAUSED, S.WARNING, S.COMPLETED, S.RETRYING, S.CLIENT_UNAVAILABLE, S.FAILED}
    ),
    S.PAUSED: frozenset({S.QUEUED, S.DOWNLOADING, S.FAILED}),
    S.RETRYING: frozenset({S.QUEUED, S.SENDING, S.PAUSED, S.FAILED}),
    S.CLIENT_UNAVAILABLE: frozenset({S.QUEUED, S.SENDING, S.DOWNLOADING, S.PAUSED, S.FAILED}),
    S.WARNING: frozenset({S.DOWNLOADING, S.PAUSED, S.COMPLETED, S.RETRYING,
                          S.CLIENT_UNAVAILABLE, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset({S.QUEUED}),
}

# States a user may pause from, and the waiting states a force-grab applies to.
PAUSABLE = frozenset({S.QUEUED, S.RETRYING, S.CLIENT_UNAVAILABLE, S.DOWNLOADING, S.WARNING})
GRABBABLE = frozenset({S.QUEUED, S.RETRYING, S.CLIENT_UNAVAILABLE})
RETRYABLE = frozenset({S.FAILED, S.RETRYING})


def is_pending(item: QueueItem) -> bool:
    """Waiting for the dispatcher, what a force-grab applies to; a download whose
    client is away is not (the client has it, and the sync follows it)."""
    return item.state in GRABBABLE and (
        item.download_id is None or item.state is S.QUEUED)


def can_transition(source: ItemState, target: ItemState) -> bool:
    return target in TRANSITIONS[source]


def transition(item: QueueItem, target: ItemState, now: datetime, **changes: Any) -> QueueItem:
    """Move an item to `target`, or raise IllegalTransition; stamps the times it implies."""
    if not can_transition(item.state, target):
        raise IllegalTransition(
            f"Item {item.id} is {item.state.value}; it cannot become {target.value}"
        )
    stamps: dict[str, Any] = {"state": target, "updated_at": now}
    if target is S.DOWNLOADING and item.started_at is None:
        stamps["started_at"] = now
    if target is S.COMPLETED:
        stamps["completed_at"] = now
    stamps.update(changes)
    return item.evolve(**stamps)
