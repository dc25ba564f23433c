"""What the download client says about a download (Radarr's status and message, as its
adapters word them); tags (Radarr's tag resource, on queue items and download clients);
quality definitions (Radarr's size limits per quality).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queue_item") as batch:
        batch.add_column(sa.Column("client_status", sa.String(16)))
        batch.add_column(sa.Column("client_message", sa.Text()))
        batch.add_column(sa.Column("tags", sa.Text(), nullable=False, server_default="[]"))
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("label", sa.String(100), nullable=False, unique=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "quality_definition",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("min_size", sa.Float()),
        sa.Column("max_size", sa.Float()),
        sa.Column("preferred_size", sa.Float()),
    )


def downgrade() -> None:
    op.drop_table("quality_definition")
    op.drop_table("tag")
    with op.batch_alter_table("queue_item") as batch:
        for column in ("tags", "client_message", "client_status"):
            batch.drop_column(column)
