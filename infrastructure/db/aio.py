"""The async face of a SQLAlchemy Core engine: the part of `sqlalchemy.ext.asyncio`
Queuarr uses, without the rest.

`sqlalchemy.ext.asyncio` imports SQLAlchemy's ORM (its AsyncSession), which Queuarr does
not use: about 8 MiB that stay and 60 ms at every start (issue 18). The async drivers
(aiosqlite, asyncpg) need only what this module gives them: a Core engine created with
`_is_async=True` (SQLAlchemy's adapted async dialects) and each blocking call run inside
`greenlet_spawn`, where the dialect's `await_only` can suspend on the driver. That is all
`AsyncEngine` and `AsyncConnection` below do, with the same names and signatures as
SQLAlchemy's for what Queuarr calls (`tests/infrastructure/test_aio.py` holds them to it).

Results are SQLAlchemy's buffered `CursorResult`s, as `AsyncConnection.execute` returns
them; server-side cursors (`stream_results`) are not supported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, CursorResult, Dialect, Engine, Transaction
from sqlalchemy.engine.interfaces import PoolProxiedConnection
from sqlalchemy.pool import Pool
from sqlalchemy.util.concurrency import greenlet_spawn

_T = TypeVar("_T")
_P = ParamSpec("_P")


def create_async_engine(url: str | URL, **kw: Any) -> AsyncEngine:
    """SQLAlchemy's `create_async_engine`: a Core engine on the async dialect."""
    if kw.get("server_side_cursors"):
        raise ValueError("server-side cursors are not supported")
    return AsyncEngine(create_engine(url, _is_async=True, **kw))


async def _run_to_completion(awaitable: Awaitable[_T]) -> _T:
    """Finish a clean-up (a connection's close) even when the caller is cancelled
    meanwhile, then pass the cancellation on: a close abandoned half-way would give the
    connection back to a pool later, behind the caller's back."""
    task = asyncio.ensure_future(awaitable)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            if task.done():
                raise
            cancelled = exc
        else:
            break
    if cancelled is not None:
        raise cancelled
    return result


class AsyncEngine:
    """A pool of connections for one URL; `connect()` and `begin()` hand them out."""

    __slots__ = ("sync_engine",)

    def __init__(self, sync_engine: Engine) -> None:
        self.sync_engine = sync_engine

    @property
    def dialect(self) -> Dialect:
        return self.sync_engine.dialect

    @property
    def url(self) -> URL:
        return self.sync_engine.url

    @property
    def pool(self) -> Pool:
        return self.sync_engine.pool

    def connect(self) -> AsyncConnection:
        """A connection, taken from the pool when entered (`async with`) or awaited."""
        return AsyncConnection(self)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction: committed when the block ends, rolled back
        when it raises."""
        async with self.connect() as conn, conn.begin():
            yield conn

    async def dispose(self, close: bool = True) -> None:
        await greenlet_spawn(self.sync_engine.dispose, close=close)


class AsyncConnection:
    __slots__ = ("engine", "sync_connection")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sync_connection: Connection | None = None

    async def start(self) -> AsyncConnection:
        if self.sync_connection is not None:
            raise RuntimeError("connection is already started")
        self.sync_connection = await greenlet_spawn(self.engine.sync_engine.connect)
        return self

    def __await__(self) -> Generator[Any, None, AsyncConnection]:
        return self.start().__await__()

    async def __aenter__(self) -> AsyncConnection:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await _run_to_completion(self.close())

    @property
    def _sync(self) -> Connection:
        if self.sync_connection is None:
            raise RuntimeError("the connection is not started: use `async with` or await it")
        return self.sync_connection

    @property
    def dialect(self) -> Dialect:
        return self.engine.dialect

    @property
    def closed(self) -> bool:
        return self.sync_connection is None or self.sync_connection.closed

    @property
    def invalidated(self) -> bool:
        return self.sync_connection is not None and self.sync_connection.invalidated

    def in_transaction(self) -> bool:
        return self.sync_connection is not None and self.sync_connection.in_transaction()

    def begin(self) -> AsyncTransaction:
        return AsyncTransaction(self)

    async def execute(self, statement: Any, parameters: Any = None, *,
                      execution_options: Any = None) -> CursorResult[Any]:
        """Run a statement; its rows are fetched (buffered) before this returns."""
        result: CursorResult[Any] = await greenlet_spawn(
            self._sync.execute, statement, parameters,
            execution_options=execution_options, _require_await=True)
        return result

    async def exec_driver_sql(self, statement: str, parameters: Any = None,
                              execution_options: Any = None) -> CursorResult[Any]:
        result: CursorResult[Any] = await greenlet_spawn(
            self._sync.exec_driver_sql, statement, parameters, execution_options,
            _require_await=True)
        return result

    async def scalar(self, statement: Any, parameters: Any = None, *,
                     execution_options: Any = None) -> Any:
        result = await self.execute(statement, parameters,
                                    execution_options=execution_options)
        return result.scalar()

    async def run_sync(self, fn: Callable[Concatenate[Connection, _P], _T],
                       *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Call a blocking function with the sync Connection (Alembic, inspect())."""
        result: _T = await greenlet_spawn(fn, self._sync, *args, _require_await=False,
                                          **kwargs)
        return result

    async def get_raw_connection(self) -> PoolProxiedConnection:
        """The pool's DBAPI connection; `.driver_connection` is asyncpg's or aiosqlite's."""
        raw: PoolProxiedConnection = await greenlet_spawn(getattr, self._sync, "connection")
        return raw

    async def invalidate(self, exception: BaseException | None = None) -> None:
        """Close the DBAPI connection and never hand it out again."""
        await greenlet_spawn(self._sync.invalidate, exception=exception)

    async def commit(self) -> None:
        await greenlet_spawn(self._sync.commit)

    async def rollback(self) -> None:
        await greenlet_spawn(self._sync.rollback)

    async def close(self) -> None:
        if self.sync_connection is not None:
            await greenlet_spawn(self.sync_connection.close)


class AsyncTransaction:
    """`async with conn.begin():` commits when the block ends, rolls back when it
    raises; `await conn.begin()` starts one to commit or roll back by hand."""

    __slots__ = ("connection", "sync_transaction")

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.sync_transaction: Transaction | None = None

    async def start(self) -> AsyncTransaction:
        self.sync_transaction = await greenlet_spawn(self.connection._sync.begin)
        return self

    def __await__(self) -> Generator[Any, None, AsyncTransaction]:
        return self.start().__await__()

    async def __aenter__(self) -> AsyncTransaction:
        await self.start()
        assert self.sync_transaction is not None
        self.sync_transaction.__enter__()
        return self

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        assert self.sync_transaction is not None
        await greenlet_spawn(self.sync_transaction.__exit__, type_, value, traceback)

    async def commit(self) -> None:
        assert self.sync_transaction is not None
        await greenlet_spawn(self.sync_transaction.commit)

    async def rollback(self) -> None:
        assert self.sync_transaction is not None
        await greenlet_spawn(self.sync_transaction.rollback)
