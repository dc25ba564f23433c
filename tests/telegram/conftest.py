"""The real python-telegram-bot Application (TelegramBot) against the fake Bot API
(tests/notifiers/fake_bot_api.py) over a container on the memory store: updates are
scripted with `api.push_message`, answers read from what the fake was sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.intake import Intake
from infrastructure.bootstrap import Container, Stores, assemble
from infrastructure.settings import Settings
from infrastructure.telegram.access import Access
from infrastructure.telegram.bot import TelegramBot
from infrastructure.telegram.services import BotServices
from tests.conftest import sqlite_copy
from tests.fakes import FakeClock
from tests.notifiers.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-token-that-must-never-be-logged"
USER = 1001  # allowed
ADMIN = 1002
STRANGER = 6666
GROUP = -100500  # a configured chat: anyone in it may use the bot
API_KEY = "0123456789abcdef0123456789abcdef"


async def until(condition: Callable[[], Any], what: str = "the bot") -> None:
    """Wait (at most 30 s) for the bot to have done something: not a timed assertion,
    a ceiling so that a broken bot fails instead of hanging."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} did not get there")


@dataclass
class Bot:
    api: FakeBotApi
    container: Container
    bot: TelegramBot

    async def answers(self, chat: int, count: int = 1) -> list[str]:
        """The first `count` messages the bot sent to `chat`, once there are as many."""
        await until(lambda: len(self.api.sent_to(chat)) >= count, f"{count} answer(s)")
        return self.api.sent_to(chat)

    async def settle(self, witness: int = ADMIN) -> None:
        """Until every update pushed so far is handled: the bot handles updates one at
        a time, in order, so once a later message from `witness` (who must be allowed)
        is answered, the earlier ones were handled."""
        before = len(self.api.sent_to(witness))
        self.api.push_message(witness, "witness")
        await self.answers(witness, before + 1)


MakeBot = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def api(clock: FakeClock) -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(TOKEN, clock)
    await fake.start()
    yield fake
    await fake.stop()


def settings_for(api_url: str, data_dir: Path, **extra: Any) -> Settings:
    return Settings(data_dir=data_dir, api_key=API_KEY, telegram_token=TOKEN,
                    telegram_api_url=api_url, **extra)


@pytest.fixture
async def make_bot(api: FakeBotApi, clock: FakeClock, tmp_path: Path
                   ) -> AsyncIterator[MakeBot]:
    made: list[Bot] = []

    async def make(access: Access | None = None, container: Container | None = None,
                   **settings: Any) -> Bot:
        if container is None:
            container = assemble(settings_for(api.url, tmp_path, **settings), clock, API_KEY,
                                 Stores.memory(clock), guard_urls=False)
            await container.housekeeping.ensure_defaults()
        services = BotServices(container.queue, Intake(container.queue), clock,
                               container.settings, container.dispatching,
                               container.releases)
        access = access or Access([USER], [GROUP], [ADMIN])
        bot = TelegramBot(TOKEN, services, access, lambda: True, api.url, check_every=0.05)
        bot.start()
        made.append(Bot(api, container, bot))
        await until(lambda: bot.polling, "polling")
        return made[-1]

    yield make
    for bot in made:
        await bot.bot.aclose()
        await bot.container.aclose()


def serve_bot_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, template: Path,
                  api_url: str, **extra: str) -> None:
    """The environment of a whole Queuarr with the bot (build(Settings())): a fresh
    SQLite copy, the managed aria2c, the fake Bot API, USER allowed, fast passes, and
    loopback files allowed; `extra` adds QUEUARR_* values."""
    values = {"QUEUARR_DATABASE_URL": sqlite_copy(template, tmp_path),
              "QUEUARR_DATA_DIR": str(tmp_path / "data"),
              "QUEUARR_TELEGRAM_TOKEN": TOKEN,
              "QUEUARR_TELEGRAM_ALLOWED_USERS": str(USER),
              "QUEUARR_TELEGRAM_API_URL": api_url,
              "QUEUARR_MANAGED_ARIA2": "true",
              "QUEUARR_ALLOW_PRIVATE_URLS": "true",  # the files are on loopback
              "QUEUARR_SYNC_INTERVAL": "1", "QUEUARR_DISPATCH_INTERVAL": "0.5", **extra}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
