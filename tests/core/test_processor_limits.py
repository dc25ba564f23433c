"""The processor's limits with fakes and a fixed clock: QUEUARR_MAX_PER_CLIENT, the
free-space floor (QUEUARR_MIN_FREE_SPACE), a grab's own retry policy, and the shared
pause switch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain import ItemState, QueueItem
from core.errors import TransientClientError
from core.processor import Processor, ProcessorConfig
from core.retry import RetryPolicy
from infrastructure.memory import (
    MemoryBlocklistRepository,
    MemoryQueueRepository,
    MemorySwitchRepository,
)
from tests.core.test_processor import World as BaseWorld
from tests.fakes import EPOCH, FakeClients, FakeClock, FakeDownloadClient

S = ItemState


class World(BaseWorld):
    """test_processor's world, with several clients, the shared switches and a local
    free-space probe."""

    def __init__(self, *clients: FakeDownloadClient, local_free: int | None = None,
                 **config: object) -> None:
        self.clock = FakeClock(EPOCH)
        self.items = MemoryQueueRepository(self.clock)
        self.clients = clients or (FakeDownloadClient("aria2"),)
        self.switches = MemorySwitchRepository()
        self.local_checks = 0

        async def local() -> int | None:
            self.local_checks += 1
            return local_free

        self.processor = Processor(
            self.items, FakeClients(*self.clients), self.clock, "test-worker",
            ProcessorConfig(**config), MemoryBlocklistRepository(),  # type: ignore[arg-type]
            switches=self.switches, local_free=local)

    async def state(self, item: QueueItem) -> ItemState:
        return (await self.get(item)).state


async def test_per_client_limit_caps_each_client_and_the_rest_go_elsewhere() -> None:
    one, two = FakeDownloadClient("one"), FakeDownloadClient("two")
    world = World(one, two, max_active=10, per_client=2)
    items = [await world.grab(n) for n in range(6)]
    sent = await world.processor.dispatch()
    assert len(sent) == 4  # two clients x two slots, though max_active is 10
    await world.processor.sync()
    assert len(one.added) == 2 and len(two.added) == 2
    assert await world.processor.dispatch() == []  # every client is full
    assert [await world.state(i) for i in items[4:]] == [S.QUEUED, S.QUEUED]
    one.advance(one.added[0], 1000)  # one finishes: one slot in `one` frees up
    await world.processor.sync()
    assert len(await world.processor.dispatch()) == 1
    assert len(one.added) == 3 and len(two.added) == 2


async def test_an_item_pinned_to_a_full_client_waits_without_burning_attempts() -> None:
    one, two = FakeDownloadClient("one"), FakeDownloadClient("two")
    world = World(one, two, max_active=10, per_client=1)
    first = await world.grab(1, download_client="one")
    pinned = await world.grab(2, download_client="one")
    await world.processor.dispatch()
    await world.processor.sync()
    assert await world.state(first) is S.DOWNLOADING
    waiting = await world.items.get(pinned.id)
    assert waiting is not None and waiting.state is S.CLIENT_UNAVAILABLE
    assert waiting.attempts == 0 and "free slot in 'one'" in waiting.status_messages[0].messages[0]
    assert one.added == [first.info_hash]
    world.clock.advance(seconds=31)
    await world.processor.dispatch()  # due again, `one` still busy: it waits again
    assert await world.state(pinned) is S.CLIENT_UNAVAILABLE
    assert one.added == [first.info_hash] and two.added == []
    world.clock.advance(seconds=31)
    one.advance(first.info_hash or "", 1000)
    await world.processor.sync()
    assert await world.processor.dispatch() == [pinned.id]
    assert one.added == [first.info_hash, pinned.info_hash]


async def test_free_space_below_the_floor_pauses_dispatch_until_there_is_room() -> None:
    client = FakeDownloadClient("aria2", free_bytes=500)
    world = World(client, min_free_space=1000)
    item = await world.grab(1)
    assert await world.processor.dispatch() == []
    assert world.processor.disk_message is not None
    assert "aria2 has 500 bytes free" in world.processor.disk_message
    assert await world.state(item) is S.QUEUED  # nothing failed, nothing blocklisted
    client.free_bytes = 5000
    assert await world.processor.dispatch() == []  # checked at most every 30 s
    world.clock.advance(seconds=30)
    assert await world.processor.dispatch() == [item.id]
    assert world.processor.disk_message is None


async def test_a_client_that_cannot_tell_falls_back_to_the_local_download_dir() -> None:
    world = World(FakeDownloadClient("aria2", free_bytes=None), local_free=10,
                  min_free_space=1000)
    await world.grab(1)
    assert await world.processor.dispatch() == []
    assert world.local_checks == 1 and world.processor.disk_message is not None


async def test_no_floor_means_no_check() -> None:
    client = FakeDownloadClient("aria2", free_bytes=0)
    world = World(client, min_free_space=0)
    await world.grab(1)
    assert len(await world.processor.dispatch()) == 1
    assert "free_space" not in [c[0] for c in client.calls]


async def test_a_grab_carries_its_own_retry_policy() -> None:
    client = FakeDownloadClient("aria2", fail_with=TransientClientError("tracker timeout"))
    world = World(client, retry=RetryPolicy(delays=(0, 120, 480)))
    own = await world.grab(1, retry_policy=RetryPolicy(delays=(10,)))
    default = await world.grab(2)
    await world.processor.dispatch()
    for item, wait in ((own, 10), (default, 0)):
        stored = await world.items.get(item.id)
        assert stored is not None and stored.state is S.RETRYING and stored.attempts == 1
        assert stored.next_attempt_at == world.clock.now() + timedelta(seconds=wait)
    world.clock.advance(seconds=10)
    await world.processor.dispatch()
    failed = await world.items.get(own.id)
    assert failed is not None and failed.state is S.FAILED  # its one retry is used up
    assert failed.attempts == 2 and failed.retry_policy == RetryPolicy(delays=(10,))
    still = await world.items.get(default.id)
    assert still is not None and still.state is S.RETRYING and still.attempts == 2


async def test_the_pause_switch_is_read_from_the_shared_store() -> None:
    world = World()
    await world.grab(1)
    other = Processor(world.items, FakeClients(*world.clients), world.clock, "other",
                      switches=world.switches)
    await other.set_paused(True)
    assert world.processor.paused is False  # not read yet
    assert await world.processor.refresh_switches() is True
    assert await world.processor.dispatch() == []
    await other.set_paused(False)
    assert await world.processor.refresh_switches() is False
    assert len(await world.processor.dispatch()) == 1


async def test_claims_of_a_pass_broken_off_go_back_at_the_next_pass() -> None:
    """The database fails after the claim (the commit's reply lost, say): the next pass
    gives this processor's own leases back at once instead of after the lease."""
    from core.errors import StorageUnavailable

    world = World()
    item = await world.grab(1)
    real_update = world.items.update
    calls = 0

    async def failing_once(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StorageUnavailable("The database is unreachable: lost")
        return await real_update(*args, **kwargs)  # type: ignore[arg-type]

    world.items.update = failing_once  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        await world.processor.dispatch()
    assert await world.state(item) is S.SENDING  # claimed, its outcome not recorded
    await world.processor.dispatch()  # no clock moved: the lease has not expired
    events = [h.event for h in await world.items.history(item.id)]
    assert events[-3:] == ["released", "claimed", "sent"]
    assert await world.state(item) is S.DOWNLOADING
    assert world.clients[0].added == [item.info_hash]  # the re-send found the first add


async def test_the_next_chance_to_send_is_the_earliest_retry_or_client_readiness() -> None:
    """Issue 18: after a pass that sent nothing although items wait, when the next
    could send something with nothing else changing."""
    client = FakeDownloadClient("aria2", fail_with=TransientClientError("tracker timeout"))
    world = World(client, retry=RetryPolicy(delays=(600,)))
    await world.grab(1)
    await world.processor.dispatch()  # retrying in 10 minutes
    assert await world.processor.dispatch() == []
    now = world.clock.now()
    assert await world.processor.next_chance() == now + timedelta(minutes=10)
    world.processor.backoffs["other"].failed(now - timedelta(seconds=1), "down")  # over
    world.processor.backoffs["aria2"].failures = 1
    world.processor.backoffs["aria2"].until = now + timedelta(minutes=1)
    assert await world.processor.next_chance() == now + timedelta(minutes=1)


async def test_full_slots_or_a_pause_leave_only_a_wake_and_low_disk_the_next_check() -> None:
    client = FakeDownloadClient("aria2", free_bytes=500)
    world = World(client, max_active=1, min_free_space=1000)
    await world.grab(1)
    assert await world.processor.dispatch() == []  # too little space
    checked = world.clock.now()
    world.clock.advance(seconds=10)
    assert await world.processor.next_chance() == checked + timedelta(seconds=30)
    client.free_bytes = 5000
    world.clock.advance(seconds=20)
    assert len(await world.processor.dispatch()) == 1  # the only slot is taken
    await world.grab(2)
    assert await world.processor.dispatch() == []
    assert world.processor.slots_full and await world.processor.next_chance() is None
    await world.processor.set_paused(True)
    assert await world.processor.next_chance() is None
