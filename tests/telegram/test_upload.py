"""QUEUARR_TELEGRAM_UPLOAD: a finished file goes back to the chat it came from, through
the real python-telegram-bot Bot against the fake Bot API, over a container on the
memory store whose bus delivers to the uploader (as the leading process)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import Bot

from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    HistoryQuery,
    ItemState,
    NewItem,
    QueueItem,
    SourceKind,
)
from core.states import transition
from infrastructure.bootstrap import Container, Stores, assemble
from infrastructure.telegram.upload import Uploader, attach_uploader
from tests.fakes import FakeClock
from tests.notifiers.fake_bot_api import FakeBotApi
from tests.telegram.conftest import API_KEY, TOKEN, settings_for

CHAT = 555


class DocumentFaults(FakeBotApi):
    """The fake, whose fail_next() also answers sendDocument (the stock fake answers
    the listening side's methods before its faults)."""

    async def _listening(self, token: str, method: str, params: dict[str, Any]
                         ) -> tuple[int, dict[str, Any]] | None:
        if method == "sendDocument" and token == self.token and self._faults:
            return self._faults.popleft()
        return await super()._listening(token, method, params)


@dataclass
class Setup:
    api: DocumentFaults
    container: Container
    uploader: Uploader | None
    downloads: Path

    async def complete(self, output: Path | str | None, chat: int | None = CHAT
                       ) -> QueueItem:
        """An item from `chat` that completes with `output`; once its upload is done."""
        items = self.container.queue.items
        clock = self.container.clock
        item = await items.add(NewItem(title="Some.Movie.2020", source=SourceKind.TORRENT_URL,
                                       protocol=DownloadProtocol.TORRENT,
                                       added_at=clock.now(), download_url="http://x/y",
                                       origin_chat=chat),
                               HistoryEvent("grabbed"))
        moves = [ItemState.SENDING, ItemState.DOWNLOADING]
        for state in moves:
            (item,) = await items.update([(item, transition(item, state, clock.now()))],
                                         HistoryEvent(state.value))
        done = transition(item, ItemState.COMPLETED, clock.now(),
                          output_path=None if output is None else str(output))
        (item,) = await items.update([(item, done)], HistoryEvent("downloadCompleted"))
        assert self.container.events is not None
        await self.container.events.drained()
        if self.uploader is not None:
            await self.uploader.idle()
        return await self.container.queue.get(item.id)

    async def history(self, item: QueueItem) -> list[tuple[str, str | None]]:
        _, rows, _ = await self.container.queue.history(
            HistoryQuery(item_id=item.id, page_size=50, ascending=True,
                         events=frozenset({"uploaded", "uploadFailed"})))
        return [(r.event, r.message) for r in rows]


@pytest.fixture
async def make(clock: FakeClock, tmp_path: Path) -> AsyncIterator[Any]:
    made: list[Setup] = []
    bots: list[Bot] = []
    api = DocumentFaults(TOKEN, clock)
    await api.start()

    async def build(**settings: Any) -> Setup:
        downloads = tmp_path / "downloads"
        downloads.mkdir(exist_ok=True)
        settings = {"telegram_upload": True, "download_dir": downloads, **settings}
        container = assemble(settings_for(api.url, tmp_path, **settings), clock, API_KEY,
                             Stores.memory(clock), guard_urls=False)
        assert container.events is not None
        container.events.leading = lambda: True  # this process runs the processor
        bots.append(Bot(TOKEN, base_url=f"{api.url}/bot"))
        await bots[-1].initialize()  # so that shutdown() closes its connections
        bot = SimpleNamespace(app=SimpleNamespace(bot=bots[-1]))
        uploader = attach_uploader(container, bot)  # type: ignore[arg-type]
        container.events.start()
        made.append(Setup(api, container, uploader, downloads))
        return made[-1]

    yield build
    for setup in made:
        await setup.container.aclose()
    for ptb in bots:
        await ptb.shutdown()
    await api.stop()


def a_file(path: Path, size: int) -> bytes:
    data = hashlib.sha256(path.name.encode()).digest() * (size // 32 + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:size])
    return data[:size]


async def test_a_completed_item_from_a_chat_sends_its_file_back_to_that_chat(make: Any
                                                                              ) -> None:
    setup = await make()
    data = a_file(setup.downloads / "Some.Movie.2020.mkv", 5000)
    item = await setup.complete(setup.downloads / "Some.Movie.2020.mkv")
    assert setup.api.documents == [(str(CHAT), "Some.Movie.2020.mkv", data)]
    assert item.state is ItemState.COMPLETED
    assert await setup.history(item) == [
        ("uploaded", f"Sent Some.Movie.2020.mkv (4.9 KiB) to chat {CHAT}")]
    assert [m.title for m in item.status_messages] == ["Telegram upload"]
    assert item.status_messages[0].messages == (
        f"Sent Some.Movie.2020.mkv (4.9 KiB) to chat {CHAT}",)


async def test_a_folder_sends_its_largest_media_file(make: Any) -> None:
    setup = await make()
    folder = setup.downloads / "Some.Movie.2020"
    a_file(folder / "notes.nfo", 9000)  # larger, but not media
    a_file(folder / "sample" / "sample.mkv", 100)
    movie = a_file(folder / "Some.Movie.2020.mp4", 3000)
    await setup.complete(folder)
    assert setup.api.documents == [(str(CHAT), "Some.Movie.2020.mp4", movie)]


async def test_a_file_over_the_upload_max_is_not_sent_the_chat_is_told_where_it_is(
        make: Any) -> None:
    setup = await make(telegram_upload_max=1000)  # QUEUARR_TELEGRAM_UPLOAD_MAX
    path = setup.downloads / "Big.Movie.mkv"
    a_file(path, 1001)
    item = await setup.complete(path)
    assert setup.api.documents == []
    (told,) = setup.api.sent_to(CHAT)
    assert str(path) in told and "over the upload limit" in told
    assert item.state is ItemState.COMPLETED
    assert await setup.history(item) == [
        ("uploadFailed", "Big.Movie.mkv (1001 B) is over 1000 B; not sent")]


async def test_a_file_at_the_upload_max_is_sent(make: Any) -> None:
    setup = await make(telegram_upload_max=1000)
    a_file(setup.downloads / "Fits.mkv", 1000)
    await setup.complete(setup.downloads / "Fits.mkv")
    assert [d[1] for d in setup.api.documents] == ["Fits.mkv"]


@pytest.mark.parametrize("status", [500, 413])
async def test_telegram_refusing_the_upload_is_recorded_and_the_item_stays_completed(
        make: Any, status: int) -> None:
    setup = await make()
    a_file(setup.downloads / "Some.Movie.mkv", 2000)
    setup.api.fail_next(status, "Request Entity Too Large" if status == 413
                        else "Internal Server Error")
    item = await setup.complete(setup.downloads / "Some.Movie.mkv")
    assert setup.api.documents == []
    assert item.state is ItemState.COMPLETED
    ((event, message),) = await setup.history(item)
    assert event == "uploadFailed"
    assert message is not None and message.startswith(
        f"Telegram refused Some.Movie.mkv for chat {CHAT}:")
    assert item.status_messages[-1].messages == (message,)


async def test_a_file_outside_the_download_roots_is_not_sent(make: Any,
                                                             tmp_path: Path) -> None:
    setup = await make()
    outside = tmp_path / "elsewhere" / "secret.mkv"
    a_file(outside, 100)
    item = await setup.complete(outside)
    assert setup.api.documents == [] and setup.api.sent_to(CHAT) == []
    assert await setup.history(item) == [
        ("uploadFailed", f"{outside} is outside the download roots; not sent")]
    assert item.state is ItemState.COMPLETED


async def test_a_symlink_out_of_the_download_roots_is_not_sent(make: Any,
                                                               tmp_path: Path) -> None:
    setup = await make()
    outside = tmp_path / "elsewhere" / "secret.mkv"
    a_file(outside, 100)
    link = setup.downloads / "innocent.mkv"
    link.symlink_to(outside)
    await setup.complete(link)
    assert setup.api.documents == []


async def test_a_file_that_is_gone_is_recorded_and_the_item_stays_completed(
        make: Any) -> None:
    setup = await make()
    gone = setup.downloads / "Gone.mkv"
    item = await setup.complete(gone)
    assert setup.api.documents == []
    assert await setup.history(item) == [("uploadFailed", f"{gone} is not there any more")]
    assert item.state is ItemState.COMPLETED


async def test_an_item_from_no_chat_is_not_uploaded(make: Any) -> None:
    setup = await make()
    a_file(setup.downloads / "Some.Movie.mkv", 100)
    item = await setup.complete(setup.downloads / "Some.Movie.mkv", chat=None)
    assert setup.api.documents == [] and await setup.history(item) == []


async def test_with_upload_off_nothing_is_sent(make: Any) -> None:
    setup = await make(telegram_upload=False)  # QUEUARR_TELEGRAM_UPLOAD's default
    assert setup.uploader is None
    a_file(setup.downloads / "Some.Movie.mkv", 100)
    item = await setup.complete(setup.downloads / "Some.Movie.mkv")
    assert setup.api.documents == [] and await setup.history(item) == []
