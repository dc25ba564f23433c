"""A SQLite write in one hop (infrastructure/db/one_hop.py) is one transaction: all of it
is committed, or none of it, and the writer connection is usable afterwards. And
mapping's shortcut for fields stored as they are encodes as _encoded does."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.domain import DownloadProtocol, MovieInfo, NewItem, Priority, QueueItem, SourceKind
from infrastructure.db import one_hop
from infrastructure.db.engine import Database
from infrastructure.db.mapping import _AS_IS, _column_values, _encoded, insert_values
from tests.conftest import sqlite_copy
from tests.fakes import EPOCH

INSERT = "INSERT INTO tag (label) VALUES (?)"


@pytest.fixture
async def db(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(sqlite_copy(sqlite_template, tmp_path))
    yield database
    await database.dispose()


async def labels(db: Database) -> list[str]:
    async with db.reading() as conn:
        rows = await conn.exec_driver_sql("SELECT label FROM tag ORDER BY id")
        return [r[0] for r in rows]


async def test_a_write_commits_every_statement_and_answers_what_the_work_returns(
        db: Database) -> None:
    def work(conn: sqlite3.Connection) -> int:
        conn.execute(INSERT, ("one",))
        conn.execute(INSERT, ("two",))
        return 7

    assert await one_hop.write(db, work) == 7
    assert await labels(db) == ["one", "two"]


async def test_a_write_whose_work_raises_leaves_nothing_written(db: Database) -> None:
    def work(conn: sqlite3.Connection) -> None:
        conn.execute(INSERT, ("kept?",))
        conn.execute(INSERT, ("kept?",))  # tag labels are unique

    with pytest.raises(sqlite3.IntegrityError):
        await one_hop.write(db, work)
    assert await labels(db) == []
    await one_hop.write(db, lambda conn: conn.execute(INSERT, ("after",)))
    assert await labels(db) == ["after"]


async def test_a_write_after_one_through_sqlalchemy_sees_a_clean_connection(
        db: Database) -> None:
    async with db.writing() as conn:
        await conn.exec_driver_sql("INSERT INTO tag (label) VALUES ('first')")
    await one_hop.write(db, lambda conn: conn.execute(INSERT, ("second",)))
    with pytest.raises(ZeroDivisionError):
        await one_hop.write(db, lambda conn: (conn.execute(INSERT, ("third",)), 1 / 0))
    async with db.writing() as conn:
        await conn.exec_driver_sql("INSERT INTO tag (label) VALUES ('fourth')")
    assert await labels(db) == ["first", "second", "fourth"]


def test_fields_stored_as_they_are_are_the_ones_encoded_unchanged() -> None:
    item = _item()
    for name in QueueItem.__dataclass_fields__:
        value = getattr(item, name)
        if name in _AS_IS:
            assert _encoded(name, value) == {name: value}
    expected: dict[str, object] = {}
    for name in QueueItem.__dataclass_fields__:
        expected.update(_encoded(name, getattr(item, name)))
    assert _column_values(item) == expected
    assert {"state", "source", "protocol", "priority", "movie", "quality", "tags",
            "id"}.isdisjoint(_AS_IS)


def _item() -> QueueItem:
    from core.domain import materialise

    new = NewItem(title="Some.Movie.2024.1080p.WEB-DL-GRP", source=SourceKind.MAGNET,
                  protocol=DownloadProtocol.TORRENT, added_at=EPOCH + timedelta(seconds=1),
                  info_hash="ab" * 20, movie_id=3, movie=MovieInfo("Some Movie", 2024, 1, None),
                  priority=Priority.HIGH, tags=(1, 2))
    assert insert_values(new)["priority"] == int(Priority.HIGH)
    return materialise(new, 5)
