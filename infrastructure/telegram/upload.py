"""Send a finished file back to the chat it came from (QUEUARR_TELEGRAM_UPLOAD).

`Uploader` is a leader-only notifier on the container's EventBus (so one process
uploads): on the completion of an item with an `origin_chat` and an `output_path`, it
sends the file with sendDocument when it fits QUEUARR_TELEGRAM_UPLOAD_MAX, else a
message saying where it is. A folder sends one file: its largest media file (by
extension), or its largest file when it has none. Only files inside the download roots
(symlinks resolved) are sent. Uploads run one at a time in a task of their own, so a slow
upload never holds the bus's per-delivery time limit; the file is read in a thread.

What happened is recorded through QueueService.note_status: a history row ("uploaded"
or "uploadFailed", with the message) and a status message on the item. The item's state
never changes: a failed upload (Telegram's error, the file gone, too big, outside the
roots) does not fail the download."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.domain import HistoryEvent, QueueItem, StatusMessage
from core.events import EventType, QueueEvent
from core.service import QueueService
from infrastructure.clients.paths import is_within
from infrastructure.tasks import Background

if TYPE_CHECKING:
    from infrastructure.bootstrap import Container
    from infrastructure.telegram.bot import TelegramBot

log = logging.getLogger(__name__)

TITLE = "Telegram upload"  # the status message's title
UPLOAD_TIMEOUT = 600.0  # seconds for one sendDocument to write and be answered
MEDIA = frozenset({".mkv", ".mp4", ".m4v", ".avi", ".mov", ".wmv", ".webm", ".ts",
                   ".m2ts", ".mpg", ".mpeg", ".flv", ".ogv", ".3gp", ".iso"})


class Refused(Exception):
    """Why there is nothing to send (said in the history row)."""


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def pick(output_path: str, roots: Sequence[Path]) -> tuple[Path, int]:
    """The file to send for `output_path` and its size: the file itself, or a folder's
    largest media file (its largest file when it has none). Blocking: call in a thread."""
    if not roots or not is_within(output_path, roots):
        raise Refused(f"{output_path} is outside the download roots; not sent")
    path = Path(output_path)
    if path.is_file():
        return path, path.stat().st_size
    if not path.is_dir():
        raise Refused(f"{output_path} is not there any more")
    found: list[tuple[bool, int, Path]] = []
    for folder, _, names in os.walk(path):
        for name in names:
            candidate = Path(folder, name)
            if candidate.is_symlink() and not is_within(candidate, roots):
                continue
            with contextlib.suppress(OSError):
                if candidate.is_file():
                    found.append((candidate.suffix.lower() in MEDIA,
                                  candidate.stat().st_size, candidate))
    if not found:
        raise Refused(f"{output_path} holds no file")
    _, size, chosen = max(found, key=lambda f: (f[0], f[1], str(f[2])))
    return chosen, size


class Uploader:
    name = "telegram-upload"
    leader_only = True  # one process uploads: the one that runs the processor

    def __init__(self, bot: Any, queue: QueueService, roots: Sequence[Path],
                 max_bytes: int) -> None:
        self.bot = bot  # a python-telegram-bot Bot (the TelegramBot's)
        self.queue = queue
        self.roots = list(roots)
        self.max_bytes = max_bytes
        self._lock = asyncio.Lock()  # one upload at a time
        self._tasks = Background()

    async def notify(self, event: QueueEvent) -> None:
        item = event.item
        if (event.type is not EventType.COMPLETED or item is None
                or item.origin_chat is None or not item.output_path):
            return
        self._tasks.spawn(self._guarded(item))

    async def idle(self) -> None:
        """Until every upload started so far is done (tests, a graceful stop)."""
        await self._tasks.drained()

    async def aclose(self) -> None:
        await self._tasks.cancel()

    async def _guarded(self, item: QueueItem) -> None:
        try:
            async with self._lock:
                await self.upload(item)
        except asyncio.CancelledError:
            raise
        except Exception:  # recording failed (the store is down): logged, never raised
            log.exception("Telegram upload of item %d failed", item.id)

    async def upload(self, item: QueueItem) -> None:
        from telegram.error import TelegramError

        chat = item.origin_chat
        assert chat is not None and item.output_path
        try:
            path, size = await asyncio.to_thread(pick, item.output_path, self.roots)
        except Refused as exc:
            await self._record(item, "uploadFailed", str(exc))
            return
        except OSError as exc:
            await self._record(item, "uploadFailed", f"{item.output_path}: {exc.strerror}")
            return
        if size > self.max_bytes:
            told = (f"📁 {path.name} ({_size(size)}) is over the upload limit "
                    f"({_size(self.max_bytes)}); it is at {path}")
            note = f"{path.name} ({_size(size)}) is over {_size(self.max_bytes)}; not sent"
            try:
                await self.bot.send_message(chat, told)
            except TelegramError as exc:
                note += f"; telling chat {chat} where it is failed too: {exc}"
            await self._record(item, "uploadFailed", note)
            return
        try:
            data = await asyncio.to_thread(path.read_bytes)
            await self.bot.send_document(chat, data, filename=path.name,
                                         read_timeout=UPLOAD_TIMEOUT,
                                         write_timeout=UPLOAD_TIMEOUT)
        except OSError as exc:
            await self._record(item, "uploadFailed", f"{path}: {exc.strerror}")
        except TelegramError as exc:
            await self._record(item, "uploadFailed",
                               f"Telegram refused {path.name} for chat {chat}: {exc}")
        else:
            await self._record(item, "uploaded",
                               f"Sent {path.name} ({_size(size)}) to chat {chat}")

    async def _record(self, item: QueueItem, event: str, message: str) -> None:
        (log.info if event == "uploaded" else log.warning)("Item %d: %s", item.id, message)
        await self.queue.note_status(item.id, HistoryEvent(event, message),
                                     StatusMessage(TITLE, (message,)))


def attach_uploader(container: Container, bot: TelegramBot) -> Uploader | None:
    """The uploader on the container's bus, when QUEUARR_TELEGRAM_UPLOAD is on."""
    settings = container.settings
    if not settings.telegram_upload or container.events is None:
        return None
    uploader = Uploader(bot.app.bot, container.queue, settings.roots,
                        settings.telegram_upload_max)
    container.events.add(uploader)
    return uploader
