"""Intake: links and .torrent files handed in as a list (the Telegram bot, a bulk import
on `POST /api/v3/queue/grab`), grabbed one by one through QueueService.take, the path a
single grab takes (a playlist link queues its entries), so they are validated,
deduplicated, blocklisted and size-checked the same way. Each link gets an outcome: the
item and its place in the queue, or the core error that refused it. Nothing here knows
which door it came from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.domain import ACTIVE_STATES, QueueItem
from core.errors import InvalidRelease, QueuarrError
from core.grab import GrabRequest
from core.links import parse_magnet
from core.service import QueueService
from core.video_grabs import Skipped, nothing_taken

MAX_LINKS = 1000  # links in one hand-in (a message, a list file); the rest are refused
MAX_LINK_LENGTH = 8192
# A magnet, or anything with a scheme and "//" (an ftp:// link is found, then refused
# as a link Queuarr cannot download). Trailing punctuation is not part of the link.
_LINK = re.compile(r"(?i)\bmagnet:\?[^\s<>\"']+|\b[a-z][a-z0-9+.-]{0,15}://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}>'\""


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to grab: a link, or a .torrent's bytes; `line` is its line in a list."""

    link: str | None = None
    torrent: bytes | None = None
    name: str | None = None  # a .torrent file's name, for messages
    line: int | None = None

    @property
    def shown(self) -> str:
        return self.name or self.link or "(a .torrent file)"


@dataclass(frozen=True, slots=True)
class Origin:
    """Who handed the sources in (a chat and a user of the door's own ids), and the
    plain sub-directory their downloads go under; every item grabbed remembers it."""

    chat: int | None = None
    user: int | None = None
    save_under: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one Source: queued as `item`, `position` in the queue (1 = next
    to go), or refused with `error`."""

    source: Source
    item: QueueItem | None = None
    position: int | None = None
    error: QueuarrError | None = None
    # A playlist link: the other entries queued with `item`, and the ones skipped.
    more: tuple[QueueItem, ...] = ()
    skipped: tuple[Skipped, ...] = ()


def find_links(text: str) -> list[str]:
    """The magnets and URLs in a text, in order, each once; text around them ignored."""
    links: list[str] = []
    for match in _LINK.finditer(text):
        link = match.group(0).rstrip(_TRAILING)
        if link.count("(") < link.count(")"):  # a link in parentheses
            link = link.rstrip(")")
        if link and link not in links:
            links.append(link)
    return links


def list_lines(text: str) -> list[Source]:
    """A list of links, one a line: blank lines and `#` comments skipped."""
    sources = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            sources.append(Source(link=line, line=number))
    return sources


class Intake:
    """Grabs what a person hands in, one at a time, and says what became of each."""

    def __init__(self, queue: QueueService, max_links: int = MAX_LINKS) -> None:
        self.queue = queue
        self.max_links = max_links

    async def grab(self, sources: Sequence[Source], sender: str | None = None,
                   origin: Origin | None = None) -> list[Outcome]:
        """Grab each source in turn (a refusal does not stop the others); `sender`
        goes into each item's "grabbed" history row, `origin` onto each item. Sources
        past `max_links` are refused without being looked at."""
        try:
            ahead = (await self.queue.counts()).total(states=ACTIVE_STATES)
        except QueuarrError as exc:  # the store is down: nothing can be queued
            return [Outcome(source, error=exc) for source in sources]
        outcomes = []
        for index, source in enumerate(sources):
            if index >= self.max_links:
                outcomes.append(Outcome(source, error=InvalidRelease(
                    f"Only {self.max_links} links are taken at once")))
                continue
            try:
                taken = await self.queue.take(_request(source, origin or Origin()),
                                              reason=sender)
            except QueuarrError as exc:
                outcomes.append(Outcome(source, error=exc))
                continue
            if not taken.items:
                outcomes.append(Outcome(source, error=nothing_taken(taken),
                                        skipped=taken.skipped))
                continue
            outcomes.append(Outcome(source, item=taken.items[0], position=ahead + 1,
                                    more=taken.items[1:], skipped=taken.skipped))
            ahead += len(taken.items)
        return outcomes


def _request(source: Source, origin: Origin) -> GrabRequest:
    return replace(_release(source), origin_chat=origin.chat, origin_user=origin.user,
                   save_under=origin.save_under)


def _release(source: Source) -> GrabRequest:
    if source.torrent is not None:
        return GrabRequest(torrent_file=source.torrent)
    link = source.link or ""
    if len(link) > MAX_LINK_LENGTH:
        raise InvalidRelease(f"The link is longer than {MAX_LINK_LENGTH} characters")
    title = None
    if link[:7].lower() == "magnet:":
        magnet = parse_magnet(link)  # a bare magnet (no dn=) is named by its hash
        title = None if magnet.name else magnet.info_hash
    return GrabRequest(download_url=link, title=title)
