"""infrastructure/db/aio.py, the async face of a Core engine that replaced
sqlalchemy.ext.asyncio (whose import brings the ORM: issue 18): what Queuarr calls keeps
SQLAlchemy's names, signatures and behaviour, on SQLite and on the real Postgres."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.ext import asyncio as sa_asyncio

from infrastructure.db import aio
from infrastructure.db.engine import Database
from tests.conftest import sqlite_copy


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path,
             sqlite_template: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = sqlite_copy(sqlite_template, tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS aio_probe")
        await conn.exec_driver_sql("CREATE TABLE aio_probe (n INTEGER NOT NULL)")
    yield database
    async with database.engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE aio_probe")
    await database.dispose()


async def _numbers(database: Database) -> list[int]:
    async with database.reading() as conn:
        return [n for (n,) in (await conn.execute(text("SELECT n FROM aio_probe ORDER BY n")))]


def _shape(fn: object) -> list[tuple[str, object]]:
    """Parameter names and kinds (a *args or **kwargs by kind alone)."""
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [("*" if p.kind in variadic else p.name, p.kind)
            for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]


def test_every_method_queuarr_calls_has_sqlalchemys_name_and_parameters() -> None:
    for ours, theirs in ((aio.AsyncEngine, sa_asyncio.AsyncEngine),
                         (aio.AsyncConnection, sa_asyncio.AsyncConnection),
                         (aio.AsyncTransaction, sa_asyncio.AsyncTransaction)):
        for name, member in vars(ours).items():
            if name.startswith("_") or not callable(member):
                continue
            assert hasattr(theirs, name), f"{ours.__name__}.{name} is not SQLAlchemy's"
            mine = _shape(member)
            sqlalchemy = _shape(getattr(theirs, name))
            assert mine == sqlalchemy[:len(mine)], (ours.__name__, name, mine, sqlalchemy)
            assert (inspect.iscoroutinefunction(member)
                    == inspect.iscoroutinefunction(getattr(theirs, name))), name


async def test_begin_commits_at_the_end_and_rolls_back_on_error(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO aio_probe (n) VALUES (:n)"), {"n": 1})
    with pytest.raises(RuntimeError):
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO aio_probe (n) VALUES (:n)"), [{"n": 2}, {"n": 3}])
            raise RuntimeError("boom")
    assert await _numbers(db) == [1]


async def test_an_awaited_transaction_is_committed_or_rolled_back_by_hand(db: Database) -> None:
    async with db.engine.connect() as conn:
        transaction = await conn.begin()
        await conn.exec_driver_sql("INSERT INTO aio_probe (n) VALUES (7)")
        assert conn.in_transaction()
        await transaction.rollback()
        transaction = await conn.begin()
        await conn.exec_driver_sql("INSERT INTO aio_probe (n) VALUES (8)")
        await transaction.commit()
    assert await _numbers(db) == [8]


async def test_results_are_buffered_and_scalar_and_run_sync_work(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO aio_probe (n) VALUES (:n)"),
                           [{"n": n} for n in (3, 1, 2)])
    async with db.reading() as conn:
        result = await conn.execute(text("SELECT n FROM aio_probe ORDER BY n"))
        assert await conn.scalar(text("SELECT count(*) FROM aio_probe")) == 3
        tables = await conn.run_sync(lambda sync: sa_inspect(sync).get_table_names())
    assert [n for (n,) in result] == [1, 2, 3]  # read after the connection went back
    assert "aio_probe" in tables


async def test_the_raw_connection_is_the_drivers_and_invalidate_drops_it(db: Database) -> None:
    pool = db.engine.pool
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert type(driver).__module__.split(".")[0] in {"asyncpg", "aiosqlite"}
        await conn.invalidate()
        assert conn.invalidated
    async with db.engine.connect() as conn:
        again = (await conn.get_raw_connection()).driver_connection
        assert again is not driver  # never handed out again
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_cancelled_caller_still_gives_its_connection_back(db: Database) -> None:
    pool = db.engine.pool
    entered = asyncio.Event()

    async def hold() -> None:
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(hold())
    await entered.wait()
    assert pool.checkedout() == 1  # type: ignore[attr-defined]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_connection_must_be_started_before_use(db: Database) -> None:
    conn = db.engine.connect()
    with pytest.raises(RuntimeError, match="not started"):
        await conn.exec_driver_sql("SELECT 1")
    started = await conn
    assert started is conn and not conn.closed
    await conn.close()
    assert conn.closed
