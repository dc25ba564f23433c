"""The APScheduler runner: passes run on their own, a grab wakes the dispatcher at once
(long before its next tick), a pass that raises does not stop the others."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    NewItem,
    QueueItem,
    SourceKind,
)
from core.processor import Processor, ProcessorConfig
from core.states import transition
from infrastructure.clock import SystemClock
from infrastructure.memory import MemoryQueueRepository
from infrastructure.scheduler import (
    HOUSEKEEPING_SECONDS,
    IDLE_SECONDS,
    LEADERSHIP_SECONDS,
    LEADING_CHECK_SECONDS,
    RESCUE_SECONDS,
    ProcessorRunner,
)
from tests.fakes import FakeClients, FakeClock, FakeDownloadClient


def new_item(n: int) -> NewItem:
    return NewItem(title=f"Movie.{n}", source=SourceKind.MAGNET,
                   protocol=DownloadProtocol.TORRENT, added_at=SystemClock().now(),
                   info_hash=f"{n:040x}", size=10)


def fresh(config: ProcessorConfig | None = None
          ) -> tuple[MemoryQueueRepository, FakeDownloadClient, Processor]:
    """A processor over an in-memory queue and one fake client (aria2), on the system
    clock."""
    clock = SystemClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2")
    return items, client, Processor(items, FakeClients(client), clock, "t",
                                    config or ProcessorConfig())


async def wait_state(items: MemoryQueueRepository, item_id: int, state: ItemState,
                     timeout: float) -> float:
    started = time.monotonic()
    while True:
        item = await items.get(item_id)
        if item is not None and item.state is state:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"still {item}"
        await asyncio.sleep(0.01)


async def test_a_grab_wakes_the_dispatcher_before_its_next_tick() -> None:
    items, client, processor = fresh()
    runner = ProcessorRunner(processor, sync_interval=60, dispatch_interval=30)
    runner.start()
    try:
        await asyncio.sleep(0.2)  # the first ticks ran; the next dispatch is 30 s away
        item = await items.add(new_item(1), HistoryEvent("grabbed"))
        runner.wake()
        # Sent well before the 30 s tick: the wake ran the pass.
        await wait_state(items, item.id, ItemState.DOWNLOADING, timeout=5)
        assert client.added == [item.info_hash]
    finally:
        runner.shutdown()


async def test_a_failing_pass_is_logged_and_the_next_one_runs() -> None:
    items, _client, processor = fresh()
    calls = []

    async def broken() -> None:
        calls.append(1)
        raise RuntimeError("housekeeping blew up")

    runner = ProcessorRunner(processor, housekeeping=broken, sync_interval=60,
                             dispatch_interval=0.05)
    runner.start()
    try:
        await asyncio.sleep(0.2)
        item = await items.add(new_item(2), HistoryEvent("grabbed"))
        runner.wake()  # as QueueService does after every grab: an idle dispatcher sleeps
        await wait_state(items, item.id, ItemState.DOWNLOADING, timeout=5)
        assert calls  # it ran, raised, and dispatching went on
    finally:
        runner.shutdown()


async def test_a_send_in_flight_at_the_stop_is_cut_short_quietly_and_given_back(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="infrastructure.scheduler")
    clock = SystemClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2", delay=3600)  # a client that does not answer
    processor = Processor(items, FakeClients(client), clock, "t")
    item = await items.add(new_item(3), HistoryEvent("grabbed"))
    runner = ProcessorRunner(processor, sync_interval=60, dispatch_interval=30)
    runner.start()
    try:
        await wait_state(items, item.id, ItemState.SENDING, timeout=5)
        while not client.calls:  # noqa: ASYNC110 (the fake offers no event)
            await asyncio.sleep(0.01)
        passes = [t for t in asyncio.all_tasks()
                  if t.get_coro().__name__ == "run_coroutine_job"]  # type: ignore[union-attr]
    finally:
        await asyncio.wait_for(runner.stop(), 10)
    await asyncio.wait(passes, timeout=10)
    back = await items.get(item.id)
    assert back is not None and back.state is ItemState.QUEUED and back.lease_owner is None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "dispatch pass cut short by the stop" in caplog.messages


async def test_a_sole_processor_gives_back_an_earlier_runs_leases_before_its_first_pass(
) -> None:
    clock = SystemClock()
    items = MemoryQueueRepository(clock)
    processor = Processor(items, FakeClients(FakeDownloadClient("aria2")), clock, "t")
    item = await items.add(new_item(4), HistoryEvent("grabbed"))
    await items.claim("killed:1", 1, clock.now(), timedelta(days=1))
    await ProcessorRunner(processor).recover()  # another processor may share the database
    assert (await items.get(item.id)).lease_owner == "killed:1"  # type: ignore[union-attr]
    await ProcessorRunner(processor, sole=True).recover()
    back = await items.get(item.id)
    assert back is not None and back.state is ItemState.QUEUED and back.lease_owner is None


class CountingItems(MemoryQueueRepository):
    """Counts the reads an idle processor's passes make."""

    def __init__(self, clock: SystemClock) -> None:
        super().__init__(clock)
        self.reads = 0

    async def counts(self):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().counts()

    async def tracked(self):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().tracked()

    async def expired_leases(self, now):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().expired_leases(now)


def _due_in(runner: ProcessorRunner, job: str) -> float:
    scheduled = runner.scheduler.get_job(job)
    assert scheduled is not None and scheduled.next_run_time is not None
    now = datetime.now(scheduled.next_run_time.tzinfo)
    return (scheduled.next_run_time - now).total_seconds()


async def test_an_idle_processor_sleeps_and_a_grab_wakes_every_pass_it_needs() -> None:
    """Issue 18: with nothing to do, the passes put themselves IDLE_SECONDS away instead
    of polling every interval; a grab's wake sends at once, and the send brings the sync
    back (and the rescue and housekeeping within their intervals)."""
    clock = SystemClock()
    items = CountingItems(clock)
    client = FakeDownloadClient("aria2")
    processor = Processor(items, FakeClients(client), clock, "t")
    runner = ProcessorRunner(processor, sync_interval=0.05, dispatch_interval=0.05)
    runner.start()
    try:
        await asyncio.sleep(0.5)  # the first passes ran and found nothing
        assert runner.idle()
        for job in ("dispatch", "sync", "rescue", "housekeeping", "leadership"):
            assert _due_in(runner, job) > IDLE_SECONDS / 2 or (
                job == "leadership" and _due_in(runner, job) > LEADERSHIP_SECONDS / 2), job
        reads = items.reads
        await asyncio.sleep(1.0)  # 20 dispatch and sync intervals
        assert items.reads == reads, "an idle processor read the store"

        item = await items.add(new_item(5), HistoryEvent("grabbed"))
        runner.wake()
        await wait_state(items, item.id, ItemState.DOWNLOADING, timeout=5)
        assert not runner.idle()
        await asyncio.sleep(0.3)
        assert _due_in(runner, "sync") < 1  # following the download at its interval
        assert _due_in(runner, "rescue") <= RESCUE_SECONDS
        assert _due_in(runner, "housekeeping") <= HOUSEKEEPING_SECONDS

        client.advance(item.info_hash, 10)  # done: nothing tracked, nothing waiting
        await wait_state(items, item.id, ItemState.COMPLETED, timeout=5)
        await asyncio.sleep(0.5)
        assert runner.idle()
        assert _due_in(runner, "dispatch") > IDLE_SECONDS / 2
    finally:
        runner.shutdown()


async def test_items_waiting_for_a_slot_let_the_dispatcher_sleep_until_one_is_freed() -> None:
    """Issue 18: while every slot is held, the dispatcher does not poll every interval;
    the sync pass that completes a download wakes it, and the waiting item is sent."""
    items, client, processor = fresh(ProcessorConfig(max_active=1))
    runner = ProcessorRunner(processor, sync_interval=0.05, dispatch_interval=0.05)
    first = await items.add(new_item(6), HistoryEvent("grabbed"))
    second = await items.add(new_item(7), HistoryEvent("grabbed"))
    runner.start()
    try:
        await wait_state(items, first.id, ItemState.DOWNLOADING, timeout=5)
        await asyncio.sleep(0.3)
        assert not runner.idle() and _due_in(runner, "dispatch") > IDLE_SECONDS / 2
        client.advance(first.info_hash, 10)
        await wait_state(items, second.id, ItemState.DOWNLOADING, timeout=5)
    finally:
        runner.shutdown()


def held_runner(processor: Processor,
                housekeeping: Callable[[], Awaitable[None]] | None = None) -> ProcessorRunner:
    """A runner whose scheduler keeps each job's next run time but runs none: the test
    runs the passes itself, at the fake clock's time."""
    runner = ProcessorRunner(processor, housekeeping, sync_interval=5, dispatch_interval=5)
    runner.start()
    runner.scheduler.pause()  # before the loop runs a single job
    return runner


async def retrying(items: MemoryQueueRepository, clock: FakeClock, n: int,
                   due: datetime) -> QueueItem:
    item = await items.add(new_item(n), HistoryEvent("grabbed"))
    (claimed,) = await items.claim("t", 1, clock.now(), timedelta(minutes=5))
    (saved,) = await items.update([(claimed, transition(
        claimed, ItemState.RETRYING, clock.now(), next_attempt_at=due, lease_owner=None,
        lease_expires_at=None))], HistoryEvent("retryScheduled"))
    assert saved.id == item.id
    return saved


async def test_a_retry_due_later_puts_the_next_dispatch_at_its_time() -> None:
    """Issue 18: items wait but none is due: the next pass is when the retry is due,
    not the next interval; then it is sent."""
    clock = FakeClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2")
    processor = Processor(items, FakeClients(client), clock, "t")
    item = await retrying(items, clock, 8, clock.now() + timedelta(minutes=4))
    runner = held_runner(processor)
    try:
        await runner._dispatch()
        assert client.added == []
        assert abs(_due_in(runner, "dispatch") - 240) < 5
        clock.advance(minutes=4)
        await runner._dispatch()
        assert client.added == [item.info_hash]
        assert (await items.get(item.id)).state is ItemState.DOWNLOADING  # type: ignore[union-attr]
    finally:
        runner.shutdown()


async def test_a_retry_an_hour_away_lets_every_pass_sleep_until_a_wake() -> None:
    """Issue 18: one item waits for a retry an hour away, nothing is tracked or leased:
    no pass has anything to do until then, so each sleeps as an idle processor's do; the
    dispatcher looks again at most IDLE_SECONDS later, and a grab wakes them all."""
    clock = FakeClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2")
    processor = Processor(items, FakeClients(client), clock, "t")
    await retrying(items, clock, 11, clock.now() + timedelta(hours=1))
    runner = held_runner(processor)
    try:
        await runner._leadership()
        await runner._dispatch()
        await runner._sync()
        await runner._rescue()
        await runner._housekeeping()
        await runner._leadership()
        assert runner.idle()
        for job in ("dispatch", "sync", "rescue", "housekeeping"):
            assert abs(_due_in(runner, job) - IDLE_SECONDS) < 5, job
        assert abs(_due_in(runner, "leadership") - LEADING_CHECK_SECONDS) < 5
        runner.wake()  # a grab
        assert not runner.idle()
        assert _due_in(runner, "dispatch") < 1  # a send then brings the sync back
        assert _due_in(runner, "housekeeping") <= HOUSEKEEPING_SECONDS + 1
    finally:
        runner.shutdown()


async def test_a_client_in_backoff_puts_the_next_dispatch_at_its_readiness() -> None:
    clock = FakeClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2", down=True)
    processor = Processor(items, FakeClients(client), clock, "t")
    item = await items.add(new_item(9), HistoryEvent("grabbed"))
    runner = held_runner(processor)
    try:
        await runner._dispatch()  # down: parked (the first backoff step is 0 s)
        await runner._dispatch()  # down again: backed off a minute
        ready = processor.backoffs["aria2"].until
        assert ready == clock.now() + timedelta(minutes=1)
        await runner._dispatch()  # nothing can be sent before then
        assert abs(_due_in(runner, "dispatch") - 60) < 5
        client.down = False
        clock.set(ready)
        await runner._dispatch()
        assert client.added == [item.info_hash]
    finally:
        runner.shutdown()


async def test_a_sync_that_completes_a_download_wakes_a_dispatcher_waiting_for_a_slot(
) -> None:
    clock = FakeClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2")
    processor = Processor(items, FakeClients(client), clock, "t",
                          ProcessorConfig(max_active=1))
    first = await items.add(new_item(10), HistoryEvent("grabbed"))
    second = await items.add(new_item(11), HistoryEvent("grabbed"))
    runner = held_runner(processor)
    try:
        await runner._dispatch()
        await runner._dispatch()  # every slot held: only a wake helps
        assert _due_in(runner, "dispatch") > IDLE_SECONDS - 5
        await runner._sync()  # nothing changed: still asleep
        assert _due_in(runner, "dispatch") > IDLE_SECONDS - 5
        client.advance(first.info_hash, 10)
        await runner._sync()
        assert _due_in(runner, "dispatch") <= 0  # woken
        await runner._dispatch()
        assert client.added == [first.info_hash, second.info_hash]
    finally:
        runner.shutdown()


class CountedItems(MemoryQueueRepository):
    def __init__(self, clock: SystemClock) -> None:
        super().__init__(clock)
        self.counted = 0

    async def counts(self):  # type: ignore[no-untyped-def]
        self.counted += 1
        return await super().counts()


async def test_the_counts_are_not_read_again_while_nothing_can_change() -> None:
    """A download holds the only slot, an item waits, nothing moves: the dispatcher
    does not read the state counters every interval."""
    clock = SystemClock()
    items = CountedItems(clock)
    client = FakeDownloadClient("aria2")
    processor = Processor(items, FakeClients(client), clock, "t",
                          ProcessorConfig(max_active=1))
    first = await items.add(new_item(12), HistoryEvent("grabbed"))
    await items.add(new_item(13), HistoryEvent("grabbed"))
    runner = ProcessorRunner(processor, sync_interval=0.05, dispatch_interval=0.05)
    runner.start()
    try:
        await wait_state(items, first.id, ItemState.DOWNLOADING, timeout=5)
        await asyncio.sleep(0.3)  # the passes after the send ran
        counted = items.counted
        await asyncio.sleep(1.0)  # 20 dispatch and sync intervals
        assert items.counted == counted
    finally:
        runner.shutdown()


async def test_a_rescue_that_requeues_an_item_wakes_the_dispatcher() -> None:
    clock = FakeClock()
    items = MemoryQueueRepository(clock)
    processor = Processor(items, FakeClients(FakeDownloadClient("aria2")), clock, "t")
    item = await items.add(new_item(14), HistoryEvent("grabbed"))
    await items.claim("killed:1", 1, clock.now(), timedelta(minutes=5))
    runner = held_runner(processor)
    try:
        await runner._dispatch()  # reads that one item is leased
        runner._later("dispatch", IDLE_SECONDS)
        await runner._rescue()  # not expired yet
        assert _due_in(runner, "dispatch") > IDLE_SECONDS - 5
        clock.advance(minutes=6)
        await runner._rescue()
        assert (await items.get(item.id)).state is ItemState.QUEUED  # type: ignore[union-attr]
        assert _due_in(runner, "dispatch") <= 0
    finally:
        runner.shutdown()


async def test_a_reload_that_changes_the_download_clients_wakes_the_dispatcher() -> None:
    clock = FakeClock()
    items = MemoryQueueRepository(clock)
    clients = FakeClients(FakeDownloadClient("aria2"))
    processor = Processor(items, clients, clock, "t")
    added: list[FakeDownloadClient] = []

    async def reload() -> None:
        for client in added:
            clients.by_name[client.name] = client

    runner = held_runner(processor, reload)
    try:
        runner._later("dispatch", IDLE_SECONDS)
        await runner._housekeeping()  # the same clients
        assert _due_in(runner, "dispatch") > IDLE_SECONDS - 5
        added.append(FakeDownloadClient("two"))
        await runner._housekeeping()
        assert _due_in(runner, "dispatch") <= 0
    finally:
        runner.shutdown()


async def test_wakes_before_a_pass_runs_or_during_it_come_to_one_pass_each() -> None:
    """A burst of grabs wakes the dispatcher once; wakes during its pass run it once more
    at its end; a wake's items are all sent."""
    items, _client, processor = fresh(ProcessorConfig(max_active=10))
    runner = ProcessorRunner(processor, sync_interval=60, dispatch_interval=30)
    passes: list[int] = []
    during = asyncio.Event()
    dispatch = processor.dispatch

    async def counted() -> list[int]:
        passes.append(len(passes))
        if len(passes) == 2:  # the pass the burst asked for: more grabs arrive meanwhile
            during.set()
            await asyncio.sleep(0.2)
        return await dispatch()

    processor.dispatch = counted  # type: ignore[method-assign]
    modified = 0
    modify = runner.scheduler.modify_job

    def counting_modify(job_id: str, *args: object, **kwargs: object) -> object:
        nonlocal modified
        modified += job_id == "dispatch"
        return modify(job_id, *args, **kwargs)

    runner.scheduler.modify_job = counting_modify  # type: ignore[method-assign]
    runner.start()
    try:
        await asyncio.sleep(0.2)  # the first pass ran; the next is 30 s away
        assert len(passes) == 1
        burst = [await items.add(new_item(n), HistoryEvent("grabbed")) for n in range(3)]
        modified = 0
        for _ in burst:
            runner.wake()
        assert modified == 1  # one pass put at now for the three
        await during.wait()
        for _ in range(2):
            runner.wake()  # grabs while the pass runs
        for item in burst:
            await wait_state(items, item.id, ItemState.DOWNLOADING, timeout=5)
        await asyncio.sleep(0.5)
        assert len(passes) == 3  # the first, the burst's, and one more for the late wakes
        assert modified == 1  # the late wakes' pass ran in the same job, at the end
    finally:
        runner.shutdown()


async def test_a_paused_sole_processor_is_not_woken_by_grabs_until_it_resumes() -> None:
    items, _client, processor = fresh()
    runner = ProcessorRunner(processor, sync_interval=60, dispatch_interval=30, sole=True)
    runner.start()
    try:
        await asyncio.sleep(0.2)
        await processor.set_paused(True)
        job = runner.scheduler.get_job("dispatch")
        before = job.next_run_time
        item = await items.add(new_item(1), HistoryEvent("grabbed"))
        runner.wake()
        assert runner.scheduler.get_job("dispatch").next_run_time == before  # not moved
        await processor.set_paused(False)
        runner.wake()  # what Dispatching.set_paused(False) does after un-pausing
        await wait_state(items, item.id, ItemState.DOWNLOADING, timeout=5)
    finally:
        runner.shutdown()
