"""The start-up schema check without Alembic (issue 18): the history it reads from the
scripts' text is Alembic's, and a database behind it is still migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from infrastructure.migrate import (
    alembic_config,
    database_revision,
    downgrade,
    head_revision,
    history,
    known_revision,
    upgrade,
)
from tests.conftest import sqlite_copy


def _downs(down: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    return () if down is None else (down,) if isinstance(down, str) else tuple(down)


def test_the_history_read_from_the_scripts_is_alembics() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())

    assert history() == {s.revision: _downs(s.down_revision)
                         for s in scripts.walk_revisions()}
    assert head_revision() == scripts.get_current_head()
    assert all(known_revision(s.revision) for s in scripts.walk_revisions())
    assert not known_revision("9999")


def test_a_database_behind_the_head_is_migrated_and_one_at_it_left_alone(
        tmp_path: Path, sqlite_template: Path) -> None:
    url = sqlite_copy(sqlite_template, tmp_path)
    previous = history()[head_revision()][0]
    downgrade(url, previous)
    assert database_revision(url) == previous

    upgrade(url)
    assert database_revision(url) == head_revision()
    upgrade(url)  # nothing to apply
    assert database_revision(url) == head_revision()


def test_an_empty_database_is_migrated_to_the_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    assert database_revision(url) is None

    upgrade(url)
    assert database_revision(url) == head_revision()


def test_a_sqlite_files_revision_is_read_without_an_engine_as_alembic_reads_it(
        tmp_path: Path) -> None:
    """database_revision reads a SQLite file with sqlite3 (no event loop, no engine: the
    check every start makes); each case gives what Alembic's own reading gives."""
    path = tmp_path / "fresh" / "queuarr.db"
    url = f"sqlite+aiosqlite:///{path}"

    def alembics() -> str | None:
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                found = MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()
        return found

    assert database_revision(url) is None  # no file: made, empty and owner-only
    assert path.stat().st_mode & 0o777 == 0o600
    assert alembics() is None
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    assert database_revision(url) is None and alembics() is None  # the table, no row
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('0007')")
    assert database_revision(url) == "0007" == alembics()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('0008')")
    with pytest.raises(RuntimeError, match="more than one revision"):
        database_revision(url)
