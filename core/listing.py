"""Listing the queue: Radarr's sort keys, filters and paging rules, and the sort values
every repository orders by (one definition, so memory and SQL agree)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from core.domain import DownloadProtocol, ItemState, QueueItem
from core.quality import quality_rank


class SortDirection(StrEnum):
    DEFAULT = "default"
    ASCENDING = "ascending"
    DESCENDING = "descending"


# Radarr's allow-list (QueueController), in its canonical spelling.
SORT_KEYS: tuple[str, ...] = (
    "added", "downloadClient", "estimatedCompletionTime", "indexer", "languages",
    "movies.sortTitle", "progress", "protocol", "quality", "size", "status",
    "timeleft", "title", "year",
)
_SORT_KEYS_FOLDED = {k.lower(): k for k in SORT_KEYS}
DEFAULT_SORT_KEY = "timeleft"

# The column each sort key orders by. timeleft and estimatedCompletionTime share one:
# timeleft = estimatedCompletionTime - now, so both order the same way.
SORT_COLUMNS: dict[str, str] = {
    "added": "added_at",
    "downloadClient": "download_client_key",
    "estimatedCompletionTime": "ect_sort",
    "indexer": "indexer_key",
    "languages": "languages_key",
    "movies.sortTitle": "sort_title",
    "progress": "progress",
    "protocol": "protocol",
    "quality": "quality_rank",
    "size": "size",
    "status": "status_rank",
    "timeleft": "ect_sort",
    "title": "title",
    "year": "movie_year",
}

# Stand-in for an unknown completion time: sorts after every real one ascending.
NO_ETA = datetime(9999, 12, 31, tzinfo=UTC)


class RadarrStatus(StrEnum):
    UNKNOWN = "unknown"
    QUEUED = "queued"
    PAUSED = "paused"
    DOWNLOADING = "downloading"
    COMPLETED = "completed"
    FAILED = "failed"
    WARNING = "warning"
    DELAY = "delay"
    DOWNLOAD_CLIENT_UNAVAILABLE = "downloadClientUnavailable"
    FALLBACK = "fallback"


S = ItemState
RADARR_STATUS: dict[ItemState, RadarrStatus] = {
    S.QUEUED: RadarrStatus.QUEUED,
    S.SENDING: RadarrStatus.QUEUED,
    S.DOWNLOADING: RadarrStatus.DOWNLOADING,
    S.PAUSED: RadarrStatus.PAUSED,
    S.RETRYING: RadarrStatus.DELAY,
    S.CLIENT_UNAVAILABLE: RadarrStatus.DOWNLOAD_CLIENT_UNAVAILABLE,
    S.WARNING: RadarrStatus.WARNING,
    S.COMPLETED: RadarrStatus.COMPLETED,
    S.FAILED: RadarrStatus.FAILED,
}
STATES_FOR_STATUS: dict[RadarrStatus, frozenset[ItemState]] = {
    status: frozenset(s for s, st in RADARR_STATUS.items() if st is status)
    for status in RadarrStatus
}
# While the client has the download, `status` is the client's view of it (Radarr's
# DownloadItemStatus, as Radarr's adapter for that client words it), when there is one.
CLIENT_VIEW_STATES = frozenset({S.DOWNLOADING, S.WARNING})
# Statuses a client's view can show (DownloadItemStatus's values); the others follow
# from the item's state alone, so the per-state counters can count them.
CLIENT_VIEW_STATUSES = frozenset({
    RadarrStatus.QUEUED, RadarrStatus.PAUSED, RadarrStatus.DOWNLOADING,
    RadarrStatus.COMPLETED, RadarrStatus.FAILED, RadarrStatus.WARNING,
})

# Radarr sorts status by the PascalCase enum name, as a string.
_PASCAL = {st: st.value[0].upper() + st.value[1:] for st in RadarrStatus}
RADARR_STATUS_RANK: dict[RadarrStatus, int] = {
    status: sorted(_PASCAL.values()).index(_PASCAL[status]) for status in RadarrStatus
}
# The rank of what a state shows when the client says nothing.
STATUS_RANK: dict[ItemState, int] = {
    state: RADARR_STATUS_RANK[status] for state, status in RADARR_STATUS.items()
}


def shown_status(item: QueueItem) -> RadarrStatus:
    """The queue resource's `status`: the client's view while the client has the
    download and says something, else the item's state in Radarr's words."""
    if item.client_status is not None and item.state in CLIENT_VIEW_STATES:
        return RadarrStatus(item.client_status)
    return RADARR_STATUS[item.state]


def resolve_sort_key(raw: str | None) -> tuple[str, str]:
    """(key to echo, canonical key). An allowed key is echoed as sent; anything else
    becomes `timeleft`, as Radarr does."""
    if raw is not None and raw.lower() in _SORT_KEYS_FOLDED:
        return raw, _SORT_KEYS_FOLDED[raw.lower()]
    return DEFAULT_SORT_KEY, DEFAULT_SORT_KEY


def resolve_direction(raw: SortDirection | None) -> SortDirection:
    """Omitted means descending; `default` means ascending (Radarr's PagingResource)."""
    if raw is None:
        return SortDirection.DESCENDING
    if raw is SortDirection.DEFAULT:
        return SortDirection.ASCENDING
    return raw


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower case for ASCII letters only, as SQLite's lower() does."""
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    include_unknown: bool = False
    movie_ids: frozenset[int] | None = None
    protocol: DownloadProtocol | None = None
    states: frozenset[ItemState] | None = None
    quality_ids: frozenset[int] | None = None
    language_ids: frozenset[int] | None = None
    statuses: frozenset[RadarrStatus] | None = None  # the shown status (shown_status)
    # Queuarr's own: items whose title contains this, ignoring the case of ASCII letters
    # (what SQLite's lower() folds; Postgres's lower() folds other letters too).
    search: str | None = None

    @property
    def counter_only(self) -> bool:
        """True when the counters alone can give the total: they count states, so not
        for a status a client's view can show."""
        return (self.movie_ids is None and self.protocol is None and self.search is None
                and self.quality_ids is None and self.language_ids is None
                and not (self.statuses and self.statuses & CLIENT_VIEW_STATUSES))

    @property
    def counter_states(self) -> frozenset[ItemState] | None:
        """The states the counters add up for a counter_only filter."""
        if self.statuses is None:
            return self.states
        by_status: frozenset[ItemState] = frozenset().union(
            *(STATES_FOR_STATUS[s] for s in self.statuses))
        return by_status if self.states is None else self.states & by_status

    def matches(self, item: QueueItem) -> bool:
        if item.movie_id is None and not self.include_unknown:
            return False
        if self.movie_ids is not None and item.movie_id not in self.movie_ids:
            return False
        if self.protocol is not None and item.protocol is not self.protocol:
            return False
        if self.states is not None and item.state not in self.states:
            return False
        if self.statuses is not None and shown_status(item) not in self.statuses:
            return False
        if self.quality_ids is not None and item.quality.quality.id not in self.quality_ids:
            return False
        if self.search is not None and ascii_lower(self.search) not in ascii_lower(item.title):
            return False
        return self.language_ids is None or any(
            lang.id in self.language_ids for lang in item.languages
        )

    @classmethod
    def for_statuses(cls, statuses: Sequence[RadarrStatus]) -> frozenset[RadarrStatus] | None:
        """The `statuses` filter for Radarr's `status=` values (none: no filter)."""
        return frozenset(statuses) if statuses else None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A resolved page request: canonical key, concrete direction, offset and limit."""

    sort_key: str = DEFAULT_SORT_KEY
    descending: bool = True
    offset: int = 0
    limit: int = 10
    filter: QueueFilter = field(default_factory=QueueFilter)


@dataclass(frozen=True, slots=True)
class QueuePage:
    page: int
    page_size: int
    sort_key: str
    sort_direction: SortDirection
    total_records: int
    records: list[QueueItem]


# Radarr's pending states: their timeleft counts down to the next attempt.
PENDING_STATES = frozenset({ItemState.RETRYING, ItemState.CLIENT_UNAVAILABLE})


def completion_time(item: QueueItem) -> datetime | None:
    """Radarr's estimatedCompletionTime: the next attempt for a pending (delayed) item,
    else the client's estimate."""
    if item.state in PENDING_STATES and item.next_attempt_at is not None:
        return item.next_attempt_at
    return item.estimated_completion_at


def sort_values(item: QueueItem) -> dict[str, object]:
    """The stored sort columns of an item, derived from its fields."""
    movie = item.movie
    sort_title = (movie.sort_title or movie.title) if movie else None
    return {
        "added_at": item.added_at,
        "download_client_key": (item.download_client or "").lower(),
        "ect_sort": completion_time(item) or NO_ETA,
        "indexer_key": (item.indexer or "").lower(),
        "languages_key": ",".join(lang.name for lang in item.languages).lower(),
        "sort_title": (sort_title or item.title).lower(),
        "progress": item.progress,
        "protocol": int(item.protocol),
        "quality_rank": quality_rank(item.quality),
        "size": item.size,
        "status_rank": RADARR_STATUS_RANK[shown_status(item)],
        "title": item.title,
        "movie_year": (movie.year if movie and movie.year else 0),
    }


def page_window(page: int, page_size: int) -> tuple[int, int]:
    """(offset, limit) for a 1-based page; page <= 0 behaves like page 1."""
    return (max(page, 1) - 1) * page_size, page_size


def page_past_end(page: int, page_size: int, total: int) -> int:
    """Radarr's page for an empty page beyond the end: max(total // pageSize, 1)
    (integer division, so the real last page is missed when it is partial)."""
    return max(total // page_size, 1)
