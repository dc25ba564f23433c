"""The bot's commands and inline buttons: parse the arguments, call a core service,
answer in a line or a page of plain text (render.py). No queue logic here: every change
goes through QueueService (or the dispatch switch), so the chat is refused what the API
is refused, with the same message.

The bot (bot.py) lets only allowed users reach these handlers; what only admins may do
(pause or resume everything, clear) is checked here with `Access.is_admin`. One item may
be paused, resumed, retried, removed or given a priority by the user who sent it (the
item's `origin_user`) or an admin; anyone else gets a one-line refusal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from math import ceil
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest as TelegramBadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from core.domain import ACTIVE_STATES, HistoryQuery, ItemState, Priority
from core.errors import NotFound, QueuarrError
from core.listing import QueueFilter, SortDirection
from infrastructure.clients.paths import disk_usage
from infrastructure.resources import CpuMeter, host_usage, process_usage
from infrastructure.telegram import render
from infrastructure.telegram.access import Access
from infrastructure.telegram.render import Buttons, Speeds
from infrastructure.telegram.services import BotServices

log = logging.getLogger(__name__)

PAGE_SIZE = 8  # items on a /queue page
HISTORY_SIZE = 10  # rows on a /history page
MAX_ID = 2**31 - 1  # Radarr's ids are Int32

COMMANDS: list[tuple[str, str]] = [
    ("start", "What this bot does"),
    ("help", "The commands"),
    ("queue", "Active and waiting items, a page at a time"),
    ("item", "One item and its buttons: /item <id>"),
    ("status", "Counts, speeds, free disk, dispatching"),
    ("pause", "Pause one item (/pause <id>) or everything (admins)"),
    ("resume", "Resume one item (/resume <id>) or everything (admins)"),
    ("retry", "Retry every failed item, or one: /retry [id]"),
    ("remove", "Remove an item: /remove <id>"),
    ("priority", "Set a priority: /priority <id> low|normal|high|veryHigh"),
    ("clear", "Remove finished items (admins)"),
    ("history", "The last changes"),
]

USAGE = {
    "item": "/item <id>",
    "pause": "/pause [id]",
    "resume": "/resume [id]",
    "retry": "/retry [id]",
    "remove": "/remove <id>",
    "priority": "/priority <id> low|normal|high|veryHigh",
    "queue": "/queue [page]",
    "history": "/history [page]",
}

INTRO = ("Send me magnet links, http(s) or .torrent links, a .torrent file or a .txt list "
         "of links, and I queue them. Commands:")


class Usage(Exception):
    """A command's arguments were not what it takes; the message is its usage line."""


class NotYours(Exception):
    """Someone other than an item's sender or an admin tried to change it."""

    def __init__(self, item_id: int) -> None:
        super().__init__(f"#{item_id} is not yours: only whoever sent it or an admin may "
                         "change it.")


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    buttons: Buttons | None = None


Run = Callable[[int, list[str]], Awaitable[Answer]]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def _number(raw: str) -> bool:
    """Whether `raw` is an id or page number: 1 to MAX_ID, in ASCII digits."""
    return raw.isascii() and raw.isdecimal() and 0 < int(raw) <= MAX_ID


def parse_id(raw: str, usage: str) -> int:
    """'12' or '#12' -> 12; anything else is a Usage error."""
    digits = raw.removeprefix("#")
    if not _number(digits):
        raise Usage(usage)
    return int(digits)


def _page(args: list[str], name: str) -> int:
    if not args:
        return 1
    if len(args) > 1 or not _number(args[0]):
        raise Usage(USAGE[name])
    return int(args[0])


def _one_id(args: list[str], name: str) -> int:
    if len(args) != 1:
        raise Usage(USAGE[name])
    return parse_id(args[0], USAGE[name])


def _failed(exc: QueuarrError, item_id: int | None) -> str:
    """A core error as the chat sees it; NotFound's default message names the item."""
    if isinstance(exc, NotFound) and item_id is not None and exc.message == "NotFound":
        return f"There is no item #{item_id} in the queue."
    return exc.message


def _markup(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in buttons])


class Commands:
    """The commands' and buttons' answers, over the bot's services."""

    def __init__(self, services: BotServices, access: Access) -> None:
        self.services = services
        self.queue = services.queue
        self.access = access
        self.cpu = CpuMeter()

    # -- reading ---------------------------------------------------------------------------

    async def help(self, user_id: int, args: list[str]) -> Answer:
        lines = [INTRO] + [f"/{name} - {about}" for name, about in COMMANDS
                           if name not in ("start", "help")]
        return Answer("\n".join(lines))

    async def queue_page(self, page: int) -> Answer:
        # Oldest first: an item's position is what the intake told its sender.
        active = QueueFilter(include_unknown=True, states=ACTIVE_STATES)
        listed = await self.queue.list_page(page, PAGE_SIZE, "added",
                                            SortDirection.ASCENDING, active)
        pages = max(1, ceil(listed.total_records / PAGE_SIZE))
        if page > pages:  # past the end (a stale button): the last page there is
            listed = await self.queue.list_page(pages, PAGE_SIZE, "added",
                                                SortDirection.ASCENDING, active)
            pages = max(1, ceil(listed.total_records / PAGE_SIZE))
        items = [item async for chunk in listed.chunks for item in chunk]
        offset = (listed.page - 1) * PAGE_SIZE
        return Answer(render.queue_text(items, offset, listed.page, pages,
                                        listed.total_records),
                      render.queue_buttons(items, listed.page, pages))

    async def show_queue(self, user_id: int, args: list[str]) -> Answer:
        return await self.queue_page(_page(args, "queue"))

    async def item(self, user_id: int, args: list[str]) -> Answer:
        return await self.item_view(_one_id(args, "item"))

    async def item_view(self, item_id: int) -> Answer:
        item = await self.queue.get(item_id)
        return Answer(render.item_text(item), render.item_buttons(item))

    async def status(self, user_id: int, args: list[str]) -> Answer:
        stats = await self.queue.statistics()
        listed = await self.queue.list_page(
            1, 2**31 - 1, "timeleft", SortDirection.ASCENDING,
            QueueFilter(include_unknown=True, states=render.DOWNLOADING))
        down = up = 0
        async for chunk in listed.chunks:
            down += sum(item.download_speed for item in chunk)
            up += sum(item.upload_speed for item in chunk)
        roots = self.services.settings.roots
        disks = [(str(root), await asyncio.to_thread(disk_usage, root)) for root in roots]
        paused = await self.services.dispatching.paused()
        text = render.status_text(stats, Speeds(down, up), disks, paused)
        return Answer(f"{text}\n{await asyncio.to_thread(self._usage_line)}"[:render.MAX_TEXT])

    def _usage_line(self) -> str:
        """Queuarr's CPU (since the last /status) and memory, and the host's load."""
        process, host = process_usage(self.cpu), host_usage()
        return (f"Queuarr: CPU {process.cpu_percent:.1f}% · RAM {render.human(process.rss_bytes)}"
                f" · load {host.load1:.2f} {host.load5:.2f} {host.load15:.2f}")

    async def history_page(self, page: int) -> Answer:
        total, rows, _ = await self.queue.history(HistoryQuery(page, HISTORY_SIZE))
        pages = max(1, ceil(total / HISTORY_SIZE))
        if page > pages:
            page = pages
            total, rows, _ = await self.queue.history(HistoryQuery(page, HISTORY_SIZE))
        text = render.history_text(rows, self.services.clock.now())
        if pages > 1:
            text = f"{text}\nPage {page}/{pages}"
        buttons = render.page_buttons("history", page, pages)
        return Answer(text, buttons or None)

    async def history(self, user_id: int, args: list[str]) -> Answer:
        return await self.history_page(_page(args, "history"))

    # -- changing --------------------------------------------------------------------------

    async def _own(self, user_id: int, item_id: int) -> int:
        """`item_id`, once `user_id` is its sender or an admin; else NotYours (NotFound
        for an item that is not there)."""
        if not self.access.is_admin(user_id):
            item = await self.queue.get(item_id)
            if item.origin_user != user_id:
                raise NotYours(item_id)
        return item_id

    async def pause(self, user_id: int, args: list[str]) -> Answer:
        if not args:
            if not self.access.is_admin(user_id):
                return Answer("Only an admin may pause everything; /pause <id> pauses "
                              "one item.")
            await self.services.dispatching.set_paused(True)
            paused = await self.queue.pause_all()
            return Answer(f"Paused everything: {len(paused)} download(s) paused, and "
                          "nothing new starts. /resume starts it all again.")
        item = await self.queue.pause(await self._own(user_id, _one_id(args, "pause")))
        return Answer(f"#{item.id} is paused.")

    async def resume(self, user_id: int, args: list[str]) -> Answer:
        if not args:
            if not self.access.is_admin(user_id):
                return Answer("Only an admin may resume everything; /resume <id> resumes "
                              "one item.")
            resumed = await self.queue.resume_all()
            await self.services.dispatching.set_paused(False)
            return Answer(f"Resumed everything: {len(resumed)} download(s) queued again, "
                          "and dispatching goes on.")
        item = await self.queue.resume(await self._own(user_id, _one_id(args, "resume")))
        state = "queued again" if item.state is ItemState.QUEUED else item.state.value
        return Answer(f"#{item.id} is {state}.")

    async def retry(self, user_id: int, args: list[str]) -> Answer:
        if not args:
            ids = await self.queue.retry(None)
            if not ids:
                return Answer("Nothing to retry: no item has failed.")
            return Answer(f"Retrying {len(ids)}: " + ", ".join(f"#{i}" for i in ids))
        ids = await self.queue.retry([await self._own(user_id, _one_id(args, "retry"))])
        return Answer(f"#{ids[0]} is queued again.")

    async def remove(self, user_id: int, args: list[str]) -> Answer:
        item_id = await self._own(user_id, _one_id(args, "remove"))
        await self.queue.remove(item_id)
        return Answer(f"#{item_id} is removed.")

    async def priority(self, user_id: int, args: list[str]) -> Answer:
        if len(args) != 2:
            raise Usage(USAGE["priority"])
        item_id = parse_id(args[0], USAGE["priority"])
        try:
            level = Priority.parse(args[1])
        except ValueError:
            raise Usage(USAGE["priority"]) from None
        item = await self.queue.set_priority(await self._own(user_id, item_id), level)
        return Answer(f"#{item.id} has priority {item.priority.wire}.")

    async def clear(self, user_id: int, args: list[str]) -> Answer:
        if not self.access.is_admin(user_id):
            return Answer("Only an admin may clear finished items.")
        removed = await self.queue.cleanup(0)
        return Answer(f"Removed {removed} finished item{'' if removed == 1 else 's'}.")

    # -- buttons ---------------------------------------------------------------------------

    async def press(self, user_id: int, data: str) -> tuple[str, Answer | None, bool]:
        """A button's (toast, answer, as a new message?); the answer replaces the
        message the button is on unless it is to be a new one."""
        kind, _, rest = data.partition(":")
        if kind in ("queue", "history") and _number(rest):
            view = (self.queue_page if kind == "queue" else self.history_page)
            return "", await view(int(rest)), False
        action, _, raw = rest.partition(":")
        if kind != "item" or not _number(raw):  # a client can send any data
            return "This button is not one I know.", None, False
        item_id = int(raw)
        if action == "open":
            return "", await self.item_view(item_id), True
        if action == "show":
            return "", await self.item_view(item_id), False
        if action in ("remove", "really-remove", "pause", "resume", "retry"):
            await self._own(user_id, item_id)
        if action == "remove":
            item = await self.queue.get(item_id)
            return "", Answer(render.item_text(item) + "\nRemove it?",
                              render.confirm_buttons(item_id)), False
        if action == "really-remove":
            await self.queue.remove(item_id)
            return f"#{item_id} is removed.", Answer(f"#{item_id} is removed."), False
        change = {"pause": self.queue.pause, "resume": self.queue.resume}.get(action)
        if change is not None:
            item = await change(item_id)
            return f"#{item_id} is {item.state.value}.", await self.item_view(item_id), False
        if action == "retry":
            await self.queue.retry([item_id])
            return f"#{item_id} is queued again.", await self.item_view(item_id), False
        return "This button is not one I know.", None, False


def handlers(services: BotServices, access: Access) -> list[BaseHandler]:  # type: ignore[type-arg]
    """A CommandHandler per command and one CallbackQueryHandler for every button."""
    commands = Commands(services, access)
    runs: dict[str, Run] = {
        "start": commands.help, "help": commands.help, "queue": commands.show_queue,
        "item": commands.item, "status": commands.status, "pause": commands.pause,
        "resume": commands.resume, "retry": commands.retry, "remove": commands.remove,
        "priority": commands.priority, "clear": commands.clear,
        "history": commands.history,
    }
    found: list[BaseHandler] = [  # type: ignore[type-arg]
        CommandHandler(name, _command(run)) for name, run in runs.items()]
    found.append(CallbackQueryHandler(_button(commands)))
    return found


def _command(run: Run) -> Callback:
    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        args = list(context.args or ())
        try:
            answer = await run(user.id, args)
        except Usage as exc:
            answer = Answer(f"Usage: {exc}")
        except NotYours as exc:
            answer = Answer(str(exc))
        except QueuarrError as exc:
            item_id = next((int(a.removeprefix("#")) for a in args[:1]
                            if _number(a.removeprefix("#"))), None)
            answer = Answer(_failed(exc, item_id))
        await message.reply_text(answer.text, reply_markup=_markup(answer.buttons))
    return callback


def _button(commands: Commands
            ) -> Callback:
    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        data = query.data if isinstance(query.data, str) else ""
        try:
            toast, answer, new = await commands.press(user.id, data)
        except NotYours as exc:
            await query.answer(str(exc))
            return
        except QueuarrError as exc:
            raw = data.rsplit(":", 1)[-1]
            await query.answer(_failed(exc, int(raw) if _number(raw) else None))
            return
        await query.answer(toast or None)
        if answer is None:
            return
        markup = _markup(answer.buttons)
        message = query.message
        if new and message is not None:
            await message.chat.send_message(answer.text, reply_markup=markup)
            return
        try:
            await query.edit_message_text(answer.text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise
    return callback
