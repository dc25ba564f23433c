"""QueueRepository.update with many items at once (a sync pass saves its progress so), on
memory, SQLite and Postgres: the SQL stores write a batch as one statement per set of
changed columns (infrastructure/db/batch_update.py), fenced on every row's version, and
must answer exactly as the memory store does, which checks and writes one item at a
time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain import HistoryEvent, ItemState, QueueItem
from core.errors import ConcurrentModification, Duplicate
from core.states import transition
from tests.conftest import Store
from tests.contracts.test_queue_repository import GRABBED, advance, new_item
from tests.fakes import EPOCH

S = ItemState
PROGRESS = HistoryEvent("progress", recorded=False)


async def downloading(store: Store, n: int) -> list[QueueItem]:
    items = []
    for k in range(n):
        item = await store.items.add(new_item(k + 1), GRABBED)
        items.append(await advance(store, item, S.SENDING, S.DOWNLOADING,
                                   download_id=f"dl{k}", size=1000, size_left=1000))
    return items


def progressed(item: QueueItem, left: int) -> QueueItem:
    """What a sync pass saves for a download that moved on: the same columns each time."""
    now = item.updated_at + timedelta(seconds=5)
    return item.evolve(updated_at=now, progress_at=now, size_left=left,
                       progress=100 * (1 - left / item.size), download_speed=left,
                       eta_seconds=left // 10, estimated_completion_at=now + timedelta(
                           seconds=left // 10))


async def test_a_progress_batch_writes_every_item(store: Store) -> None:
    items = await downloading(store, 4)
    changes = [(i, progressed(i, 900 - 100 * n)) for n, i in enumerate(items)]
    saved = await store.items.update(changes, PROGRESS)
    assert saved == [new.evolve(version=old.version + 1) for old, new in changes]
    assert await store.items.get_many([i.id for i in items]) == saved
    for item in items:  # progress leaves no history row
        assert [h.event for h in await store.items.history(item.id)][-1] == "test"


async def test_a_progress_batch_with_one_item_changed_meanwhile_writes_nothing(
        store: Store) -> None:
    items = await downloading(store, 5)
    # Another writer (the API) pauses the middle one after the sync read it.
    (theirs,) = await store.items.update(
        [(items[2], transition(items[2], S.PAUSED, items[2].updated_at))],
        HistoryEvent("paused"))
    changes = [(i, progressed(i, 500)) for i in items]
    with pytest.raises(ConcurrentModification, match=f"Item {items[2].id} changed"):
        await store.items.update(changes, PROGRESS)
    assert await store.items.get_many([i.id for i in items]) == [
        *items[:2], theirs, *items[3:]]
    counts = await store.items.counts()
    assert counts.total(states=frozenset({S.DOWNLOADING})) == 4
    assert counts.total(states=frozenset({S.PAUSED})) == 1
    # The refusal left no transaction open: the next batch, without the paused one, is
    # written (and read back through any connection of the pool).
    rest = [i for i in items if i.id != theirs.id]
    saved = await store.items.update([(i, progressed(i, 400)) for i in rest], PROGRESS)
    for _ in range(3):
        assert await store.items.get_many([i.id for i in rest]) == saved


async def test_a_batch_of_transitions_records_history_in_its_order(store: Store) -> None:
    items = await downloading(store, 3)
    now = EPOCH + timedelta(hours=1)
    # Three different column sets: paused, completed with an output path, progress.
    changes = [(items[2], transition(items[2], S.PAUSED, now)),
               (items[0], transition(items[0], S.COMPLETED, now, output_path="/done/a",
                                     size_left=0, progress=100.0)),
               (items[1], progressed(items[1], 10).evolve(updated_at=now))]
    saved = await store.items.update(changes, HistoryEvent("batch", "why"))
    assert [s.state for s in saved] == [S.PAUSED, S.COMPLETED, S.DOWNLOADING]
    assert await store.items.get_many([i.id for i in items]) == [
        saved[1], saved[2], saved[0]]
    latest = [(await store.items.history(i.id))[-1] for i in items]
    assert [(h.event, h.message, h.from_state, h.to_state, h.at) for h in latest] == [
        ("batch", "why", S.DOWNLOADING, S.COMPLETED, now),
        ("batch", "why", S.DOWNLOADING, S.DOWNLOADING, now),
        ("batch", "why", S.DOWNLOADING, S.PAUSED, now)]
    order = [h.id for h in latest]
    assert order[2] < order[0] < order[1]  # the batch's order: items 2, 0, 1


async def test_an_update_that_duplicates_an_active_item_is_refused(store: Store) -> None:
    a = await store.items.add(new_item(1), GRABBED)
    b = await store.items.add(new_item(2), GRABBED)
    c = await store.items.add(new_item(3), GRABBED)
    now = EPOCH + timedelta(hours=1)
    with pytest.raises(Duplicate) as caught:
        await store.items.update([(c, transition(c, S.PAUSED, now)),
                                  (b, b.evolve(info_hash=a.info_hash, updated_at=now))],
                                 HistoryEvent("rekeyed"))
    assert caught.value.existing_id == a.id
    assert await store.items.get_many([a.id, b.id, c.id]) == [a, b, c]
