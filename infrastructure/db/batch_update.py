"""QueueRepository.update's writes in few statements, on the driver connection.

A sync pass saves the progress of many items at once; one fenced UPDATE per row, each
through SQLAlchemy's execute, cost more CPU than the rows' writes. Here the rows are
grouped by the set of columns they change and each group is one statement, fenced on
the version each row was read at: Postgres `UPDATE ... FROM unnest(...) RETURNING id`,
SQLite one executemany whose rowcount counts the rows written. The history rows are one
more statement. A group that writes fewer rows than it has means another writer changed
one of them meanwhile: the caller raises, and the transaction is rolled back whole."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.engine import Dialect

from infrastructure.db.aio import AsyncConnection
from infrastructure.db.engine import Database, is_driver_unavailable
from infrastructure.db.tables import queue_history, queue_item

# One row to write: id, the version it was read at, its changed column values.
Row = tuple[int, int, dict[str, Any]]


class Fenced(Exception):
    """A row of the batch was not at the version it was read at: roll back."""


HISTORY_COLUMNS = ("item_id", "at", "event", "from_state", "to_state", "message",
                   "source_title", "movie_id", "download_id")


def groups(rows: Sequence[Row]) -> list[list[Row]]:
    """The rows grouped by the columns they change, in order of first appearance. An
    item that comes again goes to a later round (its second change is fenced on the
    version its first one wrote), so the result is what one row at a time writes."""
    rounds: list[dict[tuple[str, ...], list[Row]]] = []
    seen: dict[int, int] = defaultdict(int)
    for row in rows:
        n = seen[row[0]]
        seen[row[0]] = n + 1
        if n == len(rounds):
            rounds.append({})
        rounds[n].setdefault(tuple(row[2]), []).append(row)
    return [group for r in rounds for group in r.values()]


class _Statements:
    """The SQL and bind processors of one dialect, built once per column set."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.quote = dialect.identifier_preparer.quote
        self.pg = dialect.name == "postgresql"
        self._processors: dict[tuple[str, str], Any] = {}
        self._updates: dict[tuple[str, ...], str] = {}
        self.history = self._history_sql()

    def processor(self, table: Table, name: str) -> Any:
        key = (table.name, name)
        if key not in self._processors:
            self._processors[key] = table.c[name].type.bind_processor(self.dialect)
        return self._processors[key]

    def _array(self, n: int, column: Column[Any]) -> str:
        kind = column.type.compile(dialect=self.dialect).split(" COLLATE ")[0]
        return f"${n}::{kind}[]"

    def update(self, columns: tuple[str, ...]) -> str:
        sql = self._updates.get(columns)
        if sql is None:
            sql = self._updates[columns] = self._update_sql(columns)
        return sql

    def _update_sql(self, columns: tuple[str, ...]) -> str:
        q = self.quote
        if not self.pg:
            sets = "".join(f"{q(c)} = ?, " for c in columns)
            return (f"UPDATE queue_item SET {sets}version = ? "
                    "WHERE id = ? AND version = ?")
        names = ("id", "version", *columns)
        arrays = ", ".join(self._array(n, queue_item.c[c]) for n, c in enumerate(names, 1))
        sets = "".join(f"{q(c)} = v.{q(c)}, " for c in columns)
        return (f"UPDATE queue_item AS q SET {sets}version = v.version + 1 "
                f"FROM unnest({arrays}) AS v({', '.join(q(c) for c in names)}) "
                "WHERE q.id = v.id AND q.version = v.version RETURNING q.id")

    def _history_sql(self) -> str:
        names = ", ".join(self.quote(c) for c in HISTORY_COLUMNS)
        if not self.pg:
            return (f"INSERT INTO queue_history ({names}) "
                    f"VALUES ({', '.join('?' for _ in HISTORY_COLUMNS)})")
        arrays = ", ".join(self._array(n, queue_history.c[c])
                           for n, c in enumerate(HISTORY_COLUMNS, 1))
        # In the rows' order, so that history ids keep it.
        return (f"INSERT INTO queue_history ({names}) SELECT {names} FROM unnest({arrays}) "
                f"WITH ORDINALITY AS h({names}, n) ORDER BY n")


_statements: dict[str, _Statements] = {}


def statements(dialect: Dialect) -> _Statements:
    found = _statements.get(dialect.name)
    if found is None or found.dialect is not dialect:
        found = _statements[dialect.name] = _Statements(dialect)
    return found


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in one transaction for write() to run in. SQLite: the writer's
    (sqlite3 itself begins IMMEDIATE before the first write, and SQLAlchemy commits or
    rolls back). Postgres: asyncpg's own transaction, since a driver call inside
    db.writing() would run before SQLAlchemy has begun its transaction (autocommitted).
    A connection that is gone, or whose transaction could not be ended, is discarded
    (as fast.py does), never handed out again."""
    if db.dialect != "postgresql":
        async with db.writing() as conn:
            try:
                yield conn
            except Exception as exc:
                if is_driver_unavailable(exc) or isinstance(exc, OSError):
                    await conn.invalidate()
                raise
        return
    async with db.reading() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        try:
            async with driver.transaction():
                yield conn
        except BaseException as exc:
            if is_driver_unavailable(exc) or isinstance(exc, OSError) \
                    or driver.is_in_transaction():
                await conn.invalidate()
            raise


async def write(conn: AsyncConnection, rows: Sequence[Row],
                history: Sequence[dict[str, Any]]) -> bool:
    """Write the rows (each fenced on its version) and the history rows; False, with
    the rest left unwritten, as soon as a group writes fewer rows than it has."""
    st = statements(conn.dialect)
    driver: Any = (await conn.get_raw_connection()).driver_connection
    for group in groups(rows):
        columns = tuple(group[0][2])
        sql = st.update(columns)
        processors = [st.processor(queue_item, c) for c in columns]
        if st.pg:
            args: list[list[Any]] = [[r[0] for r in group], [r[1] for r in group]]
            for c, p in zip(columns, processors, strict=True):
                args.append([r[2][c] if p is None else p(r[2][c]) for r in group])
            written = len(await driver.fetch(sql, *args))
        else:
            params = [[r[2][c] if p is None else p(r[2][c])
                       for c, p in zip(columns, processors, strict=True)]
                      + [r[1] + 1, r[0], r[1]] for r in group]
            written = (await driver.executemany(sql, params)).rowcount
        if written != len(group):
            return False
    if history:
        processors = [st.processor(queue_history, c) for c in HISTORY_COLUMNS]
        values = [[h[c] if p is None else p(h[c]) for h in history]
                  for c, p in zip(HISTORY_COLUMNS, processors, strict=True)]
        if st.pg:
            await driver.execute(st.history, *values)
        else:
            await driver.executemany(st.history, list(zip(*values, strict=True)))
    return True
