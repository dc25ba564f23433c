"""The bot's lifetime: it polls only while its process leads (a standby takes over), an
update is handled once across a stop and a start, and the settings (the README's
Telegram section) wire it through bootstrap.build."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from infrastructure.bootstrap import Stores, assemble, build
from infrastructure.settings import Settings
from infrastructure.telegram.access import Access
from infrastructure.telegram.bot import command_module, telegram_bot
from tests.conftest import sqlite_copy
from tests.fakes import FakeClock
from tests.notifiers.fake_bot_api import FakeBotApi
from tests.telegram.conftest import ADMIN, API_KEY, TOKEN, USER, MakeBot, until


def magnet(name: str) -> str:
    return f"magnet:?xt=urn:btih:{hashlib.sha1(name.encode()).hexdigest()}&dn={name}"


async def test_the_bot_polls_only_while_its_process_leads_and_handles_each_update_once(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    lead = [True]
    bot.bot.leading = lambda: lead[0]
    bot.api.push_message(USER, magnet("First"))
    await bot.answers(USER, 1)
    lead[0] = False  # a standby now: it stops asking for updates
    await until(lambda: not bot.bot.polling, "stopped polling")
    assert bot.bot.app.updater is not None and not bot.bot.app.updater.running
    polls = len([c for c in bot.api.calls if c.method == "getUpdates"])
    bot.api.push_message(USER, magnet("Second"))
    assert len([c for c in bot.api.calls if c.method == "getUpdates"]) == polls
    assert len(bot.api.sent_to(USER)) == 1
    lead[0] = True  # it leads again: the update sent meanwhile is read, the first not again
    answers = await bot.answers(USER, 2)
    await bot.settle()
    assert answers == ["✅ Queued #1 First (position 1)", "✅ Queued #2 Second (position 2)"]
    assert len(bot.api.sent_to(USER)) == 2


async def test_telegram_is_down_at_start_and_the_bot_starts_polling_when_it_is_back(
        make_bot: MakeBot, api: FakeBotApi) -> None:
    for _ in range(3):
        api.fail_next(502, "Bad Gateway")  # getMe fails: retried at the next check
    bot = await make_bot()
    bot.api.push_message(USER, magnet("After.Outage"))
    assert (await bot.answers(USER)) == ["✅ Queued #1 After.Outage (position 1)"]


async def test_allowed_users_and_admin_ids_come_from_the_settings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> None:
    monkeypatch.setenv("QUEUARR_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("QUEUARR_TELEGRAM_ALLOWED_USERS", f"{USER}, 42")
    monkeypatch.setenv("QUEUARR_TELEGRAM_ADMIN_IDS", str(ADMIN))
    monkeypatch.setenv("QUEUARR_TELEGRAM_CHAT_IDS", "-100777, @channel")
    settings = Settings(data_dir=tmp_path, api_key=API_KEY)
    container = assemble(settings, clock, API_KEY, Stores.memory(clock))
    bot = telegram_bot(container)
    assert bot is not None
    access: Access = bot.access
    assert access.allows(USER, None) and access.allows(42, None)
    assert access.allows(ADMIN, None) and access.is_admin(ADMIN)
    assert not access.is_admin(USER) and not access.allows(7, None)
    assert access.allows(7, -100777)  # anyone in a configured chat
    await bot.aclose()


def test_no_token_no_bot(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(data_dir=tmp_path, api_key=API_KEY, telegram_token="")
    assert telegram_bot(assemble(settings, clock, API_KEY, Stores.memory(clock))) is None


async def test_the_readme_settings_give_a_bot_that_queues_the_first_magnet(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeBotApi,
        sqlite_template: Path) -> None:
    """The README's Telegram section: a token, your user id, restart; send a magnet."""
    for name, value in {"QUEUARR_DATABASE_URL": sqlite_copy(sqlite_template, tmp_path),
                        "QUEUARR_TELEGRAM_TOKEN": TOKEN,
                        "QUEUARR_TELEGRAM_ALLOWED_USERS": str(USER),
                        "QUEUARR_TELEGRAM_API_URL": api.url,  # instead of Telegram's
                        "QUEUARR_DATA_DIR": str(tmp_path),
                        "QUEUARR_MANAGED_ARIA2": "false"}.items():
        monkeypatch.setenv(name, value)
    container = build(Settings())
    try:
        await container.start()
        assert container.telegram is not None
        api.push_message(USER, magnet("First.Magnet"))
        await until(lambda: api.sent_to(USER), "an answer")
        assert api.sent_to(USER) == ["✅ Queued #1 First.Magnet (position 1)"]
        item = await container.queue.get(1)
        assert item.title == "First.Magnet"
        commands = command_module()
        if commands is not None:  # registered so that the client lists them
            await until(lambda: api.commands, "setMyCommands")
            assert [(c["command"], c["description"]) for c in api.commands] == [
                tuple(c) for c in commands.COMMANDS]
    finally:
        await container.aclose()
    assert container.telegram is not None and not container.telegram.polling
