"""Files that hold secrets are the owner's alone. The data dir (API key, SQLite database
with client passwords and webhook secrets) is created 0700; the SQLite file is created
0600 before SQLite opens it (SQLite gives its -wal, -shm and -journal files the mode of
the database file), and a database file or companion found looser is tightened."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) with the directory itself owner-only. An
    existing directory keeps its mode: it may be shared on purpose (downloads inside)."""
    if path.is_dir():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # whatever the umask


def private_sqlite_file(database: str | None) -> None:
    """Make the SQLite database at `database` (a file path; not :memory:) and its
    companions owner-only, creating the file, empty, when it is missing."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for candidate in (path, *(path.with_name(path.name + s) for s in COMPANIONS)):
        _tighten(candidate)


def _tighten(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except FileNotFoundError:
        return
    except PermissionError:  # not ours: say so, and carry on as before
        log.warning("%s is readable by other users and could not be made private", path)
