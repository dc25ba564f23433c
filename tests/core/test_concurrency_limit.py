"""QUEUARR_MAX_CONCURRENT and QUEUARR_MAX_PER_CLIENT hold whatever users and clients do:
pause and resume, clients that run a paused download anyway, clients that go away.
Fakes and a fixed clock (the real aria2c's side is tests/clients/test_pause_holds.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.clients import ClientState
from core.domain import ItemState
from core.errors import NotFound
from core.service import QueueService
from core.slots import holds_slot
from infrastructure.memory import MemoryBlocklistRepository
from infrastructure.torrents import TorfParser
from tests.core.test_processor_limits import World as LimitsWorld
from tests.fakes import FakeClients, FakeDownloadClient

S = ItemState


class World(LimitsWorld):
    """The processor's world with the QueueService callers use, over the same store."""

    def __init__(self, *clients: FakeDownloadClient, **config: int | None) -> None:
        super().__init__(*clients, **config)
        self.queue = QueueService(self.items, MemoryBlocklistRepository(), self.clock,
                                  TorfParser(), FakeClients(*self.clients))

    async def active(self) -> int:
        everything = await self.items.get_many(list(range(1, 100)))
        return sum(holds_slot(i) for i in everything)

    def client_calls(self, method: str) -> list[tuple[object, ...]]:
        return [args for c in self.clients for name, args in c.calls if name == method]


async def test_a_resumed_item_waits_queued_for_a_slot_with_its_download_kept() -> None:
    """QUEUARR_MAX_CONCURRENT=1: pause the download, let the next one start, resume the
    first: it waits (queued, its download paused in the client) until the other is done,
    and is then resumed there, not sent again."""
    world = World(max_active=1)
    (client,) = world.clients
    first, second = await world.grab(1), await world.grab(2)
    assert await world.processor.dispatch() == [first.id]
    await world.queue.pause(first.id)
    assert await world.processor.dispatch() == [second.id]

    resumed = await world.queue.resume(first.id)

    assert resumed.state is S.QUEUED
    assert (resumed.download_client, resumed.download_id) == ("aria2", first.info_hash)
    assert client.downloads[first.info_hash or ""].state is ClientState.PAUSED
    assert await world.processor.dispatch() == []
    await world.processor.sync()
    assert await world.active() == 1
    assert client.downloads[first.info_hash or ""].state is ClientState.PAUSED

    client.advance(second.info_hash or "", 1000)
    await world.processor.sync()
    assert await world.processor.dispatch() == [first.id]
    again = await world.get(first)
    assert again.state is S.DOWNLOADING and again.download_id == first.info_hash
    assert client.downloads[first.info_hash or ""].state is ClientState.DOWNLOADING
    assert client.added == [first.info_hash, second.info_hash]  # resumed, not re-added
    assert [h.event for h in await world.items.history(first.id)][-3:] == [
        "resumed", "claimed", "sent"]


async def test_a_paused_item_stays_paused_when_its_client_runs_the_download_anyway() -> None:
    world = World(max_active=1)
    (client,) = world.clients
    first, second = await world.grab(1), await world.grab(2)
    await world.processor.dispatch()
    await world.queue.pause(first.id)
    await world.processor.dispatch()
    client._set(first.info_hash or "", ClientState.DOWNLOADING)  # resumed in its own UI

    await world.processor.sync()

    assert await world.state(first) is S.PAUSED
    assert client.downloads[first.info_hash or ""].state is ClientState.PAUSED
    assert await world.state(second) is S.DOWNLOADING
    assert "resumed" not in [h.event for h in await world.items.history(first.id)]


async def test_a_pause_holds_when_the_client_moves_the_download_to_a_new_id() -> None:
    """aria2 follows a magnet's metadata with the real download under a new GID: a
    paused item is paused there too, and tracks the new id."""
    world = World(max_active=1)
    (client,) = world.clients
    item = await world.grab(1)
    await world.processor.dispatch()
    await world.queue.pause(item.id)
    old = item.info_hash or ""
    client.downloads[old] = replace(client.downloads[old], download_id="follower",
                                    state=ClientState.DOWNLOADING)
    client.downloads["follower"] = client.downloads[old]

    await world.processor.sync()

    paused = await world.get(item)
    assert paused.state is S.PAUSED and paused.download_id == "follower"
    assert ("follower",) in world.client_calls("pause")
    assert client.downloads["follower"].state is ClientState.PAUSED


async def test_a_paused_item_whose_client_reports_a_fault_stays_paused_and_shows_it() -> None:
    world = World(max_active=1)
    (client,) = world.clients
    item, other = await world.grab(1), await world.grab(2)
    await world.processor.dispatch()
    await world.queue.pause(item.id)
    await world.processor.dispatch()
    client._set(item.info_hash or "", ClientState.MISSING_FILES)

    await world.processor.sync()

    paused = await world.get(item)
    assert paused.state is S.PAUSED and paused.error_message
    assert await world.active() == 1 and await world.state(other) is S.DOWNLOADING


async def test_a_download_whose_client_is_away_keeps_its_slot() -> None:
    """The client goes down under a download and comes back: nothing is sent into the
    slot meanwhile, so the download running again does not make two."""
    world = World(max_active=1)
    (client,) = world.clients
    first, second = await world.grab(1), await world.grab(2)
    await world.processor.dispatch()
    client.down = True
    await world.processor.sync()
    assert await world.state(first) is S.CLIENT_UNAVAILABLE
    client.down = False
    world.later(minutes=10)  # past the client's backoff

    assert await world.processor.dispatch() == []
    await world.processor.sync()

    assert await world.state(first) is S.DOWNLOADING
    assert await world.state(second) is S.QUEUED
    assert await world.active() == 1


async def test_an_item_resumed_while_its_client_is_away_runs_when_the_client_is_back() -> None:
    world = World(max_active=1)
    (client,) = world.clients
    item = await world.grab(1)
    await world.processor.dispatch()
    await world.queue.pause(item.id)
    await world.queue.resume(item.id)
    client.down = True

    await world.processor.dispatch()
    assert await world.state(item) is S.CLIENT_UNAVAILABLE  # its slot is kept
    client.down = False
    world.later(minutes=10)
    await world.processor.sync()

    assert await world.state(item) is S.DOWNLOADING
    assert client.downloads[item.info_hash or ""].state is ClientState.DOWNLOADING


async def test_the_per_client_limit_holds_for_resumed_items() -> None:
    one, two = FakeDownloadClient("one"), FakeDownloadClient("two")
    world = World(one, two, max_active=10, per_client=1)
    first = await world.grab(1, download_client="one")
    await world.processor.dispatch()
    await world.queue.pause(first.id)
    pinned = await world.grab(2, download_client="one")
    await world.processor.dispatch()
    assert await world.state(pinned) is S.DOWNLOADING
    await world.queue.resume(first.id)

    await world.processor.sync()
    await world.processor.dispatch()

    waiting = await world.get(first)
    assert waiting.state is S.QUEUED and waiting.download_id == first.info_hash
    assert "free slot in 'one'" in waiting.status_messages[0].messages[0]
    assert one.downloads[first.info_hash or ""].state is ClientState.PAUSED


async def test_a_retried_item_is_sent_again_not_resumed() -> None:
    world = World(max_active=1)
    (client,) = world.clients
    item = await world.grab(1)
    await world.processor.dispatch()
    client.downloads[item.info_hash or ""] = replace(
        client.downloads[item.info_hash or ""], state=ClientState.FAILED, permanent=True,
        error="resource not found")
    await world.processor.sync()
    assert await world.state(item) is S.FAILED

    (retried,) = await world.items.get_many(await world.queue.retry([item.id]))

    assert retried.state is S.QUEUED and retried.download_id is None
    await world.processor.dispatch()
    assert world.client_calls("resume") == []
    assert [args for name, args in client.calls if name == "add"] == [(item.id,), (item.id,)]


async def test_a_download_whose_client_is_away_cannot_be_force_grabbed() -> None:
    """It is not pending (the client has it, and it keeps its slot): force-grabbing it
    answers NotFound, as for any item that is not pending, and changes nothing."""
    world = World(max_active=1)
    (client,) = world.clients
    item = await world.grab(1)
    await world.processor.dispatch()
    client.down = True
    await world.processor.sync()
    away = await world.get(item)
    assert away.state is S.CLIENT_UNAVAILABLE

    with pytest.raises(NotFound):
        await world.queue.force_grab(item.id)
    assert await world.get(item) == away
