"""One Alembic history for SQLite and Postgres: it goes up and down on both, and the
schema it builds is exactly what the tables (infrastructure/db/tables.py) declare."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from infrastructure.db.engine import Database
from infrastructure.db.tables import metadata
from infrastructure.migrate import (
    current_revision,
    downgrade_engine,
    head_revision,
    upgrade_engine,
)

TABLES = {"queue_item", "queue_torrent", "queue_history", "queue_counter", "blocklist"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_db(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        await downgrade_engine(db.engine)  # the shared test database starts migrated
    yield db
    if request.param == "postgres":
        await upgrade_engine(db.engine)
    await db.dispose()


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_migrations_go_up_down_and_up_again(empty_db: Database) -> None:
    await upgrade_engine(empty_db.engine)
    assert await current_revision(empty_db.engine) == head_revision()
    assert await _tables(empty_db) >= TABLES
    await downgrade_engine(empty_db.engine)
    assert not (TABLES & await _tables(empty_db))
    assert await current_revision(empty_db.engine) is None
    await upgrade_engine(empty_db.engine)
    assert await _tables(empty_db) >= TABLES


async def test_migrated_schema_matches_the_models(empty_db: Database) -> None:
    await upgrade_engine(empty_db.engine)
    async with empty_db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(
            MigrationContext.configure(c, opts={"compare_type": True}), metadata))
    assert diff == []


async def test_counter_triggers_are_installed(empty_db: Database) -> None:
    await upgrade_engine(empty_db.engine)
    async with empty_db.engine.begin() as conn:
        if empty_db.dialect == "sqlite":
            names = {r[0] for r in await conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        else:
            names = {r[0] for r in await conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
    assert {"queue_item_count_insert", "queue_item_count_delete",
            "queue_item_count_update"} <= names
