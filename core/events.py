"""Events out: what changed in the queue, as typed events, fanned out to notifiers and
live streams. Publishing never blocks and never raises: each consumer has a bounded
queue; a consumer that falls behind loses events (counted), never the processor's time.

Every state change is a repository write with a HistoryEvent; `PublishingRepository`
wraps the queue repository and publishes after each write has committed, so an event is
never sent for a change that did not happen."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from core.domain import HistoryEvent, NewItem, QueueItem

if TYPE_CHECKING:  # core.ports imports this module (notification events)
    from core.ports import Clock, QueueRepository

log = logging.getLogger(__name__)
FAILURE_LOG_EVERY = 100
BATCH = 500  # events per notify_many() call at most


class EventType(StrEnum):
    GRABBED = "grabbed"
    SENT = "sent"
    PROGRESS = "progress"
    PAUSED = "paused"
    RESUMED = "resumed"
    COMPLETED = "completed"
    RETRY_SCHEDULED = "retryScheduled"
    FAILED = "failed"
    STALLED = "stalled"
    REMOVED = "removed"
    CLIENT_UNAVAILABLE = "clientUnavailable"
    CLIENT_BACK = "clientBack"


# The history events that are events out; the others (claimed, rescued...) are internal.
# Retention and /queue/cleanup forget finished items in bulk: no event.
FROM_HISTORY: dict[str, EventType] = {
    "grabbed": EventType.GRABBED, "sent": EventType.SENT, "progress": EventType.PROGRESS,
    "paused": EventType.PAUSED, "resumed": EventType.RESUMED,
    "downloadCompleted": EventType.COMPLETED, "retryScheduled": EventType.RETRY_SCHEDULED,
    "downloadFailed": EventType.FAILED, "stalled": EventType.STALLED,
    "removed": EventType.REMOVED,
    "clientUnavailable": EventType.CLIENT_UNAVAILABLE,
}


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """One change. `id` grows by one per event in this process (SSE's Last-Event-ID)."""

    id: int
    type: EventType
    at: datetime
    item: QueueItem | None = None
    message: str | None = None
    client: str | None = None
    remote: bool = False  # made by another process, relayed here (EventBus.relay)


class Notifier(Protocol):
    """Receives events (a webhook, Telegram, a plugin). `notify` may be slow or fail:
    it runs in its own task behind a bounded queue, with a time limit.

    A notifier may also have `queue_size` (its own bound instead of the bus's) and
    `async def notify_many(events)`: then it is given every event waiting in its queue
    at once (up to BATCH), one call and one time limit for them all.

    By default a notifier hears the changes made in its own process, so that with
    several processes on one Postgres database each change is delivered once, by the
    process that made it. A notifier with `leader_only = True` (one that keeps state
    about the whole queue, like Telegram's summary) hears every process's changes
    instead, but only in the process that currently runs the processor."""

    name: str

    async def notify(self, event: QueueEvent) -> None: ...


@dataclass
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    timed_out: int = 0


class Subscription:
    """A live stream's own bounded queue of events. A reader that falls `size` events
    behind has lost track: what is waiting is dropped (counted), `stale` is set for the
    reader to start afresh (SSE: a `reset`), and the newer events queue again. The bus
    sets `stale` too when events may have been missed upstream (EventBus.lost_track)."""

    def __init__(self, bus: EventBus, size: int) -> None:
        self._bus = bus
        # None in the queue is the end (end()), after the events queued before it.
        self.queue: asyncio.Queue[QueueEvent | None] = asyncio.Queue(size)
        self.dropped = 0
        self.stale = False
        self.ended = False

    def offer(self, event: QueueEvent) -> None:
        if self.ended:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
                self.dropped += 1
            self.stale = True
            self.queue.put_nowait(event)

    def take_stale(self) -> bool:
        """Whether events were dropped or missed since the last call."""
        stale, self.stale = self.stale, False
        return stale

    def end(self) -> None:
        """The server is stopping: the reader gets what is queued, then its stream ends
        (a reader waiting for an event is woken at once)."""
        if self.ended:
            return
        self.ended = True
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(None)

    async def get(self, wait: float) -> QueueEvent | None:
        """The next event, or None after `wait` seconds without one or once ended."""
        try:  # the common case under load: no task or timer per event
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            pass
        try:
            return await asyncio.wait_for(self.queue.get(), wait)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)


@dataclass
class _Channel:
    notifier: Notifier
    queue: asyncio.Queue[QueueEvent]
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    task: asyncio.Task[None] | None = None
    leader_only: bool = False


class EventBus:
    """Fans events out to notifiers (each drained by its own task, `timeout` seconds per
    delivery) and to live subscriptions; keeps the last `keep` events for resuming.

    Events made by other processes arrive through relay() (infrastructure's Postgres
    relay): they reach the live subscriptions and, while `leading()` says this process
    runs the processor, the leader-only notifiers."""

    def __init__(self, clock: Clock, queue_size: int = 1000, timeout: float = 10.0,
                 keep: int = 2000, leading: Callable[[], bool] | None = None) -> None:
        self.clock = clock
        self.leading = leading or (lambda: True)
        # Names this bus's numbering: a stream id is "<run>-<n>", so that an id from
        # another process or an earlier run is recognised as such (a reset), never
        # mistaken for one of ours.
        self.run = secrets.token_hex(4)
        self.queue_size = queue_size
        self.timeout = timeout
        self._next_id = 1
        self._recent: deque[QueueEvent] = deque(maxlen=keep)
        self._channels: list[_Channel] = []
        self._subscriptions: set[Subscription] = set()
        # The id of the latest gap (events missed; the id itself is never an event's):
        # a resume from before it is a reset.
        self._resume_floor = 0
        self.published = 0
        self.relayed = 0
        self.gaps = 0
        self.streams_ended = False

    # -- consumers ---------------------------------------------------------------------

    def add(self, notifier: Notifier) -> None:
        size = getattr(notifier, "queue_size", None) or self.queue_size
        self._channels.append(_Channel(notifier, asyncio.Queue(size),
                                       leader_only=getattr(notifier, "leader_only", False)))

    @property
    def notifiers(self) -> list[Notifier]:
        return [c.notifier for c in self._channels]

    def stats(self) -> dict[str, DeliveryStats]:
        return {c.notifier.name: c.stats for c in self._channels}

    def subscribe(self, size: int = 1000) -> Subscription:
        subscription = Subscription(self, size)
        self._subscriptions.add(subscription)
        if self.streams_ended:
            subscription.end()
        return subscription

    def end_streams(self) -> None:
        """End every live stream, and those that start from now on: the server is
        stopping, and an open stream would otherwise hold the stop for ever."""
        self.streams_ended = True
        for subscription in self._subscriptions:
            subscription.end()

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def since(self, event_id: int) -> list[QueueEvent] | None:
        """The kept events after `event_id`; None when some of them are no longer kept
        (or the id is from another run): the caller must start afresh."""
        if event_id >= self._next_id or event_id < self._resume_floor:
            return None
        after = [e for e in self._recent if e.id > event_id]
        if event_id < self._next_id - 1 and (not after or after[0].id != event_id + 1):
            return None
        return after

    @property
    def last_id(self) -> int:
        return self._next_id - 1

    def stream_id(self, event_id: int) -> str:
        return f"{self.run}-{event_id}"

    def since_stream_id(self, token: str) -> list[QueueEvent] | None:
        """since() for a stream id (Last-Event-ID); None for one that is not ours."""
        run, _, number = token.strip().rpartition("-")
        if run != self.run or not number.isdigit():
            return None
        return self.since(int(number))

    # -- publishing --------------------------------------------------------------------

    def publish(self, type_: EventType, item: QueueItem | None = None,
                message: str | None = None, client: str | None = None) -> QueueEvent:
        event = QueueEvent(self._next_id, type_, self.clock.now(), item, message,
                           client or (item.download_client if item else None))
        self.published += 1
        return self._fan_out(event)

    def relay(self, type_: EventType, at: datetime, item: QueueItem | None = None,
              message: str | None = None, client: str | None = None) -> QueueEvent:
        """An event another process published: numbered here (Last-Event-ID is per
        process), kept for resuming, given to the live subscriptions and, in the
        leading process, to the leader-only notifiers. Never to the others: the process
        that made the change delivers it to them."""
        event = QueueEvent(self._next_id, type_, at, item, message,
                           client or (item.download_client if item else None), remote=True)
        self.relayed += 1
        return self._fan_out(event)

    def lost_track(self) -> None:
        """Events from other processes may have been missed (the relay was
        disconnected): every live subscription is told to start afresh (SSE: `reset`),
        and a Last-Event-ID from before this point gets a reset instead of a replay
        that would skip them silently. The gap takes an id of its own, which a reset
        names: a client that started afresh resumes from there."""
        self.gaps += 1
        self._resume_floor = self._next_id
        self._next_id += 1
        for subscription in self._subscriptions:
            subscription.stale = True

    def _fan_out(self, event: QueueEvent) -> QueueEvent:
        """To the notifiers that hear it (leader-only ones while this process leads;
        the others only this process's own events), then to the live subscriptions."""
        leading = None
        for channel in self._channels:
            if channel.leader_only:
                if leading is None:
                    leading = self.leading()
                if not leading:
                    continue
            elif event.remote:
                continue
            try:
                channel.queue.put_nowait(event)
            except asyncio.QueueFull:
                channel.stats.dropped += 1
        self._next_id += 1
        self._recent.append(event)
        for subscription in list(self._subscriptions):
            subscription.offer(event)
        return event

    # -- delivery ----------------------------------------------------------------------

    def start(self) -> None:
        for channel in self._channels:
            if channel.task is None:
                channel.task = asyncio.get_running_loop().create_task(self._deliver(channel))

    async def _deliver(self, channel: _Channel) -> None:
        coalesced = Coalescer()
        many = getattr(channel.notifier, "notify_many", None)
        queue = channel.queue
        while True:
            taken = [await queue.get()]
            if many is not None:
                while len(taken) < BATCH and not queue.empty():
                    taken.append(queue.get_nowait())
            try:
                due = [e for e in taken if coalesced.due(e)]
                if due:
                    await self._notify(channel, due, many)
            finally:
                for _ in taken:
                    queue.task_done()

    async def _notify(self, channel: _Channel, events: list[QueueEvent],
                      many: Callable[[list[QueueEvent]], Awaitable[None]] | None) -> None:
        stats = channel.stats
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
            # cancellation of aclose() when the notifier finishes in the same step.
            async with asyncio.timeout(self.timeout):
                if many is not None:
                    await many(events)
                else:
                    await channel.notifier.notify(events[0])
            stats.delivered += len(events)
        except TimeoutError:
            stats.timed_out += len(events)
            log.warning("Notifier %s took over %.0f s; %d event(s) from %d dropped",
                        channel.notifier.name, self.timeout, len(events), events[0].id)
        except Exception:
            before = stats.failed
            stats.failed += len(events)
            # The first failure with its traceback; then one line per FAILURE_LOG_EVERY
            # (a notifier that always fails must not flood the log or the loop).
            if before == 0:
                log.exception("Notifier %s failed on event %d", channel.notifier.name,
                              events[0].id)
            elif before // FAILURE_LOG_EVERY != stats.failed // FAILURE_LOG_EVERY:
                log.warning("Notifier %s has failed %d times", channel.notifier.name,
                            stats.failed)

    async def drained(self) -> None:
        """Wait until every event published so far has been handled by every notifier
        (tests, and a graceful stop)."""
        await asyncio.gather(*(c.queue.join() for c in self._channels if c.task))

    async def aclose(self) -> None:
        tasks = [c.task for c in self._channels if c.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in self._channels:
            channel.task = None


class Coalescer:
    """At most one progress event per item per `every` (the others are skipped: the
    next one carries the newer numbers); every other event always passes."""

    def __init__(self, every: timedelta = timedelta(seconds=1)) -> None:
        self.every = every
        self._last: dict[int, datetime] = {}

    def due(self, event: QueueEvent) -> bool:
        if event.item is None:
            return True
        if event.type is not EventType.PROGRESS:
            self._last.pop(event.item.id, None)
            return True
        last = self._last.get(event.item.id)
        if last is not None and event.at - last < self.every:
            return False
        self._last[event.item.id] = event.at
        return True


class PublishingRepository:
    """A QueueRepository that publishes an event after each write that is one."""

    def __init__(self, inner: QueueRepository, bus: EventBus) -> None:
        self.inner = inner
        self.bus = bus

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _publish(self, items: Sequence[QueueItem], event: HistoryEvent) -> None:
        kind = FROM_HISTORY.get(event.event)
        if kind is None:
            return
        for item in items:
            self.bus.publish(kind, item, event.message)

    async def add(self, item: NewItem, event: HistoryEvent, *,
                  refuse_completed: bool = False) -> QueueItem:
        stored = await self.inner.add(item, event, refuse_completed=refuse_completed)
        self._publish([stored], event)
        return stored

    async def update(self, changes: Sequence[tuple[QueueItem, QueueItem]],
                     event: HistoryEvent) -> list[QueueItem]:
        saved = await self.inner.update(changes, event)
        self._publish(saved, event)
        return saved

    async def delete(self, items: Sequence[QueueItem], event: HistoryEvent) -> None:
        present = await self.inner.get_many([i.id for i in items])  # gone: no event
        await self.inner.delete(items, event)
        self._publish(present, event)


async def stream(subscription: Subscription, heartbeat: float
                 ) -> AsyncIterator[QueueEvent | None]:
    """The subscription's events, coalesced; None every `heartbeat` seconds of quiet.
    It ends when the subscription is ended (the server stops)."""
    coalesced = Coalescer()
    while True:
        event = await subscription.get(heartbeat)
        if event is None:
            if subscription.ended:
                return
            yield None
        elif coalesced.due(event):
            yield event
