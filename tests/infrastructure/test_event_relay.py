"""Events across processes (infrastructure/event_relay.py): what one process publishes
reaches the other processes' live streams through Postgres LISTEN/NOTIFY, on the real
server; an item goes over the wire whole (its download URL aside), or by its id when it
is too big; nothing echoes back; leader-only notifiers hear every process's events only
where the processor runs; a dropped listening connection is opened again.

Each test listens on a channel of its own, so that tests never hear each other."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import asyncpg
import orjson
import pytest

from core.domain import MovieInfo, Priority, QueueItem, StatusMessage
from core.events import EventBus, EventType, QueueEvent, Subscription
from core.quality import CustomFormatRef, Language, QualityModel, Revision, quality_for
from core.retry import RetryPolicy
from infrastructure.db.mapping import item_from_wire, item_to_wire
from infrastructure.event_relay import MAX_PAYLOAD, PostgresEventRelay, decode, encode
from infrastructure.leader import plain_dsn
from tests.core.test_events import an_item
from tests.fakes import EPOCH, FakeClock

E = EventType


def rich_item(n: int = 7, **fields: object) -> QueueItem:
    """An item with every kind of field set (nested values, enums, datetimes, None)."""
    item = replace(
        an_item(n), movie=MovieInfo("Heat", 1995, 949, "tt0113277", "heat"), movie_id=42,
        download_url="magnet:?xt=urn:btih:" + "ab" * 20, release_id="r-1", indexer="Local",
        size=9_000_000_000, size_left=1_000, progress=88.8, download_speed=5_000_000,
        upload_speed=12, eta_seconds=90, estimated_completion_at=EPOCH + timedelta(hours=1),
        priority=Priority.HIGH,
        status_messages=(StatusMessage("Heat", ("slow", "no seeds")),),
        error_message="tracker said no", attempts=2, next_attempt_at=EPOCH,
        download_client="aria2", download_id="gid1", output_path="/data/x",
        category="radarr", seeders=40, leechers=3, started_at=EPOCH, completed_at=None,
        quality=QualityModel(quality_for("bluray", 1080), Revision(2, 0, True)),
        languages=(Language(1, "English"), Language(2, "French")),
        custom_formats=(CustomFormatRef(3, "HDR"),), custom_format_score=150,
        lease_owner="host:1", lease_expires_at=EPOCH + timedelta(seconds=30), rescues=1,
        progress_at=EPOCH, retry_policy=RetryPolicy.parse("60,300,900"))
    return replace(item, **fields)  # type: ignore[arg-type]


# -- the wire format (no database) ---------------------------------------------------------


def test_an_item_goes_over_the_wire_whole() -> None:
    for item in (rich_item(), an_item(3)):
        assert item_from_wire(orjson.loads(orjson.dumps(item_to_wire(item)))) == item


def test_a_payload_carries_the_event_without_the_download_url() -> None:
    item = rich_item()
    event = QueueEvent(5, E.PROGRESS, EPOCH, item, "a message", "aria2")
    payload, by_reference = encode(event, "me")
    assert not by_reference and len(payload) <= MAX_PAYLOAD
    heard = decode(payload)
    assert (heard.origin, heard.type, heard.at, heard.message, heard.client) == (
        "me", E.PROGRESS, EPOCH, "a message", "aria2")
    assert heard.item == replace(item, download_url=None) and heard.reference is None


def test_an_item_too_big_for_a_notify_goes_by_its_id() -> None:
    item = rich_item(error_message="x" * 9000)
    payload, by_reference = encode(QueueEvent(1, E.FAILED, EPOCH, item, "y" * 9000), "me")
    assert by_reference and len(payload) <= MAX_PAYLOAD
    heard = decode(payload)
    assert heard.item is None and heard.reference == item.id
    assert heard.message == "y" * 2000


def test_an_event_without_an_item() -> None:
    payload, _ = encode(QueueEvent(1, E.CLIENT_BACK, EPOCH, None, "up", "qbt"), "me")
    heard = decode(payload)
    assert (heard.item, heard.reference, heard.client) == (None, None, "qbt")


@pytest.mark.parametrize("payload", ["", "null", "{}", '{"o": "x", "t": "nope", "at": 1}',
                                     '{"o": "x", "t": "grabbed", "at": "2020-01-01T00:00:00",'
                                     ' "i": [1, 2]}'])
def test_a_payload_that_is_not_ours_is_refused(payload: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode(payload)


# -- on the real server ----------------------------------------------------------------------

pg = pytest.mark.postgres


@dataclass
class Process:
    bus: EventBus
    relay: PostgresEventRelay
    subscription: Subscription


@pytest.fixture
async def processes(postgres_url: str) -> AsyncIterator[Callable[..., Awaitable[Process]]]:
    """Builds processes (a bus and its relay) listening on this test's own channel."""
    channel = f"queuarr_test_{uuid.uuid4().hex[:12]}"
    made: list[Process] = []
    stored: dict[int, QueueItem] = {}

    async def read_item(item_id: int) -> QueueItem | None:
        return stored.get(item_id)

    async def make(leading: bool = True) -> Process:
        bus = EventBus(FakeClock(), leading=lambda: leading)
        relay = PostgresEventRelay(postgres_url, bus, read_item, channel=channel,
                                   max_backoff=0.2)
        bus.add(relay)
        process = Process(bus, relay, bus.subscribe())
        made.append(process)
        bus.start()
        relay.start()
        await asyncio.wait_for(relay.listening(), 10)
        return process

    make.stored = stored  # type: ignore[attr-defined]
    try:
        yield make
    finally:
        for process in made:
            await process.bus.aclose()
            await process.relay.aclose()


async def next_event(subscription: Subscription, wait: float = 5.0) -> QueueEvent:
    event = await subscription.get(wait)
    assert event is not None, "no event arrived"
    return event


async def nothing_more(subscription: Subscription) -> None:
    assert await subscription.get(0.3) is None


@pg
async def test_what_one_process_publishes_reaches_the_others_stream(processes) -> None:
    a, b, c = await processes(), await processes(), await processes()
    item = rich_item()
    published = a.bus.publish(E.GRABBED, item, "grabbed on a")
    assert await next_event(a.subscription) is published  # its own, directly
    for other in (b, c):
        heard = await next_event(other.subscription)
        assert heard.remote and heard.type is E.GRABBED and heard.message == "grabbed on a"
        assert heard.item == replace(item, download_url=None)
        assert heard.at == published.at and heard.client == "aria2"
        assert other.bus.last_id == heard.id  # numbered by the process that shows it
    b.bus.publish(E.COMPLETED, replace(item, progress=100.0))
    for other in (a, c):
        assert (await next_event(other.subscription)).type is E.COMPLETED
    assert (await next_event(b.subscription)).type is E.COMPLETED
    for process in (a, b, c):  # nothing echoed back, nothing twice
        await nothing_more(process.subscription)
    assert a.relay.stats.sent == 1 and a.relay.stats.received == 1


@pg
async def test_a_process_resumes_relayed_events_by_its_own_ids(processes) -> None:
    a, b = await processes(), await processes()
    for n in range(3):
        a.bus.publish(E.GRABBED, an_item(n))
    for _ in range(3):
        await next_event(b.subscription)
    assert [e.item.id for e in b.bus.since(1) or () if e.item] == [1, 2]


@pg
async def test_an_item_too_big_is_read_from_the_database(processes) -> None:
    a, b = await processes(), await processes()
    big = rich_item(11, error_message="x" * 9000)
    processes.stored[big.id] = big
    a.bus.publish(E.FAILED, big, "failed")
    heard = await next_event(b.subscription)
    assert heard.type is E.FAILED and heard.item == big
    assert a.relay.stats.by_reference == 1
    assert not b.subscription.take_stale()
    gone = rich_item(12, error_message="x" * 9000)  # deleted before it could be read
    a.bus.publish(E.REMOVED, gone)
    await nothing_more(b.subscription)
    assert b.relay.stats.gone == 1
    # The event is lost on b: its streams are told to start afresh.
    assert b.subscription.take_stale() and b.bus.gaps == 1


class Recorder:
    name = "recorder"

    def __init__(self, leader_only: bool) -> None:
        self.leader_only = leader_only
        self.heard: list[QueueEvent] = []

    async def notify(self, event: QueueEvent) -> None:
        self.heard.append(event)


@pg
async def test_leader_only_notifiers_hear_every_process_where_the_processor_runs(
        processes) -> None:
    replica, leader = await processes(leading=False), await processes(leading=True)
    heard = {}
    for name, process in (("replica", replica), ("leader", leader)):
        for leader_only in (False, True):
            recorder = Recorder(leader_only)
            process.bus.add(recorder)
            heard[name, leader_only] = recorder
        process.bus.start()
    replica.bus.publish(E.GRABBED, an_item(1))  # an API call on the replica
    leader.bus.publish(E.COMPLETED, an_item(2))  # the processor
    await next_event(leader.subscription)
    await next_event(leader.subscription)
    await next_event(replica.subscription)
    await next_event(replica.subscription)
    for process in (replica, leader):
        await process.bus.drained()

    def kinds(name: str, leader_only: bool) -> list[tuple[EventType, bool]]:
        return [(e.type, e.remote) for e in heard[name, leader_only].heard]

    # Plain notifiers (webhooks): each change once, by the process that made it.
    assert kinds("replica", False) == [(E.GRABBED, False)]
    assert kinds("leader", False) == [(E.COMPLETED, False)]
    # Leader-only (Telegram): everything, in the leader only.
    assert kinds("replica", True) == []
    assert sorted(kinds("leader", True)) == sorted([(E.GRABBED, True), (E.COMPLETED, False)])


@pg
async def test_the_listener_reconnects_after_its_connection_is_killed(
        processes, postgres_url: str) -> None:
    a, b = await processes(), await processes()
    a.bus.publish(E.GRABBED, an_item(1))
    before = (await next_event(b.subscription)).id
    assert (await next_event(a.subscription)).id == 1
    assert b.bus.since(before) == [] and not b.subscription.take_stale()
    admin = await asyncpg.connect(plain_dsn(postgres_url))
    try:
        assert b.relay._conn is not None
        await admin.execute("SELECT pg_terminate_backend($1)", b.relay._conn.get_server_pid())
        for _ in range(100):  # the old connection's end is noticed, a new one listens
            if b.relay.stats.reconnects:
                break
            await asyncio.sleep(0.1)
        assert b.relay.stats.reconnects == 1
        # What a published meanwhile never reached b: b's live streams start afresh,
        # and a resume from before the gap is a reset too; a's are untouched.
        assert b.subscription.take_stale() and b.bus.since(before) is None
        assert not a.subscription.take_stale() and a.bus.since(1) == []
        await asyncio.wait_for(b.relay.listening(), 10)
        a.bus.publish(E.GRABBED, an_item(1))
        assert (await next_event(b.subscription)).remote
        assert not (await next_event(a.subscription)).remote  # its own
        b.bus.publish(E.SENT, an_item(1))  # and it sends again too
        assert (await next_event(a.subscription)).type is E.SENT
    finally:
        await admin.close()


@pg
async def test_a_process_without_its_connection_counts_the_failures_and_carries_on(
        processes) -> None:
    a, b = await processes(), await processes()
    await a.relay.aclose()  # its connection is gone for good
    for n in range(3):
        a.bus.publish(E.GRABBED, an_item(n))
    await a.bus.drained()
    assert a.bus.stats()["relay"].failed == 3
    assert [(await next_event(a.subscription)).item.id for _ in range(3)] == [0, 1, 2]
    await nothing_more(b.subscription)


@pg
async def test_a_burst_of_thousands_of_events_arrives_whole_and_in_order(processes) -> None:
    """A bulk change publishes all its events at once (one write, many items): they wait
    in the relay's own larger queue and go many to a statement."""
    a, b = await processes(), await processes()
    b.bus.unsubscribe(b.subscription)
    received = b.bus.subscribe(size=10_000)
    items = [an_item(n) for n in range(5000)]
    for item in items:
        a.bus.publish(E.REMOVED, item)
    await a.bus.drained()
    assert a.bus.stats()["relay"].dropped == 0 and a.relay.stats.sent == 5000
    heard = [(await next_event(received)).item for _ in range(5000)]
    assert [i.id for i in heard if i] == [i.id for i in items]
    await nothing_more(received)


@pg
async def test_events_published_while_the_relay_connects_are_sent_once_it_listens(
        processes, postgres_url: str) -> None:
    b = await processes()
    bus = EventBus(FakeClock())
    relay = PostgresEventRelay(postgres_url, bus, b.relay.read_item, channel=b.relay.channel)
    bus.add(relay)
    bus.start()
    relay.start()
    try:
        bus.publish(E.GRABBED, an_item(1))  # at start-up, before the LISTEN is up
        assert (await next_event(b.subscription)).type is E.GRABBED
        await bus.drained()
        assert bus.stats()["relay"].delivered == 1
    finally:
        await bus.aclose()
        await relay.aclose()
