"""The tables, as SQLAlchemy Core. Repositories map rows to core values explicitly (see
mapping.py); there are no ORM classes: plain tables cost a fraction of the start-up time
and memory of declarative models (issue 18)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.compiler import DDLCompiler

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

metadata = MetaData()


def _partial(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """A partial index, its predicate kept in `info["where"]` and rendered on both engines
    by `_create_partial_index`. Not `postgresql_where=`: a dialect keyword imports its
    dialect to check it, and a server on SQLite has no use for Postgres's (issue 18).
    The migrations create these indexes themselves; this is the declaration they match."""
    return Index(name, *columns, unique=unique, info={"where": text(where)})


@compiles(CreateIndex, "sqlite", "postgresql")
def _create_partial_index(create: CreateIndex, compiler: DDLCompiler, **kw: Any) -> str:
    sql: str = compiler.visit_create_index(create, **kw)  # type: ignore[no-untyped-call]
    where = create.element.info.get("where")
    if where is None:
        return sql
    predicate = compiler.sql_compiler.process(where, include_table=False, literal_binds=True)
    return f"{sql} WHERE {predicate}"


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _big_id() -> Column[int]:
    """64-bit on Postgres; SQLite's INTEGER PRIMARY KEY is the 64-bit rowid already."""
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                  autoincrement=True)


queue_item = Table(
    "queue_item", metadata,
    _id(),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("state", String(24), nullable=False),
    Column("title", sort_text(), nullable=False),
    Column("source", String(16), nullable=False),
    Column("protocol", SmallInteger, nullable=False),
    Column("download_url", Text),
    Column("has_torrent_file", Boolean, nullable=False, server_default=false()),
    Column("info_hash", String(40)),
    Column("url_hash", String(64)),
    Column("movie_id", Integer),
    Column("movie_title", Text),
    Column("movie_year", Integer, nullable=False, server_default="0"),
    Column("movie_tmdb_id", Integer),
    Column("movie_imdb_id", String(16)),
    Column("movie_sort_title", Text),
    Column("release_id", String(200)),
    Column("indexer", String(200)),
    Column("size", BigInteger, nullable=False, server_default="0"),
    Column("size_left", BigInteger, nullable=False, server_default="0"),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("download_speed", BigInteger, nullable=False, server_default="0"),
    Column("upload_speed", BigInteger, nullable=False, server_default="0"),
    Column("eta_seconds", BigInteger),
    Column("ect_sort", UTCDateTime(), nullable=False),
    Column("priority", SmallInteger, nullable=False, server_default="1"),
    Column("status_messages", Text),
    Column("error_message", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime()),
    Column("download_client", String(200)),
    Column("download_id", String(200)),
    Column("output_path", Text),
    Column("category", String(200)),
    Column("seeders", Integer),
    Column("leechers", Integer),
    Column("added_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("completed_at", UTCDateTime()),
    Column("quality", Text, nullable=False),
    Column("quality_id", Integer, nullable=False, server_default="0"),
    Column("languages", Text, nullable=False),
    Column("language_ids", String(200), nullable=False, server_default=","),
    Column("custom_formats", Text, nullable=False, server_default="[]"),
    Column("custom_format_score", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UTCDateTime()),
    Column("rescues", Integer, nullable=False, server_default="0"),
    Column("progress_at", UTCDateTime()),
    Column("retry_policy", Text),  # JSON, or the default policy
    # What the client says of the download, in Radarr's words (DownloadItemStatus, message).
    Column("client_status", String(16)),
    Column("client_message", Text),
    Column("tags", Text, nullable=False, server_default="[]"),  # JSON list of tag ids
    # Who handed it in through a chat (Telegram ids exceed int32); its sub-directory.
    Column("origin_chat", BigInteger),
    Column("origin_user", BigInteger),
    Column("save_under", String(200)),
    Column("group_id", Integer),  # item_group.id
    # Sort columns, derived from the fields above by core.listing.sort_values.
    Column("download_client_key", sort_text(), nullable=False, server_default=""),
    Column("indexer_key", sort_text(), nullable=False, server_default=""),
    Column("languages_key", sort_text(), nullable=False, server_default=""),
    Column("sort_title", sort_text(), nullable=False),
    Column("quality_rank", Integer, nullable=False, server_default="0"),
    Column("status_rank", SmallInteger, nullable=False),
    Index("ix_queue_item_state", "state"),
    Index("ix_queue_item_movie_id", "movie_id"),
    Index("ix_queue_item_info_hash_state", "info_hash", "state"),
    Index("ix_queue_item_url_hash_state", "url_hash", "state"),
    _partial("ux_queue_item_active_info_hash", "info_hash", unique=True,
             where=f"info_hash IS NOT NULL AND {ACTIVE_WHERE}"),
    _partial("ux_queue_item_active_url_hash", "url_hash", unique=True,
             where=f"url_hash IS NOT NULL AND {ACTIVE_WHERE}"),
    Index("ix_queue_item_sort_progress", "progress", "id"),
    *(Index(f"ix_queue_item_sort_{c}", c, "progress", "id") for c in SORT_INDEX_COLUMNS),
    # The dispatcher's claim: waiting items by priority, then age.
    _partial("ix_queue_item_due", "priority", "added_at", "id", where=DUE_WHERE),
    _partial("ix_queue_item_lease", "lease_expires_at", where="state = 'sending'"),
    Index("ix_queue_item_group_id", "group_id"),
    sqlite_autoincrement=True,
)

# Items grabbed together from one link (a playlist): core.domain.ItemGroup.
item_group = Table(
    "item_group", metadata,
    _id(),
    Column("title", Text, nullable=False),
    Column("url", Text),
    Column("added_at", UTCDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

queue_torrent = Table(
    "queue_torrent", metadata,
    Column("item_id", Integer, ForeignKey("queue_item.id", ondelete="CASCADE"),
           primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

queue_history = Table(
    "queue_history", metadata,
    _big_id(),
    Column("item_id", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("event", String(40), nullable=False),
    Column("from_state", String(24)),
    Column("to_state", String(24)),
    Column("message", Text),
    # The release as it was: history outlives the item.
    Column("source_title", Text),
    Column("movie_id", Integer),
    Column("download_id", String(200)),
    Index("ix_queue_history_item_id", "item_id"),
    Index("ix_queue_history_at", "at"),
    Index("ix_queue_history_download_id", "download_id"),
    Index("ix_queue_history_movie_id", "movie_id"),
)

# Items per (state, known movie). SQLite keeps one row per key, updated by triggers;
# Postgres appends signed deltas (no row contention, no deadlocks) that reads sum and
# the repository folds from time to time.
queue_counter = Table(
    "queue_counter", metadata,
    _big_id(),
    Column("state", String(24), nullable=False),
    Column("has_movie", Boolean, nullable=False),
    Column("n", BigInteger, nullable=False),
    Index("ix_queue_counter_key", "state", "has_movie"),
)

blocklist = Table(
    "blocklist", metadata,
    _id(),
    Column("movie_id", Integer),
    Column("source_title", sort_text(), nullable=False),
    Column("title_key", sort_text(), nullable=False),
    Column("info_hash", String(40)),
    Column("url_hash", String(64)),
    Column("protocol", SmallInteger, nullable=False),
    Column("indexer", String(200)),
    Column("message", Text),
    Column("date", UTCDateTime(), nullable=False),
    Column("quality", Text, nullable=False),
    Column("languages", Text, nullable=False),
    Column("custom_formats", Text, nullable=False, server_default="[]"),
    Index("ix_blocklist_info_hash", "info_hash"),
    Index("ix_blocklist_url_hash", "url_hash"),
    Index("ix_blocklist_title_key", "title_key"),
    Index("ix_blocklist_date", "date", "id"),
    Index("ix_blocklist_movie_id", "movie_id"),
    sqlite_autoincrement=True,
)

# A configured download client (Radarr's DownloadClientResource, stored).
download_client = Table(
    "download_client", metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("implementation", String(40), nullable=False),
    Column("enable", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("fields", Text, nullable=False),  # JSON object, secrets included
    Column("source", String(16), nullable=False),  # api, settings or managed
    Column("remove_completed", Boolean, nullable=False),
    Column("remove_failed", Boolean, nullable=False),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("updated_at", UTCDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

# A switch every process reads: `paused` (PUT /api/v3/queue/pause).
processor_switch = Table(
    "processor_switch", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


def _named_body(name: str) -> Table:
    """A table of named things kept as one JSON body each (formats, profiles, targets)."""
    return Table(
        name, metadata,
        _id(),
        Column("name", String(200), nullable=False, unique=True),
        Column("body", Text, nullable=False),
        sqlite_autoincrement=True,
    )


# A custom format; its specifications as JSON (infrastructure/db/release_mapping.py).
custom_format = _named_body("custom_format")

# A quality profile; its qualities and scores as JSON.
quality_profile = _named_body("quality_profile")

# A notification target (webhook); its URL, secret and events as JSON.
notification = _named_body("notification")

# A release kept for a movie: grabbed (item_id) or the next best in waiting.
release_candidate = Table(
    "release_candidate", metadata,
    _id(),
    Column("movie_key", Text, nullable=False),
    Column("release_key", Text, nullable=False),
    Column("release", Text, nullable=False),  # JSON: core.release.Release
    Column("profile_id", Integer),
    Column("item_id", Integer),
    Column("added_at", UTCDateTime(), nullable=False),
    Index("ux_release_candidate_key", "movie_key", "release_key", unique=True),
    Index("ix_release_candidate_item_id", "item_id"),
    Index("ix_release_candidate_added_at", "added_at"),
    sqlite_autoincrement=True,
)

# Radarr's tag: an id and a lower-case label.
tag = Table(
    "tag", metadata,
    _id(),
    Column("label", String(100), nullable=False, unique=True),
    sqlite_autoincrement=True,
)

# Radarr's size limits for one quality (MB per minute of runtime); id is the quality's.
quality_definition = Table(
    "quality_definition", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("title", String(200), nullable=False),
    Column("min_size", Float),
    Column("max_size", Float),
    Column("preferred_size", Float),
)
