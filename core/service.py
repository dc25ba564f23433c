"""QueueService: the use cases behind the queue API, over the ports."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from core.clients import ClientDescriptor, check_named_client, route
from core.decisions import Appraisal, with_appraisal
from core.domain import (
    HistoryEntry,
    HistoryEvent,
    HistoryQuery,
    ItemState,
    NewBlocklistEntry,
    NewItem,
    Priority,
    QueueItem,
    QueueStats,
    SourceKind,
    StateCounts,
    StatusMessage,
)
from core.errors import (
    BadRequest,
    Blocklisted,
    ConcurrentModification,
    DownloadClientError,
    Duplicate,
    IllegalTransition,
    NotFound,
    UnknownDownloadClient,
)
from core.grab import GrabRequest, validate_grab_off_loop
from core.listing import (
    PageRequest,
    QueueFilter,
    SortDirection,
    page_past_end,
    page_window,
    resolve_direction,
    resolve_sort_key,
)
from core.ports import (
    BlocklistRepository,
    Clock,
    DownloadClient,
    DownloadClients,
    QueueRepository,
    TorrentParser,
    UrlGuard,
)
from core.slots import holds_slot
from core.states import PAUSABLE, RETRYABLE, is_pending, transition
from core.video_grabs import Routed, Skipped, Taken, VideoRouter, nothing_taken
from core.videos import VideoListing

# Pages larger than this are read as ids first and loaded in chunks of this size,
# so that memory stays flat whatever pageSize a client asks for.
CHUNK = 500

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RemoveOptions:
    """Radarr's DELETE /queue flags, with Radarr's defaults."""

    remove_from_client: bool = True
    blocklist: bool = False
    skip_redownload: bool = False
    change_category: bool = False


@dataclass(frozen=True, slots=True)
class ListedPage:
    """A page of the queue; `chunks` yields its records in order, a chunk at a time."""

    page: int
    page_size: int
    sort_key: str
    sort_direction: SortDirection
    total_records: int
    chunks: AsyncIterator[list[QueueItem]]


def _nothing() -> None:
    return None


class NoClients:
    """The registry used until download clients are configured."""

    def get(self, name: str) -> DownloadClient | None:
        return None

    def descriptors(self) -> Sequence[ClientDescriptor]:
        return ()


class QueueService:
    """Grab, list, inspect and manage queue items."""

    def __init__(
        self,
        items: QueueRepository,
        blocklist: BlocklistRepository,
        clock: Clock,
        torrents: TorrentParser,
        clients: DownloadClients | None = None,
        max_size: int | None = None,
        url_guard: UrlGuard | None = None,
        videos: VideoRouter | None = None,
    ) -> None:
        self.items = items
        self.blocklist = blocklist
        self.clock = clock
        self.torrents = torrents
        self.clients: DownloadClients = clients or NoClients()
        self.max_size = max_size
        self.url_guard = url_guard
        self.videos = videos  # routes video pages and playlists to yt-dlp, when installed
        # Called when items become due (a grab, a force-grab, a retry, a resume): the
        # processor's dispatcher runs at once instead of at its next tick.
        self.wake: Callable[[], None] = _nothing
        # Fills a plain grab's quality and custom formats from its title (ReleaseService).
        self.appraise: Callable[[NewItem], Awaitable[NewItem]] | None = None
        # Grabs the next-best candidate after a removal with blocklist=true.
        self.redownload: Callable[[QueueItem, str, bool], Awaitable[QueueItem | None]] | None
        self.redownload = None
        # Checks a grab's tag ids exist (core.tags.TagService.check_known), when wired.
        self.check_tags: Callable[[Iterable[int]], Awaitable[tuple[int, ...]]] | None = None

    # -- adding ------------------------------------------------------------------------

    async def grab(self, request: GrabRequest, appraisal: Appraisal | None = None,
                   reason: str | None = None) -> QueueItem:
        """Validate a release and queue it; refuses duplicates, blocklisted releases and
        (unless forced) releases that already completed. Its quality and custom formats
        come from `appraisal`, else from its title; `reason` goes into its history. A
        playlist link queues every entry (see take) and answers with the first one
        queued, or refuses as its first skipped entry was."""
        taken = await self.take(request, appraisal, reason)
        if taken.items:
            return taken.items[0]
        raise nothing_taken(taken)

    async def take(self, request: GrabRequest, appraisal: Appraisal | None = None,
                   reason: str | None = None) -> Taken:
        """grab, for links that may hold many releases: a playlist or channel becomes one
        item per entry (up to QUEUARR_PLAYLIST_MAX) in one group; entries that are
        duplicates or blocklisted are skipped and said why."""
        new = await validate_grab_off_loop(request, self.torrents, self.clock.now(),
                                           self.max_size)
        if new.tags and self.check_tags is not None:
            await self.check_tags(new.tags)
        if self.url_guard is not None and new.download_url and new.source in (
                SourceKind.HTTP, SourceKind.TORRENT_URL):
            await self.url_guard.check(new.download_url)
        routed = Routed(new)
        if self.videos is not None:
            routed = await self.videos.route(new, bool(request.title and request.title.strip()),
                                             self.clients.descriptors())
            new = routed.item
        if new.download_client is not None:
            check_named_client(new.download_client, new.source, self.clients.descriptors())
        if routed.playlist is not None:
            return await self._take_playlist(new, routed.playlist, request.force, reason)
        return Taken((await self._store(new, request.force, appraisal, reason),))

    async def _store(self, new: NewItem, force: bool, appraisal: Appraisal | None,
                     reason: str | None) -> QueueItem:
        blocked = await self.blocklist.find(new.info_hash, new.url_hash, new.title)
        if blocked is not None:
            raise Blocklisted(
                f"Release {new.title!r} is blocklisted (entry {blocked.id}"
                + (f": {blocked.message})" if blocked.message else ")")
            )
        if appraisal is not None:
            new = with_appraisal(new, appraisal)
        elif self.appraise is not None:
            new = await self.appraise(new)
        item = await self.items.add(new, HistoryEvent("grabbed", reason),
                                    refuse_completed=not force)
        log.info("Grabbed %r as item %d (%s%s)", item.title, item.id, item.source.value,
                 f" from {item.indexer}" if item.indexer else "")
        self.wake()
        return item

    async def _take_playlist(self, playlist: NewItem, listing: VideoListing, force: bool,
                             reason: str | None) -> Taken:
        assert self.videos is not None
        title = listing.title or playlist.title
        group = await self.items.add_group(title, playlist.download_url, self.clock.now())
        items: list[QueueItem] = []
        skipped: list[Skipped] = []
        for entry in self.videos.entries(playlist, listing, group.id):
            try:
                items.append(await self._store(entry, force, None,
                                               reason or f"From playlist {title!r}"))
            except Duplicate as exc:
                skipped.append(Skipped(entry.download_url or "", entry.title, exc.message,
                                       exc.existing_id))
            except Blocklisted as exc:
                skipped.append(Skipped(entry.download_url or "", entry.title, exc.message))
        over = max(listing.found - len(listing.entries), 0) + max(
            len(listing.entries) - self.videos.playlist_max, 0)
        log.info("Playlist %r: %d queued, %d skipped, %d over the cap of %d", title,
                 len(items), len(skipped), over, self.videos.playlist_max)
        return Taken(tuple(items), tuple(skipped), group.id, title, over)

    def routed_to(self, item: QueueItem) -> str | None:
        """The client the item goes to if it were sent now (None: none can take it)."""
        target = route(item, self.clients.descriptors())
        return target.name if target is not None else None

    # -- reading -----------------------------------------------------------------------

    async def get(self, item_id: int) -> QueueItem:
        item = await self.items.get(item_id)
        if item is None:
            raise NotFound()
        return item

    async def history(self, query: HistoryQuery
                      ) -> tuple[int, list[HistoryEntry], dict[int, QueueItem]]:
        """A page of history; with the items still in the queue (for their quality)."""
        if query.page < 1 or query.page_size < 0:
            raise BadRequest("page must be 1 or more and pageSize not negative")
        total, rows = await self.items.history_page(query)
        items = await self.items.get_many(sorted({h.item_id for h in rows}))
        return total, rows, {i.id: i for i in items}

    async def list_page(
        self,
        page: int = 1,
        page_size: int = 10,
        sort_key: str | None = None,
        direction: SortDirection | None = None,
        flt: QueueFilter | None = None,
    ) -> ListedPage:
        """A page the way Radarr's GET /queue pages, including its quirks: an unknown
        sort key becomes timeleft, an omitted direction is descending, and an empty
        page past the end is replaced by page max(total // pageSize, 1)."""
        if page_size < 0:
            raise BadRequest(f"pageSize must not be negative, got {page_size}")
        echo_key, key = resolve_sort_key(sort_key)
        resolved = resolve_direction(direction)
        flt = flt or QueueFilter()

        def request(for_page: int) -> PageRequest:
            offset, limit = page_window(for_page, page_size)
            return PageRequest(key, resolved is SortDirection.DESCENDING, offset, limit, flt)

        if page_size <= CHUNK:
            total, records = await self.items.page(request(page))
            if not records and page > 1 and page_size > 0:
                page = page_past_end(page, page_size, total)
                total, records = await self.items.page(request(page))
            chunks = _one(records)
        else:
            total, ids = await self.items.page_ids(request(page))
            if not ids and page > 1:
                page = page_past_end(page, page_size, total)
                total, ids = await self.items.page_ids(request(page))
            chunks = self._load(ids)
        return ListedPage(page, page_size, echo_key, resolved, total, chunks)

    async def details(self, movie_id: int | None = None) -> AsyncIterator[list[QueueItem]]:
        """Every item (unknown movies included), or one movie's, soonest done first."""
        flt = QueueFilter(
            include_unknown=movie_id is None,
            movie_ids=frozenset({movie_id}) if movie_id is not None else None,
        )
        _, ids = await self.items.page_ids(
            PageRequest("timeleft", False, 0, 2**62, flt)
        )
        return self._load(ids)

    async def _load(self, ids: list[int]) -> AsyncIterator[list[QueueItem]]:
        for start in range(0, len(ids), CHUNK):
            yield await self.items.get_many(ids[start : start + CHUNK])

    async def counts(self) -> StateCounts:
        return await self.items.counts()

    async def statistics(self) -> QueueStats:
        return QueueStats.from_counts(await self.items.counts())

    # -- changing ----------------------------------------------------------------------

    async def _get_all(self, ids: Sequence[int]) -> list[QueueItem]:
        unique = list(dict.fromkeys(ids))
        found = await self.items.get_many(unique)
        if len(found) != len(unique):
            raise NotFound()
        return found

    def _client_for(self, item: QueueItem) -> DownloadClient | None:
        """The client holding the item's download, if it was sent to one."""
        if item.download_id is None or item.download_client is None:
            return None
        client = self.clients.get(item.download_client)
        if client is None:
            raise UnknownDownloadClient(
                f"Download client {item.download_client!r} of item {item.id} no longer exists"
            )
        return client

    async def remove(self, item_id: int, options: RemoveOptions | None = None) -> None:
        await self.remove_many([item_id], options)

    async def remove_many(self, ids: Sequence[int], options: RemoveOptions | None = None) -> None:
        """Remove items, all or nothing: an unknown id removes none. Downloads are
        removed from their client first, so a client failure keeps the item."""
        options = options or RemoveOptions()
        items = await self._get_all(ids)
        if options.remove_from_client and not options.change_category:
            targets = [(item, self._client_for(item)) for item in items]
            for item, client in targets:
                if client is not None and item.download_id is not None:
                    await client.remove(item.download_id, delete_data=True)
        now = self.clock.now()
        if options.blocklist:
            for item in items:
                await self.blocklist.add(
                    NewBlocklistEntry.from_item(item, now, "Removed from the queue")
                )
        note = "blocklisted" if options.blocklist else None
        if options.skip_redownload:
            note = f"{note}; skip redownload" if note else "skip redownload"
        if options.blocklist and not options.skip_redownload and self.redownload is not None:
            # The next best is chosen as if these items were gone already, and grabbed
            # before they go, so that their removal can say what replaced them.
            replaced = []
            for item in items:
                new = await self.redownload(item, "removed from the queue and blocklisted",
                                            True)
                if new is not None:
                    replaced.append(f"item {new.id} ({new.title}) for item {item.id}"
                                    if len(items) > 1 else f"item {new.id} ({new.title})")
            if replaced:
                note = f"{note}; next best: {', '.join(replaced)}"
        await self.items.delete(items, HistoryEvent("removed", note))
        if any(holds_slot(item) for item in items):
            self.wake()  # a slot is free: an item waiting for one can go

    async def note(self, item: QueueItem, event: HistoryEvent) -> None:
        """Write a history row for an item without changing it (gone: nothing)."""
        current = await self.items.get(item.id)
        if current is not None:
            await self.items.update(
                [(current, current.evolve(updated_at=self.clock.now()))], event)

    async def note_status(self, item_id: int, event: HistoryEvent,
                          status: StatusMessage | None = None, *, tries: int = 3
                          ) -> QueueItem | None:
        """Record something that happened to an item without changing its state (a
        Telegram upload): a history row and, given `status`, one more status message,
        through the fenced update (tried again if the item changed meanwhile). Gone:
        None."""
        for attempt in range(tries):
            current = await self.items.get(item_id)
            if current is None:
                return None
            messages = current.status_messages + ((status,) if status else ())
            new = current.evolve(status_messages=messages, updated_at=self.clock.now())
            try:
                (saved,) = await self.items.update([(current, new)], event)
                return saved
            except ConcurrentModification:
                if attempt == tries - 1:
                    raise
        return None

    async def force_grab(self, item_id: int) -> None:
        await self.force_grab_many([item_id])

    async def force_grab_many(self, ids: Sequence[int]) -> None:
        """Make pending items (queued, delayed, client unavailable) due now. Like
        Radarr, an id that is not pending answers NotFound; unlike Radarr, nothing is
        changed unless every id is valid."""
        items = await self._get_all(ids)
        if not all(is_pending(item) for item in items):
            raise NotFound()
        now = self.clock.now()
        changes = []
        for item in items:
            new = (
                item.evolve(next_attempt_at=None, updated_at=now)
                if item.state is ItemState.QUEUED
                else transition(item, ItemState.QUEUED, now, next_attempt_at=None)
            )
            changes.append((item, new))
        await self.items.update(changes, HistoryEvent("forceGrabbed"))
        self.wake()

    async def pause(self, item_id: int) -> QueueItem:
        item = await self.get(item_id)
        if item.state is ItemState.PAUSED:
            return item
        if item.state not in PAUSABLE:
            raise IllegalTransition(f"Item {item.id} is {item.state.value}; it cannot be paused")
        client = self._client_for(item)
        if client is not None and item.download_id is not None:
            await client.pause(item.download_id)
        new = transition(
            item, ItemState.PAUSED, self.clock.now(), download_speed=0, eta_seconds=None
        )
        (saved,) = await self.items.update([(item, new)], HistoryEvent("paused"))
        if holds_slot(item):
            self.wake()  # its slot is free: an item waiting for one can go
        return saved

    async def resume(self, item_id: int) -> QueueItem:
        """Queue a paused item again. Its download, if the client has one, stays paused
        there until the dispatcher has a free slot for it (at once when one is free:
        the dispatcher is woken), so QUEUARR_MAX_CONCURRENT holds (core.slots)."""
        item = await self.get(item_id)
        if item.state is not ItemState.PAUSED:
            if item.state in PAUSABLE:
                return item
            raise IllegalTransition(f"Item {item.id} is {item.state.value}; it is not paused")
        if item.download_id is not None:
            self._client_for(item)  # its client must still exist
        new = transition(item, ItemState.QUEUED, self.clock.now())
        (saved,) = await self.items.update([(item, new)], HistoryEvent("resumed"))
        self.wake()
        return saved

    async def pause_all(self) -> list[int]:
        """Pause every item that can be paused, each as pause() does (in its client
        too); one that moved on meanwhile, or whose client refused, is left as it is.
        The ids paused (a chat's /pause of everything)."""
        return await self._each(PAUSABLE - {ItemState.PAUSED}, self.pause)

    async def resume_all(self) -> list[int]:
        """Resume every paused item, each as resume() does. The ids resumed."""
        return await self._each(frozenset({ItemState.PAUSED}), self.resume)

    async def _each(self, states: frozenset[ItemState],
                    action: Callable[[int], Awaitable[QueueItem]]) -> list[int]:
        flt = QueueFilter(include_unknown=True, states=states)
        _, ids = await self.items.page_ids(PageRequest("added", False, 0, 2**62, flt))
        return await self.each(ids, action)

    async def each(self, ids: Iterable[int],
                   action: Callable[[int], Awaitable[QueueItem]]) -> list[int]:
        """`action` on each item in turn; one that moved on meanwhile, is gone, or whose
        client refuses is left as it is. The ids it was done to."""
        done: list[int] = []
        for item_id in ids:
            try:
                await action(item_id)
            except (IllegalTransition, ConcurrentModification, NotFound,
                    DownloadClientError, UnknownDownloadClient) as exc:
                log.info("Item %d left as it is: %s", item_id, exc.message)
                continue
            done.append(item_id)
        return done

    async def set_priority(self, item_id: int, priority: Priority) -> QueueItem:
        item = await self.get(item_id)
        if item.priority is priority:
            return item
        client = self._client_for(item) if item.is_active else None
        if client is not None and item.download_id is not None:
            await client.set_priority(item.download_id, int(priority))
        new = item.evolve(priority=priority, updated_at=self.clock.now())
        (saved,) = await self.items.update(
            [(item, new)], HistoryEvent("priorityChanged", priority.wire)
        )
        return saved

    async def retry(self, ids: Sequence[int] | None = None) -> list[int]:
        """Queue failed (or waiting-to-retry) items again with their attempts reset, the
        seed's reset_failed_movie. With no ids, every failed item is retried."""
        if ids is None:
            flt = QueueFilter(include_unknown=True, states=frozenset({ItemState.FAILED}))
            _, all_ids = await self.items.page_ids(PageRequest("added", False, 0, 2**62, flt))
            retried: list[int] = []
            for start in range(0, len(all_ids), CHUNK):
                chunk = await self.items.get_many(all_ids[start : start + CHUNK])
                retried += await self._retry((i for i in chunk if i.state is ItemState.FAILED),
                                             skip_duplicates=True)
            return retried
        items = await self._get_all(ids)
        stuck = [item for item in items if item.state not in RETRYABLE]
        if stuck:
            raise IllegalTransition(
                "Only failed or retrying items can be retried; "
                + ", ".join(f"item {i.id} is {i.state.value}" for i in stuck)
            )
        return await self._retry(items)

    async def _retry(self, items: Iterable[QueueItem], skip_duplicates: bool = False
                     ) -> list[int]:
        """Queue items again, attempts and rescues reset. Two of them for one release, or
        one whose release is active again meanwhile, would be a duplicate: with
        `skip_duplicates` (retry every failed item) those stay failed; otherwise the call
        is refused (409) and nothing changes."""
        now = self.clock.now()
        changes = []
        taken: dict[str, int] = {}
        for item in items:
            keys = [k for k in (item.info_hash, item.url_hash) if k is not None]
            other = next((taken[k] for k in keys if k in taken), None)
            if other is None and item.state is ItemState.FAILED and keys:
                active = await self.items.find_active(item.info_hash, item.url_hash)
                other = active.id if active is not None and active.id != item.id else None
            if other is not None:
                if skip_duplicates:
                    continue
                raise Duplicate(f"Item {item.id} is the same release as item {other}, "
                                "which is queued or active", other)
            taken.update((k, item.id) for k in keys)
            changes.append((item, transition(
                item, ItemState.QUEUED, now, attempts=0, rescues=0, next_attempt_at=None,
                error_message=None, status_messages=(), download_id=None)))
        if not changes:
            return []
        saved = await self.items.update(changes, HistoryEvent("retried"))
        self.wake()
        return [item.id for item in saved]

    async def cleanup(self, older_than_days: int) -> int:
        """Delete completed and failed items not touched for `older_than_days` days."""
        if older_than_days < 0:
            raise BadRequest(f"olderThanDays must not be negative, got {older_than_days}")
        return await self.items.delete_finished(
            self.clock.now() - timedelta(days=older_than_days)
        )


async def _one(records: list[QueueItem]) -> AsyncIterator[list[QueueItem]]:
    yield records
