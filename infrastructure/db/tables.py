"""SQLModel tables. Repositories map rows to core values explicitly (see mapping.py);
the hot paths use the underlying Core tables (`Model.__table__`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from infrastructure.db.types import UTCDateTime, sort_text

# Items in these states hold their info hash / URL hash exclusively.
ACTIVE_WHERE = "state NOT IN ('completed', 'failed')"

# Items the dispatcher may claim (retrying/clientUnavailable once next_attempt_at passed).
DUE_WHERE = "state IN ('queued', 'retrying', 'clientUnavailable')"

# Every Radarr sort column gets an index ending in (progress, id): Radarr breaks ties by
# progress, and id makes the order total so that pages never overlap.
SORT_INDEX_COLUMNS = (
    "added_at", "download_client_key", "ect_sort", "indexer_key", "languages_key",
    "sort_title", "protocol", "quality_rank", "size", "status_rank", "title", "movie_year",
)


def _col(type_: object, nullable: bool = True, **kw: object) -> Column:  # type: ignore[type-arg]
    return Column(type_, nullable=nullable, **kw)


class QueueItemRow(SQLModel, table=True):
    __tablename__ = "queue_item"
    __table_args__ = (
        Index("ix_queue_item_state", "state"),
        Index("ix_queue_item_movie_id", "movie_id"),
        Index("ix_queue_item_info_hash_state", "info_hash", "state"),
        Index("ix_queue_item_url_hash_state", "url_hash", "state"),
        Index("ux_queue_item_active_info_hash", "info_hash", unique=True,
              sqlite_where=text(f"info_hash IS NOT NULL AND {ACTIVE_WHERE}"),
              postgresql_where=text(f"info_hash IS NOT NULL AND {ACTIVE_WHERE}")),
        Index("ux_queue_item_active_url_hash", "url_hash", unique=True,
              sqlite_where=text(f"url_hash IS NOT NULL AND {ACTIVE_WHERE}"),
              postgresql_where=text(f"url_hash IS NOT NULL AND {ACTIVE_WHERE}")),
        Index("ix_queue_item_sort_progress", "progress", "id"),
        *(Index(f"ix_queue_item_sort_{c}", c, "progress", "id") for c in SORT_INDEX_COLUMNS),
        # The dispatcher's claim: waiting items by priority, then age.
        Index("ix_queue_item_due", "priority", "added_at", "id",
              sqlite_where=text(DUE_WHERE), postgresql_where=text(DUE_WHERE)),
        Index("ix_queue_item_lease", "lease_expires_at",
              sqlite_where=text("state = 'sending'"), postgresql_where=text("state = 'sending'")),
        Index("ix_queue_item_group_id", "group_id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    version: int = Field(sa_column=_col(Integer, False, server_default="1"))
    state: str = Field(sa_column=_col(String(24), False))
    title: str = Field(sa_column=_col(sort_text(), False))
    source: str = Field(sa_column=_col(String(16), False))
    protocol: int = Field(sa_column=_col(SmallInteger, False))
    download_url: str | None = Field(default=None, sa_column=_col(Text))
    has_torrent_file: bool = Field(sa_column=_col(Boolean, False, server_default=false()))
    info_hash: str | None = Field(default=None, sa_column=_col(String(40)))
    url_hash: str | None = Field(default=None, sa_column=_col(String(64)))
    movie_id: int | None = Field(default=None, sa_column=_col(Integer))
    movie_title: str | None = Field(default=None, sa_column=_col(Text))
    movie_year: int = Field(sa_column=_col(Integer, False, server_default="0"))
    movie_tmdb_id: int | None = Field(default=None, sa_column=_col(Integer))
    movie_imdb_id: str | None = Field(default=None, sa_column=_col(String(16)))
    movie_sort_title: str | None = Field(default=None, sa_column=_col(Text))
    release_id: str | None = Field(default=None, sa_column=_col(String(200)))
    indexer: str | None = Field(default=None, sa_column=_col(String(200)))
    size: int = Field(sa_column=_col(BigInteger, False, server_default="0"))
    size_left: int = Field(sa_column=_col(BigInteger, False, server_default="0"))
    progress: float = Field(sa_column=_col(Float, False, server_default="0"))
    download_speed: int = Field(sa_column=_col(BigInteger, False, server_default="0"))
    upload_speed: int = Field(sa_column=_col(BigInteger, False, server_default="0"))
    eta_seconds: int | None = Field(default=None, sa_column=_col(BigInteger))
    ect_sort: datetime = Field(sa_column=_col(UTCDateTime(), False))
    priority: int = Field(sa_column=_col(SmallInteger, False, server_default="1"))
    status_messages: str | None = Field(default=None, sa_column=_col(Text))
    error_message: str | None = Field(default=None, sa_column=_col(Text))
    attempts: int = Field(sa_column=_col(Integer, False, server_default="0"))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_col(UTCDateTime()))
    download_client: str | None = Field(default=None, sa_column=_col(String(200)))
    download_id: str | None = Field(default=None, sa_column=_col(String(200)))
    output_path: str | None = Field(default=None, sa_column=_col(Text))
    category: str | None = Field(default=None, sa_column=_col(String(200)))
    seeders: int | None = Field(default=None, sa_column=_col(Integer))
    leechers: int | None = Field(default=None, sa_column=_col(Integer))
    added_at: datetime = Field(sa_column=_col(UTCDateTime(), False))
    updated_at: datetime = Field(sa_column=_col(UTCDateTime(), False))
    started_at: datetime | None = Field(default=None, sa_column=_col(UTCDateTime()))
    completed_at: datetime | None = Field(default=None, sa_column=_col(UTCDateTime()))
    quality: str = Field(sa_column=_col(Text, False))
    quality_id: int = Field(sa_column=_col(Integer, False, server_default="0"))
    languages: str = Field(sa_column=_col(Text, False))
    language_ids: str = Field(sa_column=_col(String(200), False, server_default=","))
    custom_formats: str = Field(sa_column=_col(Text, False, server_default="[]"))
    custom_format_score: int = Field(sa_column=_col(Integer, False, server_default="0"))
    lease_owner: str | None = Field(default=None, sa_column=_col(String(100)))
    lease_expires_at: datetime | None = Field(default=None, sa_column=_col(UTCDateTime()))
    rescues: int = Field(sa_column=_col(Integer, False, server_default="0"))
    progress_at: datetime | None = Field(default=None, sa_column=_col(UTCDateTime()))
    retry_policy: str | None = Field(default=None, sa_column=_col(Text))  # JSON, or default
    # What the client says of the download, in Radarr's words (DownloadItemStatus, message).
    client_status: str | None = Field(default=None, sa_column=_col(String(16)))
    client_message: str | None = Field(default=None, sa_column=_col(Text))
    tags: str = Field(sa_column=_col(Text, False, server_default="[]"))  # JSON list of tag ids
    # Who handed it in through a chat (Telegram ids exceed int32); its sub-directory.
    origin_chat: int | None = Field(default=None, sa_column=_col(BigInteger))
    origin_user: int | None = Field(default=None, sa_column=_col(BigInteger))
    save_under: str | None = Field(default=None, sa_column=_col(String(200)))
    group_id: int | None = Field(default=None, sa_column=_col(Integer))  # item_group.id
    # Sort columns, derived from the fields above by core.listing.sort_values.
    download_client_key: str = Field(sa_column=_col(sort_text(), False, server_default=""))
    indexer_key: str = Field(sa_column=_col(sort_text(), False, server_default=""))
    languages_key: str = Field(sa_column=_col(sort_text(), False, server_default=""))
    sort_title: str = Field(sa_column=_col(sort_text(), False))
    quality_rank: int = Field(sa_column=_col(Integer, False, server_default="0"))
    status_rank: int = Field(sa_column=_col(SmallInteger, False))


class ItemGroupRow(SQLModel, table=True):
    """Items grabbed together from one link (a playlist): core.domain.ItemGroup."""

    __tablename__ = "item_group"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    title: str = Field(sa_column=_col(Text, False))
    url: str | None = Field(default=None, sa_column=_col(Text))
    added_at: datetime = Field(sa_column=_col(UTCDateTime(), False))


class QueueTorrentRow(SQLModel, table=True):
    __tablename__ = "queue_torrent"

    item_id: int = Field(sa_column=Column(
        Integer, ForeignKey("queue_item.id", ondelete="CASCADE"), primary_key=True
    ))
    data: bytes = Field(sa_column=_col(LargeBinary, False))


class QueueHistoryRow(SQLModel, table=True):
    __tablename__ = "queue_history"
    __table_args__ = (Index("ix_queue_history_item_id", "item_id"),
                      Index("ix_queue_history_at", "at"),
                      Index("ix_queue_history_download_id", "download_id"),
                      Index("ix_queue_history_movie_id", "movie_id"))

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(
        Integer, "sqlite"), primary_key=True, autoincrement=True))
    item_id: int = Field(sa_column=_col(Integer, False))
    at: datetime = Field(sa_column=_col(UTCDateTime(), False))
    event: str = Field(sa_column=_col(String(40), False))
    from_state: str | None = Field(default=None, sa_column=_col(String(24)))
    to_state: str | None = Field(default=None, sa_column=_col(String(24)))
    message: str | None = Field(default=None, sa_column=_col(Text))
    # The release as it was: history outlives the item.
    source_title: str | None = Field(default=None, sa_column=_col(Text))
    movie_id: int | None = Field(default=None, sa_column=_col(Integer))
    download_id: str | None = Field(default=None, sa_column=_col(String(200)))


class QueueCounterRow(SQLModel, table=True):
    """Items per (state, known movie). SQLite keeps one row per key, updated by
    triggers; Postgres appends signed deltas (no row contention, no deadlocks) that
    reads sum and the repository folds from time to time."""

    __tablename__ = "queue_counter"
    __table_args__ = (Index("ix_queue_counter_key", "state", "has_movie"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(
        Integer, "sqlite"), primary_key=True, autoincrement=True))
    state: str = Field(sa_column=_col(String(24), False))
    has_movie: bool = Field(sa_column=_col(Boolean, False))
    n: int = Field(sa_column=_col(BigInteger, False))


class BlocklistRow(SQLModel, table=True):
    __tablename__ = "blocklist"
    __table_args__ = (
        Index("ix_blocklist_info_hash", "info_hash"),
        Index("ix_blocklist_url_hash", "url_hash"),
        Index("ix_blocklist_title_key", "title_key"),
        Index("ix_blocklist_date", "date", "id"),
        Index("ix_blocklist_movie_id", "movie_id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    movie_id: int | None = Field(default=None, sa_column=_col(Integer))
    source_title: str = Field(sa_column=_col(sort_text(), False))
    title_key: str = Field(sa_column=_col(sort_text(), False))
    info_hash: str | None = Field(default=None, sa_column=_col(String(40)))
    url_hash: str | None = Field(default=None, sa_column=_col(String(64)))
    protocol: int = Field(sa_column=_col(SmallInteger, False))
    indexer: str | None = Field(default=None, sa_column=_col(String(200)))
    message: str | None = Field(default=None, sa_column=_col(Text))
    date: datetime = Field(sa_column=_col(UTCDateTime(), False))
    quality: str = Field(sa_column=_col(Text, False))
    languages: str = Field(sa_column=_col(Text, False))
    custom_formats: str = Field(sa_column=_col(Text, False, server_default="[]"))


class DownloadClientRow(SQLModel, table=True):
    """A configured download client (Radarr's DownloadClientResource, stored)."""

    __tablename__ = "download_client"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    name: str = Field(sa_column=_col(String(100), False, unique=True))
    implementation: str = Field(sa_column=_col(String(40), False))
    enable: bool = Field(sa_column=_col(Boolean, False))
    priority: int = Field(sa_column=_col(Integer, False))
    fields: str = Field(sa_column=_col(Text, False))  # JSON object, secrets included
    source: str = Field(sa_column=_col(String(16), False))  # api, settings or managed
    remove_completed: bool = Field(sa_column=_col(Boolean, False))
    remove_failed: bool = Field(sa_column=_col(Boolean, False))
    tags: str = Field(sa_column=_col(Text, False, server_default="[]"))
    updated_at: datetime = Field(sa_column=_col(UTCDateTime(), False))


class ProcessorSwitchRow(SQLModel, table=True):
    """A switch every process reads: `paused` (PUT /api/v3/queue/pause)."""

    __tablename__ = "processor_switch"

    name: str = Field(sa_column=Column(String(40), primary_key=True))
    value: str = Field(sa_column=_col(Text, False))
    updated_at: datetime = Field(sa_column=_col(UTCDateTime(), False))


class CustomFormatRow(SQLModel, table=True):
    """A custom format; its specifications as JSON (infrastructure/db/release_mapping.py)."""

    __tablename__ = "custom_format"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    name: str = Field(sa_column=_col(String(200), False, unique=True))
    body: str = Field(sa_column=_col(Text, False))


class QualityProfileRow(SQLModel, table=True):
    """A quality profile; its qualities and scores as JSON."""

    __tablename__ = "quality_profile"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    name: str = Field(sa_column=_col(String(200), False, unique=True))
    body: str = Field(sa_column=_col(Text, False))


class NotificationRow(SQLModel, table=True):
    """A notification target (webhook); its URL, secret and events as JSON."""

    __tablename__ = "notification"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    name: str = Field(sa_column=_col(String(200), False, unique=True))
    body: str = Field(sa_column=_col(Text, False))


class ReleaseCandidateRow(SQLModel, table=True):
    """A release kept for a movie: grabbed (item_id) or the next best in waiting."""

    __tablename__ = "release_candidate"
    __table_args__ = (
        Index("ux_release_candidate_key", "movie_key", "release_key", unique=True),
        Index("ix_release_candidate_item_id", "item_id"),
        Index("ix_release_candidate_added_at", "added_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    movie_key: str = Field(sa_column=_col(Text, False))
    release_key: str = Field(sa_column=_col(Text, False))
    release: str = Field(sa_column=_col(Text, False))  # JSON: core.release.Release
    profile_id: int | None = Field(default=None, sa_column=_col(Integer))
    item_id: int | None = Field(default=None, sa_column=_col(Integer))
    added_at: datetime = Field(sa_column=_col(UTCDateTime(), False))


class TagRow(SQLModel, table=True):
    """Radarr's tag: an id and a lower-case label."""

    __tablename__ = "tag"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                          autoincrement=True))
    label: str = Field(sa_column=_col(String(100), False, unique=True))


class QualityDefinitionRow(SQLModel, table=True):
    """Radarr's size limits for one quality (MB per minute of runtime); id is the quality's."""

    __tablename__ = "quality_definition"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    title: str = Field(sa_column=_col(String(200), False))
    min_size: float | None = Field(default=None, sa_column=_col(Float))
    max_size: float | None = Field(default=None, sa_column=_col(Float))
    preferred_size: float | None = Field(default=None, sa_column=_col(Float))


queue_item: Table = QueueItemRow.__table__  # type: ignore[attr-defined]
queue_torrent: Table = QueueTorrentRow.__table__  # type: ignore[attr-defined]
item_group: Table = ItemGroupRow.__table__  # type: ignore[attr-defined]
queue_history: Table = QueueHistoryRow.__table__  # type: ignore[attr-defined]
queue_counter: Table = QueueCounterRow.__table__  # type: ignore[attr-defined]
blocklist: Table = BlocklistRow.__table__  # type: ignore[attr-defined]
download_client: Table = DownloadClientRow.__table__  # type: ignore[attr-defined]
processor_switch: Table = ProcessorSwitchRow.__table__  # type: ignore[attr-defined]
custom_format: Table = CustomFormatRow.__table__  # type: ignore[attr-defined]
quality_profile: Table = QualityProfileRow.__table__  # type: ignore[attr-defined]
release_candidate: Table = ReleaseCandidateRow.__table__  # type: ignore[attr-defined]
notification: Table = NotificationRow.__table__  # type: ignore[attr-defined]
tag: Table = TagRow.__table__  # type: ignore[attr-defined]
quality_definition: Table = QualityDefinitionRow.__table__  # type: ignore[attr-defined]
metadata = SQLModel.metadata
