"""End to end: a link to a local HTTP file, sent in the chat, is queued by the bot,
downloaded for real by the managed aria2c, and reaches completed."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from core.domain import ItemState
from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from tests.clients.conftest import require_binary
from tests.daemons import FileServer
from tests.notifiers.fake_bot_api import FakeBotApi
from tests.telegram.conftest import USER, serve_bot_env, until


async def test_a_link_sent_in_the_chat_is_downloaded_by_the_managed_aria2c_to_completed(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeBotApi,
        sqlite_template: Path) -> None:
    require_binary("aria2c")
    serve_bot_env(monkeypatch, tmp_path, sqlite_template, api.url)
    with FileServer(tmp_path / "served") as files:
        served = files.add("Telegram.Test.File.bin", 3 * 1024 * 1024 + 11, seed=7)
        container = build(Settings())
        try:
            await container.start()
            api.push_message(USER, f"get {served.url} please")
            await until(lambda: api.sent_to(USER), "an answer")
            assert api.sent_to(USER) == ["✅ Queued #1 Telegram.Test.File.bin (position 1)"]
            states: list[ItemState] = []
            for _ in range(1200):  # a ceiling (60 s), not a timed assertion
                states.append((await container.queue.get(1)).state)
                if states[-1] in (ItemState.COMPLETED, ItemState.FAILED):
                    break
                await asyncio.sleep(0.05)
            assert states[-1] is ItemState.COMPLETED, states[-1]
        finally:
            await container.aclose()
    saved = tmp_path / "data" / "downloads" / served.name
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == served.sha256
