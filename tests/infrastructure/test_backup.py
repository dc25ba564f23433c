"""`queuarr backup` and `queuarr restore` (issue 17): a SQLite backup made while Queuarr
holds the database is consistent and restores items, history, clients and tags; restore
refuses a running instance and a backup newer than the code; files are owner-only; the
settings file holds no secret; Postgres is dumped with pg_dump, or the command is given."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from api.cli import main
from core.clients import ClientConfig, ClientKind
from core.domain import DownloadProtocol, HistoryEvent, NewItem, SourceKind
from infrastructure.backup import (
    MANIFEST_FILE,
    PG_DUMP_FILE,
    SETTINGS_FILE,
    SQLITE_FILE,
    BackupError,
    make_backup,
    public_settings,
    restore,
)
from infrastructure.db.client_repository import SqlClientConfigRepository
from infrastructure.db.config_repository import SqlTagRepository
from infrastructure.db.engine import Database
from infrastructure.db.queue_repository import SqlQueueRepository
from infrastructure.migrate import head_revision
from infrastructure.settings import Settings
from tests.conftest import require_binary
from tests.fakes import FakeClock
from tests.logs import real_logging

QBIT_PASSWORD = "qbit-password-4a1f"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    shutil.copy(sqlite_template, data / SQLITE_FILE)
    (data / SQLITE_FILE).chmod(0o600)
    return Settings(data_dir=data, managed_aria2="false")


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Database]:
    """The database as a running Queuarr holds it (pooled connections open, WAL mode)."""
    db = Database(settings.database)
    await db.ping()
    yield db
    await db.dispose()


async def fill(db: Database, title: str) -> None:
    """An item with its history, a download client (a password) and a tag."""
    clock = FakeClock()
    tag = await SqlTagRepository(db).add(f"tag-{title.lower()}")
    await SqlClientConfigRepository(db, clock).add(ClientConfig(
        name=f"qbit-{title}", kind=ClientKind.QBITTORRENT, tags=(tag.id,),
        fields={"host": "qbit.lan", "port": 8080, "password": QBIT_PASSWORD}))
    await SqlQueueRepository(db, clock).add(NewItem(
        title=title, source=SourceKind.MAGNET, protocol=DownloadProtocol.TORRENT,
        added_at=clock.now(), info_hash=f"{len(title):040x}"), HistoryEvent("grabbed"))


async def contents(db: Database) -> dict[str, list[Any]]:
    async with db.reading() as conn:
        return {table: sorted(tuple(row) for row in await conn.exec_driver_sql(query))
                for table, query in {
                    "items": "SELECT id, title FROM queue_item",
                    "history": "SELECT item_id, event FROM queue_history",
                    "clients": "SELECT name FROM download_client",
                    "tags": "SELECT label FROM tag"}.items()}


def members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as z:
        return {name: z.read(name) for name in z.namelist()}


async def test_backup_of_a_running_sqlite_database_restores_items_history_clients_and_tags(
        settings: Settings, running: Database) -> None:
    await fill(running, "Kept.Movie")
    wal = Path(f"{settings.data_dir / SQLITE_FILE}-wal")
    assert wal.stat().st_size > 0  # the rows are in the WAL: a plain file copy misses them
    before = await contents(running)

    made = await asyncio.to_thread(make_backup, settings)
    await fill(running, "Later.Movie")  # after the backup: the restore must drop it
    later = await contents(running)
    await running.dispose()  # Queuarr stopped

    kept = restore(settings, made.path)

    assert made.revision == head_revision()
    assert made.path.parent == settings.data_dir / "backups"
    assert made.path.name.startswith("queuarr-backup-") and made.path.suffix == ".zip"
    assert kept is not None and kept.name.startswith(f"{SQLITE_FILE}.before-restore-")
    restored = Database(settings.database)
    aside = Database(f"sqlite+aiosqlite:///{kept}")
    try:
        assert await contents(restored) == before
        assert len(before["items"]) == 1 and before["history"] and before["tags"]
        assert await contents(aside) == later
    finally:
        await restored.dispose()
        await aside.dispose()
    assert {mode(made.path), mode(kept), mode(settings.data_dir / SQLITE_FILE)} == {0o600}
    assert mode(made.path.parent) == 0o700


async def test_restore_refuses_while_queuarr_holds_the_database(
        settings: Settings, running: Database) -> None:
    made = make_backup(settings)
    await fill(running, "After.Backup")

    with pytest.raises(BackupError, match=r"Queuarr is running .*stop it"):
        restore(settings, made.path)

    assert len((await contents(running))["items"]) == 1
    assert not list(settings.data_dir.glob("*.before-restore-*"))


def test_queuarr_restore_exits_non_zero_while_a_server_holds_the_database(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    env(monkeypatch, settings)
    with real_logging():
        assert main(["backup"]) == 0
    (made,) = (settings.data_dir / "backups").glob("*.zip")
    holder = sqlite3.connect(settings.data_dir / SQLITE_FILE)  # as serve's pool holds it:
    holder.execute("PRAGMA journal_mode=WAL")  # open, idle, in WAL mode
    holder.execute("SELECT 1 FROM alembic_version").fetchall()
    try:
        with real_logging():
            assert main(["restore", str(made)]) == 1
    finally:
        holder.close()
    assert "Queuarr is running" in capsys.readouterr().err
    with real_logging():
        assert main(["restore", os.path.relpath(made)]) == 0  # relative to the cwd
    assert "Restored" in capsys.readouterr().out


def env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.chdir(settings.data_dir.parent)  # no .env file from elsewhere
    monkeypatch.setenv("QUEUARR_DATA_DIR", str(settings.data_dir))
    for name in ("QUEUARR_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


async def test_restore_refuses_a_backup_newer_than_this_code(settings: Settings) -> None:
    made = make_backup(settings, settings.data_dir.parent / "newer")  # a directory backup
    with sqlite3.connect(made.path / SQLITE_FILE) as newer:
        newer.execute("UPDATE alembic_version SET version_num = '9999'")
    original = (settings.data_dir / SQLITE_FILE).read_bytes()

    with pytest.raises(BackupError) as refused:
        restore(settings, made.path)

    assert "9999" in str(refused.value) and head_revision() in str(refused.value)
    assert "upgrade Queuarr" in str(refused.value)
    assert (settings.data_dir / SQLITE_FILE).read_bytes() == original
    assert not list(settings.data_dir.glob("*.before-restore-*"))


def test_a_directory_backup_holds_the_database_settings_and_manifest(
        settings: Settings) -> None:
    made = make_backup(settings, settings.data_dir.parent / "out")

    assert {p.name for p in made.path.iterdir()} == {MANIFEST_FILE, SETTINGS_FILE,
                                                     SQLITE_FILE}
    assert {mode(p) for p in made.path.iterdir()} == {0o600}
    manifest = json.loads((made.path / MANIFEST_FILE).read_text())
    assert manifest["schemaRevision"] == head_revision()
    assert manifest["databaseType"] == "sqlite"
    assert set(manifest) == {"queuarrVersion", "schemaRevision", "time", "databaseType"}


SECRETS: dict[str, Any] = {
    "api_key": "api-key-0123456789abcdef", "aria2_secret": "aria2-secret-77e1",
    "qbittorrent_password": "qbit-env-password-91", "telegram_token": "12345:tg-token",
    "telegram_webhook_secret": "webhook-secret-5c"}


def test_settings_in_a_backup_hold_no_secret(settings: Settings) -> None:
    secret_settings = Settings(data_dir=settings.data_dir, managed_aria2="false",
                               instance_name="Living Room", **SECRETS)

    made = make_backup(secret_settings)

    files = members(made.path)
    stored = json.loads(files[SETTINGS_FILE])
    for value in SECRETS.values():
        assert all(value.encode() not in body for body in files.values()), value
    assert stored["instance_name"] == "Living Room"
    assert not {"api_key", "database_url", *SECRETS} & set(stored)
    assert "max_concurrent" in stored and "data_dir" in stored


def test_public_settings_are_derived_from_the_model() -> None:
    class More(Settings):
        extra_secret: SecretStr = SecretStr("typed-secret")
        service_token: str = "named-token"
        shown: str = "plain"

    public = public_settings(More(managed_aria2="false"))

    assert public["shown"] == "plain"
    assert "extra_secret" not in public and "service_token" not in public


@pytest.mark.postgres
async def test_postgres_backup_is_a_pg_dump_with_the_password_only_in_its_environment(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    require_binary("pg_dump")
    parsed = make_url(postgres_url)
    password = str(parsed.password or "unused-by-trust-auth")
    url = parsed.set(password=password).render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path, database_url=SecretStr(url), managed_aria2="false")
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def recording_run(args: list[str], **kwargs: Any) -> Any:
        calls.append((args, kwargs["env"]))
        return real_run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)
    made = make_backup(settings)
    monkeypatch.undo()

    ((args, environment),) = calls
    assert password not in " ".join(args) and environment["PGPASSWORD"] == password
    assert made.hint is None
    files = members(made.path)
    assert set(files) == {MANIFEST_FILE, SETTINGS_FILE, PG_DUMP_FILE}
    assert json.loads(files[MANIFEST_FILE])["databaseType"] == "postgresql"
    assert json.loads(files[MANIFEST_FILE])["schemaRevision"] == head_revision()
    assert all(password.encode() not in body for body in files.values())
    dump = tmp_path / PG_DUMP_FILE
    dump.write_bytes(files[PG_DUMP_FILE])
    listing = real_run([require_binary("pg_restore"), "--list", str(dump)],
                       capture_output=True, text=True, check=True).stdout
    assert "TABLE public queue_item" in listing and "TABLE DATA public tag" in listing


@pytest.mark.postgres
def test_postgres_backup_without_pg_dump_says_which_command_to_run(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = make_url(postgres_url).set(password="pw-never-shown")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUEUARR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QUEUARR_DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("PATH", "")

    with real_logging():
        assert main(["backup"]) == 0

    out = capsys.readouterr().out
    assert "pg_dump --format=custom" in out and "PGPASSWORD=..." in out
    assert "pw-never-shown" not in out
    (made,) = (tmp_path / "data" / "backups").glob("*.zip")
    assert set(members(made)) == {MANIFEST_FILE, SETTINGS_FILE}


@pytest.mark.postgres
def test_restore_on_postgres_points_to_pg_restore(tmp_path: Path, postgres_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=SecretStr(postgres_url),
                        managed_aria2="false")
    with pytest.raises(BackupError, match="pg_restore"):
        restore(settings, tmp_path / "any.zip")


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in os.environ:
        if name.startswith("QUEUARR_"):
            monkeypatch.delenv(name)
    yield
