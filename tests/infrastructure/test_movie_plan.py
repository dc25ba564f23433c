"""The plan of QueueRepository.movies (GET /api/v3/movie) on an un-ANALYZEd SQLite
database: the items are grouped through ix_queue_item_movie_id and joined back by
primary key, never scanned."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects.sqlite import aiosqlite

from infrastructure.db.engine import Database
from infrastructure.db.fast import prepare
from infrastructure.db.queue_repository import movies_select
from tests.infrastructure.test_query_plans import busy_sqlite, plan

__all__ = ["busy_sqlite"]  # the fixture, shared


@pytest.mark.parametrize("movie_id", [None, 7])
async def test_the_movie_list_groups_by_the_movie_id_index(busy_sqlite: Database,
                                                           movie_id: int | None) -> None:
    statement = movies_select(movie_id, None)
    prepared = prepare(statement, aiosqlite.dialect())
    text = await plan(busy_sqlite, statement,
                      [{**prepared.defaults, "movie_id_1": movie_id}[name]
                       for name in prepared.names])
    assert "USING INDEX ix_queue_item_movie_id" in text, text
    assert "SCAN queue_item" not in text, text
    assert text.count("INTEGER PRIMARY KEY") == 2, text
