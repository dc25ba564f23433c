"""The same-machine references, as tiny ASGI apps run with uvicorn in a subprocess:

- `raw_app`: a raw ASGI hello (uvicorn + uvloop + httptools, no framework);
- `hello_app`: FastAPI hello (default JSON response);
- `pg_app`: FastAPI + asyncpg, page 1 of queue_item (the columns Queuarr returns, in
  Queuarr's default order) returned with orjson: the ceiling the queue endpoint is
  measured against;
- `sqlite_app`: the same page through aiosqlite (context for the SQLite backend).

The grab's references (a bare insert) are in bench/bare_grab.py, kept apart so that the
hello app, whose start-up bench/startup.py times, imports no more than it did.

`BENCH_BARE_DSN` (libpq DSN) and `BENCH_BARE_SQLITE` (file path) say where the rows are.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.responses import Response

from infrastructure.db.mapping import ITEM_COLUMNS

PAGE_SQL = (f"SELECT {', '.join(ITEM_COLUMNS)} FROM queue_item "
            "ORDER BY ect_sort DESC, progress DESC, id DESC LIMIT 50")


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")]})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


hello_app = FastAPI()


@hello_app.get("/")
async def hello() -> dict[str, str]:
    return {"message": "Hello, world!"}


@asynccontextmanager
async def pg_pool_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """An asyncpg pool of 10 on BENCH_BARE_DSN as app.state.pool (bench/bare_grab.py too)."""
    import asyncpg

    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_BARE_DSN"], min_size=10,
                                               max_size=10)
    try:
        yield
    finally:
        await app.state.pool.close()


pg_app = FastAPI(lifespan=pg_pool_lifespan)


@pg_app.get("/page")
async def pg_page() -> Response:
    async with pg_app.state.pool.acquire() as conn:
        rows = await conn.fetch(PAGE_SQL)
    return Response(orjson.dumps({"records": [dict(r) for r in rows]}),
                    media_type="application/json")


@asynccontextmanager
async def _sqlite_lifespan(app: FastAPI) -> AsyncIterator[None]:
    import asyncio

    import aiosqlite

    path = os.environ["BENCH_BARE_SQLITE"]
    pool: asyncio.Queue[Any] = asyncio.Queue()
    connections = []
    for _ in range(5):  # Queuarr's SQLite read pool is 5 connections too
        conn = await aiosqlite.connect(path)
        await conn.execute("PRAGMA journal_mode=WAL")
        connections.append(conn)
        pool.put_nowait(conn)
    app.state.pool = pool
    try:
        yield
    finally:
        for conn in connections:
            await conn.close()


sqlite_app = FastAPI(lifespan=_sqlite_lifespan)


@sqlite_app.get("/page")
async def sqlite_page() -> Response:
    conn = await sqlite_app.state.pool.get()
    try:
        async with conn.execute(PAGE_SQL) as cursor:
            rows = await cursor.fetchall()
    finally:
        sqlite_app.state.pool.put_nowait(conn)
    return Response(orjson.dumps({"records": [dict(zip(ITEM_COLUMNS, r, strict=True))
                                              for r in rows]}),
                    media_type="application/json")
