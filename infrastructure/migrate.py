"""Running the Alembic history programmatically (for `queuarr migrate`, `serve` and tests),
and refusing a database that a newer Queuarr migrated past what this code knows."""

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
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from infrastructure.db.engine import async_url, is_unavailable
from infrastructure.private_files import private_sqlite_file

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


class SchemaTooNew(Exception):
    """The database was migrated by a newer Queuarr than this one."""

    def __init__(self, found: str, head: str) -> None:
        self.found, self.head = found, head
        super().__init__(
            f"The database is at schema revision {found}, which this Queuarr does not know "
            f"(its newest is {head}): a newer Queuarr has used it. Upgrade Queuarr, or "
            "restore a backup made by this version (queuarr restore PATH).")


def known_revision(revision: str) -> bool:
    """Whether `revision` is in this code's migration history."""
    return revision in {script.revision for script in _scripts().walk_revisions()}


def refuse_unknown(revision: str | None) -> None:
    """Raise SchemaTooNew when `revision` (a database's) is not in this code's history."""
    if revision is not None and not known_revision(revision):
        raise SchemaTooNew(revision, head_revision())


def database_revision(database_url: str) -> str | None:
    """The database's Alembic revision, None when it has none (blocking)."""

    async def read() -> str | None:
        url = async_url(database_url)
        if url.get_backend_name() == "sqlite":
            private_sqlite_file(url.database)  # connecting creates it: owner-only, as env.py
        engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    found: list[str | None] = []
    _outside_loop(lambda: found.append(asyncio.run(read())))
    return found[0]


def check_schema(database_url: str, *, if_reachable: bool = False) -> None:
    """Refuse (SchemaTooNew) a database a newer Queuarr migrated (blocking). With
    if_reachable, a database that is down now passes (the app rides out an outage)."""
    try:
        revision = database_revision(database_url)
    except Exception as exc:
        if if_reachable and is_unavailable(exc):
            return
        raise
    refuse_unknown(revision)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking); SchemaTooNew for a database that a
    newer Queuarr migrated (Alembic would only say it cannot locate the revision)."""
    check_schema(database_url)
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
    refuse_unknown(MigrationContext.configure(connection).get_current_revision())
    getattr(command, action)(alembic_config(connection=connection), revision)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
