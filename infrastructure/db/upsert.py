"""INSERT ... ON CONFLICT in the engine's own dialect. The dialect is imported on the
first upsert, not at import: a server on SQLite never loads Postgres's (issue 18)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Table

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


def upsert(dialect: str, table: Table) -> PostgresInsert | SqliteInsert:
    """`insert(table)` with `on_conflict_do_nothing/do_update` and `excluded`, for the
    dialect named (`Database.dialect`: "postgresql" or "sqlite")."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
