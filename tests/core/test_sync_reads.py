"""The sync's cheap path (core.syncing): it reads in full only the tracked items written
since its last read, skips downloads whose status has not moved, and writes a pass's
progress in one update; what it writes and when is the same as one item at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from core.clients import ClientState
from core.domain import HistoryEvent, ItemState, QueueItem
from core.policy import StallPolicy
from core.ports import DownloadStatus
from core.processor import Processor, ProcessorConfig
from infrastructure.memory import MemoryQueueRepository
from tests.core.test_processor import World
from tests.fakes import FakeDownloadClient

S = ItemState


class CountingRepository(MemoryQueueRepository):
    """Records the ids read in full by get_many and the batches given to update."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.read: list[int] = []
        self.batches: list[list[int]] = []

    async def get_many(self, ids: Sequence[int]) -> list[QueueItem]:
        self.read.extend(ids)
        return await super().get_many(ids)

    async def update(self, changes: Sequence[tuple[QueueItem, QueueItem]],
                     event: HistoryEvent) -> list[QueueItem]:
        self.batches.append([old.id for old, _ in changes])
        return await super().update(changes, event)


def counting_world(**config: object) -> tuple[World, CountingRepository]:
    world = World(**config)
    items = CountingRepository(world.clock)
    world.items = items
    world.processor = Processor(items, world.processor.clients, world.clock, "test-worker",
                                ProcessorConfig(**config))  # type: ignore[arg-type]
    return world, items


async def downloading(world: World, n: int) -> list[QueueItem]:
    items = [await world.grab(k) for k in range(n)]
    await world.processor.dispatch()
    return items


async def test_quiet_downloads_are_not_read_again_in_full() -> None:
    world, store = counting_world(max_active=5)
    items = await downloading(world, 3)
    store.read.clear()
    await world.processor.sync()  # writes the client's view, kept as written
    await world.processor.sync()
    assert store.read == [i.id for i in items]
    store.read.clear()
    assert await world.processor.sync() == 0
    assert await world.processor.sync() == 0
    assert store.read == []
    assert world.processor.tracked_count == 3
    assert {i.id for i in items} == set(await store.tracked_versions())


async def test_a_pass_s_own_progress_writes_are_not_read_back_yet_fence_the_next() -> None:
    world, store = counting_world(max_active=5)
    a, _ = await downloading(world, 2)
    await world.processor.sync()
    store.read.clear()
    world.client.advance(a.info_hash or "", 100)
    assert await world.processor.sync() == 1
    world.client.advance(a.info_hash or "", 200)
    store.batches.clear()
    # Written from the item as the last pass wrote it (its version included): one
    # update, not refused, and nothing read in full.
    assert await world.processor.sync() == 1
    assert store.batches == [[a.id]]
    assert store.read == []
    assert (await world.get(a)).progress == 20.0


async def test_an_item_written_by_someone_else_is_followed_from_its_new_version() -> None:
    world, store = counting_world(max_active=5)
    a, b = await downloading(world, 2)
    await world.processor.sync()
    await world.processor.sync()
    store.read.clear()
    current = await world.get(b)
    (paused,) = await store.update([(current, current.evolve(state=S.PAUSED))],
                                   HistoryEvent("paused"))
    await world.processor.sync()
    assert store.read == [b.id]
    # The client still runs it: the pause holds, so the sync pauses it there again.
    assert ("pause", (b.info_hash,)) in world.client.calls
    assert (await world.get(b)).version == paused.version
    assert (await world.get(a)).state is S.DOWNLOADING


async def test_a_quiet_download_still_stalls_when_its_time_comes() -> None:
    world, _ = counting_world(stall=StallPolicy(stall=timedelta(minutes=30),
                                                metadata=timedelta(minutes=15)))
    (item,) = await downloading(world, 1)
    world.client.advance(item.info_hash or "", 100)
    await world.processor.sync()
    await world.processor.sync()  # quiet now: nothing moved
    world.later(minutes=31)
    assert await world.processor.sync() == 1
    warned = await world.get(item)
    assert warned.state is S.WARNING and (warned.error_message or "").startswith("Stalled")


async def test_a_status_that_moved_is_followed_even_for_a_quiet_item() -> None:
    world, _ = counting_world()
    (item,) = await downloading(world, 1)
    await world.processor.sync()
    await world.processor.sync()
    key = item.info_hash or ""
    world.client.downloads[key] = replace(world.client.downloads[key], download_speed=77)
    assert await world.processor.sync() == 1
    assert (await world.get(item)).download_speed == 77


async def test_a_pass_writes_its_progress_in_one_update_in_order_with_its_moves() -> None:
    world, store = counting_world(max_active=5)
    items = await downloading(world, 4)
    await world.processor.sync()
    store.batches.clear()
    for k in (0, 1, 3):
        world.client.advance(items[k].info_hash or "", 100)
    world.client.advance(items[2].info_hash or "", 1000)  # completes between them
    assert await world.processor.sync() == 4
    assert store.batches == [[items[0].id, items[1].id], [items[2].id], [items[3].id]]
    assert [(await world.get(i)).progress for i in items] == [10.0, 10.0, 100.0, 10.0]
    assert (await world.get(items[2])).state is S.COMPLETED


class MeddlingClient(FakeDownloadClient):
    """Another writer changes one item while the client answers the sync."""

    store: MemoryQueueRepository | None = None
    meddle: int | None = None

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        if self.store is not None and self.meddle is not None:
            current = await self.store.get(self.meddle)
            assert current is not None
            await self.store.update([(current, current.evolve(priority=current.priority))],
                                    HistoryEvent("edited"))
            self.meddle = None
        return await super().statuses(download_ids)


async def test_one_item_changed_meanwhile_leaves_the_rest_of_the_pass_written() -> None:
    world, store = counting_world(max_active=5)
    client = MeddlingClient("aria2")
    client.store = store
    world.client = client
    world.processor = Processor(store, type(world.processor.clients)(client), world.clock,
                                "test-worker", ProcessorConfig(max_active=5))
    items = await downloading(world, 3)
    await world.processor.sync()
    for item in items:
        world.client.advance(item.info_hash or "", 200)
    client.meddle = items[1].id
    assert await world.processor.sync() == 2
    progress = [(await world.get(i)).progress for i in items]
    assert progress == [20.0, 0.0, 20.0]  # the other writer's version stands
    assert await world.processor.sync() == 1  # and is followed on the next pass
    assert (await world.get(items[1])).progress == 20.0
    assert [h.event for h in await store.history(items[1].id)][-1] == "edited"
    assert (await world.get(items[1])).state is S.DOWNLOADING
    assert ClientState.DOWNLOADING is world.client.downloads[
        items[1].info_hash or ""].state
