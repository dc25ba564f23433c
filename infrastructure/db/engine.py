"""Engines and connections. Errors that mean "the database is not there" become
core.errors.StorageUnavailable here, at the boundary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.errors import StorageUnavailable
from infrastructure.db.aio import AsyncConnection, AsyncEngine, create_async_engine
from infrastructure.private_files import private_sqlite_file


def async_url(url: str) -> URL:
    """Accept the sync spellings people paste (postgres://, postgresql://, sqlite://)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)
                      if url.startswith("postgres://") else url)
    driver = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    if parsed.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(
            f"Unsupported database URL scheme {parsed.drivername!r}: "
            "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
        )
    return parsed


# Driver errors (seen when statements run on the raw driver, see fast.py) that mean the
# connection or the server is gone, as opposed to a bad statement.
_DRIVER_UNAVAILABLE = {
    ("asyncpg", "InterfaceError"), ("asyncpg", "PostgresConnectionError"),
    ("asyncpg", "ConnectionDoesNotExistError"), ("asyncpg", "CannotConnectNowError"),
    ("asyncpg", "AdminShutdownError"), ("asyncpg", "CrashShutdownError"),
    ("asyncpg", "TooManyConnectionsError"), ("asyncpg", "ConnectionFailureError"),
    ("sqlite3", "OperationalError"),
}


def is_driver_unavailable(exc: BaseException) -> bool:
    return any((cls.__module__.split(".")[0], cls.__name__) in _DRIVER_UNAVAILABLE
               for cls in type(exc).__mro__)


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that mean the database cannot be reached right now."""
    if isinstance(exc, (OSError, asyncio.TimeoutError, PoolTimeout, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        return True  # SQLite "database is locked", Postgres "the database system is ..."
    orig = getattr(exc, "orig", None) or exc
    # asyncpg's errors reach us wrapped twice (SQLAlchemy's DBAPIError around the
    # adapter's error around asyncpg's): look at the SQLSTATE and at the cause too.
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if candidate is None:
            continue
        if is_driver_unavailable(candidate) or _unavailable_state(
                getattr(candidate, "sqlstate", None)):
            return True
    return False


def _unavailable_state(sqlstate: object) -> bool:
    """SQLSTATEs of a server that cannot take us now: connection exceptions (08xxx),
    shutting down or starting up (57P01-57P03), too many connections (53300)."""
    return isinstance(sqlstate, str) and (
        sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03", "53300"})


@contextmanager
def _unavailable_as_storage_error() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            raise StorageUnavailable(
                f"The database is unreachable: {type(exc).__name__}") from exc
        raise


class Database:
    """The engines for one database URL. On SQLite, writes go through one connection
    that starts with BEGIN IMMEDIATE, so writers queue in-process instead of failing
    with SQLITE_BUSY; reads use a pool of their own (WAL lets them run alongside)."""

    def __init__(self, url: str, *, echo: bool = False, sqlite_synchronous: str = "FULL",
                 pool_size: int = 20):
        self.url = async_url(url)
        self.dialect = "sqlite" if self.url.drivername.startswith("sqlite") else "postgresql"
        if self.dialect == "sqlite":
            private_sqlite_file(self.url.database)  # it will hold secrets: 0600
            self._writer = self._sqlite_engine(echo, sqlite_synchronous, writer=True)
            self._reader = self._sqlite_engine(echo, sqlite_synchronous, writer=False)
        else:
            # A fixed pool that requests wait on: overflow connections would be opened and
            # closed again under load, and a new Postgres connection costs milliseconds.
            self._writer = create_async_engine(
                self.url, echo=echo, hide_parameters=True,
                pool_size=pool_size, max_overflow=0, pool_timeout=10,
                connect_args={"timeout": 5, "command_timeout": 30,
                              "server_settings": {"application_name": "queuarr"}},
            )
            self._reader = self._writer

    def _sqlite_engine(self, echo: bool, synchronous: str, writer: bool) -> AsyncEngine:
        # Each call into aiosqlite is a hop to its thread, so: no reset-on-return
        # rollback (transactions are explicit, and closing a connection still rolls back
        # an open one), and the writer lets sqlite3 itself issue BEGIN IMMEDIATE before
        # a transaction's first write. Reads run without a transaction (one statement,
        # one snapshot).
        engine = create_async_engine(
            self.url, echo=echo, hide_parameters=True,
            pool_size=1 if writer else 5, max_overflow=0, pool_timeout=30,
            pool_reset_on_return=None, connect_args={"timeout": 30},
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in ("journal_mode=WAL", f"synchronous={synchronous}",
                           "foreign_keys=ON", "busy_timeout=30000"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()
            dbapi_connection.isolation_level = "IMMEDIATE" if writer else None

        return engine

    @property
    def engine(self) -> AsyncEngine:
        return self._writer

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection without an explicit transaction: each statement stands alone."""
        with _unavailable_as_storage_error():
            async with self._reader.connect() as conn:
                yield conn

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back on error."""
        with _unavailable_as_storage_error():
            async with self._writer.begin() as conn:
                yield conn

    async def notify(self, channel: str) -> None:
        """Postgres NOTIFY on a channel (a constant name, never caller input); sent
        when its transaction commits."""
        async with self.writing() as conn:
            await conn.exec_driver_sql(f"NOTIFY {channel}")

    async def ping(self) -> bool:
        try:
            async with self.reading() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except StorageUnavailable:
            return False

    async def server_time(self) -> datetime:
        """The database server's clock (Postgres; SQLite's is this host's)."""
        if self.dialect == "sqlite":
            return datetime.now(UTC)
        async with self.reading() as conn:
            value: datetime = (
                await conn.exec_driver_sql("SELECT clock_timestamp()")).scalar_one()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    async def server_version(self) -> str:
        query = "SELECT sqlite_version()" if self.dialect == "sqlite" else "SHOW server_version"
        async with self.reading() as conn:
            return str((await conn.exec_driver_sql(query)).scalar_one())

    async def dispose(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
