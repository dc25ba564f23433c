"""Running the Alembic history programmatically (for `queuarr migrate`, `serve` and tests),
and refusing a database that a newer Queuarr migrated past what this code knows.

Every start checks the schema, and it is nearly always current: that check reads the
history's revisions from the scripts' text (`history()`) and the database's from its
`alembic_version` table with SQLAlchemy, so Alembic (and its environment, Mako
included) is imported only when there is something to apply."""

from __future__ import annotations

import ast
import asyncio
import functools
import re
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from infrastructure.db.aio import AsyncEngine, create_async_engine
from infrastructure.db.engine import async_url, is_unavailable
from infrastructure.private_files import private_sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it
# `revision: str = "0002"` and `down_revision: str | None = "0001"` in a script's header.
_HEADER = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(database_url: str | None = None, connection: Any = None) -> Config:
    from alembic.config import Config

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


@functools.cache
def history() -> dict[str, tuple[str, ...]]:
    """This code's revisions, each with the revisions it follows, read from the
    `revision` and `down_revision` lines of migrations/versions/*.py as Alembic reads
    them (tests/infrastructure/test_schema_version.py holds the two to agreeing)."""
    found: dict[str, tuple[str, ...]] = {}
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        fields = dict(_HEADER.findall(script.read_text(encoding="utf-8")))
        if "revision" not in fields:
            continue
        down = ast.literal_eval(fields.get("down_revision", "None"))
        found[ast.literal_eval(fields["revision"])] = (
            () if down is None else (down,) if isinstance(down, str) else tuple(down))
    return found


def head_revision() -> str:
    """The newest revision: the one no other revision follows."""
    followed = {down for downs in history().values() for down in downs}
    heads = [revision for revision in history() if revision not in followed]
    if len(heads) != 1:
        raise RuntimeError(f"The migration history has {len(heads)} heads: {heads}")
    return heads[0]


def known_revision(revision: str) -> bool:
    """Whether `revision` is in this code's migration history."""
    return revision in history()


def refuse_unknown(revision: str | None) -> None:
    """Raise SchemaTooNew when `revision` (a database's) is not in this code's history."""
    if revision is not None and not known_revision(revision):
        raise SchemaTooNew(revision, head_revision())


def stored_revision(connection: Connection) -> str | None:
    """The database's revision as Alembic's MigrationContext reads it: None without the
    version table or a row in it."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return _one_revision(
        connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all())


def _one_revision(rows: Sequence[object]) -> str | None:
    if len(rows) > 1:
        raise RuntimeError(f"The {VERSION_TABLE} table holds more than one revision: {rows}")
    return str(rows[0]) if rows else None


def _sqlite_revision(path: str) -> str | None:
    """A SQLite file's revision read with the standard library's sqlite3, as
    stored_revision reads it: every start asks, and this needs no event loop, no
    driver thread and no engine."""
    private_sqlite_file(path)  # connecting creates it: owner-only, as env.py
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (VERSION_TABLE,)).fetchone() is None:
            return None
        return _one_revision([row[0] for row in conn.execute(
            f"SELECT version_num FROM {VERSION_TABLE}")])


def database_revision(database_url: str) -> str | None:
    """The database's Alembic revision, None when it has none (blocking)."""
    url = async_url(database_url)
    path = url.database if url.get_backend_name() == "sqlite" and not url.query else None
    if path and path != ":memory:" and not path.startswith("file:"):
        return _sqlite_revision(path)

    async def read() -> str | None:
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
    newer Queuarr migrated (Alembic would only say it cannot locate the revision). A
    database already there is left alone without importing Alembic."""
    found = database_revision(database_url)
    refuse_unknown(found)
    if found is not None and found == (head_revision() if revision == "head" else revision):
        return
    from alembic import command

    _outside_loop(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    _outside_loop(lambda: command.downgrade(alembic_config(database_url), revision))


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations through an existing async engine (inside an event loop)."""
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", revision)


async def downgrade_engine(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", revision)


def _run(connection: Connection, action: str, revision: str) -> None:
    from alembic import command

    refuse_unknown(stored_revision(connection))
    getattr(command, action)(alembic_config(connection=connection), revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(stored_revision)
