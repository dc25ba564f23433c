"""The Telegram notifier against a fake Bot API server on loopback (real HTTP): one
summary message per chat, edited at most every 5 s of the fake clock, completion and
failure messages, the summary deleted a minute after the queue empties, flood limits and
"not modified" answers taken quietly, and the token kept out of the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
from core.events import EventType, QueueEvent
from infrastructure.notifiers.telegram import TelegramNotifier, parse_chat_ids, plugin
from tests.fakes import EPOCH, FakeClock
from tests.notifiers.fake_bot_api import FakeBotApi

TOKEN = "123456:SECRET-token_value"
CHATS = [111, -100222]
TITLE = "Heat.1995.1080p.BluRay.x264-SPARKS"
GiB = 1024**3

Make = Callable[..., TelegramNotifier]


@pytest.fixture
async def api(clock: FakeClock) -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(TOKEN, clock)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def make(api: FakeBotApi, clock: FakeClock) -> AsyncIterator[Make]:
    made: list[TelegramNotifier] = []

    def build(token: str = TOKEN, chats: list[int | str] | None = None, **options: Any
              ) -> TelegramNotifier:
        options.setdefault("autostart", False)
        notifier = TelegramNotifier(token, CHATS if chats is None else chats, api.url,
                                    clock=clock, **options)
        made.append(notifier)
        return notifier

    yield build
    for notifier in made:
        await notifier.aclose()


def item(item_id: int = 1, state: ItemState = ItemState.DOWNLOADING, **fields: Any
         ) -> QueueItem:
    values: dict[str, Any] = {"title": TITLE, "size": 3 * GiB // 2, "size_left": GiB}
    values.update(fields)
    return QueueItem(id=item_id, source=SourceKind.MAGNET, protocol=DownloadProtocol.TORRENT,
                     state=state, added_at=EPOCH, updated_at=EPOCH, **values)


class Events:
    def __init__(self, notifier: TelegramNotifier, clock: FakeClock) -> None:
        self.notifier, self.clock, self.next_id = notifier, clock, 1

    async def __call__(self, type_: EventType, queue_item: QueueItem | None = None,
                       message: str | None = None, client: str | None = None) -> None:
        event = QueueEvent(self.next_id, type_, self.clock.now(), queue_item, message, client)
        self.next_id += 1
        await self.notifier.notify(event)


async def start_download(notifier: TelegramNotifier, clock: FakeClock, **fields: Any
                         ) -> Events:
    emit = Events(notifier, clock)
    await emit(EventType.GRABBED, item(state=ItemState.QUEUED, progress=0.0))
    await emit(EventType.SENT, item(state=ItemState.SENDING))
    await emit(EventType.PROGRESS, item(**fields))
    return emit


async def test_a_download_sends_one_summary_per_chat_and_edits_it_at_most_every_5_s(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = await start_download(notifier, clock, progress=10.0)
    await notifier.tick()
    assert [c.chat_id for c in api.ok("sendMessage")] == [str(c) for c in CHATS]

    for step in range(1, 31):  # 15 s of progress every half second, a tick after each
        clock.advance(seconds=0.5)
        await emit(EventType.PROGRESS, item(progress=10.0 + step))
        await notifier.tick()

    assert len(api.ok("sendMessage")) == 2
    for chat in CHATS:
        stamps = [c.at for c in api.ok() if c.chat_id == str(chat)]
        assert len(stamps) == 4  # the send at 0 s, then edits at 5, 10 and 15 s
        assert all(b - a >= timedelta(seconds=5) for a, b in pairwise(stamps))
        assert api.texts(chat) == [notifier.summary_text()]
    assert "40.0%" in notifier.summary_text()
    assert notifier.stats.errors == 0


async def test_the_summary_shows_the_title_progress_bar_percent_eta_and_speeds(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    await start_download(notifier, clock, progress=42.5, eta_seconds=3725,
                         download_speed=5 * 1024**2, upload_speed=300 * 1024)
    await notifier.tick()

    text = api.texts(CHATS[0])[0]
    assert text.startswith("Queue: 1 active (1 downloading)")
    assert TITLE in text
    assert "42.5%" in text and "█" in text and "░" in text
    assert "ETA 1:02:05" in text
    assert "↓ 5.0 MiB/s" in text and "↑ 300.0 KiB/s" in text


async def test_the_current_item_is_the_download_with_the_most_progress(
        make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = Events(notifier, clock)
    await emit(EventType.GRABBED, item(1, ItemState.QUEUED, title="Queued.One"))
    await emit(EventType.PROGRESS, item(2, title="Slow.One", progress=20.0))
    await emit(EventType.PROGRESS, item(3, title="Fast.One", progress=70.0))
    await emit(EventType.CLIENT_UNAVAILABLE, client="qbit")

    text = notifier.summary_text()
    assert "Queue: 3 active (2 downloading, 1 queued)" in text
    assert "▶ Fast.One" in text and "Slow.One" not in text
    assert "All: ↓" in text
    assert "Client unavailable: qbit" in text


async def test_a_completed_download_sends_a_completion_message_to_every_chat(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = await start_download(notifier, clock, progress=99.0)
    await emit(EventType.COMPLETED, item(state=ItemState.COMPLETED, progress=100.0))

    sent = api.ok("sendMessage")
    assert [c.chat_id for c in sent] == [str(c) for c in CHATS]
    assert all(c.text == f"✅ Completed: {TITLE} (1.5 GiB)" for c in sent)


async def test_a_failed_download_sends_the_reason_and_the_attempts(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = await start_download(notifier, clock)
    await emit(EventType.FAILED, item(state=ItemState.FAILED, attempts=3),
               message="No seeders for 30 minutes")
    await emit(EventType.FAILED, item(2, ItemState.FAILED, attempts=1, title="Other",
                                      error_message="Not a valid torrent"))

    texts = [c.text for c in api.ok("sendMessage") if c.chat_id == str(CHATS[0])]
    assert texts == [
        f"❌ Failed: {TITLE}\nReason: No seeders for 30 minutes\nAttempts: 3",
        "❌ Failed: Other\nReason: Not a valid torrent\nAttempts: 1",
    ]


async def test_the_summary_is_deleted_a_minute_after_the_last_item_finished(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = await start_download(notifier, clock, progress=50.0)
    await notifier.tick()
    clock.advance(seconds=10)
    await emit(EventType.COMPLETED, item(state=ItemState.COMPLETED, progress=100.0))

    for _ in range(59):
        clock.advance(seconds=1)
        await notifier.tick()
    assert api.ok("deleteMessage") == []
    assert api.texts(CHATS[0])[0] == "Queue: empty"

    clock.advance(seconds=1)
    await notifier.tick()
    assert [c.chat_id for c in api.ok("deleteMessage")] == [str(c) for c in CHATS]
    assert api.texts(CHATS[0]) == [f"✅ Completed: {TITLE} (1.5 GiB)"]

    clock.advance(seconds=60)
    await notifier.tick()
    assert len(api.ok("deleteMessage")) == 2 and notifier.stats.deleted == 2


async def test_a_download_starting_within_the_minute_keeps_the_summary(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = await start_download(notifier, clock)
    await notifier.tick()
    await emit(EventType.REMOVED, item())
    clock.advance(seconds=30)
    await emit(EventType.PROGRESS, item(2, title="Next.One", progress=5.0))
    clock.advance(seconds=40)
    await notifier.tick()

    assert api.ok("deleteMessage") == []
    assert len(api.ok("sendMessage")) == 2
    assert "Next.One" in api.texts(CHATS[0])[0]


async def test_a_flood_limit_does_not_raise_and_sending_resumes_after_retry_after(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    await start_download(notifier, clock)
    api.rate_limit_next(retry_after=3)
    await notifier.tick()
    assert [c.status for c in api.calls] == [429]

    clock.advance(seconds=2)
    await notifier.tick()
    assert len(api.calls) == 1  # still waiting

    clock.advance(seconds=1)
    await notifier.tick()
    assert [c.chat_id for c in api.ok("sendMessage")] == [str(c) for c in CHATS]
    assert notifier.stats.rate_limited == 1 and notifier.stats.errors == 0


async def test_a_completion_refused_by_a_flood_limit_is_sent_when_it_has_passed(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = Events(notifier, clock)
    api.rate_limit_next(retry_after=5)
    await emit(EventType.COMPLETED, item(state=ItemState.COMPLETED))
    assert api.ok() == []

    clock.advance(seconds=5)
    await notifier.tick()
    assert [c.chat_id for c in api.ok("sendMessage")] == [str(c) for c in CHATS]


async def test_a_not_modified_answer_is_ignored_and_the_next_edit_goes_through(
        api: FakeBotApi, make: Make, clock: FakeClock, caplog: pytest.LogCaptureFixture
        ) -> None:
    notifier = make()
    emit = await start_download(notifier, clock, progress=10.0)
    await notifier.tick()
    await emit(EventType.PROGRESS, item(progress=20.0))
    clock.advance(seconds=5)
    api.not_modified_next()
    await notifier.tick()
    assert [c.status for c in api.calls if c.method == "editMessageText"] == [400, 200]

    await emit(EventType.PROGRESS, item(progress=30.0))
    clock.advance(seconds=5)
    await notifier.tick()
    assert "30.0%" in api.texts(CHATS[0])[0]
    assert notifier.stats.errors == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_summary_deleted_by_hand_is_sent_again(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = await start_download(notifier, clock, progress=10.0)
    await notifier.tick()
    api.messages.clear()
    await emit(EventType.PROGRESS, item(progress=20.0))
    clock.advance(seconds=5)
    await notifier.tick()
    await notifier.tick()

    assert len(api.ok("sendMessage")) == 4
    assert "20.0%" in api.texts(CHATS[1])[0]


async def test_a_chat_that_refuses_the_summary_is_asked_again_after_5_s_not_every_tick(
        api: FakeBotApi, make: Make, clock: FakeClock, caplog: pytest.LogCaptureFixture
        ) -> None:
    notifier = make()
    await start_download(notifier, clock)
    api.fail_next(400, "Bad Request: chat not found")
    for _ in range(5):
        await notifier.tick()
        clock.advance(seconds=1)
    await notifier.tick()

    first = [c.status for c in api.calls if c.chat_id == str(CHATS[0])]
    assert first == [400, 200]
    assert [c.status for c in api.calls if c.chat_id == str(CHATS[1])] == [200]
    assert notifier.stats.errors == 1
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "Telegram sendMessage failed: BadRequest: Chat not found"]


async def test_a_wrong_token_is_logged_and_counted_never_raised_nor_logged_itself(
        api: FakeBotApi, make: Make, clock: FakeClock, caplog: pytest.LogCaptureFixture
        ) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "999999:WRONG-secret"
    notifier = make(wrong)
    emit = await start_download(notifier, clock)
    await emit(EventType.COMPLETED, item(state=ItemState.COMPLETED))
    await notifier.tick()
    clock.advance(seconds=30)
    await notifier.tick()

    assert {c.status for c in api.calls} == {401}
    assert notifier.stats.errors == 2  # once, and again after the 30 s back-off
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "Telegram sendMessage failed: InvalidToken: Unauthorized"]
    assert "/bot<redacted>/sendMessage" in caplog.text  # httpx logs each request's URL
    assert wrong not in caplog.text and "WRONG-secret" not in caplog.text
    assert all(wrong not in r.getMessage() for r in caplog.records)


async def test_started_it_ticks_by_itself_until_closed(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make(autostart=True, tick_every=0.01)
    await start_download(notifier, clock)
    for _ in range(500):
        if len(api.ok("sendMessage")) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(api.ok("sendMessage")) == 2

    await notifier.aclose()
    await notifier.aclose()  # twice is fine


def test_chat_ids_are_read_from_a_comma_or_space_separated_list() -> None:
    assert parse_chat_ids("123, -100456 @channel,,") == [123, -100456, "@channel"]


async def test_the_plugin_is_off_without_a_token_and_on_without_broadcast_chats(
        clock: FakeClock) -> None:
    """No chats to broadcast to: the chats items were sent from still get theirs."""
    def context(token: str, chats: str) -> SimpleNamespace:
        settings = SimpleNamespace(telegram_token=SecretStr(token), telegram_chat_ids=chats,
                                   telegram_api_url="")
        return SimpleNamespace(settings=settings, clock=clock)

    assert plugin(context("", "1")) is None
    notifier = plugin(context(TOKEN, " "))
    assert notifier is not None and notifier.chat_ids == []
    await notifier.aclose()


# -- the chat an item was sent from ------------------------------------------------------

ORIGIN, OTHER_ORIGIN = 555, 777


async def test_the_chat_an_item_came_from_gets_its_summary_edits_and_completion(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = await start_download(notifier, clock, progress=10.0, origin_chat=ORIGIN)
    await notifier.tick()
    assert sorted(c.chat_id for c in api.ok("sendMessage")) == sorted(
        str(c) for c in [*CHATS, ORIGIN])
    for step in range(1, 21):  # 10 s of progress
        clock.advance(seconds=0.5)
        await emit(EventType.PROGRESS, item(progress=10.0 + step, origin_chat=ORIGIN))
        await notifier.tick()
    edits = [c for c in api.ok("editMessageText") if c.chat_id == str(ORIGIN)]
    assert len(edits) == 2  # at 5 and 10 s
    assert "30.0%" in api.texts(ORIGIN)[0]
    await emit(EventType.COMPLETED, item(state=ItemState.COMPLETED, progress=100.0,
                                         origin_chat=ORIGIN))
    for chat in [*CHATS, ORIGIN]:
        assert api.texts(chat)[-1] == f"✅ Completed: {TITLE} (1.5 GiB)"


async def test_an_origin_chats_summary_lists_only_its_own_items(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make()
    emit = Events(notifier, clock)
    await emit(EventType.PROGRESS, item(1, title="Mine.2001", origin_chat=ORIGIN))
    await emit(EventType.PROGRESS, item(2, title="Theirs.2002", origin_chat=OTHER_ORIGIN))
    await emit(EventType.PROGRESS, item(3, title="Api.2003"))
    await notifier.tick()
    (mine,) = api.texts(ORIGIN)
    (theirs,) = api.texts(OTHER_ORIGIN)
    assert mine.startswith("Queue: 1 active") and "Mine.2001" in mine
    assert theirs.startswith("Queue: 1 active") and "Theirs.2002" in theirs
    for chat in CHATS:
        assert api.texts(chat)[0].startswith("Queue: 3 active")


async def test_a_failure_goes_to_its_origin_chat_and_not_to_another_origin_chat(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make(chats=[])
    emit = Events(notifier, clock)
    await emit(EventType.PROGRESS, item(1, origin_chat=ORIGIN))
    await emit(EventType.PROGRESS, item(2, title="Theirs.2002", origin_chat=OTHER_ORIGIN))
    await emit(EventType.FAILED, item(1, state=ItemState.FAILED, origin_chat=ORIGIN,
                                      attempts=3), "Tracker said no")
    assert api.sent_to(ORIGIN) == [f"❌ Failed: {TITLE}\nReason: Tracker said no\n"
                                   "Attempts: 3"]
    await notifier.tick()
    assert api.texts(ORIGIN) == [f"❌ Failed: {TITLE}\nReason: Tracker said no\nAttempts: 3"]
    assert len(api.texts(OTHER_ORIGIN)) == 1 and "Theirs.2002" in api.texts(OTHER_ORIGIN)[0]


async def test_without_broadcast_chats_an_item_nobody_sent_from_a_chat_sends_nothing(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make(chats=[])
    emit = await start_download(notifier, clock, progress=50.0)
    await emit(EventType.COMPLETED, item(state=ItemState.COMPLETED, progress=100.0))
    await notifier.tick()
    assert api.calls == []


async def test_an_origin_chats_summary_goes_a_minute_after_its_own_items_finish(
        api: FakeBotApi, make: Make, clock: FakeClock) -> None:
    notifier = make(chats=[])
    emit = Events(notifier, clock)
    await emit(EventType.PROGRESS, item(1, origin_chat=ORIGIN))
    await emit(EventType.PROGRESS, item(2, title="Theirs.2002", origin_chat=OTHER_ORIGIN))
    await notifier.tick()
    await emit(EventType.REMOVED, item(1, origin_chat=ORIGIN))
    clock.advance(seconds=59)
    await notifier.tick()
    assert api.texts(ORIGIN) == ["Queue: empty"]
    clock.advance(seconds=1)
    await notifier.tick()
    assert api.texts(ORIGIN) == []
    assert len(api.texts(OTHER_ORIGIN)) == 1  # the other chat's item runs on
    assert [c.chat_id for c in api.ok("deleteMessage")] == [str(ORIGIN)]
    clock.advance(seconds=120)
    await notifier.tick()  # a forgotten chat: nothing more is sent to it
    assert [c for c in api.ok() if c.chat_id == str(ORIGIN)][-1].method == "deleteMessage"


async def test_the_plugin_builds_a_notifier_for_the_configured_chats(
        clock: FakeClock) -> None:
    settings = SimpleNamespace(telegram_token=SecretStr(TOKEN), telegram_chat_ids="1,@c",
                               telegram_api_url="http://127.0.0.1:8081")
    notifier = plugin(SimpleNamespace(settings=settings, clock=clock))
    assert notifier is not None
    assert notifier.chat_ids == [1, "@c"]
    assert notifier.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    await notifier.aclose()


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_flood_limit_is_read_as_whole_seconds_when_ptb_timedelta_is_off(
        api: FakeBotApi, make: Make, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "false")
    notifier = make()
    await start_download(notifier, clock)
    api.rate_limit_next(retry_after=4)
    await notifier.tick()
    clock.advance(seconds=3)
    await notifier.tick()
    assert len(api.calls) == 1
    clock.advance(seconds=1)
    await notifier.tick()
    assert len(api.ok("sendMessage")) == 2
