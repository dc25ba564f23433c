"""Look releases up by (hash, state): SQLite without statistics otherwise plans the
"already completed?" check on the state index and walks every completed row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("info_hash", "url_hash"):
        op.drop_index(f"ix_queue_item_{column}", table_name="queue_item")
        op.create_index(f"ix_queue_item_{column}_state", "queue_item", [column, "state"])


def downgrade() -> None:
    for column in ("info_hash", "url_hash"):
        op.drop_index(f"ix_queue_item_{column}_state", table_name="queue_item")
        op.create_index(f"ix_queue_item_{column}", "queue_item", [column])
