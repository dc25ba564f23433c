"""One processor per Postgres database: the advisory lock, its loss and the takeover,
on the real server. The lock key is per test so that tests never contend."""

from __future__ import annotations

import asyncio
import random
import time

import asyncpg
import pytest

from core.domain import DownloadProtocol, HistoryEvent, ItemState, NewItem, SourceKind
from core.processor import Processor
from infrastructure.clock import SystemClock
from infrastructure.leader import PostgresLeader, plain_dsn
from infrastructure.memory import MemoryQueueRepository
from infrastructure.scheduler import LEADERSHIP_SECONDS, ProcessorRunner
from tests.fakes import FakeClients, FakeDownloadClient

pytestmark = pytest.mark.postgres


def key() -> int:
    return random.randrange(1, 2**62)


async def test_one_leader_and_a_takeover_when_it_lets_go(postgres_url: str) -> None:
    k = key()
    a, b = PostgresLeader(postgres_url, k), PostgresLeader(postgres_url, k)
    try:
        assert await a.check() is True
        assert await b.check() is False
        assert await a.check() is True  # held, verified on its own connection
        assert await b.check() is False
        await a.close()
        assert await b.check() is True
        assert await a.check() is False
    finally:
        await a.close()
        await b.close()


async def test_a_leader_whose_session_dies_loses_and_a_standby_takes_over(
        postgres_url: str) -> None:
    k = key()
    a, b = PostgresLeader(postgres_url, k), PostgresLeader(postgres_url, k)
    admin = await asyncpg.connect(plain_dsn(postgres_url))
    try:
        assert await a.check() is True
        # The leader's process dies: Postgres ends its session and frees the lock.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
            "AND (classid::bigint << 32 | objid::bigint) = $1", k)
        assert await b.check() is True
        assert await a.check() is False
    finally:
        await admin.close()
        await a.close()
        await b.close()


async def test_a_leader_hears_at_once_that_its_session_ended(postgres_url: str) -> None:
    """Issue 18: an idle leader checks its lock rarely; the connection's end calls
    on_lost (the runner checks the lock at once) instead of waiting for that check."""
    k = key()
    leader = PostgresLeader(postgres_url, k)
    lost = asyncio.Event()
    leader.on_lost = lost.set
    admin = await asyncpg.connect(plain_dsn(postgres_url))
    try:
        assert await leader.check() is True
        assert not lost.is_set()
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
            "AND (classid::bigint << 32 | objid::bigint) = $1", k)
        await asyncio.wait_for(lost.wait(), 10)
        assert await leader.check() is True  # the lock was free again: taken back
    finally:
        await admin.close()
        await leader.close()


async def test_only_the_leading_runner_dispatches_and_a_standby_takes_over(
        postgres_url: str) -> None:
    clock = SystemClock()
    items = MemoryQueueRepository(clock)
    k = key()
    clients = [FakeDownloadClient("aria2"), FakeDownloadClient("aria2")]
    runners = [
        ProcessorRunner(Processor(items, FakeClients(c), clock, f"p{n}"), sync_interval=60,
                        dispatch_interval=0.1, leader=PostgresLeader(postgres_url, k))
        for n, c in enumerate(clients)]
    runners[0].start()
    await asyncio.sleep(0.5)
    runners[1].start()
    try:
        await asyncio.sleep(0.5)
        assert runners[0].leading and not runners[1].leading
        first = await items.add(_item(1), HistoryEvent("grabbed"))
        runners[0].wake()  # as a grab does (Dispatching.wake); an idle dispatcher sleeps
        await _until_sent(items, first.id)
        assert clients[0].added == [first.info_hash] and clients[1].added == []
        await runners[0].stop()  # the leader stops: its lock goes with its session
        second = await items.add(_item(2), HistoryEvent("grabbed"))
        # The standby takes over within the 15 s (three leadership ticks).
        await _until_sent(items, second.id, timeout=LEADERSHIP_SECONDS * 3)
        assert clients[1].added == [second.info_hash]
    finally:
        for runner in runners:
            await runner.stop()


def _item(n: int) -> NewItem:
    return NewItem(title=f"Movie.{n}", source=SourceKind.MAGNET,
                   protocol=DownloadProtocol.TORRENT, added_at=SystemClock().now(),
                   info_hash=f"{n:040x}", size=10)


async def _until_sent(items: MemoryQueueRepository, item_id: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while True:
        item = await items.get(item_id)
        if item is not None and item.state is ItemState.DOWNLOADING:
            return
        assert time.monotonic() < deadline, f"not sent: {item}"
        await asyncio.sleep(0.05)


async def test_the_leader_hears_a_wake_from_another_process(postgres_url: str) -> None:
    """A grab on an API-only replica wakes dispatching there (core.dispatching), which
    NOTIFYs (TellLeader); the leader's dispatcher wakes at once."""
    from core.dispatching import Dispatching
    from infrastructure.db.engine import Database
    from infrastructure.leader import TellLeader
    from infrastructure.memory import MemorySwitchRepository
    from infrastructure.tasks import Background
    from tests.fakes import FakeClock

    k = key()
    leader, standby = PostgresLeader(postgres_url, k), PostgresLeader(postgres_url, k)
    woken: list[str] = []
    heard = asyncio.Event()

    def hear(who: str) -> None:
        woken.append(who)
        heard.set()

    leader.on_wake = lambda: hear("leader")
    standby.on_wake = lambda: hear("standby")
    replica = Database(postgres_url)
    tasks = Background()
    dispatching = Dispatching(MemorySwitchRepository(), FakeClock(),
                              tell_leader=TellLeader(replica, tasks))
    try:
        assert await leader.check() is True and await standby.check() is False
        dispatching.wake()  # no runner here: the leader is told
        await tasks.drained()
        await asyncio.wait_for(heard.wait(), 5)
        await asyncio.sleep(0.2)  # room for a second (wrong) listener to speak up
        assert woken == ["leader"]  # the standby holds no connection, hears nothing
    finally:
        await leader.close()
        await standby.close()
        await replica.dispose()


async def test_the_database_clock_follows_the_server(postgres_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from infrastructure.clock import DatabaseClock
    from infrastructure.db.engine import Database

    class Skewed:
        """The real server's time, as a host 90 s behind would see it."""

        def __init__(self, db: Database) -> None:
            self.db = db

        async def server_time(self) -> datetime:
            return await self.db.server_time() + timedelta(seconds=90)

    db = Database(postgres_url)
    try:
        real = await db.server_time()
        assert abs(real - datetime.now(UTC)) < timedelta(seconds=5)
        clock = DatabaseClock(Skewed(db))
        assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)  # uncalibrated
        await clock.calibrate()
        assert abs(clock.offset - timedelta(seconds=90)) < timedelta(seconds=2)
        assert abs(clock.now() - (datetime.now(UTC) + timedelta(seconds=90))) < timedelta(
            seconds=2)
    finally:
        await db.dispose()


async def test_build_wires_dispatching_to_the_processor_and_on_postgres_to_the_leader(
        postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from infrastructure.bootstrap import build
    from infrastructure.leader import TellLeader
    from infrastructure.settings import Settings

    shared = build(Settings(database_url=postgres_url, data_dir=tmp_path / "pg",
                            managed_aria2="false"))
    replica = build(Settings(database_url=postgres_url, data_dir=tmp_path / "replica",
                             managed_aria2="false"), processor=False)
    alone = build(Settings(data_dir=tmp_path / "sqlite", managed_aria2="false"))
    try:
        d = shared.dispatching
        assert d.processor is not None and d.runner is not None
        assert shared.housekeeping is not None and shared.housekeeping.dispatching is d
        assert isinstance(d.tell_leader, TellLeader)
        assert replica.dispatching.processor is None and replica.dispatching.runner is None
        assert isinstance(replica.dispatching.tell_leader, TellLeader)
        assert alone.dispatching.tell_leader is None  # SQLite: one process
        assert alone.dispatching.runner is not None
    finally:
        for container in (shared, replica, alone):
            await container.aclose()
