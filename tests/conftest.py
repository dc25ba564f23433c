"""Shared fixtures: a fake clock, and the three stores (memory, SQLite, Postgres) that the
contract suites run on. Postgres comes from TEST_DATABASE_URL or the local server; when
it cannot be reached the Postgres cases skip, except under CI=true, where they fail."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infrastructure.bootstrap import Stores
from infrastructure.db.blocklist_repository import SqlBlocklistRepository
from infrastructure.db.client_repository import SqlClientConfigRepository
from infrastructure.db.config_repository import SqlQualityDefinitionRepository, SqlTagRepository
from infrastructure.db.engine import Database, async_url
from infrastructure.db.queue_repository import SqlQueueRepository
from infrastructure.db.release_repository import (
    SqlCandidateRepository,
    SqlCustomFormatRepository,
    SqlNotificationRepository,
    SqlQualityProfileRepository,
)
from infrastructure.db.switch_repository import SqlSwitchRepository
from infrastructure.memory import (
    MemoryBlocklistRepository,
    MemoryClientConfigRepository,
    MemoryQueueRepository,
    MemorySwitchRepository,
)
from infrastructure.memory_config import MemoryQualityDefinitionRepository, MemoryTagRepository
from infrastructure.memory_release import (
    MemoryCandidateRepository,
    MemoryCustomFormatRepository,
    MemoryNotificationRepository,
    MemoryQualityProfileRepository,
)
from infrastructure.migrate import upgrade
from tests.fakes import FakeClock
from tests.pretend_net import internal, web  # noqa: F401 (fixtures: the SSRF tests' servers)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    """The path of `name`, or skip (fail under CI=true) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(message + " (CI=true: tests that need it must run, not skip)")
        pytest.skip(message)
    return path

# A task still pending when a test's event loop closes is destroyed with it, and whatever
# it held (a pooled database connection, a socket) is left to the garbage collector,
# which may complain in some later test. Catch it in the test that leaked it instead.
# (pytest-asyncio closes each test's loop with asyncio.Runner.close, which cancels what
# is left after every fixture has been torn down, the database pools included.)
_leaked_tasks: list[str] = []
_runner_close = asyncio.Runner.close


def _close_checking_tasks(runner: asyncio.Runner) -> None:
    loop = getattr(runner, "_loop", None)
    if loop is not None and not loop.is_closed():
        _leaked_tasks.extend(repr(t) for t in asyncio.all_tasks(loop))
    _runner_close(runner)


asyncio.Runner.close = _close_checking_tasks  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    _leaked_tasks.clear()
    yield
    if _leaked_tasks:
        leaked, _leaked_tasks[:] = list(_leaked_tasks), []
        pytest.fail("Tasks still pending when the test's event loop closed (close what "
                    "the test started):\n  " + "\n  ".join(leaked), pytrace=False)
POSTGRES_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TABLES = ("queue_torrent", "queue_item", "queue_history", "queue_counter", "blocklist",
          "download_client", "processor_switch", "custom_format", "quality_profile",
          "release_candidate", "notification", "tag", "quality_definition")


def _plain_dsn(url: str, database: str | None = None) -> str:
    parsed = async_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    """Run one statement on the Postgres server, from inside or outside an event loop."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_plain_dsn(POSTGRES_URL), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def postgres_unavailable(reason: str) -> None:
    message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: Postgres tests must run, not skip)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the Postgres server, migrated to head, dropped afterwards."""
    name = f"queuarr_test_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any reason the server cannot be used
        postgres_unavailable(f"{type(exc).__name__}: {exc}")
    url = async_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that tests copy instead of migrating each time."""
    path = tmp_path_factory.mktemp("template") / "queuarr.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / f"queuarr-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(template, path)
    return f"sqlite+aiosqlite:///{path}"


async def truncate_postgres(db: Database) -> None:
    async with db.writing() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Store:
    kind: str
    items: MemoryQueueRepository | SqlQueueRepository
    blocklist: MemoryBlocklistRepository | SqlBlocklistRepository
    db: Database | None = None
    client_configs: MemoryClientConfigRepository | SqlClientConfigRepository = field(
        default_factory=MemoryClientConfigRepository)
    switches: MemorySwitchRepository | SqlSwitchRepository = field(
        default_factory=MemorySwitchRepository)
    formats: MemoryCustomFormatRepository | SqlCustomFormatRepository = field(
        default_factory=MemoryCustomFormatRepository)
    profiles: MemoryQualityProfileRepository | SqlQualityProfileRepository = field(
        default_factory=MemoryQualityProfileRepository)
    candidates: MemoryCandidateRepository | SqlCandidateRepository = field(
        default_factory=MemoryCandidateRepository)
    notifications: MemoryNotificationRepository | SqlNotificationRepository = field(
        default_factory=MemoryNotificationRepository)
    tags: MemoryTagRepository | SqlTagRepository = field(default_factory=MemoryTagRepository)
    definitions: MemoryQualityDefinitionRepository | SqlQualityDefinitionRepository = field(
        default_factory=MemoryQualityDefinitionRepository)

    def stores(self) -> Stores:
        return Stores(self.items, self.blocklist, self.client_configs, self.switches,
                      self.formats, self.profiles, self.candidates, self.notifications,
                      tags=self.tags, definitions=self.definitions)


STORE_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def open_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path,
                     clock: FakeClock) -> Store:
    if kind == "memory":
        return Store(kind, MemoryQueueRepository(clock), MemoryBlocklistRepository())
    if kind == "sqlite":
        db = Database(sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path))
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        await truncate_postgres(db)
    # On SQLite the blocklist keeps its keys in memory, as a server's does (one process).
    return Store(kind, SqlQueueRepository(db, clock),
                 SqlBlocklistRepository(db, sole=kind == "sqlite"), db,
                 SqlClientConfigRepository(db, clock), SqlSwitchRepository(db),
                 SqlCustomFormatRepository(db), SqlQualityProfileRepository(db),
                 SqlCandidateRepository(db), SqlNotificationRepository(db),
                 SqlTagRepository(db), SqlQualityDefinitionRepository(db))


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path,
                clock: FakeClock) -> AsyncIterator[Store]:
    """The same repositories on memory, SQLite and Postgres."""
    opened = await open_store(request.param, request, tmp_path, clock)
    try:
        yield opened
    finally:
        if opened.db is not None:
            await opened.db.dispose()
