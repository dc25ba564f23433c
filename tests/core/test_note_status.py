"""QueueService.note_status: a recorded change that is not a transition (a Telegram
upload's outcome): a history row and a status message, the state untouched, tried again
when the item changed in between."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    HistoryQuery,
    ItemState,
    NewItem,
    SourceKind,
    StatusMessage,
)
from core.service import QueueService
from core.states import transition
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from tests.core.test_service import META
from tests.fakes import FakeClients, FakeClock, FakeDownloadClient, FakeTorrentParser


@pytest.fixture
def service(clock: FakeClock) -> QueueService:
    return QueueService(MemoryQueueRepository(clock), MemoryBlocklistRepository(), clock,
                        FakeTorrentParser(META), FakeClients(FakeDownloadClient(name="fake")))


async def a_completed_item(service: QueueService, clock: FakeClock) -> int:
    item = await service.items.add(NewItem(title="Some.Movie", source=SourceKind.MAGNET,
                                           protocol=DownloadProtocol.TORRENT,
                                           added_at=clock.now()), HistoryEvent("grabbed"))
    for state in (ItemState.SENDING, ItemState.DOWNLOADING, ItemState.COMPLETED):
        (item,) = await service.items.update(
            [(item, transition(item, state, clock.now()))], HistoryEvent(state.value))
    return item.id


async def test_a_note_adds_a_history_row_and_a_status_message_and_keeps_the_state(
        service: QueueService, clock: FakeClock) -> None:
    item_id = await a_completed_item(service, clock)
    status = StatusMessage("Telegram upload", ("Sent it",))
    saved = await service.note_status(item_id, HistoryEvent("uploaded", "Sent it"), status)
    assert saved is not None and saved.state is ItemState.COMPLETED
    assert saved.status_messages == (status,)
    _, rows, _ = await service.history(HistoryQuery(item_id=item_id,
                                                    events=frozenset({"uploaded"})))
    assert [(r.event, r.message) for r in rows] == [("uploaded", "Sent it")]


async def test_a_note_is_tried_again_when_the_item_changed_meanwhile(
        service: QueueService, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    item_id = await a_completed_item(service, clock)
    real_get = service.items.get
    raced: list[bool] = []

    async def get_then_race(wanted: int) -> Any:
        item = await real_get(wanted)
        assert item is not None
        if not raced:  # someone else writes the item after our read
            raced.append(True)
            await service.items.update([(item, item.evolve(updated_at=clock.now()))],
                                       HistoryEvent("other"))
        return item

    monkeypatch.setattr(service.items, "get", get_then_race)
    saved = await service.note_status(item_id, HistoryEvent("uploadFailed", "no"),
                                      StatusMessage("Telegram upload", ("no",)))
    assert saved is not None and [m.messages for m in saved.status_messages] == [("no",)]


async def test_a_note_on_an_item_that_is_gone_is_nothing(service: QueueService) -> None:
    assert await service.note_status(404, HistoryEvent("uploaded")) is None
