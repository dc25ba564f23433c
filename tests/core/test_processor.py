"""The processor with fakes and a fixed clock: dispatch, sync, retry, client outages,
stalls, lost downloads, leases. The same passes run against real daemons in
tests/e2e/test_processor_e2e.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.clients import ClientState
from core.domain import DownloadProtocol, HistoryEvent, ItemState, NewItem, QueueItem, SourceKind
from core.errors import ClientRejected, ClientUnavailable, TransientClientError
from core.policy import RetryPolicy, StallPolicy
from core.ports import DownloadStatus
from core.processor import Processor, ProcessorConfig
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from tests.fakes import EPOCH, FakeClients, FakeClock, FakeDownloadClient

S = ItemState


class World:
    def __init__(self, **config: object) -> None:
        self.clock = FakeClock(EPOCH)
        self.items = MemoryQueueRepository(self.clock)
        self.blocklist = MemoryBlocklistRepository()
        self.client = FakeDownloadClient("aria2")
        self.processor = Processor(
            self.items, FakeClients(self.client), self.clock, "test-worker",
            ProcessorConfig(**config), self.blocklist)  # type: ignore[arg-type]

    async def grab(self, n: int, **fields: object) -> QueueItem:
        values: dict[str, object] = dict(
            title=f"Movie.{n}.2020.1080p", source=SourceKind.MAGNET,
            protocol=DownloadProtocol.TORRENT, added_at=self.clock.now(),
            info_hash=f"{n:040x}", size=1000)
        values.update(fields)
        return await self.items.add(NewItem(**values), HistoryEvent("grabbed"))  # type: ignore[arg-type]

    async def get(self, item: QueueItem) -> QueueItem:
        found = await self.items.get(item.id)
        assert found is not None
        return found

    def later(self, **delta: float) -> None:
        self.clock.advance(**delta)


@pytest.fixture
def world() -> World:
    return World()


async def test_dispatch_sends_queued_items_and_records_the_download(world: World) -> None:
    item = await world.grab(1)
    assert await world.processor.dispatch() == [item.id]
    sent = await world.get(item)
    assert sent.state is S.DOWNLOADING
    assert (sent.download_client, sent.download_id) == ("aria2", item.info_hash)
    assert sent.lease_owner is None and sent.lease_expires_at is None
    events = [h.event for h in await world.items.history(item.id)]
    assert events == ["grabbed", "claimed", "sent"]
    assert world.client.added == [item.info_hash]


async def test_dispatch_fills_only_the_free_slots_by_priority_then_age() -> None:
    world = World(max_active=2)
    items = [await world.grab(n) for n in range(4)]
    assert await world.processor.dispatch() == [items[0].id, items[1].id]
    assert await world.processor.dispatch() == []  # both slots busy
    world.client.advance(items[0].info_hash or "", 1000)
    await world.processor.sync()
    assert (await world.get(items[0])).state is S.COMPLETED
    assert await world.processor.dispatch() == [items[2].id]


async def test_pause_all_stops_new_sends(world: World) -> None:
    await world.grab(1)
    world.processor.paused = True
    assert await world.processor.dispatch() == []
    world.processor.paused = False
    assert len(await world.processor.dispatch()) == 1


async def test_a_permanent_refusal_fails_at_once(world: World) -> None:
    item = await world.grab(1)
    world.client.fail_with = ClientRejected("not a valid torrent")
    await world.processor.dispatch()
    failed = await world.get(item)
    assert failed.state is S.FAILED and failed.error_message == "not a valid torrent"
    assert failed.attempts == 0


async def test_transient_failures_follow_the_retry_delays_then_fail() -> None:
    world = World(retry=RetryPolicy(delays=(0, 120, 480)))
    item = await world.grab(1)
    world.client.fail_with = TransientClientError("tracker said 503")
    expected = [0, 120, 480]
    for attempt, delay in enumerate(expected, start=1):
        assert await world.processor.dispatch() == [item.id]
        waiting = await world.get(item)
        assert waiting.state is S.RETRYING and waiting.attempts == attempt
        assert waiting.next_attempt_at == world.clock.now() + timedelta(seconds=delay)
        if delay:
            world.later(seconds=delay - 1)
            assert await world.processor.dispatch() == []  # not due yet
            world.later(seconds=1)
    assert await world.processor.dispatch() == [item.id]
    failed = await world.get(item)
    assert failed.state is S.FAILED and failed.attempts == 4
    assert failed.error_message == "tracker said 503"


async def test_a_client_outage_burns_no_attempt_and_backs_the_client_off(world: World) -> None:
    items = [await world.grab(n) for n in range(3)]
    world.client.down = True
    await world.processor.dispatch()
    adds = [c for c in world.client.calls if c[0] == "add"]
    assert len(adds) == 1  # one refusal per pass; the others wait without asking
    for item in items:
        waiting = await world.get(item)
        assert waiting.state is S.CLIENT_UNAVAILABLE and waiting.attempts == 0
    # Radarr's escalation: 0, 1 min, 5 min...
    backoff = world.processor.backoffs["aria2"]
    assert backoff.until == world.clock.now()
    world.later(seconds=1)
    await world.processor.dispatch()
    assert backoff.until == world.clock.now() + timedelta(minutes=1)
    world.client.down = False
    world.later(minutes=1)
    await world.processor.dispatch()
    for item in items:
        sent = await world.get(item)
        assert sent.state is S.DOWNLOADING and sent.attempts == 0
    assert backoff.available
    assert sorted(world.client.added) == sorted(i.info_hash for i in items)


async def test_an_add_whose_reply_was_lost_is_not_sent_twice(world: World) -> None:
    item = await world.grab(1)
    world.client.lose_reply_on_add = True
    await world.processor.dispatch()
    assert (await world.get(item)).state is S.CLIENT_UNAVAILABLE
    world.later(seconds=1)
    await world.processor.dispatch()
    assert (await world.get(item)).state is S.DOWNLOADING
    assert world.client.added == [item.info_hash]


async def test_sync_follows_progress_to_completion(world: World) -> None:
    item = await world.grab(1)
    await world.processor.dispatch()
    world.client.advance(item.info_hash or "", 400)
    assert await world.processor.sync() == 1
    moving = await world.get(item)
    assert (moving.state, moving.progress, moving.size_left) == (S.DOWNLOADING, 40.0, 600)
    assert await world.processor.sync() == 0  # nothing changed, nothing written
    world.client.downloads[item.info_hash or ""] = DownloadStatus(
        item.info_hash or "", ClientState.COMPLETED, 1000, 0, 100.0, output_path="/dl/m.mkv")
    await world.processor.sync()
    done = await world.get(item)
    assert done.state is S.COMPLETED and done.output_path == "/dl/m.mkv"
    assert done.completed_at == world.clock.now()


async def test_a_failed_download_is_retried_or_failed_by_its_class(world: World) -> None:
    transient, permanent = await world.grab(1), await world.grab(2)
    await world.processor.dispatch()
    for item, is_permanent in ((transient, False), (permanent, True)):
        world.client.downloads[item.info_hash or ""] = DownloadStatus(
            item.info_hash or "", ClientState.FAILED, 1000, 1000, 0.0,
            error="aria2 error 3 (resource not found)" if is_permanent else "timeout",
            permanent=is_permanent)
    await world.processor.sync()
    assert (await world.get(transient)).state is S.RETRYING
    assert (await world.get(permanent)).state is S.FAILED


async def test_a_download_the_client_lost_is_added_again_after_two_cycles(world: World) -> None:
    item = await world.grab(1)
    await world.processor.dispatch()
    world.client.lose(item.info_hash or "")
    await world.processor.sync()
    assert world.client.added == []  # one cycle missing: maybe a blip
    await world.processor.sync()
    assert world.client.added == [item.info_hash]
    assert (await world.get(item)).state is S.DOWNLOADING
    assert "readded" in [h.event for h in await world.items.history(item.id)]


async def test_a_stall_warns_then_fails_and_blocklists() -> None:
    world = World(stall=StallPolicy(stall=timedelta(minutes=30), metadata=timedelta(minutes=15)))
    item = await world.grab(1)
    await world.processor.dispatch()
    world.client.advance(item.info_hash or "", 100)
    await world.processor.sync()
    world.later(minutes=20)
    await world.processor.sync()
    assert (await world.get(item)).state is S.DOWNLOADING  # a brief stall is nothing
    world.later(minutes=10)
    await world.processor.sync()
    warned = await world.get(item)
    assert warned.state is S.WARNING and "no data for 30 min" in (warned.error_message or "")
    world.later(minutes=30)
    await world.processor.sync()
    failed = await world.get(item)
    assert failed.state is S.FAILED and "Stalled" in (failed.error_message or "")
    assert await world.blocklist.find(item.info_hash, None, None) is not None
    assert ("remove", (item.info_hash, True)) in world.client.calls


async def test_progress_after_a_warning_clears_it(world: World) -> None:
    item = await world.grab(1)
    await world.processor.dispatch()
    world.later(minutes=31)
    await world.processor.sync()
    assert (await world.get(item)).state is S.WARNING
    world.client.advance(item.info_hash or "", 10)
    await world.processor.sync()
    back = await world.get(item)
    assert back.state is S.DOWNLOADING and back.error_message is None


async def test_an_oversized_release_is_removed_and_failed() -> None:
    world = World(max_size=500)
    item = await world.grab(1)
    await world.processor.dispatch()
    await world.processor.sync()
    failed = await world.get(item)
    assert failed.state is S.FAILED and "over the size limit of 500" in (failed.error_message
                                                                         or "")
    assert ("remove", (item.info_hash, True)) in world.client.calls


async def test_a_client_down_during_sync_marks_items_and_they_come_back(world: World) -> None:
    item = await world.grab(1)
    await world.processor.dispatch()
    world.client.down = True
    await world.processor.sync()
    assert (await world.get(item)).state is S.CLIENT_UNAVAILABLE
    assert (await world.get(item)).attempts == 0
    world.client.down = False
    world.later(minutes=1)
    await world.processor.sync()
    assert (await world.get(item)).state is S.DOWNLOADING


async def test_expired_leases_are_rescued_and_a_poison_pill_fails(world: World) -> None:
    item = await world.grab(1)
    lease = ProcessorConfig().lease
    for rescue in (1, 2):
        await world.items.claim("dead-worker", 1, world.clock.now(), lease)
        world.later(seconds=lease.total_seconds() + 1)
        assert await world.processor.rescue() == [item.id]
        back = await world.get(item)
        assert back.state is S.QUEUED and back.rescues == rescue and back.lease_owner is None
    await world.items.claim("dead-worker", 1, world.clock.now(), lease)
    world.later(seconds=lease.total_seconds() + 1)
    await world.processor.rescue()
    failed = await world.get(item)
    assert failed.state is S.FAILED and failed.rescues == 3


async def test_a_stale_send_result_does_not_overwrite_a_newer_claim(world: World) -> None:
    item = await world.grab(1)
    (claimed,) = await world.items.claim("slow-worker", 1, world.clock.now(), timedelta(0))
    world.later(seconds=1)
    await world.processor.rescue()
    await world.processor.dispatch()  # the item is sent by the live processor
    fresh = await world.get(item)
    assert fresh.state is S.DOWNLOADING
    stale = await world.processor.send(claimed)  # the slow worker finally answers
    assert stale is None
    assert await world.get(item) == fresh


async def test_no_client_means_waiting_not_failing() -> None:
    world = World()
    world.processor.clients = FakeClients()
    item = await world.grab(1)
    await world.processor.dispatch()
    waiting = await world.get(item)
    assert waiting.state is S.CLIENT_UNAVAILABLE and waiting.attempts == 0
    assert waiting.next_attempt_at == world.clock.now() + timedelta(minutes=1)


async def test_process_runs_a_whole_pass(world: World) -> None:
    items = [await world.grab(n) for n in range(2)]
    assert await world.processor.process() == [i.id for i in items]
    assert ("statuses", ((items[0].info_hash, items[1].info_hash),)) in world.client.calls


async def test_client_unavailable_is_raised_by_the_fake_for_statuses(world: World) -> None:
    world.client.down = True
    with pytest.raises(ClientUnavailable):
        await world.client.statuses([])


async def test_a_graceful_stop_gives_back_only_its_own_leases(world: World) -> None:
    mine, theirs = await world.grab(1), await world.grab(2)
    await world.items.claim("test-worker", 1, world.clock.now(), timedelta(minutes=5))
    await world.items.claim("other-worker", 1, world.clock.now(), timedelta(minutes=5))
    assert await world.processor.release() == [mine.id]
    back = await world.get(mine)
    assert back.state is S.QUEUED and back.lease_owner is None and back.rescues == 0
    assert (await world.get(theirs)).lease_owner == "other-worker"


async def test_at_start_the_leases_an_earlier_run_left_are_given_back_before_they_expire(
        world: World) -> None:
    left, twice, mine = await world.grab(1), await world.grab(2), await world.grab(3)
    hour = timedelta(hours=1)
    await world.items.claim("host:111", 2, world.clock.now(), hour)  # then it was killed
    await world.items.update([(t := await world.get(twice), t.evolve(rescues=2))],
                             HistoryEvent("test"))
    await world.items.claim("test-worker", 1, world.clock.now(), hour)
    assert await world.processor.rescue() == []  # nothing has expired
    assert await world.processor.release_earlier() == [left.id, twice.id]
    back = await world.get(left)
    assert back.state is S.QUEUED and back.lease_owner is None and back.rescues == 0
    assert (await world.items.history(left.id))[-1].message == (
        "test-worker started; host:111 had stopped without giving it back")
    # Not a rescue: which of them killed the process, if any, nobody knows.
    again = await world.get(twice)
    assert again.state is S.QUEUED and again.rescues == 2
    assert (await world.get(mine)).lease_owner == "test-worker"  # this run's own


async def test_a_stalled_download_fails_only_at_twice_its_own_limit(world: World) -> None:
    """The data limit (30 min) applies to a download, not the shorter metadata one:
    a sync a minute after the warning does not fail it."""
    item = await world.grab(1)
    await world.processor.dispatch()
    world.later(minutes=30)
    await world.processor.sync()
    assert (await world.get(item)).state is S.WARNING
    world.later(minutes=1)
    await world.processor.sync()
    assert (await world.get(item)).state is S.WARNING
    world.later(minutes=29)
    await world.processor.sync()
    assert (await world.get(item)).state is S.FAILED


async def test_a_dispatch_asked_for_while_one_runs_waits_instead_of_taking_its_claims(
        world: World) -> None:
    """POST /queue/process or a command's dispatch beside the scheduler's own: the second
    pass waits, so it neither gives back the first pass's claims as orphans nor sends
    anything twice."""
    items = [await world.grab(n) for n in range(3)]
    world.client.delay = 0.01  # each client call yields, so the passes would interleave
    first, second = await asyncio.gather(world.processor.dispatch(),
                                         world.processor.dispatch())
    assert first == [i.id for i in items] and second == []
    for item in items:
        events = [h.event for h in await world.items.history(item.id)]
        assert events == ["grabbed", "claimed", "sent"]
    assert sorted(world.client.added) == sorted(i.info_hash or "" for i in items)



async def test_a_download_sent_again_shows_no_stale_client_view_until_its_next_sync(
        world: World) -> None:
    """A retried item carried what its client last said of the old download (stalled);
    the new download starts with no view, and the next sync gives it the client's."""
    item = await world.grab(1)
    stale = item.evolve(state=S.RETRYING, client_status="warning",
                        client_message="The download is stalled with no connections")
    await world.items.update([(item, stale)], HistoryEvent("progress", recorded=False))
    world.later(hours=1)
    assert await world.processor.dispatch() == [item.id]
    sent = await world.get(item)
    assert sent.state is S.DOWNLOADING
    assert (sent.client_status, sent.client_message) == (None, None)
    await world.processor.sync()
    assert (await world.get(item)).client_status == "downloading"
