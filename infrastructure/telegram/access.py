"""Who may use the bot: the users in QUEUARR_TELEGRAM_ALLOWED_USERS and
QUEUARR_TELEGRAM_ADMIN_IDS, and anyone in a chat of QUEUARR_TELEGRAM_CHAT_IDS. Anyone
else gets one polite refusal (per user, however often they write) and an INFO log line
with their id; nothing else happens. Each allowed user may send `FLOOD_LIMIT` updates per
`FLOOD_WINDOW` seconds; past that their updates are dropped (with one notice per window).

`gate()` is a handler for group -1: it runs before every other handler and stops an
update that may not go on (ApplicationHandlerStop)."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from core.ratelimit import RateLimiter

if TYPE_CHECKING:
    from telegram import Update
    from telegram.ext import BaseHandler, ContextTypes

log = logging.getLogger(__name__)

FLOOD_LIMIT = 120  # updates per user per window: a burst of 50 links is fine
FLOOD_WINDOW = 60.0  # seconds
MAX_REMEMBERED = 10_000  # refused users remembered (the stalest are forgotten)
REFUSAL = ("Sorry, this is a private bot. Your Telegram user id is {user}: ask the "
           "person who runs it to add it to QUEUARR_TELEGRAM_ALLOWED_USERS.")
SLOW_DOWN = "Too many messages: I am ignoring you for a minute."


def parse_ids(value: str | Iterable[int | str]) -> frozenset[int]:
    """'123, 456' or [123, '456'] -> {123, 456}; @usernames are not ids and are left out."""
    parts = value.replace(",", " ").split() if isinstance(value, str) else value
    return frozenset(int(p) for p in map(str, parts) if p.lstrip("-").isdigit())


class Access:
    def __init__(self, users: Iterable[int], chats: Iterable[int], admins: Iterable[int], *,
                 flood_limit: int = FLOOD_LIMIT, flood_window: float = FLOOD_WINDOW,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.admins = frozenset(admins)
        self.users = frozenset(users) | self.admins
        self.chats = frozenset(chats)
        self.flood = RateLimiter(flood_limit, flood_window, monotonic)
        self._refused: OrderedDict[int, None] = OrderedDict()
        self._slowed: dict[int, float] = {}
        self._monotonic = monotonic

    def allows(self, user: int | None, chat: int | None) -> bool:
        return (user is not None and user in self.users) or (
            chat is not None and chat in self.chats)

    def is_admin(self, user: int | None) -> bool:
        return user is not None and user in self.admins

    def first_refusal(self, user: int) -> bool:
        """True the first time `user` is refused (then remembered)."""
        if user in self._refused:
            self._refused.move_to_end(user)
            return False
        self._refused[user] = None
        while len(self._refused) > MAX_REMEMBERED:
            self._refused.popitem(last=False)
        return True

    def flooding(self, user: int) -> tuple[bool, bool]:
        """(dropped, tell them): whether this update is over the limit, and whether it is
        the first dropped one of this window (they are told once)."""
        if self.flood.allow(str(user)):
            self._slowed.pop(user, None)
            return False, False
        now = self._monotonic()
        told = self._slowed.get(user)
        if told is not None and now - told < self.flood.window:
            return True, False
        self._slowed[user] = now
        return True, True

    def gate(self) -> BaseHandler[Any, Any, Any]:
        from telegram import Update
        from telegram.ext import TypeHandler

        return TypeHandler(Update, self._check)

    async def _check(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        from telegram.ext import ApplicationHandlerStop

        user = update.effective_user
        chat = update.effective_chat
        user_id = user.id if user is not None else None
        chat_id = chat.id if chat is not None else None
        if not self.allows(user_id, chat_id):
            if user_id is not None and self.first_refusal(user_id):
                log.info("Telegram: refused user %s (chat %s): not allowed", user_id, chat_id)
                await _tell(update, REFUSAL.format(user=user_id))
            raise ApplicationHandlerStop
        if user_id is not None:
            dropped, tell = self.flooding(user_id)
            if dropped:
                if tell:
                    log.info("Telegram: user %s is over %d updates in %.0f s; dropping",
                             user_id, self.flood.limit, self.flood.window)
                    await _tell(update, SLOW_DOWN)
                raise ApplicationHandlerStop


async def _tell(update: Update, text: str) -> None:
    """Answer in the chat (or on the button pressed); a failure is only logged."""
    from telegram.error import TelegramError

    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except TelegramError as exc:
        log.info("Telegram: could not answer update %s: %s", update.update_id,
                 type(exc).__name__)
