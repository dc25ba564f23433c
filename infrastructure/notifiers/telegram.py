"""Telegram notifier (optional: `pip install queuarr[telegram]`, python-telegram-bot).

One summary message per chat, sent when downloads start and edited at most every
`edit_every` seconds while they run, deleted `delete_after` seconds after the chat's
queue empties; one message per completion and per failure. The broadcast chats
(QUEUARR_TELEGRAM_CHAT_IDS, possibly none) see every item; the chat an item was sent
from (its `origin_chat`) sees that item too, and its summary lists only its own items.
notify() only updates memory and sends those two messages; a background task
(start/aclose) calls tick() every second. Nothing raises out of it: flood limits (429)
pause sending for retry_after, "message is not modified" is ignored, other errors are
logged once and counted. The bot token is in every Bot API URL, so it is redacted from
the httpx and telegram loggers and our own.
`plugin` is the `queuarr.notifiers` entry point; python-telegram-bot is imported only
when a token is configured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import warnings
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from core.domain import ItemState, QueueItem
from core.events import EventType, QueueEvent
from core.ports import Clock
from infrastructure.redact import Redact

if TYPE_CHECKING:  # imported when used: without the extra the module still loads
    from telegram import Bot
    from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

T = TypeVar("T")
Status = Literal["ok", "retry", "gone", "failed"]
MAX_TEXT = 4096  # Telegram's limit per message
MAX_OUTBOX = 100  # completion/failure messages waiting out a flood limit or an outage
BAR = 16
_BOT_PATH = re.compile(r"(/bot)[^/\s\"'?]+")
_DOWNLOADING = frozenset({ItemState.DOWNLOADING, ItemState.WARNING})


# Masks the token in .../bot<token>/method URLs (httpx logs every request's URL).
_REDACT = Redact(_BOT_PATH)


def parse_chat_ids(value: str) -> list[int | str]:
    """'123, -100456 @channel' -> [123, -100456, '@channel']."""
    return [int(p) if re.fullmatch(r"-?\d+", p) else p for p in re.split(r"[,\s]+", value) if p]


@dataclass
class TelegramStats:
    sent: int = 0
    edited: int = 0
    deleted: int = 0
    rate_limited: int = 0
    errors: int = 0
    dropped: int = 0  # messages given up because the outbox was full


@dataclass
class _Summary:
    message_id: int | None = None
    text: str = ""
    at: datetime | None = None  # last sent or edited
    empty_since: datetime | None = None  # when the last item concerning the chat left


class TelegramNotifier:
    name = "telegram"
    # One summary per chat for the whole deployment: kept by the process that runs the
    # processor, from every process's events (relayed on Postgres).
    leader_only = True

    def __init__(self, token: str, chat_ids: Sequence[int | str],
                 api_url: str = "https://api.telegram.org", *, clock: Clock,
                 edit_every: float = 5.0, delete_after: float = 60.0, tick_every: float = 1.0,
                 error_backoff: float = 30.0, bot: Bot | None = None,
                 autostart: bool = True) -> None:
        for name in ("httpx", "telegram.Bot"):  # before Bot(), which logs its URL
            if _REDACT not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(_REDACT)
        self._token = token
        self._request: HTTPXRequest | None = None
        # PTB >= 22.2 warns (a UserWarning) on every RetryAfter unless opted in to its
        # timedelta durations; _call reads both kinds.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        if bot is None:
            from telegram import Bot
            from telegram.request import HTTPXRequest

            self._request = HTTPXRequest(connection_pool_size=4)
            bot = Bot(token, base_url=f"{api_url.rstrip('/')}/bot", request=self._request,
                      get_updates_request=self._request)
        self.bot = bot
        self.chat_ids = list(chat_ids)
        self.clock = clock
        self.edit_every = timedelta(seconds=edit_every)
        self.delete_after = timedelta(seconds=delete_after)
        self.error_backoff = timedelta(seconds=error_backoff)
        self.tick_every = tick_every
        self.autostart = autostart  # the first event starts the ticking task
        self.stats = TelegramStats()
        self._broadcast = frozenset(self.chat_ids)
        self._items: dict[int, QueueItem] = {}
        self._down: set[str] = set()
        # The broadcast chats', and the origin chats' with an item or a summary shown.
        self._summaries: dict[int | str, _Summary] = {chat: _Summary()
                                                      for chat in self.chat_ids}
        self._outbox: deque[tuple[int | str, str]] = deque()
        self._paused_until: datetime | None = None
        self._last_error = ""
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # -- events ------------------------------------------------------------------------

    async def notify(self, event: QueueEvent) -> None:
        if self.autostart:
            self.start()
        if event.type is EventType.CLIENT_UNAVAILABLE and event.client:
            self._down.add(event.client)
        elif event.type is EventType.CLIENT_BACK and event.client:
            self._down.discard(event.client)
        item = event.item
        if item is None:
            return
        chats = self._chats_of(item)
        if event.type in (EventType.COMPLETED, EventType.FAILED, EventType.REMOVED) \
                or not item.is_active:
            self._items.pop(item.id, None)
            now = self.clock.now()
            for chat in chats:
                summary = self._summaries.get(chat)
                if summary is not None and summary.empty_since is None \
                        and not self._concerning(chat):
                    summary.empty_since = now
        else:
            self._items[item.id] = item
            for chat in chats:
                self._summaries.setdefault(chat, _Summary()).empty_since = None
        if event.type is EventType.COMPLETED:
            self._post(chats, f"✅ Completed: {item.title} ({human(item.size)})")
        elif event.type is EventType.FAILED:
            reason = event.message or item.error_message or "unknown"
            self._post(chats, f"❌ Failed: {item.title}\nReason: {reason}\n"
                              f"Attempts: {item.attempts}")
        if self._outbox and not self._lock.locked():  # else tick() sends them
            async with self._lock:
                await self._send_outbox(self.clock.now())

    def _chats_of(self, item: QueueItem) -> list[int | str]:
        """The chats an item concerns: every broadcast chat, and the one it came from."""
        origin = item.origin_chat
        return self.chat_ids + ([origin] if origin is not None
                                and origin not in self._broadcast else [])

    def _concerning(self, chat: int | str) -> list[QueueItem]:
        """The items a chat's summary lists: all of them in a broadcast chat, else the
        chat's own."""
        if chat in self._broadcast:
            return list(self._items.values())
        return [i for i in self._items.values() if i.origin_chat == chat]

    def _post(self, chats: list[int | str], text: str) -> None:
        for chat in chats:
            if len(self._outbox) >= MAX_OUTBOX:
                self.stats.dropped += 1
            else:
                self._outbox.append((chat, text[:MAX_TEXT]))

    # -- the summary -------------------------------------------------------------------

    async def tick(self) -> None:
        """Send, edit or delete the summary messages as due; flush waiting messages."""
        async with self._lock:
            now = self.clock.now()
            await self._send_outbox(now)
            for chat, summary in list(self._summaries.items()):
                items = self._concerning(chat)
                if items:
                    text = self.summary_text(items)
                elif summary.empty_since is not None \
                        and now - summary.empty_since >= self.delete_after:
                    if summary.message_id is not None and self._ready(now):
                        await self._delete(chat, summary)
                    if summary.message_id is None:
                        summary.empty_since = None
                        if chat not in self._broadcast:  # an origin chat is forgotten
                            del self._summaries[chat]
                    continue
                else:
                    text = "Queue: empty"
                if self._ready(now):
                    await self._show(chat, summary, text, now, create=bool(items))

    def summary_text(self, items: Sequence[QueueItem] | None = None) -> str:
        """The summary of `items` (by default every item)."""
        items = list(self._items.values()) if items is None else list(items)
        counts = Counter(item.state.value for item in items)
        lines = [f"Queue: {len(items)} active ("
                 + ", ".join(f"{n} {state}" for state, n in counts.most_common()) + ")"]
        running = [i for i in items if i.state in _DOWNLOADING]
        current = (min(running, key=lambda i: (-i.progress, i.added_at, i.id)) if running
                   else min(items, key=lambda i: (i.added_at, i.id)))
        state = "" if current.state in _DOWNLOADING else f" ({current.state.value})"
        filled = max(0, min(BAR, round(current.progress * BAR / 100)))
        lines += [f"▶ {current.title}{state}",
                  f"[{'█' * filled}{'░' * (BAR - filled)}] {current.progress:.1f}%",
                  f"ETA {eta(current.eta_seconds)} · ↓ {human(current.download_speed)}/s"
                  f" · ↑ {human(current.upload_speed)}/s"]
        if len(running) > 1:
            lines.append(f"All: ↓ {human(sum(i.download_speed for i in running))}/s"
                         f" · ↑ {human(sum(i.upload_speed for i in running))}/s")
        if self._down:
            lines.append("⚠ Client unavailable: " + ", ".join(sorted(self._down)))
        return "\n".join(lines)[:MAX_TEXT]

    async def _show(self, chat: int | str, summary: _Summary, text: str, now: datetime,
                    create: bool) -> None:
        if summary.message_id is None:
            if not create or (summary.at is not None and now - summary.at < self.edit_every):
                return  # nothing to show, or refused a moment ago
            status, message = await self._call(
                "sendMessage", partial(self.bot.send_message, chat, text))
            if status == "ok" and message is not None:
                summary.message_id, summary.text = message.message_id, text
                self.stats.sent += 1
            if status != "retry":
                summary.at = now
        elif text != summary.text and (summary.at is None or now - summary.at >= self.edit_every):
            status, _ = await self._call("editMessageText", partial(
                self.bot.edit_message_text, text, chat_id=chat, message_id=summary.message_id))
            if status == "ok":
                summary.text, summary.at = text, now
                self.stats.edited += 1
            elif status == "gone":  # deleted by hand: send a new one on the next tick
                summary.message_id = None
            elif status == "failed":
                summary.at = now  # try again after edit_every, not every second

    async def _delete(self, chat: int | str, summary: _Summary) -> None:
        assert summary.message_id is not None
        status, _ = await self._call(
            "deleteMessage", partial(self.bot.delete_message, chat, summary.message_id))
        if status != "retry":
            summary.message_id, summary.text, summary.at = None, "", None
            self.stats.deleted += status == "ok"

    async def _send_outbox(self, now: datetime) -> None:
        while self._outbox and self._ready(now):
            chat, text = self._outbox[0]
            status, _ = await self._call("sendMessage", partial(self.bot.send_message, chat, text))
            if status == "retry":
                return
            self._outbox.popleft()
            self.stats.sent += status == "ok"

    # -- calls -------------------------------------------------------------------------

    def _ready(self, now: datetime) -> bool:
        return self._paused_until is None or now >= self._paused_until

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> tuple[Status, T | None]:
        """ok (also "not modified"); retry (flood limit, outage, bad token: paused); gone
        (the message or chat is no more); failed (this request is refused: dropped)."""
        from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter

        try:
            return "ok", await call()
        except RetryAfter as exc:
            self.stats.rate_limited += 1
            with warnings.catch_warnings():  # when PTB_TIMEDELTA is set to false
                warnings.simplefilter("ignore")
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            self._paused_until = self.clock.now() + timedelta(seconds=seconds)
            log.debug("Telegram flood limit on %s: pausing for %.0f s", what, seconds)
            return "retry", None
        except BadRequest as exc:
            text = str(exc).lower()
            if "not modified" in text:
                return "ok", None
            self._error(what, exc)
            return ("gone" if "not found" in text else "failed"), None
        except (InvalidToken, NetworkError) as exc:  # the bot as a whole: back off
            self._error(what, exc)
            self._paused_until = self.clock.now() + self.error_backoff
            return "retry", None
        except Exception as exc:  # Forbidden, ChatMigrated, anything: never out of here
            self._error(what, exc)
            return "failed", None

    def _error(self, what: str, exc: Exception) -> None:
        self.stats.errors += 1
        message = self._redact(f"{type(exc).__name__}: {exc}")
        level = logging.WARNING if message != self._last_error else logging.DEBUG
        self._last_error = message
        log.log(level, "Telegram %s failed: %s", what, message)

    def _redact(self, text: str) -> str:
        return _BOT_PATH.sub(r"\1<redacted>", text.replace(self._token, "<redacted>"))

    # -- lifetime ----------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_every)
            try:
                await self.tick()
            except Exception as exc:  # tick() catches its calls' errors; this is a bug
                log.error("Telegram notifier tick failed: %s", self._redact(repr(exc)))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._request is not None:
            await self._request.shutdown()


def plugin(context: Any) -> TelegramNotifier | None:
    """The `telegram` entry point: on when QUEUARR_TELEGRAM_TOKEN is set."""
    settings = context.settings
    token = settings.telegram_token or ""
    token = token.get_secret_value() if hasattr(token, "get_secret_value") else str(token)
    if not token.strip():
        return None
    try:
        import telegram  # noqa: F401
    except ImportError:
        raise RuntimeError("QUEUARR_TELEGRAM_TOKEN is set but python-telegram-bot is not "
                           "installed: pip install 'queuarr[telegram]'") from None
    chat_ids = parse_chat_ids(settings.telegram_chat_ids)
    if not chat_ids:  # the chats items were sent from still get theirs
        log.info("No QUEUARR_TELEGRAM_CHAT_IDS: summaries go only to the chats items "
                 "were sent from")
    return TelegramNotifier(token.strip(), chat_ids, settings.telegram_api_url or
                            "https://api.telegram.org", clock=context.clock)


def human(n: float) -> str:
    """Bytes in binary units: 512 B, 1.5 KiB, 3.2 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def eta(seconds: int | None) -> str:
    """h:mm:ss, or ? when unknown."""
    if seconds is None or seconds < 0:
        return "?"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02}:{rest % 60:02}"
