"""Query plans that must not depend on statistics (SQLite has none until ANALYZE): the
release lookups use the (hash, state) indexes, and each sort key's descending page,
Radarr's default direction, is read in index order with no sort step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.dialects.sqlite import aiosqlite

from core.domain import DownloadProtocol, NewItem, SourceKind
from core.listing import SORT_KEYS, QueueFilter
from infrastructure.db.engine import Database
from infrastructure.db.fast import arguments, prepare
from infrastructure.db.mapping import insert_values
from infrastructure.db.queue_statements import FIND, NEXT_ATTEMPT, ids_select
from infrastructure.db.tables import queue_item
from tests.conftest import sqlite_copy
from tests.fakes import EPOCH


@pytest.fixture
async def busy_sqlite(sqlite_template: Path, tmp_path: Path) -> Database:  # type: ignore[misc]
    """2,000 items, most of them completed, never ANALYZEd."""
    db = Database(sqlite_copy(sqlite_template, tmp_path))
    rows = []
    for n in range(2000):
        values = insert_values(NewItem(
            title=f"Item.{n}", source=SourceKind.MAGNET, protocol=DownloadProtocol.TORRENT,
            added_at=EPOCH + timedelta(seconds=n), info_hash=f"{n:040x}", movie_id=n % 50 + 1,
        ))
        if n % 10:
            values["state"] = "completed"
        rows.append(values)
    async with db.writing() as conn:
        await conn.execute(insert(queue_item), rows)
    yield db
    await db.dispose()


async def plan(db: Database, statement: object, params: list[object]) -> str:
    prepared = prepare(statement, aiosqlite.dialect())  # type: ignore[arg-type]
    async with db.reading() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        rows = await raw.execute_fetchall(f"EXPLAIN QUERY PLAN {prepared.sql}", params)
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(("key", "active"), [
    ("info_hash", True), ("info_hash", False), ("url_hash", True), ("url_hash", False)])
async def test_release_lookups_use_the_hash_indexes(busy_sqlite: Database, key: str,
                                                    active: bool) -> None:
    statement = FIND[key, active]
    params = [{"key": "x", **prepare(statement, aiosqlite.dialect()).defaults}[name]
              for name in prepare(statement, aiosqlite.dialect()).names]
    text = await plan(busy_sqlite, statement, params)
    assert f"({key}=?" in text, text
    assert "ix_queue_item_state" not in text, text


@pytest.mark.parametrize("key", SORT_KEYS)
async def test_each_sort_key_pages_in_index_order(busy_sqlite: Database, key: str) -> None:
    statement = ids_select(key, True, False, QueueFilter(include_unknown=True))
    prepared = prepare(statement, aiosqlite.dialect())
    text = await plan(busy_sqlite, statement,
                      [{"limit": 50, "offset": 0}[name] for name in prepared.names])
    assert "USING" in text and "INDEX" in text, text
    assert "TEMP B-TREE" not in text, text


async def test_the_next_attempt_is_read_through_the_state_index(busy_sqlite: Database) -> None:
    """The dispatcher's read when items wait but none is due: the few waiting items by
    state, not a scan of every item."""
    prepared = prepare(NEXT_ATTEMPT, aiosqlite.dialect())
    text = await plan(busy_sqlite, NEXT_ATTEMPT, arguments(prepared, {"now": EPOCH}))
    assert "USING INDEX ix_queue_item_state (state=?)" in text, text
    assert "SCAN" not in text, text
