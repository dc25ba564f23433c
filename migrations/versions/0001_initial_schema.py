"""Initial schema: queue items, their torrents and history, state counters, blocklist.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.db.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("queued", "sending", "downloading", "paused", "retrying", "clientUnavailable",
          "warning", "completed", "failed")
ACTIVE = "state NOT IN ('completed', 'failed')"
SORT_COLUMNS = ("added_at", "download_client_key", "ect_sort", "indexer_key", "languages_key",
                "sort_title", "protocol", "quality_rank", "size", "status_rank", "title",
                "movie_year")


def sort_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "queue_item",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("title", sort_text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("protocol", sa.SmallInteger(), nullable=False),
        sa.Column("download_url", sa.Text()),
        sa.Column("has_torrent_file", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("info_hash", sa.String(40)),
        sa.Column("url_hash", sa.String(64)),
        sa.Column("movie_id", sa.Integer()),
        sa.Column("movie_title", sa.Text()),
        sa.Column("movie_year", sa.Integer(), server_default="0", nullable=False),
        sa.Column("movie_tmdb_id", sa.Integer()),
        sa.Column("movie_imdb_id", sa.String(16)),
        sa.Column("movie_sort_title", sa.Text()),
        sa.Column("release_id", sa.String(200)),
        sa.Column("indexer", sa.String(200)),
        sa.Column("size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("size_left", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("progress", sa.Float(), server_default="0", nullable=False),
        sa.Column("download_speed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("upload_speed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("eta_seconds", sa.BigInteger()),
        sa.Column("ect_sort", UTCDateTime(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("status_messages", sa.Text()),
        sa.Column("error_message", sa.Text()),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("download_client", sa.String(200)),
        sa.Column("download_id", sa.String(200)),
        sa.Column("output_path", sa.Text()),
        sa.Column("category", sa.String(200)),
        sa.Column("seeders", sa.Integer()),
        sa.Column("leechers", sa.Integer()),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("completed_at", UTCDateTime()),
        sa.Column("quality", sa.Text(), nullable=False),
        sa.Column("quality_id", sa.Integer(), server_default="0", nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("language_ids", sa.String(200), server_default=",", nullable=False),
        sa.Column("custom_formats", sa.Text(), server_default="[]", nullable=False),
        sa.Column("custom_format_score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("download_client_key", sort_text(), server_default="", nullable=False),
        sa.Column("indexer_key", sort_text(), server_default="", nullable=False),
        sa.Column("languages_key", sort_text(), server_default="", nullable=False),
        sa.Column("sort_title", sort_text(), nullable=False),
        sa.Column("quality_rank", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status_rank", sa.SmallInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_queue_item_state", "queue_item", ["state"])
    op.create_index("ix_queue_item_movie_id", "queue_item", ["movie_id"])
    op.create_index("ix_queue_item_info_hash", "queue_item", ["info_hash"])
    op.create_index("ix_queue_item_url_hash", "queue_item", ["url_hash"])
    for column in ("info_hash", "url_hash"):
        where = sa.text(f"{column} IS NOT NULL AND {ACTIVE}")
        op.create_index(f"ux_queue_item_active_{column}", "queue_item", [column], unique=True,
                        sqlite_where=where, postgresql_where=where)
    op.create_index("ix_queue_item_sort_progress", "queue_item", ["progress", "id"])
    for column in SORT_COLUMNS:
        op.create_index(f"ix_queue_item_sort_{column}", "queue_item", [column, "progress", "id"])

    op.create_table(
        "queue_torrent",
        sa.Column("item_id", sa.Integer(),
                  sa.ForeignKey("queue_item.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )

    op.create_table(
        "queue_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(24)),
        sa.Column("to_state", sa.String(24)),
        sa.Column("message", sa.Text()),
    )
    op.create_index("ix_queue_history_item_id", "queue_history", ["item_id"])
    op.create_index("ix_queue_history_at", "queue_history", ["at"])

    counter = op.create_table(
        "queue_counter",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("has_movie", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_queue_counter_key", "queue_counter", ["state", "has_movie"])

    op.create_table(
        "blocklist",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("movie_id", sa.Integer()),
        sa.Column("source_title", sort_text(), nullable=False),
        sa.Column("title_key", sort_text(), nullable=False),
        sa.Column("info_hash", sa.String(40)),
        sa.Column("url_hash", sa.String(64)),
        sa.Column("protocol", sa.SmallInteger(), nullable=False),
        sa.Column("indexer", sa.String(200)),
        sa.Column("message", sa.Text()),
        sa.Column("date", UTCDateTime(), nullable=False),
        sa.Column("quality", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("custom_formats", sa.Text(), server_default="[]", nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_blocklist_info_hash", "blocklist", ["info_hash"])
    op.create_index("ix_blocklist_url_hash", "blocklist", ["url_hash"])
    op.create_index("ix_blocklist_title_key", "blocklist", ["title_key"])
    op.create_index("ix_blocklist_date", "blocklist", ["date", "id"])
    op.create_index("ix_blocklist_movie_id", "blocklist", ["movie_id"])

    if op.get_bind().dialect.name == "postgresql":
        _postgres_counters()
    else:
        op.bulk_insert(counter, [{"state": s, "has_movie": m, "n": 0}
                                 for s in STATES for m in (False, True)])
        _sqlite_counters()


def _sqlite_counters() -> None:
    """One row per (state, has_movie), kept by row triggers; SQLite has one writer, so
    there is no contention to avoid."""
    dec = ("UPDATE queue_counter SET n = n - 1 "
           "WHERE state = OLD.state AND has_movie = (OLD.movie_id IS NOT NULL);")
    inc = ("UPDATE queue_counter SET n = n + 1 "
           "WHERE state = NEW.state AND has_movie = (NEW.movie_id IS NOT NULL);")
    op.execute(f"CREATE TRIGGER queue_item_count_insert AFTER INSERT ON queue_item "
               f"BEGIN {inc} END")
    op.execute(f"CREATE TRIGGER queue_item_count_delete AFTER DELETE ON queue_item "
               f"BEGIN {dec} END")
    op.execute(
        "CREATE TRIGGER queue_item_count_update AFTER UPDATE OF state, movie_id ON queue_item "
        "WHEN OLD.state IS NOT NEW.state "
        "OR (OLD.movie_id IS NULL) <> (NEW.movie_id IS NULL) "
        f"BEGIN {dec} {inc} END"
    )


def _postgres_counters() -> None:
    """Statement triggers append signed deltas: concurrent writers never wait on, or
    deadlock over, a shared counter row. Readers sum; the repository folds."""
    op.execute("""
        CREATE FUNCTION queuarr_count_items() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO queue_counter (state, has_movie, n)
            SELECT state, movie_id IS NOT NULL, count(*) FROM new_rows GROUP BY 1, 2;
          ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO queue_counter (state, has_movie, n)
            SELECT state, movie_id IS NOT NULL, -count(*) FROM old_rows GROUP BY 1, 2;
          ELSE
            INSERT INTO queue_counter (state, has_movie, n)
            SELECT state, has_movie, sum(d) FROM (
              SELECT state, movie_id IS NOT NULL AS has_movie, -1 AS d FROM old_rows
              UNION ALL
              SELECT state, movie_id IS NOT NULL, 1 FROM new_rows
            ) AS delta GROUP BY 1, 2 HAVING sum(d) <> 0;
          END IF;
          RETURN NULL;
        END $$
    """)
    for op_name, ref in (("INSERT", "NEW TABLE AS new_rows"),
                         ("DELETE", "OLD TABLE AS old_rows"),
                         ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")):
        op.execute(
            f"CREATE TRIGGER queue_item_count_{op_name.lower()} AFTER {op_name} ON queue_item "
            f"REFERENCING {ref} FOR EACH STATEMENT EXECUTE FUNCTION queuarr_count_items()"
        )
    # The item table churns with every state change; vacuum it early.
    op.execute("ALTER TABLE queue_item SET (autovacuum_vacuum_scale_factor = 0.02, "
               "autovacuum_analyze_scale_factor = 0.02)")
    op.execute("ALTER TABLE queue_counter SET (autovacuum_vacuum_scale_factor = 0.0, "
               "autovacuum_vacuum_threshold = 1000)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS queue_item_count_{name} ON queue_item")
        op.execute("DROP FUNCTION IF EXISTS queuarr_count_items()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS queue_item_count_{name}")
    op.drop_table("blocklist")
    op.drop_table("queue_counter")
    op.drop_table("queue_history")
    op.drop_table("queue_torrent")
    op.drop_table("queue_item")
