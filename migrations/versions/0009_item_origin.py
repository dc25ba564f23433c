"""Who handed an item in through a chat (Telegram chat and user ids, which exceed int32),
and the plain sub-directory of the client's download dir it is saved under.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queue_item") as batch:
        batch.add_column(sa.Column("origin_chat", sa.BigInteger()))
        batch.add_column(sa.Column("origin_user", sa.BigInteger()))
        batch.add_column(sa.Column("save_under", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("queue_item") as batch:
        for column in ("save_under", "origin_user", "origin_chat"):
            batch.drop_column(column)
