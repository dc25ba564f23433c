"""The composition root: build(settings) wires adapters into services. The API lifespan
and the command line both call it; tests build containers from fakes instead."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core.blocklist import BlocklistService
from core.errors import StorageUnavailable
from core.ports import Clock
from core.service import QueueService
from infrastructure.apikey import load_or_create_api_key
from infrastructure.clock import SystemClock
from infrastructure.db.blocklist_repository import SqlBlocklistRepository
from infrastructure.db.engine import Database
from infrastructure.db.queue_repository import SqlQueueRepository
from infrastructure.settings import Settings
from infrastructure.torrents import TorfParser

log = logging.getLogger("queuarr")


@dataclass
class Container:
    """Everything a running Queuarr needs, built once per process."""

    settings: Settings
    api_key: str
    clock: Clock
    queue: QueueService
    blocklist: BlocklistService
    started_at: datetime
    database: Database | None = None
    database_type: str = "memory"
    database_version: str = ""

    async def start(self) -> None:
        """Connect once to learn the server version; a database that is down now only
        makes requests answer 503 until it is back."""
        if self.database is not None:
            try:
                self.database_version = await self.database.server_version()
            except StorageUnavailable as exc:
                log.warning("Database unreachable at start-up (%s); answering 503 until it "
                            "is back", exc.message)

    async def ping(self) -> bool:
        return await self.database.ping() if self.database is not None else True

    async def aclose(self) -> None:
        if self.database is not None:
            await self.database.dispose()


def build(settings: Settings, clock: Clock | None = None) -> Container:
    """Wire the real adapters. Nothing touches the network until first use."""
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    api_key, created = load_or_create_api_key(settings)
    if created:
        # Printed, not logged: it is shown once on the console and kept in the data dir.
        print(f"Queuarr generated an API key: {api_key}\n"
              f"It is stored in {(settings.data_dir / 'api_key').resolve()}; "
              "send it as X-Api-Key or ?apikey=.", flush=True)
    database = Database(settings.database, sqlite_synchronous=settings.sqlite_synchronous,
                        pool_size=settings.database_pool_size)
    items = SqlQueueRepository(database, clock)
    blocklist = SqlBlocklistRepository(database)
    queue = QueueService(items, blocklist, clock, TorfParser(), max_size=settings.max_size)
    return Container(
        settings=settings, api_key=api_key, clock=clock, queue=queue,
        blocklist=BlocklistService(blocklist), started_at=clock.now(), database=database,
        database_type="sqLite" if database.dialect == "sqlite" else "postgreSQL",
    )
