"""In-memory repositories: the reference behaviour for unit tests. The contract suite in
tests/contracts runs the same tests on these and on the SQL repositories."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from core.blocklist import same_release
from core.clients import ClientConfig
from core.domain import (
    ACTIVE_STATES,
    BlocklistEntry,
    DownloadProtocol,
    HistoryEntry,
    HistoryEvent,
    HistoryQuery,
    ItemGroup,
    ItemState,
    NewBlocklistEntry,
    NewItem,
    QueueItem,
    StateCounts,
    materialise,
)
from core.errors import AlreadyCompleted, BadRequest, ConcurrentModification, Duplicate, NotFound
from core.leases import CLAIMED, due_later, is_due, is_tracked, leased
from core.listing import SORT_COLUMNS, PageRequest, QueueFilter, sort_values
from core.movies import KnownMovie
from core.ports import Clock


def order_items(items: list[QueueItem], sort_key: str, descending: bool) -> list[QueueItem]:
    """Radarr's ordering: the key in the given direction, then progress descending,
    then id in the key's direction as the final tie-break."""
    column = SORT_COLUMNS[sort_key]
    ordered = sorted(items, key=lambda i: i.id, reverse=descending)
    ordered.sort(key=lambda i: i.progress, reverse=True)
    ordered.sort(key=lambda i: sort_values(i)[column], reverse=descending)  # type: ignore[arg-type,return-value]
    return ordered


class MemoryQueueRepository:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[int, QueueItem] = {}
        self._torrents: dict[int, bytes] = {}
        self._next_id = 1
        self._lock = asyncio.Lock()
        self._history: list[HistoryEntry] = []
        self._groups: dict[int, ItemGroup] = {}

    def _active_with(self, info_hash: str | None, url_hash: str | None) -> QueueItem | None:
        for item in self._items.values():
            if item.state in ACTIVE_STATES and (
                (info_hash is not None and item.info_hash == info_hash)
                or (url_hash is not None and item.url_hash == url_hash)
            ):
                return item
        return None

    async def add(
        self, item: NewItem, event: HistoryEvent, *, refuse_completed: bool = False
    ) -> QueueItem:
        async with self._lock:
            if refuse_completed:
                done = await self.find_completed(item.info_hash, item.url_hash)
                if done is not None:
                    raise AlreadyCompleted.of(item.title, done.id)
            existing = self._active_with(item.info_hash, item.url_hash)
            if existing is not None:
                raise Duplicate(
                    f"Release {item.title!r} is already in the queue as item {existing.id}",
                    existing.id,
                )
            stored = materialise(item, self._next_id)
            self._next_id += 1
            self._items[stored.id] = stored
            if item.torrent is not None:
                self._torrents[stored.id] = item.torrent
            self._log(stored, stored.added_at, event, None, stored.state)
            return stored

    def _log(self, item: QueueItem, at: datetime, event: HistoryEvent,
             old: ItemState | None, new: ItemState | None) -> None:
        if not event.recorded:
            return
        self._history.append(HistoryEntry(
            item.id, at, event.event, old, new, event.message, id=len(self._history) + 1,
            source_title=item.title, movie_id=item.movie_id,
            download_id=item.known_download_id))

    async def get(self, item_id: int) -> QueueItem | None:
        return self._items.get(item_id)

    async def get_many(self, ids: Sequence[int]) -> list[QueueItem]:
        return [self._items[i] for i in ids if i in self._items]

    async def get_torrent(self, item_id: int) -> bytes | None:
        return self._torrents.get(item_id)

    async def find_active(self, info_hash: str | None, url_hash: str | None) -> QueueItem | None:
        return self._active_with(info_hash, url_hash)

    async def find_completed(
        self, info_hash: str | None, url_hash: str | None
    ) -> QueueItem | None:
        for item in sorted(self._items.values(), key=lambda i: i.id):
            if item.state is ItemState.COMPLETED and (
                (info_hash is not None and item.info_hash == info_hash)
                or (url_hash is not None and item.url_hash == url_hash)
            ):
                return item
        return None

    def _matching(self, flt: QueueFilter) -> list[QueueItem]:
        return [item for item in self._items.values() if flt.matches(item)]

    async def page(self, request: PageRequest) -> tuple[int, list[QueueItem]]:
        matching = order_items(
            self._matching(request.filter), request.sort_key, request.descending
        )
        window = matching[request.offset : request.offset + request.limit]
        return len(matching), window

    async def page_ids(self, request: PageRequest) -> tuple[int, list[int]]:
        total, items = await self.page(request)
        return total, [item.id for item in items]

    async def count(self, flt: QueueFilter) -> int:
        return len(self._matching(flt))

    async def counts(self) -> StateCounts:
        known: dict[ItemState, int] = {}
        unknown: dict[ItemState, int] = {}
        for item in self._items.values():
            bucket = unknown if item.movie_id is None else known
            bucket[item.state] = bucket.get(item.state, 0) + 1
        return StateCounts(known, unknown)

    async def update(
        self, changes: Sequence[tuple[QueueItem, QueueItem]], event: HistoryEvent
    ) -> list[QueueItem]:
        async with self._lock:
            for old, _ in changes:
                current = self._items.get(old.id)
                if current is None or current.version != old.version:
                    raise ConcurrentModification(
                        f"Item {old.id} changed while it was being updated; try again"
                    )
            stored_all = [new.evolve(version=old.version + 1) for old, new in changes]
            after = {**self._items, **{s.id: s for s in stored_all}}
            for stored in stored_all:  # all checked before anything is written
                if stored.state in ACTIVE_STATES and (stored.info_hash or stored.url_hash):
                    other = next((i for i in after.values() if i.id != stored.id
                                  and i.state in ACTIVE_STATES and (
                                      (stored.info_hash and i.info_hash == stored.info_hash)
                                      or (stored.url_hash and i.url_hash == stored.url_hash))),
                                 None)
                    if other is not None:
                        raise Duplicate(
                            f"Item {stored.id} would duplicate active item {other.id}", other.id
                        )
            saved = []
            for (old, new), stored in zip(changes, stored_all, strict=True):
                self._items[old.id] = stored
                self._log(new, new.updated_at, event, old.state, new.state)
                saved.append(stored)
            return saved

    async def claim(self, owner: str, limit: int, now: datetime,
                    lease: timedelta) -> list[QueueItem]:
        async with self._lock:
            due = sorted((i for i in self._items.values() if is_due(i, now)),
                         key=lambda i: (-int(i.priority), i.added_at, i.id))[:max(limit, 0)]
            claimed = []
            for item in due:
                stored = leased(item, owner, now, lease).evolve(version=item.version + 1)
                self._items[item.id] = stored
                self._log(stored, now, CLAIMED, item.state, stored.state)
                claimed.append(stored)
            return claimed

    async def add_group(self, title: str, url: str | None, at: datetime) -> ItemGroup:
        group = ItemGroup(len(self._groups) + 1, title, url, at)
        self._groups[group.id] = group
        return group

    async def group(self, group_id: int) -> ItemGroup | None:
        return self._groups.get(group_id)

    async def in_group(self, group_id: int) -> list[QueueItem]:
        return sorted((i for i in self._items.values() if i.group_id == group_id),
                      key=lambda i: i.id)

    async def tracked(self) -> list[QueueItem]:
        return sorted((i for i in self._items.values() if is_tracked(i)), key=lambda i: i.id)

    async def tracked_versions(self) -> dict[int, int]:
        return {i.id: i.version for i in await self.tracked()}

    async def next_attempt_after(self, now: datetime) -> datetime | None:
        return min((at for i in self._items.values()
                    if (at := due_later(i, now)) is not None), default=None)

    async def expired_leases(self, now: datetime) -> list[QueueItem]:
        return sorted((i for i in self._items.values() if i.state is ItemState.SENDING
                       and i.lease_expires_at is not None and i.lease_expires_at < now),
                      key=lambda i: i.id)

    async def delete(self, items: Sequence[QueueItem], event: HistoryEvent) -> None:
        now = self._clock.now()
        async with self._lock:
            for item in items:
                stored = self._items.pop(item.id, None)
                if stored is not None:
                    self._torrents.pop(item.id, None)
                    self._log(stored, now, event, stored.state, None)

    async def delete_finished(self, before: datetime) -> int:
        async with self._lock:
            doomed = [
                i for i in self._items.values()
                if i.state in (ItemState.COMPLETED, ItemState.FAILED) and i.updated_at < before
            ]
            now = self._clock.now()
            for item in doomed:
                del self._items[item.id]
                self._torrents.pop(item.id, None)
                self._log(item, now, HistoryEvent("cleanedUp"), item.state, None)
            return len(doomed)

    async def history(self, item_id: int) -> list[HistoryEntry]:
        return [h for h in self._history if h.item_id == item_id]

    async def history_page(self, query: HistoryQuery) -> tuple[int, list[HistoryEntry]]:
        rows = [h for h in self._history if history_matches(h, query)]
        rows.sort(key=lambda h: (h.at, h.id), reverse=not query.ascending)
        start = (query.page - 1) * query.page_size
        return len(rows), rows[start : start + query.page_size]

    async def delete_history(self, before: datetime) -> int:
        kept = [h for h in self._history if h.at >= before]
        removed = len(self._history) - len(kept)
        self._history = kept
        return removed

    async def movies(self, movie_id: int | None = None, tmdb_id: int | None = None
                     ) -> list[KnownMovie]:
        by_movie: dict[int, list[QueueItem]] = {}
        for item in sorted(self._items.values(), key=lambda i: i.id):
            if item.movie_id is not None and movie_id in (None, item.movie_id):
                by_movie.setdefault(item.movie_id, []).append(item)
        found = []
        for key in sorted(by_movie):
            items = by_movie[key]
            m = items[-1].movie
            done = [i for i in items if i.state is ItemState.COMPLETED]
            known = KnownMovie(
                key, m.title if m else None, (m.year or None) if m else None,
                m.tmdb_id if m else None, m.imdb_id if m else None,
                m.sort_title if m else None, min(i.added_at for i in items),
                has_file=bool(done), size=done[-1].size if done else 0,
                path=done[-1].output_path if done else None)
            if tmdb_id is None or known.tmdb_id == tmdb_id:
                found.append(known)
        return found


def history_matches(h: HistoryEntry, q: HistoryQuery) -> bool:
    return ((q.events is None or h.event in q.events)
            and (q.download_id is None or h.download_id in q.download_id_forms)
            and (q.movie_ids is None or h.movie_id in q.movie_ids)
            and (q.item_id is None or h.item_id == q.item_id)
            and (q.since is None or h.at >= q.since))


class MemorySwitchRepository:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str, at: datetime) -> None:
        self.values[name] = value


BLOCKLIST_SORT_KEYS = {  # the keys of core.blocklist.SORT_KEYS
    "date": lambda e: e.date,
    "sourcetitle": lambda e: e.source_title,
    "indexer": lambda e: (e.indexer or "").lower(),
    "protocol": lambda e: int(e.protocol),
    "movieid": lambda e: e.movie_id or 0,
}


class MemoryBlocklistRepository:
    def __init__(self) -> None:
        self._entries: dict[int, BlocklistEntry] = {}
        self._next_id = 1

    async def find(
        self, info_hash: str | None, url_hash: str | None, title: str | None
    ) -> BlocklistEntry | None:
        folded = title.casefold() if title else None
        for entry in sorted(self._entries.values(), key=lambda e: e.id):
            if (
                (info_hash is not None and entry.info_hash == info_hash)
                or (url_hash is not None and entry.url_hash == url_hash)
                or (folded is not None and entry.source_title.casefold() == folded)
            ):
                return entry
        return None

    async def add(self, entry: NewBlocklistEntry) -> BlocklistEntry:
        existing = await self.find(*same_release(entry))
        if existing is not None:
            return existing
        values = {n: getattr(entry, n) for n in NewBlocklistEntry.__dataclass_fields__}
        stored = BlocklistEntry(id=self._next_id, **values)
        self._next_id += 1
        self._entries[stored.id] = stored
        return stored

    async def page(
        self,
        offset: int,
        limit: int,
        sort_key: str,
        descending: bool,
        movie_ids: frozenset[int] | None,
        protocols: frozenset[DownloadProtocol] | None,
    ) -> tuple[int, list[BlocklistEntry]]:
        matching = [
            e for e in self._entries.values()
            if (movie_ids is None or e.movie_id in movie_ids)
            and (protocols is None or e.protocol in protocols)
        ]
        matching.sort(key=lambda e: e.id, reverse=descending)
        matching.sort(key=BLOCKLIST_SORT_KEYS[sort_key], reverse=descending)  # type: ignore[arg-type]
        return len(matching), matching[offset : offset + limit]

    async def get_many(self, ids: Sequence[int]) -> list[BlocklistEntry]:
        return [self._entries[i] for i in ids if i in self._entries]

    async def delete(self, ids: Sequence[int]) -> None:
        for i in ids:
            self._entries.pop(i, None)


class MemoryClientConfigRepository:
    """The reference ClientConfigRepository."""

    def __init__(self) -> None:
        self._rows: dict[int, ClientConfig] = {}
        self._next_id = 1

    async def list(self) -> list[ClientConfig]:
        return [self._rows[i] for i in sorted(self._rows)]

    def _check_name(self, config: ClientConfig) -> None:
        if any(c.name == config.name and c.id != config.id for c in self._rows.values()):
            raise BadRequest(f"A download client named {config.name!r} exists already")

    async def add(self, config: ClientConfig) -> ClientConfig:
        self._check_name(replace(config, id=None))
        stored = replace(config, id=self._next_id)
        self._next_id += 1
        self._rows[stored.id] = stored  # type: ignore[index]
        return stored

    async def update(self, config: ClientConfig) -> ClientConfig:
        if config.id not in self._rows:
            raise NotFound(f"Download client {config.id} not found")
        self._check_name(config)
        self._rows[config.id] = config
        return config

    async def delete(self, config_id: int) -> None:
        if self._rows.pop(config_id, None) is None:
            raise NotFound(f"Download client {config_id} not found")
