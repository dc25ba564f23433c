"""A pause holds until a resume, with the real aria2c: a magnet paused while it fetches
its metadata, and one paused after aria2 started its real download under a new GID
(`followedBy`). The QueueService and the Processor run over the in-memory store, the
clock is fixed (nothing stalls), and the syncs are called by the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from core.clients import ClientDescriptor, ClientKind, ClientState
from core.domain import ItemState, QueueItem
from core.grab import GrabRequest
from core.processor import Processor, ProcessorConfig
from core.service import QueueService
from infrastructure.clients.aria2 import Aria2Client, item_gid
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from infrastructure.torrents import TorfParser
from tests.clients.harness import aria2_client, aria2_downloads, unseeded_torrent
from tests.clients.test_transfers import limit_aria2
from tests.daemons import Aria2Daemon, Payload
from tests.fakes import FakeClock

S = ItemState


class OneClient:
    def __init__(self, client: Aria2Client) -> None:
        self.client = client

    def get(self, name: str) -> Aria2Client | None:
        return self.client if name == "aria2" else None

    def descriptors(self) -> list[ClientDescriptor]:
        return [ClientDescriptor("aria2", ClientKind.ARIA2)]


@dataclass
class World:
    aria2: Aria2Daemon
    client: Aria2Client
    items: MemoryQueueRepository
    queue: QueueService
    processor: Processor

    async def grab(self, magnet: str) -> QueueItem:
        item = await self.queue.grab(GrabRequest(download_url=magnet))
        assert await self.processor.dispatch() == [item.id]
        return await self.get(item)

    async def get(self, item: QueueItem) -> QueueItem:
        found = await self.items.get(item.id)
        assert found is not None
        return found

    async def events(self, item: QueueItem) -> list[str]:
        return [h.event for h in await self.items.history(item.id)]

    def status_of(self, gid: str) -> str:
        return str(self.aria2.rpc("aria2.tellStatus", gid, ["status"])["status"])


@pytest.fixture
async def world(aria2: Aria2Daemon) -> AsyncIterator[World]:
    clock = FakeClock(datetime.now(UTC))
    items = MemoryQueueRepository(clock)
    client = aria2_client(aria2)
    clients = OneClient(client)
    queue = QueueService(items, MemoryBlocklistRepository(), clock, TorfParser(), clients)
    processor = Processor(items, clients, clock, "test", ProcessorConfig(max_active=1),
                          MemoryBlocklistRepository())
    try:
        yield World(aria2, client, items, queue, processor)
    finally:
        client.close()


async def wait_for(what: str, check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        await asyncio.sleep(0.1)


async def test_a_magnet_paused_while_its_metadata_is_fetched_stays_paused(
        world: World, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Its metadata never arrives (nobody seeds it): before, aria2's paused metadata
    download read as `metadata`, and the next sync resumed the item in the same second."""
    release = unseeded_torrent(tmp_path_factory.mktemp("unseeded"), as_magnet=True)
    assert release.item.download_url is not None
    item = await world.grab(release.item.download_url)
    await world.processor.sync()
    assert (await world.get(item)).state is S.DOWNLOADING

    await world.queue.pause(item.id)

    gid = item.download_id or ""
    assert world.status_of(gid) == "paused"
    status = (await world.client.statuses([gid]))[gid]
    assert status.state is ClientState.PAUSED
    for _ in range(3):
        await world.processor.sync()
        await asyncio.sleep(0.2)
    assert (await world.get(item)).state is S.PAUSED
    assert world.status_of(gid) == "paused"
    assert (await world.events(item))[-1] == "paused"


async def test_a_magnet_paused_after_its_real_download_started_stays_paused(
        world: World, payload: Payload) -> None:
    """The item still tracks the metadata GID (no sync since aria2 followed it with the
    real download): pausing it pauses the real download, and the sync keeps it paused
    and follows the new GID; a resume runs that download again."""
    limit_aria2(world.aria2)
    item = await world.grab(payload.magnet)
    metadata = item_gid(item)
    assert item.download_id == metadata

    def follower() -> str | None:
        return next((str(d["gid"]) for d in aria2_downloads(world.aria2)
                     if d.get("following") == metadata), None)

    await wait_for("real download", follower)
    real = follower() or ""

    await world.queue.pause(item.id)

    assert world.status_of(real) == "paused"
    for _ in range(3):
        await world.processor.sync()
        await asyncio.sleep(0.2)
    paused = await world.get(item)
    assert paused.state is S.PAUSED and paused.download_id == real
    assert world.status_of(real) == "paused"
    assert "resumed" not in await world.events(item)

    await world.queue.resume(item.id)
    assert await world.processor.dispatch() == [item.id]
    assert (await world.get(item)).state is S.DOWNLOADING
    assert world.status_of(real) in ("active", "complete")
