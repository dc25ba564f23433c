"""Release selection: custom formats, quality profiles, and the releases kept per movie
for the next-best re-grab.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.db.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("custom_format", "quality_profile"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(200), nullable=False, unique=True),
            sa.Column("body", sa.Text(), nullable=False),
            sqlite_autoincrement=True,
        )
    op.create_table(
        "release_candidate",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("movie_key", sa.Text(), nullable=False),
        sa.Column("release_key", sa.Text(), nullable=False),
        sa.Column("release", sa.Text(), nullable=False),
        sa.Column("profile_id", sa.Integer()),
        sa.Column("item_id", sa.Integer()),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ux_release_candidate_key", "release_candidate",
                    ["movie_key", "release_key"], unique=True)
    op.create_index("ix_release_candidate_item_id", "release_candidate", ["item_id"])
    op.create_index("ix_release_candidate_added_at", "release_candidate", ["added_at"])


def downgrade() -> None:
    op.drop_table("release_candidate")
    op.drop_table("quality_profile")
    op.drop_table("custom_format")
