"""Domain values: queue items, their states, priorities and protocols."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from core.quality import UNKNOWN_LANGUAGE, UNKNOWN_QUALITY, CustomFormatRef, Language, QualityModel
from core.retry import RetryPolicy


class ItemState(StrEnum):
    """Internal lifecycle states (see DESIGN.md); the Radarr edge maps them to its enums."""

    QUEUED = "queued"
    SENDING = "sending"
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    RETRYING = "retrying"
    CLIENT_UNAVAILABLE = "clientUnavailable"
    WARNING = "warning"
    COMPLETED = "completed"
    FAILED = "failed"


FINISHED_STATES = frozenset({ItemState.COMPLETED, ItemState.FAILED})
ACTIVE_STATES = frozenset(ItemState) - FINISHED_STATES


class Priority(IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2
    VERY_HIGH = 3

    @property
    def wire(self) -> str:
        return _PRIORITY_WIRE[self]

    @classmethod
    def parse(cls, value: str | int) -> Priority:
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        key = str(value).strip().replace("_", "").replace("-", "").lower()
        for member, wire in _PRIORITY_WIRE.items():
            if wire.lower() == key:
                return member
        raise ValueError(f"unknown priority {value!r}; use low, normal, high or veryHigh")


_PRIORITY_WIRE = {
    Priority.LOW: "low",
    Priority.NORMAL: "normal",
    Priority.HIGH: "high",
    Priority.VERY_HIGH: "veryHigh",
}


class DownloadProtocol(IntEnum):
    """Radarr's DownloadProtocol; direct http(s) files are `unknown` to Radarr."""

    UNKNOWN = 0
    USENET = 1
    TORRENT = 2

    @property
    def wire(self) -> str:
        return self.name.lower()


class SourceKind(StrEnum):
    """What the caller handed us: how the download client must be fed."""

    MAGNET = "magnet"
    TORRENT_FILE = "torrentFile"
    TORRENT_URL = "torrentUrl"
    HTTP = "http"
    VIDEO = "video"  # a page or media URL yt-dlp extracts (a site's video, a playlist entry)


@dataclass(frozen=True, slots=True)
class MovieInfo:
    """The caller's snapshot of the movie a release belongs to."""

    title: str | None = None
    year: int | None = None
    tmdb_id: int | None = None
    imdb_id: str | None = None
    sort_title: str | None = None


@dataclass(frozen=True, slots=True)
class StatusMessage:
    title: str
    messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewItem:
    """A validated release ready to be stored as a queue item."""

    title: str
    source: SourceKind
    protocol: DownloadProtocol
    added_at: datetime
    download_url: str | None = None
    torrent: bytes | None = None
    info_hash: str | None = None
    url_hash: str | None = None
    movie_id: int | None = None
    movie: MovieInfo | None = None
    release_id: str | None = None
    indexer: str | None = None
    size: int = 0
    seeders: int | None = None
    leechers: int | None = None
    priority: Priority = Priority.NORMAL
    download_client: str | None = None
    category: str | None = None
    quality: QualityModel = UNKNOWN_QUALITY
    languages: tuple[Language, ...] = (UNKNOWN_LANGUAGE,)
    custom_formats: tuple[CustomFormatRef, ...] = ()
    custom_format_score: int = 0
    retry_policy: RetryPolicy | None = None  # the grab's own; else the processor's
    tags: tuple[int, ...] = ()  # Radarr's tag ids
    # Who handed it in through a chat door (Telegram chat and user ids), if anyone.
    origin_chat: int | None = None
    origin_user: int | None = None
    save_under: str | None = None  # a plain sub-directory of the client's download dir
    group_id: int | None = None  # the ItemGroup (a playlist) it was grabbed with, if any


@dataclass(slots=True)
class QueueItem:
    """One release in the queue, from grab to completion or failure. Treat it as
    immutable: change it with evolve() or core.states.transition(). (Not frozen=True:
    a frozen 45-field dataclass is ten times slower to build, and the list endpoints
    build thousands.)"""

    id: int
    title: str
    source: SourceKind
    protocol: DownloadProtocol
    state: ItemState
    added_at: datetime
    updated_at: datetime
    version: int = 1
    download_url: str | None = None
    has_torrent_file: bool = False
    info_hash: str | None = None
    url_hash: str | None = None
    movie_id: int | None = None
    movie: MovieInfo | None = None
    release_id: str | None = None
    indexer: str | None = None
    size: int = 0
    size_left: int = 0
    progress: float = 0.0
    download_speed: int = 0
    upload_speed: int = 0
    eta_seconds: int | None = None
    estimated_completion_at: datetime | None = None
    priority: Priority = Priority.NORMAL
    status_messages: tuple[StatusMessage, ...] = ()
    error_message: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    download_client: str | None = None
    download_id: str | None = None
    output_path: str | None = None
    category: str | None = None
    seeders: int | None = None
    leechers: int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    quality: QualityModel = UNKNOWN_QUALITY
    languages: tuple[Language, ...] = (UNKNOWN_LANGUAGE,)
    custom_formats: tuple[CustomFormatRef, ...] = ()
    custom_format_score: int = 0
    # The processor's bookkeeping: who holds the item while sending it, until when;
    # how often an expired lease was rescued; when bytes last arrived.
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    rescues: int = 0
    progress_at: datetime | None = None
    retry_policy: RetryPolicy | None = None  # the grab's own; else the processor's
    # What the client says of the download while it has it, in Radarr's words: a
    # core.clients.DownloadItemStatus value and the adapter's message.
    client_status: str | None = None
    client_message: str | None = None
    tags: tuple[int, ...] = ()  # Radarr's tag ids
    origin_chat: int | None = None  # the chat (and user) that handed it in, if any
    origin_user: int | None = None
    save_under: str | None = None  # a plain sub-directory of the client's download dir
    group_id: int | None = None  # the ItemGroup (a playlist) it was grabbed with, if any

    @property
    def known_download_id(self) -> str | None:
        """The download's id as Radarr clients know it: a torrent's info hash (Radarr's
        qBittorrent and aria2 adapters both key torrents by it, and history rows carry
        it from the grab on), else the client's own id (an aria2 GID)."""
        return self.info_hash or self.download_id

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_unknown_movie(self) -> bool:
        return self.movie_id is None

    def evolve(self, **changes: Any) -> QueueItem:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ItemGroup:
    """Items grabbed together from one link (a playlist or a channel), so that they can
    be listed, paused, retried and removed together."""

    id: int
    title: str
    url: str | None
    added_at: datetime


def materialise(new: NewItem, item_id: int) -> QueueItem:
    """The queue item a freshly stored NewItem becomes."""
    values = {name: getattr(new, name) for name in NewItem.__dataclass_fields__}
    torrent = values.pop("torrent")
    return QueueItem(
        id=item_id, state=ItemState.QUEUED, updated_at=new.added_at, size_left=new.size,
        has_torrent_file=torrent is not None, **values,
    )


def changed_fields(old: QueueItem, new: QueueItem) -> dict[str, Any]:
    """The fields whose values differ between two versions of one item."""
    return {
        name: getattr(new, name)
        for name in QueueItem.__dataclass_fields__
        if getattr(old, name) != getattr(new, name)
    }


@dataclass(frozen=True, slots=True)
class StateCounts:
    """How many items are in each state, split by whether their movie is known."""

    known: dict[ItemState, int] = field(default_factory=dict)
    unknown: dict[ItemState, int] = field(default_factory=dict)

    def total(
        self, include_unknown: bool = True, states: frozenset[ItemState] | None = None
    ) -> int:
        def pick(counts: dict[ItemState, int]) -> int:
            return sum(n for s, n in counts.items() if states is None or s in states)

        return pick(self.known) + (pick(self.unknown) if include_unknown else 0)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The seed's get_statistics, over the whole queue."""

    pending: int
    downloading: int
    paused: int
    retrying: int
    completed: int
    failed: int
    permanent_failures: int
    total: int

    @classmethod
    def from_counts(cls, counts: StateCounts) -> QueueStats:
        def n(*states: ItemState) -> int:
            return counts.total(states=frozenset(states))

        S = ItemState
        return cls(
            pending=n(S.QUEUED, S.SENDING, S.CLIENT_UNAVAILABLE),
            downloading=n(S.DOWNLOADING, S.WARNING),
            paused=n(S.PAUSED),
            retrying=n(S.RETRYING),
            completed=n(S.COMPLETED),
            failed=n(S.RETRYING, S.FAILED),
            permanent_failures=n(S.FAILED),
            total=counts.total(),
        )


@dataclass(frozen=True, slots=True)
class NewBlocklistEntry:
    source_title: str
    date: datetime
    protocol: DownloadProtocol
    movie_id: int | None = None
    info_hash: str | None = None
    url_hash: str | None = None
    indexer: str | None = None
    message: str | None = None
    quality: QualityModel = UNKNOWN_QUALITY
    languages: tuple[Language, ...] = (UNKNOWN_LANGUAGE,)
    custom_formats: tuple[CustomFormatRef, ...] = ()

    @classmethod
    def from_item(cls, item: QueueItem, date: datetime, message: str | None) -> NewBlocklistEntry:
        return cls(
            source_title=item.title, date=date, protocol=item.protocol, movie_id=item.movie_id,
            info_hash=item.info_hash, url_hash=item.url_hash, indexer=item.indexer,
            message=message, quality=item.quality, languages=item.languages,
            custom_formats=item.custom_formats,
        )


@dataclass(frozen=True, slots=True)
class BlocklistEntry(NewBlocklistEntry):
    """A stored blocklist entry."""

    id: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """What happened to an item; written beside every state change."""

    event: str
    message: str | None = None
    recorded: bool = True  # False: a change that is not a transition (progress)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One stored history row: the release as it was when it happened."""

    item_id: int
    at: datetime
    event: str
    from_state: ItemState | None
    to_state: ItemState | None
    message: str | None = None
    id: int = 0
    source_title: str | None = None
    movie_id: int | None = None
    download_id: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A page of history, newest first unless `ascending`; every filter optional."""

    page: int = 1
    page_size: int = 10
    ascending: bool = False
    events: frozenset[str] | None = None
    download_id: str | None = None
    movie_ids: frozenset[int] | None = None
    item_id: int | None = None
    since: datetime | None = None

    @property
    def download_id_forms(self) -> tuple[str, ...]:
        """The stored spellings `download_id` matches: as given, lower and upper case
        (Radarr shows torrent hashes upper case; clients report them lower case)."""
        v = self.download_id
        return () if v is None else tuple(dict.fromkeys((v, v.lower(), v.upper())))
