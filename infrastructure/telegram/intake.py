"""Links and files sent to the bot: a text message with magnets, http(s) or .torrent URLs
queues each and is answered once (what was queued, at which position, and what was
refused and why); a .torrent document is grabbed; a .txt document is a list of links,
queued in bulk with one summary. Other files get a short refusal. The grabbing is
core.intake's (the path POST /api/v3/queue/grab takes); this module only reads Telegram
and writes the answer."""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from core.errors import (
    AlreadyCompleted,
    BadRequest,
    Blocklisted,
    Duplicate,
    QueuarrError,
    ReleaseTooLarge,
)
from core.grab import MAX_TORRENT_BYTES
from core.intake import Origin, Outcome, Source, find_links, list_lines
from infrastructure.notifiers.telegram import MAX_TEXT, human
from infrastructure.telegram.access import Access
from infrastructure.telegram.services import BotServices

if TYPE_CHECKING:
    from telegram import Document, Message, Update
    from telegram.ext import BaseHandler, ContextTypes

log = logging.getLogger(__name__)

MAX_LIST_BYTES = 1024 * 1024  # a .txt list of links
TITLE = 60  # characters of a title in an answer
NO_LINK = ("I found no link in that. Send a magnet, an http(s) link or a .torrent link "
           "(or a .torrent or .txt file).")
OTHER_FILE = "I take .torrent files and .txt lists of links only."


def handlers(services: BotServices, access: Access) -> list[BaseHandler[Any, Any, Any]]:
    """Text messages (not commands) and documents."""
    from telegram.ext import MessageHandler, filters

    intake = _Intake(services)
    return [MessageHandler(filters.Document.ALL, intake.document),
            MessageHandler(filters.TEXT & ~filters.COMMAND, intake.text)]


def sender(update: Update) -> str:
    """Who handed it in, for the item's history."""
    user = update.effective_user
    chat = update.effective_chat
    return (f"telegram user {user.id if user else '?'}"
            + (f" in chat {chat.id}" if chat is not None and user is not None
               and chat.id != user.id else ""))


def chat_dir(chat: int) -> str:
    """A chat's sub-directory of the download dir: tg-123, tg--100123 for a group."""
    return f"tg-{chat}"


class _Intake:
    def __init__(self, services: BotServices) -> None:
        self.services = services

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        links = find_links(message.text)
        for entity, _ in message.parse_entities(["text_link"]).items():
            if entity.url and entity.url not in links:  # a link behind a word
                links.append(entity.url)
        if not links:
            await _reply(message, NO_LINK)
            return
        outcomes = await self.services.intake.grab([Source(link=link) for link in links],
                                                   sender(update), self.origin(update))
        await _reply(message, self.answer(outcomes))

    async def document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.document is None:
            return
        document = message.document
        name = document.file_name or ""
        lower = name.lower()
        if lower.endswith(".torrent") or document.mime_type == "application/x-bittorrent":
            data = await _download(message, document, MAX_TORRENT_BYTES)
            if data is None:
                return
            outcomes = await self.services.intake.grab(
                [Source(torrent=bytes(data), name=name or "the .torrent")], sender(update),
                self.origin(update))
            await _reply(message, self.answer(outcomes))
        elif lower.endswith(".txt") or document.mime_type == "text/plain":
            data = await _download(message, document, MAX_LIST_BYTES)
            if data is None:
                return
            sources = list_lines(bytes(data).decode("utf-8", errors="replace"))
            if not sources:
                await _reply(message, f"{name or 'That file'} holds no links.")
                return
            outcomes = await self.services.intake.grab(sources, sender(update),
                                                       self.origin(update))
            await _reply(message, self.summary(outcomes))
        else:
            await _reply(message, OTHER_FILE)

    def origin(self, update: Update) -> Origin:
        """The chat and user the items are from; with QUEUARR_TELEGRAM_CHAT_DIRS, the
        chat's own sub-directory of the download dir."""
        chat = update.effective_chat
        user = update.effective_user
        chat_id = chat.id if chat is not None else None
        return Origin(chat=chat_id, user=user.id if user is not None else None,
                      save_under=(chat_dir(chat_id) if chat_id is not None
                                  and self.services.settings.telegram_chat_dirs else None))

    # -- answers -----------------------------------------------------------------------

    def answer(self, outcomes: list[Outcome]) -> str:
        """One line per link: queued as #id at a position, or refused and why."""
        lines = []
        for outcome in outcomes:
            item = outcome.item
            if item is not None:
                lines.append(f"✅ Queued #{item.id} {short(item.title)} "
                             f"(position {outcome.position})" + playlist_note(outcome))
            else:
                assert outcome.error is not None
                lines.append(f"❌ {short(outcome.source.shown)}: {self.reason(outcome.error)}")
        return "\n".join(lines)

    def summary(self, outcomes: list[Outcome]) -> str:
        """'Queued 37, 2 already queued, 1 invalid (line 14)'."""
        queued = sum(o.item is not None and 1 + len(o.more) for o in outcomes)
        kinds: Counter[str] = Counter()
        lines: dict[str, list[int]] = {}
        for outcome in outcomes:
            if outcome.error is not None:
                kind = self.kind(outcome.error)
                kinds[kind] += 1
                if outcome.source.line is not None:
                    lines.setdefault(kind, []).append(outcome.source.line)
        parts = [f"Queued {queued}"]
        for kind, count in kinds.items():
            where = lines.get(kind, [])
            shown = ", ".join(map(str, where[:10])) + (", ..." if len(where) > 10 else "")
            parts.append(f"{count} {kind}" + (
                f" (line{'s' if len(where) > 1 else ''} {shown})"
                if where and kind != "already queued" else ""))
        return ", ".join(parts)

    def reason(self, error: QueuarrError) -> str:
        if isinstance(error, AlreadyCompleted):
            return f"already downloaded as #{error.existing_id}"
        if isinstance(error, Duplicate):
            return f"already in the queue as #{error.existing_id}"
        if isinstance(error, Blocklisted):
            return "blocklisted"
        if isinstance(error, ReleaseTooLarge):
            return f"over the {size(self.services.queue.max_size)} limit"
        if isinstance(error, BadRequest):
            return f"not a link I can download ({error.message})"
        return error.message

    @staticmethod
    def kind(error: QueuarrError) -> str:
        if isinstance(error, Duplicate):
            return "already queued"
        if isinstance(error, Blocklisted):
            return "blocklisted"
        if isinstance(error, ReleaseTooLarge):
            return "too large"
        if isinstance(error, BadRequest):
            return "invalid"
        return "refused"


def short(title: str, limit: int = TITLE) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def size(n: int | None) -> str:
    """2147483648 -> '2 GiB'; 1.5 GiB stays '1.5 GiB'."""
    return "size" if n is None else human(n).replace(".0 ", " ")


async def _download(message: Message, document: Document, limit: int) -> bytearray | None:
    """The document's bytes through getFile, or None (the person is told why)."""
    from telegram.error import TelegramError

    if document.file_size is not None and document.file_size > limit:
        await _reply(message, f"{document.file_name or 'That file'} is over the "
                              f"{size(limit)} limit for such files.")
        return None
    try:
        file = await document.get_file()
        if file.file_size is not None and file.file_size > limit:
            await _reply(message, f"That file is over the {size(limit)} limit.")
            return None
        data = await file.download_as_bytearray()
    except TelegramError as exc:
        log.info("Telegram: could not fetch a document: %s", type(exc).__name__)
        await _reply(message, "I could not fetch that file from Telegram; try again.")
        return None
    if len(data) > limit:
        await _reply(message, f"That file is over the {size(limit)} limit.")
        return None
    return data


async def _reply(message: Message, text: str) -> None:
    while text:  # long answers go in several messages, cut at line ends
        cut = len(text) if len(text) <= MAX_TEXT else (text.rfind("\n", 0, MAX_TEXT) + 1
                                                       or MAX_TEXT)
        await message.reply_text(text[:cut], do_quote=False)
        text = text[cut:]


def playlist_note(outcome: Outcome) -> str:
    """', and 11 more from the playlist (2 already queued)' for a playlist link."""
    note = f", and {len(outcome.more)} more from the playlist" if outcome.more else ""
    if outcome.skipped:
        note += f" ({len(outcome.skipped)} already queued or blocklisted)"
    return note
