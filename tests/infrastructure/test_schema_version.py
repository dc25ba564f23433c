"""Upgrades (issue 17): a database that a newer Queuarr migrated is refused at start with
a message naming both revisions, on SQLite and Postgres; and the migration history goes
down to each earlier revision and back up, on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from api.cli import main
from infrastructure.db.engine import Database
from infrastructure.db.tables import metadata
from infrastructure.migrate import (
    SchemaTooNew,
    alembic_config,
    check_schema,
    current_revision,
    downgrade_engine,
    head_revision,
    upgrade,
    upgrade_engine,
)
from tests.conftest import sqlite_copy
from tests.daemons import free_port
from tests.logs import real_logging

NEWER = "9999"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL at head; the shared Postgres database is put back at head after."""
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    await stamp(url, head_revision())


async def stamp(url: str, revision: str) -> None:
    db = Database(url)
    try:
        async with db.writing() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :r"),
                               {"r": revision})
    finally:
        await db.dispose()


async def test_a_database_from_a_newer_queuarr_is_refused_naming_both_revisions(
        migrated: str) -> None:
    await stamp(migrated, NEWER)

    with pytest.raises(SchemaTooNew) as refused:
        upgrade(migrated)

    message = str(refused.value)
    assert NEWER in message and head_revision() in message
    assert "Upgrade Queuarr" in message and "restore a backup" in message
    db = Database(migrated)
    try:
        with pytest.raises(SchemaTooNew):
            await upgrade_engine(db.engine)
        assert await current_revision(db.engine) == NEWER  # nothing was touched
    finally:
        await db.dispose()


@pytest.mark.parametrize("argv", [["migrate"], ["serve", "--no-migrate"],
                                  ["worker", "--no-migrate"]])
async def test_queuarr_exits_non_zero_with_the_message_on_a_newer_database(
        migrated: str, argv: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await stamp(migrated, NEWER)
    monkeypatch.chdir(tmp_path)  # no .env file from elsewhere
    monkeypatch.setenv("QUEUARR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QUEUARR_DATABASE_URL", migrated)
    monkeypatch.setenv("QUEUARR_MANAGED_ARIA2", "false")

    def started(*_: object, **__: object) -> int:
        pytest.fail("Queuarr started on a database from a newer Queuarr")

    monkeypatch.setattr("api.server.serve", started)
    monkeypatch.setattr("api.cli._worker", started)

    with real_logging(), pytest.raises(SystemExit) as stopped:
        main(argv)

    assert isinstance(stopped.value.code, str)  # a message on stderr, exit status 1
    assert f"schema revision {NEWER}" in stopped.value.code
    assert head_revision() in stopped.value.code


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'steps.db'}")
        await upgrade_engine(db.engine)
    else:
        db = Database(request.getfixturevalue("postgres_url"))
    try:
        yield db
    finally:
        await upgrade_engine(db.engine)  # the shared Postgres database stays at head
        await db.dispose()


async def test_each_revision_goes_down_to_the_one_before_and_back_up(
        engine_db: Database) -> None:
    revisions = [s.revision for s in
                 ScriptDirectory.from_config(alembic_config()).walk_revisions()]  # newest first
    assert revisions[0] == head_revision() and len(revisions) >= 2

    for newer, older in zip(revisions, [*revisions[1:], None], strict=True):
        await downgrade_engine(engine_db.engine, older or "base")
        assert await current_revision(engine_db.engine) == older
        await upgrade_engine(engine_db.engine, newer)
        assert await current_revision(engine_db.engine) == newer
        await downgrade_engine(engine_db.engine, older or "base")

    for revision in reversed(revisions):
        await upgrade_engine(engine_db.engine, revision)
        assert await current_revision(engine_db.engine) == revision
    async with engine_db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(
            MigrationContext.configure(c, opts={"compare_type": True}), metadata))
    assert diff == []


def test_the_check_without_migrating_lets_a_database_that_is_down_pass() -> None:
    down = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/queuarr"

    check_schema(down, if_reachable=True)  # serve --no-migrate rides out the outage
    with pytest.raises(OSError):
        check_schema(down)
