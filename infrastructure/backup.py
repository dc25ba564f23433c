"""Backups (`queuarr backup`, POST /api/v3/system/backup) and their restore on a stopped
instance (`queuarr restore`). A backup holds the database (SQLite: a consistent copy made
with SQLite's online backup API while Queuarr may run; Postgres: `pg_dump --format=custom`
when pg_dump is installed), the settings that are not secrets, and a manifest (Queuarr
version, schema revision, time, database type). Everything here blocks: call it from a
thread, never on the event loop."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import typing
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from infrastructure.db.engine import async_url
from infrastructure.migrate import database_revision, head_revision, known_revision
from infrastructure.private_files import private_dir, private_sqlite_file
from infrastructure.settings import Settings

SQLITE_FILE = "queuarr.db"
PG_DUMP_FILE = "queuarr.pgdump"
SETTINGS_FILE = "settings.json"
MANIFEST_FILE = "manifest.json"
# Settings whose name says secret are left out even when typed as plain strings.
_SECRET_NAME = re.compile(r"api_?key|passw|token|secret", re.IGNORECASE)
_STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """A backup could not be made or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    """A backup just written; `hint` is the pg_dump command to run when Queuarr could not
    dump the Postgres database itself."""

    path: Path
    revision: str | None
    hint: str | None = None


@dataclass(frozen=True)
class BackupFile:
    """A backup in the data dir's backups directory (Radarr's BackupResource)."""

    id: int
    name: str
    size: int
    time: datetime


def backups_dir(settings: Settings) -> Path:
    return settings.data_dir / "backups"


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings that are not secrets: every field but SecretStr ones and those named
    like an API key, password, token or secret (derived from the model, so a new secret
    field is left out without a change here)."""
    public = {name for name, field in type(settings).model_fields.items()
              if not _SECRET_NAME.search(name) and not _secret_type(field.annotation)
              and not isinstance(getattr(settings, name), SecretStr)}
    return settings.model_dump(mode="json", include=public)


def _secret_type(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _version() -> str:
    try:
        return version("queuarr")
    except PackageNotFoundError:
        return "0.0.0"


def make_backup(settings: Settings, output: Path | None = None, *,
                database_url: str | None = None, now: datetime | None = None) -> Backup:
    """Write a backup to `output` (a `.zip`, else a directory), by default
    `<data dir>/backups/queuarr-backup-<UTC time>.zip`; owner-only (0600 files)."""
    now = now or datetime.now(UTC)
    url = async_url(database_url or settings.database)
    target = output or backups_dir(settings) / f"queuarr-backup-{now.strftime(_STAMP)}.zip"
    private_dir(target.parent)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work_dir:
        work = Path(work_dir)
        hint = None
        if url.get_backend_name() == "sqlite":
            revision = _copy_sqlite(Path(str(url.database)), work / SQLITE_FILE)
        else:
            revision = database_revision(url.render_as_string(hide_password=False))
            hint = _dump_postgres(url, work / PG_DUMP_FILE)
        _write_json(work / SETTINGS_FILE, public_settings(settings))
        _write_json(work / MANIFEST_FILE, {
            "queuarrVersion": _version(), "schemaRevision": revision,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "databaseType": "sqlite" if url.get_backend_name() == "sqlite" else "postgresql",
        })
        files = sorted(work.iterdir())
        if target.suffix.lower() == ".zip":
            _write_zip(target, files)
        else:
            _write_dir(target, files)
    return Backup(target, revision, hint)


def _private_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    path.chmod(0o600)


def _write_json(path: Path, value: Any) -> None:
    _private_file(path)
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _copy_sqlite(source: Path, copy: Path) -> str | None:
    """A consistent copy through the online backup API, as one file (no WAL)."""
    if not source.is_file():
        raise BackupError(f"There is no database at {source} to back up")
    _private_file(copy)
    with (contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
          contextlib.closing(sqlite3.connect(copy)) as out):
        live.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")
        return _revision(out)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # never migrated
        return None
    return str(row[0]) if row else None


def _dump_postgres(url: Any, dump: Path) -> str | None:
    """pg_dump into `dump`, or the command to run (password elided) without pg_dump. The
    password goes only through PGPASSWORD, never on a command line."""
    dsn = url.set(drivername="postgresql", password=None).render_as_string()
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        command = shlex.join(["pg_dump", "--format=custom", f"--file={PG_DUMP_FILE}", dsn])
        return f"PGPASSWORD=... {command}" if url.password else command
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    _private_file(dump)
    done = subprocess.run([pg_dump, "--format=custom", f"--file={dump}", f"--dbname={dsn}"],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")
    return None


def _write_zip(target: Path, files: list[Path]) -> None:
    part = target.with_name(f".{target.name}.part")
    _private_file(part)
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.name)
    part.replace(target)


def _write_dir(target: Path, files: list[Path]) -> None:
    private_dir(target)
    for file in files:
        _private_file(target / file.name)
        shutil.copyfile(file, target / file.name)


def list_backups(settings: Settings) -> list[BackupFile]:
    """The zip backups in the backups directory, newest first."""
    found = [backup_file(path) for path in backups_dir(settings).glob("*.zip")]
    return sorted(found, key=lambda b: (b.time, b.name), reverse=True)


def backup_file(path: Path) -> BackupFile:
    stat = path.stat()
    return BackupFile(backup_id(path.name), path.name, stat.st_size,
                      datetime.fromtimestamp(stat.st_mtime, UTC))


def backup_id(name: str) -> int:
    """A stable int32 id for a backup file (Radarr hashes the name too)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextlib.contextmanager
def _backup_files(source: Path) -> Iterator[Path]:
    """The backup's files in a directory: the directory itself, or the zip extracted."""
    if source.is_dir():
        yield source
        return
    if not zipfile.is_zipfile(source):
        raise BackupError(f"{source} is neither a backup zip nor a backup directory")
    with tempfile.TemporaryDirectory(prefix="queuarr-restore-") as work:
        with zipfile.ZipFile(source) as archive:
            for name in (SQLITE_FILE, MANIFEST_FILE):
                if name in archive.namelist():
                    archive.extract(name, work)
        yield Path(work)


def restore(settings: Settings, source: Path, *, now: datetime | None = None) -> Path | None:
    """Put a SQLite backup back in place of the database of a stopped Queuarr; answer
    where the database it replaced was kept (None when there was none)."""
    url = async_url(settings.database)
    if url.get_backend_name() != "sqlite":
        dsn = url.set(drivername="postgresql", password=None).render_as_string()
        command = ["pg_restore", "--clean", "--if-exists", "--dbname", dsn, PG_DUMP_FILE]
        raise BackupError("A Postgres backup is restored with pg_restore, Queuarr stopped: "
                          f"unzip {PG_DUMP_FILE}, then {shlex.join(command)}")
    live_path = Path(str(url.database))
    stamp = (now or datetime.now(UTC)).strftime(_STAMP)
    with _backup_files(source) as files:
        backup_db = files / SQLITE_FILE
        if not backup_db.is_file():
            raise BackupError(f"{source} holds no {SQLITE_FILE} (a Postgres backup? use "
                              "pg_restore)")
        with contextlib.closing(sqlite3.connect(f"{backup_db.resolve().as_uri()}?mode=ro",
                                                uri=True)) as backup:
            revision = _revision(backup)
            if revision is not None and not known_revision(revision):
                raise BackupError(
                    f"The backup is at schema revision {revision}, newer than this Queuarr "
                    f"knows (its newest is {head_revision()}): restore it with the Queuarr "
                    f"that made it ({_manifest(files).get('queuarrVersion', '?')}), or "
                    "upgrade Queuarr first.")
            existed = live_path.is_file() and live_path.stat().st_size > 0
            private_sqlite_file(str(live_path))
            with _exclusive(live_path) as live:
                kept = None
                if existed:
                    kept = live_path.with_name(f"{live_path.name}.before-restore-{stamp}")
                    _private_file(kept)
                    with contextlib.closing(sqlite3.connect(kept)) as before:
                        live.backup(before)
                        before.execute("PRAGMA journal_mode=DELETE")
                backup.backup(live)
    private_sqlite_file(str(live_path))
    return kept


def _manifest(files: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((files / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[sqlite3.Connection]:
    """The database opened with an exclusive lock held until the block ends. A running
    Queuarr keeps connections open, each holding a shared lock (WAL mode), so taking
    it fails at once while Queuarr (serve or worker) runs."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")  # the lock stays: exclusive mode keeps it until close
        except sqlite3.OperationalError as exc:
            raise BackupError(f"Queuarr is running on {path} ({exc}): stop it (serve and "
                              "any worker) before restoring.") from None
        yield conn
    finally:
        conn.close()
