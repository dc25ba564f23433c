"""Ports: what core needs from the outside world, as Protocols. Adapters live in
`infrastructure/`; fakes in `tests/fakes.py`. Each docstring says what is promised."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.clients import ClientConfig, ClientDescriptor, ClientState, DownloadItemStatus
from core.domain import (
    BlocklistEntry,
    DownloadProtocol,
    HistoryEntry,
    HistoryEvent,
    HistoryQuery,
    ItemGroup,
    NewBlocklistEntry,
    NewItem,
    QueueItem,
    StateCounts,
)
from core.formats import CustomFormat
from core.listing import PageRequest, QueueFilter
from core.movies import KnownMovie
from core.notifications import NotificationConfig
from core.profiles import QualityProfile
from core.release import ParsedRelease, Release
from core.sizes import QualityDefinition
from core.tags import Tag
from core.videos import VideoListing, VideoMatch


class Clock(Protocol):
    """Tells the time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class QueueRepository(Protocol):
    """Stores queue items. Every write is one short transaction that also writes a
    history row and keeps the state counters exact. Raises StorageUnavailable when the
    database cannot be reached."""

    async def add(
        self, item: NewItem, event: HistoryEvent, *, refuse_completed: bool = False
    ) -> QueueItem:
        """Insert; raises Duplicate(existing_id) when an active item has the same
        info hash or URL hash, and, with refuse_completed, AlreadyCompleted(existing_id)
        when a completed one has; both checks are atomic with the insert."""
        ...

    async def get(self, item_id: int) -> QueueItem | None: ...

    async def get_many(self, ids: Sequence[int]) -> list[QueueItem]:
        """The items that exist among `ids`, in the order of `ids`."""
        ...

    async def get_torrent(self, item_id: int) -> bytes | None:
        """The .torrent file stored with an item, if any."""
        ...

    async def find_active(self, info_hash: str | None, url_hash: str | None) -> QueueItem | None:
        """An active (not completed, not failed) item with that info hash or URL hash."""
        ...

    async def find_completed(
        self, info_hash: str | None, url_hash: str | None
    ) -> QueueItem | None:
        """A completed item with that info hash or URL hash."""
        ...

    async def page(self, request: PageRequest) -> tuple[int, list[QueueItem]]:
        """(total matching the filter, the requested slice in order)."""
        ...

    async def count(self, flt: QueueFilter) -> int: ...

    async def page_ids(self, request: PageRequest) -> tuple[int, list[int]]:
        """Like `page`, but only ids: for pages too large to hold as items at once."""
        ...

    async def counts(self) -> StateCounts:
        """Items per state, split by known/unknown movie; O(1), from counters."""
        ...

    async def update(
        self, changes: Sequence[tuple[QueueItem, QueueItem]], event: HistoryEvent
    ) -> list[QueueItem]:
        """Write each (old, new) pair in one transaction, fenced on old.version; raises
        ConcurrentModification (and writes nothing) if any item changed meanwhile."""
        ...

    async def delete(self, items: Sequence[QueueItem], event: HistoryEvent) -> None:
        """Delete items (and their torrents) in one transaction, writing history."""
        ...

    async def claim(self, owner: str, limit: int, now: datetime,
                    lease: timedelta) -> list[QueueItem]:
        """Move up to `limit` due items to `sending`, leased to `owner` until now + lease:
        queued ones, and retrying or clientUnavailable ones whose next_attempt_at has
        passed; highest priority first, then oldest. One transaction; concurrent
        claimers never get the same item (FOR UPDATE SKIP LOCKED on Postgres). Writes a
        `claimed` history row each."""
        ...

    async def add_group(self, title: str, url: str | None, at: datetime) -> ItemGroup:
        """Store a new group (a playlist's items are then added with its id)."""
        ...

    async def group(self, group_id: int) -> ItemGroup | None: ...

    async def in_group(self, group_id: int) -> list[QueueItem]:
        """The items of a group that still exist, oldest first."""
        ...

    async def tracked(self) -> list[QueueItem]:
        """Active items a download client holds (download_id set), for the sync."""
        ...

    async def tracked_versions(self) -> dict[int, int]:
        """The version of each item tracked() would return, by id: a narrow read, so that
        the sync reads again only the items written since it last read them."""
        ...

    async def expired_leases(self, now: datetime) -> list[QueueItem]:
        """Items in `sending` whose lease expired before `now`."""
        ...

    async def next_attempt_after(self, now: datetime) -> datetime | None:
        """The earliest next_attempt_at after `now` of a waiting item that is not due yet
        (core.leases.due_later): when the dispatcher could next claim one without a
        wake. One indexed read."""
        ...

    async def delete_finished(self, before: datetime) -> int:
        """Delete completed and failed items last updated before `before`."""
        ...

    async def history(self, item_id: int) -> list[HistoryEntry]:
        """An item's history, oldest first (it outlives the item)."""
        ...

    async def history_page(self, query: HistoryQuery) -> tuple[int, list[HistoryEntry]]:
        """(rows matching the query's filters, the page of them asked for)."""
        ...

    async def delete_history(self, before: datetime) -> int:
        """Forget history rows older than `before` (QUEUARR_RETENTION_DAYS)."""
        ...

    async def movies(self, movie_id: int | None = None, tmdb_id: int | None = None
                     ) -> list[KnownMovie]:
        """One entry per movie id among the items, by movie id: the newest item's movie
        fields (largest item id), the first grab's time, and the newest completed
        item's size, output path and time. `movie_id` keeps that movie only; `tmdb_id`
        the movies whose shown tmdb id (the newest item's) is that."""
        ...


class BlocklistRepository(Protocol):
    """Stores rejected releases. Raises StorageUnavailable when the database is down."""

    async def add(self, entry: NewBlocklistEntry) -> BlocklistEntry:
        """Insert, or return the existing entry for the same info hash, URL hash or
        title and movie (idempotent)."""
        ...

    async def find(
        self, info_hash: str | None, url_hash: str | None, title: str | None
    ) -> BlocklistEntry | None:
        """An entry matching the info hash, the URL hash, or the title (any case)."""
        ...

    async def page(
        self,
        offset: int,
        limit: int,
        sort_key: str,
        descending: bool,
        movie_ids: frozenset[int] | None,
        protocols: frozenset[DownloadProtocol] | None,
    ) -> tuple[int, list[BlocklistEntry]]: ...

    async def get_many(self, ids: Sequence[int]) -> list[BlocklistEntry]: ...

    async def delete(self, ids: Sequence[int]) -> None: ...


@dataclass(frozen=True, slots=True)
class TorrentMeta:
    info_hash: str  # v1, 40 lower-case hex
    name: str
    size: int
    trackers: tuple[str, ...] = ()


class TorrentParser(Protocol):
    """Parses .torrent bytes safely; raises InvalidRelease for anything malformed."""

    def parse(self, data: bytes) -> TorrentMeta: ...


@dataclass(frozen=True, slots=True)
class ClientInfo:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class DownloadStatus:
    """One download as its client sees it. `download_id` is the download's current id:
    when it differs from the id that was asked for, the client re-keyed the download
    (aria2 follows a magnet's metadata download to the real one) and the item should
    follow it. `progress` is a percentage (0-100). `permanent` says whether a FAILED
    download's error will not pass with a retry."""

    download_id: str
    state: ClientState
    total_bytes: int
    left_bytes: int
    progress: float
    download_speed: int = 0
    upload_speed: int = 0
    eta_seconds: int | None = None
    seeders: int | None = None
    output_path: str | None = None
    error: str | None = None
    permanent: bool = False
    name: str | None = None
    # Radarr's view of the download, as Radarr's own adapter for this client words it
    # (status and message of its DownloadClientItem); None when the adapter has none.
    item_status: DownloadItemStatus | None = None
    message: str | None = None


class DownloadClient(Protocol):
    """A download client (qBittorrent, aria2). Raises ClientUnavailable (down, timeout,
    login refused), ClientRejected (the release is invalid: permanent) or
    TransientClientError."""

    name: str

    async def test(self) -> ClientInfo:
        """The client's version; raises ClientUnavailable when it cannot be reached."""
        ...

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        """Send the item and return its download id once the client confirmed it.
        Idempotent: an item already in the client (same info hash, or the item's own
        tag or id) is found and its id returned, never added twice."""
        ...

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        """All requested downloads in one batched call, keyed by the ids asked for;
        downloads the client does not know are absent."""
        ...

    async def pause(self, download_id: str) -> None: ...

    async def resume(self, download_id: str) -> None: ...

    async def remove(self, download_id: str, delete_data: bool) -> None:
        """Remove the download (a no-op if it is gone), and its files if asked."""
        ...

    async def set_priority(self, download_id: str, priority: int) -> None:
        """Move the download in the client's own queue (a Priority value); a no-op
        where the client has no such notion."""
        ...

    async def free_space(self) -> int | None:
        """Free bytes where the client saves, or None when it cannot tell."""
        ...


class SwitchRepository(Protocol):
    """Named switches every process reads (`paused`: PUT /api/v3/queue/pause)."""

    async def get(self, name: str) -> str | None: ...

    async def set(self, name: str, value: str, at: datetime) -> None: ...


class ClientConfigRepository(Protocol):
    """Stored download-client configurations. Names are unique: storing a taken name
    raises BadRequest."""

    async def list(self) -> list[ClientConfig]: ...

    async def add(self, config: ClientConfig) -> ClientConfig:
        """Store a new configuration and return it with its id."""
        ...

    async def update(self, config: ClientConfig) -> ClientConfig:
        """Replace the configuration with config.id; NotFound if there is none."""
        ...

    async def delete(self, config_id: int) -> None:
        """Delete it; NotFound if there is none."""
        ...


class UrlGuard(Protocol):
    """Checks a URL a caller wants fetched (by us or by a download client)."""

    async def check(self, url: str) -> None:
        """Raise InvalidRelease if the URL must not be fetched (private address space)."""
        ...


@dataclass(frozen=True, slots=True)
class Prepared:
    """A release as its download client gets it: `item` may carry another source, URL or
    info hash than the stored one (a fetched .torrent, a redirect's final URL); `notes`
    say what was changed, for the item's history."""

    item: QueueItem
    torrent: bytes | None
    notes: tuple[str, ...] = ()


class SourcePreparer(Protocol):
    """Makes a release safe to hand to a download client, when it is sent: fetches a
    .torrent URL (the client gets its bytes), follows an http(s) URL's redirects (the
    client gets the final URL), removes trackers and web seeds in private address space.
    Raises SourceRefused (permanent: a private target, a 404, not a torrent) or
    SourceUnavailable (transient: a network error, a 5xx)."""

    async def prepare(self, item: QueueItem, torrent: bytes | None) -> Prepared: ...


class VideoSites(Protocol):
    """yt-dlp's knowledge of video sites, for routing and dedup at grab time."""

    def match(self, url: str) -> VideoMatch | None:
        """The site extractor (not the generic one) that claims the URL, with the video's
        key when the URL holds it; offline (no request), but CPU: call it off the loop."""
        ...

    async def probe(self, url: str, limit: int) -> VideoListing:
        """What the URL holds: one video, or a playlist's first `limit` entries. Raises
        SourceRefused (permanent: unsupported, gone, private) or SourceUnavailable."""
        ...


class DownloadClients(Protocol):
    """The configured download clients, by name."""

    def get(self, name: str) -> DownloadClient | None: ...

    def descriptors(self) -> Sequence[ClientDescriptor]:
        """Every configured client, enabled or not, for routing."""
        ...


class Named(Protocol):
    """What the custom-format and quality-profile stores share: an id and a name."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


class NotificationRepository(Protocol):
    """Stored notification targets (webhooks); the same promises as
    CustomFormatRepository (unique names: BadRequest; missing ids: NotFound)."""

    async def list(self) -> list[NotificationConfig]: ...

    async def add(self, config: NotificationConfig) -> NotificationConfig: ...

    async def update(self, config: NotificationConfig) -> NotificationConfig: ...

    async def delete(self, config_id: int) -> None: ...


class ReleaseParser(Protocol):
    """Parses a release title into the movie, Radarr's quality and the rest; never
    raises (an unparseable title is Unknown quality with the title as given)."""

    def parse(self, title: str) -> ParsedRelease: ...


class CustomFormatRepository(Protocol):
    """Stored custom formats. Names are unique: a taken name raises BadRequest;
    a missing id raises NotFound."""

    async def list(self) -> list[CustomFormat]: ...

    async def add(self, fmt: CustomFormat) -> CustomFormat:
        """Store it and return it with its new id."""
        ...

    async def update(self, fmt: CustomFormat) -> CustomFormat: ...

    async def delete(self, format_id: int) -> None: ...


class QualityProfileRepository(Protocol):
    """Stored quality profiles; the same promises as CustomFormatRepository."""

    async def list(self) -> list[QualityProfile]: ...

    async def add(self, profile: QualityProfile) -> QualityProfile: ...

    async def update(self, profile: QualityProfile) -> QualityProfile: ...

    async def delete(self, profile_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredCandidate:
    """A release kept for a movie, grabbed (item_id) or waiting as the next best."""

    id: int
    movie_key: str
    release: Release
    added_at: datetime
    profile_id: int | None = None
    item_id: int | None = None


class CandidateRepository(Protocol):
    """Releases kept per movie for the next-best re-grab. Raises StorageUnavailable."""

    async def add(self, movie_key: str, releases: Sequence[Release], profile_id: int | None,
                  at: datetime) -> list[StoredCandidate]:
        """Store the releases not stored yet for that movie (by Release.key); return
        the stored candidate of each release given, in order."""
        ...

    async def for_movie(self, movie_key: str) -> list[StoredCandidate]: ...

    async def for_item(self, item_id: int) -> StoredCandidate | None:
        """The candidate an item was grabbed from, if any."""
        ...

    async def link(self, candidate_id: int, item_id: int) -> None:
        """Record that the candidate was grabbed as that item."""
        ...

    async def delete_before(self, before: datetime) -> int:
        """Forget candidates added before `before` (retention)."""
        ...


class TagRepository(Protocol):
    """Stored tags (id, lower-case label). Labels are unique: a taken one raises
    BadRequest; a missing id raises NotFound. Raises StorageUnavailable."""

    async def list(self) -> list[Tag]:
        """Every tag, by id."""
        ...

    async def add(self, label: str) -> Tag:
        """Store a new tag and return it with its id (ids are never reused)."""
        ...

    async def update(self, tag: Tag) -> Tag: ...

    async def delete(self, tag_id: int) -> None: ...


class QualityDefinitionRepository(Protocol):
    """Quality definitions that differ from the defaults, by quality id. Raises
    StorageUnavailable."""

    async def list(self) -> list[QualityDefinition]:
        """The stored definitions (qualities Queuarr no longer knows are left out)."""
        ...

    async def save(self, definitions: Sequence[QualityDefinition]) -> None:
        """Store each (replacing the one of its quality), all in one transaction."""
        ...
