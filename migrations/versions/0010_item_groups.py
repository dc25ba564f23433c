"""Item groups: the items grabbed together from one playlist or channel link.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_group",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("queue_item") as batch:
        batch.add_column(sa.Column("group_id", sa.Integer()))
        batch.create_index("ix_queue_item_group_id", ["group_id"])


def downgrade() -> None:
    with op.batch_alter_table("queue_item") as batch:
        batch.drop_index("ix_queue_item_group_id")
        batch.drop_column("group_id")
    op.drop_table("item_group")
