"""Events out (core.events): the bus's bounded fan-out to notifiers and live streams,
progress coalescing, resuming with since(), the publishing repository, and the events
the processor causes. The last test checks that slow or failing notifiers never sit in
the processor's path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    NewItem,
    QueueItem,
    SourceKind,
    materialise,
)
from core.errors import ConcurrentModification, Duplicate
from core.events import (
    FROM_HISTORY,
    Coalescer,
    DeliveryStats,
    EventBus,
    EventType,
    PublishingRepository,
    QueueEvent,
    Subscription,
    stream,
)
from core.leases import CLAIMED
from core.processor import Processor, ProcessorConfig
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from tests.core.test_processor import World as BaseWorld
from tests.fakes import EPOCH, FakeClients, FakeClock, FakeDownloadClient

S = ItemState
E = EventType


# -- helpers ---------------------------------------------------------------------------


def new_item(n: int, **fields: object) -> NewItem:
    values: dict[str, object] = dict(
        title=f"Movie.{n}.2020.1080p", source=SourceKind.MAGNET,
        protocol=DownloadProtocol.TORRENT, added_at=EPOCH, info_hash=f"{n:040x}", size=1000)
    values.update(fields)
    return NewItem(**values)  # type: ignore[arg-type]


def an_item(n: int, **fields: object) -> QueueItem:
    return materialise(new_item(n, **fields), n)


class Recorder:
    """A notifier that records what it was given; it can fail, sleep or block."""

    def __init__(self, name: str, *, fail: Callable[[QueueEvent], bool] | None = None,
                 sleep: float = 0.0, block: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.sleep = sleep
        self.block = block
        self.release = asyncio.Event()
        self.seen: list[QueueEvent] = []  # every notify call, failed or not
        self.at: list[float] = []  # perf_counter of each call
        self.cancelled = 0

    @property
    def ids(self) -> list[int]:
        return [e.id for e in self.seen]

    async def notify(self, event: QueueEvent) -> None:
        self.seen.append(event)
        self.at.append(time.perf_counter())
        try:
            if self.sleep:
                await asyncio.sleep(self.sleep)
            if self.block:
                await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail is not None and self.fail(event):
            raise RuntimeError(f"{self.name} failed on event {event.id}")


async def until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Let the loop run until `predicate` holds (fails after `within` seconds)."""
    deadline = time.perf_counter() + within
    while not predicate():
        assert time.perf_counter() < deadline, "timed out waiting"
        await asyncio.sleep(0.002)


def at(seconds: float) -> QueueEvent:
    """A progress event for item 1 at EPOCH + seconds (for the coalescer)."""
    return QueueEvent(0, E.PROGRESS, EPOCH + timedelta(seconds=seconds), an_item(1))


# -- publishing ------------------------------------------------------------------------


async def test_publish_assigns_increasing_ids_and_needs_no_consumer() -> None:
    clock = FakeClock()
    bus = EventBus(clock)
    assert bus.last_id == 0
    first = bus.publish(E.GRABBED, an_item(7), "grabbed it")
    clock.advance(seconds=1)
    second = bus.publish(E.CLIENT_BACK, client="aria2")
    assert (first.id, second.id) == (1, 2)
    assert (first.type, first.item, first.message, first.at) == (
        E.GRABBED, an_item(7), "grabbed it", EPOCH)
    assert first.client is None  # the item has no client yet
    assert (second.item, second.client, second.at) == (None, "aria2", EPOCH + timedelta(
        seconds=1))
    ids = [bus.publish(E.PROGRESS, an_item(7)).id for _ in range(5000)]
    assert ids == list(range(3, 5003))
    assert bus.last_id == bus.published == 5002


async def test_an_event_takes_its_client_from_the_item_unless_one_is_given() -> None:
    bus = EventBus(FakeClock())
    item = an_item(1, download_client="qbit")
    assert bus.publish(E.SENT, item).client == "qbit"
    assert bus.publish(E.SENT, item, client="aria2").client == "aria2"


async def test_publish_to_a_full_notifier_queue_drops_and_counts_without_blocking() -> None:
    bus = EventBus(FakeClock(), queue_size=2)
    slow, other = Recorder("slow"), Recorder("other")
    bus.add(slow)
    bus.add(other)
    assert bus.notifiers == [slow, other]
    for _ in range(5):  # not started: nothing drains the queues
        bus.publish(E.GRABBED, an_item(1))
    assert bus.published == 5
    assert bus.stats()["slow"].dropped == bus.stats()["other"].dropped == 3
    bus.start()
    try:
        await until(lambda: bus.stats()["slow"].delivered == 2)
        await asyncio.sleep(0.01)
        assert slow.ids == other.ids == [1, 2]  # the oldest kept, the newest dropped
        assert bus.stats()["slow"].dropped == 3
    finally:
        await bus.aclose()


async def test_a_full_subscription_drops_what_waits_and_says_so_without_blocking() -> None:
    bus = EventBus(FakeClock())
    full = bus.subscribe(size=2)
    roomy = bus.subscribe(size=10)
    for _ in range(5):  # 1, 2 wait; 3 finds it full: 1, 2 dropped; 4; 5: 3, 4 dropped
        bus.publish(E.GRABBED, an_item(1))
    assert full.dropped == 4 and roomy.dropped == 0
    got = [await full.get(0.01), await full.get(0.01)]
    assert got[0] is not None and got[0].id == 5 and got[1] is None
    assert full.take_stale() is True and full.take_stale() is False
    assert roomy.take_stale() is False
    assert [(await roomy.get(0.01)).id for _ in range(5)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    bus.publish(E.SENT, an_item(1))  # it keeps up again: nothing more is dropped
    assert (await full.get(0.01)).id == 6 and full.dropped == 4  # type: ignore[union-attr]


async def test_after_a_gap_live_subscriptions_start_afresh_and_no_resume_crosses_it(
) -> None:
    bus = EventBus(FakeClock())
    live = bus.subscribe()
    for n in (1, 2):
        bus.publish(E.GRABBED, an_item(n))
    assert bus.since(1) is not None and not live.take_stale()
    bus.lost_track()  # the relay missed other processes' events
    gap = bus.last_id
    assert gap == 3 and bus.gaps == 1  # the gap has an id of its own, never an event's
    later = bus.subscribe()
    bus.publish(E.SENT, an_item(1))
    assert live.take_stale() and not live.take_stale()
    assert not later.take_stale()  # it started after the gap
    assert bus.since(0) is None and bus.since(2) is None  # from before the gap: reset
    assert [e.id for e in bus.since(gap) or ()] == [4]  # from the gap on: a replay
    assert bus.since(4) == []
    assert [(await live.get(0.01)).id for _ in range(3)] == [1, 2, 4]  # type: ignore[union-attr]


async def test_a_closed_subscription_gets_nothing_more() -> None:
    bus = EventBus(FakeClock())
    subscription = bus.subscribe()
    bus.publish(E.GRABBED, an_item(1))
    subscription.close()
    bus.publish(E.GRABBED, an_item(2))
    first = await subscription.get(0.01)
    assert first is not None and first.id == 1
    assert await subscription.get(0.01) is None
    subscription.close()  # twice is harmless


# -- delivery --------------------------------------------------------------------------


async def test_a_notifier_receives_the_events_in_order() -> None:
    bus = EventBus(FakeClock())
    notifier = Recorder("hook")
    bus.add(notifier)
    bus.start()
    try:
        types = [E.GRABBED, E.SENT, E.PAUSED, E.RESUMED, E.COMPLETED, E.REMOVED]
        for type_ in types:
            bus.publish(type_, an_item(1))
        await until(lambda: len(notifier.seen) == len(types))
        assert notifier.ids == [1, 2, 3, 4, 5, 6]
        assert [e.type for e in notifier.seen] == types
        assert bus.stats()["hook"].delivered == 6
    finally:
        await bus.aclose()


async def test_a_failing_notifier_is_counted_and_still_gets_the_next_events() -> None:
    bus = EventBus(FakeClock())
    failing = Recorder("failing", fail=lambda e: e.id in (1, 2))
    other = Recorder("other")
    bus.add(failing)
    bus.add(other)
    bus.start()
    try:
        for n in range(4):
            bus.publish(E.GRABBED, an_item(n))
        await until(lambda: len(failing.seen) == 4 and len(other.seen) == 4)
        await asyncio.sleep(0)
        assert failing.ids == other.ids == [1, 2, 3, 4]
        stats = bus.stats()
        assert (stats["failing"].failed, stats["failing"].delivered) == (2, 2)
        assert (stats["other"].failed, stats["other"].delivered) == (0, 4)
    finally:
        await bus.aclose()


async def test_a_slow_notifier_times_out_and_does_not_delay_another() -> None:
    bus = EventBus(FakeClock(), timeout=0.05)
    slow = Recorder("slow", sleep=1.0)
    fast = Recorder("fast")
    bus.add(slow)
    bus.add(fast)
    bus.start()
    try:
        started = time.perf_counter()
        for n in range(3):
            bus.publish(E.GRABBED, an_item(n))
        await until(lambda: len(fast.seen) == 3)
        assert fast.at[-1] - started < 0.04  # well before the slow one's first timeout
        assert bus.stats()["slow"].timed_out == 0  # still on its first event
        assert slow.ids == [1]
        await until(lambda: bus.stats()["slow"].timed_out == 3)
        assert time.perf_counter() - started < 0.5  # 3 x 0.05 s, not 3 x 1 s
        assert slow.ids == [1, 2, 3] and slow.cancelled == 3
        assert bus.stats()["slow"].delivered == 0
        assert bus.stats()["fast"].delivered == 3
    finally:
        await bus.aclose()


async def test_aclose_cancels_the_delivery_tasks_and_start_resumes_them() -> None:
    before = asyncio.all_tasks()
    bus = EventBus(FakeClock())  # a 10 s limit: only the cancellation ends the wait
    blocked = Recorder("blocked", block=True)
    idle = Recorder("idle")
    bus.add(blocked)
    bus.add(idle)
    bus.start()
    bus.start()  # a second start adds no task
    assert len(asyncio.all_tasks() - before) == 2
    bus.publish(E.GRABBED, an_item(1))
    await until(lambda: len(blocked.seen) == 1 and len(idle.seen) == 1)
    await bus.aclose()
    assert asyncio.all_tasks() - before == set()
    assert blocked.cancelled == 1
    assert bus.stats()["blocked"].delivered == 0
    bus.publish(E.SENT, an_item(1))  # queued, not delivered, while closed
    await asyncio.sleep(0.01)
    assert idle.ids == [1]
    blocked.release.set()
    bus.start()
    try:
        await until(lambda: idle.ids == [1, 2] and blocked.ids == [1, 2])
    finally:
        await bus.aclose()
    assert asyncio.all_tasks() - before == set()


async def test_drained_waits_until_every_notifier_has_handled_every_event() -> None:
    bus = EventBus(FakeClock(), timeout=0.05)
    slow = Recorder("slow", sleep=0.01)
    stuck = Recorder("stuck", block=True)
    bus.add(slow)
    bus.add(stuck)
    bus.start()
    try:
        for n in range(3):
            bus.publish(E.GRABBED, an_item(n))
        await asyncio.wait_for(bus.drained(), 2.0)
        stats = bus.stats()
        assert (stats["slow"].delivered, stats["stuck"].timed_out) == (3, 3)
        await asyncio.sleep(0.01)  # both idle on their queues before closing
    finally:
        await bus.aclose()


@pytest.mark.parametrize("fails", [False, True], ids=["succeeding", "failing"])
async def test_aclose_returns_while_a_quick_notifier_is_being_called(fails: bool) -> None:
    bus = EventBus(FakeClock())
    quick = Recorder("quick", fail=(lambda e: True) if fails else None)
    bus.add(quick)
    bus.start()
    await asyncio.sleep(0)  # the delivery task waits on its queue
    bus.publish(E.GRABBED, an_item(1))
    await asyncio.sleep(0)  # it takes the event: notify() is scheduled
    closing = asyncio.ensure_future(bus.aclose())  # runs in the same step as notify()
    done, _ = await asyncio.wait({closing}, timeout=0.5)
    try:
        assert quick.ids == [1]
        assert closing in done, "aclose() did not return: a delivery task outlived it"
    finally:
        closing.cancel()  # cancels the gather, which cancels the tasks once more
        await asyncio.gather(closing, return_exceptions=True)
        await bus.aclose()


async def test_delivery_to_notifiers_coalesces_progress_per_item() -> None:
    clock = FakeClock()
    bus = EventBus(clock)
    notifier = Recorder("hook")
    bus.add(notifier)
    bus.start()
    try:
        for _ in range(3):
            bus.publish(E.PROGRESS, an_item(1))  # same instant: one passes
        bus.publish(E.PROGRESS, an_item(2))
        clock.advance(seconds=1)
        bus.publish(E.PROGRESS, an_item(1))
        bus.publish(E.COMPLETED, an_item(1))
        await until(lambda: len(notifier.seen) == 4)
        await asyncio.sleep(0.01)
        assert notifier.ids == [1, 4, 5, 6]
    finally:
        await bus.aclose()


async def test_stream_yields_coalesced_events_and_none_when_quiet() -> None:
    bus = EventBus(FakeClock())
    subscription = bus.subscribe()
    for _ in range(3):
        bus.publish(E.PROGRESS, an_item(1))
    bus.publish(E.COMPLETED, an_item(1))
    events = stream(subscription, heartbeat=0.01)
    got = [await anext(events) for _ in range(3)]
    assert [e.id if e is not None else None for e in got] == [1, 4, None]
    await events.aclose()


async def _read_all(subscription: Subscription) -> list[int]:
    return [e.id async for e in stream(subscription, heartbeat=3600) if e is not None]


async def test_ending_the_streams_wakes_a_waiting_reader_after_what_was_queued() -> None:
    bus = EventBus(FakeClock())
    subscription = bus.subscribe()
    bus.publish(E.GRABBED, an_item(1))
    reader = asyncio.create_task(_read_all(subscription))
    try:
        await until(lambda: subscription.queue.empty())  # it read 1 and waits (an hour)
        bus.publish(E.SENT, an_item(1))
        bus.end_streams()
        bus.publish(E.COMPLETED, an_item(1))  # after the end: not for this stream
        assert await asyncio.wait_for(reader, 10) == [1, 2]
    finally:
        reader.cancel()


async def test_a_full_stream_and_one_opened_after_the_end_both_end() -> None:
    bus = EventBus(FakeClock())
    full = bus.subscribe(size=2)
    for _ in range(2):
        bus.publish(E.GRABBED, an_item(1))
    bus.end_streams()
    late = bus.subscribe()
    assert await asyncio.wait_for(_read_all(full), 10) == [2]  # 1 made room for the end
    assert await asyncio.wait_for(_read_all(late), 10) == []


# -- the coalescer ---------------------------------------------------------------------


def test_progress_for_one_item_passes_at_most_once_a_second() -> None:
    coalescer = Coalescer()
    due = [coalescer.due(at(s)) for s in (0, 0.5, 0.999, 1.0, 1.5, 1.999, 2.0, 5.0)]
    assert due == [True, False, False, True, False, False, True, True]


def test_the_coalescing_window_goes_by_the_events_time_and_can_be_set() -> None:
    coalescer = Coalescer(every=timedelta(seconds=10))
    assert [coalescer.due(at(s)) for s in (0, 9.9, 10)] == [True, False, True]


def test_progress_of_other_items_is_coalesced_independently() -> None:
    coalescer = Coalescer()
    one, two = an_item(1), an_item(2)
    at0 = EPOCH
    at_half = EPOCH + timedelta(seconds=0.5)
    assert coalescer.due(QueueEvent(1, E.PROGRESS, at0, one))
    assert coalescer.due(QueueEvent(2, E.PROGRESS, at0, two))
    assert not coalescer.due(QueueEvent(3, E.PROGRESS, at_half, one))
    assert not coalescer.due(QueueEvent(4, E.PROGRESS, at_half, two))


def test_other_events_always_pass_and_reset_the_items_window() -> None:
    coalescer = Coalescer()
    item = an_item(1)

    def event(type_: EventType, seconds: float) -> QueueEvent:
        return QueueEvent(0, type_, EPOCH + timedelta(seconds=seconds), item)

    assert coalescer.due(event(E.PROGRESS, 0))
    assert coalescer.due(event(E.PAUSED, 0.1))
    assert coalescer.due(event(E.RESUMED, 0.1))  # two in a row: both pass
    assert coalescer.due(event(E.PROGRESS, 0.2))  # the window started afresh
    assert not coalescer.due(event(E.PROGRESS, 0.3))
    assert coalescer.due(event(E.COMPLETED, 0.3))
    client_events = [QueueEvent(0, t, EPOCH, client="aria2")
                     for t in (E.CLIENT_UNAVAILABLE, E.CLIENT_BACK, E.CLIENT_BACK)]
    assert all(coalescer.due(e) for e in client_events)


# -- resuming ------------------------------------------------------------------------


async def test_since_gives_the_events_after_an_id() -> None:
    bus = EventBus(FakeClock())
    for n in range(5):
        bus.publish(E.GRABBED, an_item(n))
    assert [e.id for e in bus.since(2) or ()] == [3, 4, 5]
    assert [e.id for e in bus.since(0) or ()] == [1, 2, 3, 4, 5]
    assert [e.id for e in bus.since(4) or ()] == [5]


async def test_since_is_empty_when_up_to_date() -> None:
    bus = EventBus(FakeClock())
    assert bus.since(0) == []
    for n in range(3):
        bus.publish(E.GRABBED, an_item(n))
    assert bus.since(3) == []


async def test_since_an_id_from_the_future_is_none() -> None:
    bus = EventBus(FakeClock())
    assert bus.since(1) is None
    bus.publish(E.GRABBED, an_item(1))
    assert bus.since(2) is None
    assert bus.since(10**9) is None


async def test_since_is_none_when_the_next_event_is_no_longer_kept() -> None:
    bus = EventBus(FakeClock(), keep=3)
    for n in range(5):
        bus.publish(E.GRABBED, an_item(n))  # keeps 3, 4, 5
    assert bus.since(0) is None
    assert bus.since(1) is None  # 2 is gone
    assert [e.id for e in bus.since(2) or ()] == [3, 4, 5]
    assert [e.id for e in bus.since(3) or ()] == [4, 5]
    assert bus.since(5) == []


# -- events from other processes (relayed) -------------------------------------------------


async def test_a_relayed_event_reaches_streams_and_only_leader_only_notifiers() -> None:
    leading = True
    bus = EventBus(FakeClock(), leading=lambda: leading)
    plain, everywhere = Recorder("webhook"), Recorder("telegram")
    everywhere.leader_only = True  # type: ignore[attr-defined]
    bus.add(plain)
    bus.add(everywhere)
    bus.start()
    subscription = bus.subscribe()
    try:
        bus.publish(E.GRABBED, an_item(1))
        relayed = bus.relay(E.COMPLETED, EPOCH, an_item(2), "done elsewhere", "qbt")
        assert relayed.remote and relayed.id == 2 and relayed.client == "qbt"
        assert [e.id for e in bus.since(0) or ()] == [1, 2]
        assert [(await subscription.get(1)) for _ in range(2)][1] is relayed
        leading = False  # another process now runs the processor
        bus.publish(E.SENT, an_item(1))
        bus.relay(E.FAILED, EPOCH, an_item(3))
        await bus.drained()
        assert [e.type for e in plain.seen] == [E.GRABBED, E.SENT]  # its own process's
        assert [e.type for e in everywhere.seen] == [E.GRABBED, E.COMPLETED]
        assert bus.published == 2 and bus.relayed == 2
    finally:
        subscription.close()
        await bus.aclose()


class Batcher:
    """A notifier that takes the waiting events in one call."""

    name = "batcher"
    queue_size = 5000

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.fail = fail

    async def notify(self, event: QueueEvent) -> None:
        raise AssertionError("notify_many is used when there is one")

    async def notify_many(self, events: list[QueueEvent]) -> None:
        self.calls.append([e.id for e in events])
        if self.fail:
            raise RuntimeError("down")


async def test_a_notifier_with_notify_many_gets_the_waiting_events_at_once() -> None:
    from core.events import BATCH

    bus = EventBus(FakeClock(), queue_size=10)
    batcher, failing = Batcher(), Batcher(fail=True)
    failing.name = "failing"
    bus.add(batcher)
    bus.add(failing)
    bus.start()
    try:
        for n in range(1200):  # far over the bus's own bound of 10
            bus.publish(E.REMOVED, an_item(n))
        await bus.drained()
        assert [len(c) for c in batcher.calls] == [BATCH, BATCH, 200]
        assert [i for c in batcher.calls for i in c] == list(range(1, 1201))
        assert bus.stats()["batcher"] == DeliveryStats(delivered=1200)
        assert bus.stats()["failing"].failed == 1200
        for _ in range(3):  # progress of one item within a second: coalesced in a batch
            bus.publish(E.PROGRESS, an_item(1))
        await bus.drained()
        assert batcher.calls[-1] == [1201]
    finally:
        await bus.aclose()


async def test_stream_ids_name_the_run() -> None:
    bus, other = EventBus(FakeClock()), EventBus(FakeClock())
    assert bus.run != other.run
    for n in range(3):
        bus.publish(E.GRABBED, an_item(n))
        other.publish(E.GRABBED, an_item(n))
    assert bus.stream_id(2) == f"{bus.run}-2"
    assert [e.id for e in bus.since_stream_id(bus.stream_id(1)) or ()] == [2, 3]
    assert bus.since_stream_id(f" {bus.stream_id(3)} ") == []
    for foreign in (other.stream_id(1), "1", "", f"{bus.run}-", f"{bus.run}-x"):
        assert bus.since_stream_id(foreign) is None, foreign


# -- the publishing repository -----------------------------------------------------------


class Store:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.inner = MemoryQueueRepository(self.clock)
        self.bus = EventBus(self.clock)
        self.items = PublishingRepository(self.inner, self.bus)

    def events(self) -> list[QueueEvent]:
        return self.bus.since(0) or []


@pytest.fixture
def store() -> Store:
    return Store()


async def test_a_grab_publishes_grabbed_with_the_stored_item(store: Store) -> None:
    stored = await store.items.add(new_item(1), HistoryEvent("grabbed", "from Radarr"))
    (event,) = store.events()
    assert (event.type, event.item, event.message) == (E.GRABBED, stored, "from Radarr")
    assert event.item is not None and event.item.id == stored.id == 1


async def test_sending_publishes_sent_with_the_saved_item(store: Store) -> None:
    await store.items.add(new_item(1), HistoryEvent("grabbed"))
    (claimed,) = await store.items.claim("w", 1, EPOCH, timedelta(minutes=5))
    sent = claimed.evolve(state=S.DOWNLOADING, download_client="aria2", download_id="x",
                          lease_owner=None, lease_expires_at=None)
    (saved,) = await store.items.update([(claimed, sent)], HistoryEvent("sent", "as x"))
    grabbed, event = store.events()
    assert grabbed.type is E.GRABBED
    assert (event.type, event.message, event.client) == (E.SENT, "as x", "aria2")
    assert event.item == saved == await store.inner.get(1)
    assert event.item is not None and event.item.version == claimed.version + 1


async def test_internal_history_events_publish_nothing(store: Store) -> None:
    item = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    internal = [CLAIMED] + [HistoryEvent(name) for name in (
        "rescued", "released", "readded", "priorityChanged")]
    for event in internal:
        assert event.event not in FROM_HISTORY
        current = await store.items.get(item.id)
        assert current is not None
        await store.items.update([(current, current.evolve())], event)
    assert [e.type for e in store.events()] == [E.GRABBED]
    assert len(await store.items.history(item.id)) == 6  # the writes did happen


async def test_an_unrecorded_progress_write_still_publishes_progress(store: Store) -> None:
    item = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    (saved,) = await store.items.update(
        [(item, item.evolve(progress=50.0, size_left=500))],
        HistoryEvent("progress", recorded=False))
    assert [(e.type, e.item) for e in store.events()][1:] == [(E.PROGRESS, saved)]
    assert [h.event for h in await store.items.history(item.id)] == ["grabbed"]


async def test_each_history_event_out_publishes_its_type(store: Store) -> None:
    item = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    for name, type_ in FROM_HISTORY.items():
        if name in ("grabbed", "removed"):
            continue
        current = await store.items.get(item.id)
        assert current is not None
        (saved,) = await store.items.update([(current, current.evolve())], HistoryEvent(name))
        last = store.events()[-1]
        assert (last.type, last.item) == (type_, saved), name


async def test_a_removal_publishes_removed(store: Store) -> None:
    one = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    two = await store.items.add(new_item(2), HistoryEvent("grabbed"))
    await store.items.delete([one, two], HistoryEvent("removed", "blocklisted"))
    removed = store.events()[2:]
    assert [(e.type, e.item, e.message) for e in removed] == [
        (E.REMOVED, one, "blocklisted"), (E.REMOVED, two, "blocklisted")]
    assert await store.inner.get(one.id) is None


async def test_a_failing_write_publishes_nothing(store: Store) -> None:
    item = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    (newer,) = await store.items.update([(item, item.evolve())], HistoryEvent("claimed"))
    with pytest.raises(ConcurrentModification):  # `item` is a version behind
        await store.items.update([(item, item.evolve(state=S.DOWNLOADING))],
                                 HistoryEvent("sent"))
    with pytest.raises(Duplicate):
        await store.items.add(new_item(1), HistoryEvent("grabbed"))
    assert [e.type for e in store.events()] == [E.GRABBED]
    assert await store.inner.get(item.id) == newer


async def test_removing_an_item_that_is_gone_already_publishes_nothing(store: Store) -> None:
    item = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    await store.items.delete([item], HistoryEvent("removed"))
    await store.items.delete([item], HistoryEvent("removed"))  # a second, late remover
    assert [e.type for e in store.events()] == [E.GRABBED, E.REMOVED]


async def test_cleaning_up_finished_items_in_bulk_publishes_nothing(store: Store) -> None:
    # Retention and /queue/cleanup forget items that finished long ago: not an event.
    item = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    await store.items.update([(item, item.evolve(state=S.COMPLETED))],
                             HistoryEvent("downloadCompleted"))
    store.clock.advance(days=2)
    assert await store.items.delete_finished(store.clock.now()) == 1
    assert store.events()[-1].type is E.COMPLETED
    assert "cleanedUp" not in FROM_HISTORY


async def test_other_calls_pass_through_to_the_inner_repository(store: Store) -> None:
    item = await store.items.add(new_item(1), HistoryEvent("grabbed"))
    assert store.items.inner is store.inner
    assert await store.items.get(item.id) == await store.inner.get(item.id) == item
    assert await store.items.get_many([item.id]) == [item]
    assert await store.items.counts() == await store.inner.counts()
    assert (await store.items.counts()).total() == 1
    assert await store.items.find_active(item.info_hash, None) == item
    assert await store.items.history(item.id) == await store.inner.history(item.id)
    claimed = await store.items.claim("w", 5, EPOCH, timedelta(minutes=5))
    assert [c.id for c in claimed] == [item.id]
    assert await store.items.expired_leases(EPOCH + timedelta(hours=1)) == claimed
    assert [e.type for e in store.events()] == [E.GRABBED]  # reads and claims: nothing
    with pytest.raises(AttributeError):
        store.items.no_such_method  # noqa: B018


# -- the processor's events ----------------------------------------------------------


class World(BaseWorld):
    """test_processor's world, its repository publishing to a bus the processor also
    publishes client events to."""

    def __init__(self, bus: EventBus | None = None, client: FakeDownloadClient | None = None,
                 **config: object) -> None:
        self.clock = FakeClock(EPOCH)
        self.bus = bus if bus is not None else EventBus(self.clock)
        self.bus.clock = self.clock
        self.items = PublishingRepository(MemoryQueueRepository(self.clock), self.bus)  # type: ignore[assignment]
        self.blocklist = MemoryBlocklistRepository()
        self.client = client or FakeDownloadClient("aria2")
        self.processor = Processor(
            self.items, FakeClients(self.client), self.clock, "test-worker",  # type: ignore[arg-type]
            ProcessorConfig(**config), self.blocklist, events=self.bus)  # type: ignore[arg-type]

    def events(self, *types: EventType, item: int | None = None) -> list[QueueEvent]:
        return [e for e in self.bus.since(0) or ()
                if (not types or e.type in types)
                and (item is None or (e.item is not None and e.item.id == item))]

    def client_events(self) -> list[QueueEvent]:
        return [e for e in self.events(E.CLIENT_UNAVAILABLE, E.CLIENT_BACK) if e.item is None]


async def test_a_client_going_down_in_dispatch_publishes_one_unavailable_then_one_back() -> None:
    world = World()
    items = [await world.grab(n) for n in range(3)]
    world.client.down = True
    await world.processor.dispatch()
    (down,) = world.client_events()
    assert (down.type, down.client, down.item) == (E.CLIENT_UNAVAILABLE, "aria2", None)
    assert down.message == "aria2 is down"
    # the items' own moves to clientUnavailable are item events
    assert sorted(e.item.id for e in world.events(E.CLIENT_UNAVAILABLE)  # type: ignore[union-attr]
                  if e.item is not None) == [i.id for i in items]
    for _ in range(3):  # still down, pass after pass: no new client event
        world.later(minutes=10)
        await world.processor.dispatch()
        await world.processor.sync()
    assert world.client_events() == [down]
    world.client.down = False
    world.later(minutes=30)
    await world.processor.dispatch()
    await world.processor.sync()
    world.later(minutes=1)
    await world.processor.dispatch()
    await world.processor.sync()
    assert [(e.type, e.client, e.item) for e in world.client_events()] == [
        (E.CLIENT_UNAVAILABLE, "aria2", None), (E.CLIENT_BACK, "aria2", None)]
    for item in items:
        assert (await world.get(item)).state is S.DOWNLOADING


async def test_a_client_going_down_in_sync_publishes_one_unavailable_then_one_back() -> None:
    world = World()
    for n in range(3):
        await world.grab(n)
    await world.processor.dispatch()
    world.client.down = True
    await world.processor.sync()
    world.later(minutes=10)
    await world.processor.sync()
    assert [(e.type, e.client, e.item) for e in world.client_events()] == [
        (E.CLIENT_UNAVAILABLE, "aria2", None)]
    world.client.down = False
    world.later(minutes=30)
    await world.processor.sync()
    await world.processor.sync()
    assert [e.type for e in world.client_events()] == [E.CLIENT_UNAVAILABLE, E.CLIENT_BACK]


async def test_a_download_from_grab_to_completion_publishes_its_events_in_order() -> None:
    world = World()
    item = await world.grab(1)
    await world.processor.dispatch()
    await world.processor.sync()  # nothing downloaded yet: only the client's view of it
    await world.processor.sync()  # no change, no event
    for done in (250, 500):
        world.client.advance(item.info_hash or "", done)
        world.later(seconds=2)
        await world.processor.sync()
    world.client.advance(item.info_hash or "", 1000)
    await world.processor.sync()
    events = world.events(item=item.id)
    assert [e.type for e in events] == [E.GRABBED, E.SENT, E.PROGRESS, E.PROGRESS,
                                        E.PROGRESS, E.COMPLETED]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert [e.item.state for e in events] == [  # type: ignore[union-attr]
        S.QUEUED, S.DOWNLOADING, S.DOWNLOADING, S.DOWNLOADING, S.DOWNLOADING, S.COMPLETED]
    assert [e.item.client_status for e in events[2:]] == [  # type: ignore[union-attr]
        "downloading", "downloading", "downloading", None]
    assert [e.item.progress for e in events[2:]] == [0.0, 25.0, 50.0, 100.0]  # type: ignore[union-attr]
    assert [e.client for e in events] == [None, "aria2", "aria2", "aria2", "aria2", "aria2"]
    assert world.events() == events  # nothing else: `claimed` stays internal


# -- notifiers never sit in the processor's path -------------------------------------------


class YieldingClient(FakeDownloadClient):
    """Hands the loop over on every call, as a real client's I/O does, so that the
    delivery tasks run in between the processor's steps; a status call takes 20 ms, so
    that the passes last several notifier timeouts."""

    async def _record(self, method: str, *args: object) -> None:
        await asyncio.sleep(0.02 if method == "statuses" else 0)
        await super()._record(method, *args)


ITEMS = 200


async def passes(bus: EventBus) -> float:
    """Grab ITEMS items, then dispatch and sync until every one completed; the wall
    time of the passes."""
    world = World(bus, YieldingClient("aria2"), max_active=50)
    for n in range(ITEMS):
        await world.grab(n)
    started = time.perf_counter()
    for _ in range(ITEMS):  # 4 rounds are enough; a bound, not a count
        if not await world.processor.dispatch():
            break
        for download_id in list(world.client.downloads):
            world.client.advance(download_id, 500)
        await world.processor.sync()
        for download_id in list(world.client.downloads):
            world.client.advance(download_id, 1000)
        await world.processor.sync()
    elapsed = time.perf_counter() - started
    counts = await world.items.counts()
    assert counts.total(states=frozenset({S.COMPLETED})) == ITEMS
    assert len(world.events(E.COMPLETED)) == ITEMS
    return elapsed


async def test_the_processor_keeps_its_pace_when_every_notifier_is_slow_or_failing() -> None:
    quiet = EventBus(FakeClock())
    alone = await passes(quiet)

    bus = EventBus(FakeClock(), queue_size=100, timeout=0.05)
    sleeper = Recorder("sleeper", sleep=1.0)
    failing = Recorder("failing", fail=lambda e: True)
    stuck = Recorder("stuck", block=True)
    for notifier in (sleeper, failing, stuck):
        bus.add(notifier)
    bus.start()
    try:
        crowded = await passes(bus)
        given = len(failing.seen)
        assert crowded < alone * 3 + 0.5, (crowded, alone)
        assert bus.published == 4 * ITEMS  # grabbed, sent, progress, completed each
        await until(lambda: bus.stats()["stuck"].timed_out >= 1
                    and bus.stats()["sleeper"].timed_out >= 1)
        stats = bus.stats()
        assert stats["sleeper"].dropped > 0 and stats["stuck"].dropped > 0
        assert stats["failing"].failed > 0
        assert all(s.delivered == 0 for s in stats.values())
        assert given > 0  # the delivery tasks did run in between the passes' steps
    finally:
        await bus.aclose()
    assert stuck.cancelled >= 1 and sleeper.cancelled >= 1
