"""Housekeeping: what keeps a running Queuarr's surroundings current. At start and then
every housekeeping pass of the processor's runner (an API-only replica: every sync
interval, on its own): the default custom formats and quality profile on a fresh
database; the download clients, started once (the settings' clients, the managed aria2c
when it is wanted, the yt-dlp client) and reloaded after (other processes may have
changed them); the database's clock; the shared pause switch; retention."""

from __future__ import annotations

import asyncio
import logging

from core.clients import ClientSource
from core.dispatching import Dispatching
from core.errors import BadRequest, StorageUnavailable
from core.retention import Retention
from core.selection import ReleaseService
from infrastructure.clients.configured import managed_client, settings_clients, ytdlp_client
from infrastructure.clients.managed_aria2 import ManagedAria2, find_aria2c
from infrastructure.clients.registry import ClientRegistry
from infrastructure.clock import DatabaseClock
from infrastructure.settings import Settings

log = logging.getLogger("queuarr")


class Housekeeping:
    def __init__(self, settings: Settings, dispatching: Dispatching,
                 clients: ClientRegistry | None = None,
                 releases: ReleaseService | None = None,
                 retention: Retention | None = None) -> None:
        self.settings = settings
        self.dispatching = dispatching  # its processor: set when this process runs one
        self.clients = clients
        self.releases = releases
        self.retention = retention
        self.managed_aria2: ManagedAria2 | None = None
        self._clients_started = False
        self._defaults_ready = False

    async def ensure_defaults(self) -> None:
        """The default custom formats and quality profile, on a fresh database."""
        if self.releases is None or self._defaults_ready:
            return
        try:
            await self.releases.catalogue.ensure_defaults()
        except StorageUnavailable as exc:
            log.warning("Default quality profile not checked yet: %s", exc.message)
            return
        self._defaults_ready = True

    async def run(self) -> None:
        """Load the download clients (starting the managed aria2c) once the database
        answers; after that, reload them (other processes may have changed them). The
        processor's process also reads the shared pause switch and applies retention."""
        processor = self.dispatching.processor
        if processor is not None and isinstance(processor.clock, DatabaseClock):
            try:
                await processor.clock.calibrate()
            except StorageUnavailable as exc:
                log.warning("Database clock not read: %s", exc.message)
        await self.ensure_defaults()
        if processor is not None and self._clients_started:
            await processor.refresh_switches()
            if self.retention is not None:
                await self.retention.run()
        if self.clients is None:
            return
        if self._clients_started or processor is None:
            # An API-only replica reads the clients; the process that runs the
            # processor owns the settings-made ones and the managed aria2c.
            try:
                await self.clients.load()
            except StorageUnavailable as exc:
                log.warning("Download clients not loaded: %s", exc.message)
            return
        try:
            await self._start_clients(self.clients)
        except StorageUnavailable as exc:
            log.warning("Download clients not loaded yet: %s", exc.message)
            return
        self._clients_started = True

    async def replica(self) -> None:
        """An API-only replica rereads the download clients every sync interval: the
        processor's process adds and changes them (its managed aria2c gets a new port
        and secret at each start), and a removal here must reach them. Runs until
        cancelled."""
        while True:
            await asyncio.sleep(self.settings.sync_interval)
            try:
                await self.run()
            except Exception:  # logged; the next round tries again
                log.exception("Reloading the download clients failed")

    async def _start_clients(self, registry: ClientRegistry) -> None:
        settings = self.settings
        wanted = settings_clients(settings)
        for config in wanted:
            try:
                registry.adapter_config(config)
            except BadRequest as exc:
                raise RuntimeError(f"Download client {config.name!r} from settings: "
                                   f"{exc.message}") from None
        await registry.load()
        made_by_api = [c for c in registry.configs() if c.source is ClientSource.API]
        executable = find_aria2c()
        mode = settings.managed_aria2
        if mode == "true" or (mode == "auto" and executable and not wanted and not made_by_api):
            if executable is None:
                raise RuntimeError("QUEUARR_MANAGED_ARIA2=true, but aria2c is not on the PATH "
                                   "(apt install aria2)")
            self.managed_aria2 = ManagedAria2(executable, settings.downloads,
                                              settings.data_dir.resolve() / "aria2")
            await self.managed_aria2.start()
            wanted.append(managed_client(self.managed_aria2))
        elif not wanted and not made_by_api:
            why = ("QUEUARR_MANAGED_ARIA2 is false" if mode == "false"
                   else "aria2c is not on the PATH")
            log.warning("No download client is configured and %s: grabs will wait in the "
                        "queue. Install aria2, or set QUEUARR_QBITTORRENT_URL / "
                        "QUEUARR_ARIA2_URL, or add one at /api/v3/downloadclient.", why)
        managed_ytdlp = ytdlp_client(settings)
        if managed_ytdlp is not None:
            wanted.append(managed_ytdlp)
        await registry.sync_configured(wanted)

    async def aclose(self) -> None:
        """Stop the managed aria2c, if this process started one."""
        if self.managed_aria2 is not None:
            await self.managed_aria2.stop()
