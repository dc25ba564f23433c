"""The tables are plain SQLAlchemy Core; their partial indexes keep their predicates in
`info` (a `postgresql_where=` would import the Postgres dialect on SQLite too). What the
tables declare must still build the very indexes the migrations build, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Dialect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex

from infrastructure.db.engine import Database
from infrastructure.db.tables import ACTIVE_WHERE, DUE_WHERE, metadata, queue_item

PARTIAL = {
    "ux_queue_item_active_info_hash": f"info_hash IS NOT NULL AND {ACTIVE_WHERE}",
    "ux_queue_item_active_url_hash": f"url_hash IS NOT NULL AND {ACTIVE_WHERE}",
    "ix_queue_item_due": DUE_WHERE,
    "ix_queue_item_lease": "state = 'sending'",
}


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()],
                         ids=["sqlite", "postgres"])
def test_partial_indexes_render_their_predicates_on_both_engines(dialect: Dialect) -> None:
    rendered = {ix.name: str(CreateIndex(ix).compile(dialect=dialect))
                for ix in queue_item.indexes}

    for name, where in PARTIAL.items():
        assert rendered[name].endswith(f") WHERE {where}")
    assert [n for n, sql in rendered.items() if "WHERE" in sql and n not in PARTIAL] == []


async def _sqlite_indexes(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
            return {name: " ".join(sql.split()) for name, sql in rows}
    finally:
        await db.dispose()


async def test_the_tables_build_the_indexes_the_migrations_build_on_sqlite(
        tmp_path: Path, sqlite_template: Path) -> None:
    declared = Database(f"sqlite+aiosqlite:///{tmp_path / 'declared.db'}")
    async with declared.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await declared.dispose()

    built = await _sqlite_indexes(f"sqlite+aiosqlite:///{tmp_path / 'declared.db'}")
    migrated = await _sqlite_indexes(f"sqlite+aiosqlite:///{sqlite_template}")

    assert set(PARTIAL) <= set(built)
    assert built == migrated


@pytest.mark.postgres
async def test_the_tables_build_the_indexes_the_migrations_build_on_postgres(
        postgres_url: str) -> None:
    db = Database(postgres_url)
    query = text("SELECT indexname, replace(indexdef, :schema || '.', '') FROM pg_indexes "
                 "WHERE schemaname = :schema AND tablename <> 'alembic_version'")
    try:
        async with db.engine.connect() as conn:
            transaction = await conn.begin()  # rolled back: the schema built here goes
            await conn.execute(text("CREATE SCHEMA declared"))
            await conn.execute(text("SET LOCAL search_path TO declared"))
            await conn.run_sync(metadata.create_all)
            built = dict((await conn.execute(query, {"schema": "declared"})).all())
            migrated = dict((await conn.execute(query, {"schema": "public"})).all())
            await transaction.rollback()
    finally:
        await db.dispose()

    assert all(" WHERE " in built[name] for name in PARTIAL)
    assert built == migrated
