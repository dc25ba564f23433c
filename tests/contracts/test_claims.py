"""The QueueRepository's processor side, on memory, SQLite and Postgres: claims take due
items by priority then age, lease them, never hand one item to two claimers, and write
history; the sync's tracked set and the lease sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.domain import HistoryEvent, ItemState, Priority
from core.leases import leased
from core.states import transition
from tests.conftest import Store
from tests.contracts.test_queue_repository import advance, new_item
from tests.fakes import EPOCH

S = ItemState
GRABBED = HistoryEvent("grabbed")
LEASE = timedelta(minutes=5)
NOW = EPOCH + timedelta(hours=1)


async def test_claim_takes_due_items_by_priority_then_age_and_leases_them(store: Store) -> None:
    items = [await store.items.add(new_item(n, priority=p), GRABBED) for n, p in
             enumerate([Priority.NORMAL, Priority.HIGH, Priority.NORMAL, Priority.LOW,
                        Priority.VERY_HIGH])]
    first = await store.items.claim("worker-a", 3, NOW, LEASE)
    assert [i.id for i in first] == [items[4].id, items[1].id, items[0].id]
    by_id = {i.id: i for i in items}
    for claimed in first:
        # Exactly what core.leases.leased makes of the item, on every backend.
        original = by_id[claimed.id]
        assert claimed == leased(original, "worker-a", NOW, LEASE).evolve(
            version=original.version + 1)
        assert claimed.state is S.SENDING
        assert claimed.lease_owner == "worker-a" and claimed.lease_expires_at == NOW + LEASE
        stored = await store.items.get(claimed.id)
        assert stored == claimed  # what the claim returned is what is stored (version too)
        history = await store.items.history(claimed.id)
        assert [(h.event, h.from_state, h.to_state) for h in history][-1] == (
            "claimed", S.QUEUED, S.SENDING)
    rest = await store.items.claim("worker-b", 10, NOW, LEASE)
    assert [i.id for i in rest] == [items[2].id, items[3].id]
    assert await store.items.claim("worker-c", 10, NOW, LEASE) == []
    assert await store.items.claim("worker-c", 0, NOW, LEASE) == []
    counts = await store.items.counts()
    assert counts.total(states=frozenset({S.SENDING})) == 5
    assert counts.total(states=frozenset({S.QUEUED})) == 0


async def test_waiting_items_are_due_only_once_their_time_has_come(store: Store) -> None:
    retrying = await store.items.add(new_item(1), GRABBED)
    retrying = await advance(store, retrying, S.SENDING, S.RETRYING,
                             next_attempt_at=NOW + timedelta(minutes=2))
    unavailable = await store.items.add(new_item(2), GRABBED)
    unavailable = await advance(store, unavailable, S.SENDING, S.CLIENT_UNAVAILABLE,
                                next_attempt_at=NOW - timedelta(seconds=1))
    tracked = await store.items.add(new_item(3), GRABBED)
    tracked = await advance(store, tracked, S.SENDING, S.DOWNLOADING, download_id="abc",
                            download_client="qbit")
    tracked = await advance(store, tracked, S.CLIENT_UNAVAILABLE)  # a client down mid-sync
    paused = await advance(store, await store.items.add(new_item(4), GRABBED), S.PAUSED)

    assert [i.id for i in await store.items.claim("w", 10, NOW, LEASE)] == [unavailable.id]
    later = NOW + timedelta(minutes=2)
    assert [i.id for i in await store.items.claim("w", 10, later, LEASE)] == [retrying.id]
    assert {i.id for i in await store.items.tracked()} == {tracked.id}
    assert await store.items.tracked_versions() == {tracked.id: tracked.version}
    assert (await store.items.get(paused.id)).state is S.PAUSED  # type: ignore[union-attr]


async def test_concurrent_claimers_never_share_an_item(store: Store) -> None:
    for n in range(60):
        await store.items.add(new_item(n), GRABBED)
    batches = await asyncio.gather(*(store.items.claim(f"w{k}", 7, NOW, LEASE)
                                     for k in range(12)))
    ids = [i.id for batch in batches for i in batch]
    assert len(ids) == len(set(ids)) == 60
    for k, batch in enumerate(batches):
        assert all(i.lease_owner == f"w{k}" for i in batch)


async def test_a_stale_worker_cannot_overwrite_a_newer_claim(store: Store) -> None:
    item = await store.items.add(new_item(1), GRABBED)
    (first,) = await store.items.claim("old", 1, NOW, LEASE)
    # The lease expires, the item is rescued and claimed again by a new worker.
    (rescued,) = await store.items.update(
        [(first, transition(first, S.QUEUED, NOW + LEASE, lease_owner=None,
                            lease_expires_at=None, rescues=1))], HistoryEvent("rescued"))
    (second,) = await store.items.claim("new", 1, NOW + LEASE, LEASE)
    assert second.id == item.id and second.version > rescued.version
    from core.errors import ConcurrentModification
    try:
        await store.items.update([(first, transition(first, S.DOWNLOADING, NOW,
                                                     download_id="x"))], HistoryEvent("sent"))
    except ConcurrentModification:
        pass
    else:
        raise AssertionError("the stale worker's write went through")
    assert (await store.items.get(item.id)) == second


async def test_expired_leases_are_found(store: Store) -> None:
    for n in range(3):
        await store.items.add(new_item(n), GRABBED)
    claimed = await store.items.claim("w", 2, NOW, LEASE)
    assert await store.items.expired_leases(NOW + LEASE) == []
    expired = await store.items.expired_leases(NOW + LEASE + timedelta(seconds=1))
    assert [i.id for i in expired] == [i.id for i in claimed]


async def test_the_next_attempt_is_the_earliest_waiting_item_not_due_yet(store: Store) -> None:
    """What the dispatcher sleeps until when items wait but none is due (issue 18)."""
    assert await store.items.next_attempt_after(NOW) is None
    await advance(store, await store.items.add(new_item(1), GRABBED), S.SENDING, S.RETRYING,
                  next_attempt_at=NOW + timedelta(minutes=3))
    await advance(store, await store.items.add(new_item(2), GRABBED), S.SENDING,
                  S.CLIENT_UNAVAILABLE, next_attempt_at=NOW + timedelta(minutes=2))
    await advance(store, await store.items.add(new_item(3), GRABBED), S.SENDING, S.RETRYING,
                  next_attempt_at=NOW - timedelta(seconds=1))  # due already
    held = await advance(store, await store.items.add(new_item(4), GRABBED), S.SENDING,
                         S.DOWNLOADING, download_id="abc", download_client="qbit")
    await advance(store, held, S.CLIENT_UNAVAILABLE,  # its client has it: never claimed
                  next_attempt_at=NOW + timedelta(minutes=1))
    await store.items.add(new_item(5), GRABBED)  # queued: due now
    assert await store.items.next_attempt_after(NOW) == NOW + timedelta(minutes=2)
    assert await store.items.next_attempt_after(NOW + timedelta(minutes=2)) == \
        NOW + timedelta(minutes=3)
    assert await store.items.next_attempt_after(NOW + timedelta(minutes=3)) is None
