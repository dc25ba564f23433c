"""The composition root: build(settings) wires adapters into services. The API lifespan
and the command line both call it; tests build containers from fakes instead."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from core.blocklist import BlocklistService
from core.catalogue import Catalogue
from core.commands import CommandService, Passes
from core.decisions import Limits
from core.dispatching import Dispatching
from core.errors import StorageUnavailable
from core.events import EventBus, Notifier, PublishingRepository
from core.movies import MovieService
from core.policy import RetryPolicy, StallPolicy
from core.ports import (
    BlocklistRepository,
    CandidateRepository,
    ClientConfigRepository,
    Clock,
    CustomFormatRepository,
    DownloadClients,
    NotificationRepository,
    QualityDefinitionRepository,
    QualityProfileRepository,
    QueueRepository,
    SwitchRepository,
    TagRepository,
)
from core.processor import Processor, ProcessorConfig
from core.quality import language_by_name
from core.retention import Retention
from core.selection import ReleaseService
from core.service import QueueService
from core.sizes import QualityDefinitions
from core.tags import TagService
from infrastructure.apikey import load_or_create_api_key
from infrastructure.clients.configured import (
    video_router,
    ytdlp_places,
)
from infrastructure.clients.paths import disk_usage
from infrastructure.clients.registry import ClientRegistry
from infrastructure.clock import DatabaseClock, SystemClock
from infrastructure.db.blocklist_repository import SqlBlocklistRepository
from infrastructure.db.client_repository import SqlClientConfigRepository
from infrastructure.db.config_repository import SqlQualityDefinitionRepository, SqlTagRepository
from infrastructure.db.engine import Database
from infrastructure.db.queue_repository import SqlQueueRepository
from infrastructure.db.release_repository import (
    SqlCandidateRepository,
    SqlCustomFormatRepository,
    SqlNotificationRepository,
    SqlQualityProfileRepository,
)
from infrastructure.db.switch_repository import SqlSwitchRepository
from infrastructure.event_relay import PostgresEventRelay
from infrastructure.housekeeping import Housekeeping
from infrastructure.leader import AlwaysLeader, PostgresLeader, TellLeader
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
from infrastructure.metrics import Metrics, TimedClients
from infrastructure.net.guard import UrlGuard
from infrastructure.net.sources import SourcePreparer
from infrastructure.notifiers import PluginContext, load_notifiers
from infrastructure.notifiers.webhook import WebhookNotifier
from infrastructure.private_files import private_dir
from infrastructure.release.lazy import LazyParser, LazyPatterns
from infrastructure.scheduler import ProcessorRunner
from infrastructure.settings import Settings
from infrastructure.tasks import Background
from infrastructure.torrents import TorfParser

if TYPE_CHECKING:  # python-telegram-bot is optional: imported when a token is set
    from infrastructure.telegram.bot import TelegramBot

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
    clients: ClientRegistry | None = None
    housekeeping: Housekeeping | None = None  # clients, defaults, switches, retention
    sources: SourcePreparer | None = None
    switches: SwitchRepository = field(default_factory=MemorySwitchRepository)
    releases: ReleaseService | None = None
    events: EventBus | None = None
    metrics: Metrics | None = None
    notifications: NotificationRepository | None = None
    webhook: WebhookNotifier | None = None
    broken_plugins: dict[str, str] = field(default_factory=dict)
    relay: PostgresEventRelay | None = None
    commands: CommandService | None = None
    movies: MovieService | None = None
    tags: TagService | None = None
    definitions: QualityDefinitions | None = None
    telegram: TelegramBot | None = None  # the two-way bot (QUEUARR_TELEGRAM_TOKEN)
    retention: Retention | None = None
    _tasks: Background = field(default_factory=Background)
    dispatching: Dispatching = field(init=False)  # pause, resume, wake

    def __post_init__(self) -> None:
        self.dispatching = Dispatching(self.switches, self.clock)

    # The processor and its runner, when this process runs them, are kept once, in
    # dispatching (which pauses and wakes them; housekeeping reads them from it too).
    @property
    def processor(self) -> Processor | None:
        return self.dispatching.processor

    @processor.setter
    def processor(self, processor: Processor | None) -> None:
        self.dispatching.processor = processor

    @property
    def runner(self) -> ProcessorRunner | None:
        return cast("ProcessorRunner | None", self.dispatching.runner)

    @runner.setter
    def runner(self, runner: ProcessorRunner | None) -> None:
        self.dispatching.runner = runner

    async def start(self) -> None:
        """Connect once to learn the server version; a database that is down now only
        makes requests answer 503 until it is back. Then load the download clients,
        starting the managed aria2c when it is wanted."""
        if self.database is not None:
            try:
                self.database_version = await self.database.server_version()
            except StorageUnavailable as exc:
                log.warning("Database unreachable at start-up (%s); answering 503 until it "
                            "is back", exc.message)
        if self.housekeeping is not None:
            await self.housekeeping.ensure_defaults()
            await self.housekeeping.run()
        if self.events is not None:
            self.events.start()
        if self.relay is not None:
            self.relay.start()
        if self.runner is not None:
            await self.runner.recover()
            self.runner.start()
        elif self.database is not None and self.housekeeping is not None:
            self._tasks.spawn(self.housekeeping.replica())
        if self.telegram is not None:
            self.telegram.start()  # polls in the background while this process leads

    async def ping(self) -> bool:
        return await self.database.ping() if self.database is not None else True

    async def aclose(self) -> None:
        if self.telegram is not None:
            await self.telegram.aclose()
        if self.commands is not None:
            await self.commands.aclose()
        await self._tasks.cancel()
        if self.runner is not None:
            await self.runner.stop()
        if self.sources is not None:
            await self.sources.aclose()
        if self.events is not None:
            await self.events.aclose()
            for notifier in self.events.notifiers:
                close = getattr(notifier, "aclose", None)
                if close is not None:
                    await close()
        if self.clients is not None:
            await self.clients.aclose()
        if self.housekeeping is not None:
            await self.housekeeping.aclose()  # the managed aria2c
        if self.database is not None:
            await self.database.dispose()


def local_passes(container: Container) -> Passes | None:
    """The processor's passes for a command, when this process runs the processor now
    (through its scheduler; a test may attach a processor without one); None on an
    API-only replica or a standby."""
    runner, processor = container.runner, container.processor
    if processor is None or (runner is not None and not runner.leading):
        return None
    return processor


def processor_config(settings: Settings) -> ProcessorConfig:
    return ProcessorConfig(
        max_active=settings.max_concurrent,
        retry=RetryPolicy.parse(settings.retry_delays),
        stall=StallPolicy(stall=timedelta(minutes=settings.stall_minutes),
                          metadata=timedelta(minutes=settings.metadata_stall_minutes)),
        max_size=settings.max_size,
        per_client=settings.max_per_client,
        min_free_space=settings.min_free_space,
        lease=timedelta(seconds=settings.lease_seconds),
        blocklist_failed=settings.redownload_failed,
    )


def language_id(name: str) -> int:
    language = language_by_name(name)
    assert language is not None  # checked by Settings
    return language.id


def wire_releases(queue: QueueService, blocklist: BlocklistRepository,
                  formats: CustomFormatRepository, profiles: QualityProfileRepository,
                  candidates: CandidateRepository, clock: Clock, settings: Settings,
                  definitions: QualityDefinitions | None = None) -> ReleaseService:
    """The release service, hooked into the queue: plain grabs get their quality and
    custom formats from their title; a removal with blocklist=true grabs the next best."""
    releases = ReleaseService(queue, Catalogue(formats, profiles, LazyPatterns()),
                              candidates, blocklist, LazyParser(), clock,
                              Limits(min_seeders=settings.min_seeders,
                                     max_size=settings.max_size,
                                     original_language=language_id(
                                         settings.original_language),
                                     runtime=settings.movie_runtime),
                              sizes=definitions)
    queue.appraise = releases.fill
    if settings.redownload_failed:
        queue.redownload = releases.redownload
    return releases


def local_free(directory: Path) -> Callable[[], Awaitable[int | None]]:
    """Free bytes where downloads go (the nearest existing parent of the directory)."""
    async def free() -> int | None:
        usage = await asyncio.to_thread(disk_usage, directory)
        return None if usage is None else usage[0]
    return free


@dataclass
class Stores:
    """The repositories a Container works on: SQL ones in build(), memory ones in tests
    and benchmarks (memory())."""

    items: QueueRepository
    blocklist: BlocklistRepository
    client_configs: ClientConfigRepository
    switches: SwitchRepository
    formats: CustomFormatRepository
    profiles: QualityProfileRepository
    candidates: CandidateRepository
    notifications: NotificationRepository
    tags: TagRepository = field(default_factory=MemoryTagRepository)
    definitions: QualityDefinitionRepository = field(
        default_factory=MemoryQualityDefinitionRepository)

    @classmethod
    def memory(cls, clock: Clock) -> Stores:
        return cls(MemoryQueueRepository(clock), MemoryBlocklistRepository(),
                   MemoryClientConfigRepository(), MemorySwitchRepository(),
                   MemoryCustomFormatRepository(), MemoryQualityProfileRepository(),
                   MemoryCandidateRepository(), MemoryNotificationRepository())


def assemble(settings: Settings, clock: Clock, api_key: str, stores: Stores, *,
             notifiers: Sequence[Notifier] = (), clients: DownloadClients | None = None,
             database: Database | None = None, database_type: str = "memory",
             broken_plugins: dict[str, str] | None = None, guard_urls: bool = True
             ) -> Container:
    """The services over `stores`: the event bus (Metrics, then `notifiers`) around the
    queue store, the queue and release services, the download-client registry (the
    queue's clients unless `clients` stands in for them). No processor: build() adds it.
    `guard_urls=False` (tests with made-up hosts) skips the private-address check."""
    events = EventBus(clock)
    metrics = Metrics()
    events.add(metrics)
    for notifier in notifiers:
        events.add(notifier)
    registry = ClientRegistry(stores.client_configs, settings.roots,
                              timeout=settings.client_timeout, ytdlp=ytdlp_places(settings))
    items = PublishingRepository(stores.items, events)
    queue = QueueService(items, stores.blocklist, clock,
                         TorfParser(), clients=registry if clients is None else clients,
                         max_size=settings.max_size,
                         url_guard=UrlGuard(allow_private=settings.allow_private_urls)
                         if guard_urls else None, videos=video_router(settings, items))
    container = Container(
        settings=settings, api_key=api_key, clock=clock, queue=queue,
        blocklist=BlocklistService(stores.blocklist), started_at=clock.now(),
        database=database, database_type=database_type, clients=registry,
        switches=stores.switches, events=events, metrics=metrics,
        notifications=stores.notifications, broken_plugins=broken_plugins or {},
        webhook=next((n for n in notifiers if isinstance(n, WebhookNotifier)), None),
    )
    dispatching = container.dispatching
    if database is not None and database.dialect == "postgresql":
        dispatching.tell_leader = TellLeader(database, container._tasks)
    events.leading = dispatching.leading
    queue.wake = dispatching.wake
    container.commands = CommandService(clock, lambda: local_passes(container),
                                        dispatching.wake)
    container.movies = MovieService(stores.items)
    container.tags = TagService(stores.tags, stores.client_configs)
    queue.check_tags = container.tags.check_known
    container.definitions = QualityDefinitions(stores.definitions)
    container.releases = wire_releases(queue, stores.blocklist, stores.formats,
                                       stores.profiles, stores.candidates, clock, settings,
                                       container.definitions)
    container.retention = Retention(queue.items, clock, settings.retention_days,
                                    stores.candidates)
    container.housekeeping = Housekeeping(settings, container.dispatching, registry,
                                          container.releases, container.retention)
    return container


def build(settings: Settings, clock: Clock | None = None, processor: bool = True
          ) -> Container:
    """Wire the real adapters (and the processor unless `processor` is False: an
    API-only replica). Nothing touches the network until start()."""
    clock = clock or SystemClock()
    private_dir(settings.data_dir)  # owner-only when created: it will hold secrets
    api_key, created = load_or_create_api_key(settings)
    if created:
        # Printed, not logged: it is shown once on the console and kept in the data dir.
        print(f"Queuarr generated an API key: {api_key}\n"
              f"It is stored in {(settings.data_dir / 'api_key').resolve()}; "
              "send it as X-Api-Key or ?apikey=.", flush=True)
    database = Database(settings.database, sqlite_synchronous=settings.sqlite_synchronous,
                        pool_size=settings.database_pool_size)
    stores = Stores(
        SqlQueueRepository(database, clock),
        SqlBlocklistRepository(database, sole=database.dialect == "sqlite"),
        SqlClientConfigRepository(database, clock), SqlSwitchRepository(database),
        SqlCustomFormatRepository(database), SqlQualityProfileRepository(database),
        SqlCandidateRepository(database), SqlNotificationRepository(database),
        tags=SqlTagRepository(database),
        definitions=SqlQualityDefinitionRepository(database))
    plugins = load_notifiers(PluginContext(settings, clock, stores.notifications))
    container = assemble(
        settings, clock, api_key, stores, notifiers=plugins.notifiers, database=database,
        database_type="sqLite" if database.dialect == "sqlite" else "postgreSQL",
        broken_plugins=plugins.broken)
    events, metrics, clients = container.events, container.metrics, container.clients
    assert (events is not None and metrics is not None and clients is not None  # assemble()
            and container.releases is not None and container.housekeeping is not None)
    if database.dialect == "postgresql":  # other processes may share the database
        container.relay = PostgresEventRelay(settings.database, events, stores.items.get)
        events.add(container.relay)
    if processor:
        owner = f"{socket.gethostname()}:{os.getpid()}"
        # Leases are stamped and compared on the database's clock, so processes on hosts
        # whose clocks differ agree on when one expired.
        lease_clock = (DatabaseClock(database) if database.dialect == "postgresql"
                       and isinstance(clock, SystemClock) else clock)
        container.sources = SourcePreparer(
            UrlGuard(allow_private=settings.allow_private_urls), TorfParser(),
            timeout=settings.client_timeout)
        container.processor = Processor(container.queue.items, TimedClients(clients, metrics),
                                        lease_clock, owner,
                                        processor_config(settings), stores.blocklist,
                                        switches=stores.switches,
                                        local_free=local_free(settings.downloads),
                                        on_failed=container.releases.redownload
                                        if settings.redownload_failed else None,
                                        events=events, sources=container.sources)
        leader = (PostgresLeader(settings.database) if database.dialect == "postgresql"
                  else AlwaysLeader())
        container.runner = ProcessorRunner(container.processor, container.housekeeping.run,
                                           sync_interval=settings.sync_interval,
                                           dispatch_interval=settings.dispatch_interval,
                                           leader=leader, observe=metrics.observe_pass,
                                           sole=database.dialect == "sqlite")
        leader.on_wake = container.runner.wake
    if settings.telegram_token.get_secret_value().strip():
        from infrastructure.telegram.bot import telegram_bot

        container.telegram = telegram_bot(container)
        if container.telegram is not None and settings.telegram_upload:
            from infrastructure.telegram.upload import attach_uploader

            attach_uploader(container, container.telegram)
    return container
