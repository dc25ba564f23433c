"""History rows that stand on their own (the release title, movie and download id at the
time, so /api/v3/history reads them after the item is gone); an item's own retry policy;
processor switches shared by every process (pause-all).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.db.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queue_history") as batch:
        batch.add_column(sa.Column("source_title", sa.Text()))
        batch.add_column(sa.Column("movie_id", sa.Integer()))
        batch.add_column(sa.Column("download_id", sa.String(200)))
    op.create_index("ix_queue_history_download_id", "queue_history", ["download_id"])
    op.create_index("ix_queue_history_movie_id", "queue_history", ["movie_id"])
    with op.batch_alter_table("queue_item") as batch:
        batch.add_column(sa.Column("retry_policy", sa.Text()))
    op.create_table(
        "processor_switch",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("processor_switch")
    with op.batch_alter_table("queue_item") as batch:
        batch.drop_column("retry_policy")
    op.drop_index("ix_queue_history_movie_id", table_name="queue_history")
    op.drop_index("ix_queue_history_download_id", table_name="queue_history")
    with op.batch_alter_table("queue_history") as batch:
        for column in ("download_id", "movie_id", "source_title"):
            batch.drop_column(column)
