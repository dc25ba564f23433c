"""The APScheduler runner: passes run on their own, a grab wakes the dispatcher at once
(long before its next tick), a pass that raises does not stop the others."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest

from core.domain import DownloadProtocol, HistoryEvent, ItemState, NewItem, SourceKind
from core.processor import Processor
from infrastructure.clock import SystemClock
from infrastructure.memory import MemoryQueueRepository
from infrastructure.scheduler import ProcessorRunner
from tests.fakes import FakeClients, FakeDownloadClient


def new_item(n: int) -> NewItem:
    return NewItem(title=f"Movie.{n}", source=SourceKind.MAGNET,
                   protocol=DownloadProtocol.TORRENT, added_at=SystemClock().now(),
                   info_hash=f"{n:040x}", size=10)


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
    clock = SystemClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2")
    processor = Processor(items, FakeClients(client), clock, "t")
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
    clock = SystemClock()
    items = MemoryQueueRepository(clock)
    client = FakeDownloadClient("aria2")
    processor = Processor(items, FakeClients(client), clock, "t")
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
