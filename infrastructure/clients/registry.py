"""The download-client registry: stored configurations, their adapters, and the CRUD
behind /api/v3/downloadclient. Implements core's DownloadClients port."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.clientfields import check_secret_destination, coerce_fields
from core.clients import ClientConfig, ClientDescriptor, ClientKind, ClientSource
from core.errors import (
    BadRequest,
    DownloadClientError,
    NotFound,
    ValidationFailed,
    ValidationFailure,
)
from core.ports import ClientConfigRepository, ClientInfo, DownloadClient
from core.text import refuse_nul
from infrastructure.clients.aria2 import Aria2Client, Aria2Config
from infrastructure.clients.fields import (
    YtDlpPlaces,
    aria2_config,
    qbittorrent_config,
    ytdlp_config,
)
from infrastructure.clients.qbittorrent import QbittorrentClient, QbittorrentConfig
from infrastructure.ytdlp.client import YtDlpClient
from infrastructure.ytdlp.config import YtDlpConfig, ensure_directories

log = logging.getLogger(__name__)

MAX_NAME = 100


class ClientRegistry:
    def __init__(self, repository: ClientConfigRepository, roots: Sequence[Path],
                 timeout: float = 10.0, ytdlp: YtDlpPlaces | None = None) -> None:
        self.repository = repository
        self.roots = tuple(roots)
        self.timeout = timeout
        self.ytdlp = ytdlp
        self._configs: dict[str, ClientConfig] = {}
        self._adapters: dict[str, DownloadClient] = {}

    # -- the DownloadClients port ------------------------------------------------------

    def get(self, name: str) -> DownloadClient | None:
        return self._adapters.get(name)

    def descriptors(self) -> Sequence[ClientDescriptor]:
        return [c.descriptor for c in self._configs.values()]

    # -- building ----------------------------------------------------------------------

    def adapter_config(self, config: ClientConfig
                       ) -> QbittorrentConfig | Aria2Config | YtDlpConfig:
        """The adapter's configuration; BadRequest if it is unsafe or incomplete (aria2
        off loopback or without a secret, paths outside the roots)."""
        if config.kind is ClientKind.QBITTORRENT:
            return qbittorrent_config(config.fields, self.roots, self.timeout)
        if config.kind is ClientKind.YTDLP:
            if self.ytdlp is None:
                raise BadRequest("yt-dlp clients are not available in this process")
            return ytdlp_config(config.name, config.fields, self.roots, self.ytdlp)
        return aria2_config(config.fields, self.roots, self.timeout)

    def build(self, config: ClientConfig) -> DownloadClient:
        """An adapter for a configuration (BadRequest as adapter_config)."""
        settings = self.adapter_config(config)
        if isinstance(settings, QbittorrentConfig):
            return QbittorrentClient(config.name, settings)
        if isinstance(settings, YtDlpConfig):
            ensure_directories(settings)
            return YtDlpClient(config.name, settings)
        return Aria2Client(config.name, settings)

    def _register(self, config: ClientConfig, adapter: DownloadClient | None = None) -> None:
        old = self._adapters.pop(config.name, None)
        if old is not None and old is not adapter:
            _close(old)
        self._configs[config.name] = config
        try:
            self._adapters[config.name] = adapter or self.build(config)
        except BadRequest as exc:
            # A stored configuration that no longer passes (a root was removed): keep
            # it listed, but nothing is routed to it.
            log.warning("Download client %r is not usable: %s", config.name, exc.message)
            self._configs[config.name] = replace(config, enable=False)

    def _unregister(self, name: str) -> None:
        self._configs.pop(name, None)
        adapter = self._adapters.pop(name, None)
        if adapter is not None:
            _close(adapter)

    async def load(self) -> None:
        """(Re)read every stored configuration."""
        stored = await self.repository.list()
        for name in set(self._configs) - {c.name for c in stored}:
            self._unregister(name)
        for config in stored:
            if self._configs.get(config.name) != config:
                self._register(config)

    # -- reading -----------------------------------------------------------------------

    def configs(self) -> list[ClientConfig]:
        return sorted(self._configs.values(), key=lambda c: c.id or 0)

    def config(self, config_id: int) -> ClientConfig:
        for config in self._configs.values():
            if config.id == config_id:
                return config
        raise NotFound(f"Download client {config_id} not found")

    # -- changing ----------------------------------------------------------------------

    def prepare(self, kind: ClientKind, name: Any, fields: Sequence[dict[str, Any]],
                previous: ClientConfig | None = None, **flags: Any) -> ClientConfig:
        """A validated configuration from a resource's parts."""
        # Radarr's validators' words (FluentValidation), as its array of failures.
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed([ValidationFailure.not_empty("Name", name)])
        if len(name) > MAX_NAME:
            raise ValidationFailed([ValidationFailure.too_long("Name", name, MAX_NAME)])
        refuse_nul("A download client's name", name)
        priority = flags.get("priority", 1)
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 50:
            raise ValidationFailed([ValidationFailure(
                "Priority", f"'Priority' must be between 1 and 50. You entered {priority}.",
                priority, "InclusiveBetweenValidator")])
        values = coerce_fields(kind, fields, previous.fields if previous else None)
        config = ClientConfig(name=name.strip(), kind=kind, fields=values,
                              id=previous.id if previous else None, **flags)
        self.adapter_config(config)  # refuses unsafe or incomplete configurations
        # Last, so that a bad new host is named as such before the secret is asked for.
        check_secret_destination(kind, fields, values, previous.fields if previous else None)
        return config

    async def _test_or_refuse(self, adapter: DownloadClient) -> ClientInfo:
        try:
            return await adapter.test()
        except DownloadClientError as exc:
            # Radarr answers a failed test as a validation failure of the resource.
            raise ValidationFailed([ValidationFailure(
                "", f"Test of download client {adapter.name!r} failed: {exc.message}")]
            ) from None

    async def test(self, config: ClientConfig) -> ClientInfo:
        adapter = self.build(config)
        try:
            return await self._test_or_refuse(adapter)
        finally:
            _close(adapter)

    async def create(self, config: ClientConfig, force: bool = False) -> ClientConfig:
        adapter = self.build(config)
        try:
            if not force and config.enable:
                await self._test_or_refuse(adapter)
            stored = await self.repository.add(config)
        except BaseException:
            _close(adapter)
            raise
        self._register(stored, adapter)
        return stored

    def _editable(self, config_id: int) -> ClientConfig:
        current = self.config(config_id)
        if current.source is not ClientSource.API:
            raise BadRequest(
                f"Download client {current.name!r} is configured by "
                f"{'settings' if current.source is ClientSource.SETTINGS else 'Queuarr itself'}"
                " (QUEUARR_* environment); change it there")
        return current

    async def update(self, config: ClientConfig, force: bool = False) -> ClientConfig:
        assert config.id is not None
        current = self._editable(config.id)
        adapter = self.build(config)
        try:
            if not force and config.enable:
                await self._test_or_refuse(adapter)
            stored = await self.repository.update(config)
        except BaseException:
            _close(adapter)
            raise
        if current.name != stored.name:
            self._unregister(current.name)
        self._register(stored, adapter)
        return stored

    async def delete(self, config_id: int) -> None:
        current = self._editable(config_id)
        await self.repository.delete(config_id)
        self._unregister(current.name)

    async def sync_configured(self, wanted: Sequence[ClientConfig]) -> None:
        """Make the stored settings/managed clients exactly `wanted` (matched by name)."""
        stored = {c.name: c for c in await self.repository.list()}
        for config in wanted:
            existing = stored.get(config.name)
            if existing is None:
                await self.repository.add(config)
            elif existing.source is ClientSource.API:
                raise BadRequest(
                    f"Download client {config.name!r} from settings clashes with one made "
                    "through the API; rename one of them")
            elif replace(existing, id=None) != config:
                await self.repository.update(replace(config, id=existing.id))
        names = {c.name for c in wanted}
        for existing in stored.values():
            if existing.source is not ClientSource.API and existing.name not in names:
                await self.repository.delete(existing.id)  # type: ignore[arg-type]
        await self.load()

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            _close(adapter)


def _close(adapter: DownloadClient) -> None:
    close = getattr(adapter, "close", None)
    if callable(close):
        close()
