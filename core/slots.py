"""Which items hold one of the QUEUARR_MAX_CONCURRENT (and QUEUARR_MAX_PER_CLIENT) slots.

A slot is held by an item being sent, downloading or warned about, and by a download
whose client is unavailable (the client still has it, and runs it again when it is
back). A paused item frees its slot; resumed, it takes one again only through the
dispatcher, the one place that hands out slots: until one is free it waits queued, its
paused download kept in the client (`is_held`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from core.clients import route
from core.domain import ItemState, QueueItem, StateCounts
from core.ports import DownloadClients, QueueRepository

S = ItemState
ACTIVE_SLOTS = frozenset({S.SENDING, S.DOWNLOADING, S.WARNING})
AWAY = frozenset({S.CLIENT_UNAVAILABLE})


async def all_leased(items: QueueRepository, now: datetime) -> list[QueueItem]:
    """Every item in `sending` under a lease, expired or not."""
    return await items.expired_leases(now + timedelta(days=3650))


def holds_slot(item: QueueItem) -> bool:
    return item.state in ACTIVE_SLOTS or (
        item.state is S.CLIENT_UNAVAILABLE and item.download_id is not None)


def is_held(item: QueueItem) -> bool:
    """A queued (or claimed) item whose paused download its client keeps: the
    dispatcher resumes it there instead of sending it again."""
    return item.state in (S.QUEUED, S.SENDING) and item.download_id is not None


async def held_slots(items: QueueRepository, clients: DownloadClients,
                     counts: StateCounts, per_client: int | None, now: datetime
                     ) -> tuple[int, Counter[str]]:
    """Slots held in all, and (with a per-client limit) in each client: its downloads,
    and items being sent, counted where the dispatcher would send them. Reads only the
    counters unless a client is away or there is a per-client limit."""
    active = counts.total(states=ACTIVE_SLOTS)
    if per_client is None and not counts.total(states=AWAY):
        return active, Counter()
    tracked = await items.tracked()
    active += sum(1 for i in tracked if i.state is S.CLIENT_UNAVAILABLE)
    if per_client is None:
        return active, Counter()
    held = Counter(i.download_client for i in tracked if holds_slot(i) and i.download_client)
    everyone = clients.descriptors()
    for item in await all_leased(items, now):  # being sent
        target = route(item, [d for d in everyone if held[d.name] < per_client]) or route(
            item, everyone)
        if target is not None:
            held[target.name] += 1
    return active, held
