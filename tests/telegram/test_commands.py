"""The bot's commands and inline buttons, driven through the real python-telegram-bot
Application (its Bot talking real HTTP to the fake Bot API on loopback) by feeding it
updates, over a memory-backed QueueService with a fake download client."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application, ContextTypes

from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    NewItem,
    Priority,
    QueueItem,
    SourceKind,
)
from core.intake import Intake
from infrastructure.bootstrap import Container, Stores, assemble
from infrastructure.settings import Settings
from infrastructure.telegram.access import Access
from infrastructure.telegram.commands import COMMANDS, PAGE_SIZE, handlers
from infrastructure.telegram.services import BotServices
from tests.fakes import FakeClients, FakeClock, FakeDownloadClient
from tests.notifiers.fake_bot_api import FakeBotApi

TOKEN = "123456:SECRET-token_value"
API_KEY = "0123456789abcdef0123456789abcdef"
ADMIN, USER, OTHER, STRANGER = 1001, 1002, 1003, 666
GiB = 1024**3
_serial = itertools.count(1)


@dataclass
class Bot:
    """The running Application and what it talks to; `send` and `press` feed it updates
    as Telegram would, and answer with what the bot said."""

    app: Application[Any, Any, Any, Any, Any, Any]
    api: FakeBotApi
    container: Container
    client: FakeDownloadClient
    clock: FakeClock
    errors: list[BaseException] = field(default_factory=list)
    update_id: int = 0

    def _user(self, user: int) -> dict[str, Any]:
        return {"id": user, "is_bot": False, "first_name": f"User{user}"}

    async def _feed(self, data: dict[str, Any]) -> None:
        self.update_id += 1
        await self.app.process_update(Update.de_json({"update_id": self.update_id, **data},
                                                     self.app.bot))

    async def send(self, text: str, user: int = USER) -> str:
        """A command message in the user's private chat; the bot's one answer."""
        before = len(self.api.ok("sendMessage"))
        command = text.split()[0]
        await self._feed({"message": {
            "message_id": 100_000 + self.update_id, "date": self._date(),
            "chat": {"id": user, "type": "private"}, "from": self._user(user), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}})
        sent = self.api.ok("sendMessage")[before:]
        assert len(sent) == 1, [c.text for c in sent]
        assert sent[0].text is not None
        return sent[0].text

    def last_message(self, user: int = USER) -> int:
        """The id of the bot's last message in the user's chat."""
        return max(mid for chat, mid in self.api.messages if chat == str(user))

    async def press(self, label: str, message_id: int | None = None, user: int = USER
                    ) -> str:
        """Press the button labelled `label` on a message (the last one by default);
        the toast the bot answered with ('' for none)."""
        message_id = message_id or self.last_message(user)
        data = self.buttons(message_id, user)[label]
        return await self.press_data(data, message_id, user)

    async def press_data(self, data: str, message_id: int, user: int = USER) -> str:
        before = len(self.api.ok("answerCallbackQuery"))
        await self._feed({"callback_query": {
            "id": str(self.update_id), "from": self._user(user), "chat_instance": "c",
            "data": data, "message": {
                "message_id": message_id, "date": self._date(),
                "chat": {"id": user, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "Fake"},
                "text": self.api.messages.get((str(user), message_id), "")}}})
        answers = self.api.ok("answerCallbackQuery")[before:]
        assert len(answers) == 1
        return answers[0].text or ""

    def text(self, message_id: int, user: int = USER) -> str:
        return self.api.messages[str(user), message_id]

    def buttons(self, message_id: int, user: int = USER) -> dict[str, str]:
        markup = self.api.markups.get((str(user), message_id)) or {}
        return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", [])
                for b in row}

    def _date(self) -> int:
        return int(self.clock.now().timestamp())

    # -- the queue ---------------------------------------------------------------------

    async def add(self, title: str | None = None, state: ItemState = ItemState.QUEUED,
                  sender: int | None = USER, **changes: Any) -> QueueItem:
        """An item `sender` sent from their private chat (None: one grabbed through the
        API), in `state` with `changes`."""
        n = next(_serial)
        new = NewItem(title=title or f"Some.Movie.{n}.2020.1080p.WEB-DL-GRP",
                      source=SourceKind.MAGNET, protocol=DownloadProtocol.TORRENT,
                      added_at=self.clock.now(), size=3 * GiB // 2,
                      origin_chat=sender, origin_user=sender,
                      info_hash=hashlib.sha1(f"item-{n}".encode()).hexdigest())
        self.clock.advance(seconds=1)  # distinct added times: a stable queue order
        repo = self.container.queue.items
        item = await repo.add(new, HistoryEvent("grabbed"))
        if state is ItemState.QUEUED and not changes:
            return item
        if state in (ItemState.DOWNLOADING, ItemState.PAUSED):
            download_id = await self.client.add(item, None)
            changes = {"download_client": self.client.name, "download_id": download_id,
                       **changes}
        (saved,) = await repo.update([(item, item.evolve(state=state, **changes))],
                                     HistoryEvent("updated"))
        return saved

    async def item(self, item_id: int) -> QueueItem | None:
        return await self.container.queue.items.get(item_id)


@pytest.fixture
async def bot(clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> AsyncIterator[Bot]:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api = FakeBotApi(TOKEN, clock)
    await api.start()
    settings = Settings(data_dir=tmp_path, api_key=SecretStr(API_KEY), managed_aria2="false")
    client = FakeDownloadClient("fake")
    container = assemble(settings, clock, API_KEY, Stores.memory(clock),
                         clients=FakeClients(client), guard_urls=False)
    services = BotServices(queue=container.queue, intake=Intake(container.queue), clock=clock,
                           settings=settings, dispatching=container.dispatching)
    access = Access(users=[USER, OTHER], chats=[], admins=[ADMIN])
    app = Application.builder().token(TOKEN).base_url(f"{api.url}/bot").updater(None).build()
    running = Bot(app, api, container, client, clock)

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        running.errors.append(context.error)

    app.add_handler(access.gate(), group=-1)
    app.add_handlers(handlers(services, access))
    app.add_error_handler(record)
    await app.initialize()
    try:
        yield running
        assert running.errors == []  # no handler raised: every answer was an answer
    finally:
        await app.shutdown()
        await api.stop()


# -- /start, /help ---------------------------------------------------------------------

@pytest.mark.parametrize("command", ["/start", "/help"])
async def test_start_and_help_list_every_command(bot: Bot, command: str) -> None:
    text = await bot.send(command)
    assert "magnet" in text
    for name, _ in COMMANDS:
        if name not in ("start", "help"):
            assert f"/{name} - " in text


async def test_every_registered_command_has_a_handler(bot: Bot) -> None:
    names = {name for name, _ in COMMANDS}
    handled = {c for h in bot.app.handlers[0] for c in getattr(h, "commands", ())}
    assert names == handled
    assert all(len(about) <= 256 and name.islower() for name, about in COMMANDS)


# -- /queue ----------------------------------------------------------------------------

async def test_queue_shows_active_and_waiting_items_with_position_progress_and_eta(
        bot: Bot) -> None:
    first = await bot.add("Heat.1995.1080p.BluRay.x264-SPARKS", ItemState.DOWNLOADING,
                          progress=42.5, eta_seconds=3725, download_speed=5 * 1024**2)
    second = await bot.add("Ronin.1998.720p.WEB-DL-GRP")
    await bot.add("Done.2001.1080p.WEB-DL-GRP", ItemState.COMPLETED, progress=100.0)
    await bot.add("Broken.2002.1080p.WEB-DL-GRP", ItemState.FAILED)

    text = await bot.send("/queue")

    assert text.splitlines() == [
        "Queue: 2 active or waiting · page 1/1",
        f"1. #{first.id} Heat.1995.1080p.BluRay.x264-SPARKS",
        "   downloading · 42.5% · ETA 1:02:05 · ↓ 5.0 MiB/s",
        f"2. #{second.id} Ronin.1998.720p.WEB-DL-GRP",
        "   queued · 0.0%",
    ]
    assert bot.buttons(bot.last_message()) == {f"#{first.id}": f"item:open:{first.id}",
                                               f"#{second.id}": f"item:open:{second.id}"}


async def test_an_empty_queue_says_so(bot: Bot) -> None:
    assert await bot.send("/queue") == "The queue is empty."
    assert bot.buttons(bot.last_message()) == {}


async def test_the_queue_pages_with_buttons_that_edit_the_same_message(bot: Bot) -> None:
    items = [await bot.add() for _ in range(PAGE_SIZE * 2 + 3)]
    text = await bot.send("/queue")
    message = bot.last_message()
    assert text.startswith(f"Queue: {len(items)} active or waiting · page 1/3")
    assert f"#{items[PAGE_SIZE - 1].id} " in text and f"#{items[PAGE_SIZE].id} " not in text
    assert set(bot.buttons(message)) >= {"▶"} and "◀" not in bot.buttons(message)

    assert await bot.press("▶") == ""
    page2 = bot.text(message)
    assert page2.startswith(f"Queue: {len(items)} active or waiting · page 2/3")
    assert f"{PAGE_SIZE + 1}. #{items[PAGE_SIZE].id} " in page2
    assert {"◀", "▶"} <= set(bot.buttons(message))

    await bot.press("▶")
    assert "page 3/3" in bot.text(message) and "▶" not in bot.buttons(message)
    await bot.press("◀")
    assert "page 2/3" in bot.text(message)
    assert len(bot.api.ok("sendMessage")) == 1  # one message, edited in place


async def test_queue_takes_a_page_number_and_a_page_past_the_end_shows_the_last(
        bot: Bot) -> None:
    for _ in range(PAGE_SIZE + 1):
        await bot.add()
    assert "page 2/2" in (await bot.send("/queue 2")).splitlines()[0]
    assert "page 2/2" in (await bot.send("/queue 9")).splitlines()[0]


async def test_a_stale_page_button_shows_the_last_page_that_still_exists(bot: Bot) -> None:
    items = [await bot.add() for _ in range(PAGE_SIZE + 1)]
    await bot.send("/queue")
    message = bot.last_message()
    await bot.container.queue.remove(items[-1].id)
    await bot.press("▶", message)
    assert bot.text(message).startswith(f"Queue: {PAGE_SIZE} active or waiting · page 1/1")


# -- one item and its buttons ----------------------------------------------------------

async def test_an_items_button_on_the_queue_opens_its_view_in_a_new_message(bot: Bot) -> None:
    item = await bot.add("Heat.1995.1080p.BluRay.x264-SPARKS", ItemState.DOWNLOADING,
                         progress=10.0)
    await bot.send("/queue")
    queue_message = bot.last_message()
    await bot.press(f"#{item.id}")
    view = bot.last_message()
    assert view != queue_message and bot.text(queue_message).startswith("Queue:")
    assert bot.text(view).startswith(f"#{item.id} Heat.1995.1080p.BluRay.x264-SPARKS")
    assert set(bot.buttons(view)) == {"⏸ Pause", "✖ Remove"}


async def test_item_shows_state_progress_priority_client_and_error(bot: Bot) -> None:
    item = await bot.add("Heat.1995.1080p.BluRay.x264-SPARKS", ItemState.FAILED,
                         progress=12.0, error_message="tracker said no")
    text = await bot.send(f"/item {item.id}")
    assert text.splitlines() == [f"#{item.id} Heat.1995.1080p.BluRay.x264-SPARKS",
                                 "failed · 12.0% · 1.5 GiB", "Priority: normal",
                                 "Error: tracker said no"]
    assert set(bot.buttons(bot.last_message())) == {"↻ Retry", "✖ Remove"}


async def test_the_pause_and_resume_buttons_pause_in_the_client_and_queue_again(
        bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING, progress=30.0)
    await bot.send(f"/item #{item.id}")
    message = bot.last_message()

    assert await bot.press("⏸ Pause") == f"#{item.id} is paused."
    assert ("pause", (item.download_id,)) in bot.client.calls
    assert (await bot.item(item.id)).state is ItemState.PAUSED  # type: ignore[union-attr]
    assert bot.text(message).splitlines()[1].startswith("paused · 30.0%")
    assert set(bot.buttons(message)) == {"▶ Resume", "✖ Remove"}

    assert await bot.press("▶ Resume") == f"#{item.id} is queued."
    assert (await bot.item(item.id)).state is ItemState.QUEUED  # type: ignore[union-attr]
    assert set(bot.buttons(message)) == {"⏸ Pause", "✖ Remove"}


async def test_the_retry_button_queues_a_failed_item_again(bot: Bot) -> None:
    item = await bot.add(state=ItemState.FAILED, attempts=3, error_message="dead tracker")
    await bot.send(f"/item {item.id}")
    assert await bot.press("↻ Retry") == f"#{item.id} is queued again."
    again = await bot.item(item.id)
    assert again is not None and again.state is ItemState.QUEUED and again.attempts == 0
    assert "Error:" not in bot.text(bot.last_message())


async def test_the_remove_button_asks_first_and_removes_only_on_yes(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    await bot.send(f"/item {item.id}")
    message = bot.last_message()

    await bot.press("✖ Remove")
    assert bot.text(message).endswith("Remove it?")
    assert set(bot.buttons(message)) == {"Yes, remove it", "No"}
    await bot.press("No")
    assert await bot.item(item.id) is not None
    assert set(bot.buttons(message)) == {"⏸ Pause", "✖ Remove"}

    await bot.press("✖ Remove")
    assert await bot.press("Yes, remove it") == f"#{item.id} is removed."
    assert await bot.item(item.id) is None
    assert ("remove", (item.download_id, True)) in bot.client.calls
    assert bot.text(message) == f"#{item.id} is removed." and bot.buttons(message) == {}


async def test_a_button_refused_by_the_core_answers_with_its_message(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    await bot.send(f"/item {item.id}")
    message = bot.last_message()
    await bot.container.queue.items.update(
        [(item, item.evolve(state=ItemState.COMPLETED))], HistoryEvent("completed"))

    assert await bot.press("⏸ Pause") == f"Item {item.id} is completed; it cannot be paused"
    assert bot.text(message).splitlines()[1].startswith("downloading")  # left as it was


async def test_a_button_of_an_item_that_is_gone_says_so(bot: Bot) -> None:
    item = await bot.add()
    await bot.send(f"/item {item.id}")
    await bot.container.queue.remove(item.id)
    assert await bot.press("⏸ Pause") == f"There is no item #{item.id} in the queue."


async def test_pressing_pause_on_an_item_already_paused_is_quiet(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    await bot.send(f"/item {item.id}")
    message = bot.last_message()
    await bot.press("⏸ Pause")
    assert await bot.press_data(f"item:pause:{item.id}", message) == f"#{item.id} is paused."
    # Telegram refuses the unchanged edit ("not modified"); no error comes of it


@pytest.mark.parametrize("data", ["item:explode:1", "item:pause:x", "queue:x", "nonsense",
                                  "item:pause:99999999999", "queue:0", "history:١٢"])
async def test_a_button_the_bot_does_not_know_gets_a_short_answer(bot: Bot, data: str
                                                                  ) -> None:
    await bot.send("/queue")
    assert await bot.press_data(data, bot.last_message()) == "This button is not one I know."


# -- /status ---------------------------------------------------------------------------

async def test_status_shows_counts_speeds_free_disk_and_dispatching(bot: Bot) -> None:
    await bot.add(state=ItemState.DOWNLOADING, download_speed=3 * 1024**2,
                  upload_speed=1024)
    await bot.add(state=ItemState.WARNING, download_speed=1024**2)
    await bot.add()
    await bot.add(state=ItemState.FAILED)
    await bot.add(state=ItemState.COMPLETED)

    lines = (await bot.send("/status")).splitlines()
    assert lines[0] == "Queue: 5 items"
    assert lines[1] == ("2 downloading, 1 waiting, 0 paused, 0 retrying, 1 failed, "
                        "1 completed")
    assert lines[2] == "Speed: ↓ 4.0 MiB/s · ↑ 1.0 KiB/s"
    root = str(bot.container.settings.roots[0])
    assert lines[3].startswith(f"Free in {root}: ") and " of " in lines[3]
    assert lines[-2] == "Dispatching: on"
    assert re.fullmatch(r"Queuarr: CPU \d+\.\d% · RAM [\d.]+ [KMG]iB · load "
                        r"\d+\.\d\d \d+\.\d\d \d+\.\d\d", lines[-1]), lines[-1]

    await bot.container.dispatching.set_paused(True)
    assert (await bot.send("/status")).splitlines()[-2].startswith("Dispatching: paused")


# -- /pause, /resume -------------------------------------------------------------------

async def test_an_admin_pauses_and_resumes_everything(bot: Bot) -> None:
    """Everything: every download (in its client too), every waiting item, and dispatch;
    finished items are left alone."""
    running = await bot.add(state=ItemState.DOWNLOADING)
    waiting = await bot.add()
    done = await bot.add(state=ItemState.COMPLETED)
    answer = await bot.send("/pause", ADMIN)
    assert answer.startswith("Paused everything: 2 download(s) paused"), answer
    assert await bot.container.dispatching.paused()
    states = {i.id: (await bot.container.queue.get(i.id)).state
              for i in (running, waiting, done)}
    assert states == {running.id: ItemState.PAUSED, waiting.id: ItemState.PAUSED,
                      done.id: ItemState.COMPLETED}
    assert ("pause", (running.download_id,)) in bot.client.calls
    answer = await bot.send("/resume", ADMIN)
    assert answer.startswith("Resumed everything: 2 download(s) queued again"), answer
    assert not await bot.container.dispatching.paused()
    assert {(await bot.container.queue.get(i.id)).state for i in (running, waiting)} == {
        ItemState.QUEUED}


async def test_only_an_admin_pauses_or_resumes_everything(bot: Bot) -> None:
    assert (await bot.send("/pause")).startswith("Only an admin may pause everything")
    assert not await bot.container.dispatching.paused()
    await bot.container.dispatching.set_paused(True)
    assert (await bot.send("/resume")).startswith("Only an admin may resume everything")
    assert await bot.container.dispatching.paused()


async def test_the_sender_pauses_and_resumes_their_item(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    assert await bot.send(f"/pause {item.id}") == f"#{item.id} is paused."
    assert ("pause", (item.download_id,)) in bot.client.calls
    assert await bot.send(f"/resume #{item.id}") == f"#{item.id} is queued again."
    assert (await bot.item(item.id)).state is ItemState.QUEUED  # type: ignore[union-attr]


@pytest.mark.parametrize(("command", "state"), [
    ("/pause {id}", ItemState.DOWNLOADING), ("/resume {id}", ItemState.PAUSED),
    ("/retry {id}", ItemState.FAILED), ("/remove {id}", ItemState.DOWNLOADING),
    ("/priority {id} high", ItemState.QUEUED)])
async def test_another_users_item_is_refused_in_one_line_and_left_alone(
        bot: Bot, command: str, state: ItemState) -> None:
    item = await bot.add(state=state)
    calls = len(bot.client.calls)
    answer = await bot.send(command.format(id=item.id), OTHER)
    assert answer == (f"#{item.id} is not yours: only whoever sent it or an admin may "
                      "change it.")
    assert await bot.item(item.id) == item
    assert len(bot.client.calls) == calls


@pytest.mark.parametrize(("command", "state", "answer"), [
    ("/pause {id}", ItemState.DOWNLOADING, "#{id} is paused."),
    ("/resume {id}", ItemState.PAUSED, "#{id} is queued again."),
    ("/retry {id}", ItemState.FAILED, "#{id} is queued again."),
    ("/priority {id} high", ItemState.QUEUED, "#{id} has priority high."),
    ("/remove {id}", ItemState.DOWNLOADING, "#{id} is removed.")])
@pytest.mark.parametrize("sender", [USER, None], ids=["someones", "grabbed-by-the-api"])
async def test_an_admin_acts_on_anyones_item(bot: Bot, command: str, state: ItemState,
                                             answer: str, sender: int | None) -> None:
    item = await bot.add(state=state, sender=sender)
    assert await bot.send(command.format(id=item.id), ADMIN) == answer.format(id=item.id)


async def test_an_item_nobody_sent_through_the_chat_is_only_an_admins(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING, sender=None)
    assert (await bot.send(f"/pause {item.id}")).endswith("only whoever sent it or an "
                                                           "admin may change it.")
    assert (await bot.item(item.id)).state is ItemState.DOWNLOADING  # type: ignore[union-attr]


async def test_another_users_buttons_are_refused_with_a_toast(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    await bot.send(f"/item {item.id}", OTHER)  # anyone may look
    buttons = bot.buttons(bot.last_message(OTHER), OTHER)
    for label in ("⏸ Pause", "✖ Remove"):
        assert label in buttons
        toast = await bot.press(label, user=OTHER)
        assert toast.startswith(f"#{item.id} is not yours")
    await bot.press_data(f"item:really-remove:{item.id}", bot.last_message(OTHER), OTHER)
    assert await bot.item(item.id) == item


async def test_pausing_a_finished_item_answers_the_cores_refusal(bot: Bot) -> None:
    item = await bot.add(state=ItemState.COMPLETED)
    assert await bot.send(f"/pause {item.id}") == (
        f"Item {item.id} is completed; it cannot be paused")
    assert await bot.send(f"/resume {item.id}") == (
        f"Item {item.id} is completed; it is not paused")


# -- /retry ----------------------------------------------------------------------------

async def test_retry_without_an_id_retries_every_failed_item(bot: Bot) -> None:
    failed = [await bot.add(state=ItemState.FAILED) for _ in range(2)]
    running = await bot.add(state=ItemState.DOWNLOADING)
    text = await bot.send("/retry")
    assert text == f"Retrying 2: #{failed[0].id}, #{failed[1].id}"
    for item in failed:
        assert (await bot.item(item.id)).state is ItemState.QUEUED  # type: ignore[union-attr]
    assert (await bot.item(running.id)).state is ItemState.DOWNLOADING  # type: ignore[union-attr]
    assert await bot.send("/retry") == "Nothing to retry: no item has failed."


async def test_retry_of_one_item_queues_it_or_says_why_not(bot: Bot) -> None:
    failed = await bot.add(state=ItemState.FAILED)
    running = await bot.add(state=ItemState.DOWNLOADING)
    assert await bot.send(f"/retry {failed.id}") == f"#{failed.id} is queued again."
    assert await bot.send(f"/retry {running.id}") == (
        "Only failed or retrying items can be retried; "
        f"item {running.id} is downloading")


# -- /remove, /priority, /clear --------------------------------------------------------

async def test_remove_removes_the_item_and_its_download(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    assert await bot.send(f"/remove {item.id}") == f"#{item.id} is removed."
    assert await bot.item(item.id) is None
    assert ("remove", (item.download_id, True)) in bot.client.calls
    assert await bot.send(f"/remove {item.id}") == f"There is no item #{item.id} in the queue."


async def test_priority_sets_the_level_in_the_queue_and_the_client(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    assert await bot.send(f"/priority {item.id} veryhigh") == (
        f"#{item.id} has priority veryHigh.")
    assert (await bot.item(item.id)).priority is Priority.VERY_HIGH  # type: ignore[union-attr]
    assert ("set_priority", (item.download_id, 3)) in bot.client.calls


async def test_clear_removes_finished_items_only_and_only_for_an_admin(bot: Bot) -> None:
    done = await bot.add(state=ItemState.COMPLETED)
    failed = await bot.add(state=ItemState.FAILED)
    waiting = await bot.add()

    assert await bot.send("/clear") == "Only an admin may clear finished items."
    assert await bot.item(done.id) is not None

    assert await bot.send("/clear", ADMIN) == "Removed 2 finished items."
    assert await bot.item(done.id) is None and await bot.item(failed.id) is None
    assert await bot.item(waiting.id) is not None
    assert await bot.send("/clear", ADMIN) == "Removed 0 finished items."


# -- /history --------------------------------------------------------------------------

async def test_history_shows_the_last_transitions_newest_first(bot: Bot) -> None:
    item = await bot.add("Heat.1995.1080p.BluRay.x264-SPARKS", ItemState.DOWNLOADING)
    bot.clock.advance(minutes=5)
    await bot.container.queue.pause(item.id)
    bot.clock.advance(minutes=2)

    lines = (await bot.send("/history")).splitlines()
    assert lines[0] == "Last changes, newest first:"
    assert lines[1] == (f"2m ago #{item.id} paused (downloading → paused): "
                        "Heat.1995.1080p.BluRay.x264-SPARKS")
    assert lines[-1].startswith(f"7m ago #{item.id} grabbed (new → queued)")


async def test_history_pages_with_buttons(bot: Bot) -> None:
    for _ in range(12):
        await bot.add()
    text = await bot.send("/history")
    message = bot.last_message()
    assert text.endswith("Page 1/2") and set(bot.buttons(message)) == {"▶"}
    await bot.press("▶")
    assert bot.text(message).endswith("Page 2/2") and set(bot.buttons(message)) == {"◀"}
    assert (await bot.send("/history 7")).endswith("Page 2/2")


async def test_an_empty_history_says_so(bot: Bot) -> None:
    assert await bot.send("/history") == "No history yet."


# -- bad arguments, strangers ----------------------------------------------------------

@pytest.mark.parametrize(("command", "usage"), [
    ("/item", "Usage: /item <id>"),
    ("/item twelve", "Usage: /item <id>"),
    ("/item 0", "Usage: /item <id>"),
    ("/item 1 2", "Usage: /item <id>"),
    ("/item ١٢", "Usage: /item <id>"),
    ("/pause -3", "Usage: /pause [id]"),
    ("/resume 99999999999", "Usage: /resume [id]"),
    ("/retry x", "Usage: /retry [id]"),
    ("/remove", "Usage: /remove <id>"),
    ("/remove abc", "Usage: /remove <id>"),
    ("/priority", "Usage: /priority <id> low|normal|high|veryHigh"),
    ("/priority 1", "Usage: /priority <id> low|normal|high|veryHigh"),
    ("/priority 1 urgent", "Usage: /priority <id> low|normal|high|veryHigh"),
    ("/priority x high", "Usage: /priority <id> low|normal|high|veryHigh"),
    ("/queue first", "Usage: /queue [page]"),
    ("/history 0", "Usage: /history [page]"),
])
async def test_a_bad_argument_gets_the_commands_usage(bot: Bot, command: str, usage: str
                                                      ) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    assert await bot.send(command) == usage
    after = await bot.item(item.id)
    assert after is not None and after.state is ItemState.DOWNLOADING
    assert after.priority is Priority.NORMAL


async def test_a_command_about_an_unknown_item_names_it(bot: Bot) -> None:
    assert await bot.send("/item 4242") == "There is no item #4242 in the queue."
    assert await bot.send("/priority 4242 low") == "There is no item #4242 in the queue."


async def test_a_stranger_gets_a_refusal_and_nothing_done(bot: Bot) -> None:
    item = await bot.add(state=ItemState.COMPLETED)
    assert (await bot.send("/clear", STRANGER)).startswith("Sorry, this is a private bot.")
    assert await bot.item(item.id) is not None


async def test_a_strangers_button_press_does_nothing(bot: Bot) -> None:
    item = await bot.add(state=ItemState.DOWNLOADING)
    await bot.send(f"/item {item.id}")
    await bot.press_data(f"item:really-remove:{item.id}", bot.last_message(), STRANGER)
    assert await bot.item(item.id) is not None
