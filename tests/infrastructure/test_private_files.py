"""The SQLite database holds client passwords and webhook secrets, the data dir the API
key: a data dir Queuarr creates is the owner's alone (0700), and so are the database file
and its -wal/-shm files (0600), however they came to exist (migrations, the app, an
older install with looser modes)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from api.cli import main
from infrastructure.apikey import load_or_create_api_key
from infrastructure.bootstrap import build
from infrastructure.db.engine import Database
from infrastructure.db.tables import notification
from infrastructure.migrate import upgrade
from infrastructure.settings import Settings
from tests.logs import real_logging

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common umask, under which files are created 0644 unless asked otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def wal_modes_while_writing(url: str) -> list[int]:
    """Write through the app's engine; the modes of the -wal and -shm files meanwhile."""
    db = Database(url)
    try:
        async with db.writing() as conn:
            await conn.execute(insert(notification).values(name="n", body="{}"))
        path = Path(db.url.database or "")
        return [mode(path.with_name(path.name + s)) for s in ("-wal", "-shm")]
    finally:
        await db.dispose()


async def test_migrating_a_new_database_makes_the_data_dir_and_its_files_private(
        tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    url = f"sqlite+aiosqlite:///{data / 'queuarr.db'}"

    upgrade(url)

    assert mode(data) == 0o700
    assert mode(data / "queuarr.db") == 0o600
    assert await wal_modes_while_writing(url) == [0o600, 0o600]


async def test_the_app_engine_creates_a_missing_database_file_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = Database(f"sqlite+aiosqlite:///{data / 'queuarr.db'}")
    try:
        async with db.reading() as conn:
            await conn.exec_driver_sql("SELECT 1")
    finally:
        await db.dispose()

    assert mode(data) == 0o700
    assert mode(data / "queuarr.db") == 0o600


async def test_an_existing_database_and_its_wal_files_are_tightened_at_start(
        tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "queuarr.db"
    shutil.copy(sqlite_template, path)
    files = [path, tmp_path / "queuarr.db-wal", tmp_path / "queuarr.db-shm"]
    for file in files:  # as an older Queuarr left them (empty -wal/-shm: SQLite reuses them)
        file.touch()
        file.chmod(0o644)

    Database(f"sqlite+aiosqlite:///{path}")

    assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
    assert await wal_modes_while_writing(f"sqlite+aiosqlite:///{path}") == [0o600, 0o600]


def test_queuarr_migrate_creates_the_data_dir_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "fresh"
    monkeypatch.chdir(tmp_path)  # no .env file from elsewhere
    monkeypatch.setenv("QUEUARR_DATA_DIR", str(data))
    monkeypatch.delenv("QUEUARR_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    with real_logging():  # main() configures logging; put it back afterwards
        assert main(["migrate"]) == 0

    assert mode(data) == 0o700
    assert mode(data / "queuarr.db") == 0o600


async def test_building_the_app_creates_the_data_dir_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    container = build(Settings(data_dir=data, managed_aria2="false"), processor=False)
    await container.aclose()

    assert mode(data) == 0o700
    assert mode(data / "api_key") == 0o600
    assert mode(data / "queuarr.db") == 0o600


def test_a_generated_api_key_goes_into_a_private_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    load_or_create_api_key(Settings(data_dir=data))

    assert mode(data) == 0o700


def test_an_existing_data_dir_keeps_its_mode(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    data.mkdir(mode=0o750)
    data.chmod(0o750)  # e.g. downloads inside, read by a media server's group

    Database(f"sqlite+aiosqlite:///{data / 'queuarr.db'}")
    load_or_create_api_key(Settings(data_dir=data))

    assert mode(data) == 0o750
    assert mode(data / "queuarr.db") == 0o600
