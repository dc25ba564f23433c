"""The Telegram webhook (QUEUARR_TELEGRAM_WEBHOOK_URL): Telegram POSTs each update to
Queuarr's own app (api/routers/telegram.py). This checks the secret token header in
constant time, drops an update_id it has already taken (Telegram sends an update again
when an answer is lost), and hands the update to the bot's Application through its
update queue: handled in the background, answered at once. Any process may receive an
update (behind a load balancer); each runs its own Application on the same core
services. Only the leader calls setWebhook (bot.py)."""

from __future__ import annotations

import hmac
import json
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
ALLOWED_UPDATES = ("message", "callback_query")  # what the handlers read
MAX_BODY = 1 << 20  # an update is a few kB; a file is only ever referred to by id
REMEMBER = 10_000  # update ids kept to drop a repeat


class Webhook:
    def __init__(self, secret: str, app: Application[Any, Any, Any, Any, Any, Any], *,
                 remember: int = REMEMBER) -> None:
        self.secret = secret
        self._secret = secret.encode()
        self.app = app
        self._remember = remember
        self._seen: OrderedDict[int, None] = OrderedDict()

    def refusal(self, given: str | None, client: str) -> tuple[int, str] | None:
        """None when a request carries the secret token (compared in constant time);
        otherwise the answer (401 without it, 403 with another), logged without what
        was sent."""
        if given is not None and hmac.compare_digest(
                given.encode("utf-8", "surrogateescape"), self._secret):
            return None
        log.info("Telegram webhook: refused a request from %s (%s %s header)", client,
                 "no" if given is None else "a wrong", SECRET_HEADER)
        if given is None:
            return 401, "The X-Telegram-Bot-Api-Secret-Token header is missing"
        return 403, "Wrong X-Telegram-Bot-Api-Secret-Token"

    async def receive(self, body: bytes) -> tuple[int, str]:
        """Take one authorised request's body: (HTTP status, what to say). 200 once the
        update is queued (or was already taken); 400 for a body that is not an Update;
        503 while the bot has not started (Telegram sends the update again later)."""
        from telegram import Update

        if len(body) > MAX_BODY:
            return 413, f"An update is at most {MAX_BODY} bytes"
        try:
            data = json.loads(body)
        except ValueError:
            return 400, "The body is not JSON (a Telegram Update is expected)"
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return 400, "The body is not a Telegram Update (no integer update_id)"
        if not self.app.running:
            return 503, "The Telegram bot is not started yet; send it again later"
        if update_id in self._seen:
            return 200, f"Update {update_id} was already taken"
        try:
            update = Update.de_json(data, self.app.bot)
        except Exception as exc:  # whatever the library makes of a malformed field
            return 400, f"The body is not a Telegram Update ({type(exc).__name__})"
        self._seen[update_id] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        await self.app.update_queue.put(update)
        return 200, f"Update {update_id} queued"

