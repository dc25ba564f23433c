"""The client's view of a download (Radarr's status and message) and an item's tags, on
memory, SQLite and Postgres: stored and read back, and the `status` Radarr shows sorts
and filters the same way on every store."""

from __future__ import annotations

from datetime import timedelta

import orjson

from core.domain import HistoryEvent, ItemState, QueueItem
from core.listing import PageRequest, QueueFilter, RadarrStatus, shown_status
from infrastructure.db.mapping import item_from_wire, item_to_wire
from tests.conftest import Store
from tests.contracts.test_queue_repository import GRABBED, advance, new_item

S = ItemState


async def downloading(store: Store, n: int, client_status: str | None,
                      message: str | None = None, progress: float = 0.0) -> QueueItem:
    item = await store.items.add(new_item(n), GRABBED)
    return await advance(store, item, S.SENDING, S.DOWNLOADING, download_id=f"{n:040x}",
                         client_status=client_status, client_message=message,
                         progress=progress)


async def test_the_client_view_and_tags_read_back_as_written(store: Store) -> None:
    added = await store.items.add(new_item(1, tags=(3, 1)), GRABBED)
    assert added.tags == (3, 1)
    assert (await store.items.get(added.id)).tags == (3, 1)  # type: ignore[union-attr]
    item = await downloading(store, 2, "queued", "qBittorrent is downloading metadata")
    got = await store.items.get(item.id)
    assert got is not None
    assert (got.client_status, got.client_message) == (
        "queued", "qBittorrent is downloading metadata")
    assert got.tags == ()
    assert item_from_wire(orjson.loads(orjson.dumps(item_to_wire(got)))) == got  # the relay's
    (changed,) = await store.items.update(
        [(got, got.evolve(client_status="warning", client_message=None, tags=(7,),
                          updated_at=got.updated_at + timedelta(seconds=1)))],
        HistoryEvent("progress", recorded=False))
    again = await store.items.get(item.id)
    assert again == changed
    assert (again.client_status, again.client_message, again.tags) == (  # type: ignore[union-attr]
        "warning", None, (7,))


async def test_status_sorts_and_filters_by_what_is_shown(store: Store) -> None:
    """Radarr orders status by its enum name (Downloading < Queued < Warning), and the
    client's view decides what a downloading item shows."""
    metadata = await downloading(store, 1, "queued", "qBittorrent is downloading metadata")
    running = await downloading(store, 2, "downloading", progress=10.0)
    stalled = await downloading(store, 3, "warning",
                                "The download is stalled with no connections")
    silent = await downloading(store, 4, None, progress=5.0)  # the client said nothing
    waiting = await store.items.add(new_item(5), GRABBED)
    flt = QueueFilter(include_unknown=True)
    total, ordered = await store.items.page(PageRequest("status", False, 0, 50, flt))
    assert total == 5
    assert [i.id for i in ordered] == [running.id, silent.id, metadata.id, waiting.id,
                                       stalled.id]
    assert [shown_status(i) for i in ordered] == ["downloading", "downloading", "queued",
                                                  "queued", "warning"]

    async def listed(*statuses: RadarrStatus) -> tuple[int, set[int]]:
        f = QueueFilter(include_unknown=True, statuses=QueueFilter.for_statuses(statuses))
        total, items = await store.items.page(PageRequest("status", True, 0, 50, f))
        assert await store.items.count(f) == total
        assert (await store.items.page_ids(PageRequest("status", True, 0, 50, f)))[0] == total
        return total, {i.id for i in items}

    assert await listed(RadarrStatus.QUEUED) == (2, {metadata.id, waiting.id})
    assert await listed(RadarrStatus.DOWNLOADING) == (2, {running.id, silent.id})
    assert await listed(RadarrStatus.WARNING) == (1, {stalled.id})
    assert await listed(RadarrStatus.WARNING, RadarrStatus.QUEUED) == (
        3, {stalled.id, metadata.id, waiting.id})
    assert await listed(RadarrStatus.DELAY) == (0, set())  # from the counters
    # Completed: the view no longer counts, the state does.
    (done,) = await store.items.update([(running, running.evolve(
        state=S.COMPLETED, updated_at=running.updated_at + timedelta(seconds=1)))],
        HistoryEvent("test"))
    assert await listed(RadarrStatus.DOWNLOADING) == (1, {silent.id})
    assert await listed(RadarrStatus.COMPLETED) == (1, {done.id})
