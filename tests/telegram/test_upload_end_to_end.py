"""End to end, through the managed aria2c, with QUEUARR_TELEGRAM_UPLOAD=true (wired by
build()): a link sent in chat 555 completes and the file comes back to that chat as a
document with the same bytes; the item's history says so."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.domain import HistoryQuery, ItemState
from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from infrastructure.telegram.upload import Uploader
from tests.clients.conftest import require_binary
from tests.daemons import FileServer
from tests.notifiers.fake_bot_api import FakeBotApi
from tests.telegram.conftest import USER, serve_bot_env, until

CHAT = 555
NAME = "Telegram.Upload.File.mkv"


async def test_a_link_sent_in_a_chat_comes_back_to_it_as_a_document_once_downloaded(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeBotApi,
        sqlite_template: Path) -> None:
    require_binary("aria2c")
    serve_bot_env(monkeypatch, tmp_path, sqlite_template, api.url,
                  QUEUARR_TELEGRAM_CHAT_IDS="", QUEUARR_TELEGRAM_UPLOAD="true")
    with FileServer(tmp_path / "served") as files:
        # under the fake's 1 MiB request body limit (aiohttp's default; a bigger one is a 413)
        served = files.add(NAME, 900 * 1024 + 7, seed=5)
        container = build(Settings())
        try:
            assert container.events is not None
            (uploader,) = [n for n in container.events.notifiers if isinstance(n, Uploader)]
            await container.start()
            api.push_message(USER, f"this one: {served.url}", chat=CHAT)
            await until(lambda: api.documents, "the document")
            await uploader.idle()
            ((chat, name, data),) = api.documents
            assert (chat, name) == (str(CHAT), NAME)
            assert hashlib.sha256(data).hexdigest() == served.sha256
            item = await container.queue.get(1)
            assert item.state is ItemState.COMPLETED
            _, rows, _ = await container.queue.history(
                HistoryQuery(item_id=1, events=frozenset({"uploaded"})))
            assert [r.message for r in rows] == [f"Sent {NAME} (900.0 KiB) to chat {CHAT}"]
        finally:
            await container.aclose()
