"""A SQLite write transaction in one hop to aiosqlite's thread.

Every aiosqlite call is a round trip to the connection's thread (a queue put, a thread
wake-up, a call_soon_threadsafe back), and SQLAlchemy's commit is one more. A grab's
insert (item, torrent, history row, COMMIT) took three such hops; here the whole
transaction is one function run on the writer's thread: sqlite3 itself begins
IMMEDIATE before the first write (see engine.py), the function's statements run, then
COMMIT, or ROLLBACK on any error. The writer pool (one connection) still serialises
writers in-process, and aiosqlite's queue keeps them in order on the thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from infrastructure.db.engine import Database, _unavailable_as_storage_error, is_driver_unavailable

T = TypeVar("T")


def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """On the writer's thread: work, then COMMIT; ROLLBACK if anything raises."""
    try:
        result = work(conn)
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    conn.commit()
    return result


async def write(db: Database, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work(connection)` in one transaction on the SQLite writer connection, in one
    hop. `work` runs on another thread: it must only use the connection it is given and
    values computed before. A connection that is gone is discarded (as fast.py does);
    errors that mean the database is unreachable become StorageUnavailable."""
    with _unavailable_as_storage_error():
        async with db.engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            try:
                return await driver._execute(_transaction, driver._conn, work)  # type: ignore[no-any-return]
            except Exception as exc:
                if is_driver_unavailable(exc) or isinstance(exc, OSError):
                    await conn.invalidate()
                raise
