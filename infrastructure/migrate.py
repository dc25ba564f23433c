"""Running the Alembic history programmatically (for `queuarr migrate`, `serve` and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str | None = None, connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _outside_loop(fn: Callable[[], None]) -> None:
    """Alembic's env.py runs its own event loop; inside a running loop, use a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn()
        return
    with ThreadPoolExecutor(1) as pool:
        pool.submit(fn).result()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking)."""
    _outside_loop(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str = "base") -> None:
    _outside_loop(lambda: command.downgrade(alembic_config(database_url), revision))


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations through an existing async engine (inside an event loop)."""
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", revision)


async def downgrade_engine(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", revision)


def _run(connection: Connection, action: str, revision: str) -> None:
    getattr(command, action)(alembic_config(connection=connection), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
