"""The processor's bookkeeping on queue items: leases, rescues, last progress; and the
indexes of the claim and the lease sweep.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.db.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_WHERE = "state IN ('queued', 'retrying', 'clientUnavailable')"
SENDING_WHERE = "state = 'sending'"


def upgrade() -> None:
    with op.batch_alter_table("queue_item") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(100)))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime()))
        batch.add_column(sa.Column("rescues", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("progress_at", UTCDateTime()))
    op.create_index("ix_queue_item_due", "queue_item", ["priority", "added_at", "id"],
                    sqlite_where=sa.text(DUE_WHERE), postgresql_where=sa.text(DUE_WHERE))
    op.create_index("ix_queue_item_lease", "queue_item", ["lease_expires_at"],
                    sqlite_where=sa.text(SENDING_WHERE),
                    postgresql_where=sa.text(SENDING_WHERE))


def downgrade() -> None:
    op.drop_index("ix_queue_item_lease", table_name="queue_item")
    op.drop_index("ix_queue_item_due", table_name="queue_item")
    with op.batch_alter_table("queue_item") as batch:
        for column in ("progress_at", "rescues", "lease_expires_at", "lease_owner"):
            batch.drop_column(column)
