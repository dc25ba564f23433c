"""End to end, through the managed aria2c: a link sent in a group chat remembers that
chat and its sender; the chat gets the summary (sent, then edited) and the completion
message even with no broadcast chats configured; with QUEUARR_TELEGRAM_CHAT_DIRS the
file lands in the chat's own sub-directory of the download dir."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from core.domain import ItemState, QueueItem
from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from tests.clients.conftest import require_binary
from tests.daemons import FileServer
from tests.notifiers.fake_bot_api import FakeBotApi
from tests.telegram.conftest import USER, serve_bot_env, until

CHAT = 555
NAME = "Telegram.Origin.File.bin"


async def download_from_chat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                             api: FakeBotApi, sqlite_template: Path, *, chat_dirs: bool,
                             edited: bool) -> tuple[QueueItem, str]:
    """Send a link to a local file in CHAT, wait for it to complete (and, if `edited`,
    for the chat's summary to be edited); the item and the file's sha256."""
    require_binary("aria2c")
    serve_bot_env(monkeypatch, tmp_path, sqlite_template, api.url,
                  QUEUARR_TELEGRAM_CHAT_IDS="",  # no broadcast chats
                  QUEUARR_TELEGRAM_CHAT_DIRS=str(chat_dirs).lower())
    with FileServer(tmp_path / "served") as files:
        served = files.add(NAME, 3 * 1024 * 1024 + 11, seed=11)
        container = build(Settings())
        try:
            await container.start()
            if edited:  # held back until the chat's summary is out: no race with it
                await container.dispatching.set_paused(True)
            api.push_message(USER, f"this one: {served.url}", chat=CHAT)
            await until(lambda: api.sent_to(CHAT), "an answer")
            assert api.sent_to(CHAT)[0] == f"✅ Queued #1 {NAME} (position 1)"
            if edited:
                await until(lambda: any(t.startswith("Queue: 1 active")
                                        for t in api.sent_to(CHAT)), "the summary")
                await container.dispatching.set_paused(False)
            done = f"✅ Completed: {NAME} (3.0 MiB)"
            await until(lambda: done in api.sent_to(CHAT), "the completion message")
            if edited:  # the summary is edited at most every 5 s (here to "empty")
                await until(lambda: any(c.chat_id == str(CHAT)
                                        for c in api.ok("editMessageText")), "an edit")
            item = await container.queue.get(1)
        finally:
            await container.aclose()
        await asyncio.sleep(0)
    return item, served.sha256


async def test_a_link_sent_in_a_chat_gets_its_summary_and_completion_in_that_chat(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeBotApi,
        sqlite_template: Path) -> None:
    item, sha256 = await download_from_chat(monkeypatch, tmp_path, api, sqlite_template,
                                            chat_dirs=False, edited=True)
    assert item.state is ItemState.COMPLETED
    assert (item.origin_chat, item.origin_user) == (CHAT, USER)
    summaries = [c for c in api.ok("sendMessage")
                 if c.chat_id == str(CHAT) and (c.text or "").startswith("Queue: 1 active")]
    assert len(summaries) == 1
    (summary_id,) = {c.message_id for c in api.ok("editMessageText")
                     if c.chat_id == str(CHAT)}  # one message, edited
    assert api.messages[str(CHAT), summary_id].startswith("Queue:")
    assert {c.chat_id for c in api.ok()} - {None} == {str(CHAT)}  # no other chat
    saved = tmp_path / "data" / "downloads" / NAME
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha256


async def test_with_chat_dirs_a_chats_download_is_saved_in_its_own_sub_directory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeBotApi,
        sqlite_template: Path) -> None:
    item, sha256 = await download_from_chat(monkeypatch, tmp_path, api, sqlite_template,
                                            chat_dirs=True, edited=False)
    assert item.state is ItemState.COMPLETED and item.save_under == f"tg-{CHAT}"
    saved = tmp_path / "data" / "downloads" / f"tg-{CHAT}" / NAME
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha256
    assert not (tmp_path / "data" / "downloads" / NAME).exists()
