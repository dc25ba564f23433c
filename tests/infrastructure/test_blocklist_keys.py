"""On SQLite (one process) the blocklist keeps its entries' keys in memory (issue 18): a
lookup of a release that is not blocklisted, nearly every grab's, reads nothing; one that
is still reads its entry; adds and deletes keep the keys true. On Postgres, where other
processes write the blocklist too, every lookup asks the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from core.domain import DownloadProtocol, NewBlocklistEntry
from infrastructure.db.blocklist_repository import SqlBlocklistRepository
from infrastructure.db.engine import Database
from tests.conftest import sqlite_copy
from tests.fakes import EPOCH


class CountingDatabase(Database):
    reads = 0

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Any]:
        self.reads += 1
        async with super().reading() as conn:
            yield conn


def _entry(n: int, **overrides: Any) -> NewBlocklistEntry:
    return NewBlocklistEntry(**{  # type: ignore[arg-type]
        "source_title": f"Blocked.Movie.{n}.1080p-GRP", "date": EPOCH,
        "protocol": DownloadProtocol.TORRENT, "info_hash": f"{n:040x}", **overrides})


@pytest.fixture
async def db(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[CountingDatabase]:
    database = CountingDatabase(sqlite_copy(sqlite_template, tmp_path))
    yield database
    await database.dispose()


async def test_a_release_that_is_not_blocklisted_is_looked_up_without_a_read(
        db: CountingDatabase) -> None:
    blocklist = SqlBlocklistRepository(db, sole=True)
    stored = await blocklist.add(_entry(1, url_hash="ab" * 32))
    reads = db.reads
    for n in range(2, 12):
        assert await blocklist.find(f"{n:040x}", None, None) is None
        assert await blocklist.find(None, None, f"Other.Movie.{n}") is None
    assert db.reads == reads  # the keys were read once (by add's own lookup)

    assert await blocklist.find(stored.info_hash, None, None) == stored
    assert await blocklist.find(None, "ab" * 32, None) == stored
    assert await blocklist.find(None, None, "BLOCKED.MOVIE.1.1080P-grp") == stored
    assert db.reads == reads + 3  # a hit reads its entry

    await blocklist.delete([stored.id])
    assert await blocklist.find(stored.info_hash, None, None) is None


async def test_without_sole_every_lookup_reads(db: CountingDatabase) -> None:
    blocklist = SqlBlocklistRepository(db)
    reads = db.reads
    assert await blocklist.find("0" * 40, None, None) is None
    assert await blocklist.find("1" * 40, None, None) is None
    assert db.reads == reads + 2


async def test_a_sqlite_server_blocklist_keeps_its_keys(tmp_path: Path,
                                                        sqlite_template: Path) -> None:
    from infrastructure.bootstrap import build
    from infrastructure.settings import Settings

    settings = Settings(database_url=sqlite_copy(sqlite_template, tmp_path),
                        data_dir=tmp_path / "data", managed_aria2="false")
    container = build(settings)
    try:
        assert container.queue.blocklist.sole is True
    finally:
        await container.aclose()
